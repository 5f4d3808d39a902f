//! The letters workshop: the person draws letters on a pad and labels each with one
//! character; the set is listed with thumbnails, can be relabelled and pruned, saved to
//! a file and loaded back, and is kept in the browser between visits. "Train on these
//! letters" hands it to the lab, which augments each drawing into hundreds of images.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::letters::{copies_per_drawing, LetterDrawing, LetterSet, MAX_FILE_BYTES, PRESET, SUGGESTED_PER_LETTER};
use crate::core::spec::Architecture;
use crate::core::preprocess::{strokes_to_mnist, Stroke};
use crate::web::canvas::{paint_images, save_bytes};
use crate::web::lab_client::use_lab;
use crate::web::stroke_pad::StrokePad;
use crate::web::tasks::settle;

type Outcome = Option<Result<String, String>>;

/// The one character typed, if exactly one was.
fn one_character(text: &str) -> Result<char, String> {
    let mut chars = text.trim().chars();
    match (chars.next(), chars.next()) {
        (Some(letter), None) => Ok(letter),
        _ => Err("Label each drawing with one character, such as A.".to_string()),
    }
}

fn drawing_key(drawing: &LetterDrawing) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for stroke in &drawing.strokes {
        stroke.len().hash(&mut hasher);
        for point in stroke {
            point[0].to_bits().hash(&mut hasher);
            point[1].to_bits().hash(&mut hasher);
        }
    }
    hasher.finish()
}

#[component]
pub fn LettersPanel() -> impl IntoView {
    let lab = use_lab();
    let s = lab.signals;
    let letters = s.letters;
    let strokes = RwSignal::new(Vec::<Stroke>::new());
    let label = RwSignal::new(letters.with_untracked(LetterSet::next_suggestion).unwrap_or(PRESET[0]).to_string());
    let message = RwSignal::new(s.letters_problem.get_untracked().map(Err) as Outcome);
    // Thumbnails by drawing, so that an edit does not prepare every drawing again.
    let thumbnails = StoredValue::new(HashMap::<u64, Arc<Vec<f32>>>::new());

    let keeper = lab.clone();
    Effect::new(move |_| {
        letters.track();
        if let Err(e) = keeper.keep_letters() {
            message.set(Some(Err(e)));
        }
    });

    let add = move || {
        let letter = match one_character(&label.get_untracked()) {
            Ok(letter) => letter,
            Err(e) => return message.set(Some(Err(e))),
        };
        let mut next = letters.get_untracked();
        match next.add(letter, strokes.get_untracked()) {
            Ok(()) => {
                let count = next.drawings.iter().filter(|d| d.label == letter).count();
                label.set(next.next_suggestion().unwrap_or(letter).to_string());
                letters.set(next);
                strokes.set(Vec::new());
                message.set(Some(Ok(format!("Added {letter}: {count} drawn."))));
            }
            Err(e) => message.set(Some(Err(format!("Not added: {e}.")))),
        }
    };
    let save = move |_| {
        let json = letters.with_untracked(LetterSet::to_json);
        message.set(Some(
            save_bytes(json.as_bytes(), "application/json", "latentlab-letters.json")
                .map(|_| "Saved latentlab-letters.json: load it back here, in any browser.".to_string()),
        ));
    };
    let load = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let file = input.files().and_then(|list| list.get(0));
        input.set_value("");
        let Some(file) = file else { return };
        spawn_local(async move {
            let loaded = async {
                if file.size() > MAX_FILE_BYTES as f64 {
                    return Err(format!("{} is far larger than a letter set: not loaded", file.name()));
                }
                let text = gloo_file::futures::read_as_text(&gloo_file::File::from(file.clone()))
                    .await
                    .map_err(|_| format!("{} could not be read", file.name()))?;
                LetterSet::from_json(&text).map_err(|e| format!("{} is {e}; your letters are unchanged", file.name()))
            }
            .await;
            match loaded {
                Ok(set) => {
                    let counts = set.counts().iter().map(|(l, n)| format!("{n} × {l}")).collect::<Vec<_>>().join(", ");
                    message.set(Some(Ok(format!("Loaded {} drawings ({counts}) from {}.", set.drawings.len(), file.name()))));
                    label.set(set.next_suggestion().unwrap_or(PRESET[0]).to_string());
                    letters.set(set);
                }
                Err(e) => message.set(Some(Err(e))),
            }
        });
    };
    let train = {
        let lab = lab.clone();
        move |_| {
            s.settings.update(|st| {
                st.letters = true;
                st.latent = 2;
                st.architecture = Architecture::Dense;
                st.from = None;
            });
            settle(lab.start(s.settings.get_untracked(), true));
            if let Some(title) = document().get_element_by_id("lab-title") {
                title.scroll_into_view();
            }
        }
    };

    let hint = move || {
        letters.with(|set| match set.next_suggestion() {
            Some(next) => {
                let have = set.drawings.iter().filter(|d| d.label == next).count();
                format!(
                    "Next: draw {next} ({have} of {SUGGESTED_PER_LETTER} so far). Three drawings of each of the five vowels (15 in all) \
                     make a good first run; other letters, and more drawings of each, work too."
                )
            }
            None => format!("Every letter has {SUGGESTED_PER_LETTER} drawings or more: ready to train."),
        })
    };
    let counts = move || {
        letters.with(|set| {
            if set.drawings.is_empty() {
                "No letters yet.".to_string()
            } else {
                let counts = set.counts().iter().map(|(l, n)| format!("{l} {n}")).collect::<Vec<_>>().join(" · ");
                format!(
                    "{} drawings: {counts}. Training makes {} varied copies of each (turned, slanted, stretched, moved, \
                     thinner and bolder).",
                    set.drawings.len(),
                    copies_per_drawing(set.drawings.len())
                )
            }
        })
    };
    let cards = move || {
        letters.with(|set| {
            set.drawings
                .iter()
                .enumerate()
                .map(|(index, drawing)| {
                    let key = drawing_key(drawing);
                    let thumbnail = thumbnails.with_value(|t| t.get(&key).cloned()).or_else(|| {
                        let image = Arc::new(strokes_to_mnist(&drawing.strokes, set.pad, set.brush).ok()?);
                        thumbnails.update_value(|t| {
                            t.insert(key, image.clone());
                        });
                        Some(image)
                    });
                    view! { <LetterCard index=index label=drawing.label thumbnail=thumbnail letters=letters message=message /> }
                })
                .collect_view()
        })
    };

    view! {
        <section class="panel letters-panel" aria-labelledby="letters-title" data-testid="letters-panel">
            <h2 id="letters-title">"Your own letters"</h2>
            <p class="caption">
                "Draw letters, label each with its character, and train a 2-D VAE on them in the lab below: the map then \
                 shows your letters coloured by your labels, the grid shows the letter space it learned, and a new drawing \
                 on the pad above shows where it lands. The letters article behind this project found that a few vowels \
                 give clearer clusters than the whole alphabet."
            </p>
            <div class="draw-layout">
                <StrokePad strokes=strokes on_stroke_end=|| {} id="letters-pad" label="Letters pad: draw one letter with a mouse, a finger or a pen, then label it and add it" />
                <div class="letters-form">
                    <label>"This is the letter "
                        <input type="text" class="letter-label" data-testid="letters-label" maxlength="2" size="2"
                            prop:value=move || label.get()
                            on:input=move |ev| label.set(event_target_value(&ev))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" {
                                    add();
                                }
                            } />
                    </label>
                    <div class="controls">
                        <button type="button" data-testid="letters-add" on:click=move |_| add()
                            disabled=move || strokes.with(Vec::is_empty)>"Add to my letters"</button>
                        <button type="button" data-testid="letters-undo" on:click=move |_| strokes.update(|s| { s.pop(); })>"Undo"</button>
                        <button type="button" data-testid="letters-clear" on:click=move |_| strokes.set(Vec::new())>"Clear"</button>
                    </div>
                    <p class="note" data-testid="letters-hint">{hint}</p>
                    {move || message.get().map(|m| match m {
                        Ok(m) => view! { <p class="note" data-testid="letters-message">{m}</p> }.into_any(),
                        Err(m) => view! { <p class="error" data-testid="letters-message">{m}</p> }.into_any(),
                    })}
                </div>
            </div>
            <p class="caption" data-testid="letters-counts">{counts}</p>
            <ul class="letter-cards" aria-label="Your letters">{cards}</ul>
            <div class="controls">
                <button type="button" data-testid="letters-train" on:click=train disabled=move || letters.with(|l| l.drawings.is_empty())>
                    "Train on these letters"
                </button>
                <button type="button" data-testid="letters-save" on:click=save disabled=move || letters.with(|l| l.drawings.is_empty())>
                    "Save to a file"
                </button>
                <label>"Load a saved set: "
                    <input type="file" accept=".json,application/json" data-testid="letters-load" on:change=load />
                </label>
            </div>
            <p class="caption">
                "Training starts the lab from scratch on the dense network (quick on the CPU: the vowels separate within \
                 a minute or so); pick the convolutional network in the lab's form for sharper letters, at a slower pace. \
                 Your letters stay in this browser until you remove them; saving them to a file keeps them anywhere."
            </p>
        </section>
    }
}

/// One drawing in the list: its 28×28 input, its label (editable) and a remove button.
#[component]
fn LetterCard(
    index: usize,
    label: char,
    thumbnail: Option<Arc<Vec<f32>>>,
    letters: RwSignal<LetterSet>,
    message: RwSignal<Outcome>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let (Some(canvas), Some(thumbnail)) = (canvas.get(), thumbnail.as_ref()) {
            let _ = paint_images(&canvas, thumbnail, 1);
        }
    });
    let relabel = move |ev: leptos::ev::Event| {
        let outcome = one_character(&event_target_value(&ev)).and_then(|letter| {
            let mut next = letters.get_untracked();
            next.relabel(index, letter)?;
            letters.set(next);
            Ok(format!("Drawing {} is now {letter}.", index + 1))
        });
        if outcome.is_err() {
            // Show the label it still has.
            letters.update(|_| {});
        }
        message.set(Some(outcome));
    };
    view! {
        <li class="letter-card" data-testid="letter-card">
            <canvas role="img" node_ref=canvas class="small-image" width="28" height="28"
                aria-label=format!("Drawing {} of {label}", index + 1)></canvas>
            <input type="text" class="letter-label" data-testid="letter-label" maxlength="2" size="2"
                aria-label=format!("Label of drawing {}", index + 1) prop:value=label.to_string() on:change=relabel />
            <button type="button" class="remove" data-testid="letter-remove" aria-label=format!("Remove drawing {}", index + 1)
                on:click=move |_| {
                    letters.update(|set| set.remove(index));
                    message.set(Some(Ok(format!("Removed drawing {} ({label}).", index + 1))));
                }>"×"</button>
        </li>
    }
}

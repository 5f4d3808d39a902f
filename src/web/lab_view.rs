//! The training lab's panel: the run's settings, Play / Pause / Step / Reset, and the
//! live views (loss curves, the held-out map, reconstructions, the grid) with a scrubber
//! over the snapshots kept.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::{paint_images, paint_loss_chart, paint_scatter};
use super::map_view::class_legend;
use super::settle;
use super::lab_client::{Lab, LiveSnapshot};
use crate::catalogue::{DatasetId, ShippedModel};
use crate::data::IMAGE_PIXELS;
use crate::lab::{
    Evaluated, LabSettings, LabState, BATCH_RANGE, HELDOUT_LOSS_IMAGES, HELDOUT_MAP_IMAGES, LATENT_SIZES, LETTERS_DATA,
};
use crate::letters::nearest_neighbour_agreement;
use crate::model::{Architecture, ModelKind};
use crate::plane::Space;

fn file_list(list: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

const LEARNING_RATES: [f64; 6] = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1];

#[component]
pub fn LabPanel(lab: Lab) -> impl IntoView {
    let s = lab.signals;
    let address_problems = Lab::address_problems();
    // Index into the snapshots; None follows the newest.
    let scrub = RwSignal::new(None::<usize>);
    let axes = RwSignal::new((0usize, 1usize));
    let chart = NodeRef::<Canvas>::new();
    let map = NodeRef::<Canvas>::new();
    let strip = NodeRef::<Canvas>::new();
    let grid = NodeRef::<Canvas>::new();

    let running = move || s.status.with(|st| st.as_ref().is_some_and(|st| st.state == LabState::Running));
    // What the run's evaluation figures are measured on, and on how many images.
    let evaluated = move || {
        s.run_settings
            .with(|run| run.as_ref().map(LabSettings::evaluated))
            .unwrap_or_else(|| s.settings.with(LabSettings::evaluated))
    };
    let evaluation_images = move || s.heldout.with(|h| h.as_ref().map_or(HELDOUT_MAP_IMAGES, |h| h.labels.len()));
    let loss_images = move || evaluation_images().min(HELDOUT_LOSS_IMAGES);
    let edit = move |change: &dyn Fn(&mut LabSettings)| {
        s.settings.update(|settings| change(settings));
    };

    let shown_snapshot = move || {
        s.snapshots.with(|kept| {
            let index = scrub.get().unwrap_or(usize::MAX).min(kept.len().saturating_sub(1));
            kept.get(index).cloned()
        })
    };

    // Paint the chosen snapshot and the loss curves whenever they change.
    Effect::new(move |_| {
        let snapshots = s.snapshots.get();
        let shown = shown_snapshot();
        let heldout = s.heldout.get();
        let (x_axis, y_axis) = axes.get();
        if let Some(canvas) = chart.get() {
            let series = |f: &dyn Fn(&LiveSnapshot) -> Option<f64>| {
                snapshots.iter().map(|l| f(l).map_or(f32::NAN, |v| v as f32)).collect::<Vec<f32>>()
            };
            let vae = s.settings.with_untracked(|st| st.kind == ModelKind::Vae);
            let measured_on = evaluated().label();
            let (total_label, kl_label) = (format!("{measured_on} total"), format!("{measured_on} KL × 10"));
            let mut lines = vec![
                ("training total", "#7cc4ff", series(&|l| l.snapshot.loss.map(|x| x.total))),
                (total_label.as_str(), "#ffd54f", series(&|l| Some(l.snapshot.heldout.total))),
            ];
            if vae {
                lines.push(("training reconstruction", "#59a14f", series(&|l| l.snapshot.loss.map(|x| x.reconstruction))));
                lines.push((kl_label.as_str(), "#f28e2b", series(&|l| Some(l.snapshot.heldout.kl * 10.0))));
            }
            let index = shown.as_ref().and_then(|l| snapshots.iter().position(|x| x.snapshot.step == l.snapshot.step));
            let first = snapshots.first().map_or(String::new(), |l| format!("step {}", l.snapshot.step));
            let last = snapshots.last().map_or(String::new(), |l| format!("step {}", l.snapshot.step));
            let _ = paint_loss_chart(&canvas, &lines, index, (&first, &last));
        }
        let Some(live) = shown else { return };
        let snapshot = &live.snapshot;
        if let (Some(canvas), Some(heldout)) = (map.get(), heldout.as_ref()) {
            let latent = snapshot.latent.max(1);
            let (x_axis, y_axis) = (x_axis.min(latent - 1), y_axis.min(latent - 1));
            let points: Vec<f32> = snapshot
                .means
                .chunks_exact(latent)
                .flat_map(|m| [m[x_axis], m[y_axis]])
                .collect();
            let window = Space::z_fitting(&points);
            let _ = paint_scatter(&canvas, window, &points, &heldout.labels, &[], false);
        }
        if let (Some(canvas), Some(heldout)) = (strip.get(), heldout.as_ref()) {
            let count = live.reconstructions.len() / IMAGE_PIXELS;
            let originals = &heldout.pixels[..(count * IMAGE_PIXELS).min(heldout.pixels.len())];
            let pixels: Vec<f32> = originals.iter().chain(&live.reconstructions).map(|&b| f32::from(b) / 255.0).collect();
            if count > 0 {
                let _ = paint_images(&canvas, &pixels, count);
            }
        }
        if let (Some(canvas), Some(pixels)) = (grid.get(), live.grid.as_ref()) {
            let pixels: Vec<f32> = pixels.iter().map(|&b| f32::from(b) / 255.0).collect();
            let _ = paint_images(&canvas, &pixels, 15);
        }
    });

    let start = {
        let lab = lab.clone();
        move |play: bool| {
            scrub.set(None);
            settle(lab.start(s.settings.get_untracked(), play));
        }
    };
    let play_pause = {
        let lab = lab.clone();
        let start = start.clone();
        move |_| {
            if running() {
                settle(lab.pause());
            } else if s.status.with_untracked(|st| st.as_ref().is_some_and(|st| st.state != LabState::Failed))
                && lab.runs_form_settings()
            {
                scrub.set(None);
                settle(lab.play());
            } else {
                start(true);
            }
        }
    };
    let step_once = {
        let lab = lab.clone();
        let start = start.clone();
        move |_| {
            if s.status.with_untracked(Option::is_some) && lab.runs_form_settings() {
                scrub.set(None);
                settle(lab.step(1));
            } else {
                start(false);
            }
        }
    };
    let reset = {
        let lab = lab.clone();
        move |_| {
            scrub.set(None);
            settle(lab.reset());
        }
    };
    let use_model = {
        let lab = lab.clone();
        move |_| {
            settle(lab.use_model());
        }
    };
    let download = {
        let lab = lab.clone();
        move |_| lab.download()
    };
    let upload = {
        let lab = lab.clone();
        move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(list) = input.files() {
                settle(lab.load_files(file_list(&list)));
            }
            input.set_value("");
        }
    };
    let drop_files = {
        let lab = lab.clone();
        move |ev: leptos::ev::DragEvent| {
            ev.prevent_default();
            if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
                settle(lab.load_files(file_list(&list)));
            }
        }
    };
    let close = {
        let lab = lab.clone();
        move |_| lab.close()
    };
    let set_beta = {
        let lab = lab.clone();
        move |beta: f32| lab.set_beta(beta)
    };

    let class_box = move |label: u8| {
        let name = move || s.settings.with(|st| st.dataset.class_names()[usize::from(label)]);
        view! {
            <label class="class-choice">
                <input
                    type="checkbox"
                    data-testid=format!("lab-class-{label}")
                    prop:checked=move || s.settings.with(|st| st.classes.is_empty() || st.classes.contains(&label))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit(&|st: &mut LabSettings| {
                            let mut chosen: Vec<u8> = if st.classes.is_empty() { (0..10).collect() } else { st.classes.clone() };
                            chosen.retain(|&c| c != label);
                            if on {
                                chosen.push(label);
                            }
                            chosen.sort_unstable();
                            st.classes = if chosen.len() == 10 { Vec::new() } else { chosen };
                        });
                    }
                />
                {name}
            </label>
        }
    };

    let status_text = move || {
        if let Some(error) = s.error.get() {
            return format!("The lab stopped: {error}");
        }
        if let Some((what, received, total)) = s.loading.get() {
            return match total {
                Some(total) if total > 0 => format!(
                    "Downloading {what}: {:.0} of {:.0} KB",
                    received as f64 / 1024.0,
                    total as f64 / 1024.0
                ),
                _ if received == 0 => format!("Preparing {what}…"),
                _ => format!("Downloading {what}: {:.0} KB", received as f64 / 1024.0),
            };
        }
        match s.status.get() {
            None if s.open.get() => "Starting the training worker…".to_string(),
            None => "Press Play to train a model from scratch with the settings above, or Step to run one batch at a time.".to_string(),
            Some(st) => {
                let loss = st.loss.map_or(String::new(), |l| {
                    format!("; training loss {:.1} (reconstruction {:.1} + β·KL {:.2})", l.total, l.reconstruction, l.kl)
                });
                let heldout = st.heldout.map_or(String::new(), |l| format!("; {} {:.1}", evaluated().label(), l.total));
                let per_epoch = if st.images_per_second > 0.0 {
                    format!(", about {:.0} s per epoch here", st.train_images as f64 / st.images_per_second)
                } else {
                    String::new()
                };
                format!(
                    "{} on {}: step {}, epoch {:.2} of {} images; {:.0} images/s ({:.1} steps/s{per_epoch}){loss}{heldout}.",
                    match st.state {
                        LabState::Running => "Training",
                        LabState::Paused => "Paused",
                        LabState::Failed => "Stopped",
                    },
                    st.backend.in_words(),
                    st.step,
                    st.epoch,
                    st.train_images,
                    st.images_per_second,
                    st.steps_per_second
                )
            }
        }
    };
    let message = move || s.status.with(|st| st.as_ref().and_then(|st| st.message.clone()));
    let backend_reason = move || {
        s.status.with(|st| {
            let st = st.as_ref()?;
            st.backend_reason.as_ref().map(|why| format!("The lab trains on {}: {why}.", st.backend.in_words()))
        })
    };
    let progress = move || {
        s.loading.get().and_then(|(_, received, total)| {
            total.map(|total| view! { <progress max=total.to_string() value=received.to_string()></progress> })
        })
    };
    let snapshot_count = move || s.snapshots.with(Vec::len);
    let scrub_label = move || {
        shown_snapshot().map(|l| {
            let live = if scrub.get().is_none() { " (live)" } else { "" };
            format!(
                "Step {}{live}: {} reconstruction {:.1}, KL {:.2}; this picture took {:.0} ms.",
                l.snapshot.step,
                evaluated().label(),
                l.snapshot.heldout.reconstruction,
                l.snapshot.heldout.kl,
                l.snapshot.millis
            )
        })
    };
    let latent = move || s.settings.with(|st| st.latent);
    let legend = move || s.heldout.with(|h| h.as_ref().map(|h| class_legend(&h.class_names)));
    // For the person's letters: how many drawings sit nearest one of their own letter.
    let agreement = move || {
        if !s.run_settings.with(|r| r.as_ref().is_some_and(|r| r.letters)) {
            return None;
        }
        let live = shown_snapshot()?;
        let labels = s.heldout.with(|h| h.as_ref().map(|h| h.labels.clone()))?;
        let share = nearest_neighbour_agreement(&live.snapshot.means, &labels, live.snapshot.latent)?;
        let count = labels.len();
        Some(format!(
            "{} of your {count} drawings sit nearest another drawing of their own letter (at step {}); \
             the letters separate as this nears {count}.",
            (share * count as f64).round(),
            live.snapshot.step
        ))
    };
    let used_line = move || {
        s.used.get().map(|(m, shipped)| {
            let compare = shipped.map_or(String::new(), |(name, elbo)| {
                format!(" The shipped {name}, trained natively for longer, scores {elbo:.1} on all 10,000 test images.")
            });
            let figure = Evaluated::of_data(&m.dataset).figure("−ELBO", m.test_metrics.neg_elbo, m.training.test_images);
            format!("On show in every view above: {} ({figure}, computed here).{compare}", m.name)
        })
    };

    view! {
        <section class="panel lab-panel" aria-labelledby="lab-title" data-testid="lab-panel"
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop_files>
            <h2 id="lab-title">"Training lab: train a VAE here, in your browser"</h2>
            <p class="caption">
                "Training runs in a background worker, with the same training step as the native trainer, \
                 on 10,000 shipped training images, on the page's backend; where the page timed WebGPU against the CPU, \
                 the lab times a training step on each and trains on the faster; the views below refresh about once a second while the page stays usable."
            </p>
            <p class="caption" data-testid="lab-sizes">
                "Latent sizes offered: 2-D (a map and a 15×15 grid you can read), 8-D (the size of the TF1 notebook behind this \
                 project) and 16-D (sharper reconstructions; the map then shows two axes you choose). Networks: the convolutional \
                 one of the shipped models, or the letters article's dense one (784 → 512 → z), quicker on the CPU."
            </p>
            {address_problems.into_iter().map(|p| view! { <p class="note" data-testid="lab-address-problem">{p}</p> }).collect_view()}
            <div class="lab-form">
                <label>"Data "
                    <select data-testid="lab-dataset" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        let dataset = DatasetId::from_name(&value);
                        edit(&|st: &mut LabSettings| {
                            st.letters = value == LETTERS_DATA;
                            st.dataset = dataset.unwrap_or(st.dataset);
                            st.from = None;
                        });
                    }>
                        {DatasetId::ALL.into_iter().map(|d| view! {
                            <option value=d.name() selected=move || s.settings.with(|st| !st.letters && st.dataset == d)>{d.label()}</option>
                        }).collect_view()}
                        <option value=LETTERS_DATA selected=move || s.settings.with(|st| st.letters)>
                            {move || format!("your letters ({} drawings)", s.letters.with(|l| l.drawings.len()))}
                        </option>
                    </select>
                </label>
                <label>"Latent size "
                    <select data-testid="lab-latent" on:change=move |ev| {
                        let latent = event_target_value(&ev).parse().unwrap_or(2);
                        edit(&|st: &mut LabSettings| { st.latent = latent; st.from = None; });
                    }>
                        {LATENT_SIZES.into_iter().map(|n| view! {
                            <option value=n.to_string() selected=move || latent() == n>{format!("{n}-D")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Network "
                    <select data-testid="lab-arch" title="Convolutional: three 3×3 convolutions each way (the shipped models). Dense: 784 → 512 → z and back, the letters article's network; quicker per step, blurrier."
                        on:change=move |ev| {
                        let architecture = Architecture::parse(&event_target_value(&ev)).unwrap_or_default();
                        edit(&|st: &mut LabSettings| { st.architecture = architecture; st.from = None; });
                    }>
                        {Architecture::ALL.into_iter().map(|a| view! {
                            <option value=a.name() selected=move || s.settings.with(|st| st.architecture == a)>{a.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Kind "
                    <select data-testid="lab-kind" on:change=move |ev| {
                        let kind = ModelKind::parse(&event_target_value(&ev)).unwrap_or(ModelKind::Vae);
                        edit(&|st: &mut LabSettings| st.kind = kind);
                    }>
                        <option value="vae" selected=move || s.settings.with(|st| st.kind == ModelKind::Vae)>"VAE (KL on)"</option>
                        <option value="ae" selected=move || s.settings.with(|st| st.kind == ModelKind::Ae)>"plain autoencoder (KL off)"</option>
                    </select>
                </label>
                <label>"Start from "
                    <select data-testid="lab-from" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        let model = ShippedModel::find(&value);
                        edit(&|st: &mut LabSettings| {
                            st.from = model.map(ShippedModel::name);
                            if let Some(m) = model {
                                st.latent = m.latent();
                                st.architecture = m.variant.architecture();
                                st.dataset = m.dataset;
                                st.kind = m.variant.kind();
                            }
                        });
                    }>
                        <option value="scratch" selected=move || s.settings.with(|st| st.from.is_none())>"scratch (random weights)"</option>
                        {ShippedModel::all().map(|m| view! {
                            <option value=m.name() selected=move || s.settings.with(|st| st.from.as_deref() == Some(m.name().as_str()))>
                                {format!("fine-tune {}", m.name())}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Learning rate "
                    <select data-testid="lab-lr" on:change=move |ev| {
                        let lr = event_target_value(&ev).parse().unwrap_or(1e-3);
                        edit(&|st: &mut LabSettings| st.learning_rate = lr);
                    }>
                        {LEARNING_RATES.into_iter().map(|lr| view! {
                            <option value=lr.to_string() selected=move || s.settings.with(|st| st.learning_rate == lr)>{lr.to_string()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Batch "
                    <input type="number" data-testid="lab-batch" min=BATCH_RANGE.0.to_string() max=BATCH_RANGE.1.to_string()
                        prop:value=move || s.settings.with(|st| st.batch.to_string())
                        on:change=move |ev| {
                            let batch = event_target_value(&ev).parse::<usize>().unwrap_or(100).clamp(BATCH_RANGE.0, BATCH_RANGE.1);
                            edit(&|st: &mut LabSettings| st.batch = batch);
                        } />
                </label>
                <label>"Seed "
                    <input type="number" data-testid="lab-seed" min="0"
                        prop:value=move || s.settings.with(|st| st.seed.to_string())
                        on:change=move |ev| {
                            let seed = event_target_value(&ev).parse::<u64>().unwrap_or(42);
                            edit(&|st: &mut LabSettings| st.seed = seed);
                        } />
                </label>
                <label class="beta">
                    {move || format!("β = {:.1} ", s.settings.with(|st| st.beta))}
                    <input type="range" data-testid="lab-beta" min="0" max="10" step="0.1"
                        disabled=move || s.settings.with(|st| st.kind == ModelKind::Ae)
                        prop:value=move || s.settings.with(|st| st.beta.to_string())
                        on:input=move |ev| set_beta(event_target_value(&ev).parse().unwrap_or(1.0)) />
                </label>
            </div>
            <div class="lab-classes" role="group" aria-label="Classes to train on" class:hidden=move || s.settings.with(|st| st.letters)>
                <span class="choice-label">"Classes"</span>
                {(0..10u8).map(class_box).collect_view()}
            </div>
            <div class="controls">
                <button type="button" data-testid="lab-play" on:click=play_pause>
                    {move || if running() { "Pause" } else { "Play" }}
                </button>
                <button type="button" data-testid="lab-step" on:click=step_once>"Step"</button>
                <button type="button" data-testid="lab-reset" on:click=reset disabled=move || s.status.with(Option::is_none)>"Reset"</button>
                <button type="button" data-testid="lab-use" on:click=use_model disabled=move || s.status.with(Option::is_none)>"Use this model"</button>
                <button type="button" data-testid="lab-close" on:click=close disabled=move || !s.open.get()>"Close the lab"</button>
            </div>
            <div class="controls">
                <button type="button" data-testid="lab-download" on:click=download disabled=move || s.status.with(Option::is_none)>
                    "Download the model"
                </button>
                <label>"Load a downloaded model (pick its .json and .bpk together, or drop them here): "
                    <input type="file" multiple accept=".json,.bpk" data-testid="lab-upload" on:change=upload />
                </label>
            </div>
            {move || s.files.get().map(|r| match r {
                Ok(m) => view! { <p class="note" data-testid="lab-files">{m}</p> }.into_any(),
                Err(m) => view! { <p class="error" data-testid="lab-files">{m}</p> }.into_any(),
            })}
            <div class="status" role="status" data-testid="lab-status">
                <span>{status_text}</span>
                {progress}
            </div>
            {move || backend_reason().map(|m| view! { <p class="caption" data-testid="lab-backend">{m}</p> })}
            {move || message().map(|m| view! { <p class="note warning" data-testid="lab-message">{m}</p> })}
            {move || used_line().map(|m| view! { <p class="note" data-testid="lab-used">{m}</p> })}
            <div class="controls" class:hidden=move || snapshot_count() < 2>
                <label>"Snapshots "
                    <input type="range" data-testid="lab-scrub" min="0"
                        max=move || snapshot_count().saturating_sub(1).to_string()
                        prop:value=move || scrub.get().unwrap_or(snapshot_count().saturating_sub(1)).to_string()
                        on:input=move |ev| {
                            let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                            scrub.set((index + 1 < snapshot_count()).then_some(index));
                        } />
                </label>
                <button type="button" on:click=move |_| scrub.set(None)>"Live"</button>
                <span data-testid="lab-scrub-label">{scrub_label}</span>
            </div>
            <div class="lab-views">
                <div>
                    <canvas node_ref=map id="lab-map" class="history-map" width="420" height="420"
                        aria-label=move || format!("μ of {}, coloured by class", evaluated().images(evaluation_images()))></canvas>
                    <ul class="legend" data-testid="lab-legend">{legend}</ul>
                    {move || agreement().map(|a| view! { <p class="note" data-testid="lab-agreement">{a}</p> })}
                    <div class="controls" class:hidden=move || latent() <= 2>
                        <label>"Axes: z"
                            <input type="number" min="1" max=move || latent().to_string()
                                prop:value=move || (axes.get().0 + 1).to_string()
                                on:change=move |ev| axes.update(|a| a.0 = event_target_value(&ev).parse::<usize>().unwrap_or(1).saturating_sub(1)) />
                        </label>
                        <label>" against z"
                            <input type="number" min="1" max=move || latent().to_string()
                                prop:value=move || (axes.get().1 + 1).to_string()
                                on:change=move |ev| axes.update(|a| a.1 = event_target_value(&ev).parse::<usize>().unwrap_or(2).saturating_sub(1)) />
                        </label>
                    </div>
                </div>
                <div>
                    <canvas node_ref=chart id="lab-losses" class="loss-chart" width="420" height="200"
                        aria-label=move || format!("Training and {} losses", evaluated().label())></canvas>
                    <canvas node_ref=strip id="lab-reconstructions" class="strip" width="280" height="56"
                        aria-label=move || format!("Ten of {} (top) and their reconstructions (bottom)", evaluated().images(evaluation_images()))></canvas>
                    <canvas node_ref=grid id="lab-grid" class="lab-grid" class:hidden=move || latent() != 2 width="420" height="420"
                        aria-label="The 15×15 grid decoded by the model in training"></canvas>
                </div>
            </div>
            <p class="caption" data-testid="lab-views-caption">
                {move || format!(
                    "The map shows μ of {} (for more than two dimensions, the two axes chosen); the strip, ten of them over \
                     their reconstructions; the chart, the losses at each snapshot (training: a running mean of recent batches; \
                     {}: {}); the grid, the decoder at z = Φ⁻¹(linspace(0.05, 0.95, 15)). On the CPU backend the \
                     convolutional VAE trains at a few hundred images per second: an epoch takes about a minute.",
                    evaluated().images(evaluation_images()),
                    evaluated().label(),
                    if loss_images() == evaluation_images() {
                        format!("all {} of them", loss_images())
                    } else {
                        format!("the first {} of them", loss_images())
                    },
                )}
            </p>
        </section>
    }
}

//! The drawing pad: the person draws, the page prepares the drawing as MNIST was
//! prepared, encodes it to (μ, σ), and shows the 28×28 input beside its reconstruction.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::plane::describe_point;
use crate::core::preprocess::{strokes_to_mnist, Stroke, PAD_BRUSH, PAD_SIDE};
use crate::web::canvas::paint_images;
use crate::web::live::NewestOnly;
use crate::web::session::use_session;
use crate::web::state::{Encoding, TrayItem, Views};
use crate::web::stroke_pad::StrokePad;


#[derive(Clone, Debug, PartialEq)]
struct Drawn {
    input: Arc<Vec<f32>>,
    reconstruction: Arc<Vec<f32>>,
    encoding: Encoding,
}

#[component]
pub fn DrawPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let input_canvas = NodeRef::<Canvas>::new();
    let reconstruction_canvas = NodeRef::<Canvas>::new();
    let strokes = RwSignal::new(Vec::<Stroke>::new());
    let result = RwSignal::new(None::<Result<Drawn, String>>);
    let encodes = NewestOnly::new();
    // Drawings are numbered in their labels as they go in.
    let drawings_added = Rc::new(Cell::new(0u64));

    // Encodes what the pad shows with the model on show.
    let encode = {
        let session = session.clone();
        move || {
            if strokes.with_untracked(Vec::is_empty) {
                result.set(None);
                views.drawn.set(None);
                return;
            }
            let prepared = strokes
                .with_untracked(|s| strokes_to_mnist(s, PAD_SIDE, PAD_BRUSH))
                .map_err(|e| e.to_string());
            let input = match prepared {
                Ok(input) => input,
                Err(message) => {
                    result.set(Some(Err(message)));
                    views.drawn.set(None);
                    return;
                }
            };
            let Some(engine) = views.shown.with_untracked(|s| s.as_ref().and_then(|s| session.cached_engine(&s.name)))
            else {
                return;
            };
            encodes.submit(async move {
                let outcome = async {
                    let encoded = engine.encode(&input).await?;
                    let reconstruction = engine.decode(&encoded.mean).await?;
                    Ok::<_, String>(Drawn {
                        input: Arc::new(input),
                        reconstruction: Arc::new(reconstruction),
                        encoding: Encoding { sigma: encoded.sigma(), mu: encoded.mean },
                    })
                }
                .await;
                views.drawn.set(outcome.as_ref().ok().map(|d| d.encoding.clone()));
                result.set(Some(outcome));
            });
        }
    };
    // A new model encodes the drawing afresh.
    let encode_again = encode.clone();
    Effect::new(move |_| {
        if views.shown.with(Option::is_some) {
            encode_again();
        }
    });
    Effect::new(move |_| {
        let Some(Ok(drawn)) = result.get() else { return };
        if let Some(canvas) = input_canvas.get() {
            let _ = paint_images(&canvas, &drawn.input, 1);
        }
        if let Some(canvas) = reconstruction_canvas.get() {
            let _ = paint_images(&canvas, &drawn.reconstruction, 1);
        }
    });

    let encode_on_up = encode.clone();
    let encode_on_undo = encode.clone();
    let add_to_tray = move |_| {
        let Some(Ok(drawn)) = result.get_untracked() else { return };
        let Some(model) = views.shown.with_untracked(|s| s.as_ref().map(|s| s.name.clone())) else { return };
        if views.tray.is_full_untracked() {
            return;
        }
        let number = drawings_added.get() + 1;
        drawings_added.set(number);
        views.tray.add(TrayItem {
            id: 0,
            label: format!("drawing {number}"),
            model,
            thumbnail: drawn.input.clone(),
            mu: drawn.encoding.mu.clone(),
            sigma: Some(drawn.encoding.sigma.clone()),
            input: Some(drawn.input.clone()),
        });
    };
    let tray_full = move || views.tray.is_full();
    let numbers = move || {
        result.with(|r| match r {
            Some(Ok(d)) => Some(view! {
                <p class="encoding">
                    "μ = " <span data-testid="draw-mu">{describe_point(&d.encoding.mu, 2)}</span>
                    <br />
                    "σ = " <span data-testid="draw-sigma">{describe_point(&d.encoding.sigma, 2)}</span>
                </p>
            }
            .into_any()),
            Some(Err(message)) => Some(view! { <p class="error" data-testid="draw-message">{message.clone()}</p> }.into_any()),
            None => Some(view! { <p class="note" data-testid="draw-message">"Draw a digit, a garment or a letter with the mouse, a finger or a pen."</p> }.into_any()),
        })
    };
    view! {
        <section class="panel draw-panel" aria-labelledby="draw-title">
            <h2 id="draw-title">"Draw, and see where it lands"</h2>
            <div class="draw-layout">
                <StrokePad strokes=strokes on_stroke_end=encode_on_up id="draw-pad" label="Drawing pad: draw a digit with a mouse, a finger or a pen (from the keyboard, the tray below adds test images instead)" />
                <div class="draw-results">
                    <div class="pair">
                        <figure>
                            <canvas node_ref=input_canvas id="draw-input" class="small-image" width="28" height="28"
                                role="img" aria-label="Your drawing as the model sees it, 28 by 28 pixels"></canvas>
                            <figcaption>"What the model sees (28×28)"</figcaption>
                        </figure>
                        <figure>
                            <canvas node_ref=reconstruction_canvas id="draw-reconstruction" class="small-image" width="28" height="28"
                                role="img" aria-label="The decoder's image of your drawing's μ"></canvas>
                            <figcaption>"Decoded from μ"</figcaption>
                        </figure>
                    </div>
                    {numbers}
                </div>
            </div>
            <div class="controls">
                <button type="button" data-testid="draw-undo" on:click=move |_| {
                    strokes.update(|s| { s.pop(); });
                    encode_on_undo();
                }>"Undo"</button>
                <button type="button" data-testid="draw-clear" on:click=move |_| {
                    strokes.set(Vec::new());
                    result.set(None);
                    views.drawn.set(None);
                }>"Clear"</button>
                <button type="button" data-testid="draw-add" on:click=add_to_tray
                    disabled=move || !matches!(result.get(), Some(Ok(_))) || tray_full()>
                    "Add to tray"
                </button>
            </div>
            <p class="caption">
                "The drawing's strokes are scaled so that its longer side is 20 px, drawn afresh with a pen as wide as MNIST's \
                 strokes (so a small drawing is not read as a bold one), and placed in 28×28 with its centre of mass in the middle, \
                 as MNIST's digits were. On a 2-D model's latent map, the drawing's μ shows with its 1σ and 2σ ellipses."
            </p>
        </section>
    }
}

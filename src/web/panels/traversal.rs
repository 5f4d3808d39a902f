//! A traversal strip: one dimension runs from −3 to +3 while the others stay at the
//! sliders' point.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::plane::traversal;
use crate::web::canvas::{paint_images, save_png, tag_points};
use crate::web::live::NewestOnly;
use crate::web::session::use_session;
use crate::web::state::Views;
use crate::web::tasks::next_frame;

const REACH: f64 = 3.0;
const STEP_CHOICES: [usize; 4] = [7, 9, 11, 15];

#[component]
pub fn TraversalPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let canvas = NodeRef::<Canvas>::new();
    let dimension = RwSignal::new(0usize);
    let steps = RwSignal::new(11usize);
    let error = RwSignal::new(None::<String>);
    let decodes = NewestOnly::new();

    Effect::new(move |_| {
        let base = views.point.get();
        let (dimension, steps) = (dimension.get(), steps.get());
        let Some(canvas) = canvas.get() else { return };
        let Some(engine) = views.shown.with(|s| {
            s.as_ref().filter(|s| s.latent() == base.len()).and_then(|s| session.cached_engine(&s.name))
        }) else {
            return;
        };
        if dimension >= base.len() {
            return;
        }
        let points = traversal(&base, dimension, -REACH, REACH, steps);
        decodes.submit(async move {
            // Let the sliders' own image reach the screen first: on the CPU backend all
            // decodes share one thread, and the strip costs eleven of them.
            next_frame().await;
            match engine.decode(&points.concat()).await {
                Ok(pixels) => {
                    error.set(paint_images(&canvas, &pixels, points.len()).err());
                    tag_points(&canvas, &points);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    // A model with fewer dimensions resets the choice.
    Effect::new(move |_| {
        let latent = views.shown.with(|s| s.as_ref().map_or(0, |s| s.latent()));
        if dimension.get_untracked() >= latent {
            dimension.set(0);
        }
    });

    let latent = move || views.shown.with(|s| s.as_ref().map_or(0, |s| s.latent()));
    let model_name = move || views.shown.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    view! {
        <section class="panel traversal-panel" aria-labelledby="traversal-title">
            <h2 id="traversal-title">"Walk along one dimension"</h2>
            <div class="controls">
                <label>
                    "Dimension "
                    <select
                        data-testid="traversal-dimension"
                        on:change=move |ev| dimension.set(event_target_value(&ev).parse().unwrap_or(0))
                        prop:value=move || dimension.get().to_string()
                    >
                        {move || (0..latent())
                            .map(|d| view! { <option value=d.to_string()>{format!("z{}", d + 1)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    " Steps "
                    <select
                        data-testid="traversal-steps"
                        on:change=move |ev| steps.set(event_target_value(&ev).parse().unwrap_or(11))
                        prop:value=move || steps.get().to_string()
                    >
                        {STEP_CHOICES
                            .iter()
                            .map(|n| view! { <option value=n.to_string()>{n.to_string()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button type="button" data-testid="save-traversal" on:click=move |_| {
                    if let Some(canvas) = canvas.get_untracked() {
                        let name = format!("{}-z{}-traversal.png", model_name(), dimension.get_untracked() + 1);
                        error.set(save_png(&canvas, &name).err());
                    }
                }>"Save PNG"</button>
            </div>
            <canvas role="img" node_ref=canvas id="traversal-strip" class="strip" width="308" height="28"
                aria-label="Images decoded as one latent dimension runs from −3 to +3"></canvas>
            <p class="caption">"From z = −3 (left) to +3 (right) in the chosen dimension; the others stay at the sliders' point."</p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

//! Samples from the prior: 18 points z ~ N(0, I), decoded together.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::math::prior_sample;
use crate::core::plane::describe_point;
use crate::web::canvas::{paint_images, save_png, tag_points};
use crate::web::session::use_session;
use crate::web::state::Views;

const COLUMNS: usize = 6;
const ROWS: usize = 3;

#[component]
pub fn SamplesPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let canvas = NodeRef::<Canvas>::new();
    let error = RwSignal::new(None::<String>);
    let draw = move || {
        let latent = views.shown.with_untracked(|s| s.as_ref().map_or(0, |s| s.latent()));
        if latent > 0 {
            views.samples.set((0..COLUMNS * ROWS).map(|_| prior_sample(latent, js_sys::Math::random)).collect());
        }
    };
    // New samples whenever the shown model changes (which empties them).
    Effect::new(move |_| {
        if views.samples.with(Vec::is_empty) && views.shown.with(Option::is_some) {
            draw();
        }
    });
    Effect::new(move |_| {
        let samples = views.samples.get();
        let Some(canvas) = canvas.get() else { return };
        let Some(engine) = views.shown.with_untracked(|s| s.as_ref().and_then(|s| session.cached_engine(&s.name))) else {
            return;
        };
        if samples.is_empty() || samples.iter().any(|z| z.len() != engine.latent()) {
            return;
        }
        leptos::task::spawn_local(async move {
            match engine.decode(&samples.concat()).await {
                Ok(pixels) => {
                    error.set(paint_images(&canvas, &pixels, COLUMNS).err());
                    tag_points(&canvas, &samples);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let captions = move || {
        views.samples.with(|samples| {
            samples
                .iter()
                .map(|z| {
                    let shown: Vec<f32> = z.iter().take(3).copied().collect();
                    let mut text = describe_point(&shown, 1);
                    if z.len() > 3 {
                        text = text.replace(')', ", …)");
                    }
                    view! { <li title=describe_point(z, 2)>{text}</li> }
                })
                .collect_view()
        })
    };
    let model_name = move || views.shown.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    view! {
        <section class="panel samples-panel" aria-labelledby="samples-title">
            <h2 id="samples-title">"Samples from the prior"</h2>
            <canvas role="img" node_ref=canvas id="prior-samples" class="samples" width="168" height="84"
                aria-label="18 images decoded from random points of N(0, I)"></canvas>
            <ol class="sample-z">{captions}</ol>
            <div class="controls">
                <button type="button" data-testid="new-samples" on:click=move |_| draw()>"New samples"</button>
                <button type="button" on:click=move |_| {
                    if let Some(canvas) = canvas.get_untracked() {
                        error.set(save_png(&canvas, &format!("{}-samples.png", model_name())).err());
                    }
                }>"Save PNG"</button>
            </div>
            <p class="caption">"Each image decodes a random z ~ N(0, I), the prior a VAE is trained to match; the crosses on the latent map mark them. Beneath each, its z (first three coordinates)."</p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

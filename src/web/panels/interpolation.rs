//! Interpolation between two tray items: a strip of decodes along a linear or
//! spherical path, an animated morph (still, until asked, for a visitor who asks for
//! less motion), and the path drawn on the latent map.

use std::sync::Arc;

use gloo_timers::future::TimeoutFuture;
use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::data::IMAGE_PIXELS;
use crate::core::math::{interpolation_path, Path};
use crate::web::canvas::{paint_images, save_png, tag_points};
use crate::web::live::NewestOnly;
use crate::web::session::use_session;
use crate::web::state::Views;

const MORPH_FRAME_MILLIS: u32 = 90;

#[component]
pub fn InterpolationPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let strip = NodeRef::<Canvas>::new();
    let morph = NodeRef::<Canvas>::new();
    let from = RwSignal::new(0usize);
    let to = RwSignal::new(1usize);
    let steps = RwSignal::new(10usize);
    let path_kind = RwSignal::new(Path::Linear);
    let frames = RwSignal::new(None::<Arc<Vec<f32>>>);
    let tick = RwSignal::new(0usize);
    // The morph plays by itself unless the visitor asks for less motion; a button pauses it.
    let playing = RwSignal::new(!crate::web::display::prefers_reduced_motion());
    let error = RwSignal::new(None::<String>);
    let decodes = NewestOnly::new();

    // New items: interpolate between the last two added.
    Effect::new(move |previous: Option<usize>| {
        let count = views.tray.items.with(Vec::len);
        if previous.is_some_and(|p| count > p) && count >= 2 {
            from.set(count - 2);
            to.set(count - 1);
        }
        if from.get_untracked() >= count || to.get_untracked() >= count {
            from.set(0);
            to.set(count.saturating_sub(1).min(1));
        }
        count
    });

    Effect::new(move |_| {
        let (a, b, steps, kind) = (from.get(), to.get(), steps.get(), path_kind.get());
        let ends = views.tray.items.with(|t| Some((t.get(a)?.clone(), t.get(b)?.clone())));
        let Some((start, end)) = ends.filter(|(s, e)| s.mu.len() == e.mu.len() && s.id != e.id) else {
            views.path.set(Vec::new());
            frames.set(None);
            return;
        };
        let Some(engine) = views.shown.with(|s| s.as_ref().and_then(|s| session.cached_engine(&s.name))) else { return };
        if engine.latent() != start.mu.len() {
            return;
        }
        let Some(canvas) = strip.get() else { return };
        let points = interpolation_path(&start.mu, &end.mu, steps, kind);
        views.path.set(points.clone());
        decodes.submit(async move {
            match engine.decode(&points.concat()).await {
                Ok(pixels) => {
                    error.set(paint_images(&canvas, &pixels, points.len()).err());
                    tag_points(&canvas, &points);
                    frames.set(Some(Arc::new(pixels)));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    // The morph plays the strip forth and back, for as long as the page is open.
    leptos::task::spawn_local(async move {
        loop {
            TimeoutFuture::new(MORPH_FRAME_MILLIS).await;
            if frames.try_with_untracked(Option::is_some) == Some(true) && playing.get_untracked() {
                tick.update(|t| *t = t.wrapping_add(1));
            } else if frames.try_with_untracked(|_| ()).is_none() {
                break; // the panel is gone
            }
        }
    });
    Effect::new(move |_| {
        let tick = tick.get();
        let Some(frames) = frames.get() else { return };
        let Some(canvas) = morph.get() else { return };
        let count = frames.len() / IMAGE_PIXELS;
        if count == 0 {
            return;
        }
        let cycle = 2 * count;
        let position = tick % cycle;
        let index = if position < count { position } else { cycle - 1 - position };
        let _ = paint_images(&canvas, &frames[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS], 1);
    });

    let options = move || {
        views.tray.items.with(|tray| {
            tray.iter()
                .enumerate()
                .map(|(i, item)| view! { <option value=i.to_string()>{format!("{}. {}", i + 1, item.label)}</option> })
                .collect_view()
        })
    };
    let kind_button = move |kind: Path, label: &'static str, id: &'static str| {
        view! {
            <button type="button" data-testid=id aria-pressed=move || (path_kind.get() == kind).to_string()
                on:click=move |_| path_kind.set(kind)>{label}</button>
        }
    };
    let enough = move || views.tray.items.with(|t| t.len() >= 2);
    view! {
        <section class="panel interpolation-panel" aria-labelledby="interpolation-title">
            <h2 id="interpolation-title">"Morph one into another"</h2>
            <p class="note" class:hidden=enough>"Put two items in the tray to interpolate between them."</p>
            <div class="controls" class:hidden=move || !enough()>
                <label>"From " <select data-testid="interpolation-from" prop:value=move || from.get().to_string()
                    on:change=move |ev| from.set(event_target_value(&ev).parse().unwrap_or(0))>{options}</select></label>
                <label>" to " <select data-testid="interpolation-to" prop:value=move || to.get().to_string()
                    on:change=move |ev| to.set(event_target_value(&ev).parse().unwrap_or(1))>{options}</select></label>
                <label>" Steps "
                    <input type="number" data-testid="interpolation-steps" min="2" max="30" step="1"
                        prop:value=move || steps.get().to_string()
                        on:change=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<usize>() {
                                steps.set(n.clamp(2, 30));
                            }
                        } />
                </label>
                {kind_button(Path::Linear, "Linear", "interpolation-linear")}
                {kind_button(Path::Spherical, "Spherical (slerp)", "interpolation-slerp")}
                <button type="button" on:click=move |_| {
                    if let Some(canvas) = strip.get_untracked() {
                        error.set(save_png(&canvas, "interpolation.png").err());
                    }
                }>"Save PNG"</button>
            </div>
            <div class="interpolation-views" class:hidden=move || !enough()>
                <canvas role="img" node_ref=strip id="interpolation-strip" class="strip" width="280" height="28"
                    aria-label="Images decoded along the path between the two items"></canvas>
                <canvas role="img" node_ref=morph id="interpolation-morph" class="big-image" width="28" height="28"
                    aria-label="The morph: the strip's images in turn, forth and back"></canvas>
                <button type="button" data-testid="morph-play" aria-pressed=move || playing.get().to_string()
                    on:click=move |_| playing.update(|p| *p = !*p)>
                    {move || if playing.get() { "Pause the morph" } else { "Play the morph" }}
                </button>
            </div>
            <p class="caption">
                "Linear walks the straight line between the two μ; spherical walks the great circle, which keeps the points at \
                 a typical distance from the origin, where a 16-D Gaussian prior keeps its mass. On a 2-D model's map the path shows \
                 as a line."
            </p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

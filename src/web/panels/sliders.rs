//! One slider per latent dimension, decoded live while dragging.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::math::prior_sample;
use crate::core::plane::describe_point;
use crate::web::canvas::{paint_images, tag_points};
use crate::web::live::NewestOnly;
use crate::web::session::use_session;
use crate::web::state::Views;

/// The sliders span ±3σ; typed values may go to ±10σ.
pub const SLIDER_REACH: f32 = 3.0;
pub const TYPED_REACH: f32 = 10.0;

fn subscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| char::from_u32(0x2080 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
        .collect()
}

#[component]
pub fn SliderPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let canvas = NodeRef::<Canvas>::new();
    let error = RwSignal::new(None::<String>);
    let decodes = NewestOnly::new();

    Effect::new(move |_| {
        let z = views.point.get();
        let Some(canvas) = canvas.get() else { return };
        let Some(engine) = views.shown.with(|s| {
            s.as_ref().filter(|s| s.latent() == z.len()).and_then(|s| session.cached_engine(&s.name))
        }) else {
            return;
        };
        decodes.submit(async move {
            match engine.decode(&z).await {
                Ok(pixels) => {
                    error.set(paint_images(&canvas, &pixels, 1).err());
                    tag_points(&canvas, &[z]);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let set_dimension = move |dimension: usize, text: String, reach: f32| {
        let Ok(value) = text.trim().replace('−', "-").parse::<f32>() else { return };
        if !value.is_finite() {
            return;
        }
        views.point.update(|z| {
            if let Some(slot) = z.get_mut(dimension) {
                *slot = value.clamp(-reach, reach);
            }
        });
    };
    let slider = move |dimension: usize| {
        let value = move || views.point.with(|z| z.get(dimension).copied().unwrap_or(0.0));
        let name = format!("z{}", subscript(dimension + 1));
        view! {
            <div class="slider-row">
                <label for=format!("slider-{dimension}")>{name.clone()}</label>
                <input
                    type="range"
                    id=format!("slider-{dimension}")
                    data-testid="latent-slider"
                    min=(-SLIDER_REACH).to_string()
                    max=SLIDER_REACH.to_string()
                    step="0.01"
                    prop:value=move || value().to_string()
                    on:input=move |ev| set_dimension(dimension, event_target_value(&ev), SLIDER_REACH)
                />
                <input
                    type="number"
                    class="slider-number"
                    aria-label=format!("{name}, typed")
                    min=(-TYPED_REACH).to_string()
                    max=TYPED_REACH.to_string()
                    step="0.01"
                    prop:value=move || format!("{:.2}", value())
                    on:change=move |ev| set_dimension(dimension, event_target_value(&ev), TYPED_REACH)
                />
            </div>
        }
    };
    let latent = move || views.shown.with(|s| s.as_ref().map_or(0, |s| s.latent()));
    // What the image shows, for a screen reader: its point and, on a 2-D map, the class there.
    let image_words = move || {
        let z = views.point.get();
        let nearest = match z[..] {
            [z1, z2] => views.shown.with(|s| s.as_ref()?.nearest_test_image([z1, z2]).map(|(_, class)| class.to_string())),
            _ => None,
        };
        let mut words = format!("The decoder's image of the sliders' point z = {}", describe_point(&z, 2));
        if let Some(class) = nearest {
            words.push_str(&format!("; the nearest test image there is a {class}"));
        }
        words
    };
    view! {
        <section class="panel slider-panel" aria-labelledby="sliders-title">
            <h2 id="sliders-title">"Move through the latent space"</h2>
            <div class="slider-layout">
                <canvas node_ref=canvas id="slider-decode" class="big-image" width="28" height="28" role="img"
                    aria-label=image_words></canvas>
                <div class="sliders" class:many=move || { latent() > 4 }>
                    {move || (0..latent()).map(slider).collect_view()}
                </div>
            </div>
            <div class="controls">
                <button type="button" data-testid="reset-point"
                    on:click=move |_| views.point.update(|z| z.iter_mut().for_each(|v| *v = 0.0))>
                    "Reset to 0"
                </button>
                <button type="button" data-testid="randomise-point"
                    on:click=move |_| views.point.update(|z| *z = prior_sample(z.len(), js_sys::Math::random))>
                    "Randomise from N(0, I)"
                </button>
            </div>
            <p class="caption">"Sliders span ±3σ of the prior; type a value to go as far as ±10σ. Arrow keys move a slider by 0.01."</p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

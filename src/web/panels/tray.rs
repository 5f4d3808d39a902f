//! The tray: up to 12 encoded items (drawings, test images from the latent map) to
//! interpolate between. A model switch re-encodes the drawings with the new model and
//! drops test images, whose μ belonged to the old one.

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::plane::describe_point;
use crate::lab::HELDOUT_MAP_IMAGES;
use crate::web::canvas::paint_images;
use crate::web::session::use_session;
use crate::web::state::{Tray, TrayItem, Views};

#[component]
pub fn TrayPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let list = NodeRef::<Div>::new();
    let error = RwSignal::new(None::<String>);

    // Paint each thumbnail into its canvas.
    Effect::new(move |_| {
        let Some(list) = list.get() else { return };
        views.tray.items.with(|tray| {
            for item in tray {
                let canvas = list
                    .query_selector(&format!("canvas[data-item='{}']", item.id))
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
                if let Some(canvas) = canvas {
                    let _ = paint_images(&canvas, &item.thumbnail, 1);
                }
            }
        });
    });

    // Re-encode drawings when the model changes.
    let for_switch = session.clone();
    Effect::new(move |_| {
        let Some(model) = views.shown.with(|s| s.as_ref().map(|s| s.name.clone())) else { return };
        let stale: Vec<TrayItem> = views.tray.items.with_untracked(|t| t.iter().filter(|i| i.model != model).cloned().collect());
        if stale.is_empty() {
            return;
        }
        let Some(engine) = for_switch.cached_engine(&model) else { return };
        leptos::task::spawn_local(async move {
            let mut kept = Vec::new();
            for item in views.tray.items.get_untracked() {
                if item.model == model {
                    kept.push(item);
                    continue;
                }
                let Some(input) = item.input.clone() else { continue };
                if let Ok(encoded) = engine.encode(&input).await {
                    kept.push(TrayItem {
                        model: model.clone(),
                        sigma: Some(encoded.sigma()),
                        mu: encoded.mean,
                        ..item
                    });
                }
            }
            if views.shown.with_untracked(|s| s.as_ref().is_some_and(|s| s.name == model)) {
                views.tray.items.set(kept);
            }
        });
    });

    let add_random = move |_| {
        let Some(model) = views.shown.with_untracked(|s| s.as_ref().map(|s| s.name.clone())) else { return };
        if views.tray.is_full_untracked() {
            return;
        }
        let session = session.clone();
        leptos::task::spawn_local(async move {
            let count = session.latent_map(&model).await.map(|m| m.labels.len()).unwrap_or(0);
            if count == 0 {
                error.set(Some("this model ships no latent map to pick test images from".to_string()));
                return;
            }
            // Among the test images that ship as real images.
            let pool = count.min(HELDOUT_MAP_IMAGES);
            let index = (js_sys::Math::random() * pool as f64) as usize % pool;
            match session.test_image_item(&model, index).await {
                Ok(item) => views.tray.add(item),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let items = move || {
        views.tray.items.with(|tray| {
            tray.iter()
                .map(|item| {
                    let id = item.id;
                    let mu = describe_point(&item.mu[..item.mu.len().min(3)], 2);
                    let sigma = item.sigma.as_ref().map_or("σ: not shipped".to_string(), |s| {
                        format!("σ {}", describe_point(&s[..s.len().min(3)], 2))
                    });
                    let more = if item.mu.len() > 3 { " …" } else { "" };
                    view! {
                        <li class="tray-item" data-testid="tray-item">
                            <canvas class="thumbnail" data-item=id.to_string() width="28" height="28" role="img" aria-label=item.label.clone()></canvas>
                            <span class="tray-label">{item.label.clone()}</span>
                            <span class="tray-numbers" title=describe_point(&item.mu, 3)>{format!("μ {mu}{more}")}<br />{sigma}</span>
                            <button type="button" aria-label=format!("Remove {}", item.label)
                                on:click=move |_| views.tray.items.update(|t| t.retain(|i| i.id != id))>"×"</button>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="panel tray-panel" aria-labelledby="tray-title">
            <h2 id="tray-title">"Tray"</h2>
            <div node_ref=list>
                <ol class="tray">{items}</ol>
            </div>
            <p class="note" class:hidden=move || !views.tray.items.with(Vec::is_empty)>
                "Empty. Add drawings from the pad, test images from the latent map's pin, or a random test image."
            </p>
            <div class="controls">
                <button type="button" data-testid="tray-random" on:click=add_random
                    disabled=move || views.tray.is_full()>
                    "Add a random test image"
                </button>
                <button type="button" on:click=move |_| views.tray.items.set(Vec::new())>"Empty the tray"</button>
            </div>
            <p class="caption">{format!("Up to {} items, each with its μ and σ under the model on show.", Tray::CAPACITY)}</p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

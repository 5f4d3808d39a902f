//! The tray: up to 12 encoded items (drawings, test images from the latent map) to
//! interpolate between. A model switch re-encodes the drawings with the new model and
//! drops test images, whose μ belonged to the old one.

use std::sync::Arc;

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::app::{TrayItem, Views};
use super::canvas::paint_images;
use super::draw::TRAY_CAPACITY;
use super::session::Session;
use crate::catalogue::DatasetId;
use crate::data::{bytes_to_unit, IMAGE_PIXELS};
use crate::lab::HELDOUT_MAP_IMAGES;
use crate::plane::describe_point;

/// A test image from the model's latent map, as a tray item. The first 1,000 test images
/// ship with the site (the lab's held-out set): those come as the real image, encoded,
/// and are re-encoded by the next model like drawings. Beyond them, or for a model
/// trained on a class subset (whose map skips images), the thumbnail is the decode of μ.
pub async fn test_image_item(session: &Session, model: &str, index: usize, id: u64) -> Result<TrayItem, String> {
    let map = session.latent_map(model).await?;
    let engine = session.cached_engine(model).ok_or("the model is not loaded")?;
    let latent = map.latent;
    let mu = map.means.get(index * latent..(index + 1) * latent).ok_or("no such test image")?.to_vec();
    let class = map.labels.get(index).map_or(0, |&l| usize::from(l));
    let class_name = engine.manifest.class_names.get(class).cloned().unwrap_or_default();
    let label = format!("test #{index} ({class_name})");
    let dataset = DatasetId::from_name(&engine.manifest.dataset).filter(|_| engine.manifest.classes.is_none());
    let real = match dataset {
        Some(dataset) => session.heldout_images(dataset).await.ok().and_then(|set| {
            set.pixels.get(index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS).map(bytes_to_unit)
        }),
        None => None,
    };
    if let Some(image) = real {
        let encoded = engine.encode(&image).await?;
        let image = Arc::new(image);
        return Ok(TrayItem {
            id,
            label,
            model: model.to_string(),
            thumbnail: image.clone(),
            sigma: Some(encoded.sigma()),
            mu: encoded.mean,
            input: Some(image),
        });
    }
    let thumbnail = Arc::new(engine.decode(&mu).await?);
    Ok(TrayItem {
        id,
        label,
        model: model.to_string(),
        thumbnail,
        mu,
        sigma: None,
        input: None,
    })
}

#[component]
pub fn TrayPanel(session: Session, views: Views) -> impl IntoView {
    let list = NodeRef::<Div>::new();
    let error = RwSignal::new(None::<String>);

    // Paint each thumbnail into its canvas.
    Effect::new(move |_| {
        let Some(list) = list.get() else { return };
        views.tray.with(|tray| {
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
        let stale: Vec<TrayItem> = views.tray.with_untracked(|t| t.iter().filter(|i| i.model != model).cloned().collect());
        if stale.is_empty() {
            return;
        }
        let Some(engine) = for_switch.cached_engine(&model) else { return };
        leptos::task::spawn_local(async move {
            let mut kept = Vec::new();
            for item in views.tray.get_untracked() {
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
                views.tray.set(kept);
            }
        });
    });

    let add_random = move |_| {
        let Some(model) = views.shown.with_untracked(|s| s.as_ref().map(|s| s.name.clone())) else { return };
        if views.tray.with_untracked(|t| t.len() >= TRAY_CAPACITY) {
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
            let id = views.tray.with_untracked(|t| t.iter().map(|i| i.id).max().unwrap_or(0)) + 1000;
            match test_image_item(&session, &model, index, id).await {
                Ok(item) => views.tray.update(|t| {
                    if t.len() < TRAY_CAPACITY {
                        t.push(item);
                    }
                }),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let items = move || {
        views.tray.with(|tray| {
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
                            <canvas class="thumbnail" data-item=id.to_string() width="28" height="28"></canvas>
                            <span class="tray-label">{item.label.clone()}</span>
                            <span class="tray-numbers" title=describe_point(&item.mu, 3)>{format!("μ {mu}{more}")}<br />{sigma}</span>
                            <button type="button" aria-label=format!("Remove {}", item.label)
                                on:click=move |_| views.tray.update(|t| t.retain(|i| i.id != id))>"×"</button>
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
            <p class="note" class:hidden=move || !views.tray.with(Vec::is_empty)>
                "Empty. Add drawings from the pad, test images from the latent map's pin, or a random test image."
            </p>
            <div class="controls">
                <button type="button" data-testid="tray-random" on:click=add_random
                    disabled=move || views.tray.with(|t| t.len() >= TRAY_CAPACITY)>
                    "Add a random test image"
                </button>
                <button type="button" on:click=move |_| views.tray.set(Vec::new())>"Empty the tray"</button>
            </div>
            <p class="caption">{format!("Up to {TRAY_CAPACITY} items, each with its μ and σ under the model on show.")}</p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

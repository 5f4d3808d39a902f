//! Training history: how the latent map and the reconstructions formed, epoch by
//! epoch, with the loss curves.

use std::sync::Arc;

use gloo_timers::future::TimeoutFuture;
use leptos::html::Canvas;
use leptos::prelude::*;

use super::app::Views;
use super::canvas::{paint_images, paint_loss_chart, paint_scatter};
use super::session::Session;
use crate::artifacts::History;
use crate::data::IMAGE_PIXELS;
use crate::model::ModelKind;
use crate::plane::Space;

const PLAY_STEP_MILLIS: u32 = 700;

#[component]
pub fn HistoryPanel(session: Session, views: Views) -> impl IntoView {
    let history = RwSignal::new(None::<Result<Arc<History>, String>>);
    let epoch = RwSignal::new(0usize); // index into the snapshots
    let playing = RwSignal::new(false);
    let map_canvas = NodeRef::<Canvas>::new();
    let reconstructions = NodeRef::<Canvas>::new();
    let chart = NodeRef::<Canvas>::new();

    Effect::new(move |_| {
        let Some(name) = views.shown.with(|s| s.as_ref().map(|s| s.name.clone())) else { return };
        history.set(None);
        playing.set(false);
        let session = session.clone();
        leptos::task::spawn_local(async move {
            let loaded = session.history(&name).await;
            if let Ok(h) = &loaded {
                epoch.set(h.snapshots.len().saturating_sub(1));
            }
            if views.shown.with_untracked(|s| s.as_ref().is_some_and(|s| s.name == name)) {
                history.set(Some(loaded));
            }
        });
    });

    // One window for every epoch, so the map's motion shows.
    let window = Memo::new(move |_| {
        history.with(|h| match h {
            Some(Ok(h)) => {
                let all: Vec<f32> = h.snapshots.iter().flat_map(|s| s.means.iter().copied()).collect();
                Space::z_fitting(&all)
            }
            _ => Space::Z { low: -3.0, high: 3.0 },
        })
    });

    Effect::new(move |_| {
        let Some(Ok(history)) = history.get() else { return };
        let index = epoch.get().min(history.snapshots.len().saturating_sub(1));
        let Some(snapshot) = history.snapshots.get(index) else { return };
        if let Some(canvas) = reconstructions.get() {
            let pixels: Vec<f32> = snapshot.reconstructions.iter().map(|&b| f32::from(b) / 255.0).collect();
            if pixels.len() >= IMAGE_PIXELS {
                let _ = paint_images(&canvas, &pixels, pixels.len() / IMAGE_PIXELS);
            }
        }
        if let Some(canvas) = map_canvas.get() {
            if history.latent == 2 {
                let _ = paint_scatter(&canvas, window.get(), &snapshot.means, &history.map_labels, &[], false);
            }
        }
        if let Some(canvas) = chart.get() {
            let series = |i: usize| history.snapshots.iter().map(|s| s.train_losses[i]).collect::<Vec<f32>>();
            let labels = if series(2).iter().all(|v| *v == 0.0 || !v.is_finite()) {
                vec![("reconstruction", "#7cc4ff", series(1))]
            } else {
                vec![("training −ELBO", "#7cc4ff", series(0)), ("KL × 10", "#f28e2b", series(2).iter().map(|v| v * 10.0).collect())]
            };
            let last = format!("{}", history.snapshots.len());
            let _ = paint_loss_chart(&canvas, &labels, Some(index), ("epoch 1", &last));
        }
    });

    // The play button steps through the epochs, then stops at the last.
    Effect::new(move |_| {
        if !playing.get() {
            return;
        }
        let Some(Ok(history)) = history.get_untracked() else { return };
        let last = history.snapshots.len().saturating_sub(1);
        if epoch.get_untracked() >= last {
            epoch.set(0);
        }
        leptos::task::spawn_local(async move {
            while playing.get_untracked() {
                TimeoutFuture::new(PLAY_STEP_MILLIS).await;
                if !playing.get_untracked() {
                    break;
                }
                let next = epoch.get_untracked() + 1;
                epoch.set(next.min(last));
                if next >= last {
                    playing.set(false);
                }
            }
        });
    });

    let count = move || history.with(|h| h.as_ref().and_then(|h| h.as_ref().ok()).map_or(0, |h| h.snapshots.len()));
    let describe = move || {
        history.with(|h| {
            let h = h.as_ref()?.as_ref().ok()?;
            let s = h.snapshots.get(epoch.get())?;
            let [elbo, recon, kl] = s.train_losses;
            Some(if views.shown.with(|s| s.as_ref().is_some_and(|s| s.manifest.kind == ModelKind::Ae)) {
                format!("After epoch {} of {}: training reconstruction loss {recon:.1}", s.epoch, h.snapshots.len())
            } else {
                format!(
                    "After epoch {} of {}: training −ELBO {elbo:.1} = reconstruction {recon:.1} + KL {kl:.1}",
                    s.epoch,
                    h.snapshots.len()
                )
            })
        })
    };
    let planar = move || history.with(|h| h.as_ref().and_then(|h| h.as_ref().ok()).is_some_and(|h| h.latent == 2));
    // Until this model's history is here (and for a model without one), the views and their
    // controls are hidden: their canvases still hold the previous model's pictures.
    let absent = move || history.with(|h| !matches!(h, Some(Ok(_))));
    view! {
        <section class="panel history-panel" aria-labelledby="history-title">
            <h2 id="history-title">"How it learned, epoch by epoch"</h2>
            {move || match history.get() {
                None => Some(view! { <p class="note">"Loading the training history…"</p> }.into_any()),
                // A model from the lab has none by nature: said plainly, not as an error.
                Some(Err(e)) if views.shown.with(|s| s.as_ref().is_some_and(|s| s.manifest.history.is_none())) => {
                    Some(view! { <p class="note" data-testid="history-none">{e}</p> }.into_any())
                }
                Some(Err(e)) => Some(view! { <p class="error">"No training history: " {e}</p> }.into_any()),
                Some(Ok(_)) => None,
            }}
            <div class="controls" class:hidden=absent>
                <button type="button" data-testid="history-play" on:click=move |_| playing.update(|p| *p = !*p)>
                    {move || if playing.get() { "Pause" } else { "Play" }}
                </button>
                <input
                    type="range"
                    data-testid="history-epoch"
                    aria-label="Epoch"
                    min="0"
                    max=move || count().saturating_sub(1).to_string()
                    step="1"
                    prop:value=move || epoch.get().to_string()
                    on:input=move |ev| {
                        playing.set(false);
                        epoch.set(event_target_value(&ev).parse().unwrap_or(0));
                    }
                />
                <span data-testid="history-label">{describe}</span>
            </div>
            <div class="history-views" data-testid="history-views" class:hidden=absent>
                <canvas node_ref=map_canvas id="history-map" class="history-map" class:hidden=move || !planar()
                    width="420" height="420" aria-label="Latent map of 1,000 test images after this epoch"></canvas>
                <div>
                    <canvas node_ref=reconstructions id="history-reconstructions" class="strip" width="280" height="28"
                        aria-label="Reconstructions of ten fixed test images after this epoch"></canvas>
                    <canvas node_ref=chart id="history-losses" class="loss-chart" width="420" height="200"
                        aria-label="Training losses per epoch"></canvas>
                </div>
            </div>
            <p class="caption" class:hidden=absent>"The map shows μ of 1,000 test images after each epoch (2-D models); the strip, the model's reconstructions of ten fixed test images; the chart, the mean training losses per epoch."</p>
        </section>
    }
}

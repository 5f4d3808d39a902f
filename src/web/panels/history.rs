//! Training history: how the latent map and the reconstructions formed, epoch by
//! epoch, with the loss curves.

use std::sync::Arc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::core::artifacts::History;
use crate::core::data::IMAGE_PIXELS;
use crate::core::spec::ModelKind;
use crate::core::plane::Space;
use crate::web::canvas::ChartLine;
use crate::web::plots::{Chart, ImageStrip, Images, LatentMapPlot, LossChart, Scatter};
use crate::web::session::use_session;
use crate::web::state::Views;

const PLAY_STEP_MILLIS: u32 = 700;

#[component]
pub fn HistoryPanel() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let history = RwSignal::new(None::<Result<Arc<History>, String>>);
    let epoch = RwSignal::new(0usize); // index into the snapshots
    let playing = RwSignal::new(false);

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

    let snapshot = move || {
        let Some(Ok(history)) = history.get() else { return None };
        let index = epoch.get().min(history.snapshots.len().saturating_sub(1));
        history.snapshots.get(index).is_some().then_some((history, index))
    };
    let scatter = Signal::derive(move || {
        let (history, index) = snapshot()?;
        (history.latent == 2).then(|| Scatter {
            window: window.get(),
            points: history.snapshots[index].means.clone(),
            labels: history.map_labels.clone(),
        })
    });
    let reconstructions = Signal::derive(move || {
        let (history, index) = snapshot()?;
        let bytes = &history.snapshots[index].reconstructions;
        (bytes.len() >= IMAGE_PIXELS).then(|| Images::from_bytes(bytes, bytes.len() / IMAGE_PIXELS))
    });
    let chart = Signal::derive(move || {
        let (history, index) = snapshot()?;
        let series = |i: usize| history.snapshots.iter().map(|s| s.train_losses[i]).collect::<Vec<f32>>();
        let line = |label: &str, colour, values| ChartLine { label: label.to_string(), colour, values };
        let lines = if series(2).iter().all(|v| *v == 0.0 || !v.is_finite()) {
            vec![line("reconstruction", "#7cc4ff", series(1))]
        } else {
            vec![
                line("training −ELBO", "#7cc4ff", series(0)),
                line("KL × 10", "#f28e2b", series(2).iter().map(|v| v * 10.0).collect()),
            ]
        };
        Some(Chart { lines, highlight: Some(index), ends: ("epoch 1".to_string(), history.snapshots.len().to_string()) })
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
                <LatentMapPlot id="history-map" scatter=scatter hidden=Signal::derive(move || !planar())
                    label="Latent map of 1,000 test images after this epoch".to_string() />
                <div>
                    <ImageStrip id="history-reconstructions" images=reconstructions width=280 height=28
                        label="Reconstructions of ten fixed test images after this epoch".to_string() />
                    <LossChart id="history-losses" chart=chart label="Training losses per epoch".to_string() />
                </div>
            </div>
            <p class="caption" class:hidden=absent>"The map shows μ of 1,000 test images after each epoch (2-D models); the strip, the model's reconstructions of ten fixed test images; the chart, the mean training losses per epoch."</p>
        </section>
    }
}

//! The lab's live views of the snapshot on show: the held-out map (any two axes), the
//! loss curves over all snapshots, ten held-out images over their reconstructions, the
//! 15×15 grid, and the scrubber that picks the snapshot.

use leptos::prelude::*;

use super::{evaluated, evaluation_images, Scrub};
use crate::core::data::IMAGE_PIXELS;
use crate::core::letters::nearest_neighbour_agreement;
use crate::core::spec::ModelKind;
use crate::core::plane::Space;
use crate::lab::{HELDOUT_LOSS_IMAGES, RECONSTRUCTED};
use crate::web::canvas::ChartLine;
use crate::web::lab_client::{use_lab, LiveSnapshot};
use crate::web::plots::{class_legend, Chart, ImageStrip, Images, LatentMapPlot, LossChart, Scatter};

#[component]
pub(super) fn LabViews(scrub: Scrub) -> impl IntoView {
    let s = use_lab().signals;
    let axes = RwSignal::new((0usize, 1usize));
    let shown_snapshot = move || scrub.shown(s);
    let latent = move || s.settings.with(|st| st.latent);
    let loss_images = move || evaluation_images(s).min(HELDOUT_LOSS_IMAGES);

    let chart = Signal::derive(move || {
        let shown = shown_snapshot();
        s.snapshots.with(|snapshots| {
            let series = |f: &dyn Fn(&LiveSnapshot) -> Option<f64>| {
                snapshots.iter().map(|l| f(l).map_or(f32::NAN, |v| v as f32)).collect::<Vec<f32>>()
            };
            let line = |label: String, colour, values| ChartLine { label, colour, values };
            let measured_on = evaluated(s).label();
            let mut lines = vec![
                line("training total".to_string(), "#7cc4ff", series(&|l| l.snapshot.loss.map(|x| x.total))),
                line(format!("{measured_on} total"), "#ffd54f", series(&|l| Some(l.snapshot.heldout.total))),
            ];
            if s.settings.with_untracked(|st| st.kind == ModelKind::Vae) {
                lines.push(line(
                    "training reconstruction".to_string(),
                    "#59a14f",
                    series(&|l| l.snapshot.loss.map(|x| x.reconstruction)),
                ));
                lines.push(line(format!("{measured_on} KL × 10"), "#f28e2b", series(&|l| Some(l.snapshot.heldout.kl * 10.0))));
            }
            let highlight = shown.as_ref().and_then(|l| snapshots.iter().position(|x| x.snapshot.step == l.snapshot.step));
            let end = |l: Option<&std::sync::Arc<LiveSnapshot>>| l.map_or(String::new(), |l| format!("step {}", l.snapshot.step));
            Some(Chart { lines, highlight, ends: (end(snapshots.first()), end(snapshots.last())) })
        })
    });
    let scatter = Signal::derive(move || {
        let live = shown_snapshot()?;
        let labels = s.heldout.with(|h| h.as_ref().map(|h| h.labels.clone()))?;
        let snapshot = &live.snapshot;
        let latent = snapshot.latent.max(1);
        let (x_axis, y_axis) = axes.get();
        let (x_axis, y_axis) = (x_axis.min(latent - 1), y_axis.min(latent - 1));
        let points: Vec<f32> = snapshot.means.chunks_exact(latent).flat_map(|m| [m[x_axis], m[y_axis]]).collect();
        Some(Scatter { window: Space::z_fitting(&points), points, labels })
    });
    let strip = Signal::derive(move || {
        let live = shown_snapshot()?;
        s.heldout.with(|heldout| {
            let heldout = heldout.as_ref()?;
            let count = live.reconstructions.len() / IMAGE_PIXELS;
            let originals = &heldout.pixels[..(count * IMAGE_PIXELS).min(heldout.pixels.len())];
            (count > 0).then(|| Images::from_bytes(originals.iter().chain(&live.reconstructions), count))
        })
    });
    let grid = Signal::derive(move || shown_snapshot()?.grid.as_ref().map(|bytes| Images::from_bytes(bytes, 15)));
    // The Méndez figure: the same held-out images, then their reconstructions after each epoch.
    let by_epoch = Signal::derive(move || s.by_epoch_rows().map(|bytes| Images::from_bytes(&bytes, RECONSTRUCTED)));
    let epochs_in_words = move || {
        s.by_epoch.with(|rows| match (rows.first(), rows.last()) {
            (Some(first), Some(last)) if first.0 != last.0 => format!("epochs {} to {}", first.0, last.0),
            (Some(first), _) => format!("epoch {}", first.0),
            _ => String::new(),
        })
    };

    let snapshot_count = move || s.snapshots.with(Vec::len);
    let scrub_label = move || {
        shown_snapshot().map(|l| {
            let live = if scrub.0.get().is_none() { " (live)" } else { "" };
            format!(
                "Step {}{live}: {} reconstruction {:.1}, KL {:.2}; this picture took {:.0} ms.",
                l.snapshot.step,
                evaluated(s).label(),
                l.snapshot.heldout.reconstruction,
                l.snapshot.heldout.kl,
                l.snapshot.millis
            )
        })
    };
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
    let images_in_words = move || evaluated(s).images(evaluation_images(s));

    view! {
        <div class="controls" class:hidden=move || snapshot_count() < 2>
            <label>"Snapshots "
                <input type="range" data-testid="lab-scrub" min="0"
                    max=move || snapshot_count().saturating_sub(1).to_string()
                    prop:value=move || scrub.0.get().unwrap_or(snapshot_count().saturating_sub(1)).to_string()
                    on:input=move |ev| {
                        let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                        scrub.0.set((index + 1 < snapshot_count()).then_some(index));
                    } />
            </label>
            <button type="button" on:click=move |_| scrub.follow_newest()>"Live"</button>
            <span data-testid="lab-scrub-label">{scrub_label}</span>
        </div>
        <div class="lab-views">
            <div>
                <LatentMapPlot id="lab-map" scatter=scatter
                    label=Signal::derive(move || format!("μ of {}, coloured by class", images_in_words())) />
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
                <LossChart id="lab-losses" chart=chart
                    label=Signal::derive(move || format!("Training and {} losses", evaluated(s).label())) />
                <ImageStrip id="lab-reconstructions" images=strip width=280 height=56
                    label=Signal::derive(move || format!("Ten of {} (top) and their reconstructions (bottom)", images_in_words())) />
                <figure class="lab-by-epoch" class:hidden=move || s.by_epoch.with(Vec::is_empty)>
                    <figcaption>{move || format!("After each epoch ({}): the top row, ten held-out images; each row below, \
                        their reconstructions as the model stood at the end of that epoch.", epochs_in_words())}</figcaption>
                    <ImageStrip id="lab-by-epoch" images=by_epoch width=280 height=56
                        label=Signal::derive(move || format!("Ten held-out images (top row) and their reconstructions after {}, a row per epoch", epochs_in_words())) />
                </figure>
                <ImageStrip id="lab-grid" class="lab-grid" images=grid width=420 height=420
                    hidden=Signal::derive(move || latent() != 2)
                    label="The 15×15 grid decoded by the model in training".to_string() />
            </div>
        </div>
        <p class="caption" data-testid="lab-views-caption">
            {move || format!(
                "The map shows μ of {} (for more than two dimensions, the two axes chosen); the strip, ten of them over \
                 their reconstructions; the chart, the losses at each snapshot (training: a running mean of recent batches; \
                 {}: {}); the grid, the decoder at z = Φ⁻¹(linspace(0.05, 0.95, 15)). On the CPU backend the \
                 convolutional VAE trains at a few hundred images per second: an epoch takes about a minute.",
                images_in_words(),
                evaluated(s).label(),
                if loss_images() == evaluation_images(s) {
                    format!("all {} of them", loss_images())
                } else {
                    format!("the first {} of them", loss_images())
                },
            )}
        </p>
    }
}

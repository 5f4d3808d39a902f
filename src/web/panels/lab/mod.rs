//! The training lab's panel: the run's settings ([`form`]), Play / Pause / Step / Reset and
//! the model's files ([`controls`]), what the run is doing ([`status`]), and the live views
//! (loss curves, the held-out map, reconstructions, the grid) with a scrubber over the
//! snapshots kept ([`views`]).

mod controls;
mod form;
mod status;
mod views;

use std::sync::Arc;

use leptos::prelude::*;

use crate::lab::{Evaluated, LabSettings, HELDOUT_MAP_IMAGES};
use crate::web::lab_client::{use_lab, Lab, LabSignals, LiveSnapshot};

/// Which snapshot the views show: an index into the snapshots kept, or None for the newest.
/// Starting, playing, stepping and resetting go back to the newest.
#[derive(Clone, Copy)]
struct Scrub(RwSignal<Option<usize>>);

impl Scrub {
    fn follow_newest(self) {
        self.0.set(None);
    }

    /// The snapshot on show.
    fn shown(self, s: LabSignals) -> Option<Arc<LiveSnapshot>> {
        s.snapshots.with(|kept| {
            let index = self.0.get().unwrap_or(usize::MAX).min(kept.len().saturating_sub(1));
            kept.get(index).cloned()
        })
    }
}

/// What the run's evaluation figures are measured on: the run's own settings, or the form's
/// before a run.
fn evaluated(s: LabSignals) -> Evaluated {
    s.run_settings
        .with(|run| run.as_ref().map(LabSettings::evaluated))
        .unwrap_or_else(|| s.settings.with(LabSettings::evaluated))
}

/// How many images the evaluation maps.
fn evaluation_images(s: LabSignals) -> usize {
    s.heldout.with(|h| h.as_ref().map_or(HELDOUT_MAP_IMAGES, |h| h.labels.len()))
}

#[component]
pub fn LabPanel() -> impl IntoView {
    let lab = use_lab();
    let scrub = Scrub(RwSignal::new(None));
    let drop_files = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            crate::web::tasks::settle(lab.load_files(controls::file_list(&list)));
        }
    };
    view! {
        <section class="panel lab-panel" aria-labelledby="lab-title" data-testid="lab-panel"
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop_files>
            <h2 id="lab-title">"Training lab: train a VAE here, in your browser"</h2>
            <p class="caption">
                "Training runs in a background worker, with the same training step as the native trainer, \
                 on 10,000 shipped training images, on the page's backend; where the page timed WebGPU against the CPU, \
                 the lab times a training step on each and trains on the faster; the views below refresh about once a second while the page stays usable."
            </p>
            <p class="caption" data-testid="lab-sizes">
                "Latent sizes offered: 2-D (a map and a 15×15 grid you can read), 8-D (the size of the TF1 notebook behind this \
                 project) and 16-D (sharper reconstructions; the map then shows two axes you choose). Networks: the convolutional \
                 one of the shipped models, or the letters article's dense one (784 → 512 → z), quicker on the CPU."
            </p>
            {Lab::address_problems().into_iter().map(|p| view! { <p class="note" data-testid="lab-address-problem">{p}</p> }).collect_view()}
            <form::LabForm />
            <controls::LabControls scrub=scrub />
            <status::LabStatusLines />
            <views::LabViews scrub=scrub />
        </section>
    }
}

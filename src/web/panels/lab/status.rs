//! What the lab is doing, in words: downloading, training (step, epoch, speed, losses),
//! paused or stopped, on which backend and why, and the model last put on show.

use leptos::prelude::*;

use super::evaluated;
use crate::core::backend_kind::BackendKind;
use crate::lab::{Evaluated, LabState, LabStatus};
use crate::web::lab_client::use_lab;

#[component]
pub(super) fn LabStatusLines() -> impl IntoView {
    let s = use_lab().signals;
    let status_text = move || {
        if let Some(error) = s.error.get() {
            return format!("The lab stopped: {error}");
        }
        if let Some((what, received, total)) = s.loading.get() {
            return match total {
                Some(total) if total > 0 => format!(
                    "Downloading {what}: {:.0} of {:.0} KB",
                    received as f64 / 1024.0,
                    total as f64 / 1024.0
                ),
                _ if received == 0 => format!("Preparing {what}…"),
                _ => format!("Downloading {what}: {:.0} KB", received as f64 / 1024.0),
            };
        }
        match s.status.get() {
            None if s.open.get() => "Starting the training worker…".to_string(),
            None => "Press Play to train a model from scratch with the settings above, or Step to run one batch at a time.".to_string(),
            Some(st) => {
                let loss = st.loss.map_or(String::new(), |l| {
                    format!("; training loss {:.1} (reconstruction {:.1} + β·KL {:.2})", l.total, l.reconstruction, l.kl)
                });
                let heldout = st.heldout.map_or(String::new(), |l| format!("; {} {:.1}", evaluated(s).label(), l.total));
                let per_epoch = if st.images_per_second > 0.0 {
                    format!(", about {:.0} s per epoch here", st.train_images as f64 / st.images_per_second)
                } else {
                    String::new()
                };
                format!(
                    "{} on {}: step {}, epoch {:.2} of {} images; {:.0} images/s ({:.1} steps/s{per_epoch}){loss}{heldout}.",
                    match st.state {
                        LabState::Running => "Training",
                        LabState::Paused => "Paused",
                        LabState::Failed => "Stopped",
                    },
                    on_backend(&st),
                    st.step,
                    st.epoch,
                    st.train_images,
                    st.images_per_second,
                    st.steps_per_second
                )
            }
        }
    };
    let threads_line = move || {
        s.status.with(|st| {
            let st = st.as_ref().filter(|st| st.backend == BackendKind::Cpu)?;
            if st.cpu_threads > 1 {
                return Some(format!(
                    "The CPU engine trains on {} threads (one per core this browser reports, or the address's threads=N): each batch is split between them and their gradients summed.",
                    st.cpu_threads
                ));
            }
            let why = s.single_thread_reason.get().unwrap_or_else(|| "its threads could not start".to_string());
            Some(format!("The CPU engine trains on one thread: {why}."))
        })
    };
    let message = move || s.status.with(|st| st.as_ref().and_then(|st| st.message.clone()));
    let backend_reason = move || {
        s.status.with(|st| {
            let st = st.as_ref()?;
            st.backend_reason.as_ref().map(|why| format!("The lab trains on {}: {why}.", st.backend.in_words()))
        })
    };
    let progress = move || {
        s.loading.get().and_then(|(_, received, total)| {
            total.map(|total| view! { <progress max=total.to_string() value=received.to_string()></progress> })
        })
    };
    let used_line = move || {
        s.used.get().map(|(m, shipped)| {
            let compare = shipped.map_or(String::new(), |(name, elbo)| {
                format!(" The shipped {name}, trained natively for longer, scores {elbo:.1} on all 10,000 test images.")
            });
            let figure = Evaluated::of_data(&m.dataset).figure("−ELBO", m.test_metrics.neg_elbo, m.training.test_images);
            format!("On show in every view above: {} ({figure}, computed here).{compare}", m.name)
        })
    };

    let checkpoint_line = move || {
        s.checkpoint.get().map(|(step, _)| {
            format!("Kept in this browser at step {step}: a reload, a closed tab or a crashed worker goes on from there.")
        })
    };
    let lab = StoredValue::new_local(use_lab());
    let restart = move |_| {
        let _ = lab.get_value().restart();
    };

    view! {
            <div class="status" role="status" data-testid="lab-status">
            <span>{status_text}</span>
            {progress}
        </div>
        {move || backend_reason().map(|m| view! { <p class="caption" data-testid="lab-backend">{m}</p> })}
        {move || threads_line().map(|m| view! { <p class="caption" data-testid="lab-threads">{m}</p> })}
        {move || s.crashed.get().map(|_| view! {
            <p><button type="button" data-testid="lab-restart" on:click=restart>"Restart the training worker"</button></p>
        })}
        {move || message().map(|m| view! { <p class="note warning" data-testid="lab-message">{m}</p> })}
        {move || checkpoint_line().map(|m| view! { <p class="caption" data-testid="lab-checkpoint">{m}</p> })}
        {move || used_line().map(|m| view! { <p class="note" data-testid="lab-used">{m}</p> })}
    }
}

/// "the CPU (2 threads)" or "WebGPU".
fn on_backend(status: &LabStatus) -> String {
    match status.backend {
        BackendKind::Cpu if status.cpu_threads > 1 => format!("the CPU ({} threads)", status.cpu_threads),
        backend => backend.in_words().to_string(),
    }
}

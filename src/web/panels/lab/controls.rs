//! The lab's buttons: Play / Pause, Step, Reset, Use, Close, and the model's files
//! (download, and upload by picking or dropping).

use leptos::prelude::*;

use super::Scrub;
use crate::lab::lessons::{queued_label, LessonRun};
use crate::lab::LabState;
use crate::web::lab_client::queue::QueuedState;
use crate::web::lab_client::use_lab;
use crate::web::tasks::settle;

pub(super) fn file_list(list: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

#[component]
pub(super) fn LabControls(scrub: Scrub) -> impl IntoView {
    let lab = use_lab();
    let s = lab.signals;
    let running = move || s.status.with(|st| st.as_ref().is_some_and(|st| st.state == LabState::Running));
    let start = {
        let lab = lab.clone();
        move |play: bool| {
            scrub.follow_newest();
            settle(lab.start(s.settings.get_untracked(), play));
        }
    };
    let play_pause = {
        let lab = lab.clone();
        let start = start.clone();
        move |_| {
            if running() {
                settle(lab.pause());
            } else if s.status.with_untracked(|st| st.as_ref().is_some_and(|st| st.state != LabState::Failed))
                && lab.runs_form_settings()
            {
                scrub.follow_newest();
                settle(lab.play());
            } else {
                start(true);
            }
        }
    };
    let step_once = {
        let lab = lab.clone();
        let start = start.clone();
        move |_| {
            if s.status.with_untracked(Option::is_some) && lab.runs_form_settings() {
                scrub.follow_newest();
                settle(lab.step(1));
            } else {
                start(false);
            }
        }
    };
    let reset = {
        let lab = lab.clone();
        move |_| {
            scrub.follow_newest();
            settle(lab.reset());
        }
    };
    let use_model = {
        let lab = lab.clone();
        move |_| {
            settle(lab.use_model());
        }
    };
    let download = {
        let lab = lab.clone();
        move |_| lab.download()
    };
    let upload = {
        let lab = lab.clone();
        move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(list) = input.files() {
                settle(lab.load_files(file_list(&list)));
            }
            input.set_value("");
        }
    };
    let close = {
        let lab = lab.clone();
        move |_| lab.close()
    };
    // Runs queued from the form train one after the other (the queue is shown with the lessons).
    let queued_steps = RwSignal::new(300u64);
    let queue = {
        let lab = lab.clone();
        move |_| {
            let settings = s.settings.get_untracked();
            let label = queued_label(&settings);
            settle(lab.add_to_queue(LessonRun { label, settings, steps: queued_steps.get_untracked() }));
        }
    };
    let waiting = move || {
        s.queue.runs.with(|r| r.iter().filter(|q| matches!(q.state, QueuedState::Waiting | QueuedState::Training { .. })).count())
    };
    view! {
            <div class="controls">
            <button type="button" data-testid="lab-play" on:click=play_pause>
                {move || if running() { "Pause" } else { "Play" }}
            </button>
            <button type="button" data-testid="lab-step" on:click=step_once>"Step"</button>
            <button type="button" data-testid="lab-reset" on:click=reset disabled=move || s.status.with(Option::is_none)>"Reset"</button>
            <button type="button" data-testid="lab-use" on:click=use_model disabled=move || s.status.with(Option::is_none)>"Use this model"</button>
            <button type="button" data-testid="lab-close" on:click=close disabled=move || !s.open.get()>"Close the lab"</button>
        </div>
        <div class="controls">
            <button type="button" data-testid="lab-queue" on:click=queue>"Queue these settings"</button>
            <label>" for "
                <input type="number" min="1" max="100000" data-testid="lab-queue-steps" prop:value=move || queued_steps.get().to_string()
                    on:change=move |ev| queued_steps.set(event_target_value(&ev).parse::<u64>().unwrap_or(300).clamp(1, 100_000)) />
                " batches"
            </label>
            <span class="note" data-testid="lab-queue-note">
                {move || match waiting() {
                    0 => "Queued runs train one after the other and land side by side in “Your models”; the queue is shown under “Lessons side by side”.".to_string(),
                    n => format!("{n} queued run(s) left: see “Lessons side by side” above to pause or cancel them."),
                }}
            </span>
        </div>
        <div class="controls">
            <button type="button" data-testid="lab-download" on:click=download disabled=move || s.status.with(Option::is_none)>
                "Download the model"
            </button>
            <label>"Load a downloaded model (pick its .json and .bpk together, or drop them here): "
                <input type="file" multiple accept=".json,.bpk" data-testid="lab-upload" on:change=upload />
            </label>
        </div>
        {move || s.files.get().map(|r| match r {
            Ok(m) => view! { <p class="note" data-testid="lab-files">{m}</p> }.into_any(),
            Err(m) => view! { <p class="error" data-testid="lab-files">{m}</p> }.into_any(),
        })}
    }
}

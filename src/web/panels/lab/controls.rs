//! The lab's buttons: Play / Pause, Step, Reset, Use, Close, and the model's files
//! (download, and upload by picking or dropping).

use leptos::prelude::*;

use super::Scrub;
use crate::lab::LabState;
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

//! Lessons as presets: one click queues the lab runs of a comparison the articles teach
//! by, says what to look for, and trains them one after the other; each lands side by
//! side (in "your models") as it finishes. The queue's runs can be cancelled, and the
//! queue paused.

use leptos::prelude::*;

use crate::lab::lessons::{Lesson, Length, LESSONS};
use crate::web::lab_client::queue::{QueuedRun, QueuedState};
use crate::web::address::{query_param, record_lesson};
use crate::web::lab_client::use_lab;
use crate::web::tasks::settle;

fn state_in_words(queued: &QueuedRun) -> String {
    match &queued.state {
        QueuedState::Waiting => format!("waiting ({} batches)", queued.run.steps),
        QueuedState::Training { step } => format!("training: batch {step} of {}", queued.run.steps),
        QueuedState::Kept { name } => format!("kept as {name}, ticked for the comparison below"),
        QueuedState::Failed(why) => format!("failed: {why}"),
        QueuedState::Cancelled => "cancelled".to_string(),
    }
}

#[component]
pub fn LessonsPanel() -> impl IntoView {
    let lab = use_lab();
    let queue = lab.signals.queue;
    // A lesson named in the address is set up, not started: training is the person's choice.
    let from_address = query_param("lesson");
    let unknown = from_address.clone().filter(|id| Lesson::find(id).is_none()).map(|id| {
        let ids: Vec<&str> = LESSONS.iter().map(|l| l.id).collect();
        format!("The address asks for lesson “{id}”, which is not one of these ({}).", ids.join(", "))
    });
    let chosen = RwSignal::new(from_address.as_deref().and_then(Lesson::find));
    let length = RwSignal::new(if query_param("lesson-length").as_deref() == Some("longer") { Length::Longer } else { Length::Short });
    let start = {
        let lab = lab.clone();
        move |lesson: Lesson| {
            chosen.set(Some(lesson));
            let length = length.get_untracked();
            record_lesson(Some(lesson.id), length == Length::Longer);
            settle(lab.queue_runs(lesson.runs(length)));
        }
    };
    let buttons = LESSONS
        .into_iter()
        .map(|lesson| {
            let start = start.clone();
            view! {
                <button type="button" data-testid=format!("lesson-{}", lesson.id)
                    aria-pressed=move || (chosen.get() == Some(lesson)).to_string() on:click=move |_| start(lesson)>
                    {lesson.title}
                </button>
            }
        })
        .collect_view();
    let toggle = {
        let lab = lab.clone();
        move |_| {
            if queue.playing.get_untracked() {
                lab.pause_queue();
            } else {
                settle(lab.play_queue());
            }
        }
    };
    let anything_left = move || queue.runs.with(|r| r.iter().any(|q| matches!(q.state, QueuedState::Waiting | QueuedState::Training { .. })));
    let run_item = move |queued: QueuedRun| {
        let id = queued.id;
        let live = Memo::new(move |_| queue.runs.with(|r| r.iter().find(|q| q.id == id).cloned()));
        let progress = move || {
            live.get().and_then(|q| match q.state {
                QueuedState::Training { step } => {
                    Some(view! { <progress max=q.run.steps.to_string() value=step.to_string()></progress> })
                }
                _ => None,
            })
        };
        let left = move || live.with(|q| q.as_ref().is_some_and(|q| matches!(q.state, QueuedState::Waiting | QueuedState::Training { .. })));
        view! {
            <li data-testid="queue-run" data-state=move || live.with(|q| q.as_ref().map_or("", |q| match q.state {
                QueuedState::Waiting => "waiting",
                QueuedState::Training { .. } => "training",
                QueuedState::Kept { .. } => "kept",
                QueuedState::Failed(_) => "failed",
                QueuedState::Cancelled => "cancelled",
            }))>
                <strong>{queued.run.label.clone()}</strong>
                " — "
                <span>{move || live.get().map(|q| state_in_words(&q)).unwrap_or_default()}</span>
                {progress}
                <button type="button" data-testid="queue-cancel" class:hidden=move || !left() on:click={
                    let lab = use_lab();
                    move |_| lab.cancel_queued(id)
                }>"Cancel"</button>
            </li>
        }
    };
    view! {
        <section class="panel lessons-panel" aria-labelledby="lessons-title" data-testid="lessons-panel">
            <h2 id="lessons-title">"Lessons side by side"</h2>
            <p class="caption">
                "Each lesson sets up lab runs that differ in one setting (the dense 2-D VAE on MNIST otherwise), trains \
                 them one after the other in the lab's worker, keeps each in your models and ticks it for the comparison \
                 below. Short runs train a couple of epochs (seconds to a minute each on a CPU); longer ones five times as long."
            </p>
            <label>
                "Length "
                <select data-testid="lesson-length" on:change=move |ev| {
                    length.set(Length::parse(&event_target_value(&ev)).unwrap_or(Length::Short));
                }>
                    <option value="short" selected=move || length.get() == Length::Short>"short runs"</option>
                    <option value="longer" selected=move || length.get() == Length::Longer>"longer runs (five times as long)"</option>
                </select>
            </label>
            <div class="lesson-buttons">{buttons}</div>
            {unknown.map(|why| view! { <p class="note warning" data-testid="lesson-problem">{why}</p> })}
            {move || chosen.get().map(|lesson| view! {
                <p class="note" data-testid="lesson-look-for"><strong>{lesson.title}": "</strong>{lesson.look_for}</p>
            })}
            <button type="button" data-testid="lesson-train"
                class:hidden=move || chosen.with(Option::is_none) || queue.runs.with(|r| !r.is_empty())
                on:click=move |_| if let Some(lesson) = chosen.get_untracked() { start(lesson) }>
                {move || format!("Train these runs ({})", chosen.get().map_or("", |l| l.title))}
            </button>
            <ol class="queue" data-testid="queue" class:hidden=move || queue.runs.with(Vec::is_empty)>
                <For each=move || queue.runs.get() key=|q| q.id children=run_item />
            </ol>
            <button type="button" data-testid="queue-toggle" class:hidden=move || !anything_left() on:click=toggle>
                {move || if queue.playing.get() { "Pause the queue" } else { "Go on with the queue" }}
            </button>
        </section>
    }
}

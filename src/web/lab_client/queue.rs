//! The lab's queue: runs set up in advance (a lesson's, say) train one after the other in
//! the lab's worker; each finished run is kept in the browser, named after its label, and
//! ticked for the side-by-side view as it lands.

use js_sys::Promise;
use leptos::prelude::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::Lab;
use crate::lab::lessons::LessonRun;
use crate::web::kept;
use crate::web::panels::side_by_side::MAX_COMPARED;

/// Batches per call to the worker: the queue looks for a pause or a cancel between them.
const CHUNK: u64 = 50;

#[derive(Clone, Debug, PartialEq)]
pub enum QueuedState {
    Waiting,
    Training { step: u64 },
    Kept { name: String },
    Failed(String),
    Cancelled,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueuedRun {
    pub id: u64,
    pub run: LessonRun,
    pub state: QueuedState,
}

impl QueuedRun {
    fn is_left(&self) -> bool {
        matches!(self.state, QueuedState::Waiting | QueuedState::Training { .. })
    }
}

/// The queue as the lessons panel shows it.
#[derive(Clone, Copy)]
pub struct QueueSignals {
    pub runs: RwSignal<Vec<QueuedRun>>,
    /// Whether the queue is working through its runs (false: paused, or nothing left).
    pub playing: RwSignal<bool>,
}

impl QueueSignals {
    pub fn new() -> Self {
        Self { runs: RwSignal::new(Vec::new()), playing: RwSignal::new(false) }
    }
}

fn message_of(error: JsValue) -> String {
    js_sys::Error::from(error).message().into()
}

impl Lab {
    /// Replaces the queue with `runs` (the runs left of the last queue are dropped), clears
    /// the side-by-side choice for them, and plays it. The promise resolves with the names
    /// the runs are kept under once none is left (a failed or cancelled run has none).
    pub fn queue_runs(&self, runs: Vec<LessonRun>) -> Promise {
        let queue = self.signals.queue;
        let training = queue.runs.with_untracked(|r| r.iter().any(|q| matches!(q.state, QueuedState::Training { .. })));
        if queue.playing.get_untracked() && training {
            // The run in training is dropped with the rest: it stops at once.
            crate::web::tasks::settle(self.pause());
        }
        let first = queue.runs.with_untracked(|r| r.iter().map(|q| q.id).max().map_or(1, |id| id + 1));
        queue.runs.set(runs.into_iter().enumerate().map(|(i, run)| QueuedRun { id: first + i as u64, run, state: QueuedState::Waiting }).collect());
        self.inner.session.page().compared.set(Vec::new());
        self.play_queue()
    }

    /// Adds a run to the end of the queue (keeping what is there) and plays the queue.
    pub fn add_to_queue(&self, run: LessonRun) -> Promise {
        if let Err(why) = run.settings.validate() {
            return Promise::reject(&js_sys::Error::new(&why));
        }
        self.signals.queue.runs.update(|runs| {
            let id = runs.iter().map(|q| q.id).max().map_or(1, |id| id + 1);
            runs.push(QueuedRun { id, run, state: QueuedState::Waiting });
        });
        self.play_queue()
    }

    /// Works through the runs left; resolves as [`Self::queue_runs`] does (when the queue
    /// is playing already, with the promise of the loop that plays it).
    pub fn play_queue(&self) -> Promise {
        let lab = self.clone();
        let queue = self.signals.queue;
        if queue.playing.get_untracked() {
            if let Some(playing) = self.inner.queue_loop.borrow().clone() {
                return playing;
            }
        }
        queue.playing.set(true);
        let playing = future_to_promise(async move {
            while queue.playing.get_untracked() {
                let Some(next) = queue.runs.with_untracked(|r| r.iter().find(|q| q.is_left()).cloned()) else { break };
                match lab.train_queued(&next).await {
                    Ok(Some(name)) => {
                        lab.set_queued(next.id, QueuedState::Kept { name: name.clone() });
                        lab.inner.session.page().compared.update(|c| {
                            if c.len() < MAX_COMPARED && !c.contains(&name) {
                                c.push(name);
                            }
                        });
                    }
                    Ok(None) => {}
                    Err(why) => lab.set_queued(next.id, QueuedState::Failed(why)),
                }
            }
            queue.playing.set(false);
            let kept: js_sys::Array = queue.runs.with_untracked(|r| {
                r.iter()
                    .filter_map(|q| match &q.state {
                        QueuedState::Kept { name } => Some(JsValue::from(name.as_str())),
                        _ => None,
                    })
                    .collect()
            });
            Ok(kept.into())
        });
        *self.inner.queue_loop.borrow_mut() = Some(playing.clone());
        playing
    }

    /// Pauses the queue and the lab's run; the run keeps its place and goes on from there
    /// when the queue plays again.
    pub fn pause_queue(&self) {
        self.signals.queue.playing.set(false);
        if self.signals.run_settings.with_untracked(Option::is_some) {
            crate::web::tasks::settle(self.pause());
        }
    }

    /// Takes run `id` out of the queue; a run in training stops at once and is not kept,
    /// and the queue goes on with the next.
    pub fn cancel_queued(&self, id: u64) {
        let Some(state) = self.queued_state(id) else { return };
        match state {
            QueuedState::Waiting => self.set_queued(id, QueuedState::Cancelled),
            QueuedState::Training { .. } => {
                self.set_queued(id, QueuedState::Cancelled);
                crate::web::tasks::settle(self.pause());
            }
            _ => {}
        }
    }

    fn set_queued(&self, id: u64, state: QueuedState) {
        self.signals.queue.runs.update(|runs| {
            if let Some(queued) = runs.iter_mut().find(|q| q.id == id) {
                queued.state = state;
            }
        });
    }

    fn queued_state(&self, id: u64) -> Option<QueuedState> {
        self.signals.queue.runs.with_untracked(|r| r.iter().find(|q| q.id == id).map(|q| q.state.clone()))
    }

    /// Trains `queued` to its number of batches and keeps it: its kept name, or `None` when
    /// the queue was paused or the run cancelled on the way.
    async fn train_queued(&self, queued: &QueuedRun) -> Result<Option<String>, String> {
        let run = &queued.run;
        let status_step = || self.signals.status.with_untracked(|s| s.as_ref().map_or(0, |s| s.step));
        let goes_on = matches!(queued.state, QueuedState::Training { step } if step == status_step())
            && self.signals.run_settings.with_untracked(|s| s.as_ref() == Some(&run.settings));
        if !goes_on {
            JsFuture::from(self.start(run.settings.clone(), false)).await.map_err(message_of)?;
            self.set_queued(queued.id, QueuedState::Training { step: 0 });
        }
        // Cancelled, or dropped by a new lesson's queue.
        let taken_out = || !self.queued_state(queued.id).is_some_and(|state| matches!(state, QueuedState::Training { .. }));
        loop {
            let done = status_step();
            if done >= run.steps {
                break;
            }
            if taken_out() || !self.signals.queue.playing.get_untracked() {
                return Ok(None);
            }
            let target = done + CHUNK.min(run.steps - done);
            let message_before = self.signals.status.with_untracked(|s| s.as_ref().and_then(|s| s.message.clone()));
            let playing = self.signals.queue.playing;
            JsFuture::from(self.step_unless(target - done, move || !playing.get_untracked())).await.map_err(message_of)?;
            if taken_out() {
                return Ok(None);
            }
            // Short of its target, the run was paused: by a NaN (with a new message), or by
            // a pause (the queue's, or the lab's own Pause, which pauses the queue too).
            let stopped = self.signals.status.with_untracked(|s| s.as_ref().filter(|s| s.step < target).map(|s| s.message.clone()));
            match stopped {
                Some(Some(why)) if Some(&why) != message_before.as_ref() => return Err(why),
                Some(_) => self.signals.queue.playing.set(false),
                None => {}
            }
            self.set_queued(queued.id, QueuedState::Training { step: status_step() });
        }
        let name = self.keep_current("trained in a lesson").await?.name;
        // Named after its label in the list and the comparison.
        if kept::rename(&name, &run.label).await.is_ok() {
            self.inner.session.refresh_kept().await;
        }
        Ok(Some(name))
    }
}

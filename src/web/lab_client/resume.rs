//! What survives a reload, a closed tab or a crashed worker. The worker sends a checkpoint
//! every few seconds while a run trains and when it pauses; the page keeps the newest in
//! memory and in IndexedDB under this tab's id. Each tab holds a Web Lock named after its
//! id for as long as it is open, so a kept run whose lock nobody holds belongs to a tab
//! that is gone (reloaded, closed or crashed): the next tab to open resumes it, paused.
//! When the worker crashes or stops answering, the lab says so and offers to restart it
//! from the last checkpoint.

use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Interval;
use js_sys::{Array, Function, Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use leptos::prelude::{window, GetUntracked, Set, WithUntracked};

use super::Lab;
use crate::browser::clock::now_millis;
use crate::core::letters::LetterSet;
use crate::lab::{Checkpoint, LabSettings, LabState};
use crate::web::kept;

const TAB_LOCK_PREFIX: &str = "latentlab-tab-";
/// Local storage, `PREFIX + tab` → when that tab's lab was closed (ms since the epoch).
/// Noted at once, since the page can be reloaded before IndexedDB has deleted the run (or
/// after a checkpoint begun before the close has landed): a run of that tab kept before
/// then is forgotten, not resumed.
const CLOSED_PREFIX: &str = "latentlab-lab-closed-";
/// A worker that says nothing for this long while the page waits on it has stopped.
const SILENCE_MILLIS: f64 = 45_000.0;

/// A run at its last checkpoint: what a new worker needs to go on from it.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedRun {
    settings: LabSettings,
    letters: Option<LetterSet>,
    checkpoint: Checkpoint,
}

pub(super) fn new_tab_id() -> String {
    format!("{:x}-{:x}", js_sys::Date::now() as u64, (js_sys::Math::random() * 2f64.powi(48)) as u64)
}

/// `navigator.locks`, where the browser has Web Locks.
fn locks() -> Option<JsValue> {
    Reflect::get(&window().navigator(), &"locks".into()).ok().filter(|l| !l.is_undefined())
}

/// The names of the Web Locks held now, by any tab of this site.
async fn held_locks() -> Vec<String> {
    let Some(locks) = locks() else { return Vec::new() };
    let Ok(query) = Reflect::get(&locks, &"query".into()).and_then(|f| f.dyn_into::<Function>()) else { return Vec::new() };
    let Some(snapshot) = query.call0(&locks).ok().and_then(|p| p.dyn_into::<Promise>().ok()) else { return Vec::new() };
    let Ok(snapshot) = JsFuture::from(snapshot).await else { return Vec::new() };
    let held = Reflect::get(&snapshot, &"held".into()).ok().and_then(|h| h.dyn_into::<Array>().ok());
    held.map_or_else(Vec::new, |held| {
        held.iter().filter_map(|lock| Reflect::get(&lock, &"name".into()).ok()?.as_string()).collect()
    })
}

/// Whether `run` was kept before its tab's lab was closed.
fn closed_before(run: &kept::KeptRun) -> bool {
    let key = format!("{CLOSED_PREFIX}{}", run.tab);
    let closed_at = LocalStorage::raw().get_item(&key).ok().flatten().and_then(|at| at.parse::<f64>().ok());
    closed_at.is_some_and(|at| run.saved_at <= at)
}

/// Forgets the run of a tab whose lab was closed, then the note of its close.
async fn forget_closed_run(tab: String) {
    if kept::forget_run(&tab).await.is_ok() {
        let _ = LocalStorage::raw().remove_item(&format!("{CLOSED_PREFIX}{tab}"));
    }
}

impl Lab {
    /// Holds this tab's lock while the tab lives, resumes a run a gone tab left, and
    /// watches the worker for silence.
    pub fn keep_runs(&self) {
        if let Some(locks) = locks() {
            if let Ok(request) = Reflect::get(&locks, &"request".into()).and_then(|f| f.dyn_into::<Function>()) {
                let forever = Closure::once_into_js(|| -> JsValue { Promise::new(&mut |_, _| {}).into() });
                let _ = request.call2(&locks, &format!("{TAB_LOCK_PREFIX}{}", self.inner.tab_id).into(), &forever);
            }
        }
        let lab = self.clone();
        wasm_bindgen_futures::spawn_local(async move { lab.resume_left_run().await });
        let lab = self.clone();
        Interval::new(5_000, move || lab.check_silence()).forget();
    }

    async fn resume_left_run(&self) {
        let Ok(runs) = kept::runs().await else { return };
        let held = held_locks().await;
        let (closed, open): (Vec<_>, Vec<_>) = runs
            .into_iter()
            .filter(|run| run.tab != self.inner.tab_id && !held.contains(&format!("{TAB_LOCK_PREFIX}{}", run.tab)))
            .partition(closed_before);
        for run in closed {
            wasm_bindgen_futures::spawn_local(forget_closed_run(run.tab));
        }
        let left = open.into_iter().max_by(|a, b| a.saved_at.total_cmp(&b.saved_at));
        let Some(left) = left else { return };
        let Ok(mut saved) = serde_json::from_str::<SavedRun>(&left.json) else { return };
        // A run already set up here (by the address or a quick visitor) is not replaced.
        if self.signals.run_settings.with_untracked(Option::is_some) || self.inner.worker.borrow().is_some() {
            return;
        }
        saved.checkpoint.weights = left.weights;
        // Adopted: kept under this tab from now on, so that it is never kept twice.
        if kept::keep_run(&self.inner.tab_id, &left.json, &saved.checkpoint.weights).await.is_ok() {
            let _ = kept::forget_run(&left.tab).await;
        }
        *self.inner.saved.borrow_mut() = Some(saved.clone());
        let _ = self.resume(saved);
    }

    /// Sets up the run again in a new worker, paused at the checkpoint's step.
    fn resume(&self, saved: SavedRun) -> Promise {
        let SavedRun { settings, letters, checkpoint } = saved;
        self.start_now(settings, false, letters, Some(checkpoint))
    }

    /// Keeps the worker's newest checkpoint of the current run.
    pub(super) fn keep_checkpoint(&self, checkpoint: Checkpoint) {
        let Some(settings) = self.signals.run_settings.get_untracked() else { return };
        let saved = SavedRun { settings, letters: self.inner.run_letters.borrow().clone(), checkpoint };
        let step = saved.checkpoint.step;
        let json = serde_json::to_string(&saved).unwrap_or_default();
        let weights = saved.checkpoint.weights.clone();
        *self.inner.saved.borrow_mut() = Some(saved);
        let lab = self.clone();
        let tab = self.inner.tab_id.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // Kept in memory either way: a restart after a crash can still use it.
            match kept::keep_run(&tab, &json, &weights).await {
                Ok(()) => lab.signals.checkpoint.set(Some((step, js_sys::Date::now()))),
                Err(why) => lab.signals.files.set(Some(Err(format!("The run's checkpoint could not be kept in this browser: {why}")))),
            }
        });
    }

    /// The person closed the lab: nothing to go on from.
    pub(super) fn forget_saved_run(&self) {
        self.inner.saved.borrow_mut().take();
        self.signals.checkpoint.set(None);
        let tab = self.inner.tab_id.clone();
        let _ = LocalStorage::raw().set_item(&format!("{CLOSED_PREFIX}{tab}"), &js_sys::Date::now().to_string());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = kept::forget_run(&tab).await;
        });
    }

    /// The worker crashed (out of memory, an internal error) or stopped answering: it is
    /// ended, and the lab says so and offers [`Lab::restart`].
    pub(super) fn crashed(&self, why: String) {
        if let Some((worker, _)) = self.inner.worker.borrow_mut().take() {
            worker.terminate();
        }
        self.inner.alive.set(false);
        self.inner.outbox.borrow_mut().clear();
        let step = self.inner.saved.borrow().as_ref().map(|saved| saved.checkpoint.step);
        let restart = step.map_or_else(|| "Restart it to start again".to_string(), |step| format!("Restart it to go on from step {step}, its last checkpoint"));
        self.fail(format!("{why}. {restart}."));
        self.signals.crashed.set(Some(why));
    }

    /// After a crash: a new worker, from the last checkpoint (or the run's start).
    pub fn restart(&self) -> Promise {
        let saved = self.inner.saved.borrow().clone();
        match saved {
            Some(saved) => self.resume(saved),
            None => self.start(self.signals.settings.get_untracked(), false),
        }
    }

    fn check_silence(&self) {
        let waiting = !self.inner.waiting.borrow().is_empty() || !self.inner.exports.borrow().is_empty();
        let running = self.signals.status.with_untracked(|s| s.as_ref().is_some_and(|s| s.state == LabState::Running));
        let silent = now_millis() - self.inner.last_heard.get() > SILENCE_MILLIS;
        if self.inner.worker.borrow().is_some() && (waiting || running) && silent {
            self.crashed(format!("the training worker stopped answering ({:.0} s without a word)", SILENCE_MILLIS / 1000.0));
        }
    }
}

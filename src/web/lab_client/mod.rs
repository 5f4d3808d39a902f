//! The page's side of the training lab: starts the worker (its wasm loads only when the
//! lab opens), sends it [`ToWorker`] messages, turns its [`FromWorker`] messages into
//! signals for the lab's views, and settles the JS API's promises. What survives a reload
//! or a crashed worker is in [`resume`].

pub mod queue;
mod resume;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use gloo_events::EventListener;
use gloo_storage::Storage;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{MessageEvent, Worker};

use crate::core::artifacts::LatentMap;
use crate::core::backend_kind::{BackendKind, BackendRequest};
use crate::core::data::IMAGE_PIXELS;
use crate::core::letters::LetterSet;
use crate::core::preprocess::{PAD_BRUSH, PAD_SIDE};
use crate::core::weights::Manifest;
use crate::lab::{Checkpoint, FromWorker, LabSettings, LabState, LabStatus, Snapshot, ToWorker, MAX_STEPS_PER_CALL, RECONSTRUCTED};
use crate::web::canvas::save_bytes;
use crate::web::kept;
use crate::web::session::Session;

/// The Web Lock held by the tab whose lab is training.
const TRAINING_LOCK: &str = "latentlab-training";
/// Where the training tab says which tab it is, for the others.
const TRAINING_TAB_KEY: &str = "latentlab-training-tab";
/// Snapshots kept for scrubbing back; when full, every other older one is dropped.
const KEPT_SNAPSHOTS: usize = 120;
/// Epochs the reconstructions-by-epoch figure shows (the first ones).
pub const EPOCH_ROWS: usize = 40;

/// A snapshot with its pictures.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    pub snapshot: Snapshot,
    /// Reconstructions of the first held-out images, 28×28 bytes each.
    pub reconstructions: Vec<u8>,
    /// The 15×15 grid (2-D models).
    pub grid: Option<Vec<u8>>,
}

/// The run's held-out images: the first test images of the chosen classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Heldout {
    pub labels: Vec<u8>,
    pub class_names: Vec<String>,
    pub pixels: Vec<u8>,
}

/// Signals the lab's views read.
#[derive(Clone, Copy)]
pub struct LabSignals {
    pub open: RwSignal<bool>,
    pub settings: RwSignal<LabSettings>,
    pub status: RwSignal<Option<LabStatus>>,
    pub loading: RwSignal<Option<(String, u64, Option<u64>)>>,
    pub heldout: RwSignal<Option<Arc<Heldout>>>,
    pub snapshots: RwSignal<Vec<Arc<LiveSnapshot>>>,
    pub error: RwSignal<Option<String>>,
    /// The model from the lab on show, and the shipped model of its dataset, kind and
    /// latent size with its test −ELBO, for comparison.
    pub used: RwSignal<Option<(Manifest, Option<(String, f64)>)>>,
    /// What became of the last download or upload, in words.
    pub files: RwSignal<Option<Result<String, String>>>,
    /// The letters workshop's set (kept in the browser's storage between visits).
    pub letters: RwSignal<LetterSet>,
    /// A problem reading the letters kept in the browser's storage, in words.
    pub letters_problem: RwSignal<Option<String>>,
    /// The settings of the run the worker has (β aside, which changes live).
    pub run_settings: RwSignal<Option<LabSettings>>,
    /// The step of the run's last checkpoint kept in this browser, and when it was kept.
    pub checkpoint: RwSignal<Option<(u64, f64)>>,
    /// Why the worker stopped, when it crashed or stopped answering: the lab offers to
    /// restart it (from the last checkpoint, if there is one).
    pub crashed: RwSignal<Option<String>>,
    /// Reconstructions of the held-out images the strip shows, after each epoch: (epoch,
    /// 28×28 bytes per image), one entry per epoch from the first, at most [`EPOCH_ROWS`].
    pub by_epoch: RwSignal<Vec<(u64, Vec<u8>)>>,
    /// Why the lab's CPU engine computes on one thread (none where it has several).
    pub single_thread_reason: RwSignal<Option<String>>,
    /// Runs set up to train one after the other (a lesson's).
    pub queue: queue::QueueSignals,
}

impl LabSignals {
    /// The reconstructions-by-epoch figure as bytes: the held-out images, then a row per
    /// epoch (none before an epoch has ended).
    pub fn by_epoch_rows(&self) -> Option<Vec<u8>> {
        let rows = self.by_epoch.get();
        let length = rows.first()?.1.len();
        let originals = self.heldout.with(|h| h.as_ref().and_then(|h| h.pixels.get(..length).map(<[u8]>::to_vec)))?;
        Some(originals.into_iter().chain(rows.into_iter().flat_map(|(_, row)| row)).collect())
    }
}

type Condition = Box<dyn Fn(&LabStatus) -> bool>;
type Exported = (Manifest, Vec<u8>, Vec<f32>);

/// Gives the lab to the page's views as context (in local storage: see
/// [`crate::web::session::provide_session`]).
pub fn provide_lab(lab: Lab) {
    provide_context(StoredValue::new_local(lab));
}

/// The lab, for a view.
pub fn use_lab() -> Lab {
    expect_context::<StoredValue<Lab, LocalStorage>>().get_value()
}

#[derive(Clone)]
pub struct Lab {
    inner: Rc<Inner>,
    pub signals: LabSignals,
}

struct Inner {
    session: Session,
    /// The worker and its listeners (removed when they drop, with the worker).
    worker: RefCell<Option<(Worker, [EventListener; 2])>>,
    alive: Cell<bool>,
    /// Messages waiting for the worker to start listening.
    outbox: RefCell<Vec<ToWorker>>,
    /// Promises that settle on a status: condition, resolve, reject.
    waiting: RefCell<Vec<(Condition, Function, Function)>>,
    exports: RefCell<HashMap<u64, Box<dyn FnOnce(Result<Exported, String>)>>>,
    next_request: Cell<u64>,
    /// The letters as this tab last read or wrote them in the browser's storage: what
    /// another tab's edits are joined against.
    letters_base: RefCell<LetterSet>,
    /// Releases the training lock, while this tab holds it.
    training_lock: RefCell<Option<Function>>,
    /// This tab's request for the lock while it is pending: overlapping calls share it.
    pending_claim: RefCell<Option<Promise>>,
    /// This tab's name for its kept run (see [`resume`]).
    tab_id: String,
    /// The letters the current run trains on, if it is a letters run.
    run_letters: RefCell<Option<LetterSet>>,
    /// The current run at its last checkpoint, weights included.
    saved: RefCell<Option<resume::SavedRun>>,
    /// When the worker last sent a message (ms, the page's clock).
    last_heard: Cell<f64>,
    /// Runs out when the worker's threads have not started in time (see
    /// `build::THREADS_START_MILLIS`).
    threads_watch: RefCell<Option<gloo_timers::callback::Timeout>>,
    /// The promise of the loop that plays the queue (see [`queue`]).
    queue_loop: RefCell<Option<Promise>>,
}

impl Lab {
    pub fn new(session: Session) -> Self {
        let (settings, _) = LabSettings::from_query(|name| crate::web::address::query_param(&format!("lab-{name}")));
        let (letters, letters_problem) = stored_letters();
        Self {
            inner: Rc::new(Inner {
                session,
                worker: RefCell::new(None),
                alive: Cell::new(false),
                outbox: RefCell::new(Vec::new()),
                waiting: RefCell::new(Vec::new()),
                exports: RefCell::new(HashMap::new()),
                next_request: Cell::new(1),
                letters_base: RefCell::new(letters.clone()),
                training_lock: RefCell::new(None),
                pending_claim: RefCell::new(None),
                tab_id: resume::new_tab_id(),
                run_letters: RefCell::new(None),
                saved: RefCell::new(None),
                last_heard: Cell::new(0.0),
                threads_watch: RefCell::new(None),
                queue_loop: RefCell::new(None),
            }),
            signals: LabSignals {
                open: RwSignal::new(false),
                settings: RwSignal::new(settings),
                status: RwSignal::new(None),
                loading: RwSignal::new(None),
                heldout: RwSignal::new(None),
                snapshots: RwSignal::new(Vec::new()),
                error: RwSignal::new(None),
                used: RwSignal::new(None),
                files: RwSignal::new(None),
                letters: RwSignal::new(letters),
                letters_problem: RwSignal::new(letters_problem),
                run_settings: RwSignal::new(None),
                checkpoint: RwSignal::new(None),
                crashed: RwSignal::new(None),
                by_epoch: RwSignal::new(Vec::new()),
                single_thread_reason: RwSignal::new(None),
                queue: queue::QueueSignals::new(),
            },
        }
    }

    /// Keeps the letters in the browser's storage, joined with what another tab of the
    /// page has stored since this one last read them (neither loses the other's letters);
    /// the workshop then shows the joined set.
    pub fn keep_letters(&self) -> Result<(), String> {
        let letters = self.signals.letters;
        let mine = letters.get_untracked();
        let base = self.inner.letters_base.borrow().clone();
        let stored = stored_letters().0;
        let joined = mine.merged(&base, &stored);
        *self.inner.letters_base.borrow_mut() = joined.clone();
        if joined != stored {
            store_letters(&joined)?;
        }
        if joined != mine {
            letters.set(joined);
        }
        Ok(())
    }

    /// Joins in the letters another tab stores, as it stores them.
    pub fn watch_other_tabs(&self) {
        let lab = self.clone();
        EventListener::new(&window(), "storage", move |event| {
            let key = event.dyn_ref::<web_sys::StorageEvent>().and_then(web_sys::StorageEvent::key);
            if key.as_deref() == Some(LETTERS_KEY) {
                if let Err(why) = lab.keep_letters() {
                    lab.signals.letters_problem.set(Some(why));
                }
            }
        })
        .forget();
    }

    /// Problems with the lab's settings in the address, in words.
    pub fn address_problems() -> Vec<String> {
        LabSettings::from_query(|name| crate::web::address::query_param(&format!("lab-{name}"))).1
    }

    /// The backend the lab is asked to train on: the engine's choice for it.
    fn backend_request(&self) -> BackendRequest {
        self.inner.session.started().map_or(BackendRequest::Only(BackendKind::Cpu), |started| started.lab_request)
    }

    fn ensure_worker(&self) -> Result<(), String> {
        if self.inner.worker.borrow().is_some() {
            return Ok(());
        }
        let on_cpu = self.backend_request() == BackendRequest::Only(BackendKind::Cpu);
        self.open_worker(crate::web::build::lab_worker(on_cpu))
    }

    fn open_worker(&self, chosen: crate::web::build::LabWorker) -> Result<(), String> {
        let worker = if chosen.threaded {
            let options = web_sys::WorkerOptions::new();
            options.set_type(web_sys::WorkerType::Module);
            if let Some(threads) = chosen.threads_asked {
                options.set_name(&format!("threads={threads}"));
            }
            Worker::new_with_options(&chosen.url, &options)
        } else {
            Worker::new(&chosen.url)
        }
        .map_err(|e| format!("the training worker could not start: {e:?}"))?;
        self.signals.single_thread_reason.set(chosen.single_thread_reason);
        let lab = self.clone();
        let on_message = EventListener::new(&worker, "message", move |event| {
            if let Some(event) = event.dyn_ref::<MessageEvent>() {
                lab.receive(event.clone());
            }
        });
        let lab = self.clone();
        let on_error = EventListener::new(&worker, "error", move |event| {
            let what = event.dyn_ref::<web_sys::ErrorEvent>().map(web_sys::ErrorEvent::message).filter(|m| !m.is_empty());
            lab.crashed(what.map_or_else(
                || "the training worker could not be loaded or stopped with an error".to_string(),
                |what| format!("the training worker stopped with an error ({what})"),
            ));
            crate::web::build::explain_worker_failure("the training lab's worker", || {});
        });
        self.inner.last_heard.set(crate::browser::clock::now_millis());
        *self.inner.worker.borrow_mut() = Some((worker, [on_message, on_error]));
        self.signals.open.set(true);
        Ok(())
    }

    /// The multi-threaded `worker`'s `threads` did not start in time: it is replaced by the
    /// single-threaded worker, which gets the commands held for it.
    fn give_up_threads(&self, worker: &Worker, threads: usize) {
        let current = self.inner.worker.borrow().as_ref().is_some_and(|(current, _)| current == worker);
        if !current || self.inner.alive.get() {
            return;
        }
        let why = crate::web::build::threads_did_not_start(threads);
        web_sys::console::warn_1(&format!("latentlab: the training worker starts again on one thread: {why}").into());
        if let Some((worker, _)) = self.inner.worker.borrow_mut().take() {
            worker.terminate();
        }
        let single = crate::web::build::LabWorker { url: crate::web::build::lab_worker_url(), threaded: false, threads_asked: None, single_thread_reason: Some(why) };
        if let Err(why) = self.open_worker(single) {
            self.crashed(why);
        }
    }

    fn send(&self, message: ToWorker) {
        if !self.inner.alive.get() {
            self.inner.outbox.borrow_mut().push(message);
            return;
        }
        if let Some((worker, _)) = self.inner.worker.borrow().as_ref() {
            let json = serde_json::to_string(&message).unwrap_or_default();
            let _ = match &message {
                // A checkpoint's weights travel beside the JSON (which leaves them out).
                ToWorker::Start { resume: Some(checkpoint), .. } => {
                    let envelope = js_sys::Object::new();
                    let _ = Reflect::set(&envelope, &"json".into(), &json.into());
                    let _ = Reflect::set(&envelope, &"bytes".into(), &Uint8Array::from(checkpoint.weights.as_slice()));
                    worker.post_message(&envelope)
                }
                _ => worker.post_message(&json.into()),
            };
        }
    }

    /// Stops the worker and frees its memory.
    pub fn close(&self) {
        self.forget_saved_run();
        if let Some((worker, _)) = self.inner.worker.borrow_mut().take() {
            worker.terminate();
        }
        self.inner.alive.set(false);
        self.release_training();
        self.inner.outbox.borrow_mut().clear();
        self.settle_all(Err("the lab was closed".to_string()));
        let s = self.signals;
        s.open.set(false);
        s.status.set(None);
        s.loading.set(None);
        s.snapshots.set(Vec::new());
        s.by_epoch.set(Vec::new());
        s.heldout.set(None);
        s.run_settings.set(None);
    }

    /// Sets up a run with `settings`; plays it when `play`. The promise resolves with the
    /// first status after the first step (or, without play, once the run is ready).
    pub fn start(&self, settings: LabSettings, play: bool) -> Promise {
        let letters = settings.letters.then(|| self.signals.letters.get_untracked());
        if !play {
            return self.start_now(settings, false, letters, None);
        }
        let lab = self.clone();
        self.when_training_allowed(move || lab.start_now(settings, true, letters, None))
    }

    fn start_now(&self, settings: LabSettings, play: bool, letters: Option<LetterSet>, resume: Option<Checkpoint>) -> Promise {
        let checked = settings
            .validate()
            .and_then(|_| letters.as_ref().map_or(Ok(()), LetterSet::check_trainable))
            .and_then(|_| self.ensure_worker());
        if let Err(message) = checked {
            self.signals.error.set(Some(message.clone()));
            return Promise::reject(&js_sys::Error::new(&message));
        }
        self.signals.run_settings.set(Some(settings.clone()));
        self.signals.settings.set(settings.clone());
        self.signals.error.set(None);
        self.signals.crashed.set(None);
        self.signals.checkpoint.set(resume.as_ref().map(|c| (c.step, js_sys::Date::now())));
        *self.inner.run_letters.borrow_mut() = letters.clone();
        self.signals.snapshots.set(Vec::new());
        self.signals.by_epoch.set(Vec::new());
        self.signals.status.set(None);
        crate::web::address::record_lab(settings.address().as_deref());
        // Earlier waiters belong to the run this one replaces.
        self.settle_all(Err("a new lab run replaced this one".to_string()));
        let backend = self.backend_request();
        let promise = self.wait_for(Box::new(move |status| {
            status.state == LabState::Failed || if play { status.step >= 1 } else { status.state == LabState::Paused }
        }));
        self.send(ToWorker::Start { settings, backend, play, letters, resume });
        promise
    }

    /// Refuses `what` while the worker has no run (none started, or the last one failed),
    /// rather than sending a command nothing would answer.
    fn without_run(&self, what: &str) -> Option<Promise> {
        self.signals.run_settings.with_untracked(Option::is_none).then(|| {
            let message = format!("{what}: there is no run yet; start one first");
            Promise::reject(&js_sys::Error::new(&message))
        })
    }

    pub fn play(&self) -> Promise {
        if let Some(refused) = self.without_run("play") {
            return refused;
        }
        let lab = self.clone();
        self.when_training_allowed(move || {
            lab.send(ToWorker::Play);
            lab.wait_for(Box::new(|_| true))
        })
    }

    pub fn pause(&self) -> Promise {
        if let Some(refused) = self.without_run("pause") {
            return refused;
        }
        self.send(ToWorker::Pause);
        self.wait_for(Box::new(|status| status.state != LabState::Running))
    }

    /// Trains `count` batches, then pauses; resolves with the status after them (or, when
    /// the run is paused before, after those it trained).
    pub fn step(&self, count: u64) -> Promise {
        self.step_unless(count, || false)
    }

    /// [`Self::step`], unless `called_off()` says otherwise once this tab may train (the
    /// queue, paused meanwhile): then it resolves at once.
    fn step_unless(&self, count: u64, called_off: impl FnOnce() -> bool + 'static) -> Promise {
        if !(1..=MAX_STEPS_PER_CALL).contains(&count) {
            return Promise::reject(&js_sys::Error::new(&format!(
                "step: {count} is not a number of batches from 1 to {MAX_STEPS_PER_CALL}"
            )));
        }
        if let Some(refused) = self.without_run("step") {
            return refused;
        }
        let lab = self.clone();
        self.when_training_allowed(move || {
            if called_off() {
                return Promise::resolve(&JsValue::UNDEFINED);
            }
            let target = lab.signals.status.with_untracked(|s| s.as_ref().map_or(0, |s| s.step)) + count;
            lab.send(ToWorker::Step { count });
            // Paused early (by Pause, or by a NaN, with a message), the run stops short.
            lab.wait_for(Box::new(move |status| status.step >= target || status.state != LabState::Running))
        })
    }

    /// Runs `train` once this tab may train: one tab of the page trains at a time (a Web
    /// Lock, held while the run is running), and another tab's lab says which tab that is.
    fn when_training_allowed(&self, train: impl FnOnce() -> Promise + 'static) -> Promise {
        let lab = self.clone();
        future_to_promise(async move {
            if let Err(why) = lab.claim_training().await {
                lab.signals.error.set(Some(why.clone()));
                return Err(js_sys::Error::new(&why).into());
            }
            JsFuture::from(train()).await
        })
    }

    async fn claim_training(&self) -> Result<(), String> {
        if self.inner.training_lock.borrow().is_some() {
            return Ok(());
        }
        let pending = self.inner.pending_claim.borrow().clone();
        let claim = pending.unwrap_or_else(|| {
            let lab = self.clone();
            let claim = future_to_promise(async move {
                let asked = lab.ask_for_training_lock().await;
                lab.inner.pending_claim.borrow_mut().take();
                asked.map(|()| JsValue::UNDEFINED).map_err(JsValue::from)
            });
            *self.inner.pending_claim.borrow_mut() = Some(claim.clone());
            claim
        });
        JsFuture::from(claim).await.map(|_| ()).map_err(|why| why.as_string().unwrap_or_default())
    }

    async fn ask_for_training_lock(&self) -> Result<(), String> {
        let navigator = window().navigator();
        let locks = Reflect::get(&navigator, &"locks".into()).unwrap_or(JsValue::UNDEFINED);
        let Ok(request) = Reflect::get(&locks, &"request".into()).and_then(|f| f.dyn_into::<Function>()) else {
            // No Web Locks (an old browser): tabs cannot agree, and each trains.
            return Ok(());
        };
        let mut decide = None;
        let decided = Promise::new(&mut |resolve, _| decide = Some(resolve));
        let release: Rc<RefCell<Option<Function>>> = Rc::default();
        let holder = release.clone();
        let granted = Closure::once_into_js(move |lock: JsValue| -> JsValue {
            let granted = !lock.is_null() && !lock.is_undefined();
            if let Some(decide) = decide {
                let _ = decide.call1(&JsValue::UNDEFINED, &granted.into());
            }
            if !granted {
                return JsValue::NULL;
            }
            // Held until this promise settles (see `release_training`).
            Promise::new(&mut |resolve, _| *holder.borrow_mut() = Some(resolve)).into()
        });
        let options = js_sys::Object::new();
        let _ = Reflect::set(&options, &"ifAvailable".into(), &true.into());
        let asked = request.call3(&locks, &TRAINING_LOCK.into(), &options, &granted);
        if asked.is_err() {
            return Ok(());
        }
        if JsFuture::from(decided).await.ok().and_then(|g| g.as_bool()) != Some(true) {
            let who = gloo_storage::LocalStorage::raw().get_item(TRAINING_TAB_KEY).ok().flatten();
            return Err(format!(
                "another tab of latentlab is training{}: one tab trains at a time, so that each trains at full speed. \
                 Pause or close it there, then train here",
                who.map_or(String::new(), |who| format!(" ({who})"))
            ));
        }
        let resolve = release.borrow_mut().take();
        *self.inner.training_lock.borrow_mut() = resolve;
        let opened = js_sys::Date::new(&window().performance().map_or(0.0, |p| p.time_origin()).into());
        let shown = self.inner.session.shown().map_or(String::new(), |engine| format!(", showing {}", engine.manifest.name));
        let who = format!("the one opened at {}{shown}", String::from(opened.to_locale_time_string("default")));
        let _ = gloo_storage::LocalStorage::raw().set_item(TRAINING_TAB_KEY, &who);
        Ok(())
    }

    /// Lets another tab train (when this one is not running).
    fn release_training(&self) {
        if let Some(release) = self.inner.training_lock.borrow_mut().take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }

    /// Starts the same run over, paused at step 0.
    pub fn reset(&self) -> Promise {
        self.start(self.signals.settings.get_untracked(), false)
    }

    /// Whether the form's settings are those of the run the worker has.
    pub fn runs_form_settings(&self) -> bool {
        let form = self.signals.settings.get_untracked();
        self.signals.run_settings.with_untracked(|run| run.as_ref().is_some_and(|run| LabSettings { beta: form.beta, ..run.clone() } == form))
    }

    pub fn set_beta(&self, beta: f32) {
        self.signals.settings.update(|s| s.beta = beta);
        self.signals.run_settings.update(|s| {
            if let Some(s) = s {
                s.beta = beta;
            }
        });
        crate::web::address::record_lab(self.signals.settings.get_untracked().address().as_deref());
        self.send(ToWorker::SetBeta { beta });
    }

    /// Asks the worker for the model as it is now.
    pub fn export(&self, done: impl FnOnce(Result<Exported, String>) + 'static) {
        if self.inner.worker.borrow().is_none() || self.signals.status.with_untracked(Option::is_none) {
            done(Err("nothing has been trained yet: start a run first".to_string()));
            return;
        }
        let request = self.inner.next_request.get();
        self.inner.next_request.set(request + 1);
        self.inner.exports.borrow_mut().insert(request, Box::new(done));
        self.send(ToWorker::Export { request });
    }

    async fn export_now(&self) -> Result<Exported, String> {
        let slot: Rc<RefCell<Option<Result<Exported, String>>>> = Rc::default();
        let answered = Promise::new(&mut |resolve, _| {
            let slot = slot.clone();
            self.export(move |result| {
                *slot.borrow_mut() = Some(result);
                let _ = resolve.call0(&JsValue::UNDEFINED);
            });
        });
        let _ = JsFuture::from(answered).await;
        let answer = slot.borrow_mut().take();
        answer.unwrap_or_else(|| Err("the training worker did not answer".to_string()))
    }

    /// Keeps the lab's model as it is now in the browser (see [`Session::add_model`]), with
    /// its held-out map; its manifest as kept (a kept model of the same name may have made
    /// it take a number).
    async fn keep_current(&self, origin: &str) -> Result<Manifest, String> {
        let (manifest, bytes, means) = self.export_now().await?;
        let map = self.signals.heldout.with_untracked(|h| {
            h.as_ref().map(|h| LatentMap { latent: manifest.latent, means, labels: h.labels.clone() })
        });
        let name = self.inner.session.add_model(manifest.clone(), bytes, map, origin).await?;
        if let Some(rows) = untrack(|| self.signals.by_epoch_rows()) {
            // The figure is a view of the run: a model kept without it is still kept.
            if kept::keep_by_epoch(&name, &rows).await.is_ok() {
                self.inner.session.refresh_kept().await;
            }
        }
        Ok(Manifest { name, ..manifest })
    }

    /// Puts the lab's model on show in every view; resolves once it is shown.
    pub fn use_model(&self) -> Promise {
        let lab = self.clone();
        let ticket = self.inner.session.ticket();
        future_to_promise(async move {
            let shown = async {
                let manifest = lab.keep_current("trained in the lab").await?;
                let name = manifest.name.clone();
                let peer = crate::core::catalogue::ShippedModel::peer_of(
                    &manifest.dataset,
                    manifest.kind,
                    manifest.latent,
                    manifest.architecture.network,
                )
                .map(|m| m.name());
                let shipped = match peer {
                    Some(peer) => lab.inner.session.manifest(&peer).await.ok().map(|m| (peer, m.test_metrics.neg_elbo)),
                    None => None,
                };
                lab.signals.used.set(Some((manifest, shipped)));
                Ok::<_, String>(lab.inner.session.request_in_turn(ticket, name))
            };
            match shown.await {
                Ok(request) => JsFuture::from(request).await,
                Err(message) => {
                    lab.signals.error.set(Some(message.clone()));
                    Err(js_sys::Error::new(&message).into())
                }
            }
        })
    }

    /// Offers the model as it is now as two downloads, in the shipped format: the weight
    /// file and its manifest.
    pub fn download(&self) {
        let files = self.signals.files;
        self.export(move |result| {
            let saved = result.and_then(|(manifest, bytes, _)| {
                let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
                save_bytes(&bytes, "application/octet-stream", &manifest.weights)?;
                save_bytes(json.as_bytes(), "application/json", &format!("{}.json", manifest.name))?;
                Ok(format!("Saved {} and {}.json: load both back below to use them again.", manifest.weights, manifest.name))
            });
            files.set(Some(saved));
        });
    }

    /// Loads a downloaded model (its manifest and weight file, picked or dropped together),
    /// checked like a shipped one, and puts it on show.
    pub fn load_files(&self, files: Vec<web_sys::File>) -> Promise {
        let lab = self.clone();
        let ticket = self.inner.session.ticket();
        future_to_promise(async move {
            let loaded = lab.read_model_files(files).await;
            lab.signals.files.set(Some(loaded.clone().map(|name| format!("Loaded {name}: it is on show above."))));
            match loaded {
                Ok(name) => JsFuture::from(lab.inner.session.request_in_turn(ticket, name)).await,
                Err(message) => Err(js_sys::Error::new(&message).into()),
            }
        })
    }

    async fn read_model_files(&self, files: Vec<web_sys::File>) -> Result<String, String> {
        const MAX_MANIFEST_BYTES: f64 = 1e6;
        const MAX_WEIGHT_BYTES: f64 = 32e6;
        let pick = |suffix: &str| files.iter().find(|f| f.name().to_ascii_lowercase().ends_with(suffix)).cloned();
        let (Some(manifest_file), Some(weights_file)) = (pick(".json"), pick(".bpk")) else {
            return Err("pick (or drop) both files of a downloaded model together: NAME.json and NAME.bpk".to_string());
        };
        if manifest_file.size() > MAX_MANIFEST_BYTES || weights_file.size() > MAX_WEIGHT_BYTES {
            return Err("these files are far larger than a latentlab model: not loaded".to_string());
        }
        let text = gloo_file::futures::read_as_text(&gloo_file::File::from(manifest_file.clone()))
            .await
            .map_err(|_| format!("{} could not be read", manifest_file.name()))?;
        let mut manifest = crate::core::weights::parse_manifest(&text)
            .map_err(|e| format!("{} is not a latentlab model manifest: {e}", manifest_file.name()))?;
        let bytes = gloo_file::futures::read_as_bytes(&gloo_file::File::from(weights_file.clone()))
            .await
            .map_err(|_| format!("{} could not be read", weights_file.name()))?;
        if crate::core::catalogue::ShippedModel::find(&manifest.name).is_some() {
            // Never replace a shipped model with a file of the same name.
            manifest.name = format!("{}-uploaded", manifest.name);
        }
        self.inner
            .session
            .add_model(manifest, bytes, None, "loaded from files")
            .await
            .map_err(|e| format!("{} does not fit {}: {e}", weights_file.name(), manifest_file.name()))
    }

    fn wait_for(&self, condition: Condition) -> Promise {
        let inner = self.inner.clone();
        let mut condition = Some(condition);
        Promise::new(&mut |resolve, reject| {
            if let Some(condition) = condition.take() {
                inner.waiting.borrow_mut().push((condition, resolve, reject));
            }
        })
    }

    fn settle_all(&self, outcome: Result<(), String>) {
        let waiting: Vec<_> = self.inner.waiting.borrow_mut().drain(..).collect();
        for (_, resolve, reject) in waiting {
            let _ = match &outcome {
                Ok(()) => resolve.call0(&JsValue::UNDEFINED),
                Err(message) => reject.call1(&JsValue::UNDEFINED, &js_sys::Error::new(message)),
            };
        }
        let exports: Vec<_> = self.inner.exports.borrow_mut().drain().collect();
        for (_, done) in exports {
            done(Err(outcome.clone().err().unwrap_or_else(|| "the lab stopped".to_string())));
        }
    }

    fn fail(&self, message: String) {
        self.release_training();
        self.signals.error.set(Some(message.clone()));
        self.signals.status.update(|s| {
            if let Some(s) = s {
                s.state = LabState::Failed;
            }
        });
        // The worker drops a run that failed.
        self.signals.run_settings.set(None);
        self.signals.loading.set(None);
        self.settle_all(Err(message));
    }

    fn receive(&self, event: MessageEvent) {
        let data = event.data();
        let json = Reflect::get(&data, &"json".into()).ok().and_then(|j| j.as_string()).unwrap_or_default();
        let bytes = Reflect::get(&data, &"bytes".into())
            .ok()
            .filter(|b| !b.is_undefined())
            .map(|b| Uint8Array::new(&b).to_vec());
        self.inner.last_heard.set(crate::browser::clock::now_millis());
        let Ok(message) = serde_json::from_str::<FromWorker>(&json) else {
            self.fail("the training worker sent a message the page does not understand".to_string());
            return;
        };
        let s = self.signals;
        match message {
            FromWorker::StartingThreads { threads } => {
                s.loading.set(Some((format!("the CPU engine's {threads} threads"), 0, None)));
                let (lab, watched) = (self.clone(), self.inner.worker.borrow().as_ref().map(|(worker, _)| worker.clone()));
                let watch = gloo_timers::callback::Timeout::new(crate::web::build::THREADS_START_MILLIS, move || {
                    if let Some(worker) = &watched {
                        lab.give_up_threads(worker, threads);
                    }
                });
                *self.inner.threads_watch.borrow_mut() = Some(watch);
            }
            FromWorker::Alive => {
                self.inner.alive.set(true);
                self.inner.threads_watch.borrow_mut().take();
                s.loading.set(None);
                let outbox: Vec<_> = self.inner.outbox.borrow_mut().drain(..).collect();
                for message in outbox {
                    self.send(message);
                }
            }
            FromWorker::Loading { what, received, total } => s.loading.set(Some((what, received, total))),
            FromWorker::Heldout { labels, class_names, .. } => {
                s.loading.set(None);
                s.heldout.set(Some(Arc::new(Heldout { labels, class_names, pixels: bytes.unwrap_or_default() })));
            }
            FromWorker::Status(status) => {
                s.loading.set(None);
                if status.state != LabState::Running {
                    self.release_training();
                }
                let settled: Vec<_> = {
                    let mut waiting = self.inner.waiting.borrow_mut();
                    let (now, later): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|(condition, _, _)| condition(&status));
                    *waiting = later;
                    now
                };
                let value = serde_wasm_status(&status);
                for (_, resolve, _) in settled {
                    let _ = resolve.call1(&JsValue::UNDEFINED, &value);
                }
                s.status.set(Some(status));
            }
            FromWorker::Snapshot(snapshot) => {
                let bytes = bytes.unwrap_or_default();
                let split = (RECONSTRUCTED * IMAGE_PIXELS).min(bytes.len());
                let (reconstructions, grid) = bytes.split_at(split);
                let live = LiveSnapshot {
                    grid: snapshot.has_grid.then(|| grid.to_vec()),
                    reconstructions: reconstructions.to_vec(),
                    snapshot,
                };
                // The first snapshot of each new epoch: the worker takes one as an epoch ends.
                let epoch = (live.snapshot.epoch + 1e-9).floor() as u64;
                if epoch > s.by_epoch.with_untracked(|rows| rows.last().map_or(0, |row| row.0)) {
                    s.by_epoch.update(|rows| {
                        if rows.len() < EPOCH_ROWS {
                            rows.push((epoch, live.reconstructions.clone()));
                        }
                    });
                }
                s.snapshots.update(|kept| {
                    if kept.len() >= KEPT_SNAPSHOTS {
                        let older = kept.len() / 2;
                        let mut index = 0;
                        kept.retain(|_| {
                            index += 1;
                            index > older || index % 2 == 0
                        });
                    }
                    kept.push(Arc::new(live));
                });
            }
            FromWorker::Exported { request, manifest, map_means } => {
                if let Some(done) = self.inner.exports.borrow_mut().remove(&request) {
                    done(Ok((*manifest, bytes.unwrap_or_default(), map_means)));
                }
            }
            FromWorker::Checkpoint { mut checkpoint } => {
                checkpoint.weights = bytes.unwrap_or_default();
                self.keep_checkpoint(checkpoint);
            }
            FromWorker::Failed { message } => self.fail(message),
        }
    }

    /// The latest status as a JS object (the JS API's `lab.status()`), or null.
    pub fn status_value(&self) -> JsValue {
        self.signals.status.with_untracked(|s| s.as_ref().map_or(JsValue::NULL, serde_wasm_status))
    }
}

/// Where the browser keeps the letters workshop's set.
const LETTERS_KEY: &str = "latentlab-letters";

/// The letters kept in the browser's storage, or an empty set (and why, if they could not
/// be read).
fn stored_letters() -> (LetterSet, Option<String>) {
    let empty = LetterSet::new(PAD_SIDE, PAD_BRUSH);
    match gloo_storage::LocalStorage::raw().get_item(LETTERS_KEY) {
        Ok(Some(text)) => match LetterSet::from_json(&text) {
            Ok(set) => (set, None),
            Err(e) => (empty, Some(format!("The letters kept in this browser could not be read ({e}); the workshop starts empty."))),
        },
        _ => (empty, None),
    }
}

/// Keeps the letters workshop's set in the browser's storage, so a reload loses nothing.
fn store_letters(set: &LetterSet) -> Result<(), String> {
    gloo_storage::LocalStorage::raw()
        .set_item(LETTERS_KEY, &set.to_json())
        .map_err(|_| "the browser would not keep the letters (its storage may be full or off): save them to a file".to_string())
}

/// A status as the JS API describes it: `{state, step, epoch, imagesPerSecond, …}`.
fn serde_wasm_status(status: &LabStatus) -> JsValue {
    let losses = |l: &Option<crate::lab::Losses>| {
        l.map(|l| serde_json::json!({"reconstruction": l.reconstruction, "kl": l.kl, "total": l.total}))
    };
    let value = serde_json::json!({
        "state": status.state.name(),
        "step": status.step,
        "epoch": status.epoch,
        "imagesPerSecond": status.images_per_second,
        "stepsPerSecond": status.steps_per_second,
        "backend": status.backend.name(),
        "backendReason": status.backend_reason,
        "loss": losses(&status.loss),
        "heldout": losses(&status.heldout),
        "trainImages": status.train_images,
        "message": status.message,
        "memoryBytes": status.memory_bytes,
        "cpuThreads": status.cpu_threads,
    });
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

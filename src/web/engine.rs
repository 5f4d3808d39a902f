//! The page's side of the model engine: the engine's worker (see [`crate::engine`]), its
//! requests and answers, and a loaded model as the views use it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use gloo_events::EventListener;
use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

use crate::browser::fetch;
use crate::browser::message::{self, Part};
use crate::core::backend_kind::{BackendKind, BackendRequest};
use crate::core::catalogue::model_file_url;
use crate::core::data::IMAGE_PIXELS;
use crate::core::weights::Manifest;
use crate::engine::{FromEngine, StartedBackend, ToEngine};

/// The engine's worker, from the page: requests go out with an id, answers settle them.
#[derive(Clone)]
pub struct EngineWorker {
    inner: Rc<WorkerInner>,
}

type Restarted = Rc<dyn Fn(BackendKind, String)>;

struct WorkerInner {
    /// The worker: the multi-threaded engine until its threads fail to start in time, then
    /// the single-threaded one.
    worker: RefCell<Worker>,
    listeners: RefCell<Vec<EventListener>>,
    alive: Cell<bool>,
    /// Runs out when the threads have not started in time (see `build::THREADS_START_MILLIS`).
    threads_watch: RefCell<Option<gloo_timers::callback::Timeout>>,
    /// Why the engine computes on one thread, when the page had to give up its threads.
    single_thread_reason: RefCell<Option<String>>,
    /// Messages waiting for the worker to start listening.
    outbox: RefCell<Vec<(JsValue, Array)>>,
    /// Requests waiting for their answer: resolve (with the answer's envelope), reject.
    pending: RefCell<HashMap<u64, (Function, Function)>>,
    next_id: Cell<u64>,
    backend: Cell<Option<BackendKind>>,
    /// Why the engine stopped, once it has: later requests fail at once with it.
    stopped: RefCell<Option<String>>,
    on_restart: RefCell<Option<Restarted>>,
}

impl EngineWorker {
    /// Takes over the worker the HTML starts (see www/index.html; asked to start now if it
    /// has not yet), with what it said so far; or starts one.
    pub fn spawn() -> Result<Self, String> {
        let get = |target: &JsValue, key: &str| Reflect::get(target, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
        let started_early = get(&js_sys::global(), "latentlabEngine");
        if let Some(early) = &started_early {
            if let Some(start) = get(early, "start").and_then(|f| f.dyn_into::<Function>().ok()) {
                let _ = start.call0(early);
            }
        }
        let worker = match started_early.as_ref().and_then(|early| get(early, "worker")) {
            Some(worker) => worker.unchecked_into::<Worker>(),
            None => Worker::new(&crate::web::build::engine_worker_url()).map_err(|e| format!("the model engine could not start: {e:?}"))?,
        };
        let engine = EngineWorker {
            inner: Rc::new(WorkerInner {
                worker: RefCell::new(worker),
                listeners: RefCell::default(),
                alive: Cell::new(false),
                threads_watch: RefCell::default(),
                single_thread_reason: RefCell::default(),
                outbox: RefCell::default(),
                pending: RefCell::default(),
                next_id: Cell::new(1),
                backend: Cell::new(None),
                stopped: RefCell::default(),
                on_restart: RefCell::default(),
            }),
        };
        engine.listen();
        if let Some(early) = started_early {
            if let Some(hand_over) = get(&early, "handOver").and_then(|f| f.dyn_into::<Function>().ok()) {
                let _ = hand_over.call0(&early);
            }
            let said = get(&early, "early");
            let messages = said.as_ref().and_then(|s| get(s, "messages")).map(|m| Array::from(&m)).unwrap_or_default();
            for message in messages.iter() {
                engine.receive(message);
            }
            if said.and_then(|s| get(&s, "failed")).and_then(|f| f.as_bool()).unwrap_or(false) {
                engine.stop("the model engine could not be loaded, or stopped with an error".to_string());
            }
        }
        Ok(engine)
    }

    /// Listens to the worker's answers and failure.
    fn listen(&self) {
        let target = self.inner.worker.borrow().clone();
        let on_message = {
            let engine = self.clone();
            EventListener::new(&target, "message", move |event| {
                if let Some(event) = event.dyn_ref::<MessageEvent>() {
                    engine.receive(event.data());
                }
            })
        };
        let on_error = {
            let engine = self.clone();
            EventListener::new(&target, "error", move |_| {
                engine.stop("the model engine could not be loaded, or stopped with an error".to_string());
            })
        };
        *self.inner.listeners.borrow_mut() = vec![on_message, on_error];
    }

    /// The multi-threaded engine's `threads` did not start in time: it is replaced by the
    /// single-threaded engine, which gets the requests held for it.
    fn give_up_threads(&self, threads: usize) {
        if self.inner.alive.get() || self.inner.stopped.borrow().is_some() {
            return;
        }
        let why = crate::web::build::threads_did_not_start(threads);
        web_sys::console::warn_1(&format!("latentlab: the model engine starts again on one thread: {why}").into());
        self.inner.worker.borrow().terminate();
        match Worker::new(&crate::web::build::engine_worker_url()) {
            Ok(worker) => {
                *self.inner.worker.borrow_mut() = worker;
                *self.inner.single_thread_reason.borrow_mut() = Some(why);
                self.listen();
            }
            Err(error) => self.stop(format!("the model engine could not start: {error:?}")),
        }
    }

    /// Why the engine computes on one thread, when its threads did not start.
    pub fn single_thread_reason(&self) -> Option<String> {
        self.inner.single_thread_reason.borrow().clone()
    }

    /// Calls `watch` when the engine restarted its backend after a WebGPU failure, with the
    /// backend now in use and a sentence for the page.
    pub fn on_restart(&self, watch: impl Fn(BackendKind, String) + 'static) {
        *self.inner.on_restart.borrow_mut() = Some(Rc::new(watch));
    }

    /// The backend the engine computes on (after [`Self::start`]).
    pub fn backend(&self) -> Option<BackendKind> {
        self.inner.backend.get()
    }

    /// Chooses the backend: `requested`, or by itself.
    pub async fn start(&self, requested: Option<BackendRequest>) -> Result<StartedBackend, String> {
        let answer = self.request(|id| ToEngine::Start { id, requested }, None).await?;
        match message::message::<FromEngine>(&answer)? {
            FromEngine::Started { started, .. } => {
                self.inner.backend.set(Some(started.backend));
                Ok(started)
            }
            other => Err(format!("the model engine answered {other:?} to its start")),
        }
    }

    /// The size of the engine's wasm memory, in bytes.
    pub async fn memory_bytes(&self) -> Result<f64, String> {
        let answer = self.request(|id| ToEngine::Memory { id }, None).await?;
        match message::message::<FromEngine>(&answer)? {
            FromEngine::Memory { bytes, .. } => Ok(bytes),
            other => Err(format!("the model engine answered {other:?} to a memory request")),
        }
    }

    /// Loads a model from its checked weight file.
    pub async fn load(&self, manifest: Manifest, weights: Vec<u8>) -> Result<Engine, String> {
        self.request(|id| ToEngine::Load { id, manifest: manifest.clone() }, Some(Part::Bytes(&weights))).await?;
        Ok(Engine { manifest, worker: self.clone() })
    }

    async fn request(&self, make: impl FnOnce(u64) -> ToEngine, part: Option<Part<'_>>) -> Result<JsValue, String> {
        if let Some(why) = self.inner.stopped.borrow().clone() {
            return Err(why);
        }
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        let (envelope, transfer) = message::envelope(&make(id), part);
        let answered = Promise::new(&mut |resolve, reject| {
            self.inner.pending.borrow_mut().insert(id, (resolve, reject));
        });
        if self.inner.alive.get() {
            let _ = self.inner.worker.borrow().post_message_with_transfer(&envelope, &transfer);
        } else {
            self.inner.outbox.borrow_mut().push((envelope, transfer));
        }
        JsFuture::from(answered).await.map_err(|why| why.as_string().unwrap_or_else(|| "the model engine failed".to_string()))
    }

    fn receive(&self, envelope: JsValue) {
        let answer = match message::message::<FromEngine>(&envelope) {
            Ok(answer) => answer,
            Err(why) => return self.stop(format!("the model engine sent {why}")),
        };
        let settle = |id: u64, outcome: Result<&JsValue, String>| {
            let Some((resolve, reject)) = self.inner.pending.borrow_mut().remove(&id) else { return };
            let _ = match outcome {
                Ok(envelope) => resolve.call1(&JsValue::UNDEFINED, envelope),
                Err(why) => reject.call1(&JsValue::UNDEFINED, &why.into()),
            };
        };
        match answer {
            FromEngine::StartingThreads { threads } => {
                let engine = self.clone();
                let watch = gloo_timers::callback::Timeout::new(crate::web::build::THREADS_START_MILLIS, move || engine.give_up_threads(threads));
                *self.inner.threads_watch.borrow_mut() = Some(watch);
            }
            FromEngine::Alive => {
                self.inner.alive.set(true);
                self.inner.threads_watch.borrow_mut().take();
                let worker = self.inner.worker.borrow();
                for (envelope, transfer) in self.inner.outbox.borrow_mut().drain(..) {
                    let _ = worker.post_message_with_transfer(&envelope, &transfer);
                }
            }
            FromEngine::Started { id, .. } | FromEngine::Done { id } | FromEngine::Memory { id, .. } => settle(id, Ok(&envelope)),
            FromEngine::Refused { id, message } => settle(id, Err(message)),
            FromEngine::Restarted { backend, message } => {
                self.inner.backend.set(Some(backend));
                let watch = self.inner.on_restart.borrow().clone();
                if let Some(watch) = watch {
                    watch(backend, message);
                }
            }
            FromEngine::Failed { message } => self.stop(message),
        }
    }

    /// The engine is gone: every waiting request fails with `why`, and so will later ones.
    fn stop(&self, why: String) {
        web_sys::console::error_1(&format!("latentlab: {why}").into());
        let said = why.clone();
        crate::web::build::explain_worker_failure("the model engine's worker", move || {
            crate::web::show_stopped(&format!(
                "The model engine stopped ({said}): the views cannot draw until it starts again. \
                 Reloading the page starts it afresh: your letters and the models kept in this browser stay. "
            ));
        });
        *self.inner.stopped.borrow_mut() = Some(why.clone());
        let pending: Vec<_> = self.inner.pending.borrow_mut().drain().collect();
        for (_, (_, reject)) in pending {
            let _ = reject.call1(&JsValue::UNDEFINED, &why.clone().into());
        }
    }
}

/// A model loaded in the engine, as the views use it.
pub struct Engine {
    pub manifest: Manifest,
    worker: EngineWorker,
}

/// Steps of loading a model, reported to the page as they happen.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadStep {
    Downloading { received: u64, total: Option<u64> },
    Preparing,
}

/// μ and log σ² of encoded images, `latent` values per image, image by image.
pub struct Encoded {
    pub mean: Vec<f32>,
    pub log_var: Vec<f32>,
}

impl Encoded {
    /// σ = exp(½ log σ²).
    pub fn sigma(&self) -> Vec<f32> {
        self.log_var.iter().map(|v| (0.5 * v).exp()).collect()
    }
}

/// Downloads the weights `manifest` names from `models/` and loads them in the engine,
/// which checks them against the manifest.
pub async fn load(worker: &EngineWorker, manifest: Manifest, report: impl Fn(LoadStep)) -> Result<Engine, String> {
    let weights_url = model_file_url(&manifest.weights);
    report(LoadStep::Downloading { received: 0, total: Some(manifest.weight_bytes as u64) });
    let bytes = fetch::fetch_bytes(&weights_url, |received, total| report(LoadStep::Downloading { received, total })).await?;
    report(LoadStep::Preparing);
    worker.load(manifest, bytes).await.map_err(|e| format!("{weights_url}: {e}"))
}

impl Engine {
    pub fn latent(&self) -> usize {
        self.manifest.latent
    }

    /// The backend the model computes on now (it changes after a lost WebGPU device).
    pub fn backend(&self) -> BackendKind {
        self.worker.backend().unwrap_or(BackendKind::Cpu)
    }

    /// Decodes latent points (`latents` holds n × latent values, point by point): n × 28 ×
    /// 28 pixel values in [0, 1].
    pub async fn decode(&self, latents: &[f32]) -> Result<Vec<f32>, String> {
        let model = self.manifest.name.clone();
        let answer = self.worker.request(|id| ToEngine::Decode { id, model }, Some(Part::Floats(latents))).await?;
        let pixels = message::part_floats(&answer).unwrap_or_default();
        if pixels.len() != latents.len() / self.latent() * IMAGE_PIXELS {
            return Err(format!("the model engine sent {} pixel values for {} points", pixels.len(), latents.len() / self.latent()));
        }
        Ok(pixels)
    }

    /// Encodes 28×28 images (n × 784 values in [0, 1], image by image).
    pub async fn encode(&self, images: &[f32]) -> Result<Encoded, String> {
        let model = self.manifest.name.clone();
        let answer = self.worker.request(|id| ToEngine::Encode { id, model }, Some(Part::Floats(images))).await?;
        let mut mean = message::part_floats(&answer).unwrap_or_default();
        let count = images.len() / IMAGE_PIXELS;
        if mean.len() != 2 * count * self.latent() {
            return Err(format!("the model engine sent {} values for {count} encodings", mean.len()));
        }
        let log_var = mean.split_off(count * self.latent());
        Ok(Encoded { mean, log_var })
    }
}

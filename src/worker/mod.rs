//! The training lab's Web Worker (its own wasm binary, `lab-worker`, with burn's autodiff
//! and optimizers): takes [`ToWorker`] messages, trains with the shared [`crate::train::step::train_step`],
//! and reports [`FromWorker`] messages: status a few times a second, snapshots for the
//! live views within a time budget, the weights on request.
//!
//! Written on `web_sys::DedicatedWorkerGlobalScope` and `postMessage` rather than
//! `gloo-worker`: the lab needs binary parts beside JSON and a worker that keeps
//! training between messages, which gloo-worker's request/response model does not give.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use gloo_events::EventListener;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::browser::clock::now_millis as now;
use crate::core::backend_kind::BackendKind;
use crate::core::data::PreparedImages;
use crate::core::image_set::ImageSet;
use crate::core::model::Vae;
use crate::lab::progress::{EpochLosses, Rates, RunningLosses};
use crate::lab::{ends_an_epoch, BatchOrder, FromWorker, LabSettings, LabState, LabStatus, Losses, ToWorker, CHECKPOINT_INTERVAL_MILLIS, MAX_STEPS_PER_CALL};

mod run;
mod snapshot;

use run::{start_run, train_once};
use snapshot::{checkpoint, export, snapshot};

/// Status messages go out at most this often while training runs.
const STATUS_INTERVAL_MILLIS: f64 = 250.0;

pub fn start() {
    crate::browser::run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("latentlab lab worker: internal error: {info}").into());
        post(&FromWorker::Failed { message: format!("the training worker stopped: {info}") }, None);
    }));
    let commands: Rc<Inbox> = Rc::default();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let inbox = commands.clone();
    EventListener::new(&scope, "message", move |event| {
        // A command is its JSON, or {json, bytes} when it carries a checkpoint's weights.
        let data = event.dyn_ref::<MessageEvent>().map(MessageEvent::data).unwrap_or(JsValue::UNDEFINED);
        let json = data.as_string().or_else(|| Reflect::get(&data, &"json".into()).ok().and_then(|j| j.as_string()));
        match json.map(|json| serde_json::from_str::<ToWorker>(&json)) {
            Some(Ok(mut command)) => {
                if let ToWorker::Start { resume: Some(checkpoint), .. } = &mut command {
                    let bytes = Reflect::get(&data, &"bytes".into()).unwrap_or(JsValue::UNDEFINED);
                    if !bytes.is_undefined() {
                        checkpoint.weights = Uint8Array::new(&bytes).to_vec();
                    }
                }
                inbox.push(command)
            }
            _ => post(&FromWorker::Failed { message: "the lab sent a message the worker does not understand".into() }, None),
        }
    })
    .forget();
    wasm_bindgen_futures::spawn_local(async move {
        // The page holds its commands until `Alive`, and watches the threads start: if they
        // do not, it replaces this worker with the single-threaded one and sends them there.
        #[cfg(feature = "threads")]
        crate::browser::threads::start(|threads| post(&FromWorker::StartingThreads { threads }, None)).await;
        post(&FromWorker::Alive, None);
        run(commands).await;
    });
}

/// The page's commands, in order, and a way for an idle worker to sleep until one comes.
#[derive(Default)]
struct Inbox {
    queue: RefCell<VecDeque<ToWorker>>,
    /// Resolves the promise an idle worker awaits.
    wake: RefCell<Option<Function>>,
}

impl Inbox {
    fn push(&self, command: ToWorker) {
        self.queue.borrow_mut().push_back(command);
        if let Some(wake) = self.wake.borrow_mut().take() {
            let _ = wake.call0(&JsValue::UNDEFINED);
        }
    }

    fn pop(&self) -> Option<ToWorker> {
        self.queue.borrow_mut().pop_front()
    }

    /// Returns once a command is waiting (at once if one is).
    async fn next_arrival(&self) {
        if !self.queue.borrow().is_empty() {
            return;
        }
        let arrived = Promise::new(&mut |resolve, _| *self.wake.borrow_mut() = Some(resolve));
        let _ = JsFuture::from(arrived).await;
    }
}

/// Sends a message with an optional binary part (transferred, not copied).
fn post(message: &FromWorker, bytes: Option<Vec<u8>>) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let envelope = Object::new();
    let json = serde_json::to_string(message).unwrap_or_default();
    let _ = Reflect::set(&envelope, &"json".into(), &json.into());
    match bytes {
        Some(bytes) => {
            let array = Uint8Array::from(bytes.as_slice());
            let _ = Reflect::set(&envelope, &"bytes".into(), &array);
            let _ = scope.post_message_with_transfer(&envelope, &Array::of1(&array.buffer()));
        }
        None => {
            let _ = scope.post_message(&envelope);
        }
    }
}

/// A training run: its settings, model, optimizer, data and counters.
struct Run {
    settings: LabSettings,
    backend: BackendKind,
    /// Why this backend, when the worker chose it by timing.
    backend_reason: Option<String>,
    device: Device,
    model: Vae,
    /// The weights whose loss was last read as finite (restored after a NaN).
    last_good: Vae,
    optimizer: ModuleOptimizer,
    train: Rc<PreparedImages>,
    heldout: Rc<PreparedImages>,
    running: bool,
    /// Where a `step(count)` call pauses the run.
    stop_at: Option<u64>,
    step: u64,
    batches: BatchOrder,
    epochs: EpochLosses,
    average: RunningLosses,
    heldout_losses: Option<Losses>,
    rates: Rates,
    last_status: f64,
    next_snapshot: f64,
    wall_millis: f64,
    message: Option<String>,
    /// On WebGPU: the weights of the last snapshot, read back (f16), and their step, to go
    /// on from on the CPU if the device is lost.
    backup: Option<(Vec<u8>, u64)>,
    /// What the labels of the training and held-out images name.
    class_names: Vec<String>,
    /// The step and time of the last checkpoint sent.
    checkpointed_step: u64,
    last_checkpoint: f64,
}

#[derive(Default)]
struct Caches {
    sets: HashMap<String, Rc<ImageSet>>,
    devices: HashMap<BackendKind, Device>,
    /// Timed choices ([`BackendRequest::Fastest`]) by network and batch: the backend and why.
    timed_choices: HashMap<String, (BackendKind, String)>,
}

async fn run(commands: Rc<Inbox>) {
    let mut caches = Caches::default();
    let mut current: Option<Run> = None;
    loop {
        let command = commands.pop();
        match command {
            Some(ToWorker::Start { settings, backend, play, letters, resume }) => {
                current = None;
                match start_run(settings, backend, letters.as_ref(), resume, &mut caches).await {
                    Ok(mut run) => {
                        snapshot(&mut run).await;
                        run.running = play;
                        send_status(&mut run);
                        current = Some(run);
                    }
                    Err(message) => post(&FromWorker::Failed { message }, None),
                }
            }
            Some(command) => {
                if let Some(run) = current.as_mut() {
                    handle(run, command).await;
                }
            }
            None => match current.as_mut() {
                Some(run) if run.running => {
                    let started = now();
                    if train_once(run).await {
                        run.wall_millis += now() - started;
                        let reached = run.stop_at.is_some_and(|at| run.step >= at);
                        if reached {
                            run.running = false;
                        }
                        // A snapshot at each epoch's end too: the page's reconstructions by epoch.
                        let epoch_ended = ends_an_epoch(run.step, run.settings.batch, run.train.len());
                        if reached || epoch_ended || now() >= run.next_snapshot {
                            snapshot(run).await;
                        }
                    }
                    if !run.running {
                        run.stop_at = None;
                    }
                    if now() - run.last_status >= STATUS_INTERVAL_MILLIS || !run.running {
                        send_status(run);
                    }
                    if now() - run.last_checkpoint >= CHECKPOINT_INTERVAL_MILLIS || !run.running {
                        checkpoint(run).await;
                    }
                    // A macrotask boundary, so that messages (Pause, β) get in.
                    TimeoutFuture::new(0).await;
                }
                // Nothing to train: sleep until the page sends a command.
                _ => commands.next_arrival().await,
            },
        }
    }
}

async fn handle(run: &mut Run, command: ToWorker) {
    match command {
        ToWorker::Play => {
            run.running = true;
            run.stop_at = None;
            run.message = None;
            send_status(run);
        }
        ToWorker::Pause => {
            run.running = false;
            run.stop_at = None;
            send_status(run);
            checkpoint(run).await;
        }
        ToWorker::Step { count } => {
            // Trained by the loop, as when playing, so that Pause and β changes get in.
            run.running = true;
            run.stop_at = Some(run.step + count.clamp(1, MAX_STEPS_PER_CALL));
        }
        ToWorker::SetBeta { beta } => {
            if beta.is_finite() {
                run.settings.beta = beta.clamp(0.0, 10.0);
            }
            send_status(run);
        }
        ToWorker::Export { request } => match export(run).await {
            Ok((manifest, bytes, map_means)) => {
                post(&FromWorker::Exported { request, manifest: Box::new(manifest), map_means }, Some(bytes))
            }
            Err(message) => post(&FromWorker::Failed { message }, None),
        },
        ToWorker::Start { .. } => {}
    }
}

fn send_status(run: &mut Run) {
    run.last_status = now();
    let (images_per_second, steps_per_second) = run.rates.per_second(run.last_status);
    let status = LabStatus {
        state: if run.running { LabState::Running } else { LabState::Paused },
        step: run.step,
        epoch: run.step as f64 * run.settings.batch as f64 / run.train.len().max(1) as f64,
        images_per_second,
        steps_per_second,
        backend: run.backend,
        backend_reason: run.backend_reason.clone(),
        loss: run.average.get(),
        heldout: run.heldout_losses,
        train_images: run.train.len(),
        message: run.message.clone(),
        memory_bytes: crate::browser::wasm_memory_bytes(),
        cpu_threads: crate::browser::threads::count(),
    };
    post(&FromWorker::Status(status), None);
}


//! The engine's Web Worker: holds the chosen backend and the loaded models, and answers
//! the page's [`ToEngine`] requests (load, decode, encode) with [`FromEngine`] messages.
//! Large requests run in batches and let other messages in between them, so a slider's
//! single point is not stuck behind a grid being decoded. A failed WebGPU operation
//! restarts the backend (a new device, else the CPU) with every model loaded again, and
//! the request is tried once more there.
//!
//! Written on `DedicatedWorkerGlobalScope` and `postMessage`, as the lab's worker is (see
//! `crate::worker`): requests carry binary parts and are answered out of order.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use burn::prelude::*;
use gloo_events::EventListener;
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::browser::backend::{self, BackendKind, ChosenDevice};
use crate::browser::message::{self, Part};
use crate::browser::readback::{read_floats, ReadFailure};
use crate::browser::threads;
use crate::core::data::{pad_to_model_side, IMAGE_PIXELS, MODEL_PIXELS};
use crate::core::model::{Vae, MODEL_SIDE};
use crate::core::parts::{on_threads, part_ranges};
use crate::core::weights::{self, Manifest};
use crate::engine::{FromEngine, StartedBackend, ToEngine};

/// Convolutional decodes per batch on the CPU backend (~1.3 ms each in release). A batch
/// is the longest a newer request waits: a slider's point, asked for while the traversal
/// strip of the previous position is being decoded, waits for one batch of it, not all.
/// Two keep that wait near 3 ms (slider → frame p90 in the tests' build: 22–23.5 ms with
/// four, 20.2 ms with two).
const DECODES_PER_CPU_BATCH: usize = 2;
/// Convolutional encodes per batch on the CPU backend: ~0.4 ms each.
const ENCODES_PER_CPU_BATCH: usize = 16;
/// Points or images per batch on a GPU (the 225-point grid in one).
const GPU_BATCH: usize = 256;

pub fn start() {
    crate::browser::run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("latentlab engine: internal error: {info}").into());
        post(&FromEngine::Failed { message: format!("the model engine stopped: {info}") }, None);
    }));
    let engine = Rc::new(Engine::default());
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    EventListener::new(&scope, "message", move |event| {
        let Some(event) = event.dyn_ref::<MessageEvent>() else { return };
        let data = event.data();
        let engine = engine.clone();
        spawn_local(async move { engine.handle(data).await });
    })
    .forget();
    // In the multi-threaded engine, the page's requests wait (the page holds them until
    // `Alive`) for the CPU engine's threads, and the page watches them start.
    spawn_local(async {
        #[cfg(feature = "threads")]
        threads::start(|threads| post(&FromEngine::StartingThreads { threads }, None)).await;
        post(&FromEngine::Alive, None);
    });
}

fn post(message: &FromEngine, part: Option<Part>) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let (envelope, transfer) = message::envelope(message, part);
    let _ = scope.post_message_with_transfer(&envelope, &transfer);
}

struct Loaded {
    manifest: Manifest,
    model: Vae,
    /// The weight file, to load again on a new device.
    weights: Rc<Vec<u8>>,
}

#[derive(Default)]
struct Engine {
    chosen: RefCell<Option<ChosenDevice>>,
    /// The backend as first chosen (a second `Start` gets the same), and whether that is
    /// under way.
    started: RefCell<Option<StartedBackend>>,
    starting: Cell<bool>,
    models: RefCell<HashMap<String, Rc<Loaded>>>,
    /// Counts backend restarts: a request that failed on an earlier one just tries again.
    generation: Cell<u64>,
    restarting: Cell<bool>,
}

impl Engine {
    async fn handle(&self, envelope: JsValue) {
        let request = match message::message::<ToEngine>(&envelope) {
            Ok(request) => request,
            Err(why) => {
                web_sys::console::error_1(&format!("latentlab engine: {why}").into());
                return;
            }
        };
        match request {
            ToEngine::Start { id, requested } => {
                let started = self.start_backend(requested).await;
                post(&FromEngine::Started { id, started }, None);
            }
            ToEngine::Memory { id } => post(&FromEngine::Memory { id, bytes: crate::browser::wasm_memory_bytes() }, None),
            ToEngine::Load { id, manifest } => {
                let bytes = message::part_bytes(&envelope);
                answer(id, self.load(manifest, bytes).map(|()| Vec::new()));
            }
            ToEngine::Decode { id, model } => {
                let points = message::part_floats(&envelope).ok_or("no latent points came with the request".to_string());
                let result = match points {
                    Ok(points) => self.with_retry(|| self.decode(&model, &points)).await,
                    Err(why) => Err(why),
                };
                answer(id, result);
            }
            ToEngine::Encode { id, model } => {
                let images = message::part_floats(&envelope).ok_or("no images came with the request".to_string());
                let result = match images {
                    Ok(images) => self.with_retry(|| self.encode(&model, &images)).await,
                    Err(why) => Err(why),
                };
                answer(id, result);
            }
        }
    }

    async fn start_backend(&self, requested: Option<backend::BackendRequest>) -> StartedBackend {
        while self.starting.get() {
            gloo_timers::future::TimeoutFuture::new(10).await;
        }
        if let Some(started) = self.started.borrow().clone() {
            return started;
        }
        self.starting.set(true);
        let (chosen, request_refused) = match backend::choose(requested).await {
            Ok(chosen) => (chosen, None),
            Err(why) => (backend::choose(None).await.unwrap_or_else(|_| ChosenDevice::cpu(None)), Some(why)),
        };
        let started = StartedBackend {
            backend: chosen.kind,
            fallback_reason: chosen.fallback_reason.clone(),
            timing: chosen.timing.clone(),
            lab_request: chosen.lab_request,
            request_refused,
            cpu_threads: threads::count(),
        };
        *self.chosen.borrow_mut() = Some(chosen);
        *self.started.borrow_mut() = Some(started.clone());
        self.starting.set(false);
        started
    }

    fn load(&self, manifest: Manifest, bytes: Vec<u8>) -> Result<(), String> {
        let device = self.chosen.borrow().as_ref().map(|c| c.device.clone()).ok_or("the compute backend has not started")?;
        let model = weights::load_model(&manifest, &bytes, &device).map_err(|e| e.to_string())?;
        let name = manifest.name.clone();
        self.models.borrow_mut().insert(name, Rc::new(Loaded { manifest, model, weights: Rc::new(bytes) }));
        Ok(())
    }

    fn model(&self, name: &str) -> Result<(Rc<Loaded>, ChosenDevice), String> {
        let loaded = self.models.borrow().get(name).cloned().ok_or_else(|| format!("the model {name} is not loaded"))?;
        let chosen = self.chosen.borrow().clone().ok_or("the compute backend has not started")?;
        Ok((loaded, chosen))
    }

    /// Runs `request`; when WebGPU failed under it, restarts the backend and runs it once more.
    async fn with_retry<F, T>(&self, request: impl Fn() -> F) -> Result<T, String>
    where
        F: std::future::Future<Output = Result<T, Failure>>,
    {
        let generation = self.generation.get();
        match request().await {
            Ok(value) => Ok(value),
            Err(Failure::Refused(why)) => Err(why),
            Err(Failure::Device(error)) => {
                self.restart_after(generation, &error).await;
                request().await.map_err(Failure::into_words)
            }
        }
    }

    async fn decode(&self, name: &str, latents: &[f32]) -> Result<Vec<f32>, Failure> {
        let (loaded, chosen) = self.model(name).map_err(Failure::Refused)?;
        let latent = loaded.manifest.latent;
        if latents.is_empty() || latents.len() % latent != 0 {
            return Err(Failure::Refused(format!(
                "expected latent vectors of {latent} numbers, got {} numbers in all",
                latents.len()
            )));
        }
        let per_batch = batch_size(chosen.kind, DECODES_PER_CPU_BATCH) * latent;
        let parts = threads::parts_on(chosen.kind);
        let mut pixels = Vec::with_capacity(latents.len() / latent * IMAGE_PIXELS);
        for (index, batch) in latents.chunks(per_batch).enumerate() {
            if index > 0 {
                let_other_requests_in().await;
            }
            let count = batch.len() / latent;
            let z = Tensor::<2>::from_data(TensorData::new(batch.to_vec(), [count, latent]), &chosen.device);
            let decoded = in_parts(&loaded.model, z, parts, |model, z| model.decode(z));
            pixels.extend(read_floats(decoded).await.map_err(|e| Failure::of(e, &chosen, "decoding"))?);
        }
        Ok(pixels)
    }

    /// μ for every image, then log σ² for every image.
    async fn encode(&self, name: &str, images: &[f32]) -> Result<Vec<f32>, Failure> {
        let (loaded, chosen) = self.model(name).map_err(Failure::Refused)?;
        if images.is_empty() || images.len() % IMAGE_PIXELS != 0 {
            return Err(Failure::Refused(format!(
                "expected 28×28 images of {IMAGE_PIXELS} values, got {} values in all",
                images.len()
            )));
        }
        let (mut means, mut log_vars) = (Vec::new(), Vec::new());
        let parts = threads::parts_on(chosen.kind);
        for (index, batch) in images.chunks(batch_size(chosen.kind, ENCODES_PER_CPU_BATCH) * IMAGE_PIXELS).enumerate() {
            if index > 0 {
                let_other_requests_in().await;
            }
            let count = batch.len() / IMAGE_PIXELS;
            let mut padded = Vec::with_capacity(count * MODEL_PIXELS);
            for image in batch.chunks_exact(IMAGE_PIXELS) {
                padded.extend(pad_to_model_side(image));
            }
            let inputs = Tensor::<4>::from_data(TensorData::new(padded, [count, 1, MODEL_SIDE, MODEL_SIDE]), &chosen.device);
            let encoded = in_parts(&loaded.model, inputs, parts, |model, images| {
                let (mean, log_var) = model.encode(images);
                Tensor::cat(vec![mean, log_var], 1)
            });
            let latent = loaded.manifest.latent;
            let mean = encoded.clone().narrow(1, 0, latent);
            let log_var = encoded.narrow(1, latent, latent);
            means.extend(read_floats(mean).await.map_err(|e| Failure::of(e, &chosen, "encoding"))?);
            log_vars.extend(read_floats(log_var).await.map_err(|e| Failure::of(e, &chosen, "encoding"))?);
        }
        means.extend(log_vars);
        Ok(means)
    }

    /// After a WebGPU failure on backend `generation`: restarts the backend, unless another
    /// request has already (or is doing so now).
    async fn restart_after(&self, generation: u64, error: &str) {
        loop {
            if self.generation.get() != generation {
                return;
            }
            if !self.restarting.replace(true) {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(20).await;
        }
        let (backend, message) = self.restart(error).await;
        self.generation.set(generation + 1);
        self.restarting.set(false);
        post(&FromEngine::Restarted { backend, message }, None);
    }

    /// Starts a new WebGPU device, or the CPU backend when that fails, and loads every model
    /// onto it.
    async fn restart(&self, error: &str) -> (BackendKind, String) {
        let (chosen, how) = match backend::init_webgpu().await {
            Ok(device) if backend::works(&device).await => (ChosenDevice::webgpu(device), "started a new WebGPU device"),
            outcome => {
                let why = outcome.err().unwrap_or_else(|| "a new WebGPU device does not compute either".to_string());
                let reason = format!("the WebGPU device was lost and could not be restarted ({why})");
                (ChosenDevice::cpu(Some(reason)), "moved to the CPU backend")
            }
        };
        let loaded: Vec<Rc<Loaded>> = self.models.borrow().values().cloned().collect();
        let mut moved = HashMap::new();
        let mut lost = Vec::new();
        for old in loaded {
            match weights::load_model(&old.manifest, &old.weights, &chosen.device) {
                Ok(model) => {
                    let again = Loaded { manifest: old.manifest.clone(), model, weights: old.weights.clone() };
                    moved.insert(old.manifest.name.clone(), Rc::new(again));
                }
                Err(_) => lost.push(old.manifest.name.clone()),
            }
        }
        *self.models.borrow_mut() = moved;
        let kind = chosen.kind;
        *self.chosen.borrow_mut() = Some(chosen);
        let first_line = error.lines().next().unwrap_or(error);
        let mut message = format!("The WebGPU device failed ({first_line}): the page {how} and loaded its models again.");
        if !lost.is_empty() {
            message.push_str(&format!(" These could not be loaded again: {}.", lost.join(", ")));
        }
        (kind, message)
    }
}

/// Why a request failed: something about the request, or the device under it.
enum Failure {
    Refused(String),
    /// A WebGPU operation failed: the device may be lost.
    Device(String),
}

impl Failure {
    fn of(failure: ReadFailure, chosen: &ChosenDevice, doing: &str) -> Self {
        match failure {
            ReadFailure::Data(e) => Failure::Refused(format!("unexpected output while {doing}: {e}")),
            ReadFailure::Backend(e) => {
                let message = format!("the {} backend failed while {doing}: {e}", chosen.kind.label());
                if chosen.kind == BackendKind::WebGpu {
                    Failure::Device(message)
                } else {
                    Failure::Refused(message)
                }
            }
        }
    }

    fn into_words(self) -> String {
        match self {
            Failure::Refused(why) | Failure::Device(why) => why,
        }
    }
}

/// Answers request `id`: done, with its values (none for a load), or refused.
fn answer(id: u64, result: Result<Vec<f32>, String>) {
    match result {
        Ok(values) if values.is_empty() => post(&FromEngine::Done { id }, None),
        Ok(values) => post(&FromEngine::Done { id }, Some(Part::Floats(&values))),
        Err(message) => post(&FromEngine::Refused { id, message }, None),
    }
}

/// Points or images per batch on `kind`: `per_cpu_batch` per CPU thread, or a GPU's batch.
fn batch_size(kind: BackendKind, per_cpu_batch: usize) -> usize {
    match kind {
        BackendKind::Cpu => per_cpu_batch * threads::count(),
        BackendKind::WebGpu => GPU_BATCH,
    }
}

/// `run(model, rows)` over `inputs` split by rows into `parts` (at most one per row),
/// each on a thread of its own, the outputs joined again by rows. Each row's output is
/// computed as it would be alone, so the result is the same to the bit.
fn in_parts<const D: usize, const E: usize>(
    model: &Vae,
    inputs: Tensor<D>,
    parts: usize,
    run: impl Fn(&Vae, Tensor<D>) -> Tensor<E> + Sync + Send,
) -> Tensor<E> {
    let rows = inputs.dims()[0];
    let parts = parts.clamp(1, rows.max(1));
    if parts == 1 {
        return run(model, inputs);
    }
    let work: Vec<(Vae, Tensor<D>)> = part_ranges(rows, parts).map(|(start, length)| (model.clone(), inputs.clone().narrow(0, start, length))).collect();
    Tensor::cat(on_threads(work, |(model, rows)| run(&model, rows)), 0)
}

/// Lets the page's waiting messages (a newer request) run before this one goes on: a
/// message to itself goes to the back of the worker's task queue, behind them, and is
/// not clamped as nested timeouts are.
async fn let_other_requests_in() {
    let Ok(channel) = web_sys::MessageChannel::new() else { return };
    let arrived = Promise::new(&mut |resolve, _| channel.port1().set_onmessage(Some(&resolve)));
    let _ = channel.port2().post_message(&JsValue::NULL);
    let _ = JsFuture::from(arrived).await;
}

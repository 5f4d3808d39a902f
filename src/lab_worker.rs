//! The training lab's Web Worker (its own wasm binary, `lab-worker`, with burn's autodiff
//! and optimizers): takes [`ToWorker`] messages, trains with the shared [`train_step`],
//! and reports [`FromWorker`] messages: status a few times a second, snapshots for the
//! live views within a time budget, the weights on request.
//!
//! Written on `web_sys::DedicatedWorkerGlobalScope` and `postMessage` rather than
//! `gloo-worker`: the lab needs binary parts beside JSON and a worker that keeps
//! training between messages, which gloo-worker's request/response model does not give.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use gloo_events::EventListener;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::backend_kind::{BackendKind, BackendRequest};
use crate::catalogue::DatasetId;
use crate::data::{unit_to_byte, PreparedImages, IMAGE_PIXELS};
use crate::image_set::ImageSet;
use crate::letters::{copies_per_drawing, LetterSet};
use crate::lab::{
    code_warning, evaluation_noise, BatchOrder, FromWorker, MAX_STEPS_PER_CALL, LabSettings, LabState, LabStatus, Losses, Snapshot, ToWorker,
    HELDOUT_LOSS_IMAGES, HELDOUT_MAP_IMAGES, RECONSTRUCTED,
};
use crate::math::default_latent_grid;
use crate::model::{loss_terms, ModelKind, Vae, VaeConfig};
use crate::step::{new_optimizer, train_step, StepSettings};
use crate::web::{backend, fetch, now_millis as now};
use crate::weights::{self, ArchitectureRecord, Manifest, TestMetrics, TrainingRecord};

/// Status messages go out at most this often while training runs.
const STATUS_INTERVAL_MILLIS: f64 = 250.0;
/// Live views are refreshed at least this far apart…
const SNAPSHOT_INTERVAL_MILLIS: f64 = 1000.0;
/// …and take at most this share of the time (on the CPU backend a snapshot of the
/// convolutional model costs a few training steps).
const SNAPSHOT_SHARE: f64 = 0.2;

pub fn start() {
    crate::web::run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("latentlab lab worker: internal error: {info}").into());
        post(&FromWorker::Failed { message: format!("the training worker stopped: {info}") }, None);
    }));
    let commands: Rc<Inbox> = Rc::default();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let inbox = commands.clone();
    EventListener::new(&scope, "message", move |event| {
        let json = event.dyn_ref::<MessageEvent>().and_then(|event| event.data().as_string());
        match json.map(|json| serde_json::from_str::<ToWorker>(&json)) {
            Some(Ok(command)) => inbox.push(command),
            _ => post(&FromWorker::Failed { message: "the lab sent a message the worker does not understand".into() }, None),
        }
    })
    .forget();
    wasm_bindgen_futures::spawn_local(run(commands));
    post(&FromWorker::Alive, None);
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
    epoch_sums: (f64, f64, usize),
    epoch_losses: Vec<TestMetrics>,
    average: Option<Losses>,
    heldout_losses: Option<Losses>,
    /// (time, images) of recent steps, for images per second.
    recent: VecDeque<(f64, usize)>,
    last_status: f64,
    next_snapshot: f64,
    wall_millis: f64,
    message: Option<String>,
    /// On WebGPU: the weights of the last snapshot, read back (f16), and their step, to go
    /// on from on the CPU if the device is lost.
    backup: Option<(Vec<u8>, u64)>,
    /// What the labels of the training and held-out images name.
    class_names: Vec<String>,
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
            Some(ToWorker::Start { settings, backend, play, letters }) => {
                current = None;
                match start_run(settings, backend, letters.as_ref(), &mut caches).await {
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
                        if reached || now() >= run.next_snapshot {
                            snapshot(run).await;
                        }
                    }
                    if !run.running {
                        run.stop_at = None;
                    }
                    if now() - run.last_status >= STATUS_INTERVAL_MILLIS || !run.running {
                        send_status(run);
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
    let window_start = run.recent.front().map(|(t, _)| *t);
    let images: usize = run.recent.iter().skip(1).map(|(_, n)| n).sum();
    let steps = run.recent.len().saturating_sub(1);
    let elapsed = window_start.map_or(0.0, |t| (now() - t) / 1000.0);
    let per_second = |count: f64| if elapsed > 0.0 { count / elapsed } else { 0.0 };
    let status = LabStatus {
        state: if run.running { LabState::Running } else { LabState::Paused },
        step: run.step,
        epoch: run.step as f64 * run.settings.batch as f64 / run.train.len().max(1) as f64,
        images_per_second: per_second(images as f64),
        steps_per_second: per_second(steps as f64),
        backend: run.backend,
        backend_reason: run.backend_reason.clone(),
        loss: run.average,
        heldout: run.heldout_losses,
        train_images: run.train.len(),
        message: run.message.clone(),
        memory_bytes: crate::web::wasm_memory_bytes(),
    };
    post(&FromWorker::Status(status), None);
}

async fn image_set(caches: &mut Caches, url: &str, what: &str) -> Result<Rc<ImageSet>, String> {
    if let Some(found) = caches.sets.get(url) {
        return Ok(found.clone());
    }
    let bytes = fetch::fetch_bytes(url, |received, total| {
        post(&FromWorker::Loading { what: what.to_string(), received, total }, None);
    })
    .await?;
    let set = Rc::new(ImageSet::from_bytes(&bytes).map_err(|e| format!("{url}: {e}"))?);
    caches.sets.insert(url.to_string(), set.clone());
    Ok(set)
}

async fn device(caches: &mut Caches, kind: BackendKind) -> Result<Device, String> {
    if let Some(found) = caches.devices.get(&kind) {
        return Ok(found.clone());
    }
    let device = match kind {
        BackendKind::WebGpu => backend::init_webgpu().await?,
        BackendKind::Cpu => Device::flex(),
    };
    caches.devices.insert(kind, device.clone());
    Ok(device)
}

/// The backend a run trains on, its device and why it was chosen: the one the page asks
/// for, or for [`BackendRequest::Fastest`] the faster of WebGPU and the CPU for this
/// run's network and batch, timed here (the answer can differ from the page's, which
/// times a decode: a GPU gains most on a training step's larger batch).
async fn training_device(
    caches: &mut Caches,
    requested: BackendRequest,
    settings: &LabSettings,
    train: &PreparedImages,
) -> Result<(BackendKind, Device, Option<String>), String> {
    if let BackendRequest::Only(kind) = requested {
        return Ok((kind, device(caches, kind).await?, None));
    }
    let key = format!("{}-{}-{}-{}", settings.architecture.name(), settings.latent, settings.batch, settings.kind.name());
    if let Some((kind, reason)) = caches.timed_choices.get(&key).cloned() {
        let device = device(caches, kind).await?;
        return Ok((kind, device, Some(reason)));
    }
    let cpu = device(caches, BackendKind::Cpu).await?;
    let (kind, reason) = match device(caches, BackendKind::WebGpu).await {
        Err(why) => (BackendKind::Cpu, format!("{why}; the lab trains on the CPU")),
        Ok(webgpu) => {
            post(&FromWorker::Loading { what: "the backend (timing a training step on WebGPU and on the CPU)".to_string(), received: 0, total: None }, None);
            match (step_millis(&webgpu, settings, train).await, step_millis(&cpu, settings, train).await?) {
                (Err(why), _) => (BackendKind::Cpu, format!("WebGPU failed a training step ({why}); the lab trains on the CPU")),
                (Ok(gpu_ms), cpu_ms) => {
                    let faster = if gpu_ms <= cpu_ms { BackendKind::WebGpu } else { BackendKind::Cpu };
                    let timings = format!(
                        "timed here, a training step of {} images took {gpu_ms:.0} ms on WebGPU and {cpu_ms:.0} ms on the CPU",
                        settings.batch.min(train.len())
                    );
                    (faster, timings)
                }
            }
        }
    };
    caches.timed_choices.insert(key, (kind, reason.clone()));
    Ok((kind, device(caches, kind).await?, Some(reason)))
}

/// One training step of a fresh model of `settings`' network on the first training
/// batch, after one warm-up step (which compiles WebGPU's shaders), in ms.
async fn step_millis(base: &Device, settings: &LabSettings, train: &PreparedImages) -> Result<f64, String> {
    let device = base.clone().autodiff();
    let mut model = settings.config().init(&device);
    let mut optimizer = new_optimizer();
    let step = StepSettings { kind: settings.kind, beta: settings.beta, learning_rate: settings.learning_rate };
    let indices: Vec<usize> = (0..settings.batch.min(train.len())).collect();
    let mut millis = 0.0;
    for _ in 0..2 {
        let started = now();
        let (inputs, targets) = train.batch(&indices, &device);
        let (stepped, losses) = train_step(model, &mut optimizer, inputs, targets, step);
        read_scalar(losses.reconstruction).await?;
        model = stepped;
        millis = now() - started;
    }
    Ok(millis)
}

/// A run's data: training images, held-out images and the names of their labels.
type RunData = (PreparedImages, PreparedImages, Vec<String>);

/// The shipped training subset and the first held-out images, of the chosen classes.
async fn dataset_data(settings: &LabSettings, caches: &mut Caches) -> Result<RunData, String> {
    let dataset: DatasetId = settings.dataset;
    let train_set = image_set(caches, &dataset.train_file(), "training images").await?;
    let heldout_set = image_set(caches, &dataset.heldout_file(), "held-out images").await?;
    let train = PreparedImages::from_bytes(&train_set.pixels, &train_set.labels, None, &settings.classes);
    let heldout_count = HELDOUT_MAP_IMAGES.min(heldout_set.len());
    let heldout = PreparedImages::from_bytes(&heldout_set.pixels, &heldout_set.labels, Some(heldout_count), &settings.classes);
    Ok((train, heldout, dataset.class_names().iter().map(|s| s.to_string()).collect()))
}

/// The person's letters: augmented copies to train on, and the drawings themselves as
/// the held-out set (so the map shows each drawing).
fn letter_data(letters: Option<&LetterSet>, seed: u64) -> Result<RunData, String> {
    let set = letters.ok_or("the lab was asked to train on letters but none came with the request")?;
    set.check_trainable()?;
    post(&FromWorker::Loading { what: "augmented letters".to_string(), received: 0, total: None }, None);
    let train = set.training_images(copies_per_drawing(set.drawings.len()), seed);
    let drawn = set.images();
    Ok((
        PreparedImages::from_bytes(&train.pixels, &train.labels, None, &[]),
        PreparedImages::from_bytes(&drawn.pixels, &drawn.labels, None, &[]),
        drawn.class_names,
    ))
}

async fn start_run(settings: LabSettings, requested: BackendRequest, letters: Option<&LetterSet>, caches: &mut Caches) -> Result<Run, String> {
    settings.validate()?;
    let (train, heldout, class_names) = if settings.letters {
        letter_data(letters, settings.seed)?
    } else {
        dataset_data(&settings, caches).await?
    };
    if train.is_empty() || heldout.is_empty() {
        return Err("no training images in the chosen classes".to_string());
    }
    let heldout_pixels: Vec<u8> = heldout.targets.iter().copied().map(unit_to_byte).collect();
    post(
        &FromWorker::Heldout { labels: heldout.labels.clone(), class_names: class_names.clone(), count: heldout.len() },
        Some(heldout_pixels),
    );

    let (backend, base, backend_reason) = training_device(caches, requested, &settings, &train).await?;
    let device = base.clone().autodiff();
    device.seed(settings.seed);
    let config = settings.config();
    let model = match &settings.from {
        None => config.init(&device),
        Some(name) => {
            let manifest_url = format!("models/{name}.json");
            let manifest = weights::parse_manifest(&fetch::fetch_text(&manifest_url).await?)
                .map_err(|e| format!("{manifest_url}: {e}"))?;
            let url = format!("models/{}", manifest.weights);
            let bytes = fetch::fetch_bytes(&url, |received, total| {
                post(&FromWorker::Loading { what: format!("{name}'s weights"), received, total }, None);
            })
            .await?;
            weights::load_model(&manifest, &bytes, &device).map_err(|e| format!("{url}: {e}"))?.train()
        }
    };
    let batches = BatchOrder::new(train.len(), settings.seed);
    Ok(Run {
        backend,
        backend_reason,
        device,
        last_good: model.clone(),
        model,
        optimizer: new_optimizer(),
        train: Rc::new(train),
        heldout: Rc::new(heldout),
        running: false,
        stop_at: None,
        step: 0,
        batches,
        epoch_sums: (0.0, 0.0, 0),
        epoch_losses: Vec::new(),
        average: None,
        heldout_losses: None,
        recent: VecDeque::new(),
        last_status: 0.0,
        next_snapshot: 0.0,
        wall_millis: 0.0,
        message: None,
        backup: None,
        class_names,
        settings,
    })
}

/// The next batch's image indices; at each epoch's end, its mean losses are kept.
fn next_batch(run: &mut Run) -> Vec<usize> {
    let (sums, epoch_losses) = (&mut run.epoch_sums, &mut run.epoch_losses);
    run.batches.next_batch(run.settings.batch, || {
        let (recon, kl, seen) = std::mem::take(sums);
        if seen > 0 {
            let n = seen as f64;
            epoch_losses.push(TestMetrics { neg_elbo: (recon + kl) / n, reconstruction: recon / n, kl: kl / n });
        }
    })
}

/// One training step; `false` when the loss was not finite (the run is then paused with
/// its last good weights and a message).
async fn train_once(run: &mut Run) -> bool {
    let indices = next_batch(run);
    let (inputs, targets) = run.train.batch(&indices, &run.device);
    let settings = StepSettings {
        kind: run.settings.kind,
        beta: run.settings.beta,
        learning_rate: run.settings.learning_rate,
    };
    let before = run.model.clone();
    let (model, losses) = train_step(run.model.clone(), &mut run.optimizer, inputs, targets, settings);
    run.model = model;
    let reconstruction = read_scalar(losses.reconstruction).await;
    let kl = match losses.kl {
        Some(kl) => read_scalar(kl).await,
        None => Ok(0.0),
    };
    let (reconstruction, kl) = match (reconstruction, kl) {
        (Ok(r), Ok(k)) if r.is_finite() && k.is_finite() => (r, k),
        (Err(e), _) | (_, Err(e)) if run.backend == BackendKind::WebGpu && run.backup.is_some() => {
            fall_back_to_cpu(run, &e);
            return false;
        }
        (r, k) => {
            let what = match (r, k) {
                (Err(e), _) | (_, Err(e)) => format!("the backend failed ({e})"),
                (Ok(r), Ok(k)) => format!("the loss became {r} + {k}"),
            };
            run.model = run.last_good.clone();
            run.optimizer = new_optimizer();
            run.running = false;
            run.message = Some(format!(
                "Training paused at step {}: {what}. The weights from the last good step are kept. \
                 The learning rate ({}) is probably too high: try a lower one.",
                run.step + 1,
                run.settings.learning_rate
            ));
            return false;
        }
    };
    run.last_good = before;
    run.step += 1;
    let n = indices.len();
    run.epoch_sums.0 += reconstruction * n as f64;
    run.epoch_sums.1 += kl * n as f64;
    run.epoch_sums.2 += n;
    let beta = f64::from(run.settings.beta);
    let latest = Losses::new(reconstruction, kl, beta);
    run.average = Some(match run.average {
        None => latest,
        Some(old) => {
            let mix = |a: f64, b: f64| 0.9 * a + 0.1 * b;
            Losses::new(mix(old.reconstruction, reconstruction), mix(old.kl, kl), beta)
        }
    });
    let time = now();
    run.recent.push_back((time, n));
    while run.recent.len() > 2 && run.recent.front().is_some_and(|(t, _)| time - t > 3000.0) {
        run.recent.pop_front();
    }
    true
}

/// After the WebGPU device failed (lost, or out of memory): goes on training on the CPU
/// backend from the weights of the last snapshot.
fn fall_back_to_cpu(run: &mut Run, error: &str) {
    let Some((bytes, step)) = run.backup.take() else { return };
    let error = error.lines().next().unwrap_or(error);
    let device = Device::flex().autodiff();
    let config = run.settings.config();
    match weights::load_unchecked(&config, &bytes, &device) {
        Ok(model) => {
            let model = model.train();
            run.model = model.clone();
            run.last_good = model;
            run.optimizer = new_optimizer();
            run.device = device;
            run.backend = BackendKind::Cpu;
            run.backend_reason = None;
            run.message = Some(format!(
                "The WebGPU device failed at step {} ({error}): training goes on on the CPU backend from step {step}, \
                 the last snapshot.",
                run.step + 1
            ));
            run.step = step;
            run.recent.clear();
        }
        Err(e) => {
            run.running = false;
            run.message = Some(format!("The WebGPU device failed ({error}) and the last snapshot could not be restored: {e}"));
        }
    }
}

async fn read_scalar(tensor: Tensor<1>) -> Result<f64, String> {
    let data = tensor.into_data_async().await.map_err(|e| format!("{e:?}"))?;
    let values = data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    values.first().map(|v| f64::from(*v)).ok_or_else(|| "no value".to_string())
}

async fn read_values(tensor: Tensor<2>) -> Result<Vec<f32>, String> {
    tensor
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))
}

async fn read_pixels(tensor: Tensor<4>) -> Result<Vec<u8>, String> {
    let values = tensor.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    Ok(values.into_iter().map(unit_to_byte).collect())
}

/// The held-out encodings (μ, log σ²) of every held-out image, in chunks.
async fn encode_heldout(model: &Vae, heldout: &PreparedImages, device: &Device) -> Result<(Vec<f32>, Vec<f32>), String> {
    let (mut means, mut log_vars) = (Vec::new(), Vec::new());
    let indices: Vec<usize> = (0..heldout.len()).collect();
    for chunk in indices.chunks(250) {
        let (inputs, _) = heldout.batch(chunk, device);
        let (mean, log_var) = model.encode(inputs);
        means.extend(read_values(mean).await?);
        log_vars.extend(read_values(log_var).await?);
    }
    Ok((means, log_vars))
}

/// The evaluation set's losses: reconstruction of its first `count` images (z sampled
/// with the run's fixed [`evaluation_noise`] for a VAE, z = μ for an autoencoder) and
/// their mean KL from the encodings already read.
async fn heldout_losses(
    model: &Vae,
    settings: &LabSettings,
    heldout: &PreparedImages,
    count: usize,
    (means, log_vars): (&[f32], &[f32]),
    beta: f64,
    device: &Device,
) -> Result<Losses, String> {
    let kind = settings.kind;
    let count = count.min(heldout.len());
    let indices: Vec<usize> = (0..count).collect();
    let noise = evaluation_noise(settings.seed, count, settings.latent);
    let mut reconstruction = 0.0;
    for chunk in indices.chunks(250) {
        let (inputs, targets) = heldout.batch(chunk, device);
        let output = match kind {
            ModelKind::Vae => {
                let chunk_noise = noise[chunk[0] * settings.latent..(chunk[0] + chunk.len()) * settings.latent].to_vec();
                let chunk_noise = Tensor::<2>::from_data(TensorData::new(chunk_noise, [chunk.len(), settings.latent]), device);
                model.forward_with_noise(inputs, chunk_noise)
            }
            ModelKind::Ae => model.forward_mean(inputs),
        };
        let terms = loss_terms(&output, targets);
        reconstruction += read_scalar(terms.reconstruction).await? * chunk.len() as f64;
    }
    reconstruction /= count as f64;
    let latent = means.len() / heldout.len().max(1);
    let kl = if kind == ModelKind::Vae && latent > 0 {
        let terms = means[..count * latent].iter().zip(&log_vars[..count * latent]);
        terms.map(|(m, v)| 0.5 * f64::from(v.exp() + m * m - v - 1.0)).sum::<f64>() / count as f64
    } else {
        0.0
    };
    Ok(Losses::new(reconstruction, kl, beta))
}

/// Re-encodes the held-out images and decodes the reconstructions and the grid, then
/// sends them; schedules the next snapshot so that views take a bounded share of time.
async fn snapshot(run: &mut Run) {
    let started = now();
    match take_snapshot(run).await {
        Ok((mut snapshot, bytes)) => {
            snapshot.millis = now() - started;
            if let Some(warning) = code_warning(run.settings.kind, run.step, &snapshot.heldout, &snapshot.means, snapshot.latent) {
                run.message.get_or_insert(warning);
            }
            run.heldout_losses = Some(snapshot.heldout);
            post(&FromWorker::Snapshot(snapshot), Some(bytes));
            if run.backend == BackendKind::WebGpu {
                if let Ok(cpu) = to_cpu(&run.model.valid(), &run.settings.config()).await {
                    run.backup = weights::to_f16_bytes(&cpu).ok().map(|bytes| (bytes, run.step));
                }
            }
        }
        Err(message) => run.message = Some(format!("The live views could not be updated: {message}")),
    }
    let cost = now() - started;
    run.next_snapshot = now() + SNAPSHOT_INTERVAL_MILLIS.max(cost / SNAPSHOT_SHARE);
}

async fn take_snapshot(run: &Run) -> Result<(Snapshot, Vec<u8>), String> {
    let model = run.model.valid();
    let device = run.device.clone().inner();
    let (means, log_vars) = encode_heldout(&model, &run.heldout, &device).await?;
    let beta = f64::from(run.settings.beta);
    let heldout = heldout_losses(&model, &run.settings, &run.heldout, HELDOUT_LOSS_IMAGES, (&means[..], &log_vars[..]), beta, &device).await?;
    let latent = run.settings.latent;
    let shown = RECONSTRUCTED.min(run.heldout.len());
    let mut latents: Vec<f32> = means[..shown * latent].to_vec();
    let has_grid = latent == 2;
    if has_grid {
        latents.extend(default_latent_grid().into_iter().flatten());
    }
    let count = latents.len() / latent;
    let z = Tensor::<2>::from_data(TensorData::new(latents, [count, latent]), &device);
    let bytes = read_pixels(model.decode(z)).await?;
    debug_assert_eq!(bytes.len(), count * IMAGE_PIXELS);
    let snapshot = Snapshot {
        step: run.step,
        epoch: run.step as f64 * run.settings.batch as f64 / run.train.len().max(1) as f64,
        loss: run.average,
        heldout,
        latent,
        means,
        millis: 0.0,
        has_grid,
    };
    Ok((snapshot, bytes))
}

/// Collects every float parameter (flattened) in visiting order.
struct Parameters(Vec<(Tensor<1>, Vec<usize>)>);

impl ModuleVisitor for Parameters {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        let count: usize = shape.iter().product();
        self.0.push((tensor.reshape([count]), shape));
    }
}

/// Puts parameters read back from the device into a model, in visiting order.
struct Refill(VecDeque<TensorData>, Device);

impl ModuleMapper for Refill {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let value = self.0.pop_front().map_or(tensor, |data| Tensor::from_data(data, &self.1));
        Param::from_mapped_value(id, value, mapper)
    }
}

/// The model on the CPU backend, read back asynchronously (synchronous reads and device
/// moves panic on WebGPU in wasm).
async fn to_cpu(model: &Vae, config: &VaeConfig) -> Result<Vae, String> {
    let mut parameters = Parameters(Vec::new());
    model.visit(&mut parameters);
    let mut datas = VecDeque::new();
    for (tensor, shape) in parameters.0 {
        let values = tensor.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        datas.push_back(TensorData::new(values, shape));
    }
    let cpu = Device::flex();
    Ok(config.init(&cpu).map(&mut Refill(datas, cpu)))
}

/// The model as it is now, as a shipped model: f16 weights and a manifest whose test
/// metrics are measured on all held-out images.
async fn export(run: &Run) -> Result<(Manifest, Vec<u8>, Vec<f32>), String> {
    let settings = &run.settings;
    let config = settings.config();
    let cpu_model = to_cpu(&run.model.valid(), &config).await?;
    let bytes = weights::to_f16_bytes(&cpu_model).map_err(|e| e.to_string())?;
    let cpu = Device::flex();
    let rounded = weights::load_unchecked(&config, &bytes, &cpu).map_err(|e| e.to_string())?;
    let encoded = encode_heldout(&rounded, &run.heldout, &cpu).await?;
    let losses = heldout_losses(&rounded, settings, &run.heldout, run.heldout.len(), (&encoded.0[..], &encoded.1[..]), 1.0, &cpu).await?;
    let name = settings.model_name(run.step);
    let manifest = Manifest {
        name: name.clone(),
        dataset: settings.data_name().to_string(),
        kind: settings.kind,
        latent: settings.latent,
        architecture: ArchitectureRecord::of(&config),
        weights: format!("{name}.bpk"),
        precision: "f16".to_string(),
        sha256: weights::sha256_hex(&bytes),
        weight_bytes: bytes.len(),
        training: TrainingRecord {
            epochs: run.batches.epoch(),
            batch: settings.batch,
            learning_rate: settings.learning_rate,
            beta: f64::from(settings.beta),
            seed: settings.seed,
            train_images: run.train.len(),
            test_images: run.heldout.len(),
            wall_time_seconds: run.wall_millis / 1000.0,
            epoch_losses: run.epoch_losses.clone(),
        },
        test_metrics: TestMetrics { neg_elbo: losses.reconstruction + losses.kl, reconstruction: losses.reconstruction, kl: losses.kl },
        test_metrics_f32: None,
        class_names: run.class_names.clone(),
        classes: (!settings.classes.is_empty() && !settings.letters).then(|| settings.classes.clone()),
        latent_map: None,
        history: None,
        trained_in: Some(format!("the browser's training lab ({}), {} steps", run.backend.name(), run.step)),
    };
    Ok((manifest, bytes, encoded.0))
}

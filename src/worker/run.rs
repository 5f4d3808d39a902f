//! A training run: its settings, model, optimiser, data and bookkeeping; how it starts
//! (data, backend, device) and how it trains one step, or moves to the CPU.

use std::rc::Rc;

use burn::prelude::*;

use super::{post, Caches, Run};
use crate::browser::readback::read_scalar;
use crate::browser::{backend, clock::now_millis as now, fetch, threads};
use crate::core::backend_kind::{BackendKind, BackendRequest};
use crate::core::catalogue::{model_file_url, DatasetId};
use crate::core::data::{unit_to_byte, PreparedImages};
use crate::core::image_set::ImageSet;
use crate::core::letters::{copies_per_drawing, LetterSet};
use crate::core::weights;
use crate::lab::progress::{diverged_message, EpochLosses, Rates, RunningLosses, StepOutcome};
use crate::lab::{BatchOrder, Checkpoint, FromWorker, LabSettings, HELDOUT_MAP_IMAGES};
use crate::train::step::{new_optimizer, train_step_in_parts, StepSettings};

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
            match (step_millis(&webgpu, BackendKind::WebGpu, settings, train).await, step_millis(&cpu, BackendKind::Cpu, settings, train).await?) {
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
async fn step_millis(base: &Device, kind: BackendKind, settings: &LabSettings, train: &PreparedImages) -> Result<f64, String> {
    let device = base.clone().autodiff();
    let mut model = settings.config().init(&device);
    let mut optimizer = new_optimizer();
    let step = StepSettings { kind: settings.kind, beta: settings.beta, learning_rate: settings.learning_rate };
    let indices: Vec<usize> = (0..settings.batch.min(train.len())).collect();
    let mut millis = 0.0;
    for _ in 0..2 {
        let started = now();
        let (inputs, targets) = train.batch(&indices, &device);
        let (stepped, losses) = train_step_in_parts(model, &mut optimizer, inputs, targets, step, threads::parts_on(kind));
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

pub(super) async fn start_run(
    settings: LabSettings,
    requested: BackendRequest,
    letters: Option<&LetterSet>,
    resume: Option<Checkpoint>,
    caches: &mut Caches,
) -> Result<Run, String> {
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
    let model = match (&resume, &settings.from) {
        (Some(checkpoint), _) => weights::load_unchecked(&config, &checkpoint.weights, &device)
            .map_err(|e| format!("the checkpoint to go on from could not be read ({e})"))?
            .train(),
        (None, None) => config.init(&device),
        (None, Some(name)) => {
            let manifest_url = model_file_url(&format!("{name}.json"));
            let manifest = weights::parse_manifest(&fetch::fetch_text(&manifest_url).await?)
                .map_err(|e| format!("{manifest_url}: {e}"))?;
            let url = model_file_url(&manifest.weights);
            let bytes = fetch::fetch_bytes(&url, |received, total| {
                post(&FromWorker::Loading { what: format!("{name}'s weights"), received, total }, None);
            })
            .await?;
            weights::load_model(&manifest, &bytes, &device).map_err(|e| format!("{url}: {e}"))?.train()
        }
    };
    let step = resume.as_ref().map_or(0, |c| c.step);
    let batches = BatchOrder::after(train.len(), settings.seed, settings.batch, step);
    let message = resume.as_ref().map(|c| {
        format!(
            "Resumed from its last checkpoint, kept in this browser: step {}, paused. Press Play to go on \
             (the optimizer's running averages start afresh).",
            c.step
        )
    });
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
        step,
        batches,
        epochs: resume.as_ref().map_or_else(EpochLosses::default, |c| EpochLosses::resumed(c.epoch_losses.clone())),
        average: RunningLosses::default(),
        heldout_losses: None,
        rates: Rates::default(),
        last_status: 0.0,
        next_snapshot: 0.0,
        wall_millis: resume.as_ref().map_or(0.0, |c| c.wall_millis),
        message,
        backup: None,
        class_names,
        checkpointed_step: step,
        last_checkpoint: now(),
        settings,
    })
}

/// One training step; `false` when the loss was not finite (the run is then paused with
/// its last good weights and a message).
pub(super) async fn train_once(run: &mut Run) -> bool {
    // At each epoch's end, its mean losses are kept.
    let epochs = &mut run.epochs;
    let indices = run.batches.next_batch(run.settings.batch, || epochs.end_epoch());
    let (inputs, targets) = run.train.batch(&indices, &run.device);
    let settings = StepSettings {
        kind: run.settings.kind,
        beta: run.settings.beta,
        learning_rate: run.settings.learning_rate,
    };
    let before = run.model.clone();
    let parts = threads::parts_on(run.backend);
    let (model, losses) = train_step_in_parts(run.model.clone(), &mut run.optimizer, inputs, targets, settings, parts);
    run.model = model;
    let reconstruction = read_scalar(losses.reconstruction).await;
    let kl = match losses.kl {
        Some(kl) => read_scalar(kl).await,
        None => Ok(0.0),
    };
    let can_leave_device = run.backend == BackendKind::WebGpu && run.backup.is_some();
    let (reconstruction, kl) = match StepOutcome::judge(reconstruction, kl, can_leave_device) {
        StepOutcome::Trained { reconstruction, kl } => (reconstruction, kl),
        StepOutcome::DeviceFailed(error) => {
            fall_back_to_cpu(run, &error);
            return false;
        }
        StepOutcome::Diverged(what) => {
            run.model = run.last_good.clone();
            run.optimizer = new_optimizer();
            run.running = false;
            run.message = Some(diverged_message(run.step + 1, &what, run.settings.learning_rate));
            return false;
        }
    };
    run.last_good = before;
    run.step += 1;
    run.epochs.add(reconstruction, kl, indices.len());
    run.average.add(reconstruction, kl, f64::from(run.settings.beta));
    run.rates.record(now(), indices.len());
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
            run.rates.clear();
        }
        Err(e) => {
            run.running = false;
            run.message = Some(format!("The WebGPU device failed ({error}) and the last snapshot could not be restored: {e}"));
        }
    }
}


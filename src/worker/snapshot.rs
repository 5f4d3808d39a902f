//! What the lab shows of a run: snapshots for the live views (held-out encodings and
//! losses, reconstructions, the grid) and the model exported as a shipped one.

use std::collections::VecDeque;

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use super::{post, Run};
use crate::browser::readback::{read_floats, read_pixels, read_scalar};
use crate::browser::clock::now_millis as now;
use crate::core::backend_kind::BackendKind;
use crate::core::data::{PreparedImages, IMAGE_PIXELS};
use crate::core::math::default_latent_grid;
use crate::core::model::{gaussian_kl, loss_terms, ModelKind, Vae, VaeConfig};
use crate::core::weights::{self, Manifest, TestMetrics, TrainingRecord};
use crate::lab::{Checkpoint, code_warning, evaluation_noise, FromWorker, LabSettings, Losses, Snapshot, HELDOUT_LOSS_IMAGES, RECONSTRUCTED};

/// Live views are refreshed at least this far apart…
const SNAPSHOT_INTERVAL_MILLIS: f64 = 1000.0;
/// …and take at most this share of the time (on the CPU backend a snapshot of the
/// convolutional model costs a few training steps).
const SNAPSHOT_SHARE: f64 = 0.2;

/// The held-out encodings (μ, log σ²) of every held-out image, in chunks.
async fn encode_heldout(model: &Vae, heldout: &PreparedImages, device: &Device) -> Result<(Vec<f32>, Vec<f32>), String> {
    let (mut means, mut log_vars) = (Vec::new(), Vec::new());
    let indices: Vec<usize> = (0..heldout.len()).collect();
    for chunk in indices.chunks(250) {
        let (inputs, _) = heldout.batch(chunk, device);
        let (mean, log_var) = model.encode(inputs);
        means.extend(read_floats(mean).await?);
        log_vars.extend(read_floats(log_var).await?);
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
        terms.map(|(&m, &v)| gaussian_kl(m, v)).sum::<f64>() / count as f64
    } else {
        0.0
    };
    Ok(Losses::new(reconstruction, kl, beta))
}

/// Re-encodes the held-out images and decodes the reconstructions and the grid, then
/// sends them; schedules the next snapshot so that views take a bounded share of time.
pub(super) async fn snapshot(run: &mut Run) {
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

/// Sends the weights as they are now, unless they were sent at this step already.
pub(super) async fn checkpoint(run: &mut Run) {
    if run.step == run.checkpointed_step {
        return;
    }
    let Ok(cpu) = to_cpu(&run.model.valid(), &run.settings.config()).await else { return };
    let Ok(bytes) = weights::to_f16_bytes(&cpu) else { return };
    run.checkpointed_step = run.step;
    run.last_checkpoint = now();
    let checkpoint =
        Checkpoint { step: run.step, wall_millis: run.wall_millis, epoch_losses: run.epochs.finished().to_vec(), weights: Vec::new() };
    post(&FromWorker::Checkpoint { checkpoint }, Some(bytes));
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
        loss: run.average.get(),
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

/// Puts parameters read back from the device into a freshly built model, in visiting order.
struct Refill(VecDeque<TensorData>, Device);

impl ModuleMapper for Refill {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // The fresh model's parameters are still lazy: replacing them without reading them
        // leaves their random initialisation unrun, so a copy (a checkpoint, an export)
        // draws nothing from the CPU backend's random stream, which training on the CPU
        // shares; a seeded run stays the same wherever its copies fall.
        match self.0.pop_front() {
            Some(data) => Param::initialized(param.id, Tensor::from_data(data, &self.1)),
            None => param,
        }
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
pub(super) async fn export(run: &Run) -> Result<(Manifest, Vec<u8>, Vec<f32>), String> {
    let settings = &run.settings;
    let config = settings.config();
    let cpu_model = to_cpu(&run.model.valid(), &config).await?;
    let bytes = weights::to_f16_bytes(&cpu_model).map_err(|e| e.to_string())?;
    let cpu = Device::flex();
    let rounded = weights::load_unchecked(&config, &bytes, &cpu).map_err(|e| e.to_string())?;
    let encoded = encode_heldout(&rounded, &run.heldout, &cpu).await?;
    let losses = heldout_losses(&rounded, settings, &run.heldout, run.heldout.len(), (&encoded.0[..], &encoded.1[..]), 1.0, &cpu).await?;
    let name = settings.model_name(run.step);
    let training = TrainingRecord {
        epochs: run.batches.epoch(),
        batch: settings.batch,
        learning_rate: settings.learning_rate,
        beta: f64::from(settings.beta),
        seed: settings.seed,
        train_images: run.train.len(),
        test_images: run.heldout.len(),
        wall_time_seconds: run.wall_millis / 1000.0,
        epoch_losses: run.epochs.finished().to_vec(),
    };
    let test_metrics =
        TestMetrics { neg_elbo: losses.reconstruction + losses.kl, reconstruction: losses.reconstruction, kl: losses.kl };
    let manifest = Manifest {
        class_names: run.class_names.clone(),
        classes: (!settings.classes.is_empty() && !settings.letters).then(|| settings.classes.clone()),
        trained_in: Some(format!("the browser's training lab ({}), {} steps", run.backend.name(), run.step)),
        ..Manifest::of_f16_weights(&name, settings.data_name(), settings.kind, &config, &bytes, training, test_metrics)
    };
    Ok((manifest, bytes, encoded.0))
}

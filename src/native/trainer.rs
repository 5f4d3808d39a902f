//! Native training and evaluation of the VAE on MNIST-format datasets.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::core::artifacts::{EpochSnapshot, History, LatentMap};
use crate::core::catalogue::DatasetId;
use crate::core::data::{unit_to_byte, PreparedImages};
use crate::core::model::{loss_terms, Architecture, ModelKind, Vae, VaeConfig};
use crate::core::weights::{self, LossSums, Manifest, TestMetrics, TrainingRecord};
use crate::native::idx::{load_split, LabelledImages, Split};
use crate::train::step::{new_optimizer, train_step_in_parts, StepSettings};

/// The first `limit` images of the split (all by default) whose label is in `classes`
/// (any label when `classes` is empty), prepared for the model.
pub fn prepare_split(split: &LabelledImages, limit: Option<usize>, classes: &[u8]) -> PreparedImages {
    PreparedImages::from_bytes(&split.images.pixels, &split.labels, limit, classes)
}

/// What to train and how: the `train` command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainOptions {
    #[arg(long, value_enum, default_value = "fashion-mnist")]
    pub dataset: DatasetId,
    /// Folder holding mnist/ and fashion-mnist/ in IDX format.
    #[arg(long, default_value = "../shared/data")]
    pub data_dir: PathBuf,
    /// Model name: the files become NAME.bpk, NAME.json, NAME.map.bin and
    /// NAME.history.bin. Default: DATASET-KIND-LATENTd, with "-dense" after the dataset
    /// for the dense network.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, value_enum, default_value = "vae")]
    pub kind: ModelKind,
    /// Train (and test) on these labels only, e.g. --classes 0,4,8 (default: all).
    #[arg(long, value_delimiter = ',')]
    pub classes: Vec<u8>,
    #[arg(long, default_value_t = 2)]
    pub latent: usize,
    /// The network: convolutional, or the letters article's dense one (784 → 512 → z).
    #[arg(long, value_enum, default_value = "conv")]
    pub arch: Architecture,
    /// Convolutional: channels of the first convolution (the next ones have 2× and 4×).
    #[arg(long, default_value_t = 32)]
    pub channels: usize,
    /// Dense: units of the hidden layer.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[arg(long = "lr", default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Weight of the KL term.
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train on the first N training images only.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long)]
    pub test_limit: Option<usize>,
    /// Where the weights and manifest go.
    #[arg(long, default_value = "www/models")]
    pub out_dir: PathBuf,
    /// Where per-epoch checkpoints go (training resumes from them). Default: target/checkpoints/NAME.
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
}

impl TrainOptions {
    pub fn model_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let arch = match self.arch {
                Architecture::Conv => "",
                Architecture::Dense => "-dense",
            };
            format!("{}{arch}-{}-{}d", self.dataset.name(), self.kind.name(), self.latent)
        })
    }

    fn checkpoint_dir(&self) -> PathBuf {
        self.checkpoint_dir
            .clone()
            .unwrap_or_else(|| Path::new("target/checkpoints").join(self.model_name()))
    }
}

/// Resumable state written after every epoch.
#[derive(Serialize, Deserialize)]
struct CheckpointState {
    epochs_done: usize,
    wall_time_seconds: f64,
    epoch_losses: Vec<TestMetrics>,
}

struct CheckpointPaths {
    model: PathBuf,
    optimizer: PathBuf,
    state: PathBuf,
    history: PathBuf,
}

impl CheckpointPaths {
    fn in_dir(dir: &Path) -> Self {
        Self {
            model: dir.join("model.bpk"),
            optimizer: dir.join("optimizer.bpk"),
            state: dir.join("state.json"),
            history: dir.join("history.bin"),
        }
    }
}

/// How many test images the shipped latent map holds.
pub const LATENT_MAP_IMAGES: usize = 5000;
/// How many test images each epoch of the history maps (2-D models).
pub const HISTORY_MAP_IMAGES: usize = 1000;
/// How many fixed test images each epoch of the history reconstructs.
pub const HISTORY_RECONSTRUCTIONS: usize = 10;

pub type Error = Box<dyn std::error::Error>;

/// Trains a VAE, evaluates it on the test set, and writes `{name}.bpk` (f16) and
/// `{name}.json` (its manifest) into `out_dir`. Returns the manifest.
pub fn train(options: &TrainOptions) -> Result<Manifest, Error> {
    let folder = options.data_dir.join(options.dataset.name());
    let train_split = load_split(&folder, Split::Train)?;
    let test_split = load_split(&folder, Split::Test)?;
    let train_set = prepare_split(&train_split, options.train_limit, &options.classes);
    let test_set = prepare_split(&test_split, options.test_limit, &options.classes);
    if train_set.is_empty() || test_set.is_empty() {
        return Err("no images to train or test on".into());
    }

    let device = Device::flex().autodiff();
    device.seed(options.seed);
    let config = VaeConfig::new()
        .with_latent(options.latent)
        .with_architecture(options.arch)
        .with_channels(options.channels)
        .with_hidden(options.hidden);
    let mut model = config.init(&device);
    let mut optimizer = new_optimizer();

    let name = options.model_name();
    let checkpoint_dir = options.checkpoint_dir();
    std::fs::create_dir_all(&checkpoint_dir)?;
    let paths = CheckpointPaths::in_dir(&checkpoint_dir);
    let mut state = CheckpointState {
        epochs_done: 0,
        wall_time_seconds: 0.0,
        epoch_losses: Vec::new(),
    };
    let history_size = HISTORY_RECONSTRUCTIONS.min(test_set.len());
    let history_map_size = if options.latent == 2 {
        HISTORY_MAP_IMAGES.min(test_set.len())
    } else {
        0
    };
    let mut history = History {
        latent: options.latent,
        map_labels: test_set.labels[..history_map_size].to_vec(),
        reconstructed: (0..history_size as u32).collect(),
        snapshots: Vec::new(),
    };
    if paths.state.is_file() {
        state = serde_json::from_str(&std::fs::read_to_string(&paths.state)?)?;
        model = weights::load_unchecked(&config, &std::fs::read(&paths.model)?, &device)?.train();
        optimizer = optimizer.from_bytes(Bytes::from_bytes_vec(std::fs::read(&paths.optimizer)?))?;
        history = History::from_bytes(&std::fs::read(&paths.history)?)?;
        eprintln!(
            "resuming {name} from its checkpoint after epoch {}",
            state.epochs_done
        );
    }

    let snapshot_device = Device::flex();
    let batches_per_epoch = train_set.len().div_ceil(options.batch);
    for epoch in state.epochs_done..options.epochs {
        let started = Instant::now();
        // Seeding each epoch from (seed, epoch) makes a resumed run repeat an uninterrupted one.
        let epoch_seed = options.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64);
        device.seed(epoch_seed);
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(epoch_seed));

        let progress = ProgressBar::new(batches_per_epoch as u64);
        progress.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} batches, {elapsed} elapsed, ETA {eta} | {msg}",
            )?
            .progress_chars("=> "),
        );
        progress.set_prefix(format!("{}/{}", epoch + 1, options.epochs));
        let mut sums = LossSums::default();
        for indices in order.chunks(options.batch) {
            let (inputs, targets) = train_set.batch(indices, &device);
            let settings = StepSettings {
                kind: options.kind,
                beta: options.beta as f32,
                learning_rate: options.learning_rate,
            };
            let (next, losses) = train_step_in_parts(model, &mut optimizer, inputs, targets, settings, rayon::current_num_threads());
            model = next;
            let recon: f32 = losses.reconstruction.into_scalar();
            let kl: f32 = losses.kl.map_or(0.0, |kl| kl.into_scalar());
            if !recon.is_finite() || !kl.is_finite() {
                return Err(format!(
                    "the loss became {recon} + {kl} in epoch {}: lower the learning rate",
                    epoch + 1
                )
                .into());
            }
            sums.add(f64::from(recon), f64::from(kl), indices.len());
            progress.inc(1);
            if let Some(m) = sums.means() {
                progress.set_message(format!(
                    "loss {:.1} = recon {:.1} + KL {:.2}",
                    m.neg_elbo, m.reconstruction, m.kl
                ));
            }
        }
        progress.finish();
        if !std::io::stderr().is_terminal() {
            // The bar only draws on a terminal; leave a line per epoch in logs.
            eprintln!(
                "epoch {}/{}: {} ({:.0} s)",
                epoch + 1,
                options.epochs,
                progress.message(),
                started.elapsed().as_secs_f64()
            );
        }
        let losses = sums.means().ok_or("an epoch of no batches: the training set is empty")?;
        state.epoch_losses.push(losses);
        state.epochs_done = epoch + 1;
        state.wall_time_seconds += started.elapsed().as_secs_f64();
        let snapshot_model = model.clone().valid();
        history.snapshots.push(EpochSnapshot {
            epoch: state.epochs_done as u32,
            train_losses: [losses.neg_elbo as f32, losses.reconstruction as f32, losses.kl as f32],
            means: encode_means(&snapshot_model, &test_set, history_map_size, &snapshot_device),
            reconstructions: reconstruct_bytes(
                &snapshot_model,
                &test_set,
                history_size,
                &snapshot_device,
            ),
        });
        snapshot_model.save_file(&paths.model)?;
        optimizer.save(&paths.optimizer)?;
        std::fs::write(&paths.history, history.to_bytes())?;
        std::fs::write(&paths.state, serde_json::to_string_pretty(&state)?)?;
    }

    let model = model.valid();
    let eval_device = Device::flex();
    let metrics_f32 = evaluate(&model, options.kind, &test_set, options.seed, &eval_device)?;
    let bytes = weights::to_f16_bytes(&model)?;
    let rounded = weights::load_unchecked(&config, &bytes, &eval_device)?;
    let metrics = evaluate(&rounded, options.kind, &test_set, options.seed, &eval_device)?;

    std::fs::create_dir_all(&options.out_dir)?;
    std::fs::write(options.out_dir.join(format!("{name}.bpk")), &bytes)?;
    let map_size = LATENT_MAP_IMAGES.min(test_set.len());
    let latent_map = LatentMap {
        latent: options.latent,
        means: encode_means(&rounded, &test_set, map_size, &eval_device),
        labels: test_set.labels[..map_size].to_vec(),
    };
    let map_name = format!("{name}.map.bin");
    std::fs::write(options.out_dir.join(&map_name), latent_map.to_bytes())?;
    let history_name = format!("{name}.history.bin");
    std::fs::write(options.out_dir.join(&history_name), history.to_bytes())?;
    let training = TrainingRecord {
        epochs: options.epochs,
        batch: options.batch,
        learning_rate: options.learning_rate,
        beta: options.beta,
        seed: options.seed,
        train_images: train_set.len(),
        test_images: test_set.len(),
        wall_time_seconds: state.wall_time_seconds,
        epoch_losses: state.epoch_losses,
    };
    let manifest = Manifest {
        test_metrics_f32: Some(metrics_f32),
        classes: (!options.classes.is_empty()).then(|| options.classes.clone()),
        latent_map: Some(map_name),
        history: Some(history_name),
        ..Manifest::of_f16_weights(&name, options.dataset.name(), options.kind, &config, &bytes, training, metrics)
    };
    std::fs::write(
        options.out_dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(manifest)
}

/// μ of the first `count` images, point by point.
pub fn encode_means(model: &Vae, images: &PreparedImages, count: usize, device: &Device) -> Vec<f32> {
    let indices: Vec<usize> = (0..count).collect();
    let mut means = Vec::new();
    for chunk in indices.chunks(500) {
        let (inputs, _) = images.batch(chunk, device);
        let (mean, _) = model.encode(inputs);
        means.extend(mean.into_data().iter::<f32>());
    }
    means
}

/// The decoded means of the first `count` images, as 28×28 bytes each.
fn reconstruct_bytes(model: &Vae, images: &PreparedImages, count: usize, device: &Device) -> Vec<u8> {
    if count == 0 {
        return Vec::new();
    }
    let indices: Vec<usize> = (0..count).collect();
    let (inputs, _) = images.batch(&indices, device);
    let pixels = burn::tensor::activation::sigmoid(model.forward_mean(inputs).logits);
    pixels
        .into_data()
        .iter::<f32>()
        .map(unit_to_byte)
        .collect()
}

/// Test −ELBO, reconstruction and KL in nats per image, one z sample per image,
/// the sampling noise seeded so that the figure is reproducible. For an autoencoder:
/// the reconstruction of z = μ, with KL 0.
pub fn evaluate(
    model: &Vae,
    kind: ModelKind,
    images: &PreparedImages,
    seed: u64,
    device: &Device,
) -> Result<TestMetrics, Error> {
    let model = model.clone().to_device(device);
    device.seed(seed);
    let mut sums = LossSums::default();
    let indices: Vec<usize> = (0..images.len()).collect();
    for chunk in indices.chunks(500) {
        let (inputs, targets) = images.batch(chunk, device);
        let terms = loss_terms(&kind.forward(&model, inputs), targets);
        let kl = if kind == ModelKind::Vae { f64::from(terms.kl.into_scalar::<f32>()) } else { 0.0 };
        sums.add(f64::from(terms.reconstruction.into_scalar::<f32>()), kl, chunk.len());
    }
    Ok(sums.means().ok_or("no images to evaluate")?)
}

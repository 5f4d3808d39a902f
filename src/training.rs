//! Native training and evaluation of the VAE on MNIST-format datasets.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::{bytes_to_unit, pad_to_model_side, IMAGE_PIXELS, MODEL_PIXELS};
use crate::idx::{load_split, LabelledImages, Split};
use crate::model::{loss_terms, Vae, VaeConfig, IMAGE_SIDE, MODEL_SIDE};
use crate::weights::{
    self, ArchitectureRecord, Manifest, TestMetrics, TrainingRecord, DIGIT_CLASSES,
    FASHION_CLASSES,
};

/// A dataset as tensors-to-be: padded model inputs and 28×28 targets, in [0, 1].
pub struct PreparedImages {
    pub inputs: Vec<f32>,
    pub targets: Vec<f32>,
    pub labels: Vec<u8>,
}

impl PreparedImages {
    pub fn from_split(split: &LabelledImages, limit: Option<usize>) -> Self {
        let count = limit.map_or(split.images.count, |l| l.min(split.images.count));
        let mut inputs = Vec::with_capacity(count * MODEL_PIXELS);
        let mut targets = Vec::with_capacity(count * IMAGE_PIXELS);
        for index in 0..count {
            let image = bytes_to_unit(split.images.image(index));
            inputs.extend(pad_to_model_side(&image));
            targets.extend(image);
        }
        Self {
            inputs,
            targets,
            labels: split.labels[..count].to_vec(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The batch of the given image indices: (inputs [n,1,32,32], targets [n,1,28,28]).
    fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<4>, Tensor<4>) {
        let mut inputs = Vec::with_capacity(indices.len() * MODEL_PIXELS);
        let mut targets = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        for &i in indices {
            inputs.extend_from_slice(&self.inputs[i * MODEL_PIXELS..(i + 1) * MODEL_PIXELS]);
            targets.extend_from_slice(&self.targets[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]);
        }
        let n = indices.len();
        (
            Tensor::from_data(TensorData::new(inputs, [n, 1, MODEL_SIDE, MODEL_SIDE]), device),
            Tensor::from_data(TensorData::new(targets, [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    Mnist,
    FashionMnist,
}

impl Dataset {
    pub fn folder_name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
        }
    }

    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            Dataset::Mnist => DIGIT_CLASSES,
            Dataset::FashionMnist => FASHION_CLASSES,
        }
    }
}

/// What to train and how: the `train` command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainOptions {
    #[arg(long, value_enum, default_value = "fashion-mnist")]
    pub dataset: Dataset,
    /// Folder holding mnist/ and fashion-mnist/ in IDX format.
    #[arg(long, default_value = "../shared/data")]
    pub data_dir: PathBuf,
    /// Model name: the files become NAME.bpk and NAME.json. Default: DATASET-vae-LATENTd.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value_t = 2)]
    pub latent: usize,
    /// Channels of the first convolution (the next ones have 2× and 4×).
    #[arg(long, default_value_t = 32)]
    pub channels: usize,
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
            format!("{}-vae-{}d", self.dataset.folder_name(), self.latent)
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

fn checkpoint_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("model.bpk"),
        dir.join("optimizer.bpk"),
        dir.join("state.json"),
    )
}

pub type Error = Box<dyn std::error::Error>;

/// Trains a VAE, evaluates it on the test set, and writes `{name}.bpk` (f16) and
/// `{name}.json` (its manifest) into `out_dir`. Returns the manifest.
pub fn train(options: &TrainOptions) -> Result<Manifest, Error> {
    let folder = options.data_dir.join(options.dataset.folder_name());
    let train_split = load_split(&folder, Split::Train)?;
    let test_split = load_split(&folder, Split::Test)?;
    let train_set = PreparedImages::from_split(&train_split, options.train_limit);
    let test_set = PreparedImages::from_split(&test_split, options.test_limit);
    if train_set.is_empty() || test_set.is_empty() {
        return Err("no images to train or test on".into());
    }

    let device = Device::flex().autodiff();
    device.seed(options.seed);
    let config = VaeConfig::new()
        .with_latent(options.latent)
        .with_channels(options.channels);
    let mut model = config.init(&device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-7).init();

    let name = options.model_name();
    let checkpoint_dir = options.checkpoint_dir();
    std::fs::create_dir_all(&checkpoint_dir)?;
    let (model_path, optimizer_path, state_path) = checkpoint_paths(&checkpoint_dir);
    let mut state = CheckpointState {
        epochs_done: 0,
        wall_time_seconds: 0.0,
        epoch_losses: Vec::new(),
    };
    if state_path.is_file() {
        state = serde_json::from_str(&std::fs::read_to_string(&state_path)?)?;
        model = weights::load_unchecked(&config, &std::fs::read(&model_path)?, &device)?.train();
        optimizer = optimizer.from_bytes(Bytes::from_bytes_vec(std::fs::read(&optimizer_path)?))?;
        eprintln!(
            "resuming {name} from its checkpoint after epoch {}",
            state.epochs_done
        );
    }

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
        let (mut sum_recon, mut sum_kl, mut seen) = (0.0f64, 0.0f64, 0usize);
        for indices in order.chunks(options.batch) {
            let (inputs, targets) = train_set.batch(indices, &device);
            let output = model.forward(inputs);
            let terms = loss_terms(&output, targets);
            let loss = terms.reconstruction.clone() + terms.kl.clone() * options.beta as f32;
            let recon: f32 = terms.reconstruction.into_scalar();
            let kl: f32 = terms.kl.into_scalar();
            if !recon.is_finite() || !kl.is_finite() {
                return Err(format!(
                    "the loss became {recon} + {kl} in epoch {}: lower the learning rate",
                    epoch + 1
                )
                .into());
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(options.learning_rate, model, grads);
            sum_recon += recon as f64 * indices.len() as f64;
            sum_kl += kl as f64 * indices.len() as f64;
            seen += indices.len();
            progress.inc(1);
            progress.set_message(format!(
                "loss {:.1} = recon {:.1} + KL {:.2}",
                (sum_recon + sum_kl) / seen as f64,
                sum_recon / seen as f64,
                sum_kl / seen as f64
            ));
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
        state.epoch_losses.push(TestMetrics {
            neg_elbo: (sum_recon + sum_kl) / seen as f64,
            reconstruction: sum_recon / seen as f64,
            kl: sum_kl / seen as f64,
        });
        state.epochs_done = epoch + 1;
        state.wall_time_seconds += started.elapsed().as_secs_f64();
        model.clone().valid().save_file(&model_path)?;
        optimizer.save(&optimizer_path)?;
        std::fs::write(&state_path, serde_json::to_string_pretty(&state)?)?;
    }

    let model = model.valid();
    let eval_device = Device::flex();
    let metrics_f32 = evaluate(&model, &test_set, options.seed, &eval_device)?;
    let bytes = weights::to_f16_bytes(&model)?;
    let rounded = weights::load_unchecked(&config, &bytes, &eval_device)?;
    let metrics = evaluate(&rounded, &test_set, options.seed, &eval_device)?;

    std::fs::create_dir_all(&options.out_dir)?;
    let weights_name = format!("{name}.bpk");
    std::fs::write(options.out_dir.join(&weights_name), &bytes)?;
    let manifest = Manifest {
        name: name.clone(),
        dataset: options.dataset.folder_name().to_string(),
        kind: "vae".to_string(),
        latent: options.latent,
        architecture: ArchitectureRecord::of(&config),
        weights: weights_name,
        precision: "f16".to_string(),
        sha256: weights::sha256_hex(&bytes),
        weight_bytes: bytes.len(),
        training: TrainingRecord {
            epochs: options.epochs,
            batch: options.batch,
            learning_rate: options.learning_rate,
            beta: options.beta,
            seed: options.seed,
            train_images: train_set.len(),
            test_images: test_set.len(),
            wall_time_seconds: state.wall_time_seconds,
            epoch_losses: state.epoch_losses,
        },
        test_metrics: metrics,
        test_metrics_f32: Some(metrics_f32),
        class_names: options
            .dataset
            .class_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    std::fs::write(
        options.out_dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(manifest)
}

/// Test −ELBO, reconstruction and KL in nats per image, one z sample per image,
/// the sampling noise seeded so that the figure is reproducible.
pub fn evaluate(
    model: &Vae,
    images: &PreparedImages,
    seed: u64,
    device: &Device,
) -> Result<TestMetrics, Error> {
    let model = model.clone().to_device(device);
    device.seed(seed);
    let (mut sum_recon, mut sum_kl) = (0.0f64, 0.0f64);
    let indices: Vec<usize> = (0..images.len()).collect();
    for chunk in indices.chunks(500) {
        let (inputs, targets) = images.batch(chunk, device);
        let terms = loss_terms(&model.forward(inputs), targets);
        sum_recon += terms.reconstruction.into_scalar::<f32>() as f64 * chunk.len() as f64;
        sum_kl += terms.kl.into_scalar::<f32>() as f64 * chunk.len() as f64;
    }
    let n = images.len() as f64;
    Ok(TestMetrics {
        neg_elbo: (sum_recon + sum_kl) / n,
        reconstruction: sum_recon / n,
        kl: sum_kl / n,
    })
}

//! Weight files and their manifests: saving in half precision, checking checksums,
//! loading into the model. Works the same natively and in the browser (bytes in, model out).
//! Manifests are plain data (the page reads them); what touches the model needs burn
//! (`with_burn`, natively and in the workers).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::spec::{Architecture, ModelKind};

#[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
pub use with_burn::{load_model, load_unchecked, to_f16_bytes};

/// Test-set metrics in nats per image (one z sample per image).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct TestMetrics {
    /// −ELBO = reconstruction + KL.
    pub neg_elbo: f64,
    /// Σ over the 784 pixels of binary cross-entropy on the greyscale targets.
    pub reconstruction: f64,
    pub kl: f64,
}

/// Per-image losses summed over images, for their means: how the trainer and the lab
/// turn batch means into epoch (or test-set) means.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossSums {
    reconstruction: f64,
    kl: f64,
    images: usize,
}

impl LossSums {
    /// Adds a batch of `images` whose mean losses are `reconstruction` and `kl`.
    pub fn add(&mut self, reconstruction: f64, kl: f64, images: usize) {
        self.reconstruction += reconstruction * images as f64;
        self.kl += kl * images as f64;
        self.images += images;
    }

    /// The mean losses per image; None before any image.
    pub fn means(&self) -> Option<TestMetrics> {
        (self.images > 0).then(|| {
            let n = self.images as f64;
            TestMetrics { neg_elbo: (self.reconstruction + self.kl) / n, reconstruction: self.reconstruction / n, kl: self.kl / n }
        })
    }
}

/// How a model was trained.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingRecord {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub beta: f64,
    pub seed: u64,
    pub train_images: usize,
    pub test_images: usize,
    pub wall_time_seconds: f64,
    /// Per epoch: mean training loss terms.
    pub epoch_losses: Vec<TestMetrics>,
}

/// The JSON file that travels with each weight file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub name: String,
    /// "mnist" or "fashion-mnist".
    pub dataset: String,
    /// "vae" (or "ae" for a plain autoencoder).
    pub kind: ModelKind,
    pub latent: usize,
    pub architecture: ArchitectureRecord,
    /// Weight file name, relative to the manifest.
    pub weights: String,
    /// "f16" or "f32".
    pub precision: String,
    pub sha256: String,
    pub weight_bytes: usize,
    pub training: TrainingRecord,
    /// For an autoencoder ("ae") there is no ELBO: `kl` is 0 and `neg_elbo` equals
    /// `reconstruction` (BCE of the decoded mean).
    pub test_metrics: TestMetrics,
    /// The same metrics computed with the full-precision weights before rounding to f16.
    pub test_metrics_f32: Option<TestMetrics>,
    pub class_names: Vec<String>,
    /// Labels the model was trained on, when not all ten.
    #[serde(default)]
    pub classes: Option<Vec<u8>>,
    /// File with μ of the first test images and their labels (see `artifacts`).
    #[serde(default)]
    pub latent_map: Option<String>,
    /// File with the per-epoch latent maps and reconstructions (see `artifacts`).
    #[serde(default)]
    pub history: Option<String>,
    /// Where a model not made by the native trainer was trained (the browser's lab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_in: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArchitectureRecord {
    /// "conv" or "dense"; manifests written before the dense network existed have none.
    #[serde(default)]
    pub network: Architecture,
    pub description: String,
    pub latent: usize,
    /// Convolutional: channels of the first convolution.
    pub channels: usize,
    /// Dense: units of the hidden layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
}

#[derive(Debug)]
pub enum WeightsError {
    ChecksumMismatch { expected: String, actual: String },
    Corrupt(String),
    BadManifest(String),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::ChecksumMismatch { expected, actual } => write!(
                f,
                "the weight file's checksum does not match its manifest (sha256 {actual}, \
                 expected {expected}): the file is corrupt or belongs to another model"
            ),
            WeightsError::Corrupt(why) => write!(f, "the weight file cannot be read: {why}"),
            WeightsError::BadManifest(why) => write!(f, "the model manifest is invalid: {why}"),
        }
    }
}

impl std::error::Error for WeightsError {}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn parse_manifest(json: &str) -> Result<Manifest, WeightsError> {
    let manifest: Manifest =
        serde_json::from_str(json).map_err(|e| WeightsError::BadManifest(e.to_string()))?;
    if manifest.latent == 0 || manifest.architecture.latent != manifest.latent {
        return Err(WeightsError::BadManifest(format!(
            "latent size {} disagrees with the architecture's {}",
            manifest.latent, manifest.architecture.latent
        )));
    }
    Ok(manifest)
}

pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
pub const DIGIT_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Building manifests from a model's config, and writing and loading weights: burn's side.
#[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
mod with_burn {
    use burn::module::{ModuleMapper, Param, ParamId};
    use burn::prelude::*;
    use burn::store::ModuleRecord;
    use burn::tensor::{Bytes, FloatDType};

    use super::{sha256_hex, ArchitectureRecord, Manifest, TestMetrics, TrainingRecord, WeightsError};
    use crate::core::model::{Architecture, ModelKind, Vae, VaeConfig};

    impl Manifest {
        /// The manifest of a model of `config` whose f16 weights are `bytes`, in the file
        /// `NAME.bpk` beside it: the class names are the dataset's (for a shipped dataset), and
        /// what else a caller knows (a class subset, the map and history files, where it was
        /// trained) it adds with struct update syntax.
        pub fn of_f16_weights(
            name: &str,
            dataset: &str,
            kind: ModelKind,
            config: &VaeConfig,
            bytes: &[u8],
            training: TrainingRecord,
            test_metrics: TestMetrics,
        ) -> Self {
            let class_names = crate::core::catalogue::DatasetId::from_name(dataset)
                .map(|d| d.class_names().iter().map(|c| c.to_string()).collect())
                .unwrap_or_default();
            Self {
                name: name.to_string(),
                dataset: dataset.to_string(),
                kind,
                latent: config.latent,
                architecture: ArchitectureRecord::of(config),
                weights: format!("{name}.bpk"),
                precision: "f16".to_string(),
                sha256: sha256_hex(bytes),
                weight_bytes: bytes.len(),
                training,
                test_metrics,
                test_metrics_f32: None,
                class_names,
                classes: None,
                latent_map: None,
                history: None,
                trained_in: None,
            }
        }
    }

    impl ArchitectureRecord {
        pub fn of(config: &VaeConfig) -> Self {
            let description = match config.architecture {
                Architecture::Conv => "conv VAE: 28x28 padded to 32x32; conv 3x3 stride 2 ReLU \
                                       (c, 2c, 4c) -> dense mean, log-variance; dense -> 4x4x4c -> \
                                       transposed conv 3x3 stride 2 ReLU (4c, 2c, c) -> conv 3x3 -> logits",
                Architecture::Dense => "dense VAE: 784 pixels -> dense h ReLU -> dense mean, \
                                        log-variance; dense h ReLU -> dense 784 -> logits",
            };
            Self {
                network: config.architecture,
                description: description.to_string(),
                latent: config.latent,
                channels: config.channels,
                hidden: (config.architecture == Architecture::Dense).then_some(config.hidden),
            }
        }

        pub fn config(&self) -> VaeConfig {
            let config = VaeConfig::new()
                .with_latent(self.latent)
                .with_architecture(self.network)
                .with_channels(self.channels);
            match self.hidden {
                Some(hidden) => config.with_hidden(hidden),
                None => config,
            }
        }
    }

    /// Rounds every float parameter to half precision and numbers the parameters in order.
    /// The record stores parameter ids, which are random by default: numbering them makes
    /// the same weights always give the same file (and checksum).
    struct ForShipping {
        next_id: u64,
    }

    impl ModuleMapper for ForShipping {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (_, tensor, mapper) = param.consume();
            self.next_id += 1;
            Param::from_mapped_value(
                ParamId::from(self.next_id),
                tensor.cast(FloatDType::F16),
                mapper,
            )
        }
    }

    /// Casts every float parameter to single precision.
    struct ToSinglePrecision;

    impl ModuleMapper for ToSinglePrecision {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            Param::from_mapped_value(id, tensor.cast(FloatDType::F32), mapper)
        }
    }

    /// Serialises the model's weights (burnpack format), rounded to half precision.
    pub fn to_f16_bytes(model: &Vae) -> Result<Vec<u8>, WeightsError> {
        let record = model.clone().map(&mut ForShipping { next_id: 0 }).into_record();
        let bytes = record
            .into_bytes()
            .map_err(|e| WeightsError::Corrupt(format!("{e:?}")))?;
        Ok(bytes.to_vec())
    }

    /// Checks `bytes` against the manifest's checksum, then loads them into a fresh model
    /// on `device` (weights cast to f32 whatever precision the file stores).
    pub fn load_model(manifest: &Manifest, bytes: &[u8], device: &Device) -> Result<Vae, WeightsError> {
        let actual = sha256_hex(bytes);
        if actual != manifest.sha256 {
            return Err(WeightsError::ChecksumMismatch {
                expected: manifest.sha256.clone(),
                actual,
            });
        }
        load_unchecked(&manifest.architecture.config(), bytes, device)
    }

    /// Loads weights without a checksum (checkpoints, freshly written files).
    pub fn load_unchecked(config: &VaeConfig, bytes: &[u8], device: &Device) -> Result<Vae, WeightsError> {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
            .map_err(|e| WeightsError::Corrupt(format!("{e:?}")))?
            .cast_to_module_dtype();
        let model = config
            .init(device)
            .try_load_record(record)
            .map_err(|e| WeightsError::Corrupt(format!("{e:?}")))?;
        // Some parameters can keep the file's half precision through loading; on a CPU
        // without native f16 arithmetic (wasm) that makes them a thousand times slower.
        Ok(model.map(&mut ToSinglePrecision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::prelude::*;

    use crate::core::model::VaeConfig;

    #[test]
    fn loss_sums_weigh_batches_by_their_size() {
        let mut sums = LossSums::default();
        assert_eq!(sums.means(), None);
        sums.add(100.0, 10.0, 3);
        sums.add(200.0, 20.0, 1);
        let means = sums.means().unwrap();
        assert!((means.reconstruction - 125.0).abs() < 1e-9);
        assert!((means.kl - 12.5).abs() < 1e-9);
        assert!((means.neg_elbo - 137.5).abs() < 1e-9);
    }
    use burn::module::ModuleVisitor;

    struct FloatDTypes(Vec<burn::tensor::DType>);

    impl ModuleVisitor for FloatDTypes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().dtype());
        }
    }

    #[test]
    fn half_precision_files_load_as_single_precision() {
        let device = Device::flex();
        for architecture in Architecture::ALL {
            let config = VaeConfig::new().with_architecture(architecture);
            let bytes = to_f16_bytes(&config.init(&device)).unwrap();
            let model = load_unchecked(&config, &bytes, &device).unwrap();
            assert_eq!(model.architecture(), architecture);
            let mut dtypes = FloatDTypes(Vec::new());
            model.visit(&mut dtypes);
            assert!(!dtypes.0.is_empty());
            assert!(dtypes.0.iter().all(|d| *d == burn::tensor::DType::F32), "{:?}", dtypes.0);
        }
    }

    #[test]
    fn weights_of_one_network_do_not_load_into_the_other() {
        let device = Device::flex();
        let conv = VaeConfig::new();
        let dense = VaeConfig::new().with_architecture(Architecture::Dense);
        let conv_bytes = to_f16_bytes(&conv.init(&device)).unwrap();
        let dense_bytes = to_f16_bytes(&dense.init(&device)).unwrap();
        assert!(load_unchecked(&dense, &conv_bytes, &device).is_err());
        assert!(load_unchecked(&conv, &dense_bytes, &device).is_err());
    }

    #[test]
    fn manifests_without_a_network_are_convolutional() {
        let record: ArchitectureRecord =
            serde_json::from_str(r#"{"description": "conv VAE", "latent": 2, "channels": 32}"#).unwrap();
        assert_eq!(record.config().architecture, Architecture::Conv);
        let dense = ArchitectureRecord::of(&VaeConfig::new().with_architecture(Architecture::Dense).with_hidden(64));
        let round_trip: ArchitectureRecord = serde_json::from_str(&serde_json::to_string(&dense).unwrap()).unwrap();
        assert_eq!(round_trip.config().hidden, 64);
        assert_eq!(round_trip.config().architecture, Architecture::Dense);
    }
}

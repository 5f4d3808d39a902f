//! The training lab's settings and the messages between the page and its training
//! worker: plain data, shared by both wasm binaries and unit-tested natively. A run's
//! bookkeeping (epoch losses, speed, a diverged step) is in [`progress`].

pub mod lessons;
pub mod progress;

use serde::{Deserialize, Serialize};

use crate::core::augment::SplitMix64;
use crate::core::backend_kind::{BackendKind, BackendRequest};
use crate::core::catalogue::{DatasetId, ShippedModel};
use crate::core::letters::LetterSet;
use crate::core::math::standard_normal;
use crate::core::spec::{Architecture, ModelKind};
#[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
use crate::core::model::VaeConfig;
use crate::core::weights::{Manifest, TestMetrics};

/// The `dataset` a manifest names for a model trained on the person's own letters.
pub const LETTERS_DATA: &str = "letters";
/// Latent sizes the lab offers.
pub const LATENT_SIZES: [usize; 3] = [2, 8, 16];
pub const BETA_RANGE: (f32, f32) = (0.0, 10.0);
pub const LEARNING_RATE_RANGE: (f64, f64) = (1e-5, 10.0);
pub const BATCH_RANGE: (usize, usize) = (8, 500);
/// Held-out images re-encoded for the live map (the first test images).
pub const HELDOUT_MAP_IMAGES: usize = 1000;
/// Held-out images the live held-out loss is measured on.
pub const HELDOUT_LOSS_IMAGES: usize = 250;
/// Held-out images whose reconstructions are shown live.
pub const RECONSTRUCTED: usize = 10;
/// How a lab run is set up: the form, the address and `latentlab.lab.start(settings)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabSettings {
    pub dataset: DatasetId,
    /// Labels to train on; empty for all ten.
    pub classes: Vec<u8>,
    pub latent: usize,
    /// The network: convolutional or dense.
    #[serde(rename = "arch")]
    pub architecture: Architecture,
    pub kind: ModelKind,
    pub beta: f32,
    #[serde(rename = "lr")]
    pub learning_rate: f64,
    pub batch: usize,
    pub seed: u64,
    /// A shipped model to fine-tune, or `None` to start from scratch.
    pub from: Option<String>,
    /// Train on the person's own letters (the letters workshop's set) instead of
    /// `dataset`. Not in the address: a link cannot carry the drawings.
    pub letters: bool,
}

impl Default for LabSettings {
    fn default() -> Self {
        Self {
            dataset: DatasetId::Mnist,
            classes: Vec::new(),
            latent: 2,
            architecture: Architecture::Conv,
            kind: ModelKind::Vae,
            beta: 1.0,
            learning_rate: 1e-3,
            batch: 100,
            seed: 42,
            from: None,
            letters: false,
        }
    }
}

impl LabSettings {
    /// Checks every value; the message names the first one out of range.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self.classes.iter().find(|&&c| c > 9) {
            return Err(format!("classes: {bad} is not a label (0 to 9)"));
        }
        if !LATENT_SIZES.contains(&self.latent) {
            return Err(format!("latent: {} is not offered (2, 8 or 16)", self.latent));
        }
        if !(BETA_RANGE.0..=BETA_RANGE.1).contains(&self.beta) {
            return Err(format!("beta: {} is outside 0 to 10", self.beta));
        }
        if !(LEARNING_RATE_RANGE.0..=LEARNING_RATE_RANGE.1).contains(&self.learning_rate) {
            return Err(format!("lr: {} is outside 0.00001 to 10", self.learning_rate));
        }
        if !(BATCH_RANGE.0..=BATCH_RANGE.1).contains(&self.batch) {
            return Err(format!("batch: {} is outside 8 to 500", self.batch));
        }
        if let Some(from) = &self.from {
            let model = ShippedModel::find(from).ok_or_else(|| format!("from: \"{from}\" is not a shipped model"))?;
            if model.latent() != self.latent {
                return Err(format!("from: {from} has a {}-D latent space, not {}", model.latent(), self.latent));
            }
            let network = model.variant.architecture();
            if network != self.architecture {
                return Err(format!("from: {from} is a {} network, not {}", network.label(), self.architecture.label()));
            }
        }
        Ok(())
    }

    /// Settings from a JSON object (the JS API), each field optional; bad ones are refused.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let mut settings: LabSettings =
            serde_json::from_str(json).map_err(|e| format!("lab settings: {e}"))?;
        if let Some(model) = settings.from.as_deref().and_then(ShippedModel::find) {
            // Fine-tuning keeps the model's own latent size and network unless asked for.
            if !json.contains("\"latent\"") {
                settings.latent = model.latent();
            }
            if !json.contains("\"arch\"") {
                settings.architecture = model.variant.architecture();
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    /// The settings as address parameters (`lab-…=…`), so a shared link sets up the run.
    pub fn to_query(&self) -> String {
        let classes = self.classes.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        let mut query = format!(
            "lab-dataset={}&lab-latent={}&lab-arch={}&lab-kind={}&lab-beta={}&lab-lr={}&lab-batch={}&lab-seed={}",
            self.dataset.name(),
            self.latent,
            self.architecture.name(),
            self.kind.name(),
            self.beta,
            self.learning_rate,
            self.batch,
            self.seed
        );
        if !classes.is_empty() {
            query.push_str(&format!("&lab-classes={classes}"));
        }
        if let Some(from) = &self.from {
            query.push_str(&format!("&lab-from={from}"));
        }
        query
    }

    /// Settings from address parameters: `get(name)` reads `lab-NAME`. Anything unknown
    /// or out of range is left at its default or clamped, and named in the problems.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut settings = Self::default();
        let mut problems = Vec::new();
        if let Some(value) = get("dataset") {
            match DatasetId::from_name(&value) {
                Some(dataset) => settings.dataset = dataset,
                None => problems.push(format!("lab-dataset \"{value}\" is unknown: MNIST is used")),
            }
        }
        if let Some(value) = get("classes") {
            let parsed: Result<Vec<u8>, _> = value.split(',').map(|c| c.trim().parse::<u8>()).collect();
            match parsed {
                Ok(classes) if classes.iter().all(|&c| c <= 9) => {
                    settings.classes = classes;
                    settings.classes.sort_unstable();
                    settings.classes.dedup();
                }
                _ => problems.push(format!("lab-classes \"{value}\" is not a list of labels 0–9: all classes are used")),
            }
        }
        if let Some(value) = get("latent") {
            match value.parse::<usize>() {
                Ok(latent) if LATENT_SIZES.contains(&latent) => settings.latent = latent,
                _ => problems.push(format!("lab-latent \"{value}\" is not 2, 8 or 16: 2 is used")),
            }
        }
        if let Some(value) = get("arch") {
            match Architecture::parse(&value) {
                Some(architecture) => settings.architecture = architecture,
                None => problems.push(format!("lab-arch \"{value}\" is not conv or dense: conv is used")),
            }
        }
        if let Some(value) = get("kind") {
            match ModelKind::parse(&value) {
                Some(kind) => settings.kind = kind,
                None => problems.push(format!("lab-kind \"{value}\" is not vae or ae: vae is used")),
            }
        }
        if let Some(value) = get("beta") {
            settings.beta = clamped("beta", &value, BETA_RANGE, settings.beta, &mut problems);
        }
        if let Some(value) = get("lr") {
            settings.learning_rate = clamped("lr", &value, LEARNING_RATE_RANGE, settings.learning_rate, &mut problems);
        }
        if let Some(value) = get("batch") {
            settings.batch = clamped("batch", &value, BATCH_RANGE, settings.batch, &mut problems);
        }
        if let Some(value) = get("seed") {
            match value.parse::<u64>() {
                Ok(seed) => settings.seed = seed,
                _ => problems.push(format!("lab-seed \"{value}\" is not a whole number: 42 is used")),
            }
        }
        if let Some(value) = get("from") {
            match ShippedModel::find(&value) {
                Some(model) => {
                    settings.from = Some(value);
                    settings.latent = model.latent();
                    settings.architecture = model.variant.architecture();
                }
                None => problems.push(format!("lab-from \"{value}\" is not a shipped model: training starts from scratch")),
            }
        }
        (settings, problems)
    }

    /// The `lab-…` part of the address for these settings, or `None` for a run on the
    /// person's letters: a link cannot carry the drawings, so it must not claim the run.
    pub fn address(&self) -> Option<String> {
        (!self.letters).then(|| self.to_query())
    }

    /// What this run's evaluation figures are measured on.
    pub fn evaluated(&self) -> Evaluated {
        Evaluated::of(self.letters)
    }

    /// The name of the data trained on: a dataset's, or "letters".
    pub fn data_name(&self) -> &'static str {
        if self.letters {
            LETTERS_DATA
        } else {
            self.dataset.name()
        }
    }

    /// The name a model trained with these settings gets.
    pub fn model_name(&self, step: u64) -> String {
        let network = match self.architecture {
            Architecture::Conv => "",
            Architecture::Dense => "dense-",
        };
        format!("lab-{}-{network}{}-{}d-s{}-step{step}", self.data_name(), self.kind.name(), self.latent, self.seed)
    }

    /// The network these settings train.
    #[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
    pub fn config(&self) -> VaeConfig {
        VaeConfig::new().with_latent(self.latent).with_architecture(self.architecture)
    }
}

/// `value` read as a number and clamped into `range`; a value out of range or unreadable
/// is named in `problems` (and an unreadable one leaves `default`).
fn clamped<T>(name: &str, value: &str, range: (T, T), default: T, problems: &mut Vec<String>) -> T
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display,
{
    match value.parse::<T>() {
        // `v == v` is false for NaN only.
        #[allow(clippy::eq_op)]
        Ok(v) if v == v => {
            let kept = if v < range.0 { range.0 } else if v > range.1 { range.1 } else { v };
            if kept != v {
                problems.push(format!("lab-{name} {v} is outside {} to {}: {kept} is used", range.0, range.1));
            }
            kept
        }
        _ => {
            problems.push(format!("lab-{name} \"{value}\" is not a number: {default} is used"));
            default
        }
    }
}

/// What a lab run's evaluation figures (loss, map, reconstructions) are measured on:
/// held-out test images the run never trains on, or, for the person's letters (too few
/// to hold any out), the drawings whose varied copies it trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluated {
    HeldOut,
    OwnDrawings,
}

impl Evaluated {
    pub fn of(letters: bool) -> Self {
        if letters {
            Evaluated::OwnDrawings
        } else {
            Evaluated::HeldOut
        }
    }

    /// For a model's manifest: its `dataset` names the data it trained on.
    pub fn of_data(data_name: &str) -> Self {
        Self::of(data_name == LETTERS_DATA)
    }

    /// A short label, for chart legends and status lines.
    pub fn label(self) -> &'static str {
        match self {
            Evaluated::HeldOut => "held-out",
            Evaluated::OwnDrawings => "your drawings",
        }
    }

    /// `count` evaluation images, in words.
    pub fn images(self, count: usize) -> String {
        match self {
            Evaluated::HeldOut => format!("{count} held-out test images"),
            Evaluated::OwnDrawings => format!("your {count} drawings, whose varied copies it trains on (there is no held-out set)"),
        }
    }

    /// A loss measured on `count` evaluation images, in words, e.g. "held-out −ELBO
    /// 154.2 nats per image on 250 held-out test images".
    pub fn figure(self, measure: &str, value: f64, count: usize) -> String {
        let prefix = match self {
            Evaluated::HeldOut => "held-out ",
            Evaluated::OwnDrawings => "",
        };
        format!("{prefix}{measure} {value:.1} nats per image on {}", self.images(count))
    }
}

/// Loss terms in nats per image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Losses {
    pub reconstruction: f64,
    pub kl: f64,
    pub total: f64,
}

impl Losses {
    pub fn new(reconstruction: f64, kl: f64, beta: f64) -> Self {
        Self { reconstruction, kl, total: reconstruction + beta * kl }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
/// Where a run stands. (Downloads and the device's start come as [`FromWorker::Loading`]
/// progress before a run's first status.)
pub enum LabState {
    Running,
    Paused,
    Failed,
}

impl LabState {
    pub fn name(self) -> &'static str {
        match self {
            LabState::Running => "running",
            LabState::Paused => "paused",
            LabState::Failed => "failed",
        }
    }
}

/// What the lab reports after steps (a few times a second at most).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabStatus {
    pub state: LabState,
    pub step: u64,
    /// Epochs done, fractional.
    pub epoch: f64,
    pub images_per_second: f64,
    pub steps_per_second: f64,
    pub backend: BackendKind,
    /// Why the worker chose `backend`, when it timed a training step on each.
    #[serde(default)]
    pub backend_reason: Option<String>,
    /// Running mean of the latest training batches.
    pub loss: Option<Losses>,
    /// From the latest snapshot.
    pub heldout: Option<Losses>,
    pub train_images: usize,
    /// Something the person should know (a NaN, a clamped value), in words.
    pub message: Option<String>,
    /// The size of the worker's wasm memory (for the benchmark's long run).
    #[serde(default)]
    pub memory_bytes: f64,
    /// The threads the CPU backend computes on (1 in the single-threaded worker).
    #[serde(default = "one_thread")]
    pub cpu_threads: usize,
}

fn one_thread() -> usize {
    1
}

/// A picture of the model during training, for the live views and the scrubber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub step: u64,
    pub epoch: f64,
    pub loss: Option<Losses>,
    pub heldout: Losses,
    pub latent: usize,
    /// μ of the first held-out images, `latent` values each.
    pub means: Vec<f32>,
    /// How long taking this snapshot took, in ms.
    pub millis: f64,
    /// Whether the binary part holds the 15×15 grid after the reconstructions.
    pub has_grid: bool,
}

/// Messages from the page to the training worker (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToWorker {
    /// Sets up a run (data, device, model) and runs its first step, then pauses unless
    /// `play`.
    Start {
        settings: LabSettings,
        /// A backend, or [`BackendRequest::Fastest`]: time a training step on WebGPU and
        /// on the CPU and train on the faster.
        backend: BackendRequest,
        play: bool,
        /// The letters to train on, when `settings.letters`.
        #[serde(default)]
        letters: Option<LetterSet>,
        /// Go on from this checkpoint (its weights travel beside the message) rather than
        /// from fresh weights.
        #[serde(default)]
        resume: Option<Checkpoint>,
    },
    Play,
    Pause,
    /// Trains `count` batches, then pauses (snapshots fall by time, as when playing).
    Step {
        #[serde(default = "one")]
        count: u64,
    },
    SetBeta { beta: f32 },
    /// Sends the weights and manifest of the model as it is now.
    Export { request: u64 },
}

fn one() -> u64 {
    1
}

/// The most batches one `step(count)` call trains.
pub const MAX_STEPS_PER_CALL: u64 = 100_000;

/// Messages from the training worker to the page (JSON, with binary parts beside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromWorker {
    /// The multi-threaded worker is starting its CPU threads (`Alive` follows once they run).
    StartingThreads { threads: usize },
    /// The worker has started and takes messages.
    Alive,
    /// Progress of a download.
    Loading { what: String, received: u64, total: Option<u64> },
    /// The held-out images of this run: their labels and, in the binary part, pixels.
    Heldout { labels: Vec<u8>, class_names: Vec<String>, count: usize },
    Status(LabStatus),
    /// Binary part: reconstructions (10 × 784 bytes), then the grid (225 × 784) if any.
    Snapshot(Snapshot),
    /// Binary part: the weight file. `map_means`: μ of the held-out images under the
    /// exported weights (its latent map).
    Exported { request: u64, manifest: Box<Manifest>, map_means: Vec<f32> },
    /// Binary part: the weights (f16) at `checkpoint.step`, sent every few seconds while a
    /// run trains and when it pauses, so that a reload or a crash loses little.
    Checkpoint { checkpoint: Checkpoint },
    Failed { message: String },
}

/// Where a run stands, for going on from it later: its step, time and finished epochs.
/// The weights travel beside it (a message's binary part, or the record it is kept in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub step: u64,
    pub wall_millis: f64,
    pub epoch_losses: Vec<TestMetrics>,
    #[serde(skip)]
    pub weights: Vec<u8>,
}

/// How often a training run sends a [`FromWorker::Checkpoint`].
pub const CHECKPOINT_INTERVAL_MILLIS: f64 = 4000.0;

/// A warning about what the held-out codes show, in words, or `None`.
pub fn code_warning(kind: ModelKind, step: u64, heldout: &Losses, means: &[f32], latent: usize) -> Option<String> {
    match kind {
        ModelKind::Vae if step >= 200 && heldout.kl < 0.5 => Some(format!(
            "The KL term is {:.2} nats: the posterior has collapsed to the prior, so the codes carry \
             almost nothing about the images. Lower β to let them carry information.",
            heldout.kl
        )),
        ModelKind::Ae if !means.is_empty() && latent > 0 => {
            let rms = (means.iter().map(|m| f64::from(*m).powi(2)).sum::<f64>() / means.len() as f64).sqrt();
            (rms > 3.0).then(|| {
                format!(
                    "The autoencoder's codes lie far outside N(0, I) (root mean square {rms:.1}): \
                     the grid and prior samples, which assume N(0, I), will mostly miss them."
                )
            })
        }
        _ => None,
    }
}

/// A permutation of 0..count from `seed` (SplitMix64 driving a Fisher–Yates shuffle):
/// the lab's epoch order, the same on every browser.
pub fn shuffled(count: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..count).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Whole epochs gone through after `step` batches of `batch` images from `images`
/// training images.
pub fn epochs_after(step: u64, batch: usize, images: usize) -> u64 {
    (step * batch as u64).checked_div(images as u64).unwrap_or(0)
}

/// Whether batch number `step` (counting from 1) finished an epoch.
pub fn ends_an_epoch(step: u64, batch: usize, images: usize) -> bool {
    step > 0 && epochs_after(step, batch, images) > epochs_after(step - 1, batch, images)
}

/// The lab's batch order: each epoch a fresh shuffle of the training images from the
/// run's seed ([`shuffled`] with seed + epoch), batches taken in turn across epochs.
#[derive(Debug, Clone)]
pub struct BatchOrder {
    seed: u64,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
}

impl BatchOrder {
    pub fn new(count: usize, seed: u64) -> Self {
        Self { seed, order: shuffled(count, seed), cursor: 0, epoch: 0 }
    }

    /// The order after `steps` batches of `batch` (a run resumed from a checkpoint takes
    /// the batches it would have taken).
    pub fn after(count: usize, seed: u64, batch: usize, steps: u64) -> Self {
        let mut order = Self::new(count, seed);
        for _ in 0..steps {
            order.next_batch(batch, || {});
        }
        order
    }

    /// Epochs finished.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The next `batch` image indices; `epoch_ended` runs whenever an epoch ends on the
    /// way (before the next epoch's images). A batch never holds an image twice: one
    /// larger than the set stops at the set's size.
    pub fn next_batch(&mut self, batch: usize, mut epoch_ended: impl FnMut()) -> Vec<usize> {
        let count = self.order.len();
        let mut indices = Vec::with_capacity(batch.min(count));
        while indices.len() < batch && count > 0 {
            if self.cursor >= count {
                epoch_ended();
                self.epoch += 1;
                self.order = shuffled(count, self.seed.wrapping_add(self.epoch as u64));
                self.cursor = 0;
                if indices.len() >= count {
                    break;
                }
            }
            indices.push(self.order[self.cursor]);
            self.cursor += 1;
        }
        indices
    }
}

/// The noise ε [count × latent] of a run's evaluation: fixed by the run's seed, so a
/// snapshot never draws from the training's random generator (which would make a run's
/// course depend on when its snapshots fall) and the evaluation of the same weights
/// always gives the same figures.
pub fn evaluation_noise(seed: u64, count: usize, latent: usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed ^ 0x5EED_0F_E7A1_0A7E);
    let mut uniform = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (0..count * latent).map(|_| standard_normal(uniform(), uniform()) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_the_address() {
        let settings = LabSettings {
            classes: vec![0, 4, 8],
            architecture: Architecture::Dense,
            kind: ModelKind::Ae,
            beta: 2.5,
            learning_rate: 0.002,
            batch: 64,
            seed: 7,
            ..LabSettings::default()
        };
        settings.validate().unwrap();
        let query = settings.to_query();
        let pairs: Vec<(String, String)> = query
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.trim_start_matches("lab-").to_string(), v.to_string())
            })
            .collect();
        let (parsed, problems) =
            LabSettings::from_query(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(parsed, settings);
    }

    #[test]
    fn address_values_out_of_range_are_clamped_and_named() {
        let (settings, problems) = LabSettings::from_query(|name| match name {
            "beta" => Some("40".into()),
            "batch" => Some("3".into()),
            "latent" => Some("5".into()),
            "dataset" => Some("cifar".into()),
            "from" => Some("mnist-vae-16d".into()),
            _ => None,
        });
        assert_eq!(settings.beta, 10.0);
        assert_eq!(settings.batch, 8);
        assert_eq!(settings.latent, 16, "fine-tuning takes the model's latent size");
        assert_eq!(settings.from.as_deref(), Some("mnist-vae-16d"));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("lab-beta 40")));
        assert!(problems.iter().any(|p| p.contains("cifar")));
    }

    #[test]
    fn json_settings_are_checked() {
        let settings = LabSettings::from_json(r#"{"latent": 8, "classes": [1, 7], "lr": 0.01}"#).unwrap();
        assert_eq!((settings.latent, settings.classes.clone(), settings.learning_rate), (8, vec![1, 7], 0.01));
        let tuned = LabSettings::from_json(r#"{"from": "fashion-mnist-vae-16d"}"#).unwrap();
        assert_eq!(tuned.latent, 16);
        let dense = LabSettings::from_json(r#"{"from": "mnist-dense-vae-2d"}"#).unwrap();
        assert_eq!(dense.architecture, Architecture::Dense, "fine-tuning takes the model's network");
        assert!(LabSettings::from_json(r#"{"from": "mnist-dense-vae-2d", "arch": "conv"}"#).unwrap_err().contains("dense"));
        assert!(LabSettings::from_json(r#"{"arch": "mlp"}"#).unwrap_err().contains("mlp"));
        assert!(LabSettings::from_json(r#"{"beta": -1}"#).unwrap_err().contains("beta"));
        assert!(LabSettings::from_json(r#"{"latent": 3}"#).unwrap_err().contains("latent"));
        assert!(LabSettings::from_json(r#"{"batch": 100000}"#).unwrap_err().contains("batch"));
        assert!(LabSettings::from_json(r#"{"colour": 1}"#).unwrap_err().contains("colour"));
        assert!(LabSettings::from_json(r#"{"from": "nope"}"#).unwrap_err().contains("nope"));
        let letters = LabSettings::from_json(r#"{"letters": true, "arch": "dense"}"#).unwrap();
        assert!(letters.model_name(5).starts_with("lab-letters-dense-vae-2d"), "{}", letters.model_name(5));
        assert!(!letters.to_query().contains("letters"), "a link cannot carry the drawings");
        assert_eq!(letters.address(), None, "nor may the address claim a run it cannot bring back");
        assert_eq!(LabSettings::default().address(), Some(LabSettings::default().to_query()));
    }

    #[test]
    fn messages_round_trip_as_json() {
        let message = ToWorker::Start { settings: LabSettings::default(), backend: BackendRequest::Only(BackendKind::Cpu), play: true, letters: None, resume: None };
        let json = serde_json::to_string(&message).unwrap();
        assert!(json.contains("\"type\":\"start\""), "{json}");
        assert_eq!(serde_json::from_str::<ToWorker>(&json).unwrap(), message);
    }

    #[test]
    fn steps_default_to_one_and_letters_runs_are_evaluated_on_the_drawings() {
        assert_eq!(serde_json::from_str::<ToWorker>(r#"{"type":"step"}"#).unwrap(), ToWorker::Step { count: 1 });
        assert_eq!(serde_json::from_str::<ToWorker>(r#"{"type":"step","count":40}"#).unwrap(), ToWorker::Step { count: 40 });
        let letters = LabSettings { letters: true, ..LabSettings::default() };
        assert_eq!(letters.evaluated(), Evaluated::OwnDrawings);
        assert!(letters.evaluated().images(15).starts_with("your 15 drawings"));
        assert!(!letters.evaluated().images(15).contains("held-out test"));
        assert_eq!(Evaluated::of_data("mnist").images(211), "211 held-out test images");
        assert_eq!(Evaluated::of_data(LETTERS_DATA), Evaluated::OwnDrawings);
        assert_eq!(
            Evaluated::HeldOut.figure("−ELBO", 154.22, 250),
            "held-out −ELBO 154.2 nats per image on 250 held-out test images"
        );
        assert!(!Evaluated::OwnDrawings.figure("−ELBO", 80.0, 15).contains("held-out −ELBO"));
    }

    #[test]
    fn batches_cover_each_epoch_once_in_a_fresh_order() {
        let mut order = BatchOrder::new(10, 5);
        let mut ended = 0;
        let first: Vec<usize> = (0..3).flat_map(|_| order.next_batch(4, || ended += 1)).collect();
        // 12 indices: the whole first epoch, then two of the second.
        assert_eq!((ended, order.epoch()), (1, 1));
        let mut epoch_one = first[..10].to_vec();
        epoch_one.sort_unstable();
        assert_eq!(epoch_one, (0..10).collect::<Vec<_>>());
        assert_eq!(first[..10], shuffled(10, 5)[..]);
        assert_eq!(first[10..], shuffled(10, 6)[..2], "the next epoch reshuffles with seed + 1");
        // A batch larger than the set holds each image once.
        let mut big = BatchOrder::new(5, 1);
        let batch = big.next_batch(8, || {});
        assert_eq!(batch.len(), 5);
        assert_eq!(big.next_batch(8, || {}).len(), 5);
        assert_eq!(BatchOrder::new(0, 1).next_batch(8, || {}), Vec::<usize>::new());
    }

    #[test]
    fn a_resumed_batch_order_goes_on_as_the_uninterrupted_one() {
        let mut whole = BatchOrder::new(10, 3);
        let taken: Vec<Vec<usize>> = (0..7).map(|_| whole.next_batch(4, || {})).collect();
        let mut resumed = BatchOrder::after(10, 3, 4, 4);
        assert_eq!(resumed.epoch(), 1);
        let rest: Vec<Vec<usize>> = (0..3).map(|_| resumed.next_batch(4, || {})).collect();
        assert_eq!(rest, taken[4..]);
    }

    #[test]
    fn a_checkpoint_travels_as_json_without_its_weights() {
        let checkpoint = Checkpoint { step: 40, wall_millis: 1234.5, epoch_losses: Vec::new(), weights: vec![1, 2, 3] };
        let json = serde_json::to_string(&FromWorker::Checkpoint { checkpoint: checkpoint.clone() }).unwrap();
        assert!(json.contains(r#""type":"checkpoint""#) && json.contains(r#""wallMillis":1234.5"#), "{json}");
        let FromWorker::Checkpoint { checkpoint: back } = serde_json::from_str(&json).unwrap() else { panic!("{json}") };
        assert_eq!(back, Checkpoint { weights: Vec::new(), ..checkpoint });
    }

    #[test]
    fn evaluation_noise_is_fixed_by_the_seed_and_standard_normal() {
        let noise = evaluation_noise(42, 2000, 2);
        assert_eq!(noise.len(), 4000);
        assert_eq!(noise, evaluation_noise(42, 2000, 2));
        assert_ne!(noise, evaluation_noise(43, 2000, 2));
        assert_eq!(evaluation_noise(42, 10, 2)[..], noise[..20], "the first images' noise does not depend on the count");
        let mean = noise.iter().map(|v| f64::from(*v)).sum::<f64>() / 4000.0;
        let variance = noise.iter().map(|v| (f64::from(*v) - mean).powi(2)).sum::<f64>() / 4000.0;
        assert!(mean.abs() < 0.06 && (variance - 1.0).abs() < 0.08, "mean {mean}, variance {variance}");
    }

    #[test]
    fn epochs_end_where_the_images_run_out() {
        // 10,000 images in batches of 100: an epoch every 100 batches.
        let ends: Vec<u64> = (0..=350).filter(|&step| ends_an_epoch(step, 100, 10_000)).collect();
        assert_eq!(ends, [100, 200, 300]);
        assert_eq!(epochs_after(299, 100, 10_000), 2);
        // Batches that do not divide the set: the epoch ends in the batch that runs past it.
        let ends: Vec<u64> = (0..=10).filter(|&step| ends_an_epoch(step, 300, 1000)).collect();
        assert_eq!(ends, [4, 7, 10]);
        assert!(!ends_an_epoch(5, 100, 0), "no images: never");
    }

    #[test]
    fn shuffles_are_permutations_that_depend_on_the_seed() {
        let a = shuffled(100, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, shuffled(100, 2));
        assert_eq!(a, shuffled(100, 1));
    }

    #[test]
    fn warnings_name_collapse_and_wandering_codes() {
        let collapsed = Losses::new(200.0, 0.1, 1.0);
        assert!(code_warning(ModelKind::Vae, 500, &collapsed, &[], 2).unwrap().contains("collapsed"));
        assert!(code_warning(ModelKind::Vae, 10, &collapsed, &[], 2).is_none());
        let far = vec![8.0f32, -7.0, 9.0, 6.0];
        assert!(code_warning(ModelKind::Ae, 10, &collapsed, &far, 2).unwrap().contains("N(0, I)"));
        assert!(code_warning(ModelKind::Ae, 10, &collapsed, &[0.5, -1.0], 2).is_none());
    }
}

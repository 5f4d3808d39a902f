//! The native trainer on a small fixture the test draws itself: it lowers the loss,
//! writes weights that match their manifest, repeats itself from a seed, and resumes
//! from its checkpoint.

use std::path::{Path, PathBuf};

use latentlab::core::artifacts::{History, LatentMap};
use burn::prelude::*;
use latentlab::core::model::{Architecture, ModelKind};
use latentlab::core::catalogue::DatasetId;
use latentlab::native::trainer::{self, TrainOptions};
use latentlab::core::weights;

/// Writes an IDX dataset of `count` 28×28 images: a bright bar whose position and
/// orientation depend on the label, so there is something to learn.
fn write_fixture(folder: &Path, prefix: &str, count: usize) {
    std::fs::create_dir_all(folder).unwrap();
    let mut images = Vec::new();
    for v in [2051u32, count as u32, 28, 28] {
        images.extend_from_slice(&v.to_be_bytes());
    }
    let mut labels = Vec::new();
    for v in [2049u32, count as u32] {
        labels.extend_from_slice(&v.to_be_bytes());
    }
    for i in 0..count {
        let label = (i * 7 % 10) as u8;
        labels.push(label);
        let offset = 4 + 2 * label as usize;
        for y in 0..28 {
            for x in 0..28 {
                let (along, across) = if label % 2 == 0 { (x, y) } else { (y, x) };
                let on = (4..24).contains(&along) && (offset..offset + 3).contains(&across);
                images.push(if on { 230 } else { (i + x * y) as u8 % 8 });
            }
        }
    }
    std::fs::write(folder.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    std::fs::write(folder.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

/// burn's CPU backend draws from one process-wide seeded RNG: trainings in parallel
/// test threads would interleave their draws, so each test trains alone.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("latentlab-trainer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(root: &Path, run: &str, epochs: usize) -> TrainOptions {
    TrainOptions {
        dataset: DatasetId::FashionMnist,
        data_dir: root.join("data"),
        name: Some("fixture-vae".to_string()),
        kind: ModelKind::Vae,
        classes: Vec::new(),
        latent: 2,
        arch: Architecture::Conv,
        channels: 8,
        hidden: 512,
        epochs,
        batch: 50,
        learning_rate: 2e-3,
        beta: 1.0,
        seed: 7,
        train_limit: None,
        test_limit: None,
        out_dir: root.join(run).join("out"),
        checkpoint_dir: Some(root.join(run).join("checkpoints")),
    }
}

#[test]
fn trainer_learns_writes_and_repeats_itself() {
    let _alone = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let root = scratch("learn");
    write_fixture(&root.join("data/fashion-mnist"), "train", 300);
    write_fixture(&root.join("data/fashion-mnist"), "t10k", 100);

    let first = trainer::train(&options(&root, "a", 3)).unwrap();
    let losses: Vec<f64> = first.training.epoch_losses.iter().map(|m| m.neg_elbo).collect();
    assert_eq!(losses.len(), 3);
    assert!(losses[2] < losses[0], "training did not lower the loss: {losses:?}");
    assert_eq!((first.training.train_images, first.training.test_images), (300, 100));
    assert!(first.test_metrics.neg_elbo.is_finite());
    assert!(
        (first.test_metrics.neg_elbo - first.test_metrics.reconstruction - first.test_metrics.kl)
            .abs()
            < 1e-6
    );

    let out = root.join("a/out");
    let bytes = std::fs::read(out.join("fixture-vae.bpk")).unwrap();
    let manifest = weights::parse_manifest(
        &std::fs::read_to_string(out.join("fixture-vae.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest.sha256, first.sha256);
    assert_eq!(manifest.training.epoch_losses.len(), 3);
    assert_eq!(weights::sha256_hex(&bytes), manifest.sha256);
    assert_eq!(manifest.precision, "f16");

    // The latent map and the history hold what the page replays.
    let map = LatentMap::from_bytes(&std::fs::read(out.join("fixture-vae.map.bin")).unwrap()).unwrap();
    assert_eq!((map.len(), map.latent, map.means.len()), (100, 2, 200));
    assert!(map.means.iter().all(|m| m.is_finite()));
    let history =
        History::from_bytes(&std::fs::read(out.join("fixture-vae.history.bin")).unwrap()).unwrap();
    assert_eq!(history.snapshots.len(), 3);
    assert_eq!(history.map_labels.len(), 100);
    assert_eq!(history.reconstructed, (0..10).collect::<Vec<u32>>());
    for (epoch, snapshot) in history.snapshots.iter().enumerate() {
        assert_eq!(snapshot.epoch as usize, epoch + 1);
        assert_eq!(snapshot.means.len(), 200);
        assert_eq!(snapshot.reconstructions.len(), 10 * 784);
        assert!((snapshot.train_losses[0] as f64 - losses[epoch]).abs() < 1e-3);
    }
    assert_ne!(history.snapshots[0].means, history.snapshots[2].means);

    // Same seed, same data: the same weights, bit for bit.
    let again = trainer::train(&options(&root, "b", 3)).unwrap();
    assert_eq!(again.sha256, first.sha256);

    // A run stopped after one epoch and resumed ends where an uninterrupted one does.
    trainer::train(&options(&root, "c", 1)).unwrap();
    let resumed = trainer::train(&options(&root, "c", 3)).unwrap();
    assert_eq!(resumed.training.epoch_losses.len(), 3);
    assert_eq!(resumed.sha256, first.sha256);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn autoencoder_and_class_subsets() {
    let _alone = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let root = scratch("ae");
    write_fixture(&root.join("data/fashion-mnist"), "train", 200);
    write_fixture(&root.join("data/fashion-mnist"), "t10k", 60);
    let mut ae = options(&root, "ae", 2);
    ae.kind = ModelKind::Ae;
    ae.classes = vec![0, 3];
    let manifest = trainer::train(&ae).unwrap();
    assert_eq!(manifest.kind, ModelKind::Ae);
    assert_eq!(manifest.classes, Some(vec![0, 3]));
    assert_eq!(manifest.test_metrics.kl, 0.0);
    assert_eq!(manifest.test_metrics.neg_elbo, manifest.test_metrics.reconstruction);
    // Labels 0 and 3 are 2 of every 10 images in the fixture.
    assert_eq!((manifest.training.train_images, manifest.training.test_images), (40, 12));
    let map = LatentMap::from_bytes(
        &std::fs::read(root.join("ae/out/fixture-vae.map.bin")).unwrap(),
    )
    .unwrap();
    assert!(map.labels.iter().all(|&l| l == 0 || l == 3));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_dense_network_in_an_8d_latent_space() {
    let _alone = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let root = scratch("dense");
    write_fixture(&root.join("data/fashion-mnist"), "train", 300);
    write_fixture(&root.join("data/fashion-mnist"), "t10k", 60);
    let mut dense = options(&root, "dense", 3);
    dense.arch = Architecture::Dense;
    dense.hidden = 64;
    dense.latent = 8;
    let manifest = trainer::train(&dense).unwrap();
    let losses: Vec<f64> = manifest.training.epoch_losses.iter().map(|m| m.neg_elbo).collect();
    assert!(losses[2] < losses[0], "training did not lower the loss: {losses:?}");
    assert_eq!(manifest.architecture.network, Architecture::Dense);
    assert_eq!((manifest.latent, manifest.architecture.hidden), (8, Some(64)));

    let out = root.join("dense/out");
    let bytes = std::fs::read(out.join("fixture-vae.bpk")).unwrap();
    let device = Device::flex();
    let model = weights::load_model(&manifest, &bytes, &device).unwrap();
    assert_eq!(model.architecture(), Architecture::Dense);
    let z = Tensor::<2>::random([3, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let pixels: Vec<f32> = model.decode(z).into_data().iter::<f32>().collect();
    assert_eq!(pixels.len(), 3 * 784);
    assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    // The weights of the dense network do not load as the convolutional one.
    let conv = manifest.architecture.config().with_architecture(Architecture::Conv);
    assert!(weights::load_unchecked(&conv, &bytes, &device).is_err());

    let map = LatentMap::from_bytes(&std::fs::read(out.join("fixture-vae.map.bin")).unwrap()).unwrap();
    assert_eq!((map.latent, map.means.len()), (8, 60 * 8));
    let history = History::from_bytes(&std::fs::read(out.join("fixture-vae.history.bin")).unwrap()).unwrap();
    assert_eq!(history.snapshots.len(), 3);
    assert!(history.snapshots.iter().all(|s| s.means.is_empty()), "only 2-D histories hold maps");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn trainer_names_a_missing_dataset_file() {
    let root = scratch("missing");
    write_fixture(&root.join("data/fashion-mnist"), "train", 20);
    let error = trainer::train(&options(&root, "a", 1)).unwrap_err().to_string();
    assert!(error.contains("t10k-images-idx3-ubyte"), "{error}");
    std::fs::remove_dir_all(&root).unwrap();
}

//! The committed pretrained models: manifests match weights, every model loads and
//! decodes, and the latent maps and histories parse with the promised sizes.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use latentlab::core::artifacts::{History, LatentMap};
use latentlab::core::catalogue::{ShippedModel, DEFAULT_MODEL};
use latentlab::core::math::default_latent_grid;
use latentlab::native::first_paint;
use latentlab::native::trainer::{HISTORY_MAP_IMAGES, HISTORY_RECONSTRUCTIONS, LATENT_MAP_IMAGES};
use latentlab::core::weights::{self, Manifest, WeightsError};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/models")
}

fn shipped(name: &str) -> (Manifest, Vec<u8>) {
    let dir = models_dir();
    let manifest =
        weights::parse_manifest(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let bytes = std::fs::read(dir.join(&manifest.weights)).unwrap();
    (manifest, bytes)
}

#[test]
fn fashion_model_decodes_the_grid() {
    let (manifest, bytes) = shipped("fashion-mnist-vae-2d");
    assert_eq!(manifest.dataset, "fashion-mnist");
    assert_eq!(manifest.latent, 2);
    assert_eq!(manifest.weight_bytes, bytes.len());
    assert_eq!(manifest.sha256, weights::sha256_hex(&bytes));
    assert_eq!(manifest.class_names.len(), 10);

    let device = Device::flex();
    let model = weights::load_model(&manifest, &bytes, &device).unwrap();
    let grid: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
    let z = Tensor::<2>::from_data(TensorData::new(grid, [225, 2]), &device);
    let images = model.decode(z);
    assert_eq!(images.dims(), [225, 1, 28, 28]);
    let pixels: Vec<f32> = images.into_data().try_into_vec().unwrap();
    assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    let cell_mean = |i: usize| pixels[i * 784..(i + 1) * 784].iter().sum::<f32>() / 784.0;
    assert!((0..225).filter(|&i| cell_mean(i) > 0.02).count() > 200, "grid is mostly blank");
    let difference: f32 = pixels[..784]
        .iter()
        .zip(&pixels[224 * 784..])
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / 784.0;
    assert!(difference > 0.05, "opposite corners decode alike");
}

#[test]
fn every_manifest_matches_its_weight_file() {
    let mut seen = 0;
    for entry in std::fs::read_dir(models_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let manifest =
                weights::parse_manifest(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let bytes = std::fs::read(path.with_file_name(&manifest.weights)).unwrap();
            assert_eq!(weights::sha256_hex(&bytes), manifest.sha256, "{}", path.display());
            let device = Device::flex();
            let model = weights::load_model(&manifest, &bytes, &device).unwrap();
            let z = Tensor::<2>::random([4, manifest.latent], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
            let pixels: Vec<f32> = model.decode(z).into_data().try_into_vec().unwrap();
            assert_eq!(pixels.len(), 4 * 784);
            assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)), "{}", path.display());
            assert!(pixels.iter().sum::<f32>() / pixels.len() as f32 > 0.01, "{} decodes blank images", path.display());
            seen += 1;
        }
    }
    assert_eq!(seen, ShippedModel::all().count());
}

#[test]
fn damaged_weights_give_errors_not_panics() {
    let (manifest, bytes) = shipped("fashion-mnist-vae-2d");
    let device = Device::flex();

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let error = weights::load_model(&manifest, &flipped, &device).err().unwrap();
    assert!(matches!(error, WeightsError::ChecksumMismatch { .. }));
    assert!(error.to_string().contains("checksum"));

    // Garbage that passes the checksum (a manifest written for it) must still fail cleanly.
    let config = manifest.architecture.config();
    for garbage in [vec![], vec![0u8; 10], bytes[..bytes.len() / 3].to_vec(), b"not a model".to_vec()] {
        assert!(weights::load_unchecked(&config, &garbage, &device).is_err());
    }
    // Weights of another architecture are refused.
    let other = config.clone().with_latent(3);
    assert!(weights::load_unchecked(&other, &bytes, &device).is_err());
}

#[test]
fn malformed_manifests_are_refused() {
    assert!(matches!(weights::parse_manifest("{"), Err(WeightsError::BadManifest(_))));
    let (manifest, _) = shipped("fashion-mnist-vae-2d");
    let mut json: serde_json::Value = serde_json::to_value(&manifest).unwrap();
    json["latent"] = 5.into();
    let error = weights::parse_manifest(&json.to_string()).unwrap_err();
    assert!(error.to_string().contains("latent"));
}

/// Every model the page offers ships with weights, a manifest that agrees with the
/// catalogue, a latent map of the first 5,000 test images and a per-epoch history.
#[test]
fn every_catalogued_model_ships_with_its_map_and_history() {
    let dir = models_dir();
    let mut expected_files = Vec::new();
    for model in ShippedModel::all() {
        let name = model.name();
        let (manifest, _) = shipped(&name);
        assert_eq!(manifest.name, name);
        assert_eq!(manifest.dataset, model.dataset.name(), "{name}");
        assert_eq!(manifest.kind, model.variant.kind(), "{name}");
        assert_eq!(manifest.latent, model.variant.latent(), "{name}");
        assert_eq!(manifest.architecture.network, model.variant.architecture(), "{name}");
        assert_eq!(manifest.training.test_images, 10_000, "{name} is evaluated on the full test set");
        for key in ["neg_elbo", "reconstruction", "kl"] {
            let value = serde_json::to_value(&manifest.test_metrics).unwrap()[key].as_f64().unwrap();
            assert!(value.is_finite() && value >= 0.0, "{name}: {key} = {value}");
        }

        let map_bytes = std::fs::read(dir.join(format!("{name}.map.bin"))).unwrap();
        let map = LatentMap::from_bytes(&map_bytes).unwrap();
        assert_eq!(map.latent, manifest.latent, "{name}");
        assert_eq!(map.labels.len(), LATENT_MAP_IMAGES, "{name}");
        assert_eq!(map.means.len(), LATENT_MAP_IMAGES * manifest.latent, "{name}");
        assert!(map.labels.iter().all(|&l| l < 10), "{name}");
        assert!(map.means.iter().all(|m| m.is_finite()), "{name}");
        assert_eq!(map_bytes.len(), 12 + LATENT_MAP_IMAGES * (2 * manifest.latent + 1), "{name}");

        let history_bytes = std::fs::read(dir.join(format!("{name}.history.bin"))).unwrap();
        let history = History::from_bytes(&history_bytes).unwrap();
        assert_eq!(history.latent, manifest.latent, "{name}");
        assert_eq!(history.snapshots.len(), manifest.training.epochs, "{name}: one snapshot per epoch");
        assert_eq!(history.reconstructed.len(), HISTORY_RECONSTRUCTIONS, "{name}");
        let map_images = if manifest.latent == 2 { HISTORY_MAP_IMAGES } else { 0 };
        assert_eq!(history.map_labels.len(), map_images, "{name}");
        // The history's map images are the first test images, as in the latent map.
        assert_eq!(history.map_labels[..], map.labels[..map_images], "{name}");
        for (index, snapshot) in history.snapshots.iter().enumerate() {
            assert_eq!(snapshot.epoch as usize, index + 1, "{name}");
            assert_eq!(snapshot.means.len(), map_images * manifest.latent, "{name}");
            assert_eq!(snapshot.reconstructions.len(), HISTORY_RECONSTRUCTIONS * 784, "{name}");
            assert!(snapshot.train_losses.iter().all(|l| l.is_finite()), "{name}");
        }
        let losses: Vec<f32> = history.snapshots.iter().map(|s| s.train_losses[0]).collect();
        assert_eq!(
            history.snapshots.last().unwrap().train_losses[0],
            manifest.training.epoch_losses.last().unwrap().neg_elbo as f32,
            "{name}: the history's losses are the manifest's"
        );
        assert!(losses.last() < losses.first(), "{name}: training did not lower the loss");

        expected_files.extend([
            format!("{name}.json"),
            manifest.weights.clone(),
            format!("{name}.map.bin"),
            format!("{name}.history.bin"),
        ]);
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    expected_files.sort();
    assert_eq!(present, expected_files, "www/models holds exactly the catalogue's files");
    let total: u64 = present.iter().map(|f| std::fs::metadata(dir.join(f)).unwrap().len()).sum();
    assert!(total < 10 * 1024 * 1024, "the shipped models take {total} bytes, over 10 MB");
}

#[test]
fn the_first_paint_is_the_default_models_grid() {
    let (manifest, bytes) = shipped(&DEFAULT_MODEL.name());
    let device = Device::flex();
    let model = weights::load_model(&manifest, &bytes, &device).unwrap();
    let expected = first_paint::grid_picture(&model, &device).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("www").join(first_paint::FIRST_PAINT_FILE);
    let committed = first_paint::read_png(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!((committed.width, committed.height), (420, 420));
    let differing = committed.pixels.iter().zip(&expected.pixels).filter(|(a, b)| a.abs_diff(**b) > 1).count();
    assert_eq!(
        differing, 0,
        "{} no longer shows what the shipped weights decode: run `latentlab export-first-paint`",
        path.display()
    );
    assert!(first_paint::read_png(b"\x89PNG\r\n\x1a\nnot really").is_err());
}

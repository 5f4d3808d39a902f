//! The committed pretrained model: its manifest matches its weights, it loads into the
//! architecture, and it decodes the grid to images in [0, 1].

use std::path::{Path, PathBuf};

use burn::prelude::*;
use latentlab::math::default_latent_grid;
use latentlab::weights::{self, Manifest, WeightsError};

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
            weights::load_model(&manifest, &bytes, &Device::flex()).unwrap();
            seen += 1;
        }
    }
    assert!(seen >= 1);
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

//! A loaded model on the chosen device, and what the page asks of it.

use burn::prelude::*;

use super::backend::{BackendKind, ChosenDevice};
use super::fetch;
use crate::data::IMAGE_PIXELS;
use crate::model::Vae;
use crate::weights::{self, Manifest};

pub struct Engine {
    pub model: Vae,
    pub device: Device,
    pub backend: BackendKind,
    pub manifest: Manifest,
}

/// Steps of loading a model, reported to the page as they happen.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadStep {
    Downloading { received: u64, total: Option<u64> },
    Preparing,
}

/// Downloads the model named `model_name` from `models/`, checks it against its
/// manifest and loads it onto the chosen device.
pub async fn load(
    model_name: &str,
    chosen: &ChosenDevice,
    report: impl Fn(LoadStep),
) -> Result<Engine, String> {
    let manifest_url = format!("models/{model_name}.json");
    let manifest = weights::parse_manifest(&fetch::fetch_text(&manifest_url).await?)
        .map_err(|e| format!("{manifest_url}: {e}"))?;
    let weights_url = format!("models/{}", manifest.weights);
    report(LoadStep::Downloading {
        received: 0,
        total: Some(manifest.weight_bytes as u64),
    });
    let bytes = fetch::fetch_bytes(&weights_url, |received, total| {
        report(LoadStep::Downloading { received, total })
    })
    .await?;
    report(LoadStep::Preparing);
    let model = weights::load_model(&manifest, &bytes, &chosen.device)
        .map_err(|e| format!("{weights_url}: {e}"))?;
    Ok(Engine {
        model,
        device: chosen.device.clone(),
        backend: chosen.kind,
        manifest,
    })
}

impl Engine {
    pub fn latent(&self) -> usize {
        self.manifest.latent
    }

    /// Decodes latent points (`latents` holds n × latent values, point by point) in one
    /// batch and reads the pixels back: n × 28 × 28 values in [0, 1].
    pub async fn decode(&self, latents: Vec<f32>) -> Result<Vec<f32>, String> {
        let latent = self.latent();
        if latents.is_empty() || latents.len() % latent != 0 {
            return Err(format!(
                "expected latent vectors of {latent} numbers, got {} numbers in all",
                latents.len()
            ));
        }
        let count = latents.len() / latent;
        let z = Tensor::<2>::from_data(TensorData::new(latents, [count, latent]), &self.device);
        let pixels = self
            .model
            .decode(z)
            .into_data_async()
            .await
            .map_err(|e| format!("the {} backend failed while decoding: {e:?}", self.backend.label()))?
            .try_into_vec::<f32>()
            .map_err(|e| format!("unexpected decoder output: {e:?}"))?;
        debug_assert_eq!(pixels.len(), count * IMAGE_PIXELS);
        Ok(pixels)
    }
}

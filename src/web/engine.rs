//! A loaded model on the chosen device, and what the page asks of it.

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::*;

use crate::browser::backend::{BackendKind, ChosenDevice};
use crate::browser::readback::{read_floats, ReadFailure};
use crate::browser::{clock::yield_to_page, fetch};
use crate::core::catalogue::model_file_url;
use crate::core::data::{pad_to_model_side, IMAGE_PIXELS, MODEL_PIXELS};
use crate::core::model::{Vae, MODEL_SIDE};
use crate::core::weights::{self, Manifest};

/// Convolutional decodes per batch on the CPU backend: ~1.3 ms each (release build), twice
/// that while the lab trains beside the page.
const DECODES_PER_CPU_TASK: usize = 8;
/// Convolutional encodes per batch on the CPU backend: ~0.4 ms each.
const ENCODES_PER_CPU_TASK: usize = 48;
/// Points or images per batch on a GPU (the 225-point grid in one; 2.4 MB of pixels back).
const GPU_BATCH: usize = 256;

pub struct Engine {
    pub model: Vae,
    pub device: Device,
    pub backend: BackendKind,
    pub manifest: Manifest,
    /// The weight file it was loaded from, to load again on a new device.
    weights: Rc<Vec<u8>>,
}

thread_local! {
    /// Told when a WebGPU operation fails (the session restarts the device).
    static DEVICE_FAILED: RefCell<Option<Rc<dyn Fn(String)>>> = RefCell::new(None);
}

/// Calls `watch` whenever a model's WebGPU operation fails: the device may be lost.
pub fn watch_device_failures(watch: impl Fn(String) + 'static) {
    DEVICE_FAILED.with(|slot| *slot.borrow_mut() = Some(Rc::new(watch)));
}

/// Steps of loading a model, reported to the page as they happen.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadStep {
    Downloading { received: u64, total: Option<u64> },
    Preparing,
}

/// μ and log σ² of encoded images, `latent` values per image, image by image.
pub struct Encoded {
    pub mean: Vec<f32>,
    pub log_var: Vec<f32>,
}

impl Encoded {
    /// σ = exp(½ log σ²).
    pub fn sigma(&self) -> Vec<f32> {
        self.log_var.iter().map(|v| (0.5 * v).exp()).collect()
    }
}

/// Downloads the weights `manifest` names from `models/`, checks them against it and
/// loads them onto the chosen device.
pub async fn load(manifest: Manifest, chosen: &ChosenDevice, report: impl Fn(LoadStep)) -> Result<Engine, String> {
    let weights_url = model_file_url(&manifest.weights);
    report(LoadStep::Downloading {
        received: 0,
        total: Some(manifest.weight_bytes as u64),
    });
    let bytes = fetch::fetch_bytes(&weights_url, |received, total| {
        report(LoadStep::Downloading { received, total })
    })
    .await?;
    report(LoadStep::Preparing);
    Engine::from_bytes(manifest, &bytes, chosen).map_err(|e| format!("{weights_url}: {e}"))
}

impl Engine {
    /// Checks weight file bytes against their manifest and loads them onto the device.
    pub fn from_bytes(manifest: Manifest, bytes: &[u8], chosen: &ChosenDevice) -> Result<Engine, String> {
        let model = weights::load_model(&manifest, bytes, &chosen.device).map_err(|e| e.to_string())?;
        Ok(Engine {
            model,
            device: chosen.device.clone(),
            backend: chosen.kind,
            manifest,
            weights: Rc::new(bytes.to_vec()),
        })
    }

    /// The same model loaded again onto another device (after the first was lost).
    pub fn on_device(&self, chosen: &ChosenDevice) -> Result<Engine, String> {
        let model = weights::load_model(&self.manifest, &self.weights, &chosen.device).map_err(|e| e.to_string())?;
        Ok(Engine {
            model,
            device: chosen.device.clone(),
            backend: chosen.kind,
            manifest: self.manifest.clone(),
            weights: self.weights.clone(),
        })
    }

    pub fn latent(&self) -> usize {
        self.manifest.latent
    }

    /// Words for a failed read; a WebGPU failure is also told to the device's watcher.
    fn failed(&self, doing: &str, failure: ReadFailure) -> String {
        let error = match failure {
            ReadFailure::Data(e) => return format!("unexpected output while {doing}: {e}"),
            ReadFailure::Backend(e) => e,
        };
        let message = format!("the {} backend failed while {doing}: {error}", self.backend.label());
        if self.backend == BackendKind::WebGpu {
            if let Some(watch) = DEVICE_FAILED.with(|slot| slot.borrow().clone()) {
                watch(message.clone());
            }
        }
        message
    }

    /// Decodes latent points (`latents` holds n × latent values, point by point) and reads
    /// the pixels back: n × 28 × 28 values in [0, 1]. Large requests go in batches, and
    /// between batches the page gets its thread back (see [`Engine::batch_size`]).
    pub async fn decode(&self, latents: &[f32]) -> Result<Vec<f32>, String> {
        let latent = self.latent();
        if latents.is_empty() || latents.len() % latent != 0 {
            return Err(format!(
                "expected latent vectors of {latent} numbers, got {} numbers in all",
                latents.len()
            ));
        }
        let mut pixels = Vec::with_capacity(latents.len() / latent * IMAGE_PIXELS);
        for (index, batch) in latents.chunks(self.batch_size(DECODES_PER_CPU_TASK) * latent).enumerate() {
            if index > 0 {
                yield_to_page().await;
            }
            pixels.extend(self.decode_batch(batch.to_vec()).await?);
        }
        Ok(pixels)
    }

    /// Encodes 28×28 images (n × 784 values in [0, 1], image by image), in batches as
    /// [`Engine::decode`] decodes.
    pub async fn encode(&self, images: &[f32]) -> Result<Encoded, String> {
        if images.is_empty() || images.len() % IMAGE_PIXELS != 0 {
            return Err(format!(
                "expected 28×28 images of {IMAGE_PIXELS} values, got {} values in all",
                images.len()
            ));
        }
        let mut all = Encoded { mean: Vec::new(), log_var: Vec::new() };
        for (index, batch) in images.chunks(self.batch_size(ENCODES_PER_CPU_TASK) * IMAGE_PIXELS).enumerate() {
            if index > 0 {
                yield_to_page().await;
            }
            let encoded = self.encode_batch(batch).await?;
            all.mean.extend(encoded.mean);
            all.log_var.extend(encoded.log_var);
        }
        Ok(all)
    }

    /// Points or images per batch. The CPU backend computes on the page's own thread, so
    /// its batches are kept to ~10–20 ms of work (release build) and the page stays fluid
    /// while a model loads or a view fills; a GPU takes large batches.
    fn batch_size(&self, per_cpu_task: usize) -> usize {
        match self.backend {
            BackendKind::Cpu => per_cpu_task,
            BackendKind::WebGpu => GPU_BATCH,
        }
    }

    async fn decode_batch(&self, latents: Vec<f32>) -> Result<Vec<f32>, String> {
        let latent = self.latent();
        let count = latents.len() / latent;
        let z = Tensor::<2>::from_data(TensorData::new(latents, [count, latent]), &self.device);
        let pixels = read_floats(self.model.decode(z)).await.map_err(|e| self.failed("decoding", e))?;
        debug_assert_eq!(pixels.len(), count * IMAGE_PIXELS);
        Ok(pixels)
    }

    async fn encode_batch(&self, images: &[f32]) -> Result<Encoded, String> {
        let count = images.len() / IMAGE_PIXELS;
        let mut padded = Vec::with_capacity(count * MODEL_PIXELS);
        for image in images.chunks_exact(IMAGE_PIXELS) {
            padded.extend(pad_to_model_side(image));
        }
        let inputs = Tensor::<4>::from_data(
            TensorData::new(padded, [count, 1, MODEL_SIDE, MODEL_SIDE]),
            &self.device,
        );
        let (mean, log_var) = self.model.encode(inputs);
        Ok(Encoded {
            mean: read_floats(mean).await.map_err(|e| self.failed("encoding", e))?,
            log_var: read_floats(log_var).await.map_err(|e| self.failed("encoding", e))?,
        })
    }
}

//! One training step (batch → loss terms → gradients → optimizer step), the same for the
//! native trainer and the browser lab. Only the loops around it differ: the trainer reads
//! the losses synchronously, the lab reads them asynchronously (WebGPU in wasm cannot
//! read synchronously).

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::core::model::{loss_terms, ModelKind, Vae, VaeOutput};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSettings {
    pub kind: ModelKind,
    /// Weight of the KL term (ignored by a plain autoencoder).
    pub beta: f32,
    pub learning_rate: f64,
}

/// Adam's ε, the value Keras uses (burn's default is 1e-5).
pub const ADAM_EPSILON: f32 = 1e-7;

/// The optimizer every training run starts with: Adam, β₁ 0.9, β₂ 0.999, ε 1e-7.
pub fn new_optimizer() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(ADAM_EPSILON).init()
}

/// The loss terms of a step's batch, before the update; unread.
pub struct StepLosses {
    /// Σ over the pixels of BCE, averaged over the batch.
    pub reconstruction: Tensor<1>,
    /// KL(q(z|x) ‖ N(0, I)), averaged over the batch; `None` for a plain autoencoder.
    pub kl: Option<Tensor<1>>,
}

/// Trains `model` (on an autodiff device) on one batch: inputs [n, 1, 32, 32], targets
/// [n, 1, 28, 28]. The loss is reconstruction + β·KL for a VAE, reconstruction alone for
/// an autoencoder. Returns the updated model and the batch's loss terms.
pub fn train_step(
    model: Vae,
    optimizer: &mut ModuleOptimizer,
    inputs: Tensor<4>,
    targets: Tensor<4>,
    settings: StepSettings,
) -> (Vae, StepLosses) {
    let output = settings.kind.forward(&model, inputs);
    step_on(model, optimizer, output, targets, settings)
}

/// [`train_step`] with the VAE's noise ε [n, latent] given rather than drawn: the same
/// step, repeatable, to check another implementation against (the benchmark's peer).
pub fn train_step_with_noise(
    model: Vae,
    optimizer: &mut ModuleOptimizer,
    inputs: Tensor<4>,
    targets: Tensor<4>,
    noise: Tensor<2>,
    settings: StepSettings,
) -> (Vae, StepLosses) {
    let output = match settings.kind {
        ModelKind::Vae => model.forward_with_noise(inputs, noise),
        ModelKind::Ae => model.forward_mean(inputs),
    };
    step_on(model, optimizer, output, targets, settings)
}

/// The loss of the step's forward pass, its gradients and the optimizer's update.
fn step_on(
    model: Vae,
    optimizer: &mut ModuleOptimizer,
    output: VaeOutput,
    targets: Tensor<4>,
    settings: StepSettings,
) -> (Vae, StepLosses) {
    let terms = loss_terms(&output, targets);
    let (loss, kl) = match settings.kind {
        ModelKind::Vae => (
            terms.reconstruction.clone() + terms.kl.clone() * settings.beta,
            Some(terms.kl.detach()),
        ),
        ModelKind::Ae => (terms.reconstruction.clone(), None),
    };
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optimizer.step(settings.learning_rate, model, grads);
    let losses = StepLosses {
        reconstruction: terms.reconstruction.detach(),
        kl,
    };
    (model, losses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::PreparedImages;
    use crate::core::model::VaeConfig;

    fn stripes(count: usize) -> PreparedImages {
        let mut pixels = Vec::new();
        for i in 0..count {
            pixels.extend((0..784).map(|p| if (p / 28 + i) % 4 == 0 { 255u8 } else { 0 }));
        }
        let labels: Vec<u8> = (0..count as u8).map(|i| i % 4).collect();
        PreparedImages::from_bytes(&pixels, &labels, None, &[])
    }

    #[test]
    fn a_step_with_given_noise_is_repeatable() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let model = VaeConfig::new().with_channels(4).init(&device);
        let images = stripes(4);
        let (inputs, targets) = images.batch(&[0, 1, 2, 3], &device);
        let noise = Tensor::<2>::random([4, 2], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let settings = StepSettings { kind: ModelKind::Vae, beta: 1.0, learning_rate: 1e-3 };
        let values = |model: &Vae| model.parameters().into_iter().flat_map(|a| a.values).collect::<Vec<f32>>();
        let runs: Vec<((f32, f32), Vec<f32>)> = (0..2)
            .map(|_| {
                let (stepped, losses) = train_step_with_noise(model.clone(), &mut new_optimizer(), inputs.clone(), targets.clone(), noise.clone(), settings);
                let losses = (losses.reconstruction.into_scalar(), losses.kl.expect("a VAE has a KL term").into_scalar());
                (losses, values(&stepped))
            })
            .collect();
        assert_eq!(runs[0].0, runs[1].0, "the losses before the update differ");
        assert_eq!(runs[0].1, runs[1].1, "the updated weights differ");
        assert_ne!(runs[0].1, values(&model), "the step left the weights as they were");
    }

    #[test]
    fn steps_lower_the_loss_for_both_kinds() {
        for kind in [ModelKind::Vae, ModelKind::Ae] {
            let device = Device::flex().autodiff();
            device.seed(1);
            let mut model = VaeConfig::new().with_channels(4).init(&device);
            let mut optimizer = new_optimizer();
            let images = stripes(8);
            let indices: Vec<usize> = (0..8).collect();
            let settings = StepSettings { kind, beta: 1.0, learning_rate: 3e-3 };
            let mut first = None;
            let mut last = 0.0;
            for _ in 0..30 {
                let (inputs, targets) = images.batch(&indices, &device);
                let (next, losses) = train_step(model, &mut optimizer, inputs, targets, settings);
                model = next;
                assert_eq!(losses.kl.is_some(), kind == ModelKind::Vae);
                last = losses.reconstruction.into_scalar::<f32>();
                first.get_or_insert(last);
            }
            let first = first.unwrap();
            assert!(last < first * 0.9, "{kind:?}: reconstruction {first} → {last}");
        }
    }
}

//! One training step (batch → loss terms → gradients → optimizer step), the same for the
//! native trainer and the browser lab. Only the loops around it differ: the trainer reads
//! the losses synchronously, the lab reads them asynchronously (WebGPU in wasm cannot
//! read synchronously).
//!
//! On the CPU a step can be split into parts ([`train_step_in_parts`]), one per thread:
//! burn's CPU backend parallelises only some operations (forward convolutions, large
//! products), so most of a step would otherwise run on one core.

use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::core::model::{loss_terms, LossTerms, ModelKind, Vae, VaeOutput};
use crate::core::parts::{on_threads, part_ranges};

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
    let (grads, losses) = gradients(&model, &output, targets, settings, 1.0);
    (optimizer.step(settings.learning_rate, model, grads), losses)
}

/// The gradients of the objective (reconstruction + β·KL, or reconstruction alone)
/// times `share`, and the loss terms times `share`.
fn gradients(model: &Vae, output: &VaeOutput, targets: Tensor<4>, settings: StepSettings, share: f32) -> (GradientsParams, StepLosses) {
    let LossTerms { reconstruction, kl } = loss_terms(output, targets);
    let (objective, kl) = match settings.kind {
        ModelKind::Vae => (reconstruction.clone() + kl.clone() * settings.beta, Some(kl.detach() * share)),
        ModelKind::Ae => (reconstruction.clone(), None),
    };
    let grads = GradientsParams::from_grads((objective * share).backward(), model);
    (grads, StepLosses { reconstruction: reconstruction.detach() * share, kl })
}

/// [`train_step`] with the batch split into `parts` (at most one per image), each part's
/// forward and backward pass on a thread of its own, on a copy of the model with a graph of
/// its own; the parts' gradients, weighted by their share of the batch, are summed before
/// the one optimizer update. The same step as `train_step` up to float rounding, and the
/// same noise ε (drawn for the whole batch first). For the CPU backend: one part is
/// `train_step` itself.
pub fn train_step_in_parts(
    model: Vae,
    optimizer: &mut ModuleOptimizer,
    inputs: Tensor<4>,
    targets: Tensor<4>,
    settings: StepSettings,
    parts: usize,
) -> (Vae, StepLosses) {
    let [batch, ..] = inputs.dims();
    let parts = parts.clamp(1, batch.max(1));
    if parts == 1 {
        return train_step(model, optimizer, inputs, targets, settings);
    }
    let noise = match settings.kind {
        ModelKind::Vae => Some(model.draw_noise(batch, &inputs.device())),
        ModelKind::Ae => None,
    };
    step_in_parts(model, optimizer, inputs, targets, noise, settings, parts)
}

/// [`train_step_in_parts`] with the VAE's noise given (`None` for an autoencoder).
fn step_in_parts(
    model: Vae,
    optimizer: &mut ModuleOptimizer,
    inputs: Tensor<4>,
    targets: Tensor<4>,
    noise: Option<Tensor<2>>,
    settings: StepSettings,
    parts: usize,
) -> (Vae, StepLosses) {
    let [batch, ..] = inputs.dims();
    let device = inputs.device();
    let work: Vec<Part> = part_ranges(batch, parts)
        .map(|(start, length)| Part {
            replica: model.clone().fork(&device),
            inputs: inputs.clone().narrow(0, start, length),
            targets: targets.clone().narrow(0, start, length),
            noise: noise.clone().map(|noise| noise.narrow(0, start, length)),
        })
        .collect();
    let results = on_threads(work, move |part| {
        let share = part.inputs.dims()[0] as f32 / batch as f32;
        let output = match part.noise {
            Some(noise) => part.replica.forward_with_noise(part.inputs, noise),
            None => part.replica.forward_mean(part.inputs),
        };
        gradients(&part.replica, &output, part.targets, settings, share)
    });
    let mut summed = GradientsAccumulator::<Vae>::new();
    let losses = results
        .into_iter()
        .map(|(grads, losses)| {
            summed.accumulate(&model, grads);
            losses
        })
        .reduce(|total, part| StepLosses {
            reconstruction: total.reconstruction + part.reconstruction,
            kl: total.kl.zip(part.kl).map(|(a, b)| a + b),
        })
        .expect("a batch has at least one part");
    (optimizer.step(settings.learning_rate, model, summed.grads()), losses)
}

/// One part of a batch and the model copy that trains on it.
struct Part {
    replica: Vae,
    inputs: Tensor<4>,
    targets: Tensor<4>,
    noise: Option<Tensor<2>>,
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
    fn a_step_in_parts_is_the_whole_batch_step() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let model = VaeConfig::new().with_channels(4).init(&device);
        let values = |model: &Vae| model.parameters().into_iter().flat_map(|a| a.values).collect::<Vec<f32>>();
        values(&model); // initialises the weights, which the copies below then share
        let images = stripes(6);
        let (inputs, targets) = images.batch(&[0, 1, 2, 3, 4, 5], &device);
        let noise = Tensor::<2>::random([6, 2], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        for kind in [ModelKind::Vae, ModelKind::Ae] {
            let settings = StepSettings { kind, beta: 1.0, learning_rate: 1e-3 };
            let (whole, whole_losses) = train_step_with_noise(model.clone(), &mut new_optimizer(), inputs.clone(), targets.clone(), noise.clone(), settings);
            let whole_loss = whole_losses.reconstruction.into_scalar::<f32>();
            let whole = values(&whole);
            for parts in [2, 4, 6] {
                let noise = (kind == ModelKind::Vae).then(|| noise.clone());
                let (stepped, losses) = step_in_parts(model.clone(), &mut new_optimizer(), inputs.clone(), targets.clone(), noise, settings, parts);
                let loss = losses.reconstruction.into_scalar::<f32>();
                assert!((loss - whole_loss).abs() < 1e-4 * whole_loss.abs(), "{kind:?} in {parts} parts: loss {loss} vs {whole_loss}");
                let largest = whole.iter().zip(values(&stepped)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                // Adam's first update is about ±lr per weight whatever the gradient's size, so
                // float rounding in a near-zero gradient can move a weight by a sliver of lr;
                // a wrong weighting of the parts moves many by ~lr.
                assert!(largest < 1e-2 * settings.learning_rate as f32, "{kind:?} in {parts} parts: a weight differs by {largest}");
            }
        }
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

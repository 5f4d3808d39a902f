//! The letters workshop's promise, natively: the five vowels drawn three times each,
//! augmented as the lab augments them and trained from scratch with the lab's step,
//! give a 2-D map on which each drawing's nearest neighbour is mostly of its own letter.

use std::time::Instant;

use burn::prelude::*;
use latentlab::core::data::PreparedImages;
use latentlab::core::letters::{copies_per_drawing, nearest_neighbour_agreement, LetterSet};
use latentlab::core::model::{Architecture, ModelKind, VaeConfig};
use latentlab::core::preprocess::{PAD_BRUSH, PAD_SIDE};
use latentlab::lab::BatchOrder;
use latentlab::train::step::{new_optimizer, train_step, StepSettings};
use latentlab::native::stroke_digits::vowel_drawings;
use latentlab::native::trainer::encode_means;

fn train_on_vowels(architecture: Architecture, steps: usize) -> (f64, f64, f64) {
    let mut set = LetterSet::new(PAD_SIDE, PAD_BRUSH);
    for (label, strokes) in vowel_drawings(3, PAD_SIDE, 11) {
        set.add(label, strokes).unwrap();
    }
    let started = Instant::now();
    let augmented = set.training_images(copies_per_drawing(set.drawings.len()), 42);
    let augment_seconds = started.elapsed().as_secs_f64();
    let train = PreparedImages::from_bytes(&augmented.pixels, &augmented.labels, None, &[]);
    let drawn = set.images();
    let drawings = PreparedImages::from_bytes(&drawn.pixels, &drawn.labels, None, &[]);

    let device = Device::flex().autodiff();
    device.seed(42);
    let mut model = VaeConfig::new().with_latent(2).with_architecture(architecture).init(&device);
    // The lab's own optimiser and batch order.
    let mut optimizer = new_optimizer();
    let mut batches = BatchOrder::new(train.len(), 42);
    let settings = StepSettings { kind: ModelKind::Vae, beta: 1.0, learning_rate: 1e-3 };
    let mut first_loss = None;
    let mut last_loss = 0.0;
    let started = Instant::now();
    for _ in 0..steps {
        let indices = batches.next_batch(100, || {});
        let (inputs, targets) = train.batch(&indices, &device);
        let (next, losses) = train_step(model, &mut optimizer, inputs, targets, settings);
        model = next;
        let loss = losses.reconstruction.into_scalar::<f32>() + losses.kl.map_or(0.0, |kl| kl.into_scalar::<f32>());
        first_loss.get_or_insert(loss);
        last_loss = loss;
    }
    let train_seconds = started.elapsed().as_secs_f64();
    let means = encode_means(&model.valid(), &drawings, drawings.len(), &Device::flex());
    let agreement = nearest_neighbour_agreement(&means, &drawings.labels, 2).unwrap();
    eprintln!(
        "{architecture:?}: {} training images made in {augment_seconds:.2} s; {steps} steps in {train_seconds:.1} s; \
         loss {:.1} → {last_loss:.1}; nearest-neighbour agreement {agreement:.2}",
        train.len(),
        first_loss.unwrap()
    );
    (f64::from(first_loss.unwrap()), f64::from(last_loss), agreement)
}

#[test]
fn vowels_drawn_three_times_each_cluster_after_a_short_dense_run() {
    let (first, last, agreement) = train_on_vowels(Architecture::Dense, 300);
    assert!(last < 0.6 * first, "the loss fell from {first} to {last} only");
    assert!(agreement >= 0.8, "only {agreement:.2} of the drawings sit nearest their own letter");
}


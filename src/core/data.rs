//! Turning 28×28 greyscale images into the tensors the model works on.

#[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
use burn::prelude::*;

use crate::core::spec::{IMAGE_PADDING, IMAGE_SIDE, MODEL_SIDE};

pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
pub const MODEL_PIXELS: usize = MODEL_SIDE * MODEL_SIDE;

/// Scales 28×28 bytes to [0, 1].
pub fn bytes_to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| p as f32 / 255.0).collect()
}

/// A pixel value in [0, 1] as a byte (clamped; NaN gives 0): the inverse of
/// [`bytes_to_unit`], for every picture the model's output becomes.
pub fn unit_to_byte(value: f32) -> u8 {
    if value.is_nan() {
        0
    } else {
        (value.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// Pads a 28×28 image (values in [0, 1], row by row) with zeros to the model's 32×32.
pub fn pad_to_model_side(image: &[f32]) -> Vec<f32> {
    assert_eq!(image.len(), IMAGE_PIXELS, "expected a 28×28 image");
    let mut padded = vec![0.0; MODEL_PIXELS];
    for row in 0..IMAGE_SIDE {
        let target = (row + IMAGE_PADDING) * MODEL_SIDE + IMAGE_PADDING;
        padded[target..target + IMAGE_SIDE]
            .copy_from_slice(&image[row * IMAGE_SIDE..(row + 1) * IMAGE_SIDE]);
    }
    padded
}

/// A dataset as tensors-to-be: padded model inputs and 28×28 targets, in [0, 1].
/// The native trainer and the browser lab prepare their images the same way.
pub struct PreparedImages {
    pub inputs: Vec<f32>,
    pub targets: Vec<f32>,
    pub labels: Vec<u8>,
}

impl PreparedImages {
    /// The first `limit` images (all by default) of `pixels` (28×28 bytes each, image by
    /// image) whose label is in `classes` (any label when `classes` is empty).
    pub fn from_bytes(pixels: &[u8], labels: &[u8], limit: Option<usize>, classes: &[u8]) -> Self {
        let count = labels.len().min(pixels.len() / IMAGE_PIXELS);
        let chosen: Vec<usize> = (0..count)
            .filter(|&i| classes.is_empty() || classes.contains(&labels[i]))
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        let mut inputs = Vec::with_capacity(chosen.len() * MODEL_PIXELS);
        let mut targets = Vec::with_capacity(chosen.len() * IMAGE_PIXELS);
        for &index in &chosen {
            let image = bytes_to_unit(&pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]);
            inputs.extend(pad_to_model_side(&image));
            targets.extend(image);
        }
        Self {
            inputs,
            targets,
            labels: chosen.iter().map(|&i| labels[i]).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The batch of the given image indices: (inputs [n,1,32,32], targets [n,1,28,28]).
    #[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
    pub fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<4>, Tensor<4>) {
        let mut inputs = Vec::with_capacity(indices.len() * MODEL_PIXELS);
        let mut targets = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        for &i in indices {
            inputs.extend_from_slice(&self.inputs[i * MODEL_PIXELS..(i + 1) * MODEL_PIXELS]);
            targets.extend_from_slice(&self.targets[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]);
        }
        let n = indices.len();
        (
            Tensor::from_data(TensorData::new(inputs, [n, 1, MODEL_SIDE, MODEL_SIDE]), device),
            Tensor::from_data(TensorData::new(targets, [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_centres_the_image() {
        let image: Vec<f32> = (0..IMAGE_PIXELS).map(|i| (i + 1) as f32).collect();
        let padded = pad_to_model_side(&image);
        assert_eq!(padded.len(), 1024);
        assert_eq!(padded[2 * 32 + 2], 1.0);
        assert_eq!(padded[29 * 32 + 29], 784.0);
        assert_eq!(padded.iter().filter(|&&v| v == 0.0).count(), 1024 - 784);
        assert_eq!(padded[0], 0.0);
        assert_eq!(padded[2 * 32 + 30], 0.0);
    }

    #[test]
    fn prepared_images_keep_the_chosen_classes_in_order() {
        let pixels: Vec<u8> = (0..4u8).flat_map(|i| vec![i * 60; IMAGE_PIXELS]).collect();
        let prepared = PreparedImages::from_bytes(&pixels, &[3, 1, 3, 2], Some(5), &[3, 2]);
        assert_eq!(prepared.labels, vec![3, 3, 2]);
        assert_eq!(prepared.targets.len(), 3 * IMAGE_PIXELS);
        assert_eq!(prepared.inputs.len(), 3 * MODEL_PIXELS);
        assert!((prepared.targets[IMAGE_PIXELS] - 120.0 / 255.0).abs() < 1e-6);
        let limited = PreparedImages::from_bytes(&pixels, &[3, 1, 3, 2], Some(1), &[]);
        assert_eq!(limited.labels, vec![3]);
    }

    #[test]
    fn bytes_scale_to_unit_interval() {
        assert_eq!(bytes_to_unit(&[0, 255, 51]), vec![0.0, 1.0, 0.2]);
    }
}

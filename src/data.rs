//! Turning 28×28 greyscale images into the tensors the model works on.

use crate::model::{IMAGE_PADDING, IMAGE_SIDE, MODEL_SIDE};

pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
pub const MODEL_PIXELS: usize = MODEL_SIDE * MODEL_SIDE;

/// Scales 28×28 bytes to [0, 1].
pub fn bytes_to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| p as f32 / 255.0).collect()
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
    fn bytes_scale_to_unit_interval() {
        assert_eq!(bytes_to_unit(&[0, 255, 51]), vec![0.0, 1.0, 0.2]);
    }
}

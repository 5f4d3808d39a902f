//! Augmenting drawings kept as strokes: small random rotations, shears, scalings and
//! shifts of the strokes, and the width of the pen that draws them at 28×28. A handful of
//! drawings so becomes hundreds of training images, each a drawing a person could have made.

use crate::core::preprocess::{bounds, check_drawing, strokes_to_mnist_unchecked, DrawingError, Stroke, PEN_WIDTH};

/// A seeded source of uniform numbers (SplitMix64): the same seed, the same sequence, on
/// every platform (wasm has no `rand` here).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    pub fn between(&mut self, low: f32, high: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        low + (high - low) * unit
    }
}

/// One distortion of a drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distortion {
    /// Radians; positive turns clockwise on screen.
    pub rotation: f32,
    /// Slant: x moves by `shear` times the height above the centre.
    pub shear: f32,
    /// Stretch along x and y.
    pub scale: [f32; 2],
    /// Shift, as a share of the drawing's size (the 28×28 input recentres it; the shift
    /// moves where the strokes sit relative to the pad's edges).
    pub shift: [f32; 2],
    /// Width of the pen at 28×28, in pixels.
    pub pen: f32,
}

/// How far the random distortions go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistortionRange {
    pub rotation_degrees: f32,
    pub shear: f32,
    /// Each axis is stretched by a factor in [1 − scale, 1 + scale].
    pub scale: f32,
    pub shift: f32,
    pub pen: (f32, f32),
}

impl DistortionRange {
    /// Small changes a person's own hand makes from one drawing to the next.
    pub const HANDWRITING: DistortionRange =
        DistortionRange { rotation_degrees: 12.0, shear: 0.25, scale: 0.12, shift: 0.05, pen: (1.8, 3.2) };
}

impl Distortion {
    pub const NONE: Distortion = Distortion { rotation: 0.0, shear: 0.0, scale: [1.0, 1.0], shift: [0.0, 0.0], pen: PEN_WIDTH };

    pub fn random(range: DistortionRange, rng: &mut SplitMix64) -> Self {
        let symmetric = |rng: &mut SplitMix64, half: f32| rng.between(-half, half);
        Distortion {
            rotation: symmetric(rng, range.rotation_degrees).to_radians(),
            shear: symmetric(rng, range.shear),
            scale: [1.0 + symmetric(rng, range.scale), 1.0 + symmetric(rng, range.scale)],
            shift: [symmetric(rng, range.shift), symmetric(rng, range.shift)],
            pen: rng.between(range.pen.0, range.pen.1),
        }
    }

    /// The strokes distorted about the centre of their bounding box.
    pub fn apply(&self, strokes: &[Stroke]) -> Vec<Stroke> {
        let Some((low, high)) = bounds(strokes.iter().flatten()) else {
            return strokes.to_vec();
        };
        let centre = [(low[0] + high[0]) / 2.0, (low[1] + high[1]) / 2.0];
        let size = (high[0] - low[0]).max(high[1] - low[1]);
        let (sin, cos) = self.rotation.sin_cos();
        let map = |p: &[f32; 2]| {
            let (x, y) = (p[0] - centre[0], p[1] - centre[1]);
            let (x, y) = (x * self.scale[0] - self.shear * y * self.scale[1], y * self.scale[1]);
            let (x, y) = (x * cos - y * sin, x * sin + y * cos);
            [centre[0] + x + self.shift[0] * size, centre[1] + y + self.shift[1] * size]
        };
        strokes.iter().map(|stroke| stroke.iter().map(map).collect()).collect()
    }

    /// The drawing (on a pad of `side` pixels, drawn with a brush `brush` wide) distorted
    /// and prepared as a 28×28 input. The drawing must pass the pad's checks; the
    /// distorted one may leave the pad, and is not cut.
    pub fn render(&self, strokes: &[Stroke], side: f32, brush: f32) -> Result<Vec<f32>, DrawingError> {
        check_drawing(strokes, side, brush)?;
        strokes_to_mnist_unchecked(&self.apply(strokes), self.pen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::preprocess::{centre_of_mass, ink_box};

    fn l_shape() -> Vec<Stroke> {
        vec![
            (0..=10).map(|i| [100.0, 40.0 + 16.0 * i as f32]).collect(),
            (0..=10).map(|i| [100.0 + 8.0 * i as f32, 200.0]).collect(),
        ]
    }

    #[test]
    fn the_generator_is_seeded_and_uniform() {
        let mut a = SplitMix64::new(9);
        let mut b = SplitMix64::new(9);
        let xs: Vec<f32> = (0..1000).map(|_| a.between(-1.0, 1.0)).collect();
        assert!(xs.iter().zip((0..1000).map(|_| b.between(-1.0, 1.0))).all(|(x, y)| *x == y));
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f32>() / 1000.0;
        assert!(mean.abs() < 0.08, "mean {mean}");
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }

    #[test]
    fn no_distortion_leaves_the_strokes_alone() {
        let strokes = l_shape();
        assert_eq!(Distortion::NONE.apply(&strokes), strokes);
        assert!(Distortion::NONE.apply(&[]).is_empty());
    }

    #[test]
    fn a_quarter_turn_turns_the_drawing() {
        let turn = Distortion { rotation: std::f32::consts::FRAC_PI_2, ..Distortion::NONE };
        let turned = turn.apply(&[vec![[0.0, 0.0], [10.0, 0.0]]]);
        // Clockwise on screen (y down): a line along x becomes a line along y.
        let [a, b] = [turned[0][0], turned[0][1]];
        assert!((a[0] - 5.0).abs() < 1e-4 && (b[0] - 5.0).abs() < 1e-4, "{turned:?}");
        assert!(((b[1] - a[1]).abs() - 10.0).abs() < 1e-4, "{turned:?}");
    }

    #[test]
    fn distorted_images_are_valid_inputs_that_differ_and_keep_their_place() {
        let strokes = l_shape();
        let mut rng = SplitMix64::new(3);
        let plain = Distortion::NONE.render(&strokes, 280.0, 22.0).unwrap();
        let mut differences = Vec::new();
        for _ in 0..50 {
            let distortion = Distortion::random(DistortionRange::HANDWRITING, &mut rng);
            assert!(distortion.rotation.abs() <= 12f32.to_radians() && distortion.shear.abs() <= 0.25);
            assert!((1.8..3.2).contains(&distortion.pen));
            let image = distortion.render(&strokes, 280.0, 22.0).unwrap();
            assert_eq!(image.len(), 784);
            assert!(image.iter().all(|v| (0.0..=1.0).contains(v)));
            // Every image is an MNIST-style input: centred, inside the 20-pixel box (and a
            // pen's width around it).
            let (x, y) = centre_of_mass(&image, 28).unwrap();
            assert!((x - 14.0).abs() < 0.2 && (y - 14.0).abs() < 0.2, "({x}, {y})");
            let ink = ink_box(&image, 28, 28).unwrap();
            assert!(ink.right - ink.left <= 22 && ink.bottom - ink.top <= 22, "{ink:?}");
            differences.push(image.iter().zip(&plain).map(|(a, b)| (a - b).abs()).sum::<f32>() / 784.0);
        }
        assert!(differences.iter().all(|&d| d > 0.0));
        let mean = differences.iter().sum::<f32>() / differences.len() as f32;
        assert!(mean > 0.02 && mean < 0.2, "mean change {mean}");
    }

    #[test]
    fn a_thicker_pen_lays_down_more_ink() {
        let strokes = l_shape();
        let ink = |pen: f32| -> f32 {
            Distortion { pen, ..Distortion::NONE }.render(&strokes, 280.0, 22.0).unwrap().iter().sum()
        };
        assert!(ink(3.0) > 1.3 * ink(2.0));
    }
}

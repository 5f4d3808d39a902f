//! Digits written as strokes, the way a person draws them on the pad: a few styles of
//! each digit (open and closed 4s, 7s with and without a bar, …) as pen paths, sampled
//! every few pixels as pointer moves are. `latentlab read-drawings` distorts, sizes and
//! places them on the pad, prepares them as the page does and measures how well the
//! model reads them beside test images.
//!
//! The styles are written in a 100×100 box, y growing downwards as on screen.

use crate::core::augment::{Distortion, DistortionRange, SplitMix64};
use crate::core::preprocess::{bounds, Stroke};

/// A path through points, sampled every ~1.5 units.
fn path(points: &[[f32; 2]]) -> Stroke {
    let Some(&first) = points.first() else { return Vec::new() };
    let mut stroke = vec![first];
    for pair in points.windows(2) {
        let [a, b] = [pair[0], pair[1]];
        let steps = ((b[0] - a[0]).hypot(b[1] - a[1]) / 1.5).ceil().max(1.0) as usize;
        stroke.extend((1..=steps).map(|i| {
            let t = i as f32 / steps as f32;
            [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
        }));
    }
    stroke
}

/// An elliptic arc about (cx, cy) from angle `from` to `to` in degrees, counter-clockwise
/// on screen for growing angles (0° points right, 90° up).
fn arc(centre: [f32; 2], radii: [f32; 2], from: f32, to: f32) -> Stroke {
    let steps = ((to - from).abs() / 4.0).ceil().max(2.0) as usize;
    (0..=steps)
        .map(|i| {
            let angle = (from + (to - from) * i as f32 / steps as f32).to_radians();
            [centre[0] + radii[0] * angle.cos(), centre[1] - radii[1] * angle.sin()]
        })
        .collect()
}

/// A stroke continued through more points, as one stroke.
fn then(mut first: Stroke, rest: &[[f32; 2]]) -> Stroke {
    let Some(&start) = first.last() else { return path(rest) };
    let mut points = vec![start];
    points.extend_from_slice(rest);
    first.extend(path(&points).into_iter().skip(1));
    first
}

/// Every style of every digit: (label, strokes in the 100×100 box).
pub fn styles() -> Vec<(u8, Vec<Stroke>)> {
    let figure_eight: Stroke = (0..=90)
        .map(|i| {
            let t = std::f32::consts::TAU * i as f32 / 90.0;
            [50.0 + 24.0 * (2.0 * t).sin() * if t < std::f32::consts::PI { 1.0 } else { 1.15 }, 50.0 - 44.0 * t.cos()]
        })
        .collect();
    vec![
        (0, vec![arc([50.0, 50.0], [30.0, 44.0], 90.0, 450.0)]),
        (0, vec![arc([50.0, 50.0], [24.0, 44.0], 100.0, 470.0)]),
        (1, vec![path(&[[50.0, 6.0], [50.0, 94.0]])]),
        (1, vec![path(&[[34.0, 22.0], [52.0, 6.0], [52.0, 94.0]])]),
        (1, vec![path(&[[34.0, 22.0], [52.0, 6.0], [52.0, 94.0]]), path(&[[34.0, 94.0], [70.0, 94.0]])]),
        (2, vec![then(arc([50.0, 32.0], [28.0, 26.0], 160.0, -20.0), &[[20.0, 94.0], [82.0, 94.0]])]),
        (2, vec![then(arc([50.0, 30.0], [27.0, 24.0], 150.0, -40.0), &[[22.0, 92.0], [50.0, 90.0], [85.0, 92.0]])]),
        (3, vec![arc([48.0, 28.0], [24.0, 22.0], 150.0, -90.0), arc([48.0, 72.0], [27.0, 24.0], 90.0, -150.0)]),
        (3, vec![path(&[[22.0, 8.0], [76.0, 8.0], [46.0, 44.0]]), arc([47.0, 70.0], [28.0, 25.0], 100.0, -150.0)]),
        (4, vec![path(&[[62.0, 6.0], [14.0, 66.0], [86.0, 66.0]]), path(&[[64.0, 34.0], [64.0, 96.0]])]),
        (4, vec![path(&[[26.0, 6.0], [20.0, 56.0], [82.0, 56.0]]), path(&[[66.0, 8.0], [66.0, 96.0]])]),
        (5, vec![path(&[[76.0, 6.0], [30.0, 6.0], [27.0, 48.0]]), arc([48.0, 68.0], [28.0, 26.0], 140.0, -145.0)]),
        (5, vec![path(&[[30.0, 6.0], [27.0, 48.0]]).into_iter().chain(arc([48.0, 68.0], [28.0, 26.0], 140.0, -145.0)).collect(), path(&[[30.0, 6.0], [78.0, 6.0]])]),
        (6, vec![then(
            path(&[[70.0, 6.0], [52.0, 10.0], [36.0, 24.0], [27.0, 44.0], [24.0, 68.0]]),
            &[[24.0, 72.0]],
        ).into_iter().chain(arc([49.0, 72.0], [25.0, 22.0], 180.0, 530.0)).collect()]),
        (6, vec![arc([80.0, 62.0], [56.0, 56.0], 100.0, 185.0).into_iter().chain(arc([48.0, 72.0], [24.0, 22.0], 190.0, 540.0)).collect()]),
        (7, vec![path(&[[16.0, 8.0], [84.0, 8.0], [40.0, 96.0]])]),
        (7, vec![path(&[[16.0, 8.0], [84.0, 8.0], [40.0, 96.0]]), path(&[[34.0, 54.0], [70.0, 54.0]])]),
        (7, vec![path(&[[18.0, 18.0], [22.0, 8.0], [84.0, 8.0], [46.0, 96.0]])]),
        (8, vec![arc([50.0, 28.0], [20.0, 20.0], 90.0, 450.0), arc([50.0, 71.0], [26.0, 24.0], 90.0, 450.0)]),
        (8, vec![figure_eight]),
        (9, vec![arc([48.0, 30.0], [24.0, 22.0], 0.0, 360.0), path(&[[72.0, 30.0], [68.0, 96.0]])]),
        (9, vec![arc([48.0, 30.0], [24.0, 22.0], 0.0, 360.0), path(&[[72.0, 30.0], [70.0, 60.0], [62.0, 84.0], [44.0, 96.0], [30.0, 92.0]])]),
    ]
}

/// The five vowels, capitals, as a person draws them (for the letters workshop's tests).
pub fn vowel_styles() -> Vec<(char, Vec<Stroke>)> {
    vec![
        ('A', vec![path(&[[14.0, 96.0], [50.0, 6.0], [86.0, 96.0]]), path(&[[30.0, 62.0], [70.0, 62.0]])]),
        ('E', vec![path(&[[80.0, 6.0], [22.0, 6.0], [22.0, 94.0], [80.0, 94.0]]), path(&[[22.0, 50.0], [68.0, 50.0]])]),
        ('I', vec![path(&[[50.0, 6.0], [50.0, 94.0]]), path(&[[30.0, 6.0], [70.0, 6.0]]), path(&[[30.0, 94.0], [70.0, 94.0]])]),
        ('O', vec![arc([50.0, 50.0], [36.0, 44.0], 90.0, 450.0)]),
        ('U', vec![then(path(&[[18.0, 6.0], [18.0, 60.0]]).into_iter().chain(arc([50.0, 60.0], [32.0, 34.0], 180.0, 360.0)).collect(), &[[82.0, 6.0]])]),
    ]
}

/// `per_style` drawings of every digit style on a pad of `side` pixels: each distorted as
/// a hand would (rotation, slant, stretch), then given a size (its longer side between a
/// fifth and four-fifths of the pad) and a place on it.
pub fn drawings(per_style: usize, side: f32, seed: u64) -> Vec<(u8, Vec<Stroke>)> {
    place(styles(), per_style, side, seed)
}

/// `per_style` drawings of each vowel, made as [`drawings`] makes digits.
pub fn vowel_drawings(per_style: usize, side: f32, seed: u64) -> Vec<(char, Vec<Stroke>)> {
    place(vowel_styles(), per_style, side, seed)
}

fn place<L: Copy>(styles: Vec<(L, Vec<Stroke>)>, per_style: usize, side: f32, seed: u64) -> Vec<(L, Vec<Stroke>)> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    for (label, strokes) in styles {
        for _ in 0..per_style {
            let distortion = Distortion::random(DistortionRange::HANDWRITING, &mut rng);
            let distorted = distortion.apply(&strokes);
            let Some((low, high)) = bounds(distorted.iter().flatten()) else { continue };
            let size = side * rng.between(0.2, 0.8);
            let scale = size / (high[0] - low[0]).max(high[1] - low[1]);
            let margin = 0.05 * side;
            let at = [rng.between(margin, side - margin - size), rng.between(margin, side - margin - size)];
            let placed: Vec<Stroke> = distorted
                .iter()
                .map(|stroke| stroke.iter().map(|p| [at[0] + (p[0] - low[0]) * scale, at[1] + (p[1] - low[1]) * scale]).collect())
                .collect();
            out.push((label, placed));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::preprocess::strokes_to_mnist;

    #[test]
    fn every_digit_has_styles_that_render() {
        let styles = styles();
        for digit in 0..10u8 {
            assert!(styles.iter().filter(|(label, _)| *label == digit).count() >= 2, "digit {digit}");
        }
        for (label, strokes) in &styles {
            for point in strokes.iter().flatten() {
                assert!(point.iter().all(|v| (0.0..=100.0).contains(v)), "digit {label} leaves its box: {point:?}");
            }
        }
        for (label, strokes) in vowel_styles() {
            assert!(strokes.iter().flatten().all(|p| p.iter().all(|v| (0.0..=100.0).contains(v))), "{label}");
            assert!(strokes_to_mnist(&strokes, 100.0, 4.0).is_ok(), "{label}");
        }
        assert_eq!(vowel_drawings(3, 280.0, 1).len(), 15);
        let drawn = drawings(3, 280.0, 1);
        assert_eq!(drawn.len(), styles.len() * 3);
        for (label, strokes) in &drawn {
            let image = strokes_to_mnist(strokes, 280.0, 22.0).unwrap_or_else(|e| panic!("digit {label}: {e}"));
            assert!(image.iter().sum::<f32>() > 40.0);
        }
    }
}

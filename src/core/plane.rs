//! Where latent points go on a 2-D picture of the latent plane, and back.
//!
//! A view shows the plane either in z-space (the latent coordinates themselves) or in
//! p-space, where each axis is squashed through the Gaussian CDF Φ so that the prior
//! N(0, I) covers the square evenly. Pictures are addressed in unit coordinates:
//! x from 0 (left) to 1 (right), y from 0 (top) to 1 (bottom), z₂ pointing up. Also here:
//! how the page writes latent points, traversals and σ ellipses.

use crate::core::math::{normal_cdf, normal_quantile, GRID_P_HIGH, GRID_P_LOW, GRID_SIZE};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Space {
    /// z from `low` to `high` on both axes.
    Z { low: f64, high: f64 },
    /// p = Φ(z) from `low` to `high` on both axes.
    P { low: f64, high: f64 },
}

impl Space {
    /// The whole of p-space, [0, 1] on both axes.
    pub const FULL_P: Space = Space::P { low: 0.0, high: 1.0 };

    /// The part of p-space the 15×15 grid covers, cell edges included, so that a point
    /// drawn over the grid lands on the cell that decodes it.
    pub fn grid_p() -> Space {
        let half_step = (GRID_P_HIGH - GRID_P_LOW) / (GRID_SIZE - 1) as f64 / 2.0;
        Space::P { low: GRID_P_LOW - half_step, high: GRID_P_HIGH + half_step }
    }

    /// A square z-space window that holds nearly all of `means` (2-D points, flat):
    /// symmetric about 0, at least ±3, rounded up to a whole number.
    pub fn z_fitting(means: &[f32]) -> Space {
        let mut magnitudes: Vec<f64> = means.iter().map(|v| f64::from(v.abs())).filter(|v| v.is_finite()).collect();
        // The 99.5th percentile, found without sorting (a history holds tens of thousands).
        let at = ((magnitudes.len() as f64 * 0.995) as usize).min(magnitudes.len().saturating_sub(1));
        let reach = if magnitudes.is_empty() { 0.0 } else { *magnitudes.select_nth_unstable_by(at, f64::total_cmp).1 };
        let half = (reach * 1.05).ceil().max(3.0);
        Space::Z { low: -half, high: half }
    }

    fn axis_to_unit(self, z: f64) -> f64 {
        match self {
            Space::Z { low, high } => (z - low) / (high - low),
            Space::P { low, high } => (normal_cdf(z) - low) / (high - low),
        }
    }

    fn unit_to_axis(self, u: f64) -> f64 {
        match self {
            Space::Z { low, high } => low + u * (high - low),
            Space::P { low, high } => normal_quantile((low + u * (high - low)).clamp(1e-9, 1.0 - 1e-9)),
        }
    }

    /// The unit position [x, y] of latent point z (may lie outside [0, 1]²).
    pub fn to_unit(self, z: [f64; 2]) -> [f64; 2] {
        [self.axis_to_unit(z[0]), 1.0 - self.axis_to_unit(z[1])]
    }

    /// The latent point at unit position [x, y].
    pub fn from_unit(self, unit: [f64; 2]) -> [f64; 2] {
        [self.unit_to_axis(unit[0]), self.unit_to_axis(1.0 - unit[1])]
    }

    /// Tick marks for an axis: (unit position, label), at round values of the
    /// space's own coordinate.
    pub fn ticks(self) -> Vec<(f64, String)> {
        match self {
            Space::Z { low, high } => {
                let step = if high - low > 12.0 { 2.0 } else { 1.0 };
                let first = (low / step).ceil() as i64;
                let last = (high / step).floor() as i64;
                (first..=last)
                    .map(|k| {
                        let z = k as f64 * step;
                        ((z - low) / (high - low), format_signed(z, 0))
                    })
                    .collect()
            }
            Space::P { low, high } => [0.0, 0.25, 0.5, 0.75, 1.0]
                .into_iter()
                .filter(|p| (low..=high).contains(p))
                .map(|p| ((p - low) / (high - low), format!("{p}")))
                .collect(),
        }
    }
}

/// A number with a typographic minus sign, as the page prints them.
pub fn format_signed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().any(|c| c.is_ascii_digit() && c != '0') => format!("−{rest}"),
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// Parses a latent point written as comma-separated numbers ("0.5,-1.2"), as the page's
/// address carries it.
pub fn parse_point(text: &str) -> Option<Vec<f32>> {
    text.split(',')
        .map(|part| part.trim().replace('−', "-").parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// A latent point for the address: "0.50,-1.20".
pub fn format_point(z: &[f32]) -> String {
    z.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(",")
}

/// A latent point for people: "(0.50, −1.20)".
pub fn describe_point(z: &[f32], decimals: usize) -> String {
    let parts: Vec<String> = z.iter().map(|v| format_signed(f64::from(*v), decimals)).collect();
    format!("({})", parts.join(", "))
}

/// Points on the k-σ ellipse of a diagonal Gaussian N(μ, diag(σ²)) in the plane,
/// `count` of them around the outline, as latent points (map them with a [`Space`]).
pub fn ellipse_outline(mean: [f64; 2], sigma: [f64; 2], k: f64, count: usize) -> Vec<[f64; 2]> {
    (0..=count)
        .map(|i| {
            let angle = std::f64::consts::TAU * i as f64 / count as f64;
            [mean[0] + k * sigma[0] * angle.cos(), mean[1] + k * sigma[1] * angle.sin()]
        })
        .collect()
}

/// The latent points of a traversal: `count` copies of `base` in which dimension
/// `dimension` runs evenly from `low` to `high`.
pub fn traversal(base: &[f32], dimension: usize, low: f64, high: f64, count: usize) -> Vec<Vec<f32>> {
    crate::core::math::linspace(low, high, count)
        .into_iter()
        .map(|value| {
            let mut z = base.to_vec();
            if let Some(slot) = z.get_mut(dimension) {
                *slot = value as f32;
            }
            z
        })
        .collect()
}

/// Which way an arrow key moves a point, or the chosen cell of a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Left,
    Right,
    Up,
    Down,
}

impl Step {
    /// The step an arrow key asks for, by the key's name (`KeyboardEvent.key`).
    pub fn of_key(key: &str) -> Option<Step> {
        match key {
            "ArrowLeft" => Some(Step::Left),
            "ArrowRight" => Some(Step::Right),
            "ArrowUp" => Some(Step::Up),
            "ArrowDown" => Some(Step::Down),
            _ => None,
        }
    }
}

/// The cell (row, column) one step from `cell` in a `size`×`size` grid, row 0 at the top;
/// at an edge it stays.
pub fn step_cell((row, column): (usize, usize), step: Step, size: usize) -> (usize, usize) {
    let last = size.saturating_sub(1);
    match step {
        Step::Left => (row, column.saturating_sub(1)),
        Step::Right => (row, (column + 1).min(last)),
        Step::Up => (row.saturating_sub(1), column),
        Step::Down => ((row + 1).min(last), column),
    }
}

/// The latent point one step from `z` on a picture of `space`: the step is `fraction` of
/// the picture's side, so it looks alike in z- and p-space, and the point stays inside.
pub fn step_point(space: Space, z: [f32; 2], step: Step, fraction: f64) -> [f32; 2] {
    let [x, y] = space.to_unit([f64::from(z[0]), f64::from(z[1])]);
    let (dx, dy) = match step {
        Step::Left => (-fraction, 0.0),
        Step::Right => (fraction, 0.0),
        Step::Up => (0.0, -fraction),
        Step::Down => (0.0, fraction),
    };
    let inside = |u: f64| u.clamp(0.0, 1.0);
    let moved = space.from_unit([inside(x + dx), inside(y + dy)]);
    [moved[0] as f32, moved[1] as f32]
}

/// The index of the 2-D point of `points` (flat: x, y, x, y…) nearest to `z`.
pub fn nearest_point(points: &[f32], z: [f32; 2]) -> Option<usize> {
    points
        .chunks_exact(2)
        .enumerate()
        .map(|(i, m)| (i, (m[0] - z[0]).powi(2) + (m[1] - z[1]).powi(2)))
        .filter(|(_, distance)| distance.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::math::default_latent_grid;

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9
    }

    #[test]
    fn z_space_maps_corners_and_round_trips() {
        let space = Space::Z { low: -4.0, high: 4.0 };
        assert!(close(space.to_unit([-4.0, 4.0]), [0.0, 0.0]));
        assert!(close(space.to_unit([4.0, -4.0]), [1.0, 1.0]));
        assert!(close(space.to_unit([0.0, 0.0]), [0.5, 0.5]));
        let z = [1.25, -2.5];
        assert!(close(space.from_unit(space.to_unit(z)), z));
    }

    #[test]
    fn p_space_applies_phi_per_axis() {
        let space = Space::FULL_P;
        let unit = space.to_unit([0.0, 1.0]);
        assert!((unit[0] - 0.5).abs() < 1e-12);
        assert!((unit[1] - (1.0 - normal_cdf(1.0))).abs() < 1e-12);
        let z = [-1.7, 0.3];
        assert!(close(space.from_unit(space.to_unit(z)), z));
        // The edges of p-space are ±infinity in z; from_unit stays finite.
        assert!(space.from_unit([0.0, 1.0]).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn the_grid_p_window_puts_each_grid_point_at_its_cell_centre() {
        let space = Space::grid_p();
        let grid = default_latent_grid();
        for (index, point) in grid.iter().enumerate() {
            let (row, column) = (index / GRID_SIZE, index % GRID_SIZE);
            let unit = space.to_unit([f64::from(point[0]), f64::from(point[1])]);
            let expected = [(column as f64 + 0.5) / GRID_SIZE as f64, (row as f64 + 0.5) / GRID_SIZE as f64];
            assert!((unit[0] - expected[0]).abs() < 1e-6, "cell {index}: {unit:?} vs {expected:?}");
            assert!((unit[1] - expected[1]).abs() < 1e-6, "cell {index}: {unit:?} vs {expected:?}");
        }
    }

    #[test]
    fn z_window_fits_the_data_but_never_shrinks_below_three() {
        assert_eq!(Space::z_fitting(&[0.1, -0.2, 0.5, 0.4]), Space::Z { low: -3.0, high: 3.0 });
        let wide: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 50.0).collect();
        assert_eq!(Space::z_fitting(&wide), Space::Z { low: -11.0, high: 11.0 });
        assert_eq!(Space::z_fitting(&[]), Space::Z { low: -3.0, high: 3.0 });
        // A few far points (under 0.5%) do not widen it.
        let mut spread: Vec<f32> = (0..2000).map(|i| ((i * 7919) % 2000) as f32 / 250.0 - 4.0).collect();
        spread[17] = 50.0;
        spread[1234] = -80.0;
        spread.push(f32::NAN);
        assert_eq!(Space::z_fitting(&spread), Space::Z { low: -5.0, high: 5.0 });
    }

    #[test]
    fn ticks_fall_inside_the_window() {
        let ticks = Space::Z { low: -3.0, high: 3.0 }.ticks();
        assert_eq!(ticks.len(), 7);
        assert_eq!(ticks[0], (0.0, "−3".to_string()));
        assert_eq!(ticks[3].1, "0");
        let p_ticks = Space::grid_p().ticks();
        assert_eq!(p_ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), ["0.25", "0.5", "0.75"]);
    }

    #[test]
    fn signed_numbers_use_a_real_minus_and_no_negative_zero() {
        assert_eq!(format_signed(-1.644, 2), "−1.64");
        assert_eq!(format_signed(-0.001, 2), "0.00");
        assert_eq!(format_signed(2.0, 1), "2.0");
    }

    #[test]
    fn latent_points_round_trip_through_the_address() {
        let z = [0.5f32, -1.25, 3.0];
        assert_eq!(format_point(&z), "0.50,-1.25,3.00");
        assert_eq!(parse_point(&format_point(&z)), Some(z.to_vec()));
        assert_eq!(parse_point(" 1, −2 "), Some(vec![1.0, -2.0]));
        assert_eq!(parse_point("1,,2"), None);
        assert_eq!(parse_point("1,NaN"), None);
        assert_eq!(parse_point("x"), None);
        assert_eq!(describe_point(&[0.5, -1.2], 2), "(0.50, −1.20)");
    }

    #[test]
    fn the_ellipse_reaches_k_sigma_along_each_axis() {
        let outline = ellipse_outline([1.0, -1.0], [0.5, 0.2], 2.0, 4);
        assert_eq!(outline.len(), 5);
        assert!(close(outline[0], [2.0, -1.0]));
        assert!(close(outline[1], [1.0, -0.6]));
        assert!(close(outline[2], [0.0, -1.0]));
        assert!(close(outline[4], outline[0]));
    }

    #[test]
    fn traversal_runs_one_dimension_and_keeps_the_rest() {
        let strip = traversal(&[0.5, -1.0, 2.0], 1, -3.0, 3.0, 7);
        assert_eq!(strip.len(), 7);
        assert_eq!(strip[0], vec![0.5, -3.0, 2.0]);
        assert_eq!(strip[3], vec![0.5, 0.0, 2.0]);
        assert_eq!(strip[6], vec![0.5, 3.0, 2.0]);
    }

    #[test]
    fn arrow_keys_step_cells_and_points_and_stop_at_the_edges() {
        assert_eq!(Step::of_key("ArrowUp"), Some(Step::Up));
        assert_eq!(Step::of_key("Enter"), None);
        assert_eq!(step_cell((7, 7), Step::Left, 15), (7, 6));
        assert_eq!(step_cell((0, 14), Step::Up, 15), (0, 14));
        assert_eq!(step_cell((0, 14), Step::Right, 15), (0, 14));
        assert_eq!(step_cell((14, 0), Step::Down, 15), (14, 0));
        let space = Space::Z { low: -4.0, high: 4.0 };
        let right = step_point(space, [0.0, 0.0], Step::Right, 0.05);
        assert!((right[0] - 0.4).abs() < 1e-5 && right[1].abs() < 1e-6, "{right:?}");
        // Up on the picture is up in z₂.
        assert!(step_point(space, [0.0, 0.0], Step::Up, 0.05)[1] > 0.0);
        assert_eq!(step_point(space, [4.0, 0.0], Step::Right, 0.05)[0], 4.0);
        // In p-space the same key moves further in z far from the origin, as the picture does.
        let near = step_point(Space::FULL_P, [0.0, 0.0], Step::Right, 0.05)[0];
        let far = step_point(Space::FULL_P, [1.5, 0.0], Step::Right, 0.05)[0] - 1.5;
        assert!(far > near, "{near} {far}");
    }

    #[test]
    fn the_nearest_point_skips_nan_and_needs_a_point() {
        let points = [5.0, 5.0, f32::NAN, 0.0, 0.5, -0.5, 1.0, 1.0];
        assert_eq!(nearest_point(&points, [0.0, 0.0]), Some(2));
        assert_eq!(nearest_point(&points, [4.0, 6.0]), Some(0));
        assert_eq!(nearest_point(&[], [0.0, 0.0]), None);
    }
}

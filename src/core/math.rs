//! Pure math behind the latent-space views: the Gaussian CDF Φ, its inverse Φ⁻¹,
//! and the grid of latent points the 15×15 view decodes.

/// Standard normal cumulative distribution function Φ(z).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Inverse of the standard normal CDF, Φ⁻¹(p), for p in (0, 1).
///
/// Wichura's algorithm AS 241 (PPND16), accurate to about 1e-16 relative.
/// Returns ±infinity at p = 0 or 1 and NaN outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * polynomial(&CENTRAL_NUM, r) / polynomial(&CENTRAL_DEN, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let magnitude = if r <= 5.0 {
        let r = r - 1.6;
        polynomial(&INTERMEDIATE_NUM, r) / polynomial(&INTERMEDIATE_DEN, r)
    } else {
        let r = r - 5.0;
        polynomial(&FAR_NUM, r) / polynomial(&FAR_DEN, r)
    };
    if q < 0.0 {
        -magnitude
    } else {
        magnitude
    }
}

/// `count` evenly spaced values from `start` to `end`, both included.
pub fn linspace(start: f64, end: f64, count: usize) -> Vec<f64> {
    match count {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..count)
            .map(|i| start + (end - start) * i as f64 / (count - 1) as f64)
            .collect(),
    }
}

/// The latent coordinates of one grid axis: Φ⁻¹ of `count` probabilities evenly
/// spaced over [p_low, p_high], so that every cell covers an equal share of the prior.
pub fn quantile_axis(p_low: f64, p_high: f64, count: usize) -> Vec<f64> {
    linspace(p_low, p_high, count)
        .into_iter()
        .map(normal_quantile)
        .collect()
}

/// The points of a `count`×`count` grid over a 2-D latent plane, row by row.
///
/// Row 0 is the top of the picture, where z₂ is largest (as in a plot with the
/// z₂ axis pointing up); within a row z₁ increases left to right.
pub fn latent_grid(p_low: f64, p_high: f64, count: usize) -> Vec<[f32; 2]> {
    let axis = quantile_axis(p_low, p_high, count);
    let mut points = Vec::with_capacity(count * count);
    for z2 in axis.iter().rev() {
        for z1 in &axis {
            points.push([*z1 as f32, *z2 as f32]);
        }
    }
    points
}

/// The grid the page shows: 15×15 points at Φ⁻¹(linspace(0.05, 0.95, 15)).
pub const GRID_SIZE: usize = 15;
pub const GRID_P_LOW: f64 = 0.05;
pub const GRID_P_HIGH: f64 = 0.95;

pub fn default_latent_grid() -> Vec<[f32; 2]> {
    latent_grid(GRID_P_LOW, GRID_P_HIGH, GRID_SIZE)
}

/// The page's grid in a `latent`-dimensional space, point by point (flat): the grid in
/// the first two dimensions, the prior's centre (0) in the others.
pub fn default_latent_grid_in(latent: usize) -> Vec<f32> {
    let rest = latent.saturating_sub(2);
    default_latent_grid().into_iter().flat_map(|z| z.into_iter().chain(std::iter::repeat_n(0.0, rest))).collect()
}

/// How to walk between two latent points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// A straight line.
    Linear,
    /// Spherical: along the great circle, so the norm changes smoothly instead of
    /// dipping towards the origin, where a Gaussian prior holds little mass in high
    /// dimensions (White, "Sampling Generative Networks", 2016).
    Spherical,
}

/// The point a fraction `t` of the way from `a` to `b` along `path`.
pub fn interpolate(a: &[f32], b: &[f32], t: f64, path: Path) -> Vec<f32> {
    let linear = |a: &[f32], b: &[f32], wa: f64, wb: f64| -> Vec<f32> {
        a.iter().zip(b).map(|(&x, &y)| (wa * f64::from(x) + wb * f64::from(y)) as f32).collect()
    };
    match path {
        Path::Linear => linear(a, b, 1.0 - t, t),
        Path::Spherical => {
            let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            let (norm_a, norm_b) = (norm(a), norm(b));
            if norm_a < 1e-9 || norm_b < 1e-9 {
                return linear(a, b, 1.0 - t, t);
            }
            let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
            let omega = (dot / (norm_a * norm_b)).clamp(-1.0, 1.0).acos();
            if omega.sin().abs() < 1e-6 {
                return linear(a, b, 1.0 - t, t);
            }
            let wa = ((1.0 - t) * omega).sin() / omega.sin();
            let wb = (t * omega).sin() / omega.sin();
            linear(a, b, wa, wb)
        }
    }
}

/// `steps` points from `a` to `b` (both included) along `path`.
pub fn interpolation_path(a: &[f32], b: &[f32], steps: usize, path: Path) -> Vec<Vec<f32>> {
    linspace(0.0, 1.0, steps).into_iter().map(|t| interpolate(a, b, t, path)).collect()
}

/// A standard normal sample from two uniform samples in [0, 1) (Box–Muller).
pub fn standard_normal(u1: f64, u2: f64) -> f64 {
    let u1 = 1.0 - u1; // in (0, 1], so the logarithm is finite
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A draw from the prior N(0, I) in `dimensions` dimensions, from uniform draws in [0, 1).
pub fn prior_sample(dimensions: usize, mut uniform: impl FnMut() -> f64) -> Vec<f32> {
    (0..dimensions).map(|_| standard_normal(uniform(), uniform()) as f32).collect()
}

fn polynomial(coefficients: &[f64; 8], x: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

const CENTRAL_NUM: [f64; 8] = [
    3.387_132_872_796_366_5,
    133.141_667_891_784_38,
    1_971.590_950_306_551_3,
    13_731.693_765_509_461,
    45_921.953_931_549_87,
    67_265.770_927_008_7,
    33_430.575_583_588_13,
    2_509.080_928_730_122_7,
];
const CENTRAL_DEN: [f64; 8] = [
    1.0,
    42.313_330_701_600_91,
    687.187_007_492_057_9,
    5_394.196_021_424_751,
    21_213.794_301_586_597,
    39_307.895_800_092_71,
    28_729.085_735_721_943,
    5_226.495_278_852_545,
];
const INTERMEDIATE_NUM: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    0.241_780_725_177_450_6,
    0.022_723_844_989_269_184,
    7.745_450_142_783_414e-4,
];
const INTERMEDIATE_DEN: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    0.689_767_334_985_1,
    0.148_103_976_427_480_08,
    0.015_198_666_563_616_457,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
const FAR_NUM: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    0.296_560_571_828_504_9,
    0.026_532_189_526_576_124,
    0.001_242_660_947_388_078_4,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
const FAR_DEN: [f64; 8] = [
    1.0,
    0.599_832_206_555_888,
    0.136_929_880_922_735_8,
    0.014_875_361_290_850_615,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_7e-15,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_in_more_dimensions_keeps_the_plane_and_centres_the_rest() {
        let plane: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
        assert_eq!(default_latent_grid_in(2), plane);
        let eight = default_latent_grid_in(8);
        assert_eq!(eight.len(), GRID_SIZE * GRID_SIZE * 8);
        for (point, z) in eight.chunks(8).zip(plane.chunks(2)) {
            assert_eq!(&point[..2], z);
            assert!(point[2..].iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn prior_samples_have_the_prior_moments() {
        let mut state = 7u64;
        let mut uniform = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let draws = prior_sample(20_000, &mut uniform);
        assert_eq!(draws.len(), 20_000);
        let mean = draws.iter().map(|&x| f64::from(x)).sum::<f64>() / 20_000.0;
        let variance = draws.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / 20_000.0;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((variance - 1.0).abs() < 0.05, "{variance}");
        assert!(prior_sample(0, &mut uniform).is_empty());
    }

    #[test]
    fn both_paths_start_and_end_at_the_endpoints() {
        let (a, b) = ([1.0f32, 0.0, 2.0], [-0.5f32, 3.0, 1.0]);
        for path in [Path::Linear, Path::Spherical] {
            let points = interpolation_path(&a, &b, 10, path);
            assert_eq!(points.len(), 10);
            for (got, want) in points[0].iter().zip(&a).chain(points[9].iter().zip(&b)) {
                assert!((got - want).abs() < 1e-6, "{path:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn linear_midpoint_is_the_mean_and_spherical_keeps_the_norm() {
        let (a, b) = ([2.0f32, 0.0], [0.0f32, 2.0]);
        assert_eq!(interpolate(&a, &b, 0.5, Path::Linear), vec![1.0, 1.0]);
        let mid = interpolate(&a, &b, 0.5, Path::Spherical);
        let norm = (mid[0].powi(2) + mid[1].powi(2)).sqrt();
        assert!((norm - 2.0).abs() < 1e-5, "slerp midpoint norm {norm}");
        assert!((mid[0] - mid[1]).abs() < 1e-6);
        // Parallel vectors (and the origin) fall back to the straight line.
        assert_eq!(interpolate(&[1.0, 1.0], &[2.0, 2.0], 0.5, Path::Spherical), vec![1.5, 1.5]);
        assert_eq!(interpolate(&[0.0, 0.0], &[2.0, 2.0], 0.5, Path::Spherical), vec![1.0, 1.0]);
    }

    #[test]
    fn box_muller_samples_look_standard_normal() {
        // A low-discrepancy sweep of (u1, u2) stands in for random draws.
        let n = 200;
        let mut values = Vec::new();
        for i in 0..n {
            for j in 0..n {
                values.push(standard_normal((i as f64 + 0.5) / n as f64, (j as f64 + 0.5) / n as f64));
            }
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.02, "variance {variance}");
        assert!(standard_normal(0.0, 0.0).is_finite());
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn quantile_matches_known_values() {
        assert!(close(normal_quantile(0.05), -1.644_853_626_951_472_2, 1e-12));
        assert!(close(normal_quantile(0.95), 1.644_853_626_951_472_2, 1e-12));
        assert_eq!(normal_quantile(0.5), 0.0);
        assert!(close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-12));
        assert!(close(normal_quantile(0.8413447460685429), 1.0, 1e-9));
        assert!(close(normal_quantile(1e-10), -6.361_340_902_404_056, 1e-9));
        assert!(close(normal_quantile(1e-300), -37.047_096_299_361_2, 1e-6));
    }

    #[test]
    fn quantile_edges_and_invalid_input() {
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(-0.1).is_nan());
        assert!(normal_quantile(1.5).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn quantile_inverts_cdf() {
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            assert!(close(normal_cdf(normal_quantile(p)), p, 1e-13), "p = {p}");
        }
        for z in [-8.0, -3.0, -1.0, 0.0, 0.3, 2.0, 5.0] {
            assert!(close(normal_quantile(normal_cdf(z)), z, 1e-7), "z = {z}");
        }
    }

    #[test]
    fn quantile_is_odd() {
        for p in [0.001, 0.02, 0.2, 0.37, 0.49] {
            assert!(close(normal_quantile(p), -normal_quantile(1.0 - p), 1e-12));
        }
    }

    #[test]
    fn cdf_known_values() {
        assert!(close(normal_cdf(0.0), 0.5, 1e-15));
        assert!(close(normal_cdf(1.959_963_984_540_054), 0.975, 1e-12));
        assert!(close(normal_cdf(-1.0), 0.158_655_253_931_457_05, 1e-12));
    }

    #[test]
    fn linspace_includes_both_ends() {
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(2.0, 3.0, 1), vec![2.0]);
        assert!(linspace(0.0, 1.0, 0).is_empty());
        let axis = linspace(0.05, 0.95, 15);
        assert_eq!(axis.len(), 15);
        assert!(close(axis[1] - axis[0], 0.9 / 14.0, 1e-15));
        assert!(close(axis[14], 0.95, 1e-15));
    }

    #[test]
    fn grid_has_225_points_symmetric_and_ordered() {
        let grid = default_latent_grid();
        assert_eq!(grid.len(), 225);
        let edge = 1.644_853_6_f32;
        // Top-left: smallest z1, largest z2. Bottom-right: largest z1, smallest z2.
        assert!((grid[0][0] + edge).abs() < 1e-5 && (grid[0][1] - edge).abs() < 1e-5);
        assert!((grid[224][0] - edge).abs() < 1e-5 && (grid[224][1] + edge).abs() < 1e-5);
        // The centre cell is the origin.
        assert!(grid[7 * 15 + 7].iter().all(|v| v.abs() < 1e-6));
        for row in 0..15 {
            for col in 1..15 {
                assert!(grid[row * 15 + col][0] > grid[row * 15 + col - 1][0]);
                assert_eq!(grid[row * 15 + col][1], grid[row * 15][1]);
            }
        }
        // Axis is symmetric about zero.
        let axis = quantile_axis(GRID_P_LOW, GRID_P_HIGH, GRID_SIZE);
        for i in 0..15 {
            assert!(close(axis[i], -axis[14 - i], 1e-12));
        }
    }
}

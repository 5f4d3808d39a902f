//! Sizes for drawing sharp plots on screens of any pixel density.

/// The backing store for a canvas of `logical` size drawn at `scale` device pixels per
/// logical unit: at least the logical size, at most 4× it per side (a bound on memory).
pub fn backing_size(logical: (u32, u32), scale: f64) -> (u32, u32) {
    let scale = if scale.is_finite() { scale.clamp(1.0, 4.0) } else { 1.0 };
    let side = |n: u32| (f64::from(n) * scale).round() as u32;
    (side(logical.0), side(logical.1))
}

/// A size written as `WIDTHxHEIGHT`, both positive.
pub fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (width, height) = text.split_once('x')?;
    Some((width.parse().ok().filter(|&w| w > 0)?, height.parse().ok().filter(|&h| h > 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backing_store_has_a_pixel_per_device_pixel_within_bounds() {
        assert_eq!(backing_size((420, 200), 2.0), (840, 400));
        assert_eq!(backing_size((420, 200), 1.5), (630, 300));
        // Never fewer pixels than the logical size, never more than 4× per side.
        assert_eq!(backing_size((560, 560), 0.5), (560, 560));
        assert_eq!(backing_size((100, 50), 9.0), (400, 200));
        assert_eq!(backing_size((100, 50), f64::NAN), (100, 50));
    }

    #[test]
    fn sizes_parse_or_are_refused() {
        assert_eq!(parse_size("420x200"), Some((420, 200)));
        assert_eq!(parse_size("0x200"), None);
        assert_eq!(parse_size("420"), None);
        assert_eq!(parse_size("axb"), None);
    }
}

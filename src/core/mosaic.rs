//! Laying decoded images out as one RGBA picture, for a canvas.

use crate::core::data::unit_to_byte;

/// Tiles `count` square greyscale images (values in [0, 1], `side`×`side`, row by row)
/// into a picture `columns` images wide. Returns (RGBA bytes, width, height).
/// Values outside [0, 1] (or NaN) are clamped to black/white rather than wrapping.
pub fn tile_greyscale(pixels: &[f32], side: usize, columns: usize) -> (Vec<u8>, usize, usize) {
    let image_len = side * side;
    let count = if image_len == 0 { 0 } else { pixels.len() / image_len };
    let columns = columns.max(1);
    let rows = count.div_ceil(columns);
    let (width, height) = (columns * side, rows * side);
    // Opaque black everywhere, so tiles past the last image stay black.
    let mut rgba = [0, 0, 0, 255].repeat(width * height);
    for (index, image) in pixels.chunks_exact(image_len.max(1)).take(count).enumerate() {
        let (tile_row, tile_col) = (index / columns, index % columns);
        for y in 0..side {
            for x in 0..side {
                let grey = unit_to_byte(image[y * side + x]);
                let at = ((tile_row * side + y) * width + tile_col * side + x) * 4;
                rgba[at..at + 4].copy_from_slice(&[grey, grey, grey, 255]);
            }
        }
    }
    (rgba, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_images_row_by_row() {
        // Three 2×2 images, two per row: the picture is 4×4 with one empty tile.
        let pixels = [
            0.0, 1.0, 0.5, 0.25, // image 0
            1.0, 1.0, 1.0, 1.0, // image 1
            0.0, 0.0, 0.0, 2.0, // image 2 (2.0 is clamped)
        ];
        let (rgba, width, height) = tile_greyscale(&pixels, 2, 2);
        assert_eq!((width, height), (4, 4));
        let grey = |x: usize, y: usize| rgba[(y * width + x) * 4];
        assert_eq!([grey(0, 0), grey(1, 0), grey(0, 1), grey(1, 1)], [0, 255, 128, 64]);
        assert_eq!([grey(2, 0), grey(3, 1)], [255, 255]);
        assert_eq!([grey(0, 2), grey(1, 3)], [0, 255]);
        assert_eq!([grey(2, 2), grey(3, 3)], [0, 0]);
        assert!(rgba.iter().skip(3).step_by(4).all(|&a| a == 255));
    }

    #[test]
    fn nan_becomes_black() {
        let (rgba, ..) = tile_greyscale(&[f32::NAN], 1, 1);
        assert_eq!(rgba, vec![0, 0, 0, 255]);
    }
}

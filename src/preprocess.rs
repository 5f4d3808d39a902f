//! Turning a drawing into the 28×28 image the model expects, as MNIST was made:
//! crop to the ink's bounding box, scale the longer side to 20 px keeping the aspect
//! ratio (area-averaged, so edges are anti-aliased), and place it in a 28×28 field so
//! that its centre of mass sits at the centre.

use crate::model::IMAGE_SIDE;

/// The side of the box the ink is scaled into.
pub const INK_BOX: usize = 20;
/// Pixels at or below this are paper, not ink.
const INK_THRESHOLD: f32 = 0.1;

/// Why a drawing cannot be encoded.
#[derive(Debug, Clone, PartialEq)]
pub enum DrawingError {
    Empty,
    TooSmall,
    OnlyAtEdge,
    BadSize { width: usize, height: usize, values: usize },
}

impl std::fmt::Display for DrawingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DrawingError::Empty => write!(f, "the canvas is empty: draw a digit or a garment first"),
            DrawingError::TooSmall => write!(f, "the drawing is a dot: draw something larger"),
            DrawingError::OnlyAtEdge => {
                write!(f, "there is ink only at the edge of the canvas: draw in the middle")
            }
            DrawingError::BadSize { width, height, values } => {
                write!(f, "a {width}×{height} drawing needs {} values, got {values}", width * height)
            }
        }
    }
}

/// The bounding box of the ink: columns `left..right`, rows `top..bottom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InkBox {
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

pub fn ink_box(image: &[f32], width: usize, height: usize) -> Option<InkBox> {
    let mut found: Option<InkBox> = None;
    for y in 0..height {
        for x in 0..width {
            if image[y * width + x] > INK_THRESHOLD {
                let b = found.get_or_insert(InkBox { left: x, top: y, right: x + 1, bottom: y + 1 });
                b.left = b.left.min(x);
                b.top = b.top.min(y);
                b.right = b.right.max(x + 1);
                b.bottom = b.bottom.max(y + 1);
            }
        }
    }
    found
}

/// The centre of mass of an image (pixel centres at i + 0.5), or None without ink.
pub fn centre_of_mass(image: &[f32], width: usize) -> Option<(f64, f64)> {
    let (mut total, mut sum_x, mut sum_y) = (0.0f64, 0.0f64, 0.0f64);
    for (index, &value) in image.iter().enumerate() {
        let value = f64::from(value);
        total += value;
        sum_x += value * ((index % width) as f64 + 0.5);
        sum_y += value * ((index / width) as f64 + 0.5);
    }
    (total > 0.0).then(|| (sum_x / total, sum_y / total))
}

/// Area-averaging resample of the `source` region (`width` wide) given by `crop` into
/// `out_width` × `out_height` pixels.
fn resample(source: &[f32], width: usize, crop: InkBox, out_width: usize, out_height: usize) -> Vec<f32> {
    let (crop_w, crop_h) = ((crop.right - crop.left) as f64, (crop.bottom - crop.top) as f64);
    let (scale_x, scale_y) = (crop_w / out_width as f64, crop_h / out_height as f64);
    let mut out = vec![0.0f32; out_width * out_height];
    for oy in 0..out_height {
        let (y0, y1) = (oy as f64 * scale_y, (oy + 1) as f64 * scale_y);
        for ox in 0..out_width {
            let (x0, x1) = (ox as f64 * scale_x, (ox + 1) as f64 * scale_x);
            let (mut sum, mut area) = (0.0f64, 0.0f64);
            for sy in y0.floor() as usize..(y1.ceil() as usize).min(crop.bottom - crop.top) {
                let cover_y = (y1.min(sy as f64 + 1.0) - y0.max(sy as f64)).max(0.0);
                for sx in x0.floor() as usize..(x1.ceil() as usize).min(crop.right - crop.left) {
                    let cover_x = (x1.min(sx as f64 + 1.0) - x0.max(sx as f64)).max(0.0);
                    let weight = cover_x * cover_y;
                    sum += weight * f64::from(source[(crop.top + sy) * width + crop.left + sx]);
                    area += weight;
                }
            }
            out[oy * out_width + ox] = if area > 0.0 { (sum / area) as f32 } else { 0.0 };
        }
    }
    out
}

/// A drawing (`width` × `height` grey values in [0, 1], white ink on black, row by row)
/// as a 28×28 MNIST-style image.
pub fn drawing_to_mnist(image: &[f32], width: usize, height: usize) -> Result<Vec<f32>, DrawingError> {
    if image.len() != width * height || width == 0 || height == 0 {
        return Err(DrawingError::BadSize { width, height, values: image.len() });
    }
    let ink = ink_box(image, width, height).ok_or(DrawingError::Empty)?;
    let (ink_w, ink_h) = (ink.right - ink.left, ink.bottom - ink.top);
    let side = width.max(height);
    // Under an eighth of the canvas is a dot or a tap (one brush dab on the pad is 8%).
    if ink_w.max(ink_h) * 8 < side {
        return Err(DrawingError::TooSmall);
    }
    // Ink confined to a band along the border (under 6% of the canvas deep) is a slip of
    // the pen, not a drawing.
    let band = side.div_ceil(16);
    let at_edge = |near: usize, far: usize, extent: usize| near < band.max(1) && far <= band || far + band > extent && near + band >= extent;
    if (ink_w <= band && (at_edge(ink.left, ink.right, width)))
        || (ink_h <= band && (at_edge(ink.top, ink.bottom, height)))
    {
        return Err(DrawingError::OnlyAtEdge);
    }

    let (out_w, out_h) = if ink_w >= ink_h {
        (INK_BOX, ((INK_BOX * ink_h) as f64 / ink_w as f64).round().max(1.0) as usize)
    } else {
        (((INK_BOX * ink_w) as f64 / ink_h as f64).round().max(1.0) as usize, INK_BOX)
    };
    let scaled = resample(image, width, ink, out_w, out_h);
    let (com_x, com_y) = centre_of_mass(&scaled, out_w).ok_or(DrawingError::Empty)?;
    let centre = IMAGE_SIDE as f64 / 2.0;
    let offset_x = (centre - com_x).round() as i64;
    let offset_y = (centre - com_y).round() as i64;
    let mut out = vec![0.0f32; IMAGE_SIDE * IMAGE_SIDE];
    for y in 0..out_h {
        for x in 0..out_w {
            let (tx, ty) = (x as i64 + offset_x, y as i64 + offset_y);
            if (0..IMAGE_SIDE as i64).contains(&tx) && (0..IMAGE_SIDE as i64).contains(&ty) {
                out[ty as usize * IMAGE_SIDE + tx as usize] = scaled[y * out_w + x].clamp(0.0, 1.0);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `side`×`side` canvas with a filled rectangle of ink.
    fn canvas_with_rect(side: usize, left: usize, top: usize, w: usize, h: usize) -> Vec<f32> {
        let mut image = vec![0.0; side * side];
        for y in top..top + h {
            for x in left..left + w {
                image[y * side + x] = 1.0;
            }
        }
        image
    }

    #[test]
    fn a_tall_bar_becomes_twenty_pixels_high_and_centred() {
        // A 40×160 bar off to the top-left of a 280×280 canvas.
        let image = canvas_with_rect(280, 10, 20, 40, 160);
        let out = drawing_to_mnist(&image, 280, 280).unwrap();
        let ink = ink_box(&out, 28, 28).unwrap();
        assert_eq!(ink.bottom - ink.top, 20);
        assert_eq!(ink.right - ink.left, 5);
        let (x, y) = centre_of_mass(&out, 28).unwrap();
        assert!((x - 14.0).abs() <= 0.5 && (y - 14.0).abs() <= 0.5, "centre of mass ({x}, {y})");
        // Known output: rows 4..24 of columns 12..17 hold full ink, nothing else.
        for row in 0..28 {
            for col in 0..28 {
                let expected = if (4..24).contains(&row) && (12..17).contains(&col) { 1.0 } else { 0.0 };
                assert!((out[row * 28 + col] - expected).abs() < 1e-6, "pixel ({col}, {row})");
            }
        }
    }

    #[test]
    fn an_l_shaped_stroke_has_its_centre_of_mass_at_the_centre() {
        // An L: its centre of mass is off the bounding box's centre, so placement must
        // use the mass, not the box.
        let mut image = canvas_with_rect(200, 50, 30, 20, 140);
        for (i, v) in canvas_with_rect(200, 50, 150, 100, 20).into_iter().enumerate() {
            image[i] = image[i].max(v);
        }
        let out = drawing_to_mnist(&image, 200, 200).unwrap();
        let (x, y) = centre_of_mass(&out, 28).unwrap();
        assert!((x - 14.0).abs() <= 0.5 && (y - 14.0).abs() <= 0.5, "centre of mass ({x}, {y})");
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        // Scaling averages: a stroke edge that falls mid-pixel gives grey, not a jagged step.
        assert!(out.iter().any(|&v| v > 0.05 && v < 0.95), "no anti-aliased pixels");
    }

    #[test]
    fn empty_tiny_and_edge_drawings_are_refused() {
        assert_eq!(drawing_to_mnist(&vec![0.0; 280 * 280], 280, 280), Err(DrawingError::Empty));
        assert_eq!(drawing_to_mnist(&vec![0.05; 280 * 280], 280, 280), Err(DrawingError::Empty));
        let dot = canvas_with_rect(280, 140, 140, 22, 22);
        assert_eq!(drawing_to_mnist(&dot, 280, 280), Err(DrawingError::TooSmall));
        let left_edge = canvas_with_rect(280, 0, 20, 8, 200);
        assert_eq!(drawing_to_mnist(&left_edge, 280, 280), Err(DrawingError::OnlyAtEdge));
        let bottom_edge = canvas_with_rect(280, 30, 272, 200, 8);
        assert_eq!(drawing_to_mnist(&bottom_edge, 280, 280), Err(DrawingError::OnlyAtEdge));
        assert!(matches!(drawing_to_mnist(&[0.0; 10], 4, 4), Err(DrawingError::BadSize { .. })));
        // A real stroke that merely touches an edge is fine.
        let touching = canvas_with_rect(280, 0, 100, 150, 20);
        assert!(drawing_to_mnist(&touching, 280, 280).is_ok());
    }

    #[test]
    fn messages_say_what_to_do() {
        assert!(DrawingError::Empty.to_string().contains("empty"));
        assert!(DrawingError::TooSmall.to_string().contains("larger"));
        assert!(DrawingError::OnlyAtEdge.to_string().contains("middle"));
    }
}

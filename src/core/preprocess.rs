//! Turning a drawing into the 28×28 image the model expects, as MNIST was made: fit
//! the ink into a 20×20 box keeping the aspect ratio, and place it in a 28×28 field so
//! that its centre of mass sits at the centre. The drawing is kept as its strokes and
//! drawn afresh at 28×28 with a pen as wide as MNIST's strokes.

use crate::core::spec::IMAGE_SIDE;

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
}

impl std::fmt::Display for DrawingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DrawingError::Empty => write!(f, "the canvas is empty: draw a digit or a garment first"),
            DrawingError::TooSmall => write!(f, "the drawing is a dot: draw something larger"),
            DrawingError::OnlyAtEdge => {
                write!(f, "there is ink only at the edge of the canvas: draw in the middle")
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

/// Checks that the ink's bounding box on a `width` × `height` pad is a drawing.
fn check_ink_box(ink: InkBox, width: usize, height: usize) -> Result<(), DrawingError> {
    let (ink_w, ink_h) = (ink.right - ink.left, ink.bottom - ink.top);
    let side = width.max(height);
    // Under an eighth of the canvas is a dot or a tap (one brush dab on the pad is 8%).
    if ink_w.max(ink_h) * 8 < side {
        return Err(DrawingError::TooSmall);
    }
    // Ink confined to a band along the border (under 6% of the canvas deep) is a slip of
    // the pen, not a drawing.
    let band = side.div_ceil(16).max(1);
    let at_edge = |near: usize, far: usize, extent: usize| near < band && far <= band || far + band > extent && near + band >= extent;
    if (ink_w <= band && at_edge(ink.left, ink.right, width)) || (ink_h <= band && at_edge(ink.top, ink.bottom, height)) {
        return Err(DrawingError::OnlyAtEdge);
    }
    Ok(())
}

/// The page's drawing pad: its side and its brush, in pad pixels (the measurements of
/// how drawings are read draw on the same pad).
pub const PAD_SIDE: f32 = 280.0;
pub const PAD_BRUSH: f32 = 22.0;

/// One stroke of the pen: the points it passed through, in pad pixels.
pub type Stroke = Vec<[f32; 2]>;

/// Width of the pen that draws the 28×28 input, in its pixels: about the width of
/// MNIST's strokes (`latentlab read-drawings` measures the ink per image of both).
pub const PEN_WIDTH: f32 = 2.3;
/// Samples per pixel side when rasterising: 4×4 samples give 17 grey levels of coverage.
const SUBSAMPLES: usize = 4;

/// A drawing on a square pad of `side` pixels, kept as its strokes, as a 28×28
/// MNIST-style image. The strokes are scaled so that the ink's longer side is 20 px and
/// then drawn with an anti-aliased pen of `PEN_WIDTH`, so the strokes come out as wide as
/// MNIST's whatever the size of the drawing (scaling a drawing made with a fixed brush
/// would thin large drawings and fatten small ones). `brush` is the width of the pad's
/// own brush, which says where its ink reached for the checks on empty, tiny and edge
/// drawings. The centre of mass is then moved to the centre, as MNIST's was.
pub fn strokes_to_mnist(strokes: &[Stroke], side: f32, brush: f32) -> Result<Vec<f32>, DrawingError> {
    strokes_to_mnist_with_pen(strokes, side, brush, PEN_WIDTH)
}

/// `strokes_to_mnist` with a pen of another width (in 28×28 pixels, 0.5 to 6): thicker
/// or thinner strokes for augmentation.
pub fn strokes_to_mnist_with_pen(strokes: &[Stroke], side: f32, brush: f32, pen: f32) -> Result<Vec<f32>, DrawingError> {
    draw_normalised(&checked_segments(strokes, side, brush)?, pen)
}

/// Whether the strokes on a pad of `side` pixels, drawn with a brush `brush` wide, are a
/// drawing (not empty, a dot, or a slip at the edge), without preparing them.
pub fn check_drawing(strokes: &[Stroke], side: f32, brush: f32) -> Result<(), DrawingError> {
    checked_segments(strokes, side, brush).map(|_| ())
}

/// The strokes' segments cut to the pad, once the ink they leave there passed the checks.
fn checked_segments(strokes: &[Stroke], side: f32, brush: f32) -> Result<Vec<Segment>, DrawingError> {
    if !(side.is_finite() && side >= 1.0) {
        return Err(DrawingError::Empty);
    }
    let segments: Vec<Segment> = strokes.iter().flat_map(|stroke| segments_on_pad(stroke, Some(side))).collect();
    let (low, high) = bounds(segments.iter().flatten()).ok_or(DrawingError::Empty)?;
    let reach = brush.max(0.0) / 2.0;
    let pad = side.round() as usize;
    let to_pixel = |v: f32| (v.clamp(0.0, side) as usize).min(pad);
    let ink = InkBox {
        left: to_pixel((low[0] - reach).floor()),
        top: to_pixel((low[1] - reach).floor()),
        right: to_pixel((high[0] + reach).ceil()),
        bottom: to_pixel((high[1] + reach).ceil()),
    };
    check_ink_box(ink, pad, pad)?;
    Ok(segments)
}

/// Strokes that passed the pad's checks, changed since (augmentation), as a 28×28 input:
/// no pad cuts them and no check refuses them but emptiness.
pub fn strokes_to_mnist_unchecked(strokes: &[Stroke], pen: f32) -> Result<Vec<f32>, DrawingError> {
    let segments: Vec<Segment> = strokes.iter().flat_map(|stroke| segments_on_pad(stroke, None)).collect();
    draw_normalised(&segments, pen)
}

/// The segments scaled so that their longer side plus the pen is 20 px, drawn, and
/// moved so that their centre of mass is at the centre of the 28×28 field.
fn draw_normalised(segments: &[Segment], pen: f32) -> Result<Vec<f32>, DrawingError> {
    let pen = if pen.is_finite() { pen.clamp(0.5, 6.0) } else { PEN_WIDTH };
    let (low, high) = bounds(segments.iter().flatten()).ok_or(DrawingError::Empty)?;
    let extent = (high[0] - low[0]).max(high[1] - low[1]);
    if extent <= 0.0 {
        return Err(DrawingError::TooSmall);
    }
    let scale = (INK_BOX as f32 - pen) / extent;
    let centre = [(low[0] + high[0]) / 2.0, (low[1] + high[1]) / 2.0];
    let middle = IMAGE_SIDE as f32 / 2.0;
    let place = |shift: [f32; 2]| -> Vec<Segment> {
        let map = |p: [f32; 2]| [(p[0] - centre[0]) * scale + middle + shift[0], (p[1] - centre[1]) * scale + middle + shift[1]];
        segments.iter().map(|[a, b]| [map(*a), map(*b)]).collect()
    };
    let first = rasterise(&place([0.0, 0.0]), pen);
    let (com_x, com_y) = centre_of_mass(&first, IMAGE_SIDE).ok_or(DrawingError::Empty)?;
    let shift = [(f64::from(middle) - com_x) as f32, (f64::from(middle) - com_y) as f32];
    Ok(rasterise(&place(shift), pen))
}

/// The smallest and largest x and y of the points, or None without points.
pub fn bounds<'a>(points: impl IntoIterator<Item = &'a [f32; 2]>) -> Option<([f32; 2], [f32; 2])> {
    let (mut low, mut high) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for point in points {
        for axis in 0..2 {
            low[axis] = low[axis].min(point[axis]);
            high[axis] = high[axis].max(point[axis]);
        }
    }
    low[0].is_finite().then_some((low, high))
}

/// A straight piece of a stroke; a dot is a segment of length 0.
type Segment = [[f32; 2]; 2];

/// The stroke's segments, cut to a pad of `side` pixels if given (what the pad shows);
/// points that are not numbers are dropped.
fn segments_on_pad(stroke: &[[f32; 2]], side: Option<f32>) -> Vec<Segment> {
    let points: Vec<[f32; 2]> = stroke.iter().copied().filter(|p| p[0].is_finite() && p[1].is_finite()).collect();
    let pairs: Vec<Segment> = match points.as_slice() {
        [] => Vec::new(),
        [dot] => vec![[*dot, *dot]],
        _ => points.windows(2).map(|w| [w[0], w[1]]).collect(),
    };
    match side {
        Some(side) => pairs.into_iter().filter_map(|segment| clip_to_square(segment, side)).collect(),
        None => pairs,
    }
}

/// Liang–Barsky: the part of the segment inside [0, side]², if any.
fn clip_to_square([a, b]: Segment, side: f32) -> Option<Segment> {
    let delta = [b[0] - a[0], b[1] - a[1]];
    let (mut enter, mut leave) = (0.0f32, 1.0f32);
    for axis in 0..2 {
        for (p, q) in [(-delta[axis], a[axis]), (delta[axis], side - a[axis])] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    enter = enter.max(t);
                } else {
                    leave = leave.min(t);
                }
            }
        }
    }
    (enter <= leave).then(|| {
        let at = |t: f32| [a[0] + t * delta[0], a[1] + t * delta[1]];
        [at(enter), at(leave)]
    })
}

/// Draws segments (in 28×28 pixel coordinates) with a round pen `pen` pixels wide: each
/// pixel's value is the share of its sub-samples the pen covers.
fn rasterise(segments: &[Segment], pen: f32) -> Vec<f32> {
    let fine = IMAGE_SIDE * SUBSAMPLES;
    let step = 1.0 / SUBSAMPLES as f32;
    let radius = pen / 2.0;
    let mut covered = vec![false; fine * fine];
    for &[a, b] in segments {
        let range = |axis: usize| {
            let low = ((a[axis].min(b[axis]) - radius) / step).floor().clamp(0.0, fine as f32) as usize;
            let high = ((a[axis].max(b[axis]) + radius) / step).ceil().clamp(0.0, fine as f32) as usize;
            low..high
        };
        for sy in range(1) {
            for sx in range(0) {
                let point = [(sx as f32 + 0.5) * step, (sy as f32 + 0.5) * step];
                if distance_to_segment(point, a, b) <= radius {
                    covered[sy * fine + sx] = true;
                }
            }
        }
    }
    let per_pixel = (SUBSAMPLES * SUBSAMPLES) as f32;
    let mut image = vec![0.0f32; IMAGE_SIDE * IMAGE_SIDE];
    for (index, value) in image.iter_mut().enumerate() {
        let (x, y) = (index % IMAGE_SIDE, index / IMAGE_SIDE);
        let mut count = 0;
        for sy in y * SUBSAMPLES..(y + 1) * SUBSAMPLES {
            count += covered[sy * fine + x * SUBSAMPLES..sy * fine + (x + 1) * SUBSAMPLES].iter().filter(|&&c| c).count();
        }
        *value = count as f32 / per_pixel;
    }
    image
}

fn distance_to_segment(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length_squared = dx * dx + dy * dy;
    let t = if length_squared > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length_squared).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    (cx * cx + cy * cy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAD: f32 = 280.0;
    const BRUSH: f32 = 22.0;

    fn line(from: [f32; 2], to: [f32; 2]) -> Stroke {
        (0..=20).map(|i| {
            let t = i as f32 / 20.0;
            [from[0] + t * (to[0] - from[0]), from[1] + t * (to[1] - from[1])]
        })
        .collect()
    }

    /// A "2": an arc over the top, a diagonal, a base line; `scale` and `at` place it.
    fn two(scale: f32, at: [f32; 2]) -> Vec<Stroke> {
        let arc: Stroke = (0..=24)
            .map(|i| {
                let angle = std::f32::consts::PI * (1.1 - 1.2 * i as f32 / 24.0);
                [50.0 + 45.0 * angle.cos(), 60.0 - 45.0 * angle.sin()]
            })
            .collect();
        let end = *arc.last().unwrap();
        let strokes = vec![arc, line(end, [5.0, 190.0]), line([5.0, 190.0], [100.0, 190.0])];
        strokes
            .into_iter()
            .map(|s| s.into_iter().map(|p| [at[0] + p[0] * scale, at[1] + p[1] * scale]).collect())
            .collect()
    }

    fn ink(image: &[f32]) -> f32 {
        image.iter().sum()
    }

    #[test]
    fn a_vertical_stroke_becomes_twenty_pixels_high_and_centred() {
        let out = strokes_to_mnist(&[line([60.0, 30.0], [60.0, 230.0])], PAD, BRUSH).unwrap();
        let ink_box = ink_box(&out, 28, 28).unwrap();
        assert!((19..=21).contains(&(ink_box.bottom - ink_box.top)), "{ink_box:?}");
        assert!((2..=4).contains(&(ink_box.right - ink_box.left)), "{ink_box:?}");
        let (x, y) = centre_of_mass(&out, 28).unwrap();
        assert!((x - 14.0).abs() < 0.1 && (y - 14.0).abs() < 0.1, "centre of mass ({x}, {y})");
        // Along the middle of the stroke, a row holds one pen width of ink.
        let row: f32 = out[14 * 28..15 * 28].iter().sum();
        assert!((row - PEN_WIDTH).abs() < 0.3, "a row holds {row} of ink");
    }

    #[test]
    fn an_l_shaped_stroke_has_its_centre_of_mass_at_the_centre() {
        // The centre of mass of an L is off its bounding box's centre: placement must use
        // the mass, not the box.
        let l = vec![line([50.0, 30.0], [50.0, 170.0]), line([50.0, 170.0], [150.0, 170.0])];
        let out = strokes_to_mnist(&l, 200.0, BRUSH).unwrap();
        let (x, y) = centre_of_mass(&out, 28).unwrap();
        assert!((x - 14.0).abs() < 0.1 && (y - 14.0).abs() < 0.1, "centre of mass ({x}, {y})");
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(out.iter().any(|&v| v > 0.05 && v < 0.95), "no anti-aliased pixels");
        assert!(out.iter().any(|&v| v == 1.0), "no pixel fully inked");
    }

    #[test]
    fn a_drawing_small_or_large_gives_the_same_strokes() {
        let large = strokes_to_mnist(&two(1.3, [10.0, 10.0]), PAD, BRUSH).unwrap();
        let small = strokes_to_mnist(&two(0.45, [150.0, 120.0]), PAD, BRUSH).unwrap();
        let difference = large.iter().zip(&small).map(|(a, b)| (a - b).abs()).sum::<f32>() / 784.0;
        assert!(difference < 0.01, "mean difference {difference}");
        let (a, b) = (ink(&large), ink(&small));
        assert!((a - b).abs() / a < 0.02, "ink {a} vs {b}: the stroke width depends on the drawing's size");
    }

    #[test]
    fn ink_grows_with_the_length_of_the_strokes_not_their_width_on_the_pad() {
        // A short horizontal line under the stroke: more line, more ink, at the pen's width.
        let one = strokes_to_mnist(&[line([140.0, 30.0], [140.0, 230.0])], PAD, BRUSH).unwrap();
        let cross = strokes_to_mnist(
            &[line([140.0, 30.0], [140.0, 230.0]), line([40.0, 130.0], [240.0, 130.0])],
            PAD,
            BRUSH,
        )
        .unwrap();
        let expected_one = (INK_BOX as f32 - PEN_WIDTH) * PEN_WIDTH + std::f32::consts::PI * PEN_WIDTH * PEN_WIDTH / 4.0;
        assert!((ink(&one) - expected_one).abs() / expected_one < 0.08, "{} vs {expected_one}", ink(&one));
        assert!(ink(&cross) > 1.7 * ink(&one));
    }

    #[test]
    fn empty_tiny_and_edge_drawings_are_refused() {
        assert_eq!(strokes_to_mnist(&[], PAD, BRUSH), Err(DrawingError::Empty));
        assert_eq!(strokes_to_mnist(&[vec![]], PAD, BRUSH), Err(DrawingError::Empty));
        assert_eq!(strokes_to_mnist(&[vec![[f32::NAN, 3.0]]], PAD, BRUSH), Err(DrawingError::Empty));
        assert_eq!(strokes_to_mnist(&[vec![[140.0, 140.0]]], PAD, BRUSH), Err(DrawingError::TooSmall));
        assert_eq!(strokes_to_mnist(&[line([140.0, 140.0], [148.0, 146.0])], PAD, BRUSH), Err(DrawingError::TooSmall));
        assert_eq!(strokes_to_mnist(&[line([2.0, 20.0], [2.0, 220.0])], PAD, BRUSH), Err(DrawingError::OnlyAtEdge));
        assert_eq!(strokes_to_mnist(&[line([30.0, 278.0], [230.0, 278.0])], PAD, BRUSH), Err(DrawingError::OnlyAtEdge));
        // A real stroke that merely touches an edge is fine, and so is one leaving the pad,
        // cut where the pad ends.
        assert!(strokes_to_mnist(&[line([0.0, 110.0], [150.0, 110.0])], PAD, BRUSH).is_ok());
        let leaving = strokes_to_mnist(&[line([140.0, 30.0], [140.0, 230.0]), line([140.0, 130.0], [500.0, 130.0])], PAD, BRUSH).unwrap();
        let cut = strokes_to_mnist(&[line([140.0, 30.0], [140.0, 230.0]), line([140.0, 130.0], [280.0, 130.0])], PAD, BRUSH).unwrap();
        assert!(leaving.iter().zip(&cut).all(|(a, b)| (a - b).abs() < 1e-4));
        assert!(strokes_to_mnist(&[line([300.0, 10.0], [400.0, 200.0])], PAD, BRUSH) == Err(DrawingError::Empty));
    }

    #[test]
    fn messages_say_what_to_do() {
        assert!(DrawingError::Empty.to_string().contains("empty"));
        assert!(DrawingError::TooSmall.to_string().contains("larger"));
        assert!(DrawingError::OnlyAtEdge.to_string().contains("middle"));
    }
}

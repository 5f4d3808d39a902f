//! Drawing on canvases: decoded images, scatter plots of the latent plane, line
//! charts, and saving a canvas as a PNG.
//!
//! Decoded images are painted one canvas pixel per image pixel and scaled up by CSS
//! (pixelated). Plots and charts, which carry text and lines, are drawn in the logical
//! units their view gives them (the canvas's `width` and `height`) on a backing store with
//! a pixel for every device pixel, so they stay sharp on high-DPI screens and when zoomed.

use std::sync::Arc;

use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::core::artifacts::LatentMap;
use crate::core::spec::IMAGE_SIDE;
use crate::core::mosaic::tile_greyscale;
use crate::core::plane::Space;
use crate::core::screen::{backing_size, parse_size};

/// Colours of the ten classes (Tableau 10), legible on the page's dark background.
pub const CLASS_COLOURS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

pub fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or_else(|| "this browser gives no 2-D canvas context".to_string())
}

/// The most device pixels per CSS pixel a plot's backing store gets. Past 2 the eye sees
/// no sharper line or text, and a phone at 3 would paint 2.25 times the pixels of 2: its
/// map's backing store alone would be 1680² pixels.
const MOST_BACKING_DENSITY: f64 = 2.0;

/// A context for drawing in `canvas`'s logical units, with the backing store sized for the
/// screen: as many pixels as the canvas covers on screen (CSS size × devicePixelRatio, at
/// most [`MOST_BACKING_DENSITY`]), never fewer than its logical size. Returns the context
/// and the logical width and height. Called inside an effect, it repaints the canvas when
/// the window is resized or zoomed.
fn crisp_context(canvas: &HtmlCanvasElement) -> Result<(CanvasRenderingContext2d, f64, f64), String> {
    const LOGICAL_SIZE: &str = "data-logical-size";
    let (width, height) = match canvas.get_attribute(LOGICAL_SIZE).and_then(|size| parse_size(&size)) {
        Some(size) => size,
        None => {
            let size = (canvas.width().max(1), canvas.height().max(1));
            let _ = canvas.set_attribute(LOGICAL_SIZE, &format!("{}x{}", size.0, size.1));
            size
        }
    };
    let device_pixel_ratio = crate::web::display::device_pixel_ratio().min(MOST_BACKING_DENSITY);
    let shown_width = crate::web::display::shown_width(canvas);
    let scale = if shown_width > 0.0 { shown_width * device_pixel_ratio / f64::from(width) } else { device_pixel_ratio };
    let (backing_width, backing_height) = backing_size((width, height), scale);
    if canvas.width() != backing_width || canvas.height() != backing_height {
        canvas.set_width(backing_width);
        canvas.set_height(backing_height);
    }
    let ctx = context(canvas)?;
    ctx.set_transform(
        f64::from(backing_width) / f64::from(width),
        0.0,
        0.0,
        f64::from(backing_height) / f64::from(height),
        0.0,
        0.0,
    )
    .map_err(|e| format!("could not scale the canvas: {e:?}"))?;
    Ok((ctx, f64::from(width), f64::from(height)))
}

/// Paints decoded 28×28 images, `columns` per row, at one canvas pixel per image pixel
/// (CSS scales the canvas up). Resizes the canvas to fit.
pub fn paint_images(canvas: &HtmlCanvasElement, pixels: &[f32], columns: usize) -> Result<(), String> {
    let (rgba, width, height) = tile_greyscale(pixels, IMAGE_SIDE, columns);
    if width == 0 || height == 0 {
        return Err("nothing to paint".to_string());
    }
    if canvas.width() != width as u32 || canvas.height() != height as u32 {
        canvas.set_width(width as u32);
        canvas.set_height(height as u32);
    }
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), width as u32, height as u32)
        .map_err(|e: JsValue| format!("could not build the image: {e:?}"))?;
    context(canvas)?
        .put_image_data(&image, 0.0, 0.0)
        .map_err(|e| format!("could not paint: {e:?}"))
}

/// Records on the canvas which latent points it shows, as JSON, for tests and tools.
pub fn tag_points(canvas: &HtmlCanvasElement, points: &[Vec<f32>]) {
    let json = serde_json::to_string(points).unwrap_or_default();
    let _ = canvas.set_attribute("data-z", &json);
}

/// A point drawn on top of a scatter plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub z: [f32; 2],
    pub style: MarkerStyle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerStyle {
    /// A pinned point: a yellow ring with a cross.
    Pinned,
    /// A sample from the prior: a small white cross.
    Sample,
}

/// Clears the canvas, then scatters 2-D latent points (`means`, flat) coloured by label,
/// in `space`, and draws the markers over them. The canvas keeps its size.
pub fn paint_scatter(
    canvas: &HtmlCanvasElement,
    space: Space,
    means: &[f32],
    labels: &[u8],
    markers: &[Marker],
    transparent: bool,
) -> Result<(), String> {
    let (ctx, width, height) = crisp_context(canvas)?;
    paint_points(&ctx, space, means, labels, width, height, transparent);
    draw_markers(&ctx, space, markers, width, height);
    Ok(())
}

/// A scatter plot whose points are painted once into a canvas of their own and copied in
/// under the markers at each repaint: a slider move redraws a ring, not thousands of points.
#[derive(Default)]
pub struct ScatterLayer {
    painted: Option<PaintedLayer>,
}

struct PaintedLayer {
    /// Held, not only compared: a freed map's memory could hold the next map's points.
    map: Option<Arc<LatentMap>>,
    space: Space,
    transparent: bool,
    backing: (u32, u32),
    layer: HtmlCanvasElement,
}

impl ScatterLayer {
    /// [`paint_scatter`] of `map`'s points (none without a map), repainting the points only
    /// when the map, the space or the canvas's backing size changed.
    pub fn paint(
        &mut self,
        canvas: &HtmlCanvasElement,
        space: Space,
        map: Option<&Arc<LatentMap>>,
        markers: &[Marker],
        transparent: bool,
    ) -> Result<(), String> {
        let (ctx, width, height) = crisp_context(canvas)?;
        let backing = (canvas.width(), canvas.height());
        let fresh = self.painted.as_ref().is_some_and(|painted| {
            painted.space == space
                && painted.transparent == transparent
                && painted.backing == backing
                && match (&painted.map, map) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                }
        });
        if !fresh {
            let layer = match self.painted.take() {
                Some(painted) => painted.layer,
                None => web_sys::window()
                    .and_then(|window| window.document())
                    .and_then(|document| document.create_element("canvas").ok())
                    .and_then(|element| element.dyn_into::<HtmlCanvasElement>().ok())
                    .ok_or("could not make a canvas for the plot's points")?,
            };
            layer.set_width(backing.0);
            layer.set_height(backing.1);
            let layer_ctx = context(&layer)?;
            let _ = layer_ctx.set_transform(f64::from(backing.0) / width, 0.0, 0.0, f64::from(backing.1) / height, 0.0, 0.0);
            let (means, labels) = map.map_or((&[][..], &[][..]), |map| (map.means.as_slice(), map.labels.as_slice()));
            paint_points(&layer_ctx, space, means, labels, width, height, transparent);
            self.painted = Some(PaintedLayer { map: map.cloned(), space, transparent, backing, layer });
        }
        let Some(painted) = &self.painted else { return Ok(()) };
        ctx.clear_rect(0.0, 0.0, width, height);
        // A see-through layer without points is empty: only the markers are drawn.
        let empty = painted.transparent && painted.map.as_ref().is_none_or(|map| map.labels.is_empty());
        if !empty {
            ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&painted.layer, 0.0, 0.0, width, height)
                .map_err(|e| format!("could not paint the plot: {e:?}"))?;
        }
        draw_markers(&ctx, space, markers, width, height);
        Ok(())
    }
}

/// Clears the context's `width` × `height` and scatters the points on it (on the page's
/// background with axes, unless `transparent`).
fn paint_points(
    ctx: &CanvasRenderingContext2d,
    space: Space,
    means: &[f32],
    labels: &[u8],
    width: f64,
    height: f64,
    transparent: bool,
) {
    ctx.clear_rect(0.0, 0.0, width, height);
    if !transparent {
        ctx.set_fill_style_str("#0b0d10");
        ctx.fill_rect(0.0, 0.0, width, height);
        draw_axes(ctx, space, width, height);
    }
    // A few points (a person's drawings) as large discs; thousands as small squares.
    let count = labels.len().min(means.len() / 2);
    let few = count <= 300;
    let radius = (width / 280.0).max(1.0) * if few { 4.0 } else if count <= 2000 { 1.5 } else { 1.0 };
    ctx.set_global_alpha(if transparent { 0.8 } else { 0.7 });
    for (point, &label) in means.chunks_exact(2).zip(labels) {
        let [x, y] = space.to_unit([f64::from(point[0]), f64::from(point[1])]);
        if !(0.0..=1.0).contains(&x) || !(0.0..=1.0).contains(&y) {
            continue;
        }
        ctx.set_fill_style_str(CLASS_COLOURS[usize::from(label) % 10]);
        if few {
            ctx.begin_path();
            let _ = ctx.arc(x * width, y * height, radius, 0.0, std::f64::consts::TAU);
            ctx.fill();
        } else {
            ctx.fill_rect(x * width - radius, y * height - radius, 2.0 * radius, 2.0 * radius);
        }
    }
    ctx.set_global_alpha(1.0);
}

fn draw_markers(ctx: &CanvasRenderingContext2d, space: Space, markers: &[Marker], width: f64, height: f64) {
    for marker in markers {
        draw_marker(ctx, space, marker, width, height);
    }
}

fn draw_axes(ctx: &CanvasRenderingContext2d, space: Space, width: f64, height: f64) {
    ctx.set_stroke_style_str("#2a2f37");
    ctx.set_line_width(1.0);
    ctx.set_fill_style_str("#8a9099");
    ctx.set_font(&format!("{}px sans-serif", (width / 45.0).round().max(10.0)));
    for (at, label) in space.ticks() {
        let (x, y) = (at * width, (1.0 - at) * height);
        ctx.begin_path();
        ctx.move_to(x, 0.0);
        ctx.line_to(x, height);
        ctx.move_to(0.0, y);
        ctx.line_to(width, y);
        ctx.stroke();
        let _ = ctx.fill_text(&label, x + 3.0, height - 4.0);
        // Both axes share the corner's value: the label under the x axis names it once.
        if at > 0.0 {
            let _ = ctx.fill_text(&label, 3.0, y - 3.0);
        }
    }
}

fn draw_marker(ctx: &CanvasRenderingContext2d, space: Space, marker: &Marker, width: f64, height: f64) {
    let [x, y] = space.to_unit([f64::from(marker.z[0]), f64::from(marker.z[1])]);
    let (x, y) = (x.clamp(0.0, 1.0) * width, y.clamp(0.0, 1.0) * height);
    let size = width / 70.0;
    ctx.begin_path();
    match marker.style {
        MarkerStyle::Pinned => {
            ctx.set_stroke_style_str("#ffd54f");
            ctx.set_line_width(size / 3.0);
            let _ = ctx.arc(x, y, size * 1.3, 0.0, std::f64::consts::TAU);
            ctx.move_to(x - size * 2.0, y);
            ctx.line_to(x + size * 2.0, y);
            ctx.move_to(x, y - size * 2.0);
            ctx.line_to(x, y + size * 2.0);
        }
        MarkerStyle::Sample => {
            ctx.set_stroke_style_str("#ffffff");
            ctx.set_line_width(size / 4.0);
            ctx.move_to(x - size * 0.7, y - size * 0.7);
            ctx.line_to(x + size * 0.7, y + size * 0.7);
            ctx.move_to(x - size * 0.7, y + size * 0.7);
            ctx.line_to(x + size * 0.7, y - size * 0.7);
        }
    }
    ctx.stroke();
}

/// One series of a loss chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartLine {
    pub label: String,
    pub colour: &'static str,
    pub values: Vec<f32>,
}

/// A line chart of losses (one line per entry of `series`), with a vertical line at
/// `highlight` (an index into the values).
///
/// Drawn here rather than with `plotters`: its canvas backend draws at the canvas's CSS
/// size, blurry on high-DPI screens (plotters-rs/plotters#164, open), and would add a
/// charting library to a page whose wasm is already over its size budget for one chart.
pub fn paint_loss_chart(
    canvas: &HtmlCanvasElement,
    series: &[ChartLine],
    highlight: Option<usize>,
    x_labels: (&str, &str),
) -> Result<(), String> {
    let (ctx, width, height) = crisp_context(canvas)?;
    let (left, right, top, bottom) = (48.0, 8.0, 10.0, 24.0);
    ctx.set_fill_style_str("#0b0d10");
    ctx.fill_rect(0.0, 0.0, width, height);
    let finite = series.iter().flat_map(|line| line.values.iter().copied()).filter(|v| v.is_finite());
    let (low, high) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let count = series.iter().map(|line| line.values.len()).max().unwrap_or(0);
    if count < 2 || !low.is_finite() {
        return Ok(());
    }
    let (low, high) = (f64::from(low), f64::from(high).max(f64::from(low) + 1e-3));
    let x_of = |i: usize| left + (width - left - right) * i as f64 / (count - 1) as f64;
    let y_of = |v: f64| top + (height - top - bottom) * (1.0 - (v - low) / (high - low));
    ctx.set_font("11px sans-serif");
    ctx.set_fill_style_str("#8a9099");
    let _ = ctx.fill_text(&format!("{high:.0}"), 4.0, top + 8.0);
    let _ = ctx.fill_text(&format!("{low:.0}"), 4.0, height - bottom);
    let _ = ctx.fill_text(x_labels.0, left, height - 6.0);
    ctx.set_text_align("right");
    let _ = ctx.fill_text(x_labels.1, width - right, height - 6.0);
    ctx.set_text_align("left");
    if let Some(at) = highlight.filter(|&at| at < count) {
        ctx.set_stroke_style_str("#ffd54f");
        ctx.set_line_width(1.0);
        ctx.begin_path();
        ctx.move_to(x_of(at), top);
        ctx.line_to(x_of(at), height - bottom);
        ctx.stroke();
    }
    for (index, ChartLine { label, colour, values }) in series.iter().enumerate() {
        ctx.set_stroke_style_str(colour);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        let mut started = false;
        for (i, v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
            let (x, y) = (x_of(i), y_of(f64::from(*v)));
            if started {
                ctx.line_to(x, y);
            } else {
                ctx.move_to(x, y);
                started = true;
            }
        }
        ctx.stroke();
        ctx.set_fill_style_str(colour);
        let _ = ctx.fill_text(label, width - right - 150.0, top + 12.0 + 14.0 * index as f64);
    }
    Ok(())
}

/// Offers the canvas to the user as a PNG download called `file_name`.
pub fn save_png(canvas: &HtmlCanvasElement, file_name: &str) -> Result<(), String> {
    let url = canvas.to_data_url_with_type("image/png").map_err(|e| format!("could not encode the PNG: {e:?}"))?;
    download_url(&url, file_name)
}

/// Offers `bytes` to the user as a download called `file_name`.
pub fn save_bytes(bytes: &[u8], mime: &str, file_name: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let result = download_url(&url, file_name);
    let _ = web_sys::Url::revoke_object_url(&url);
    result
}

fn download_url(url: &str, file_name: &str) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "not an anchor")?;
    link.set_href(url);
    link.set_download(file_name);
    link.click();
    Ok(())
}

/// Draws a polyline through latent points (`points`, each 2-D) over a scatter plot in
/// `space`, with a dot at each point.
pub fn draw_path(canvas: &HtmlCanvasElement, space: Space, points: &[[f64; 2]], colour: &str, dots: bool) -> Result<(), String> {
    let (ctx, width, height) = crisp_context(canvas)?;
    let to_canvas = |z: &[f64; 2]| {
        let [x, y] = space.to_unit(*z);
        (x * width, y * height)
    };
    ctx.set_stroke_style_str(colour);
    ctx.set_fill_style_str(colour);
    ctx.set_line_width((width / 280.0).max(1.5));
    ctx.begin_path();
    for (index, point) in points.iter().enumerate() {
        let (x, y) = to_canvas(point);
        if index == 0 {
            ctx.move_to(x, y);
        } else {
            ctx.line_to(x, y);
        }
    }
    ctx.stroke();
    if dots {
        for point in points {
            let (x, y) = to_canvas(point);
            ctx.begin_path();
            let _ = ctx.arc(x, y, width / 160.0, 0.0, std::f64::consts::TAU);
            ctx.fill();
        }
    }
    Ok(())
}


/// Outlines cell (row, column) of a `size`×`size` grid drawn over the whole canvas.
pub fn outline_cell(canvas: &HtmlCanvasElement, (row, column): (usize, usize), size: usize) -> Result<(), String> {
    let (ctx, width, height) = crisp_context(canvas)?;
    let (cell_width, cell_height) = (width / size as f64, height / size as f64);
    let line = (width / 280.0).max(2.0);
    ctx.set_stroke_style_str("#ffd54f");
    ctx.set_line_width(line);
    ctx.stroke_rect(
        column as f64 * cell_width + line / 2.0,
        row as f64 * cell_height + line / 2.0,
        cell_width - line,
        cell_height - line,
    );
    Ok(())
}

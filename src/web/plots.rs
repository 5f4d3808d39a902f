//! The plots the history panel and the lab share: a latent map of test images coloured by
//! class (and its legend, which the explorer's map uses too), a strip of images, and a
//! loss chart. Each paints its canvas whenever its data
//! changes (and when the screen's pixel density does), in a task of its own, and says what
//! it shows in its text alternative. And the sliders' point over a plot.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::plane::Space;
use crate::web::canvas::{paint_images, paint_loss_chart, paint_scatter, ChartLine, CLASS_COLOURS};
use crate::web::display::keep_shown_width;
use crate::web::tasks::OwnTaskPaint;

/// Points of the latent plane (x, y pairs, flat) with their classes, in `window`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scatter {
    pub window: Space,
    pub points: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Greyscale images (values in [0, 1], image after image), `columns` to a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    pub pixels: Vec<f32>,
    pub columns: usize,
}

impl Images {
    /// Images stored as bytes (0–255), as the history and the lab's snapshots keep them.
    pub fn from_bytes<'a>(bytes: impl IntoIterator<Item = &'a u8>, columns: usize) -> Self {
        Self { pixels: bytes.into_iter().map(|&b| f32::from(b) / 255.0).collect(), columns }
    }
}

/// Loss curves, the point on show marked, with the x axis's two ends named.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub lines: Vec<ChartLine>,
    pub highlight: Option<usize>,
    pub ends: (String, String),
}

/// The legend's items: each class's colour on the maps, and its name.
pub fn class_legend(class_names: &[String]) -> impl IntoView {
    class_names
        .iter()
        .enumerate()
        .map(|(class, name)| {
            let colour = format!("background: {}", CLASS_COLOURS[class % 10]);
            view! { <li><span class="swatch" style=colour></span>{name.clone()}</li> }
        })
        .collect_view()
}

#[component]
pub fn LatentMapPlot(
    #[prop(into)] id: String,
    #[prop(into)] scatter: Signal<Option<Scatter>>,
    #[prop(into)] label: Signal<String>,
    #[prop(into, default = Signal::stored(false))] hidden: Signal<bool>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    keep_shown_width(canvas);
    let paint = OwnTaskPaint::default();
    Effect::new(move |_| {
        let (Some(canvas), Some(scatter)) = (canvas.get(), scatter.get()) else { return };
        paint.request(move || {
            let _ = paint_scatter(&canvas, scatter.window, &scatter.points, &scatter.labels, &[], false);
        });
    });
    view! {
        <canvas role="img" node_ref=canvas id=id class="history-map" class:hidden=hidden width="420" height="420"
            aria-label=label></canvas>
    }
}

#[component]
pub fn ImageStrip(
    #[prop(into)] id: String,
    #[prop(into)] images: Signal<Option<Images>>,
    #[prop(into)] label: Signal<String>,
    width: u32,
    height: u32,
    #[prop(default = "strip")] class: &'static str,
    #[prop(into, default = Signal::stored(false))] hidden: Signal<bool>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let paint = OwnTaskPaint::default();
    Effect::new(move |_| {
        let (Some(canvas), Some(images)) = (canvas.get(), images.get()) else { return };
        if !images.pixels.is_empty() {
            paint.request(move || {
                let _ = paint_images(&canvas, &images.pixels, images.columns);
            });
        }
    });
    view! {
        <canvas role="img" node_ref=canvas id=id class=class class:hidden=hidden width=width.to_string() height=height.to_string()
            aria-label=label></canvas>
    }
}

#[component]
pub fn LossChart(id: &'static str, #[prop(into)] chart: Signal<Option<Chart>>, #[prop(into)] label: Signal<String>) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    keep_shown_width(canvas);
    let paint = OwnTaskPaint::default();
    Effect::new(move |_| {
        let (Some(canvas), Some(chart)) = (canvas.get(), chart.get()) else { return };
        paint.request(move || {
            let _ = paint_loss_chart(&canvas, &chart.lines, chart.highlight, (&chart.ends.0, &chart.ends.1));
        });
    });
    view! {
        <canvas role="img" node_ref=canvas id=id class="loss-chart" width="420" height="200" aria-label=label></canvas>
    }
}

/// The sliders' point over a plot, at `at` (x and y in [0, 1] of the plot, from its top
/// left; on its edge when outside). An element, not paint on the plot's canvas: a slider's
/// move then moves it without repainting the plot, whose thousands of points the browser
/// would otherwise paint and hand to the screen again at every move.
#[component]
pub fn PointMarker(#[prop(into)] at: Signal<Option<[f64; 2]>>) -> impl IntoView {
    let percent = |value: f64| format!("{:.2}%", 100.0 * value.clamp(0.0, 1.0));
    view! {
        <span
            class="point-marker"
            aria-hidden="true"
            class:hidden=move || at.get().is_none()
            style:left=move || at.get().map(|[x, _]| percent(x)).unwrap_or_default()
            style:top=move || at.get().map(|[_, y]| percent(y)).unwrap_or_default()
        ></span>
    }
}

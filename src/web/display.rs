//! The screen's pixel density, as a reactive value, and whether the visitor asks for less
//! motion. Plots read the density through
//! [`device_pixel_ratio`] while they paint, so their effects paint again, sharp, when the
//! window is resized or zoomed (zooming changes devicePixelRatio and fires `resize`).

use std::cell::OnceCell;

use gloo_events::EventListener;
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use leptos::prelude::*;

thread_local! {
    // Reference-counted, not owned by the reactive owner that happens to call first: an
    // arena signal would be disposed with that owner (an effect that runs again).
    static RESIZES: OnceCell<ArcRwSignal<u64>> = const { OnceCell::new() };
    static WIDTH_WATCH: OnceCell<Option<JsValue>> = const { OnceCell::new() };
}

/// Where an element's shown width is kept between paints.
const SHOWN_WIDTH: &str = "data-shown-width";

fn resizes() -> ArcRwSignal<u64> {
    RESIZES.with(|cell| {
        cell.get_or_init(|| {
            let count = ArcRwSignal::new(0);
            if let Some(window) = web_sys::window() {
                let on_resize = count.clone();
                EventListener::new(&window, "resize", move |_| on_resize.update(|n| *n += 1)).forget();
            }
            count
        })
        .clone()
    })
}

/// `window.devicePixelRatio` (1 where there is none); inside an effect, subscribes it to
/// resizes and zooms.
pub fn device_pixel_ratio() -> f64 {
    track_resizes();
    web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).max(1e-3)
}

/// Inside an effect, subscribes it to resizes, zooms and plots' changed shown widths.
pub fn track_resizes() {
    resizes().track();
}

/// The width `element` is shown at, in CSS pixels (its `clientWidth`). Read from the
/// page once, then kept up to date by a `ResizeObserver`: reading it while the page has
/// changed forces the browser to lay the page out there and then, and a plot's paint in the
/// middle of showing a model would do that once per plot. A width that changes repaints
/// the plots, as a resize does. Where there is no `ResizeObserver`, it is read each time.
pub fn shown_width(element: &web_sys::Element) -> f64 {
    if let Some(width) = element.get_attribute(SHOWN_WIDTH).and_then(|w| w.parse::<f64>().ok()) {
        return width;
    }
    let width = f64::from(element.client_width());
    if watch_shown_width(element) {
        let _ = element.set_attribute(SHOWN_WIDTH, &width.to_string());
    }
    width
}

/// Keeps `canvas`'s shown width from its mount on: the `ResizeObserver` records it after
/// the next layout, so the canvas's first paint (a model's arrival, with half the page
/// changing) reads it without forcing a layout of its own.
pub fn keep_shown_width(canvas: NodeRef<leptos::html::Canvas>) {
    Effect::new(move |_| {
        if let Some(canvas) = canvas.get() {
            watch_shown_width(&canvas);
        }
    });
}

/// Starts watching `element`'s width; false where there is no `ResizeObserver`.
fn watch_shown_width(element: &web_sys::Element) -> bool {
    let Some(observer) = width_watch() else { return false };
    if let Ok(observe) = Reflect::get(&observer, &"observe".into()).and_then(|f| f.dyn_into::<Function>()) {
        let _ = observe.call1(&observer, element);
    }
    true
}

/// The `ResizeObserver` behind [`shown_width`] (through `Reflect`, for the reason given in
/// [`prefers_reduced_motion`]).
fn width_watch() -> Option<JsValue> {
    WIDTH_WATCH.with(|cell| {
        cell.get_or_init(|| {
            let window = web_sys::window()?;
            let constructor = Reflect::get(&window, &"ResizeObserver".into()).ok()?.dyn_into::<Function>().ok()?;
            let on_resize = Closure::<dyn FnMut(Array)>::new(|entries: Array| {
                let mut changed = false;
                for entry in entries.iter() {
                    let Some(element) = Reflect::get(&entry, &"target".into()).ok().and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    else {
                        continue;
                    };
                    // Laid out already (the observer runs after layout): no forced layout.
                    let width = f64::from(element.client_width()).to_string();
                    if element.get_attribute(SHOWN_WIDTH).as_deref() != Some(width.as_str()) {
                        let _ = element.set_attribute(SHOWN_WIDTH, &width);
                        changed = true;
                    }
                }
                if changed {
                    resizes().update(|n| *n += 1);
                }
            });
            let observer = Reflect::construct(&constructor, &Array::of1(on_resize.as_ref())).ok()?;
            on_resize.forget();
            Some(observer)
        })
        .clone()
    })
}

/// Whether the visitor asks for less motion (`prefers-reduced-motion: reduce`).
pub fn prefers_reduced_motion() -> bool {
    // Through `Reflect` rather than web-sys's `MediaQueryList`, whose feature would rebuild
    // every crate that uses web-sys (wgpu and burn among them) for one boolean.
    let Some(window) = web_sys::window() else { return false };
    let Ok(match_media) = js_sys::Reflect::get(&window, &"matchMedia".into()) else { return false };
    let Ok(match_media) = match_media.dyn_into::<js_sys::Function>() else { return false };
    match_media
        .call1(&window, &"(prefers-reduced-motion: reduce)".into())
        .ok()
        .and_then(|query| js_sys::Reflect::get(&query, &"matches".into()).ok())
        .and_then(|matches| matches.as_bool())
        .unwrap_or(false)
}

//! The screen's pixel density, as a reactive value, and whether the visitor asks for less
//! motion. Plots read the density through
//! [`device_pixel_ratio`] while they paint, so their effects paint again, sharp, when the
//! window is resized or zoomed (zooming changes devicePixelRatio and fires `resize`).

use std::cell::OnceCell;

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use leptos::prelude::*;

thread_local! {
    static RESIZES: OnceCell<RwSignal<u64>> = const { OnceCell::new() };
}

fn resizes() -> RwSignal<u64> {
    RESIZES.with(|cell| {
        *cell.get_or_init(|| {
            let count = RwSignal::new(0);
            if let Some(window) = web_sys::window() {
                EventListener::new(&window, "resize", move |_| count.update(|n| *n += 1)).forget();
            }
            count
        })
    })
}

/// `window.devicePixelRatio` (1 where there is none); inside an effect, subscribes it to
/// resizes and zooms.
pub fn device_pixel_ratio() -> f64 {
    resizes().track();
    web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).max(1e-3)
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

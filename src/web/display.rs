//! The screen's pixel density, as a reactive value: plots read it through
//! [`device_pixel_ratio`] while they paint, so their effects paint again, sharp, when the
//! window is resized or zoomed (zooming changes devicePixelRatio and fires `resize`).

use std::cell::OnceCell;

use gloo_events::EventListener;
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

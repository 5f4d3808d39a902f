//! The web page: leptos UI, backend choice, model loading and the `window.latentlab` API.

mod address;
mod api;
mod app;
pub(crate) mod backend;
mod canvas;
mod compare;
mod draw;
mod engine;
pub(crate) mod fetch;
mod grid_view;
mod history_view;
mod interpolation;
mod lab_client;
mod lab_view;
mod live;
mod map_view;
mod picker;
mod samples;
mod session;
mod sliders;
mod traversal;
mod tray;

use leptos::prelude::*;

unsafe extern "C" {
    /// The static constructors, which wasm-ld gathers (burn's dependencies register
    /// items through `inventory` at start-up).
    fn __wasm_call_ctors();
}

/// Runs the wasm module's static constructors; see [`start`].
pub fn run_static_constructors() {
    // SAFETY: the constructors only register static items; nothing has run before them.
    unsafe { __wasm_call_ctors() };
}

/// Entry point of the wasm binary.
pub fn start() {
    // Run the constructors once, here. A module that never calls them itself is taken by
    // wasm-ld for a one-shot "command" and gets a call to them wrapped around every
    // export, so every JS → wasm call re-ran them (about 0.5 ms each). `inventory`'s
    // constructors are idempotent, so running them again is harmless.
    run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("latentlab: internal error: {info}").into());
    }));
    let session = session::Session::new();
    let lab = lab_client::Lab::new(session.clone());
    if let Err(error) = api::install(&session, &lab) {
        web_sys::console::error_2(&"latentlab: could not install window.latentlab".into(), &error);
    }
    leptos::mount::mount_to_body(move || view! { <app::App session=session.clone() lab=lab.clone() /> });
}

//! The web page: leptos UI, backend choice, model loading and the `window.latentlab` API.

mod address;
mod api;
mod app;
pub(crate) mod backend;
mod canvas;
mod compare;
mod display;
mod draw;
mod engine;
pub(crate) mod fetch;
mod grid_view;
mod history_view;
mod interpolation;
mod lab_client;
mod lab_view;
mod letters_view;
mod live;
mod map_view;
mod picker;
mod samples;
mod session;
mod sliders;
mod stroke_pad;
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

/// After a panic the page's wasm cannot be trusted: say so on the page, with a way back.
/// Plain DOM calls, since the reactive UI may be what broke.
fn show_internal_error(what: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(body) = document.body() else { return };
    if document.get_element_by_id("internal-error").is_some() {
        return;
    }
    let Ok(banner) = document.create_element("div") else { return };
    banner.set_id("internal-error");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("class", "internal-error");
    banner.set_text_content(Some(&format!(
        "latentlab hit an internal error and stopped working ({what}). Reloading the page starts it afresh. "
    )));
    if let Ok(button) = document.create_element("button") {
        button.set_text_content(Some("Reload the page"));
        gloo_events::EventListener::new(&button, "click", |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        })
        .forget();
        let _ = banner.append_child(&button);
    }
    let _ = body.prepend_with_node_1(&banner);
}

/// The size of this wasm module's memory (the page's or the lab worker's), in bytes.
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
        .ok()
        .and_then(|buffer| buffer.dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |buffer| f64::from(buffer.byte_length()))
}

/// `performance.now()`, in the page or in a worker (whose global has no `window`).
pub fn now_millis() -> f64 {
    use wasm_bindgen::JsCast;
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or(0.0, |p| p.now())
}

/// Hands the thread back to the page (input, painting) and resumes soon after: with
/// `scheduler.yield()` where the browser has it (it resumes ahead of other tasks and is
/// not clamped as nested timeouts are), else with a zero timeout.
pub async fn yield_to_page() {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let scheduled = js_sys::Reflect::get(&global, &"scheduler".into())
        .ok()
        .filter(|scheduler| scheduler.is_object())
        .and_then(|scheduler| {
            let method = js_sys::Reflect::get(&scheduler, &"yield".into()).ok()?;
            let method = method.dyn_into::<js_sys::Function>().ok()?;
            method.call0(&scheduler).ok()?.dyn_into::<js_sys::Promise>().ok()
        });
    match scheduled {
        Some(promise) => {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        None => gloo_timers::future::TimeoutFuture::new(0).await,
    }
}

/// For an action started from the page whose outcome the page shows in words: waits on its
/// promise, so a rejection is handled and never reaches the console as an uncaught error.
pub(crate) fn settle(promise: js_sys::Promise) {
    wasm_bindgen_futures::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    });
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
        show_internal_error(&info.to_string());
    }));
    let session = session::Session::new();
    let lab = lab_client::Lab::new(session.clone());
    if let Err(error) = api::install(&session, &lab) {
        web_sys::console::error_2(&"latentlab: could not install window.latentlab".into(), &error);
    }
    leptos::mount::mount_to_body(move || view! { <app::App session=session.clone() lab=lab.clone() /> });
}

//! The web page: the leptos UI (`app`, `panels`), the page's shared state (`state`), the
//! loaded models (`session`) and the model engine's client (`engine`), the lab's client
//! and the `window.latentlab` API.

mod address;
mod api;
mod app;
mod build;
mod canvas;
mod display;
mod engine;
mod kept;
mod lab_client;
mod live;
mod panels;
mod plots;
mod session;
mod state;
mod stroke_pad;
mod tasks;

use leptos::prelude::*;

/// After a panic the page's wasm cannot be trusted: say so on the page, with a way back.
fn show_internal_error(what: &str) {
    show_stopped(&format!(
        "latentlab hit an internal error and stopped working ({what}). Reloading the page starts it afresh. "
    ));
}

/// Says at the top of the page that something it needs stopped (`sentence`), with a button
/// that reloads the page. Plain DOM calls, since the reactive UI may be what broke; the
/// first such message stays.
pub(crate) fn show_stopped(sentence: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(body) = document.body() else { return };
    if document.get_element_by_id("internal-error").is_some() {
        return;
    }
    let Ok(banner) = document.create_element("div") else { return };
    banner.set_id("internal-error");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("class", "internal-error");
    banner.set_text_content(Some(sentence));
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

/// Entry point of the wasm binary.
pub fn start() {
    // Run the constructors once, here. A module that never calls them itself is taken by
    // wasm-ld for a one-shot "command" and gets a call to them wrapped around every
    // export, so every JS → wasm call re-ran them (about 0.5 ms each). `inventory`'s
    // constructors are idempotent, so running them again is harmless.
    crate::browser::run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("latentlab: internal error: {info}").into());
        show_internal_error(&info.to_string());
    }));
    let page = state::Page::new();
    let session = session::Session::new(page);
    session.watch_restarts();
    session.watch_kept();
    let lab = lab_client::Lab::new(session.clone());
    lab.watch_other_tabs();
    lab.keep_runs();
    if let Err(error) = api::install(&session, &lab) {
        web_sys::console::error_2(&"latentlab: could not install window.latentlab".into(), &error);
    }
    // The static first paint (www/index.html, painted before this wasm is fetched) goes in
    // the task that mounts the page, so the browser never paints both; its picture moves
    // into the live grid until that is drawn.
    if let Some(first_paint) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("first-paint")) {
        if let Ok(Some(picture)) = first_paint.query_selector("img") {
            picture.remove();
            panels::grid::keep_first_paint(picture);
        }
        first_paint.remove();
    }
    leptos::mount::mount_to_body(move || {
        provide_context(page);
        provide_context(page.views);
        session::provide_session(session.clone());
        lab_client::provide_lab(lab.clone());
        view! { <app::App /> }
    });
}

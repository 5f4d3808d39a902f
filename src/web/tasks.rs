//! Small helpers for the page's asynchronous work.

/// For an action started from the page whose outcome the page shows in words: waits on its
/// promise, so a rejection is handled and never reaches the console as an uncaught error.
pub(crate) fn settle(promise: js_sys::Promise) {
    wasm_bindgen_futures::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    });
}

/// Lets the browser paint before a long computation.
pub async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

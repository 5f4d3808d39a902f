//! The page's address: `?model=NAME&z=0.5,-1.2&backend=cpu`. The model and the sliders'
//! latent point live there, so a view can be shared.

use crate::plane::format_point;

/// The value of `name` in the page's query string.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| js_sys::decode_uri_component(value).ok().map(String::from).unwrap_or_default())
    })
}

/// Rewrites the address (without a new history entry) to show `model` and `z`,
/// keeping any `backend` choice.
pub fn record(model: &str, z: &[f32]) {
    let Some(window) = web_sys::window() else { return };
    let mut query = format!("?model={model}");
    if !z.is_empty() {
        query.push_str(&format!("&z={}", format_point(z)));
    }
    if let Some(backend) = query_param("backend") {
        query.push_str(&format!("&backend={backend}"));
    }
    if window.location().search().ok().as_deref() == Some(query.as_str()) {
        return;
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&query));
    }
}

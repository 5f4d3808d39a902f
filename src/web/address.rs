//! The page's address: `?model=NAME&z=0.5,-1.2&backend=cpu&lab-…`. The model, the
//! sliders' latent point and the lab's run settings live there, so a view can be shared.

use std::cell::RefCell;

use crate::core::catalogue::ShippedModel;
use crate::core::plane::format_point;

thread_local! {
    /// The `model=…&z=…` part and the `lab-…` part, as last recorded.
    static PARTS: RefCell<(String, Option<String>)> = RefCell::new((String::new(), lab_part_of_address()));
}

/// The lab's parameters as the address has them at start.
fn lab_part_of_address() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let lab: Vec<&str> = search.trim_start_matches('?').split('&').filter(|p| p.starts_with("lab-")).collect();
    (!lab.is_empty()).then(|| lab.join("&"))
}

/// The value of `name` in the page's query string.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| js_sys::decode_uri_component(value).ok().map(String::from).unwrap_or_default())
    })
}

/// Rewrites the address (without a new history entry) to show `model` and `z`,
/// keeping any `backend` choice and the lab's settings. A model that is not shipped (from
/// the lab) is not named: a link cannot bring it back.
pub fn record(model: &str, z: &[f32]) {
    let mut part = String::new();
    if ShippedModel::find(model).is_some() {
        part = format!("model={model}");
        if !z.is_empty() {
            part.push_str(&format!("&z={}", format_point(z)));
        }
    }
    PARTS.with(|parts| parts.borrow_mut().0 = part);
    write_address();
}

/// Records the lab's run settings (`lab-…` parameters), or removes them.
pub fn record_lab(query: Option<&str>) {
    PARTS.with(|parts| parts.borrow_mut().1 = query.map(str::to_string));
    write_address();
}

fn write_address() {
    let Some(window) = web_sys::window() else { return };
    let (view, lab) = PARTS.with(|parts| parts.borrow().clone());
    let mut pieces: Vec<String> = Vec::new();
    if !view.is_empty() {
        pieces.push(view);
    }
    if let Some(backend) = query_param("backend") {
        pieces.push(format!("backend={backend}"));
    }
    if let Some(lab) = lab {
        pieces.push(lab);
    }
    let query = if pieces.is_empty() { String::new() } else { format!("?{}", pieces.join("&")) };
    if window.location().search().ok().as_deref() == Some(query.as_str()) {
        return;
    }
    if let Ok(history) = window.history() {
        let url = if query.is_empty() { window.location().pathname().unwrap_or_default() } else { query };
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

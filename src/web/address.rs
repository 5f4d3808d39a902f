//! The page's address: `?model=NAME&z=0.5,-1.2&backend=cpu&lab-…&lesson=…&compare=…`. The
//! model, the sliders' latent point, the lab's run settings, the lesson set up and the
//! kept models compared live there, so a view can be shared (or kept in a bookmark).

use std::cell::{Cell, RefCell};

use gloo_timers::callback::Timeout;

use crate::browser::clock::now_millis;
use crate::core::catalogue::ShippedModel;
use crate::core::plane::format_point;

/// The least time between two rewrites of the address. Chromium ignores a page's history
/// changes for a while once they come faster than 200 in 10 s, as a dragged slider's would:
/// rewrites closer than this wait, and the last of them is written.
const LEAST_GAP_MS: f64 = 60.0;
/// A moving point (a dragged slider, the pointer on a map) is written once it has rested
/// this long, or at least every [`MOVING_POINT_MOST_WAIT_MS`]: each rewrite costs the
/// page's thread a few milliseconds, which during a drag would make frames late.
const MOVING_POINT_REST_MS: f64 = 250.0;
const MOVING_POINT_MOST_WAIT_MS: f64 = 1000.0;

/// The address's parts, as last recorded.
struct Parts {
    /// `model=…&z=…`.
    view: String,
    /// `lab-…=…&…`.
    lab: Option<String>,
    /// `lesson=…` (and `lesson-length=longer`).
    lesson: Option<String>,
    /// `compare=NAME,NAME`.
    compare: Option<String>,
}

thread_local! {
    // As the address has them when the page opens: until the page shows a model, the
    // address keeps the one it asks for.
    static PARTS: RefCell<Parts> = RefCell::new(Parts {
        view: part_of_address(&["model", "z"]).unwrap_or_default(),
        lab: lab_part_of_address(),
        lesson: part_of_address(&["lesson", "lesson-length"]),
        compare: part_of_address(&["compare"]),
    });
    static LAST_WRITTEN_AT: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
    static WRITE_WAITING: Cell<bool> = const { Cell::new(false) };
    /// The write waiting for a moving point to rest, whether it has yet to run, and when
    /// the point began to move.
    static REST_TIMER: RefCell<Option<Timeout>> = const { RefCell::new(None) };
    static REST_PENDING: Cell<bool> = const { Cell::new(false) };
    static MOVING_SINCE: Cell<f64> = const { Cell::new(0.0) };
}

/// The lab's parameters as the address has them at start.
fn lab_part_of_address() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let lab: Vec<&str> = search.trim_start_matches('?').split('&').filter(|p| p.starts_with("lab-")).collect();
    (!lab.is_empty()).then(|| lab.join("&"))
}

/// The parameters called `names` as the address has them at start.
fn part_of_address(names: &[&str]) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let found: Vec<&str> =
        search.trim_start_matches('?').split('&').filter(|p| names.contains(&p.split_once('=').map_or(*p, |(key, _)| key))).collect();
    (!found.is_empty()).then(|| found.join("&"))
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
/// keeping any `backend` and `threads` choice and the lab's settings. A model that is neither shipped nor
/// `kept` in this browser is not named: a link cannot bring it back.
pub fn record(model: &str, z: &[f32], kept: bool) {
    let mut part = String::new();
    if kept || ShippedModel::find(model).is_some() {
        part = format!("model={model}");
        if !z.is_empty() {
            part.push_str(&format!("&z={}", format_point(z)));
        }
    }
    let model_part = |view: &str| view.split("&z=").next().unwrap_or_default().to_string();
    let Some(previous) = replace_part(|parts| &mut parts.view, part.clone()) else { return };
    if !previous.is_empty() && model_part(&previous) == model_part(&part) {
        write_address_once_rested();
    } else {
        write_address_soon();
    }
}

/// Writes the recorded parts once the point has rested [`MOVING_POINT_REST_MS`], and at
/// least every [`MOVING_POINT_MOST_WAIT_MS`] while it keeps moving.
fn write_address_once_rested() {
    let now = now_millis();
    if !REST_PENDING.with(|pending| pending.replace(true)) {
        MOVING_SINCE.with(|since| since.set(now));
    }
    let most_wait = MOVING_SINCE.with(Cell::get) + MOVING_POINT_MOST_WAIT_MS - now;
    let wait = MOVING_POINT_REST_MS.min(most_wait).max(0.0);
    let timer = Timeout::new(wait.ceil() as u32, || {
        REST_PENDING.with(|pending| pending.set(false));
        write_address_soon();
    });
    // The timer it replaces is dropped, and so cancelled (or it has run).
    REST_TIMER.with(|slot| *slot.borrow_mut() = Some(timer));
}

/// Records the lab's run settings (`lab-…` parameters), or removes them.
pub fn record_lab(query: Option<&str>) {
    if replace_part(|parts| &mut parts.lab, query.map(str::to_string)).is_some() {
        write_address_soon();
    }
}

/// Records the lesson set up (`lesson=ID`, with `lesson-length=longer` for longer runs), or
/// removes it.
pub fn record_lesson(id: Option<&str>, longer: bool) {
    let part = id.map(|id| if longer { format!("lesson={id}&lesson-length=longer") } else { format!("lesson={id}") });
    if replace_part(|parts| &mut parts.lesson, part).is_some() {
        write_address_soon();
    }
}

/// Records the kept models compared side by side (`compare=NAME,NAME`), or removes them.
pub fn record_compared(names: &[String]) {
    let part = (!names.is_empty()).then(|| {
        let names: Vec<String> = names.iter().map(|n| String::from(js_sys::encode_uri_component(n))).collect();
        format!("compare={}", names.join(","))
    });
    if replace_part(|parts| &mut parts.compare, part).is_some() {
        write_address_soon();
    }
}

/// Sets one recorded part to `value`: the value it had, or `None` when it had that value
/// already (and the address needs no rewrite).
fn replace_part<T: PartialEq>(part: impl FnOnce(&mut Parts) -> &mut T, value: T) -> Option<T> {
    PARTS.with(|parts| {
        let mut parts = parts.borrow_mut();
        let slot = part(&mut parts);
        (*slot != value).then(|| std::mem::replace(slot, value))
    })
}

/// The kept models the address compares, by name.
pub fn compared_in_address() -> Vec<String> {
    query_param("compare").map_or_else(Vec::new, |list| list.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect())
}

/// Writes the recorded parts now, or, within [`LEAST_GAP_MS`] of the last write, once that
/// gap has passed (a write already waiting will write the newest parts).
fn write_address_soon() {
    if WRITE_WAITING.with(Cell::get) {
        return;
    }
    let wait = LAST_WRITTEN_AT.with(Cell::get) + LEAST_GAP_MS - now_millis();
    if wait <= 0.0 {
        write_address();
        return;
    }
    WRITE_WAITING.with(|waiting| waiting.set(true));
    Timeout::new(wait.ceil() as u32, || {
        WRITE_WAITING.with(|waiting| waiting.set(false));
        write_address();
    })
    .forget();
}

fn write_address() {
    LAST_WRITTEN_AT.with(|at| at.set(now_millis()));
    let Some(window) = web_sys::window() else { return };
    let mut pieces: Vec<String> = Vec::new();
    PARTS.with(|parts| {
        let parts = parts.borrow();
        if !parts.view.is_empty() {
            pieces.push(parts.view.clone());
        }
        for choice in ["backend", "threads"] {
            if let Some(value) = query_param(choice) {
                pieces.push(format!("{choice}={value}"));
            }
        }
        pieces.extend([&parts.lab, &parts.lesson, &parts.compare].into_iter().flatten().cloned());
    });
    let query = if pieces.is_empty() { String::new() } else { format!("?{}", pieces.join("&")) };
    if window.location().search().ok().as_deref() == Some(query.as_str()) {
        return;
    }
    if let Ok(history) = window.history() {
        let url = if query.is_empty() { window.location().pathname().unwrap_or_default() } else { query };
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

//! Time in the page or a worker, and handing the thread back to the browser.

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

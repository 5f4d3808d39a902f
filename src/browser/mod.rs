//! What the page and the workers share in the browser: the start-up constructors, the
//! module's memory, the clock and yielding, file downloads, messages between threads, the
//! backend choice and reading tensors back.

/// The workers' (burn): which backend computes, and reading tensors back.
#[cfg(feature = "engine")]
pub mod backend;
pub mod clock;
pub mod fetch;
pub mod message;
#[cfg(feature = "engine")]
pub mod readback;
pub mod threads;

unsafe extern "C" {
    /// The static constructors, which wasm-ld gathers (burn's dependencies register
    /// items through `inventory` at start-up).
    fn __wasm_call_ctors();
}

/// Runs the wasm module's static constructors; see `web::start`.
pub fn run_static_constructors() {
    // SAFETY: the constructors only register static items; nothing has run before them.
    unsafe { __wasm_call_ctors() };
}

/// The size of this wasm module's memory (the page's or the lab worker's), in bytes.
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
        .ok()
        .and_then(|buffer| buffer.dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |buffer| f64::from(buffer.byte_length()))
}

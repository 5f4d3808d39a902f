//! The CPU engine's threads in a multi-threaded worker (feature `threads`, built by
//! scripts/build-threads.sh): rayon's pool on wasm threads, started by
//! `wasm-bindgen-rayon` as nested Web Workers sharing the worker's memory. The work is
//! split into parts, one per thread (`core::parts`); burn's CPU backend itself runs each
//! part on one thread.

use std::cell::Cell;

use crate::core::backend_kind::BackendKind;

/// The most threads the multi-threaded CPU engine starts: each is a Web Worker of its own,
/// and a VAE's batch of 100 has little work to share out past that (on a 64-core machine).
pub const MAX_CPU_THREADS: usize = 16;

thread_local! {
    /// The threads the CPU backend computes on in this worker.
    static COUNT: Cell<usize> = const { Cell::new(1) };
}

/// The threads the CPU backend computes on in this worker (1 until they have started, and
/// in a single-threaded worker).
pub fn count() -> usize {
    COUNT.with(Cell::get)
}

/// The parts a batch on `backend` is split into: one per CPU thread (see
/// `train::step::train_step_in_parts` and the engine's decodes), one on a GPU.
pub fn parts_on(backend: BackendKind) -> usize {
    match backend {
        BackendKind::Cpu => count(),
        BackendKind::WebGpu => 1,
    }
}

/// Starts rayon's threads before any work is split over them (rayon would otherwise
/// settle on one thread for good): as many as the worker's name asks (`threads=N`, from
/// the page's `?threads=N`), else one per core the browser reports, at most
/// [`MAX_CPU_THREADS`]; `starting` is told how many first, and the page watches from then
/// on: threads that have not started in time (a browser can fail to start nested workers,
/// or hang in doing so) get the whole worker replaced by the single-threaded one (see
/// `web::build::THREADS_START_MILLIS`). Where the browser refuses them, the worker
/// computes on one and says why on the console. Returns the count.
#[cfg(feature = "threads")]
pub async fn start(starting: impl FnOnce(usize)) -> usize {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let asked = scope.name().strip_prefix("threads=").and_then(|n| n.parse::<usize>().ok());
    let threads = asked.unwrap_or_else(|| scope.navigator().hardware_concurrency() as usize).clamp(1, MAX_CPU_THREADS);
    starting(threads);
    match JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads)).await {
        Ok(_) => {
            COUNT.with(|count| count.set(threads));
            threads
        }
        Err(error) => {
            web_sys::console::warn_1(&format!("latentlab: the CPU engine could not start its {threads} threads ({error:?}); it computes on one").into());
            1
        }
    }
}

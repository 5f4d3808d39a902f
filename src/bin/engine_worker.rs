//! The model engine's Web Worker: loads the models and decodes and encodes for the page,
//! so that the page's own wasm is the UI alone.

fn main() {
    #[cfg(all(target_arch = "wasm32", feature = "engine"))]
    latentlab::engine::worker::start();
}

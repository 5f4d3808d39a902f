//! The training lab's Web Worker: trains in the background while the page stays fluid.

fn main() {
    #[cfg(target_arch = "wasm32")]
    latentlab::worker::start();
}

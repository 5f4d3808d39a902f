//! latentlab: see and touch what a variational autoencoder learns.
//!
//! - `core`: the model, weight files, artifacts, data and math, shared by every build;
//! - `train`: the training step the native trainer and the lab's worker share;
//! - `lab`: the lab's settings, messages and bookkeeping (plain code, tested natively);
//! - `native`: the command-line trainer and tools;
//! - `browser`: what the page and its workers share in the browser;
//! - `engine`: the model engine's messages and (in the browser) its Web Worker;
//! - `web`: the page; `worker`: the lab's Web Worker.
//!
//! Nothing reaches up: `core` needs no other module, `train` and `lab` only `core`,
//! `browser` only `core`, `engine` only `core` and `browser`, and `web` and the two
//! workers never each other (the page talks to them in messages).

pub mod core;
pub mod engine;
pub mod lab;

/// burn is in every native build, and in the browser only in the workers (see the features
/// in Cargo.toml): the model engine's worker (`webgpu`: burn with WebGPU and the CPU
/// backend), the lab's worker (`lab`: with burn's autodiff and optimizers) and the
/// multi-threaded CPU builds of both (`threads`). The page's own wasm (`page`, the UI) is built
/// without burn, so no line of burn, cubecl or wgpu is in it; the workers are built
/// without the UI.
///
/// The training step needs burn's autodiff and optimizers: natively always, in the
/// browser only in the lab's workers.
#[cfg(any(not(target_arch = "wasm32"), feature = "lab"))]
pub mod train;
#[cfg(all(target_arch = "wasm32", feature = "lab"))]
pub mod worker;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub mod web;

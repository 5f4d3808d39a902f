//! latentlab: see and touch what a variational autoencoder learns.
//!
//! - `core`: the model, weight files, artifacts, data and math, shared by every build;
//! - `train`: the training step the native trainer and the lab's worker share;
//! - `lab`: the lab's settings, messages and bookkeeping (plain code, tested natively);
//! - `native`: the command-line trainer and tools;
//! - `browser`: what the page and its workers share in the browser;
//! - `web`: the page; `worker`: the lab's Web Worker.
//!
//! Nothing reaches up: `core` needs no other module, `train` and `lab` only `core`,
//! `browser` only `core`, and `web` and `worker` never each other.

pub mod core;
pub mod lab;

/// The training step needs burn's autodiff and optimizers: natively always, in the
/// browser only in the lab's worker (feature `lab`), so the page's own wasm stays small.
#[cfg(any(not(target_arch = "wasm32"), feature = "lab"))]
pub mod train;
#[cfg(all(target_arch = "wasm32", feature = "lab"))]
pub mod worker;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod web;

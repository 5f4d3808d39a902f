//! latentlab: see and touch what a variational autoencoder learns.
//!
//! The model, weight files and math are shared by the native tools and the web page.

pub mod artifacts;
pub mod augment;
pub mod backend_kind;
pub mod catalogue;
pub mod census;
pub mod data;
pub mod image_set;
pub mod lab;
pub mod letters;
pub mod math;
pub mod mosaic;
pub mod plane;
pub mod preprocess;
pub mod screen;
pub mod model;
pub mod weights;

/// The training step needs burn's autodiff and optimizers: natively always, in the
/// browser only in the lab's worker (feature `lab`), so the page's own wasm stays small.
#[cfg(any(not(target_arch = "wasm32"), feature = "lab"))]
pub mod step;
#[cfg(all(target_arch = "wasm32", feature = "lab"))]
pub mod lab_worker;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod idx;
#[cfg(not(target_arch = "wasm32"))]
pub mod stroke_digits;
#[cfg(not(target_arch = "wasm32"))]
pub mod training;

#[cfg(target_arch = "wasm32")]
pub mod web;

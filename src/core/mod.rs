//! What every build shares (native tools, the page, the workers): the model, its weight
//! files and artifacts, the datasets, the pure math and the catalogue of shipped models.
//! The network (`model`) and what reads and writes its weights need burn: natively
//! always, in the browser only in the workers (feature `engine`), never in the page's UI.

pub mod artifacts;
pub mod augment;
pub mod backend_kind;
pub mod catalogue;
pub mod comparison;
pub mod data;
pub mod image_set;
pub mod letters;
pub mod math;
/// Needs burn: see [`crate`].
#[cfg(any(not(target_arch = "wasm32"), feature = "engine"))]
pub mod model;
pub mod mosaic;
pub mod parts;
pub mod plane;
pub mod preprocess;
pub mod screen;
pub mod spec;
pub mod weights;

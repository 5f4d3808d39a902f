//! What every build shares (native tools, the page, the workers): the model, its weight
//! files and artifacts, the datasets, the pure math and the catalogue of shipped models.

pub mod artifacts;
pub mod augment;
pub mod backend_kind;
pub mod catalogue;
pub mod data;
pub mod image_set;
pub mod letters;
pub mod math;
pub mod model;
pub mod mosaic;
pub mod plane;
pub mod preprocess;
pub mod screen;
pub mod weights;

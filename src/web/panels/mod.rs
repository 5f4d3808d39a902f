//! The page's panels, one view each, in the order the page shows them.

pub mod picker;
pub mod grid;
pub mod map;
pub mod sliders;
pub mod samples;
pub mod traversal;
pub mod draw;
pub mod tray;
pub mod interpolation;
pub mod compare;
pub mod history;
pub mod yours;
pub mod side_by_side;
pub mod lessons;
pub mod letters;
pub mod lab;

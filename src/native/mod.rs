//! Native only: the command line, the trainer, the IDX reader and the tools that make
//! and check the shipped files (among them the page's first paint).

pub mod census;
pub mod cli;
pub mod first_paint;
pub mod idx;
pub mod stroke_digits;
pub mod trainer;

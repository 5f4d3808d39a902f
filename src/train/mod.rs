//! Training, shared by the native trainer and the lab's worker: one step for both.

pub mod step;

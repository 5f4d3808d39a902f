//! Work split into parts, one per thread: a training step's batch (see
//! `train::step::train_step_in_parts`) or a decode's points. Where rayon's threads exist
//! (natively, and in the browser's multi-threaded workers, feature `threads`), the parts
//! run in parallel; elsewhere one after another.

/// `count` items split into `parts` runs of consecutive items, as even as can be:
/// (start, length) each.
pub fn part_ranges(count: usize, parts: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..parts).map(move |part| {
        let start = part * count / parts;
        (start, (part + 1) * count / parts - start)
    })
}

/// `work` mapped by `f`, in order, in parallel where rayon's threads exist.
#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
pub fn on_threads<T: Send, R: Send>(work: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    work.into_par_iter().map(f).collect()
}

/// `work` mapped by `f`, in order (this build has no threads).
#[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
pub fn on_threads<T, R>(work: Vec<T>, f: impl Fn(T) -> R) -> Vec<R> {
    work.into_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_items_evenly() {
        assert_eq!(part_ranges(10, 3).collect::<Vec<_>>(), vec![(0, 3), (3, 3), (6, 4)]);
        assert_eq!(part_ranges(100, 2).collect::<Vec<_>>(), vec![(0, 50), (50, 50)]);
        assert_eq!(part_ranges(4, 4).collect::<Vec<_>>(), vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
    }

    #[test]
    fn threads_keep_the_order() {
        let squares = on_threads((0..100).collect(), |n: u64| n * n);
        assert_eq!(squares, (0..100).map(|n| n * n).collect::<Vec<u64>>());
    }
}

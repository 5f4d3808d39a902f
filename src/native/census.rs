//! Which classes a decoded picture shows: each decoded image gets the label most
//! common among its `k` nearest training images (Euclidean distance on pixels).
//! A crude reader, but an honest one: it looks at what the decoder draws, not at
//! where the encoder puts the test set.

/// Labels for each of `queries` (n × `pixels` values) by majority vote of the `k`
/// nearest `references` (m × `pixels` values, labelled by `labels`).
pub fn nearest_neighbour_labels(references: &[f32], labels: &[u8], queries: &[f32], pixels: usize, k: usize) -> Vec<u8> {
    queries
        .chunks_exact(pixels)
        .map(|query| {
            let mut by_distance: Vec<(f32, u8)> = references
                .chunks_exact(pixels)
                .zip(labels)
                .map(|(reference, &label)| {
                    let distance = reference.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
                    (distance, label)
                })
                .collect();
            let k = k.clamp(1, by_distance.len().max(1));
            if by_distance.is_empty() {
                return 0;
            }
            by_distance.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
            by_distance[..k].sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut votes = [0usize; 256];
            for (_, label) in &by_distance[..k] {
                votes[usize::from(*label)] += 1;
            }
            let most = votes.iter().copied().max().unwrap_or(0);
            // Ties go to the nearest of the tied labels.
            by_distance[..k].iter().find(|(_, label)| votes[usize::from(*label)] == most).map_or(0, |(_, l)| *l)
        })
        .collect()
}

/// How many of `labels` fall in each class 0..10.
pub fn count_per_class(labels: &[u8]) -> [usize; 10] {
    let mut counts = [0; 10];
    for &label in labels {
        if let Some(slot) = counts.get_mut(usize::from(label)) {
            *slot += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_query_takes_the_label_of_its_neighbourhood() {
        // Two clusters of 2-pixel "images": label 4 near (0, 0), label 9 near (1, 1).
        let references = [0.0, 0.1, 0.1, 0.0, 0.05, 0.05, 1.0, 0.9, 0.9, 1.0, 0.95, 0.95];
        let labels = [4, 4, 4, 9, 9, 9];
        let queries = [0.2, 0.2, 0.8, 0.7, 0.45, 0.4];
        assert_eq!(nearest_neighbour_labels(&references, &labels, &queries, 2, 3), vec![4, 9, 4]);
    }

    #[test]
    fn a_tie_goes_to_the_nearest() {
        let references = [0.0, 1.0];
        let labels = [2, 7];
        assert_eq!(nearest_neighbour_labels(&references, &labels, &[0.9], 1, 2), vec![7]);
    }

    #[test]
    fn counts_ignore_labels_outside_ten_classes() {
        assert_eq!(count_per_class(&[0, 3, 3, 9, 200]), [1, 0, 0, 2, 0, 0, 0, 0, 0, 1]);
    }
}

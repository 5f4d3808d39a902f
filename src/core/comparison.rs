//! Models side by side: the rows of the comparison table (settings, then held-out
//! losses), which settings differ, and how tightly each model's held-out map sits around
//! the prior's centre. Plain values from manifests and maps, for the page and for tests.

use crate::core::catalogue::DatasetId;
use crate::core::spec::ModelKind;
use crate::core::weights::Manifest;

/// One row of the comparison table: a setting or a measurement, one value per model.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonRow {
    pub label: &'static str,
    /// The label in a few characters, for a chart's legend.
    pub short: &'static str,
    pub values: Vec<String>,
    /// A setting whose values are not all the same (measurements are never marked).
    pub differs: bool,
}

fn setting(label: &'static str, short: &'static str, manifests: &[&Manifest], value: impl Fn(&Manifest) -> String) -> ComparisonRow {
    let values: Vec<String> = manifests.iter().map(|m| value(m)).collect();
    let differs = values.windows(2).any(|pair| pair[0] != pair[1]);
    ComparisonRow { label, short, values, differs }
}

fn measurement(label: &'static str, manifests: &[&Manifest], value: impl Fn(&Manifest) -> String) -> ComparisonRow {
    ComparisonRow { label, short: label, values: manifests.iter().map(|m| value(m)).collect(), differs: false }
}

/// A short name for each of the `titles.len()` compared models, for a chart's legend: the
/// settings in which they differ ("β 0.1", "latent 8, seed 3"), or where none differs a
/// shortened title.
pub fn legend_labels(rows: &[ComparisonRow], titles: &[String]) -> Vec<String> {
    const LONGEST_TITLE: usize = 22;
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let differing: Vec<String> =
                rows.iter().filter(|r| r.differs).filter_map(|r| r.values.get(i).map(|v| format!("{} {v}", r.short).trim_start().to_string())).collect();
            if differing.is_empty() {
                if title.chars().count() > LONGEST_TITLE {
                    format!("{}…", title.chars().take(LONGEST_TITLE - 1).collect::<String>())
                } else {
                    title.clone()
                }
            } else {
                differing.join(", ")
            }
        })
        .collect()
}

/// A number as the table writes it: up to four significant digits, no trailing zeros.
pub fn short_number(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let decimals = (3 - value.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn classes_of(m: &Manifest) -> String {
    match &m.classes {
        None => format!("all {}", m.class_names.len()),
        Some(classes) => {
            let names: Vec<&str> = classes.iter().filter_map(|&c| m.class_names.get(usize::from(c)).map(String::as_str)).collect();
            names.join(", ")
        }
    }
}

/// The table's rows for `manifests` (in the order given): what each was trained on and
/// how, then its losses on the held-out images.
pub fn comparison_rows(manifests: &[&Manifest]) -> Vec<ComparisonRow> {
    let kind = |m: &Manifest| if m.kind == ModelKind::Ae { "autoencoder (no KL term)".to_string() } else { "VAE".to_string() };
    let network = |m: &Manifest| match m.architecture.hidden {
        Some(hidden) if m.architecture.network == crate::core::spec::Architecture::Dense => format!("dense, {hidden} hidden units"),
        _ => m.architecture.network.label().to_string(),
    };
    let data = |m: &Manifest| DatasetId::from_name(&m.dataset).map_or_else(|| m.dataset.clone(), |d| d.label().to_string());
    vec![
        setting("Data", "data", manifests, data),
        setting("Classes", "classes", manifests, classes_of),
        setting("Model", "", manifests, kind),
        setting("Network", "", manifests, network),
        setting("Latent dimensions", "latent", manifests, |m| m.latent.to_string()),
        setting("β (weight of the KL term)", "β", manifests, |m| if m.kind == ModelKind::Ae { "—".to_string() } else { short_number(m.training.beta) }),
        setting("Batch", "batch", manifests, |m| m.training.batch.to_string()),
        setting("Learning rate", "lr", manifests, |m| short_number(m.training.learning_rate)),
        setting("Seed", "seed", manifests, |m| m.training.seed.to_string()),
        setting("Epochs", "epochs", manifests, |m| m.training.epochs.to_string()),
        setting("Training images", "images", manifests, |m| m.training.train_images.to_string()),
        measurement("Training time (s)", manifests, |m| short_number(m.training.wall_time_seconds)),
        measurement("Held-out −ELBO (nats)", manifests, |m| short_number(m.test_metrics.neg_elbo)),
        measurement("Held-out reconstruction (nats)", manifests, |m| short_number(m.test_metrics.reconstruction)),
        measurement("Held-out KL (nats)", manifests, |m| short_number(m.test_metrics.kl)),
    ]
}

/// How far the held-out μ sit from the prior's centre: √(mean over images of ‖μ‖²), over
/// all `latent` dimensions. A strong KL term (large β) pulls the map in; without it the
/// map spreads out.
pub fn map_spread(means: &[f32], latent: usize) -> Option<f64> {
    let count = means.len().checked_div(latent)?;
    if count == 0 {
        return None;
    }
    let squares: f64 = means[..count * latent].iter().map(|&m| f64::from(m) * f64::from(m)).sum();
    Some((squares / count as f64).sqrt())
}

/// The held-out images to reconstruct with every compared model: the indices of the
/// first `count` whose class every model was trained on (`None`: all classes). Where the
/// models share no class, the first `count` images.
pub fn shared_examples(labels: &[u8], subsets: &[Option<&[u8]>], count: usize) -> Vec<usize> {
    let in_every = |label: u8| subsets.iter().all(|subset| subset.is_none_or(|classes| classes.contains(&label)));
    let shared: Vec<usize> = labels.iter().enumerate().filter(|&(_, &l)| in_every(l)).map(|(i, _)| i).take(count).collect();
    if shared.is_empty() {
        (0..count.min(labels.len())).collect()
    } else {
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::weights::{ArchitectureRecord, TestMetrics, TrainingRecord};

    fn manifest(beta: f64, seed: u64) -> Manifest {
        Manifest {
            name: format!("m{seed}"),
            dataset: "mnist".to_string(),
            kind: ModelKind::Vae,
            latent: 2,
            architecture: ArchitectureRecord {
                network: crate::core::spec::Architecture::Dense,
                description: String::new(),
                latent: 2,
                channels: 0,
                hidden: Some(512),
            },
            weights: "m.bpk".to_string(),
            precision: "f16".to_string(),
            sha256: String::new(),
            weight_bytes: 0,
            training: TrainingRecord {
                epochs: 3,
                batch: 128,
                learning_rate: 0.003,
                beta,
                seed,
                train_images: 12000,
                test_images: 1000,
                wall_time_seconds: 4.25,
                epoch_losses: Vec::new(),
            },
            test_metrics: TestMetrics { neg_elbo: 151.234, reconstruction: 145.0, kl: 6.234 },
            test_metrics_f32: None,
            class_names: (0..10).map(|d| d.to_string()).collect(),
            classes: Some(vec![0, 1]),
            latent_map: None,
            history: None,
            trained_in: None,
        }
    }

    #[test]
    fn only_differing_settings_are_marked() {
        let (a, b) = (manifest(0.1, 3), manifest(4.0, 3));
        let rows = comparison_rows(&[&a, &b]);
        let row = |label: &str| rows.iter().find(|r| r.label.starts_with(label)).unwrap().clone();
        assert_eq!(row("β").values, ["0.1", "4"]);
        assert!(row("β").differs);
        for same in ["Data", "Classes", "Model", "Network", "Latent", "Batch", "Learning rate", "Seed", "Epochs"] {
            assert!(!row(same).differs, "{same}");
        }
        assert_eq!(row("Classes").values[0], "0, 1");
        assert_eq!(row("Network").values[0], "dense, 512 hidden units");
        assert_eq!(row("Held-out −ELBO").values, ["151.2", "151.2"]);
        assert!(!row("Held-out −ELBO").differs, "measurements are not marked");
        let c = manifest(1.0, 7);
        assert!(comparison_rows(&[&a, &b, &c]).iter().find(|r| r.label == "Seed").unwrap().differs);
    }

    #[test]
    fn examples_are_of_classes_every_model_knows() {
        let labels = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6];
        assert_eq!(shared_examples(&labels, &[None, None], 3), [0, 1, 2]);
        assert_eq!(shared_examples(&labels, &[Some(&[0, 1]), None], 10), [2, 3, 5, 10]);
        assert_eq!(shared_examples(&labels, &[Some(&[0, 1]), Some(&[1, 4])], 10), [2, 5]);
        assert_eq!(shared_examples(&labels, &[Some(&[0]), Some(&[4])], 2), [0, 1], "no shared class: the first images");
        assert!(shared_examples(&[], &[None], 10).is_empty());
    }

    #[test]
    fn legends_name_the_differing_settings() {
        let (a, b) = (manifest(0.1, 3), manifest(4.0, 3));
        let titles = ["a model with a very long name indeed".to_string(), "short".to_string()];
        assert_eq!(legend_labels(&comparison_rows(&[&a, &b]), &titles), ["β 0.1", "β 4"]);
        assert_eq!(legend_labels(&comparison_rows(&[&a, &a]), &titles), ["a model with a very l…", "short"]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(0.003), "0.003");
        assert_eq!(short_number(4.0), "4");
        assert_eq!(short_number(151.234), "151.2");
        assert_eq!(short_number(12345.6), "12346");
        assert_eq!(short_number(f64::NAN), "—");
    }

    #[test]
    fn spread_is_the_root_mean_square_distance_from_the_centre() {
        // Two 2-D points at distances 3 and 4: √((9 + 16) / 2).
        let spread = map_spread(&[3.0, 0.0, 0.0, -4.0], 2).unwrap();
        assert!((spread - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(map_spread(&[], 2), None);
        assert_eq!(map_spread(&[1.0], 0), None);
    }
}

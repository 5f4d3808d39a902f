//! Lessons: comparisons the articles behind the project teach by, each a few lab runs that
//! differ in one setting, queued one after the other, and what to look for once they sit
//! side by side. Plain data, shared by the page and its tests.

use crate::core::catalogue::DatasetId;
use crate::core::spec::{Architecture, ModelKind};
use crate::lab::LabSettings;

/// One run of a lesson: its label in the queue and the comparison, and its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonRun {
    pub label: String,
    pub settings: LabSettings,
    /// Batches to train: the lesson's length, scaled for slower networks.
    pub steps: u64,
}

/// How long a lesson's runs train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// A few epochs of the dense network: seconds to a minute per run on a CPU.
    Short,
    /// Five times as long.
    Longer,
}

impl Length {
    /// Batches of 100 a dense run trains (300: 30,000 images, two and a half epochs of
    /// all ten digits).
    fn dense_steps(self) -> u64 {
        match self {
            Length::Short => 300,
            Length::Longer => 1500,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "short" => Some(Length::Short),
            "longer" => Some(Length::Longer),
            _ => None,
        }
    }
}

/// A short label for a run the person queues from the lab's form: what it trains, and
/// how ("dense VAE, 2-D, β 4, MNIST 0,1").
pub fn queued_label(settings: &LabSettings) -> String {
    let data = if settings.letters {
        "your letters".to_string()
    } else if settings.classes.is_empty() {
        settings.dataset.label().to_string()
    } else {
        let classes: Vec<String> = settings.classes.iter().map(u8::to_string).collect();
        format!("{} {}", settings.dataset.label(), classes.join(","))
    };
    let network = match settings.architecture {
        Architecture::Dense => "dense",
        Architecture::Conv => "conv",
    };
    let kind = match settings.kind {
        ModelKind::Vae => format!("VAE, β {}", settings.beta),
        ModelKind::Ae => "autoencoder".to_string(),
    };
    format!("{network} {kind}, {}-D, {data}, seed {}", settings.latent, settings.seed)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    /// Two sentences: what the runs differ in, and what to look for side by side.
    pub look_for: &'static str,
}

pub const LESSONS: [Lesson; 6] = [
    Lesson {
        id: "kl",
        title: "KL term off vs on",
        look_for: "Both runs are the same VAE; the first drops the KL term from its loss (β = 0), as in Méndez's post. \
                   Look at the held-out KL in the table and the spread of the maps: without the term the codes drift far \
                   from the prior's centre, so the grid, drawn from N(0, I), lands on few classes and blurs.",
    },
    Lesson {
        id: "beta",
        title: "β = 0.1, 1 and 4",
        look_for: "Three VAEs whose KL term is weighted 0.1, 1 and 4 (β-VAE). A larger β pulls the map in (its spread \
                   shrinks) and buys a smoother grid with blurrier reconstructions: compare the reconstruction and KL rows.",
    },
    Lesson {
        id: "ae",
        title: "Autoencoder vs VAE",
        look_for: "A plain autoencoder (one code per image, no noise, no KL term) beside a VAE, as in Foster's chapter. \
                   The autoencoder reconstructs as well or better, but its map has gaps and runs off in odd directions, so \
                   its grid shows shapes that are no digit; the VAE's map fills the plane its grid samples.",
    },
    Lesson {
        id: "subset",
        title: "All ten digits vs 0s and 1s",
        look_for: "The same dense VAE trained on every digit and on two of them, as the letters post trained on the vowels. \
                   With two classes the plane is shared by two shapes, so its grid morphs one into the other and its \
                   reconstructions are sharper; with ten, each class gets a corner.",
    },
    Lesson {
        id: "latent",
        title: "2-D vs 8-D",
        look_for: "The same VAE with a 2-D and an 8-D latent space. The 8-D one reconstructs better (more room for detail); \
                   its traversals, one row per dimension, show what each dimension changes, and a few rows change nothing: \
                   dimensions the KL term switched off.",
    },
    Lesson {
        id: "network",
        title: "Dense vs convolutional",
        look_for: "A dense network (784 → 512 → z) and a convolutional one, trained on the same images for the same \
                   batches. Compare the held-out −ELBO and the reconstructions' strokes; the convolutional run is slower \
                   on a CPU, so this lesson trains fewer batches.",
    },
];

impl Lesson {
    pub fn find(id: &str) -> Option<Lesson> {
        LESSONS.into_iter().find(|lesson| lesson.id == id)
    }

    /// The lesson's runs: the dense 2-D VAE on MNIST (β = 1, learning rate 0.001, batch
    /// 100, seed 42), with the one setting the lesson is about changed.
    pub fn runs(self, length: Length) -> Vec<LessonRun> {
        let base = LabSettings {
            dataset: DatasetId::Mnist,
            architecture: Architecture::Dense,
            learning_rate: 1e-3,
            batch: 100,
            seed: 42,
            ..LabSettings::default()
        };
        let steps = length.dense_steps();
        let run = |label: &str, change: &dyn Fn(&mut LabSettings)| {
            let mut settings = base.clone();
            change(&mut settings);
            // The convolutional network trains several times slower on a CPU.
            let steps = if settings.architecture == Architecture::Conv { steps / 3 } else { steps };
            LessonRun { label: label.to_string(), settings, steps }
        };
        match self.id {
            "kl" => vec![run("KL off (β = 0)", &|s| s.beta = 0.0), run("KL on (β = 1)", &|_| {})],
            "beta" => vec![run("β = 0.1", &|s| s.beta = 0.1), run("β = 1", &|_| {}), run("β = 4", &|s| s.beta = 4.0)],
            "ae" => vec![run("Autoencoder", &|s| s.kind = ModelKind::Ae), run("VAE", &|_| {})],
            "subset" => vec![run("All ten digits", &|_| {}), run("0s and 1s", &|s| s.classes = vec![0, 1])],
            "latent" => vec![run("2-D", &|_| {}), run("8-D", &|s| s.latent = 8)],
            "network" => {
                // Both train the convolutional run's number of batches.
                let mut runs = vec![run("Dense", &|_| {}), run("Convolutional", &|s| s.architecture = Architecture::Conv)];
                runs[0].steps = runs[1].steps;
                runs
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings that differ between a lesson's runs, by name.
    fn differing(runs: &[LessonRun]) -> Vec<&'static str> {
        let first = &runs[0].settings;
        let mut names = Vec::new();
        for run in &runs[1..] {
            let s = &run.settings;
            for (name, differs) in [
                ("dataset", s.dataset != first.dataset),
                ("classes", s.classes != first.classes),
                ("latent", s.latent != first.latent),
                ("arch", s.architecture != first.architecture),
                ("kind", s.kind != first.kind),
                ("beta", s.beta != first.beta),
                ("lr", s.learning_rate != first.learning_rate),
                ("batch", s.batch != first.batch),
                ("seed", s.seed != first.seed),
            ] {
                if differs && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    #[test]
    fn each_lesson_changes_one_setting_and_its_runs_are_valid() {
        let expected = [("kl", "beta"), ("beta", "beta"), ("ae", "kind"), ("subset", "classes"), ("latent", "latent"), ("network", "arch")];
        for (id, setting) in expected {
            let lesson = Lesson::find(id).unwrap();
            let runs = lesson.runs(Length::Short);
            assert!(runs.len() >= 2, "{id}");
            assert_eq!(differing(&runs), [setting], "{id}");
            for run in &runs {
                run.settings.validate().unwrap();
                assert!(run.steps >= 50, "{id}: {}", run.label);
            }
            let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
            assert!(labels.iter().all(|l| labels.iter().filter(|m| *m == l).count() == 1), "{id}: labels unique");
            assert!(lesson.look_for.matches(". ").count() >= 1, "{id}: says what to look for");
        }
        assert_eq!(LESSONS.len(), expected.len());
        assert!(Lesson::find("nope").is_none());
    }

    #[test]
    fn a_queued_run_is_labelled_by_what_it_trains() {
        let settings = LabSettings { classes: vec![0, 1], beta: 4.0, architecture: Architecture::Dense, ..LabSettings::default() };
        assert_eq!(queued_label(&settings), "dense VAE, β 4, 2-D, MNIST digits 0,1, seed 42");
        let settings = LabSettings { kind: ModelKind::Ae, latent: 8, ..LabSettings::default() };
        assert_eq!(queued_label(&settings), "conv autoencoder, 8-D, MNIST digits, seed 42");
    }

    #[test]
    fn longer_lessons_train_five_times_as_long_and_networks_compare_at_equal_batches() {
        let short = Lesson::find("beta").unwrap().runs(Length::Short);
        let longer = Lesson::find("beta").unwrap().runs(Length::Longer);
        assert!(short.iter().zip(&longer).all(|(s, l)| l.steps == 5 * s.steps));
        let networks = Lesson::find("network").unwrap().runs(Length::Short);
        assert_eq!(networks[0].steps, networks[1].steps);
        assert!(networks[1].steps < short[0].steps);
        assert_eq!(Length::parse("longer"), Some(Length::Longer));
        assert_eq!(Length::parse("forever"), None);
    }
}

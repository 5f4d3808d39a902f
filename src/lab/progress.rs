//! A lab run's bookkeeping, as plain code: the losses of each finished epoch, a running
//! mean of the training losses, the training speed, and what a non-finite loss means.
//! The worker keeps these per run; they are tested here, natively.

use std::collections::VecDeque;

use super::Losses;
use crate::core::weights::{LossSums, TestMetrics};

/// How far back the training speed looks, in milliseconds.
const RATE_WINDOW_MILLIS: f64 = 3000.0;
/// How much of the newest batch the running mean of the training losses takes.
const RUNNING_MEAN_WEIGHT: f64 = 0.1;

/// The mean losses of every finished epoch, and the sums of the one under way.
#[derive(Debug, Default)]
pub struct EpochLosses {
    current: LossSums,
    finished: Vec<TestMetrics>,
}

impl EpochLosses {
    /// Going on from a checkpoint: the epochs it had finished.
    pub fn resumed(finished: Vec<TestMetrics>) -> Self {
        Self { current: LossSums::default(), finished }
    }

    pub fn add(&mut self, reconstruction: f64, kl: f64, images: usize) {
        self.current.add(reconstruction, kl, images);
    }

    /// Closes the epoch under way (an epoch without a batch leaves no entry).
    pub fn end_epoch(&mut self) {
        if let Some(means) = std::mem::take(&mut self.current).means() {
            self.finished.push(means);
        }
    }

    pub fn finished(&self) -> &[TestMetrics] {
        &self.finished
    }
}

/// An exponential running mean of the training losses (the newest batch weighs 0.1),
/// its total with the β of the newest batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunningLosses(Option<Losses>);

impl RunningLosses {
    pub fn add(&mut self, reconstruction: f64, kl: f64, beta: f64) {
        let mix = |old: f64, new: f64| (1.0 - RUNNING_MEAN_WEIGHT) * old + RUNNING_MEAN_WEIGHT * new;
        self.0 = Some(match self.0 {
            None => Losses::new(reconstruction, kl, beta),
            Some(old) => Losses::new(mix(old.reconstruction, reconstruction), mix(old.kl, kl), beta),
        });
    }

    pub fn get(&self) -> Option<Losses> {
        self.0
    }
}

/// Training speed over the last few seconds: (time in ms, images) of recent steps.
#[derive(Debug, Default)]
pub struct Rates {
    recent: VecDeque<(f64, usize)>,
}

impl Rates {
    /// A step of `images` finished at `time` (ms).
    pub fn record(&mut self, time: f64, images: usize) {
        self.recent.push_back((time, images));
        while self.recent.len() > 2 && self.recent.front().is_some_and(|(t, _)| time - t > RATE_WINDOW_MILLIS) {
            self.recent.pop_front();
        }
    }

    /// Forgets the steps so far (after a move to another backend, whose speed differs).
    pub fn clear(&mut self) {
        self.recent.clear();
    }

    /// (images, steps) per second at `now` (ms), counted from the oldest step kept; 0 with
    /// fewer than two steps.
    pub fn per_second(&self, now: f64) -> (f64, f64) {
        let Some((start, _)) = self.recent.front() else { return (0.0, 0.0) };
        let images: usize = self.recent.iter().skip(1).map(|(_, n)| n).sum();
        let steps = self.recent.len() - 1;
        let elapsed = (now - start) / 1000.0;
        if elapsed > 0.0 {
            (images as f64 / elapsed, steps as f64 / elapsed)
        } else {
            (0.0, 0.0)
        }
    }
}

/// What a training step's losses, as read back, mean for the run.
#[derive(Debug, PartialEq)]
pub enum StepOutcome {
    /// Both finite: the step counts.
    Trained { reconstruction: f64, kl: f64 },
    /// Reading them failed on a device the run can leave (WebGPU, with a snapshot of the
    /// weights to go on from on the CPU).
    DeviceFailed(String),
    /// A loss is not finite (or could not be read, with nowhere to go): the run pauses
    /// with its last good weights, and says why.
    Diverged(String),
}

impl StepOutcome {
    /// Judges the read-back losses; `can_leave_device` when a failed read can move the run.
    pub fn judge(reconstruction: Result<f64, String>, kl: Result<f64, String>, can_leave_device: bool) -> Self {
        match (reconstruction, kl) {
            (Ok(r), Ok(k)) if r.is_finite() && k.is_finite() => Self::Trained { reconstruction: r, kl: k },
            (Err(e), _) | (_, Err(e)) if can_leave_device => Self::DeviceFailed(e),
            (Err(e), _) | (_, Err(e)) => Self::Diverged(format!("the backend failed ({e})")),
            (Ok(r), Ok(k)) => Self::Diverged(format!("the loss became {r} + {k}")),
        }
    }
}

/// What the lab says when a run pauses at `step` because `what` (see [`StepOutcome::Diverged`]).
pub fn diverged_message(step: u64, what: &str, learning_rate: f64) -> String {
    format!(
        "Training paused at step {step}: {what}. The weights from the last good step are kept. \
         The learning rate ({learning_rate}) is probably too high: try a lower one."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_is_the_mean_over_its_images() {
        let mut epochs = EpochLosses::default();
        epochs.end_epoch();
        assert!(epochs.finished().is_empty(), "an epoch without batches leaves nothing");
        epochs.add(100.0, 4.0, 50);
        epochs.add(200.0, 8.0, 150);
        epochs.end_epoch();
        epochs.add(90.0, 2.0, 10);
        epochs.end_epoch();
        let [first, second] = epochs.finished() else { panic!("two epochs: {:?}", epochs.finished()) };
        assert!((first.reconstruction - 175.0).abs() < 1e-9);
        assert!((first.kl - 7.0).abs() < 1e-9);
        assert!((first.neg_elbo - 182.0).abs() < 1e-9);
        assert!((second.reconstruction - 90.0).abs() < 1e-9);
    }

    #[test]
    fn the_running_mean_starts_at_the_first_batch_and_weighs_the_newest_a_tenth() {
        let mut running = RunningLosses::default();
        assert!(running.get().is_none());
        running.add(100.0, 10.0, 1.0);
        assert_eq!(running.get().unwrap().total, 110.0);
        running.add(200.0, 0.0, 2.0);
        let mean = running.get().unwrap();
        assert!((mean.reconstruction - 110.0).abs() < 1e-9);
        assert!((mean.kl - 9.0).abs() < 1e-9);
        assert!((mean.total - 128.0).abs() < 1e-9, "the total uses the newest β");
    }

    #[test]
    fn rates_count_the_steps_of_the_last_seconds() {
        let mut rates = Rates::default();
        assert_eq!(rates.per_second(1000.0), (0.0, 0.0));
        rates.record(0.0, 100);
        assert_eq!(rates.per_second(0.0), (0.0, 0.0));
        rates.record(500.0, 100);
        rates.record(1000.0, 100);
        // Two steps (200 images) in the second since the first was recorded.
        assert_eq!(rates.per_second(1000.0), (200.0, 2.0));
        // Steps older than three seconds drop out, but two are always kept.
        rates.record(10_000.0, 50);
        assert_eq!(rates.recent.len(), 2);
        assert_eq!(rates.per_second(10_000.0), (50.0 / 9.0, 1.0 / 9.0));
        rates.clear();
        assert_eq!(rates.per_second(20_000.0), (0.0, 0.0));
    }

    #[test]
    fn a_non_finite_loss_pauses_and_a_failed_read_moves_where_it_can() {
        assert_eq!(
            StepOutcome::judge(Ok(120.0), Ok(3.0), false),
            StepOutcome::Trained { reconstruction: 120.0, kl: 3.0 }
        );
        assert_eq!(
            StepOutcome::judge(Ok(f64::NAN), Ok(3.0), true),
            StepOutcome::Diverged("the loss became NaN + 3".to_string())
        );
        assert_eq!(
            StepOutcome::judge(Ok(1.0), Ok(f64::INFINITY), false),
            StepOutcome::Diverged("the loss became 1 + inf".to_string())
        );
        assert_eq!(
            StepOutcome::judge(Err("device lost".into()), Ok(1.0), true),
            StepOutcome::DeviceFailed("device lost".to_string())
        );
        assert_eq!(
            StepOutcome::judge(Ok(1.0), Err("device lost".into()), false),
            StepOutcome::Diverged("the backend failed (device lost)".to_string())
        );
        let message = diverged_message(7, "the loss became NaN + 3", 0.1);
        assert!(message.starts_with("Training paused at step 7: the loss became NaN + 3."), "{message}");
        assert!(message.contains("learning rate (0.1)"), "{message}");
    }
}

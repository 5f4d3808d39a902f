//! The compact binary files shipped beside each model, so the page can show the test
//! set without the dataset:
//!
//! - a **latent map** (`NAME.map.bin`): μ of the first test images, with their labels;
//! - a **training history** (`NAME.history.bin`): after every epoch (and before the
//!   first), the latent map of a smaller set of test images (2-D models only) and the
//!   decoded reconstructions of a few fixed test images, plus that epoch's losses.
//!
//! Both are little-endian, latent values in half precision, pixels as bytes.

use half::f16;

use crate::core::data::IMAGE_PIXELS;

const MAP_MAGIC: &[u8; 4] = b"LLM1";
const HISTORY_MAGIC: &[u8; 4] = b"LLH1";

/// Latent means of `labels.len()` images, `latent` values each, point by point.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentMap {
    pub latent: usize,
    pub means: Vec<f32>,
    pub labels: Vec<u8>,
}

/// One snapshot of the model during training.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSnapshot {
    /// 0 before training, then the number of epochs done.
    pub epoch: u32,
    /// Mean training −ELBO, reconstruction and KL of that epoch (NaN for epoch 0).
    pub train_losses: [f32; 3],
    /// μ of the history's map images (empty unless the latent space is 2-D).
    pub means: Vec<f32>,
    /// Reconstructions of the fixed images, 28×28 bytes each.
    pub reconstructions: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub latent: usize,
    /// Labels of the map images (empty unless the latent space is 2-D).
    pub map_labels: Vec<u8>,
    /// Test-set indices of the reconstructed images.
    pub reconstructed: Vec<u32>,
    pub snapshots: Vec<EpochSnapshot>,
}

#[derive(Debug, PartialEq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], FormatError> {
        let end = self.at.checked_add(count).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| {
            FormatError(format!(
                "{} file is truncated: {} bytes, needed more than {}",
                self.what,
                self.bytes.len(),
                self.at
            ))
        })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self, limit: usize) -> Result<usize, FormatError> {
        let value = self.u32()? as usize;
        if value > limit {
            return Err(FormatError(format!("{} file: count {value} is implausible", self.what)));
        }
        Ok(value)
    }

    fn halves(&mut self, count: usize) -> Result<Vec<f32>, FormatError> {
        Ok(self
            .take(count * 2)?
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect())
    }

    fn magic(&mut self, magic: &[u8; 4]) -> Result<(), FormatError> {
        if self.take(4)? != magic {
            return Err(FormatError(format!("not a latentlab {} file", self.what)));
        }
        Ok(())
    }

    fn finish(self) -> Result<(), FormatError> {
        if self.at != self.bytes.len() {
            return Err(FormatError(format!(
                "{} file has {} unexpected trailing bytes",
                self.what,
                self.bytes.len() - self.at
            )));
        }
        Ok(())
    }
}

fn push_halves(out: &mut Vec<u8>, values: &[f32]) {
    for v in values {
        out.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
    }
}

const MAX_COUNT: usize = 1 << 24;

impl LatentMap {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.means.len() * 2 + self.labels.len());
        out.extend_from_slice(MAP_MAGIC);
        out.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.latent as u32).to_le_bytes());
        push_halves(&mut out, &self.means);
        out.extend_from_slice(&self.labels);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader { bytes, at: 0, what: "latent map" };
        r.magic(MAP_MAGIC)?;
        let count = r.count(MAX_COUNT)?;
        let latent = r.count(4096)?;
        let means = r.halves(count * latent)?;
        let labels = r.take(count)?.to_vec();
        r.finish()?;
        Ok(Self { latent, means, labels })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

impl History {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(HISTORY_MAGIC);
        for v in [
            self.snapshots.len(),
            self.latent,
            self.map_labels.len(),
            self.reconstructed.len(),
        ] {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
        out.extend_from_slice(&self.map_labels);
        for index in &self.reconstructed {
            out.extend_from_slice(&index.to_le_bytes());
        }
        for snapshot in &self.snapshots {
            out.extend_from_slice(&snapshot.epoch.to_le_bytes());
            for loss in snapshot.train_losses {
                out.extend_from_slice(&loss.to_le_bytes());
            }
            push_halves(&mut out, &snapshot.means);
            out.extend_from_slice(&snapshot.reconstructions);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader { bytes, at: 0, what: "training history" };
        r.magic(HISTORY_MAGIC)?;
        let epochs = r.count(100_000)?;
        let latent = r.count(4096)?;
        let map_count = r.count(MAX_COUNT)?;
        let reconstructed_count = r.count(10_000)?;
        let map_labels = r.take(map_count)?.to_vec();
        let reconstructed = (0..reconstructed_count)
            .map(|_| r.u32())
            .collect::<Result<_, _>>()?;
        let mut snapshots = Vec::with_capacity(epochs);
        for _ in 0..epochs {
            let epoch = r.u32()?;
            let mut train_losses = [0.0f32; 3];
            for loss in &mut train_losses {
                *loss = f32::from_bits(r.u32()?);
            }
            let means = r.halves(map_count * latent)?;
            let reconstructions = r.take(reconstructed_count * IMAGE_PIXELS)?.to_vec();
            snapshots.push(EpochSnapshot {
                epoch,
                train_losses,
                means,
                reconstructions,
            });
        }
        r.finish()?;
        Ok(Self {
            latent,
            map_labels,
            reconstructed,
            snapshots,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latent_map_round_trips_in_half_precision() {
        let map = LatentMap {
            latent: 2,
            means: vec![0.5, -1.25, 3.0, 0.1],
            labels: vec![7, 2],
        };
        let bytes = map.to_bytes();
        assert_eq!(bytes.len(), 12 + 4 * 2 + 2);
        let back = LatentMap::from_bytes(&bytes).unwrap();
        assert_eq!(back.labels, map.labels);
        for (a, b) in back.means.iter().zip(&map.means) {
            assert!((a - b).abs() < 1e-3);
        }
    }

    #[test]
    fn history_round_trips() {
        let history = History {
            latent: 2,
            map_labels: vec![1, 2, 3],
            reconstructed: vec![0, 5],
            snapshots: (0..3)
                .map(|epoch| EpochSnapshot {
                    epoch,
                    train_losses: [epoch as f32, 2.0, f32::NAN],
                    means: vec![epoch as f32; 6],
                    reconstructions: vec![epoch as u8; 2 * IMAGE_PIXELS],
                })
                .collect(),
        };
        let back = History::from_bytes(&history.to_bytes()).unwrap();
        assert_eq!(back.snapshots.len(), 3);
        assert_eq!(back.reconstructed, vec![0, 5]);
        assert_eq!(back.map_labels, vec![1, 2, 3]);
        assert_eq!(back.snapshots[2].means, vec![2.0; 6]);
        assert!(back.snapshots[1].train_losses[2].is_nan());
        assert_eq!(back.snapshots[2].reconstructions, history.snapshots[2].reconstructions);
    }

    #[test]
    fn damaged_files_are_refused() {
        let map = LatentMap {
            latent: 2,
            means: vec![0.0; 4],
            labels: vec![0, 1],
        }
        .to_bytes();
        assert!(LatentMap::from_bytes(&map[..map.len() - 1]).unwrap_err().0.contains("truncated"));
        let mut longer = map.clone();
        longer.push(0);
        assert!(LatentMap::from_bytes(&longer).unwrap_err().0.contains("trailing"));
        assert!(LatentMap::from_bytes(b"LLH1").is_err());
        assert!(History::from_bytes(&map).unwrap_err().0.contains("not a latentlab"));
        let mut absurd = b"LLM1".to_vec();
        absurd.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(LatentMap::from_bytes(&absurd).unwrap_err().0.contains("implausible"));
    }
}

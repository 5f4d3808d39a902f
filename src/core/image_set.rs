//! The compact image sets the site ships for the training lab (`www/data/*.bin`), made
//! from the IDX files by `latentlab export-data`.
//!
//! A file is gzip over: magic `LLD1`, the image count (u32, little-endian), the number
//! of grey levels kept (u16: 256 = exact; fewer = pixels rounded to that many evenly
//! spaced levels, to fit the download budget), the labels (one byte each), then the
//! 28×28 pixels of every image, row by row.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::core::artifacts::FormatError;
use crate::core::data::IMAGE_PIXELS;

const MAGIC: &[u8; 4] = b"LLD1";
const HEADER_BYTES: usize = 10;
/// No shipped set is larger; a file that claims more is refused before anything is read.
pub const MAX_IMAGES: usize = 20_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// 256 when the pixels are exact.
    pub levels: u16,
    pub labels: Vec<u8>,
    /// 28×28 bytes per image, image by image.
    pub pixels: Vec<u8>,
}

impl ImageSet {
    /// The first `count` images of `pixels`/`labels`, their greys rounded to `levels`
    /// evenly spaced values (2 to 256).
    pub fn new(pixels: &[u8], labels: &[u8], count: usize, levels: u16) -> Self {
        let count = count.min(labels.len()).min(pixels.len() / IMAGE_PIXELS);
        let levels = levels.clamp(2, 256);
        let pixels = pixels[..count * IMAGE_PIXELS]
            .iter()
            .map(|&p| quantize(p, levels))
            .collect();
        Self {
            levels,
            labels: labels[..count].to_vec(),
            pixels,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut plain = Vec::with_capacity(HEADER_BYTES + self.labels.len() + self.pixels.len());
        plain.extend_from_slice(MAGIC);
        plain.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        plain.extend_from_slice(&self.levels.to_le_bytes());
        plain.extend_from_slice(&self.labels);
        plain.extend_from_slice(&self.pixels);
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&plain).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    }

    /// Reads a file made by [`ImageSet::to_bytes`]; anything else is refused in words,
    /// and nothing larger than [`MAX_IMAGES`] images is ever unpacked.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let limit = (HEADER_BYTES + MAX_IMAGES * (IMAGE_PIXELS + 1)) as u64;
        let mut plain = Vec::new();
        GzDecoder::new(bytes)
            .take(limit + 1)
            .read_to_end(&mut plain)
            .map_err(|e| FormatError(format!("image set: not a gzip file or damaged ({e})")))?;
        if plain.len() < HEADER_BYTES || &plain[..4] != MAGIC {
            return Err(FormatError("image set: not a latentlab image set (no LLD1 header)".into()));
        }
        let count = u32::from_le_bytes([plain[4], plain[5], plain[6], plain[7]]) as usize;
        let levels = u16::from_le_bytes([plain[8], plain[9]]);
        if count > MAX_IMAGES {
            return Err(FormatError(format!(
                "image set: claims {count} images; at most {MAX_IMAGES} are accepted"
            )));
        }
        if !(2..=256).contains(&levels) {
            return Err(FormatError(format!("image set: {levels} grey levels is not possible")));
        }
        let expected = HEADER_BYTES + count * (IMAGE_PIXELS + 1);
        if plain.len() != expected {
            return Err(FormatError(format!(
                "image set: {} bytes unpacked, {expected} expected for {count} images",
                plain.len()
            )));
        }
        let labels = plain[HEADER_BYTES..HEADER_BYTES + count].to_vec();
        let pixels = plain[HEADER_BYTES + count..].to_vec();
        Ok(Self { levels, labels, pixels })
    }
}

/// Rounds a grey (0–255) to the nearest of `levels` evenly spaced values.
fn quantize(grey: u8, levels: u16) -> u8 {
    if levels >= 256 {
        return grey;
    }
    let step = 255.0 / f32::from(levels - 1);
    ((f32::from(grey) / step).round() * step).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(count: usize) -> (Vec<u8>, Vec<u8>) {
        let pixels: Vec<u8> = (0..count * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        (pixels, labels)
    }

    #[test]
    fn exact_sets_round_trip() {
        let (pixels, labels) = sample(5);
        let set = ImageSet::new(&pixels, &labels, 3, 256);
        assert_eq!(set.len(), 3);
        assert_eq!(set.pixels, pixels[..3 * IMAGE_PIXELS]);
        assert_eq!(ImageSet::from_bytes(&set.to_bytes()).unwrap(), set);
    }

    #[test]
    fn quantized_sets_keep_only_their_levels() {
        let (pixels, labels) = sample(2);
        let set = ImageSet::new(&pixels, &labels, 2, 16);
        let mut values: Vec<u8> = set.pixels.clone();
        values.sort_unstable();
        values.dedup();
        assert!(values.len() <= 16, "{values:?}");
        assert!(values.contains(&0) && values.contains(&255));
        assert!(set.pixels.iter().zip(&pixels).all(|(q, p)| (*q as i32 - *p as i32).abs() <= 9));
    }

    #[test]
    fn damaged_and_foreign_files_are_refused_in_words() {
        let (pixels, labels) = sample(2);
        let bytes = ImageSet::new(&pixels, &labels, 2, 256).to_bytes();
        let truncated = ImageSet::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(truncated.0.contains("image set"), "{truncated}");
        let foreign = ImageSet::from_bytes(b"<html>not found</html>").unwrap_err();
        assert!(foreign.0.contains("gzip"), "{foreign}");
        let mut huge = Vec::from(*MAGIC);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&256u16.to_le_bytes());
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&huge).unwrap();
        let claim = ImageSet::from_bytes(&encoder.finish().unwrap()).unwrap_err();
        assert!(claim.0.contains("at most"), "{claim}");
    }
}

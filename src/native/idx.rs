//! Reader for the IDX files MNIST and Fashion-MNIST ship in (optionally gzip-compressed).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

const IMAGES_MAGIC: u32 = 2051;
const LABELS_MAGIC: u32 = 2049;

/// A set of greyscale images, `count` × `rows` × `cols` bytes, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl IdxImages {
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[index * size..(index + 1) * size]
    }
}

#[derive(Debug)]
pub struct IdxError {
    pub source_name: String,
    pub problem: String,
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_name, self.problem)
    }
}

impl std::error::Error for IdxError {}

fn error(source_name: &str, problem: impl Into<String>) -> IdxError {
    IdxError {
        source_name: source_name.to_string(),
        problem: problem.into(),
    }
}

fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    bytes
        .get(offset..offset + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the magic number of an IDX header with `dimensions` sizes and returns the
/// sizes and the body after the header.
fn read_header<'a>(
    bytes: &'a [u8],
    source_name: &str,
    magic: u32,
    kind: &str,
    dimensions: usize,
) -> Result<(Vec<usize>, &'a [u8]), IdxError> {
    let header_len = 4 * (1 + dimensions);
    if let Some(found) = read_u32(bytes, 0).filter(|&found| found != magic) {
        return Err(error(
            source_name,
            format!("magic number is {found}, expected {magic} for an IDX {kind} file"),
        ));
    }
    if bytes.len() < header_len {
        return Err(error(
            source_name,
            format!(
                "file is {} bytes long, too short for an IDX {kind} header ({header_len} bytes)",
                bytes.len()
            ),
        ));
    }
    let sizes = (0..dimensions)
        .map(|i| read_u32(bytes, 4 * (1 + i)).unwrap_or_default() as usize)
        .collect();
    Ok((sizes, &bytes[header_len..]))
}

/// Parses an uncompressed IDX image file (magic 2051). `source_name` names it in errors.
pub fn parse_images(bytes: &[u8], source_name: &str) -> Result<IdxImages, IdxError> {
    let (sizes, body) = read_header(bytes, source_name, IMAGES_MAGIC, "image", 3)?;
    let (count, rows, cols) = (sizes[0], sizes[1], sizes[2]);
    if rows == 0 || cols == 0 {
        return Err(error(source_name, format!("images are {rows}×{cols} pixels")));
    }
    let expected = count
        .checked_mul(rows * cols)
        .ok_or_else(|| error(source_name, "header sizes overflow"))?;
    if body.len() != expected {
        return Err(error(
            source_name,
            format!(
                "header promises {count} images of {rows}×{cols} = {expected} pixel bytes, \
                 but the file holds {} bytes after the header",
                body.len()
            ),
        ));
    }
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: body.to_vec(),
    })
}

/// Parses an uncompressed IDX label file (magic 2049).
pub fn parse_labels(bytes: &[u8], source_name: &str) -> Result<Vec<u8>, IdxError> {
    let (sizes, body) = read_header(bytes, source_name, LABELS_MAGIC, "label", 1)?;
    let count = sizes[0];
    if body.len() != count {
        return Err(error(
            source_name,
            format!(
                "header promises {count} labels, but the file holds {} bytes after the header",
                body.len()
            ),
        ));
    }
    Ok(body.to_vec())
}

/// Reads a whole file, gunzipping it when it starts with the gzip magic bytes.
pub fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>, IdxError> {
    let name = path.display().to_string();
    let raw = std::fs::read(path).map_err(|e| error(&name, format!("cannot read file: {e}")))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| error(&name, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// One split of a dataset: images with their labels.
#[derive(Debug, Clone)]
pub struct LabelledImages {
    pub images: IdxImages,
    pub labels: Vec<u8>,
}

/// The two splits, as in the MNIST distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Finds `{prefix}-{kind}-idx{n}-ubyte[.gz]` in `folder`.
fn locate(folder: &Path, stem: &str) -> Result<PathBuf, IdxError> {
    for candidate in [format!("{stem}.gz"), stem.to_string()] {
        let path = folder.join(candidate);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(error(
        &folder.join(format!("{stem}.gz")).display().to_string(),
        format!("missing: expected {stem}.gz or {stem} in {}", folder.display()),
    ))
}

/// Loads one split of an MNIST-format dataset from `folder`, checking that images
/// and labels agree.
pub fn load_split(folder: &Path, split: Split) -> Result<LabelledImages, IdxError> {
    let images_path = locate(folder, &format!("{}-images-idx3-ubyte", split.prefix()))?;
    let labels_path = locate(folder, &format!("{}-labels-idx1-ubyte", split.prefix()))?;
    let images = parse_images(
        &read_maybe_gzipped(&images_path)?,
        &images_path.display().to_string(),
    )?;
    let labels = parse_labels(
        &read_maybe_gzipped(&labels_path)?,
        &labels_path.display().to_string(),
    )?;
    if images.count != labels.len() {
        return Err(error(
            &labels_path.display().to_string(),
            format!(
                "{} labels for {} images in {}",
                labels.len(),
                images.count,
                images_path.display()
            ),
        ));
    }
    if let Some(bad) = labels.iter().find(|&&l| l > 9) {
        return Err(error(
            &labels_path.display().to_string(),
            format!("label {bad} is outside 0..=9"),
        ));
    }
    Ok(LabelledImages { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for v in [IMAGES_MAGIC, count, rows, cols] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        bytes.extend_from_slice(pixels);
        bytes
    }

    fn label_file(labels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        bytes.extend_from_slice(labels);
        bytes
    }

    #[test]
    fn parses_good_image_file() {
        let pixels: Vec<u8> = (0..2 * 3 * 2).map(|v| v as u8).collect();
        let images = parse_images(&image_file(2, 3, 2, &pixels), "x").unwrap();
        assert_eq!((images.count, images.rows, images.cols), (2, 3, 2));
        assert_eq!(images.image(1), &[6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn parses_good_label_file() {
        assert_eq!(parse_labels(&label_file(&[3, 1, 4]), "y").unwrap(), vec![3, 1, 4]);
    }

    #[test]
    fn rejects_wrong_magic_with_clear_message() {
        let err = parse_images(&label_file(&[1, 2]), "labels.idx").unwrap_err();
        assert!(err.to_string().contains("labels.idx"));
        assert!(err.to_string().contains("expected 2051"), "{err}");
        let err = parse_labels(&image_file(1, 1, 1, &[0]), "imgs").unwrap_err();
        assert!(err.to_string().contains("expected 2049"), "{err}");
    }

    #[test]
    fn rejects_truncated_files() {
        let err = parse_images(&[0, 0, 8], "short").unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        let mut file = image_file(2, 28, 28, &vec![0; 2 * 784]);
        file.truncate(file.len() - 1);
        let err = parse_images(&file, "cut").unwrap_err();
        assert!(err.to_string().contains("promises 2 images"), "{err}");
        let err = parse_labels(&label_file(&[1, 2, 3])[..10], "cut").unwrap_err();
        assert!(err.to_string().contains("promises 3 labels"), "{err}");
    }

    #[test]
    fn rejects_absurd_header() {
        let err = parse_images(&image_file(u32::MAX, u32::MAX, u32::MAX, &[]), "huge");
        assert!(err.is_err());
        let err = parse_images(&image_file(1, 0, 28, &[]), "flat").unwrap_err();
        assert!(err.to_string().contains("0×28"), "{err}");
    }

    #[test]
    fn loads_gzipped_split_and_checks_agreement() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("latentlab-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gz = |bytes: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        };
        std::fs::write(
            dir.join("t10k-images-idx3-ubyte.gz"),
            gz(&image_file(2, 2, 2, &[0, 1, 2, 3, 4, 5, 6, 7])),
        )
        .unwrap();
        std::fs::write(dir.join("t10k-labels-idx1-ubyte"), label_file(&[7, 9])).unwrap();
        let split = load_split(&dir, Split::Test).unwrap();
        assert_eq!(split.labels, vec![7, 9]);
        assert_eq!(split.images.image(1), &[4, 5, 6, 7]);

        let err = load_split(&dir, Split::Train).unwrap_err();
        assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");

        std::fs::write(dir.join("t10k-labels-idx1-ubyte"), label_file(&[7])).unwrap();
        let err = load_split(&dir, Split::Test).unwrap_err();
        assert!(err.to_string().contains("1 labels for 2 images"), "{err}");

        std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), b"\x1f\x8bnot gzip").unwrap();
        let err = load_split(&dir, Split::Test).unwrap_err();
        assert!(err.to_string().contains("corrupt gzip"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

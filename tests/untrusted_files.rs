//! Every file the page reads comes from the network or from a person's disk: weight
//! files, manifests, latent maps, histories, image sets, uploaded models, saved letter
//! sets. Each parser is fed thousands of truncated, bit-flipped and random files made from
//! real ones, and must answer with a value or an error: never a panic, and never an
//! allocation far beyond the file's own size (a header that claims a huge count must not
//! make one).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::prelude::*;
use latentlab::core::artifacts::{History, LatentMap};
use latentlab::core::image_set::ImageSet;
use latentlab::lab::LabSettings;
use latentlab::core::letters::LetterSet;
use latentlab::core::model::{Architecture, VaeConfig};
use latentlab::core::plane::parse_point;
use latentlab::core::weights;
use proptest::prelude::*;

/// Records the largest single allocation, so a test can bound what a parser asks for.
struct Watched;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Watched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Watched = Watched;

fn shipped(file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A damaged copy of `good`: cut short, bits flipped, or a 4-byte field overwritten with a
/// huge or odd number (where headers keep their counts and sizes).
fn damaged(good: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = good.len();
    prop_oneof![
        (0..len).prop_map({
            let good = good.clone();
            move |cut| good[..cut].to_vec()
        }),
        prop::collection::vec((0..len, 0u8..8), 1..8).prop_map({
            let good = good.clone();
            move |flips| {
                let mut bytes = good.clone();
                for (at, bit) in flips {
                    bytes[at] ^= 1 << bit;
                }
                bytes
            }
        }),
        (0..len.min(64).saturating_sub(4).max(1), prop_oneof![Just(u32::MAX), Just(0x7fff_ffff), Just(0), any::<u32>()])
            .prop_map(move |(at, value)| {
                let mut bytes = good.clone();
                if at + 4 <= bytes.len() {
                    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
                }
                bytes
            }),
    ]
}

/// A saved letter set of two drawings, as the workshop writes it.
fn letter_set_file() -> Vec<u8> {
    let mut set = LetterSet::new(280.0, 22.0);
    let bar: Vec<[f32; 2]> = (0..=20).map(|i| [140.0, 40.0 + 10.0 * i as f32]).collect();
    let hook: Vec<[f32; 2]> = (0..=20).map(|i| [60.0 + 8.0 * i as f32, 200.0 - 6.0 * i as f32]).collect();
    set.add('I', vec![bar]).unwrap();
    set.add('V', vec![hook]).unwrap();
    set.to_json().into_bytes()
}

fn random_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4096)
}

/// Runs `parse` and checks it asked for no single allocation over `limit` bytes.
fn bounded<T>(limit: usize, parse: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    LARGEST.store(0, Ordering::Relaxed);
    let value = parse();
    let largest = LARGEST.load(Ordering::Relaxed);
    prop_assert!(largest <= limit, "one allocation of {largest} bytes (limit {limit})");
    Ok(value)
}

/// The most a parser may allocate at once for an input of `len` bytes: the file unpacked
/// as f32s and then some, never a count read from a header.
fn limit_for(len: usize) -> usize {
    64 * len + (8 << 20)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn latent_maps(bytes in prop_oneof![damaged(shipped("models/mnist-vae-2d.map.bin")), random_bytes()]) {
        let len = bytes.len();
        if let Ok(map) = bounded(limit_for(len), || LatentMap::from_bytes(&bytes))? {
            prop_assert_eq!(map.means.len(), map.labels.len() * map.latent);
        }
    }

    #[test]
    fn histories(bytes in prop_oneof![damaged(shipped("models/mnist-vae-2d.history.bin")), random_bytes()]) {
        let len = bytes.len();
        let _ = bounded(limit_for(len), || History::from_bytes(&bytes))?;
    }

    #[test]
    fn image_sets(bytes in prop_oneof![damaged(shipped("data/mnist-heldout.bin")), random_bytes()]) {
        // Gzip may unpack far more than the file holds, but never more than the set's own
        // cap (plus the reader's buffers).
        let cap = 20_000 * 785 * 2 + (8 << 20);
        if let Ok(set) = bounded(cap, || ImageSet::from_bytes(&bytes))? {
            prop_assert_eq!(set.pixels.len(), set.labels.len() * 784);
        }
    }

    #[test]
    fn manifests(text in prop_oneof![
        damaged(shipped("models/mnist-dense-vae-2d.json")).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ".{0,300}",
    ]) {
        let _ = weights::parse_manifest(&text);
    }

    #[test]
    fn letter_sets(bytes in prop_oneof![damaged(letter_set_file()), random_bytes()]) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let len = text.len();
        if let Ok(set) = bounded(limit_for(len), || LetterSet::from_json(&text))? {
            prop_assert!(set.drawings.len() <= latentlab::core::letters::MAX_DRAWINGS);
            prop_assert_eq!(set.images().len(), set.drawings.len());
        }
    }

    #[test]
    fn lab_settings_and_points(text in prop_oneof![
        Just(r#"{"dataset": "mnist", "latent": 8, "arch": "dense", "classes": [1, 7], "beta": 2}"#.to_string()),
        r#"\{"(latent|arch|beta|batch|lr|classes|from|seed)": ("[a-z-]{0,20}"|-?[0-9e.]{1,30}|\[[0-9, ]{0,20}\]|null)\}"#,
        ".{0,200}",
    ]) {
        if let Ok(settings) = LabSettings::from_json(&text) {
            prop_assert!(settings.validate().is_ok());
        }
        if let Some(point) = parse_point(&text) {
            prop_assert!(point.iter().all(|v| v.is_finite()));
        }
    }
}

proptest! {
    // Loading weights builds a whole model per case: fewer cases.
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn weight_files(bytes in prop_oneof![
        damaged(shipped("models/mnist-vae-2d.bpk")),
        damaged(shipped("models/mnist-dense-vae-2d.bpk")),
        random_bytes(),
    ], dense in any::<bool>()) {
        let device = Device::flex();
        let architecture = if dense { Architecture::Dense } else { Architecture::Conv };
        let config = VaeConfig::new().with_architecture(architecture);
        let len = bytes.len();
        // The model itself (up to 0.8 M parameters) is allocated whatever the file.
        if let Ok(model) = bounded(limit_for(len) + (16 << 20), || weights::load_unchecked(&config, &bytes, &device))? {
            prop_assert_eq!(model.architecture(), architecture);
        }
    }
}

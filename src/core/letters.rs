//! The letters workshop's data: a person's own labelled drawings, saved to and loaded
//! from a JSON file, and turned into training images by augmentation (each drawing into
//! hundreds of slightly different ones), so a handful of drawings trains a 2-D VAE.

use serde::{Deserialize, Serialize};

use crate::core::augment::{Distortion, DistortionRange, SplitMix64};
use crate::core::data::{unit_to_byte, IMAGE_PIXELS};
use crate::core::preprocess::{check_drawing, Stroke};

/// The tag a letter set file starts with.
pub const FORMAT: &str = "latentlab-letters-1";
/// The letters the workshop suggests first: the vowels, as in the letters article.
pub const PRESET: [char; 5] = ['A', 'E', 'I', 'O', 'U'];
/// Drawings of each letter that make a good run.
pub const SUGGESTED_PER_LETTER: usize = 3;
/// Limits on a set, so a file cannot ask for unbounded work.
pub const MAX_DRAWINGS: usize = 200;
pub const MAX_LABELS: usize = 26;
pub const MAX_POINTS: usize = 4000;
pub const MAX_FILE_BYTES: usize = 8 << 20;
/// About how many augmented training images a run makes from a set, whatever its size.
pub const TRAINING_IMAGES: usize = 3000;

/// Augmented copies made of each of `drawings` drawings for a run.
pub fn copies_per_drawing(drawings: usize) -> usize {
    (TRAINING_IMAGES / drawings.max(1)).clamp(20, 400)
}

/// The share of points whose nearest other point (Euclidean, in `latent` dimensions)
/// carries the same label: 1 when every letter's drawings sit together. `None` with
/// fewer than two points.
pub fn nearest_neighbour_agreement(means: &[f32], labels: &[u8], latent: usize) -> Option<f64> {
    let count = labels.len().min(means.len() / latent.max(1));
    if count < 2 || latent == 0 {
        return None;
    }
    let point = |i: usize| &means[i * latent..(i + 1) * latent];
    let distance = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>();
    let agreeing = (0..count)
        .filter(|&i| {
            let nearest = (0..count)
                .filter(|&j| j != i)
                .min_by(|&a, &b| distance(point(i), point(a)).total_cmp(&distance(point(i), point(b))));
            nearest.is_some_and(|j| labels[j] == labels[i])
        })
        .count();
    Some(agreeing as f64 / count as f64)
}

/// One drawing and the character it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LetterDrawing {
    pub label: char,
    pub strokes: Vec<Stroke>,
}

/// A person's letters, drawn on a square pad of `pad` pixels with a brush `brush` wide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterSet {
    pub format: String,
    pub pad: f32,
    pub brush: f32,
    pub drawings: Vec<LetterDrawing>,
}

/// Images prepared for training: 28×28 bytes each, a label index into `class_names`.
#[derive(Debug, Clone, PartialEq)]
pub struct LetterImages {
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    pub class_names: Vec<String>,
}

impl LetterImages {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

fn check_label(label: char) -> Result<(), String> {
    if label.is_whitespace() || label.is_control() {
        return Err("a label is one visible character, such as A".to_string());
    }
    Ok(())
}

impl LetterSet {
    pub fn new(pad: f32, brush: f32) -> Self {
        Self { format: FORMAT.to_string(), pad, brush, drawings: Vec::new() }
    }

    /// Adds a drawing, if it is one (not empty, a dot or a slip at the edge) and the set
    /// has room for it.
    pub fn add(&mut self, label: char, strokes: Vec<Stroke>) -> Result<(), String> {
        check_label(label)?;
        if self.drawings.len() >= MAX_DRAWINGS {
            return Err(format!("the set is full: at most {MAX_DRAWINGS} drawings"));
        }
        if !self.labels().contains(&label) && self.labels().len() >= MAX_LABELS {
            return Err(format!("at most {MAX_LABELS} different letters"));
        }
        let drawing = LetterDrawing { label, strokes };
        self.check_drawing(&drawing)?;
        self.drawings.push(drawing);
        Ok(())
    }

    pub fn remove(&mut self, index: usize) {
        if index < self.drawings.len() {
            self.drawings.remove(index);
        }
    }

    pub fn relabel(&mut self, index: usize, label: char) -> Result<(), String> {
        check_label(label)?;
        let others: Vec<char> =
            self.drawings.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, d)| d.label).collect();
        if !others.contains(&label) && dedup_sorted(others).len() >= MAX_LABELS {
            return Err(format!("at most {MAX_LABELS} different letters"));
        }
        match self.drawings.get_mut(index) {
            Some(drawing) => {
                drawing.label = label;
                Ok(())
            }
            None => Err(format!("there is no drawing {}", index + 1)),
        }
    }

    /// The different labels, in order: label index i of the training images is `labels()[i]`.
    pub fn labels(&self) -> Vec<char> {
        dedup_sorted(self.drawings.iter().map(|d| d.label).collect())
    }

    /// How many drawings each label has.
    pub fn counts(&self) -> Vec<(char, usize)> {
        self.labels().into_iter().map(|l| (l, self.drawings.iter().filter(|d| d.label == l).count())).collect()
    }

    /// The next letter to draw: the first preset letter, then any label, with the fewest
    /// drawings below the suggested number; None once every one has enough.
    pub fn next_suggestion(&self) -> Option<char> {
        let mut candidates: Vec<char> = PRESET.to_vec();
        candidates.extend(self.labels().into_iter().filter(|l| !PRESET.contains(l)));
        let count = |label: char| self.drawings.iter().filter(|d| d.label == label).count();
        candidates
            .into_iter()
            .filter(|&l| count(l) < SUGGESTED_PER_LETTER)
            .min_by_key(|&l| count(l))
    }

    /// Whether the set can train a model, and why not in words.
    pub fn check_trainable(&self) -> Result<(), String> {
        if self.drawings.is_empty() {
            return Err("there are no letters yet: draw a few in the letters workshop (three of each vowel make a good run)".to_string());
        }
        Ok(())
    }

    /// Joins two tabs' edits: this set's changes since `base` (additions, removals and
    /// relabels) made on top of `theirs`, another tab's edit of the same `base`. A drawing
    /// is known by its strokes. A set drawn on another pad or brush (a loaded file) is not
    /// mixed with this one: the side that changed it wins.
    pub fn merged(&self, base: &LetterSet, theirs: &LetterSet) -> LetterSet {
        let same_pad = |a: &LetterSet, b: &LetterSet| a.pad == b.pad && a.brush == b.brush;
        if !same_pad(self, base) {
            return self.clone();
        }
        if !same_pad(theirs, base) {
            return theirs.clone();
        }
        let count = |set: &LetterSet, strokes: &Vec<Stroke>| set.drawings.iter().filter(|d| &d.strokes == strokes).count();
        let mut result = theirs.clone();
        let mut handled: Vec<&Vec<Stroke>> = Vec::new();
        for drawing in base.drawings.iter().chain(&self.drawings) {
            let strokes = &drawing.strokes;
            if handled.contains(&strokes) {
                continue;
            }
            handled.push(strokes);
            let (before, mine) = (count(base, strokes), count(self, strokes));
            if mine < before {
                for _ in mine..before {
                    if let Some(at) = result.drawings.iter().position(|d| &d.strokes == strokes) {
                        result.drawings.remove(at);
                    }
                }
            } else if mine > before {
                let label = drawing.label;
                for _ in before..mine {
                    result.drawings.push(LetterDrawing { label, strokes: strokes.clone() });
                }
            }
            let label_in = |set: &LetterSet| set.drawings.iter().find(|d| &d.strokes == strokes).map(|d| d.label);
            if let (Some(was), Some(now)) = (label_in(base), label_in(self)) {
                if was != now {
                    for d in result.drawings.iter_mut().filter(|d| &d.strokes == strokes) {
                        d.label = now;
                    }
                }
            }
        }
        result.drawings.truncate(MAX_DRAWINGS);
        result
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a saved set; anything else, or anything over the limits, is refused in words.
    pub fn from_json(text: &str) -> Result<Self, String> {
        if text.len() > MAX_FILE_BYTES {
            return Err(format!("the file is {} MB; a letter set is at most {} MB", text.len() >> 20, MAX_FILE_BYTES >> 20));
        }
        let set: LetterSet = serde_json::from_str(text).map_err(|e| format!("not a letter set ({e})"))?;
        if set.format != FORMAT {
            return Err(format!("not a letter set: its format is \"{}\", not \"{FORMAT}\"", set.format));
        }
        if !(set.pad.is_finite() && (50.0..=4000.0).contains(&set.pad)) || !(set.brush.is_finite() && (1.0..=200.0).contains(&set.brush)) {
            return Err("the set's pad or brush size is not possible".to_string());
        }
        if set.drawings.len() > MAX_DRAWINGS {
            return Err(format!("the set holds {} drawings; at most {MAX_DRAWINGS}", set.drawings.len()));
        }
        if set.labels().len() > MAX_LABELS {
            return Err(format!("the set holds {} different letters; at most {MAX_LABELS}", set.labels().len()));
        }
        for (index, drawing) in set.drawings.iter().enumerate() {
            check_label(drawing.label).and_then(|_| set.check_drawing(drawing)).map_err(|e| format!("drawing {}: {e}", index + 1))?;
        }
        Ok(set)
    }

    fn check_drawing(&self, drawing: &LetterDrawing) -> Result<(), String> {
        let points: usize = drawing.strokes.iter().map(Vec::len).sum();
        if points > MAX_POINTS {
            return Err(format!("{points} points; at most {MAX_POINTS}"));
        }
        if drawing.strokes.iter().flatten().any(|p| !(p[0].is_finite() && p[1].is_finite())) {
            return Err("a point is not a number".to_string());
        }
        check_drawing(&drawing.strokes, self.pad, self.brush).map_err(|e| e.to_string())
    }

    /// Every drawing as it was drawn, prepared as the model's input.
    pub fn images(&self) -> LetterImages {
        self.prepare(1, |_| Distortion::NONE)
    }

    /// `per_drawing` distorted copies of every drawing (small rotations, slants,
    /// stretches, shifts and pen widths), in order, seeded.
    pub fn training_images(&self, per_drawing: usize, seed: u64) -> LetterImages {
        let mut rng = SplitMix64::new(seed);
        self.prepare(per_drawing, move |_| Distortion::random(DistortionRange::HANDWRITING, &mut rng))
    }

    fn prepare(&self, copies: usize, mut distortion: impl FnMut(usize) -> Distortion) -> LetterImages {
        let labels = self.labels();
        let mut images = LetterImages {
            pixels: Vec::with_capacity(self.drawings.len() * copies * IMAGE_PIXELS),
            labels: Vec::with_capacity(self.drawings.len() * copies),
            class_names: labels.iter().map(char::to_string).collect(),
        };
        for drawing in &self.drawings {
            let Some(label) = labels.iter().position(|&l| l == drawing.label) else { continue };
            for copy in 0..copies {
                let Ok(image) = distortion(copy).render(&drawing.strokes, self.pad, self.brush) else { continue };
                images.pixels.extend(image.iter().copied().map(unit_to_byte));
                images.labels.push(label as u8);
            }
        }
        images
    }
}

fn dedup_sorted(mut labels: Vec<char>) -> Vec<char> {
    labels.sort_unstable();
    labels.dedup();
    labels
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_tabs_edits_of_one_set_are_joined() {
        let stroke = |x: f32| vec![vec![[x, 10.0], [x + 40.0, 90.0], [x + 80.0, 20.0]]];
        let mut base = LetterSet::new(280.0, 18.0);
        base.add('A', stroke(10.0)).unwrap();
        base.add('E', stroke(20.0)).unwrap();
        base.add('I', stroke(30.0)).unwrap();
        // This tab adds an O, drops the E and calls the I a U; the other adds a second A.
        let mut mine = base.clone();
        mine.add('O', stroke(40.0)).unwrap();
        mine.remove(1);
        mine.relabel(1, 'U').unwrap();
        let mut theirs = base.clone();
        theirs.add('A', stroke(50.0)).unwrap();
        let joined = mine.merged(&base, &theirs);
        let labels: Vec<char> = joined.drawings.iter().map(|d| d.label).collect();
        assert_eq!(labels, vec!['A', 'U', 'A', 'O']);
        // Joined again from either side, nothing changes.
        assert_eq!(joined.merged(&joined, &joined), joined);
        // The other tab, unchanged since its last write, takes the joined set as it is.
        assert_eq!(theirs.merged(&theirs, &joined), joined);
        // Unchanged here: theirs as it is.
        assert_eq!(base.merged(&base, &theirs), theirs);
    }

    #[test]
    fn a_set_from_another_pad_is_not_mixed_in() {
        let mut base = LetterSet::new(280.0, 18.0);
        base.add('A', vec![vec![[10.0, 10.0], [90.0, 90.0], [30.0, 60.0]]]).unwrap();
        let loaded = LetterSet::new(200.0, 12.0);
        let mut theirs = base.clone();
        theirs.add('B', vec![vec![[20.0, 10.0], [90.0, 80.0], [40.0, 60.0]]]).unwrap();
        assert_eq!(loaded.merged(&base, &theirs), loaded);
        assert_eq!(base.merged(&base, &loaded), loaded);
    }

    use super::*;

    fn bar() -> Vec<Stroke> {
        vec![(0..=20).map(|i| [140.0, 40.0 + 10.0 * i as f32]).collect()]
    }

    fn ring() -> Vec<Stroke> {
        vec![(0..=40)
            .map(|i| {
                let a = std::f32::consts::TAU * i as f32 / 40.0;
                [140.0 + 70.0 * a.cos(), 140.0 + 90.0 * a.sin()]
            })
            .collect()]
    }

    fn vowels() -> LetterSet {
        let mut set = LetterSet::new(280.0, 22.0);
        for _ in 0..3 {
            set.add('I', bar()).unwrap();
            set.add('O', ring()).unwrap();
        }
        set
    }

    #[test]
    fn nearest_neighbours_agree_when_letters_sit_together() {
        let together = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
        assert_eq!(nearest_neighbour_agreement(&together, &[0, 0, 1, 1], 2), Some(1.0));
        assert_eq!(nearest_neighbour_agreement(&together, &[0, 1, 0, 1], 2), Some(0.0));
        assert_eq!(nearest_neighbour_agreement(&together, &[0, 0, 0, 1], 2), Some(0.5));
        assert_eq!(nearest_neighbour_agreement(&[1.0, 2.0], &[0], 2), None);
        assert_eq!(copies_per_drawing(15), 200);
        assert_eq!(copies_per_drawing(1), 400);
        assert_eq!(copies_per_drawing(MAX_DRAWINGS), 20);
        assert!(LetterSet::new(280.0, 22.0).check_trainable().unwrap_err().contains("no letters"));
    }

    #[test]
    fn a_set_saves_and_loads_back_the_same() {
        let mut set = vowels();
        set.relabel(0, 'E').unwrap();
        set.remove(1);
        let text = set.to_json();
        assert!(text.contains(FORMAT));
        assert_eq!(LetterSet::from_json(&text).unwrap(), set);
        assert_eq!(set.counts(), vec![('E', 1), ('I', 2), ('O', 2)]);
    }

    #[test]
    fn bad_drawings_labels_and_files_are_refused_in_words() {
        let mut set = LetterSet::new(280.0, 22.0);
        assert!(set.add(' ', bar()).unwrap_err().contains("visible"));
        assert!(set.add('A', vec![vec![[140.0, 140.0]]]).unwrap_err().contains("dot"));
        assert!(set.add('A', vec![]).unwrap_err().contains("empty"));
        assert!(set.relabel(0, 'B').unwrap_err().contains("no drawing"));
        assert!(LetterSet::from_json("{").unwrap_err().contains("not a letter set"));
        assert!(LetterSet::from_json(r#"{"format": "x", "pad": 280, "brush": 22, "drawings": []}"#).unwrap_err().contains("format"));
        let two_chars = format!(r#"{{"format": "{FORMAT}", "pad": 280, "brush": 22, "drawings": [{{"label": "AB", "strokes": []}}]}}"#);
        assert!(LetterSet::from_json(&two_chars).is_err());
        let nan = format!(r#"{{"format": "{FORMAT}", "pad": 280, "brush": 22, "drawings": [{{"label": "A", "strokes": [[[1e40, 3]]]}}]}}"#);
        assert!(LetterSet::from_json(&nan).unwrap_err().contains("drawing 1"));
        let mut full = vowels();
        full.drawings = vec![full.drawings[0].clone(); MAX_DRAWINGS + 1];
        assert!(LetterSet::from_json(&full.to_json()).unwrap_err().contains("at most"));
        assert!(LetterSet::from_json(&" ".repeat(MAX_FILE_BYTES + 1)).unwrap_err().contains("MB"));
    }

    #[test]
    fn suggestions_start_with_the_vowels_and_stop_when_each_has_enough() {
        let mut set = LetterSet::new(280.0, 22.0);
        assert_eq!(set.next_suggestion(), Some('A'));
        set.add('A', ring()).unwrap();
        assert_eq!(set.next_suggestion(), Some('E'));
        for letter in PRESET {
            while set.counts().iter().find(|(l, _)| *l == letter).map_or(0, |c| c.1) < SUGGESTED_PER_LETTER {
                set.add(letter, ring()).unwrap();
            }
        }
        assert_eq!(set.next_suggestion(), None);
        set.add('Y', bar()).unwrap();
        assert_eq!(set.next_suggestion(), Some('Y'));
    }

    #[test]
    fn training_images_are_many_distorted_copies_whose_labels_follow_them() {
        let set = vowels();
        let images = set.training_images(40, 9);
        assert_eq!(images.len(), 6 * 40);
        assert_eq!(images.pixels.len(), images.len() * IMAGE_PIXELS);
        assert_eq!(images.class_names, vec!["I", "O"]);
        // An I is a bar and an O a ring: every image labelled I holds less ink than any
        // labelled O, so each label went with its own drawing's copies.
        let ink = |i: usize| images.pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS].iter().map(|&p| u32::from(p)).sum::<u32>();
        let most_i = (0..images.len()).filter(|&i| images.labels[i] == 0).map(ink).max().unwrap();
        let least_o = (0..images.len()).filter(|&i| images.labels[i] == 1).map(ink).min().unwrap();
        assert!(most_i < least_o, "{most_i} vs {least_o}");
        // The copies differ from one another, and the same seed gives the same images.
        let first: Vec<&[u8]> = images.pixels.chunks(IMAGE_PIXELS).take(40).collect();
        assert!(first.windows(2).all(|w| w[0] != w[1]));
        assert_eq!(set.training_images(40, 9), images);
        assert_ne!(set.training_images(40, 10), images);
        // The drawings themselves, undistorted, one each.
        assert_eq!(set.images().len(), 6);
    }
}

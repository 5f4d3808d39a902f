//! The native command line: `train` a model, `eval` the shipped ones.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use clap::{Parser, Subcommand};

use crate::core::model::{loss_terms, Architecture, ModelKind, VaeConfig};
use crate::native::idx::{load_split, LabelledImages, Split};
use crate::native::trainer::{self, prepare_split, Error, TrainOptions};
use crate::train::step::{new_optimizer, train_step, train_step_in_parts, train_step_with_noise, StepSettings, ADAM_EPSILON};
use burn::tensor::Distribution;
use crate::core::catalogue::{DatasetId, DEFAULT_MODEL};
use crate::core::data::{bytes_to_unit, pad_to_model_side, IMAGE_PIXELS};
use crate::core::image_set::ImageSet;
use crate::core::math::default_latent_grid;
use crate::core::model::Vae;
use crate::core::weights::{self, Manifest};
use crate::native::first_paint;
use crate::native::census::{count_per_class, nearest_neighbour_labels};

#[derive(Parser)]
#[command(name = "latentlab", about = "Train and evaluate latentlab's VAEs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a VAE and write its weights (f16) and manifest.
    Train(TrainOptions),
    /// Recompute the test metrics of every model in a folder and print them as a table.
    /// Fails when a weight file does not match its manifest.
    Eval {
        #[arg(long, default_value = "www/models")]
        models: PathBuf,
        #[arg(long, default_value = "../shared/data")]
        data_dir: PathBuf,
        #[arg(long)]
        test_limit: Option<usize>,
    },
    /// Write a model's decoder parameters as JSON (for the benchmark's TensorFlow.js peer).
    ExportDecoder {
        #[arg(long, default_value = "www/models/fashion-mnist-vae-2d.json")]
        manifest: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the page's first paint (www/first-paint.png): the default model's 15×15 grid,
    /// decoded from its shipped weights, which the HTML shows before the page's wasm runs.
    ExportFirstPaint {
        /// The model's manifest; by default the model the page opens with.
        #[arg(long)]
        manifest: Option<PathBuf>,
        #[arg(long, default_value = "www/first-paint.png")]
        out: PathBuf,
    },
    /// Write one training step, made repeatable, as JSON for the benchmark's TensorFlow.js
    /// training peer: a freshly initialised model's parameters, the first training images,
    /// the noise ε of the first batch, and the batch's loss before and after one Adam step.
    ExportTrainingCheck {
        #[arg(long, value_enum, default_value = "conv")]
        arch: Architecture,
        #[arg(long, default_value_t = 2)]
        latent: usize,
        #[arg(long, value_enum, default_value = "mnist")]
        dataset: DatasetId,
        /// Training images written (the peer's throughput runs cycle through them).
        #[arg(long, default_value_t = 1000)]
        images: usize,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 1.0)]
        beta: f32,
        #[arg(long, default_value_t = 1e-3)]
        learning_rate: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Training steps timed natively after the check (flex backend, all cores).
        #[arg(long, default_value_t = 20)]
        timed_steps: usize,
        #[arg(long, default_value = "../shared/data")]
        data_dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the training lab's compact image sets into www/data: per dataset, a training
    /// subset and the first test images as held-out set (see `image_set`).
    ExportData {
        #[arg(long, default_value = "../shared/data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "www/data")]
        out: PathBuf,
    },
    /// How well a model reads drawn digits: stroke digits in several styles, distorted,
    /// sized and placed on the pad as people draw them, prepared as the page prepares a
    /// drawing, then encoded; prints how often the nearest test encoding has the right
    /// label, beside the same figure for test images.
    ReadDrawings {
        #[arg(long, default_value = "www/models/mnist-vae-16d.json")]
        manifest: PathBuf,
        #[arg(long, default_value = "../shared/data")]
        data_dir: PathBuf,
        /// Drawings per style (22 styles).
        #[arg(long, default_value_t = 20)]
        per_style: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write the prepared drawings as one greyscale picture (PGM), a style per row.
        #[arg(long)]
        mosaic: Option<PathBuf>,
        /// Width of the pen at 28×28 (default: the page's).
        #[arg(long, default_value_t = crate::core::preprocess::PEN_WIDTH)]
        pen: f32,
    },
    /// Time decode, encode and a training step natively (CPU or GPU); prints JSON.
    Bench {
        #[arg(long, default_value = "www/models/fashion-mnist-vae-2d.json")]
        manifest: PathBuf,
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// `cpu`: burn's flex backend on every core; `wgpu`: burn's wgpu backend on the
        /// system's GPU (Vulkan, Metal or DX12; a build with feature `native-gpu`).
        #[arg(long, value_enum, default_value = "cpu")]
        backend: NativeBackend,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NativeBackend {
    Cpu,
    Wgpu,
}

pub fn main() {
    if let Err(error) = run(Cli::parse()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Train(options) => {
            let manifest = trainer::train(&options)?;
            let m = manifest.test_metrics;
            println!(
                "wrote {} ({} bytes, sha256 {}): test -ELBO {:.2} = recon {:.2} + KL {:.2} nats/image",
                options.out_dir.join(&manifest.weights).display(),
                manifest.weight_bytes,
                manifest.sha256,
                m.neg_elbo,
                m.reconstruction,
                m.kl
            );
            Ok(())
        }
        Command::Eval {
            models,
            data_dir,
            test_limit,
        } => evaluate_folder(&models, &data_dir, test_limit),
        Command::ExportDecoder { manifest, out } => {
            let (model, _) = load_shipped(&manifest, &Device::flex())?;
            let json = serde_json::to_string(&model.decoder.parameters()).map_err(|e| e.to_string())?;
            std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(())
        }
        Command::ExportFirstPaint { manifest, out } => {
            let manifest = manifest.unwrap_or_else(|| PathBuf::from(format!("www/models/{}.json", DEFAULT_MODEL.name())));
            let device = Device::flex();
            let (model, manifest) = load_shipped(&manifest, &device)?;
            let picture = first_paint::grid_picture(&model, &device)?;
            first_paint::write_png(&picture, &out)?;
            let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            println!("{}: the 15×15 grid of {} ({}×{} px, {bytes} bytes)", out.display(), manifest.name, picture.width, picture.height);
            Ok(())
        }
        Command::ExportTrainingCheck { arch, latent, dataset, images, batch, beta, learning_rate, seed, timed_steps, data_dir, out } => {
            let check = training_check(TrainingCheck { arch, latent, dataset, images, batch, beta, learning_rate, seed, timed_steps }, &data_dir)?;
            std::fs::write(&out, check.to_string()).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(())
        }
        Command::ExportData { data_dir, out } => export_data(&data_dir, &out),
        Command::ReadDrawings { manifest, data_dir, per_style, seed, mosaic, pen } => {
            read_drawings(&manifest, &data_dir, per_style, seed, mosaic.as_deref(), pen)
        }
        Command::Bench { manifest, runs, backend } => {
            let (device, adapter) = match backend {
                NativeBackend::Cpu => {
                    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                    (Device::flex(), format!("cpu ({threads} threads)"))
                }
                NativeBackend::Wgpu => native_gpu()?,
            };
            let (model, manifest) = load_shipped(&manifest, &device)?;
            let mut report = bench_native(&model, manifest.latent, runs.max(1), &device);
            report["adapter"] = adapter.into();
            println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
    }
}

struct TrainingCheck {
    arch: Architecture,
    latent: usize,
    dataset: DatasetId,
    images: usize,
    batch: usize,
    beta: f32,
    learning_rate: f64,
    seed: u64,
    timed_steps: usize,
}

/// One VAE training step with a given ε (see `Command::ExportTrainingCheck`), as JSON.
fn training_check(check: TrainingCheck, data_dir: &Path) -> Result<serde_json::Value, Error> {
    let device = Device::flex().autodiff();
    device.seed(check.seed);
    let model = VaeConfig::new().with_latent(check.latent).with_architecture(check.arch).init(&device);
    let parameters = model.parameters();
    let split = load_split(&data_dir.join(check.dataset.name()), Split::Train)?;
    if split.labels.len() < check.batch {
        return Err(format!("a batch of {} needs as many training images; the set has {}", check.batch, split.labels.len()).into());
    }
    let count = check.images.max(check.batch).min(split.labels.len());
    let prepared = prepare_split(&split, Some(count), &[]);
    let indices: Vec<usize> = (0..check.batch).collect();
    let (inputs, targets) = prepared.batch(&indices, &device);
    let noise = Tensor::<2>::random([check.batch, check.latent], Distribution::Normal(0.0, 1.0), &device);
    let settings = StepSettings { kind: ModelKind::Vae, beta: check.beta, learning_rate: check.learning_rate };
    let mut optimizer = new_optimizer();
    let (stepped, before) = train_step_with_noise(model, &mut optimizer, inputs.clone(), targets.clone(), noise.clone(), settings);
    let after = loss_terms(&stepped.forward_with_noise(inputs, noise.clone()), targets);
    let scalar = |t: Tensor<1>| t.into_scalar::<f32>();
    let before_kl = before.kl.map(scalar).unwrap_or(0.0);
    let after = (scalar(after.reconstruction), scalar(after.kl));
    // The trainer's own speed on the same images: batch, step, loss read back.
    let batches = count / check.batch;
    let (mut model, mut next_batch) = (Some(stepped), 1);
    let step_millis = timed(2, check.timed_steps, &mut || {
        let start = (next_batch % batches) * check.batch;
        next_batch += 1;
        let indices: Vec<usize> = (start..start + check.batch).collect();
        let (inputs, targets) = prepared.batch(&indices, &device);
        let (stepped, losses) = train_step(model.take().expect("the model is put back after each step"), &mut optimizer, inputs, targets, settings);
        scalar(losses.reconstruction);
        model = Some(stepped);
    });
    Ok(serde_json::json!({
        "architecture": check.arch.name(),
        "latent": check.latent,
        "dataset": check.dataset.name(),
        "batch": check.batch,
        "beta": check.beta,
        "learning_rate": check.learning_rate,
        "adam": { "beta1": 0.9, "beta2": 0.999, "epsilon": ADAM_EPSILON },
        "seed": check.seed,
        "parameters": parameters,
        "images": &split.images.pixels[..count * IMAGE_PIXELS],
        "noise": noise.into_data().iter::<f32>().collect::<Vec<f32>>(),
        "before": { "reconstruction": scalar(before.reconstruction), "kl": before_kl },
        "after": { "reconstruction": after.0, "kl": after.1 },
        "native_step_ms": step_millis,
        "native_threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
    }))
}

/// Training images per dataset, and the grey levels kept: Fashion-MNIST's 10,000 exact
/// images would be a 4.3 MB download, so its greys are rounded to 16 levels (2.0 MB).
const EXPORTED_SETS: [(DatasetId, usize, u16); 2] = [(DatasetId::Mnist, 10_000, 256), (DatasetId::FashionMnist, 10_000, 16)];
/// The lab's held-out images: the first test images (exact), as the shipped maps show.
const EXPORTED_HELDOUT: usize = 1000;

fn export_data(data_dir: &Path, out: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(out)?;
    for (dataset, train_count, levels) in EXPORTED_SETS {
        let folder = data_dir.join(dataset.name());
        for (split, count, levels, file) in [
            (Split::Train, train_count, levels, dataset.train_file()),
            (Split::Test, EXPORTED_HELDOUT, 256, dataset.heldout_file()),
        ] {
            let images = load_split(&folder, split)?;
            let set = ImageSet::new(&images.images.pixels, &images.labels, count, levels);
            let bytes = set.to_bytes();
            let name = Path::new(&file).file_name().ok_or("bad file name")?;
            std::fs::write(out.join(name), &bytes)?;
            println!("{}: {} images, {} grey levels, {} bytes", file, set.len(), set.levels, bytes.len());
        }
    }
    Ok(())
}

fn load_shipped(manifest_path: &Path, device: &Device) -> Result<(Vae, Manifest), Error> {
    let manifest = weights::parse_manifest(&std::fs::read_to_string(manifest_path)?)
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let weights_path = manifest_path.with_file_name(&manifest.weights);
    let bytes = std::fs::read(&weights_path).map_err(|e| format!("{}: {e}", weights_path.display()))?;
    let model = weights::load_model(&manifest, &bytes, device).map_err(|e| format!("{}: {e}", weights_path.display()))?;
    Ok((model, manifest))
}

/// burn's wgpu backend on the system's GPU, with the adapter's name and graphics API.
#[cfg(feature = "native-gpu")]
fn native_gpu() -> Result<(Device, String), Error> {
    let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| {
        format!("burn's wgpu backend found no usable GPU adapter ({e}); on Linux without a GPU, Mesa's lavapipe provides one: apt-get install mesa-vulkan-drivers")
    })?;
    let info = setup.adapter.get_info();
    Ok((device, format!("wgpu: {} ({:?}, {:?}, driver {})", info.name, info.backend, info.device_type, info.driver_info)))
}

#[cfg(not(feature = "native-gpu"))]
fn native_gpu() -> Result<(Device, String), Error> {
    Err("this build has no wgpu backend: build it with `cargo build --release --features native-gpu`".into())
}

/// Runs `work` `warmup` times, then `runs` times timed: the median, p10 and p90 in ms.
fn timed(warmup: usize, runs: usize, work: &mut dyn FnMut()) -> serde_json::Value {
    for _ in 0..warmup {
        work();
    }
    let mut millis: Vec<f64> = (0..runs)
        .map(|_| {
            let started = std::time::Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| millis[((millis.len() - 1) as f64 * q).round() as usize];
    serde_json::json!({ "median": at(0.5), "p10": at(0.1), "p90": at(0.9), "runs": runs })
}

/// Median, 10th and 90th percentile of `runs` timings (after warm-up runs) of single
/// decode, grid decode, single encode and a training step, in milliseconds.
fn bench_native(model: &Vae, latent: usize, runs: usize, device: &Device) -> serde_json::Value {
    let time = |work: &dyn Fn()| timed(5, runs, &mut || work());
    let threads = rayon::current_num_threads();
    let decode = |points: usize| {
        let z = Tensor::<2>::zeros([points, latent], device);
        let _: Vec<f32> = model.decode(z).into_data().iter::<f32>().collect();
    };
    let encode = || {
        let images = Tensor::<4>::zeros([1, 1, crate::core::model::MODEL_SIDE, crate::core::model::MODEL_SIDE], device);
        let (mean, _) = model.encode(images);
        let _: Vec<f32> = mean.into_data().iter::<f32>().collect();
    };
    serde_json::json!({
        "decode_single": time(&|| decode(1)),
        "decode_grid": time(&|| decode(225)),
        "encode_single": time(&encode),
        "train_step_conv_batch_100": time_training_step(Architecture::Conv, 1, runs, device),
        "train_step_dense_batch_100": time_training_step(Architecture::Dense, 1, runs, device),
        "train_step_conv_batch_100_in_parts": time_training_step(Architecture::Conv, threads, runs, device),
        "train_step_dense_batch_100_in_parts": time_training_step(Architecture::Dense, threads, runs, device),
        "threads": threads,
    })
}

/// One training step of a 2-D VAE at the lab's batch of 100 (images of uniform noise: the
/// time does not depend on the pixels) split into `parts`, the loss read back.
fn time_training_step(architecture: Architecture, parts: usize, runs: usize, device: &Device) -> serde_json::Value {
    let device = device.clone().autodiff();
    let batch = 100;
    let mut model = Some(VaeConfig::new().with_architecture(architecture).init(&device));
    let mut optimizer = new_optimizer();
    let settings = StepSettings { kind: ModelKind::Vae, beta: 1.0, learning_rate: 1e-3 };
    let side = crate::core::model::MODEL_SIDE;
    let inputs = Tensor::<4>::random([batch, 1, side, side], Distribution::Uniform(0.0, 1.0), &device);
    let targets = crate::core::model::crop_to_image(inputs.clone());
    timed(2, runs, &mut || {
        let current = model.take().expect("the model is put back after each step");
        let (stepped, losses) = train_step_in_parts(current, &mut optimizer, inputs.clone(), targets.clone(), settings, parts);
        losses.reconstruction.into_scalar::<f32>();
        model = Some(stepped);
    })
}

fn evaluate_folder(models: &Path, data_dir: &Path, test_limit: Option<usize>) -> Result<(), Error> {
    let mut manifests: Vec<(PathBuf, Manifest)> = Vec::new();
    for entry in std::fs::read_dir(models)
        .map_err(|e| format!("cannot list {}: {e}", models.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let manifest = weights::parse_manifest(&std::fs::read_to_string(&path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            manifests.push((path, manifest));
        }
    }
    manifests.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    if manifests.is_empty() {
        return Err(format!("no model manifests (*.json) in {}", models.display()).into());
    }
    let device = Device::flex();
    println!(
        "| model | dataset | kind | latent | weights | test images | −ELBO | reconstruction | KL | manifest says −ELBO | classes on the grid |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (path, manifest) in manifests {
        let weights_path = path.with_file_name(&manifest.weights);
        let bytes = std::fs::read(&weights_path)
            .map_err(|e| format!("{}: {e}", weights_path.display()))?;
        let model = weights::load_model(&manifest, &bytes, &device)
            .map_err(|e| format!("{}: {e}", weights_path.display()))?;
        let dataset_folder = data_dir.join(&manifest.dataset);
        let classes = manifest.classes.clone().unwrap_or_default();
        let test = prepare_split(
            &load_split(&dataset_folder, Split::Test)?,
            test_limit,
            &classes,
        );
        let kind = manifest.kind;
        let m = trainer::evaluate(&model, kind, &test, manifest.training.seed, &device)?;
        let train = load_split(&dataset_folder, Split::Train)?;
        let grid_classes = grid_classes(&model, &manifest, &train, &device);
        println!(
            "| {} | {} | {} | {} | {:.0} KB {} | {} | {} | {:.2} | {} | {} | {} |",
            manifest.name,
            manifest.dataset,
            manifest.kind.name(),
            manifest.latent,
            bytes.len() as f64 / 1024.0,
            manifest.precision,
            test.len(),
            vae_only(kind, m.neg_elbo),
            m.reconstruction,
            vae_only(kind, m.kl),
            vae_only(kind, manifest.test_metrics.neg_elbo),
            grid_classes
        );
    }
    Ok(())
}

/// For a 2-D model: how many classes the 15×15 grid shows, read by a 5-nearest-neighbour
/// classifier on the pixels of the training images, and the class with fewest cells.
fn grid_classes(model: &Vae, manifest: &Manifest, train: &LabelledImages, device: &Device) -> String {
    if manifest.latent != 2 {
        return "—".to_string();
    }
    let points: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
    let count = points.len() / 2;
    let z = Tensor::<2>::from_data(TensorData::new(points, [count, 2]), device);
    let decoded: Vec<f32> = model.decode(z).into_data().iter::<f32>().collect();
    let references = bytes_to_unit(&train.images.pixels);
    let labels = nearest_neighbour_labels(&references, &train.labels, &decoded, IMAGE_PIXELS, 5);
    let cells = count_per_class(&labels);
    let present = cells.iter().filter(|&&c| c > 0).count();
    let (fewest, cells_of_fewest) = cells
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .min_by_key(|(_, &c)| c)
        .map_or((0, 0), |(class, &c)| (class, c));
    let name = manifest.class_names.get(fewest).map_or("?", String::as_str);
    format!("{present} (fewest: {name}, {cells_of_fewest} cells)")
}

/// Test images whose encodings the others are read against.
const READ_REFERENCES: std::ops::Range<usize> = 1000..10_000;
/// Test images read like the drawings, for the figure to compare with.
const READ_TEST_QUERIES: usize = 1000;

fn read_drawings(
    manifest_path: &Path,
    data_dir: &Path,
    per_style: usize,
    seed: u64,
    mosaic: Option<&Path>,
    pen: f32,
) -> Result<(), Error> {
    use crate::core::preprocess::{bounds, strokes_to_mnist_with_pen, PAD_BRUSH, PAD_SIDE};
    let device = Device::flex();
    let (model, manifest) = load_shipped(manifest_path, &device)?;
    if manifest.dataset != DatasetId::Mnist.name() {
        return Err(format!("{} is not an MNIST model: drawn digits need one", manifest.name).into());
    }
    let test = load_split(&data_dir.join(&manifest.dataset), Split::Test)?;
    let test_images = bytes_to_unit(&test.images.pixels);
    let encode = |images: &[f32]| -> Vec<f32> {
        let mut means = Vec::new();
        for chunk in images.chunks(500 * IMAGE_PIXELS) {
            let padded: Vec<f32> = chunk.chunks_exact(IMAGE_PIXELS).flat_map(pad_to_model_side).collect();
            let side = crate::core::model::MODEL_SIDE;
            let inputs = Tensor::<4>::from_data(TensorData::new(padded, [chunk.len() / IMAGE_PIXELS, 1, side, side]), &device);
            let (mean, _) = model.encode(inputs);
            means.extend(mean.into_data().iter::<f32>());
        }
        means
    };
    let latent = manifest.latent;
    let references = encode(&test_images[READ_REFERENCES.start * IMAGE_PIXELS..READ_REFERENCES.end * IMAGE_PIXELS]);
    let reference_labels = &test.labels[READ_REFERENCES];
    // For each query, the label of the nearest reference encoding.
    let read_as = |queries: &[f32]| nearest_neighbour_labels(&references, reference_labels, queries, latent, 1);
    let is_right = |read: &[u8], labels: &[u8]| -> Vec<bool> { read.iter().zip(labels).map(|(got, want)| got == want).collect() };
    let share = |right: &[bool], keep: &dyn Fn(usize) -> bool| -> (usize, usize) {
        let kept: Vec<bool> = right.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, &r)| r).collect();
        (kept.iter().filter(|&&r| r).count(), kept.len())
    };
    let mean_ink = |images: &[f32]| images.iter().map(|&v| f64::from(v)).sum::<f64>() / (images.len() / IMAGE_PIXELS).max(1) as f64;

    let test_queries = &test_images[..READ_TEST_QUERIES * IMAGE_PIXELS];
    let test_labels = &test.labels[..READ_TEST_QUERIES];
    let test_right = is_right(&read_as(&encode(test_queries)), test_labels);
    let test_share = share(&test_right, &|_| true);
    let test_agreement = test_share.0 as f64 / test_share.1 as f64;

    let drawings = crate::native::stroke_digits::drawings(per_style, PAD_SIDE, seed);
    let labels: Vec<u8> = drawings.iter().map(|(label, _)| *label).collect();
    let mut sizes = Vec::new();
    let mut with_pen = Vec::new();
    let mut with_brush = Vec::new();
    for (label, strokes) in &drawings {
        let (low, high) = bounds(strokes.iter().flatten()).ok_or("an empty drawing")?;
        let extent = (high[0] - low[0]).max(high[1] - low[1]);
        sizes.push(extent / PAD_SIDE);
        with_pen.extend(strokes_to_mnist_with_pen(strokes, PAD_SIDE, PAD_BRUSH, pen).map_err(|e| format!("a drawn {label}: {e}"))?);
        // What scaling a drawing made with the pad's fixed brush gave: a pen whose width
        // at 28×28 shrinks as the drawing grows.
        let scaled_brush = PAD_BRUSH * crate::core::preprocess::INK_BOX as f32 / (extent + PAD_BRUSH);
        with_brush.extend(strokes_to_mnist_with_pen(strokes, PAD_SIDE, PAD_BRUSH, scaled_brush).map_err(|e| format!("a drawn {label}: {e}"))?);
    }
    if let Some(path) = mosaic {
        let (rgba, width, height) = crate::core::mosaic::tile_greyscale(&with_pen, crate::core::model::IMAGE_SIDE, per_style.max(1));
        let mut pgm = format!("P5\n{width} {height}\n255\n").into_bytes();
        pgm.extend(rgba.chunks_exact(4).map(|px| px[0]));
        std::fs::write(path, pgm).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let pen_read = read_as(&encode(&with_pen));
    let pen_right = is_right(&pen_read, &labels);
    let brush_right = is_right(&read_as(&encode(&with_brush)), &labels);

    println!(
        "Reading with {} ({latent}-D): the label of the nearest encoding among test images {}–{}.\n",
        manifest.name,
        READ_REFERENCES.start,
        READ_REFERENCES.end - 1
    );
    println!("| images | count | right label | ÷ test images | mean ink per image |");
    println!("| --- | --- | --- | --- | --- |");
    println!("| MNIST test images 0–{} | {} | {test_agreement:.3} | 1.00 | {:.1} |", READ_TEST_QUERIES - 1, test_share.1, mean_ink(test_queries));
    for (name, right, images) in [
        (format!("drawn digits, pen {pen} px wide (the page)"), &pen_right, &with_pen),
        ("drawn digits, pad brush scaled with the drawing (before)".to_string(), &brush_right, &with_brush),
    ] {
        let (hits, count) = share(right, &|_| true);
        let agreement = hits as f64 / count as f64;
        println!("| {name} | {count} | {agreement:.3} | {:.2} | {:.1} |", agreement / test_agreement, mean_ink(images));
    }
    let fraction = |(hits, count): (usize, usize)| format!("{hits}/{count}");
    println!("\n| drawn digits | pen (the page) | scaled brush (before) | the page's misses read as |");
    println!("| --- | --- | --- | --- |");
    for (name, low, high) in [("small (20–40% of the pad)", 0.0, 0.4), ("medium (40–60%)", 0.4, 0.6), ("large (60–80%)", 0.6, 1.0)] {
        let keep = |i: usize| (low..high).contains(&sizes[i]);
        println!("| {name} | {} | {} | |", fraction(share(&pen_right, &keep)), fraction(share(&brush_right, &keep)));
    }
    for digit in 0..10u8 {
        let keep = |i: usize| labels[i] == digit;
        let mut misses = [0usize; 10];
        for (i, &read) in pen_read.iter().enumerate() {
            if keep(i) && read != digit {
                misses[usize::from(read % 10)] += 1;
            }
        }
        let mut most: Vec<(usize, usize)> = misses.iter().copied().enumerate().filter(|(_, n)| *n > 0).collect();
        most.sort_by(|a, b| b.1.cmp(&a.1));
        let misses: Vec<String> = most.iter().take(3).map(|(label, n)| format!("{label} ×{n}")).collect();
        println!(
            "| {digit}s | {} | {} | {} |",
            fraction(share(&pen_right, &keep)),
            fraction(share(&brush_right, &keep)),
            misses.join(", ")
        );
    }
    Ok(())
}

/// A plain autoencoder has no ELBO: its rows show the reconstruction alone.
fn vae_only(kind: ModelKind, value: f64) -> String {
    match kind {
        ModelKind::Vae => format!("{value:.2}"),
        ModelKind::Ae => "—".to_string(),
    }
}

//! The VAE, shared by the native trainer and the web page, in two architectures.
//!
//! Convolutional (Generative Deep Learning, ch. 3): 28×28 images padded to 32×32;
//! encoder conv 32/64/128 (3×3, stride 2, ReLU) → dense to μ and log σ²;
//! decoder dense → 4×4×128 → transposed conv 128/64/32 (stride 2, ReLU) → conv 1.
//!
//! Dense (the letters article's network): the 784 pixels → 512 (ReLU) → μ and log σ²;
//! decoder z → 512 (ReLU) → 784.
//!
//! The decoder outputs logits for the 28×28 image; `decode` applies the sigmoid.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::Distribution;

pub use crate::core::spec::{gaussian_kl, Architecture, ModelKind, IMAGE_PADDING, IMAGE_SIDE, MODEL_SIDE};

/// Side of the smallest feature map, after three stride-2 convolutions.
const BOTTLENECK_SIDE: usize = MODEL_SIDE / 8;

#[derive(Config, Debug)]
pub struct VaeConfig {
    /// Size of the latent space.
    #[config(default = 2)]
    pub latent: usize,
    #[config(default = "Architecture::Conv")]
    pub architecture: Architecture,
    /// Convolutional: channels of the first convolution; the next two have twice and four
    /// times as many.
    #[config(default = 32)]
    pub channels: usize,
    /// Dense: units of the hidden layer on each side.
    #[config(default = 512)]
    pub hidden: usize,
}

// Each architecture's layers are optional fields of one encoder and one decoder rather
// than variants of a module enum: burn puts an enum variant's name into every parameter
// path, which would change the keys of the convolutional weight files already shipped,
// while an `Option` field keeps its plain name.

#[derive(Module, Debug)]
pub struct Encoder {
    /// Convolutional only.
    conv1: Option<Conv2d>,
    conv2: Option<Conv2d>,
    conv3: Option<Conv2d>,
    /// Dense only: the 784 pixels → hidden units.
    hidden: Option<Linear>,
    to_mean: Linear,
    to_log_var: Linear,
    activation: Relu,
}

#[derive(Module, Debug)]
pub struct Decoder {
    /// Convolutional: z → the 4×4 bottleneck; dense: z → hidden units.
    from_latent: Linear,
    /// Convolutional only.
    up1: Option<ConvTranspose2d>,
    up2: Option<ConvTranspose2d>,
    up3: Option<ConvTranspose2d>,
    to_pixels: Option<Conv2d>,
    /// Dense only: hidden units → 784 pixel logits.
    hidden_to_pixels: Option<Linear>,
    activation: Relu,
    bottleneck_channels: usize,
}

#[derive(Module, Debug)]
pub struct Vae {
    pub encoder: Encoder,
    pub decoder: Decoder,
}

/// What one pass through the VAE produces for a batch.
pub struct VaeOutput {
    /// Decoder logits for the 28×28 image: [batch, 1, 28, 28].
    pub logits: Tensor<4>,
    pub mean: Tensor<2>,
    pub log_var: Tensor<2>,
}

impl VaeConfig {
    pub fn init(&self, device: &Device) -> Vae {
        match self.architecture {
            Architecture::Conv => self.init_conv(device),
            Architecture::Dense => self.init_dense(device),
        }
    }

    fn init_conv(&self, device: &Device) -> Vae {
        let c = [self.channels, self.channels * 2, self.channels * 4];
        let flat = c[2] * BOTTLENECK_SIDE * BOTTLENECK_SIDE;
        let down = |input: usize, output: usize| {
            Conv2dConfig::new([input, output], [3, 3])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        // (in − 1)·2 − 2·1 + 3 + 1 = 2·in: each layer doubles the side.
        let up = |input: usize, output: usize| {
            ConvTranspose2dConfig::new([input, output], [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device)
        };
        Vae {
            encoder: Encoder {
                conv1: Some(down(1, c[0])),
                conv2: Some(down(c[0], c[1])),
                conv3: Some(down(c[1], c[2])),
                hidden: None,
                to_mean: LinearConfig::new(flat, self.latent).init(device),
                to_log_var: LinearConfig::new(flat, self.latent).init(device),
                activation: Relu::new(),
            },
            decoder: Decoder {
                from_latent: LinearConfig::new(self.latent, flat).init(device),
                up1: Some(up(c[2], c[2])),
                up2: Some(up(c[2], c[1])),
                up3: Some(up(c[1], c[0])),
                to_pixels: Some(
                    Conv2dConfig::new([c[0], 1], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device),
                ),
                hidden_to_pixels: None,
                activation: Relu::new(),
                bottleneck_channels: c[2],
            },
        }
    }

    fn init_dense(&self, device: &Device) -> Vae {
        let pixels = IMAGE_SIDE * IMAGE_SIDE;
        Vae {
            encoder: Encoder {
                conv1: None,
                conv2: None,
                conv3: None,
                hidden: Some(LinearConfig::new(pixels, self.hidden).init(device)),
                to_mean: LinearConfig::new(self.hidden, self.latent).init(device),
                to_log_var: LinearConfig::new(self.hidden, self.latent).init(device),
                activation: Relu::new(),
            },
            decoder: Decoder {
                from_latent: LinearConfig::new(self.latent, self.hidden).init(device),
                up1: None,
                up2: None,
                up3: None,
                to_pixels: None,
                hidden_to_pixels: Some(LinearConfig::new(self.hidden, pixels).init(device)),
                activation: Relu::new(),
                bottleneck_channels: 0,
            },
        }
    }
}

/// One parameter tensor, by name, in burn's layout, as f32 values.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NamedArray {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

fn named<const D: usize>(name: &str, tensor: Tensor<D>) -> NamedArray {
    let shape = tensor.dims().to_vec();
    NamedArray {
        name: name.to_string(),
        shape,
        values: tensor.into_data().iter::<f32>().collect(),
    }
}

/// A layer's weight and bias, as `name.weight` and `name.bias`.
fn layer<const D: usize>(arrays: &mut Vec<NamedArray>, name: &str, weight: Tensor<D>, bias: Option<Tensor<1>>) {
    arrays.push(named(&format!("{name}.weight"), weight));
    if let Some(bias) = bias {
        arrays.push(named(&format!("{name}.bias"), bias));
    }
}

fn linear(arrays: &mut Vec<NamedArray>, name: &str, dense: &Linear) {
    layer(arrays, name, dense.weight.val(), dense.bias.as_ref().map(|b| b.val()));
}

fn conv(arrays: &mut Vec<NamedArray>, name: &str, conv: &Option<Conv2d>) {
    if let Some(conv) = conv {
        layer(arrays, name, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()));
    }
}

impl Decoder {
    /// The decoder's parameters, for running the same decoder elsewhere (the benchmark's
    /// TensorFlow.js peer). Layouts as burn keeps them: dense weight [in, out],
    /// transposed convolution [in, out, kh, kw], convolution [out, in, kh, kw].
    pub fn parameters(&self) -> Vec<NamedArray> {
        let mut arrays = Vec::new();
        linear(&mut arrays, "dense", &self.from_latent);
        for (name, up) in [("up1", &self.up1), ("up2", &self.up2), ("up3", &self.up3)] {
            if let Some(up) = up {
                layer(&mut arrays, name, up.weight.val(), up.bias.as_ref().map(|b| b.val()));
            }
        }
        conv(&mut arrays, "to_pixels", &self.to_pixels);
        if let Some(to_pixels) = &self.hidden_to_pixels {
            linear(&mut arrays, "hidden_to_pixels", to_pixels);
        }
        arrays
    }

    /// Which architecture these layers make.
    pub fn architecture(&self) -> Architecture {
        if self.hidden_to_pixels.is_some() {
            Architecture::Dense
        } else {
            Architecture::Conv
        }
    }
}

impl Encoder {
    /// The encoder's parameters, in the layouts of [`Decoder::parameters`].
    pub fn parameters(&self) -> Vec<NamedArray> {
        let mut arrays = Vec::new();
        conv(&mut arrays, "conv1", &self.conv1);
        conv(&mut arrays, "conv2", &self.conv2);
        conv(&mut arrays, "conv3", &self.conv3);
        if let Some(hidden) = &self.hidden {
            linear(&mut arrays, "hidden", hidden);
        }
        linear(&mut arrays, "to_mean", &self.to_mean);
        linear(&mut arrays, "to_log_var", &self.to_log_var);
        arrays
    }

    /// Images [batch, 1, 32, 32] in [0, 1] → (μ, log σ²), each [batch, latent].
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let features: Tensor<2> = match &self.hidden {
            Some(hidden) => {
                let pixels: Tensor<2> = crop_to_image(images).flatten(1, 3);
                self.activation.forward(hidden.forward(pixels))
            }
            None => {
                let mut x = images;
                for conv in [&self.conv1, &self.conv2, &self.conv3].into_iter().flatten() {
                    x = self.activation.forward(conv.forward(x));
                }
                x.flatten(1, 3)
            }
        };
        (self.to_mean.forward(features.clone()), self.to_log_var.forward(features))
    }
}

impl Decoder {
    /// Latent points [batch, latent] → logits [batch, 1, 28, 28].
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [batch, _] = z.dims();
        let x = self.from_latent.forward(z);
        if let Some(to_pixels) = &self.hidden_to_pixels {
            return to_pixels
                .forward(self.activation.forward(x))
                .reshape([batch, 1, IMAGE_SIDE, IMAGE_SIDE]);
        }
        let mut x = x.reshape([batch, self.bottleneck_channels, BOTTLENECK_SIDE, BOTTLENECK_SIDE]);
        for up in [&self.up1, &self.up2, &self.up3].into_iter().flatten() {
            x = self.activation.forward(up.forward(x));
        }
        if let Some(to_pixels) = &self.to_pixels {
            x = to_pixels.forward(x);
        }
        crop_to_image(x)
    }
}

impl Vae {
    /// Encodes, samples z = μ + σ·ε with ε ~ N(0, I), and decodes.
    pub fn forward(&self, images: Tensor<4>) -> VaeOutput {
        let [batch, ..] = images.dims();
        let noise = self.draw_noise(batch, &images.device());
        self.forward_with_noise(images, noise)
    }

    /// The noise ε ~ N(0, I) [batch, latent] that [`Vae::forward`] draws.
    pub fn draw_noise(&self, batch: usize, device: &Device) -> Tensor<2> {
        let latent = self.encoder.to_mean.weight.dims()[1];
        Tensor::random([batch, latent], Distribution::Normal(0.0, 1.0), device)
    }

    /// [`Vae::forward`] with the noise ε [batch, latent] given: z = μ + σ·ε.
    pub fn forward_with_noise(&self, images: Tensor<4>, noise: Tensor<2>) -> VaeOutput {
        let (mean, log_var) = self.encoder.forward(images);
        let z = mean.clone() + (log_var.clone() * 0.5).exp() * noise;
        VaeOutput {
            logits: self.decoder.forward(z),
            mean,
            log_var,
        }
    }

    /// Encodes and decodes the mean z = μ, without sampling: how a plain autoencoder runs,
    /// and how a VAE reconstructs for display.
    pub fn forward_mean(&self, images: Tensor<4>) -> VaeOutput {
        let (mean, log_var) = self.encoder.forward(images);
        VaeOutput {
            logits: self.decoder.forward(mean.clone()),
            mean,
            log_var,
        }
    }

    /// Images [batch, 1, 32, 32] in [0, 1] → (μ, log σ²), each [batch, latent].
    pub fn encode(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        self.encoder.forward(images)
    }

    /// Latent points [batch, latent] → pixel values in [0, 1], [batch, 1, 28, 28].
    pub fn decode(&self, z: Tensor<2>) -> Tensor<4> {
        sigmoid(self.decoder.forward(z))
    }

    pub fn architecture(&self) -> Architecture {
        self.decoder.architecture()
    }

    /// All parameters, named `encoder.…` and `decoder.…` (see [`Decoder::parameters`]).
    pub fn parameters(&self) -> Vec<NamedArray> {
        fn prefixed(part: &'static str, arrays: Vec<NamedArray>) -> impl Iterator<Item = NamedArray> {
            arrays.into_iter().map(move |a| NamedArray { name: format!("{part}.{}", a.name), ..a })
        }
        prefixed("encoder", self.encoder.parameters())
            .chain(prefixed("decoder", self.decoder.parameters()))
            .collect()
    }
}

impl ModelKind {
    /// The training pass: a VAE samples z, an autoencoder decodes z = μ.
    pub fn forward(self, model: &Vae, images: Tensor<4>) -> VaeOutput {
        match self {
            ModelKind::Vae => model.forward(images),
            ModelKind::Ae => model.forward_mean(images),
        }
    }
}

/// Cuts the 28×28 image out of the centre of a 32×32 model-side tensor.
pub fn crop_to_image(x: Tensor<4>) -> Tensor<4> {
    let [batch, channels, _, _] = x.dims();
    let range = IMAGE_PADDING..IMAGE_PADDING + IMAGE_SIDE;
    x.slice([0..batch, 0..channels, range.clone(), range])
}

/// The terms of the negative ELBO, each summed over the image and averaged over the batch.
pub struct LossTerms {
    /// Σ over the 784 pixels of binary cross-entropy against the greyscale targets.
    pub reconstruction: Tensor<1>,
    /// KL(q(z|x) ‖ N(0, I)).
    pub kl: Tensor<1>,
}

/// Computes the reconstruction and KL terms from logits (stably, without a sigmoid).
/// `targets` are the 28×28 images in [0, 1]: [batch, 1, 28, 28].
pub fn loss_terms(output: &VaeOutput, targets: Tensor<4>) -> LossTerms {
    let logits = output.logits.clone();
    let [batch, ..] = logits.dims();
    // BCE(x, t) = max(x, 0) − x·t + log(1 + e^−|x|)
    let bce = logits.clone().clamp_min(0.0) - logits.clone() * targets
        + logits.abs().neg().exp().log1p();
    let reconstruction = bce.sum() / batch as f32;
    let mean = output.mean.clone();
    let log_var = output.log_var.clone();
    let kl = (log_var.clone().exp() + mean.square() - log_var - 1.0).sum() * 0.5
        / batch as f32;
    LossTerms { reconstruction, kl }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_flow_through_encoder_and_decoder_of_both_architectures() {
        let device = Device::flex();
        for architecture in Architecture::ALL {
            let model = VaeConfig::new().with_latent(3).with_architecture(architecture).init(&device);
            assert_eq!(model.architecture(), architecture);
            let images = Tensor::<4>::zeros([2, 1, MODEL_SIDE, MODEL_SIDE], &device);
            let output = model.forward(images);
            assert_eq!(output.logits.dims(), [2, 1, IMAGE_SIDE, IMAGE_SIDE]);
            assert_eq!(output.mean.dims(), [2, 3]);
            assert_eq!(output.log_var.dims(), [2, 3]);
            let decoded = model.decode(Tensor::zeros([5, 3], &device));
            assert_eq!(decoded.dims(), [5, 1, IMAGE_SIDE, IMAGE_SIDE]);
        }
    }

    #[test]
    fn zero_noise_decodes_the_mean() {
        let device = Device::flex();
        let model = VaeConfig::new().with_channels(4).init(&device);
        let images = Tensor::<4>::random([3, 1, MODEL_SIDE, MODEL_SIDE], Distribution::Uniform(0.0, 1.0), &device);
        let sampled = model.forward_with_noise(images.clone(), Tensor::zeros([3, 2], &device)).logits;
        let mean = model.forward_mean(images).logits;
        let largest: f32 = (sampled - mean).abs().max().into_scalar();
        assert!(largest < 1e-6, "{largest}");
    }

    #[test]
    fn parameters_name_every_weight_once_in_both_architectures() {
        let device = Device::flex();
        for architecture in Architecture::ALL {
            let model = VaeConfig::new().with_architecture(architecture).init(&device);
            let arrays = model.parameters();
            let values: usize = arrays.iter().map(|a| a.values.len()).sum();
            assert_eq!(values, model.num_params(), "{architecture:?}");
            for array in &arrays {
                assert_eq!(array.values.len(), array.shape.iter().product::<usize>(), "{}", array.name);
                assert!(array.name.starts_with("encoder.") || array.name.starts_with("decoder."), "{}", array.name);
            }
            let mut names: Vec<&str> = arrays.iter().map(|a| a.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), arrays.len(), "{architecture:?}: a name is repeated");
        }
    }

    #[test]
    fn the_dense_network_has_the_articles_layers() {
        let device = Device::flex();
        let dense = VaeConfig::new().with_architecture(Architecture::Dense).init(&device);
        // 784·512 + 512 + 2·(512·2 + 2) + 2·512 + 512 + 512·784 + 784
        assert_eq!(dense.num_params(), 2 * 784 * 512 + 512 + 2 * 1026 + 1024 + 512 + 784);
    }

    #[test]
    fn loss_terms_match_closed_form() {
        let device = Device::flex();
        // Logits 0 everywhere: BCE is ln 2 per pixel whatever the target.
        let output = VaeOutput {
            logits: Tensor::zeros([2, 1, IMAGE_SIDE, IMAGE_SIDE], &device),
            mean: Tensor::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0], [2, 2]), &device),
            log_var: Tensor::zeros([2, 2], &device),
        };
        let targets = Tensor::full([2, 1, IMAGE_SIDE, IMAGE_SIDE], 0.3, &device);
        let terms = loss_terms(&output, targets);
        let reconstruction: f32 = terms.reconstruction.into_scalar();
        let kl: f32 = terms.kl.into_scalar();
        assert!((reconstruction - 784.0 * std::f32::consts::LN_2).abs() < 1e-2);
        // KL = ½ Σ μ² per image with σ = 1: (½·1 + ½·4) / 2 images.
        assert!((kl - 1.25).abs() < 1e-5, "{kl}");
    }

    #[test]
    fn the_plain_kl_is_the_tensor_kl() {
        let device = Device::flex();
        let (means, log_vars) = (vec![0.5f32, -1.0, 2.0, 0.0], vec![-0.5f32, 0.3, 0.0, -2.0]);
        let output = VaeOutput {
            logits: Tensor::zeros([2, 1, IMAGE_SIDE, IMAGE_SIDE], &device),
            mean: Tensor::from_data(TensorData::new(means.clone(), [2, 2]), &device),
            log_var: Tensor::from_data(TensorData::new(log_vars.clone(), [2, 2]), &device),
        };
        let targets = Tensor::zeros([2, 1, IMAGE_SIDE, IMAGE_SIDE], &device);
        let tensor_kl: f32 = loss_terms(&output, targets).kl.into_scalar();
        let plain_kl = means.iter().zip(&log_vars).map(|(&m, &v)| gaussian_kl(m, v)).sum::<f64>() / 2.0;
        assert!((f64::from(tensor_kl) - plain_kl).abs() < 1e-5, "{tensor_kl} vs {plain_kl}");
    }
}

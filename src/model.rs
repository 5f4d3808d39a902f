//! The convolutional VAE, shared by the native trainer and the web page.
//!
//! Architecture (Generative Deep Learning, ch. 3): 28×28 images padded to 32×32;
//! encoder conv 32/64/128 (3×3, stride 2, ReLU) → dense to μ and log σ²;
//! decoder dense → 4×4×128 → transposed conv 128/64/32 (stride 2, ReLU) → conv 1.
//! The decoder outputs logits; `decode` applies the sigmoid and crops back to 28×28.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::Distribution;

/// Side of the images in the datasets.
pub const IMAGE_SIDE: usize = 28;
/// Side of the images the network works on (28 padded by 2 on every side).
pub const MODEL_SIDE: usize = 32;
pub const IMAGE_PADDING: usize = (MODEL_SIDE - IMAGE_SIDE) / 2;
/// Side of the smallest feature map, after three stride-2 convolutions.
const BOTTLENECK_SIDE: usize = MODEL_SIDE / 8;

#[derive(Config, Debug)]
pub struct VaeConfig {
    /// Size of the latent space.
    #[config(default = 2)]
    pub latent: usize,
    /// Channels of the first convolution; the next two have twice and four times as many.
    #[config(default = 32)]
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct Encoder {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    to_mean: Linear,
    to_log_var: Linear,
    activation: Relu,
}

#[derive(Module, Debug)]
pub struct Decoder {
    from_latent: Linear,
    up1: ConvTranspose2d,
    up2: ConvTranspose2d,
    up3: ConvTranspose2d,
    to_pixels: Conv2d,
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
    /// Decoder logits at the model's 32×32 resolution: [batch, 1, 32, 32].
    pub logits: Tensor<4>,
    pub mean: Tensor<2>,
    pub log_var: Tensor<2>,
}

impl VaeConfig {
    pub fn init(&self, device: &Device) -> Vae {
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
                conv1: down(1, c[0]),
                conv2: down(c[0], c[1]),
                conv3: down(c[1], c[2]),
                to_mean: LinearConfig::new(flat, self.latent).init(device),
                to_log_var: LinearConfig::new(flat, self.latent).init(device),
                activation: Relu::new(),
            },
            decoder: Decoder {
                from_latent: LinearConfig::new(self.latent, flat).init(device),
                up1: up(c[2], c[2]),
                up2: up(c[2], c[1]),
                up3: up(c[1], c[0]),
                to_pixels: Conv2dConfig::new([c[0], 1], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device),
                activation: Relu::new(),
                bottleneck_channels: c[2],
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

impl Decoder {
    /// The decoder's parameters, for running the same decoder elsewhere (the benchmark's
    /// TensorFlow.js peer). Layouts as burn keeps them: dense weight [in, out],
    /// transposed convolution [in, out, kh, kw], convolution [out, in, kh, kw].
    pub fn parameters(&self) -> Vec<NamedArray> {
        let mut arrays = vec![named("dense.weight", self.from_latent.weight.val())];
        if let Some(bias) = &self.from_latent.bias {
            arrays.push(named("dense.bias", bias.val()));
        }
        for (name, layer) in [("up1", &self.up1), ("up2", &self.up2), ("up3", &self.up3)] {
            arrays.push(named(&format!("{name}.weight"), layer.weight.val()));
            if let Some(bias) = &layer.bias {
                arrays.push(named(&format!("{name}.bias"), bias.val()));
            }
        }
        arrays.push(named("to_pixels.weight", self.to_pixels.weight.val()));
        if let Some(bias) = &self.to_pixels.bias {
            arrays.push(named("to_pixels.bias", bias.val()));
        }
        arrays
    }
}

impl Encoder {
    /// Images [batch, 1, 32, 32] in [0, 1] → (μ, log σ²), each [batch, latent].
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let x = self.activation.forward(self.conv1.forward(images));
        let x = self.activation.forward(self.conv2.forward(x));
        let x = self.activation.forward(self.conv3.forward(x));
        let x: Tensor<2> = x.flatten(1, 3);
        (self.to_mean.forward(x.clone()), self.to_log_var.forward(x))
    }
}

impl Decoder {
    /// Latent points [batch, latent] → logits [batch, 1, 32, 32].
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [batch, _] = z.dims();
        let x = self.from_latent.forward(z).reshape([
            batch,
            self.bottleneck_channels,
            BOTTLENECK_SIDE,
            BOTTLENECK_SIDE,
        ]);
        let x = self.activation.forward(self.up1.forward(x));
        let x = self.activation.forward(self.up2.forward(x));
        let x = self.activation.forward(self.up3.forward(x));
        self.to_pixels.forward(x)
    }
}

impl Vae {
    /// Encodes, samples z = μ + σ·ε with ε ~ N(0, I), and decodes.
    pub fn forward(&self, images: Tensor<4>) -> VaeOutput {
        let (mean, log_var) = self.encoder.forward(images);
        let noise = Tensor::random(mean.dims(), Distribution::Normal(0.0, 1.0), &mean.device());
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

    /// Latent points [batch, latent] → pixel values in [0, 1], [batch, 1, 28, 28].
    pub fn decode(&self, z: Tensor<2>) -> Tensor<4> {
        sigmoid(crop_to_image(self.decoder.forward(z)))
    }
}

/// A VAE, or a plain autoencoder: the same network trained without the KL term and
/// without sampling (z = μ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Vae,
    Ae,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Vae => "vae",
            ModelKind::Ae => "ae",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "vae" => Some(ModelKind::Vae),
            "ae" => Some(ModelKind::Ae),
            _ => None,
        }
    }

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
    let logits = crop_to_image(output.logits.clone());
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
    fn shapes_flow_through_encoder_and_decoder() {
        let device = Device::flex();
        let model = VaeConfig::new().with_latent(3).init(&device);
        let images = Tensor::<4>::zeros([2, 1, MODEL_SIDE, MODEL_SIDE], &device);
        let output = model.forward(images);
        assert_eq!(output.logits.dims(), [2, 1, MODEL_SIDE, MODEL_SIDE]);
        assert_eq!(output.mean.dims(), [2, 3]);
        assert_eq!(output.log_var.dims(), [2, 3]);
        let decoded = model.decode(Tensor::zeros([5, 3], &device));
        assert_eq!(decoded.dims(), [5, 1, IMAGE_SIDE, IMAGE_SIDE]);
    }

    #[test]
    fn loss_terms_match_closed_form() {
        let device = Device::flex();
        // Logits 0 everywhere: BCE is ln 2 per pixel whatever the target.
        let output = VaeOutput {
            logits: Tensor::zeros([2, 1, MODEL_SIDE, MODEL_SIDE], &device),
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
}

//! What a model is, in plain values, for every build (the page's UI among them, which has no
//! burn): the image sides, the network's architecture, VAE or autoencoder, and the KL of one
//! latent dimension. The network itself is in `model`.

/// Side of the images in the datasets.
pub const IMAGE_SIDE: usize = 28;
/// Side of the images the network works on (28 padded by 2 on every side).
pub const MODEL_SIDE: usize = 32;
pub const IMAGE_PADDING: usize = (MODEL_SIDE - IMAGE_SIDE) / 2;

/// The network between the pixels and the latent space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    #[default]
    Conv,
    Dense,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::Conv, Architecture::Dense];

    pub fn name(self) -> &'static str {
        match self {
            Architecture::Conv => "conv",
            Architecture::Dense => "dense",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn label(self) -> &'static str {
        match self {
            Architecture::Conv => "convolutional",
            Architecture::Dense => "dense",
        }
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
}

/// KL(N(μ, σ²) ‖ N(0, 1)) of one latent dimension, from μ and log σ²: the formula
/// `model::loss_terms` sums over tensors, for encodings already read back.
pub fn gaussian_kl(mean: f32, log_var: f32) -> f64 {
    0.5 * f64::from(log_var.exp() + mean * mean - log_var - 1.0)
}

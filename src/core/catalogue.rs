//! The models latentlab ships, and how the page names them.

use crate::core::spec::{Architecture, ModelKind};

/// The address of a model's file (`NAME.json`, its weights, map or history) on the site,
/// relative to the page (and to the lab's worker, which the site serves beside it).
pub fn model_file_url(file_name: &str) -> String {
    format!("models/{file_name}")
}

/// A dataset the models were trained on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DatasetId {
    Mnist,
    FashionMnist,
}

impl DatasetId {
    pub const ALL: [DatasetId; 2] = [DatasetId::Mnist, DatasetId::FashionMnist];

    /// The name used in manifests and model names ("mnist", "fashion-mnist").
    pub fn name(self) -> &'static str {
        match self {
            DatasetId::Mnist => "mnist",
            DatasetId::FashionMnist => "fashion-mnist",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DatasetId::Mnist => "MNIST digits",
            DatasetId::FashionMnist => "Fashion-MNIST clothes",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The lab's compact training subset (`latentlab export-data`).
    pub fn train_file(self) -> String {
        format!("data/{}-train.bin", self.name())
    }

    /// The lab's held-out images: the first test images, which the shipped maps show.
    pub fn heldout_file(self) -> String {
        format!("data/{}-heldout.bin", self.name())
    }

    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            DatasetId::Mnist => crate::core::weights::DIGIT_CLASSES,
            DatasetId::FashionMnist => crate::core::weights::FASHION_CLASSES,
        }
    }
}

/// Which of the models of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Vae2d,
    Vae16d,
    Ae2d,
    /// The letters article's dense network, beside the convolutional 2-D VAE.
    DenseVae2d,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::Vae2d, Variant::Vae16d, Variant::Ae2d, Variant::DenseVae2d];

    /// The suffix of the model name ("vae-2d", "vae-16d", "ae-2d", "dense-vae-2d").
    pub fn suffix(self) -> &'static str {
        match self {
            Variant::Vae2d => "vae-2d",
            Variant::Vae16d => "vae-16d",
            Variant::Ae2d => "ae-2d",
            Variant::DenseVae2d => "dense-vae-2d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Variant::Vae2d => "2-D VAE",
            Variant::Vae16d => "16-D VAE",
            Variant::Ae2d => "2-D autoencoder",
            Variant::DenseVae2d => "2-D dense VAE",
        }
    }

    /// A VAE or a plain autoencoder, as in the manifest's `kind`.
    pub fn kind(self) -> ModelKind {
        match self {
            Variant::Vae2d | Variant::Vae16d | Variant::DenseVae2d => ModelKind::Vae,
            Variant::Ae2d => ModelKind::Ae,
        }
    }

    pub fn latent(self) -> usize {
        match self {
            Variant::Vae2d | Variant::Ae2d | Variant::DenseVae2d => 2,
            Variant::Vae16d => 16,
        }
    }

    pub fn architecture(self) -> Architecture {
        match self {
            Variant::DenseVae2d => Architecture::Dense,
            _ => Architecture::Conv,
        }
    }
}

/// One shipped model: `www/models/NAME.json` and the files it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShippedModel {
    pub dataset: DatasetId,
    pub variant: Variant,
}

impl ShippedModel {
    pub fn latent(self) -> usize {
        self.variant.latent()
    }

    pub fn name(self) -> String {
        format!("{}-{}", self.dataset.name(), self.variant.suffix())
    }

    /// Every model the page offers, datasets first, in the picker's order.
    pub fn all() -> impl Iterator<Item = ShippedModel> {
        DatasetId::ALL.into_iter().flat_map(|dataset| {
            Variant::ALL.into_iter().map(move |variant| ShippedModel { dataset, variant })
        })
    }

    pub fn find(name: &str) -> Option<ShippedModel> {
        Self::all().find(|m| m.name() == name)
    }

    /// The shipped model trained on the same data with the same kind, latent size and
    /// network, if there is one: the yardstick for a model from the lab.
    pub fn peer_of(dataset: &str, kind: ModelKind, latent: usize, network: Architecture) -> Option<ShippedModel> {
        Self::all().find(|m| {
            m.dataset.name() == dataset && m.variant.kind() == kind && m.latent() == latent && m.variant.architecture() == network
        })
    }

    /// The same dataset's model of another variant.
    pub fn with_variant(self, variant: Variant) -> ShippedModel {
        ShippedModel { variant, ..self }
    }
}

/// The model the page opens with.
pub const DEFAULT_MODEL: ShippedModel = ShippedModel {
    dataset: DatasetId::FashionMnist,
    variant: Variant::Vae2d,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_models_with_unique_names_that_round_trip() {
        let names: Vec<String> = ShippedModel::all().map(ShippedModel::name).collect();
        assert_eq!(names.len(), 8);
        assert!(names.contains(&"mnist-dense-vae-2d".to_string()));
        assert!(names.contains(&"fashion-mnist-vae-2d".to_string()));
        assert!(names.contains(&"mnist-ae-2d".to_string()));
        for name in &names {
            assert_eq!(ShippedModel::find(name).unwrap().name(), *name);
        }
        assert_eq!(ShippedModel::find("mnist-vae-3d"), None);
    }

    #[test]
    fn a_lab_model_is_compared_with_the_shipped_model_of_its_network() {
        let peer = |network| ShippedModel::peer_of("mnist", ModelKind::Vae, 2, network).map(ShippedModel::name);
        assert_eq!(peer(Architecture::Dense).as_deref(), Some("mnist-dense-vae-2d"));
        assert_eq!(peer(Architecture::Conv).as_deref(), Some("mnist-vae-2d"));
        assert_eq!(ShippedModel::peer_of("fashion-mnist", ModelKind::Ae, 2, Architecture::Dense), None);
        assert_eq!(ShippedModel::peer_of("letters", ModelKind::Vae, 2, Architecture::Dense), None);
        assert_eq!(ShippedModel::peer_of("mnist", ModelKind::Vae, 8, Architecture::Conv), None);
    }

    #[test]
    fn variants_keep_the_dataset() {
        let ae = DEFAULT_MODEL.with_variant(Variant::Ae2d);
        assert_eq!(ae.name(), "fashion-mnist-ae-2d");
        assert_eq!(ae.variant.kind(), ModelKind::Ae);
        assert_eq!(DatasetId::from_name("mnist"), Some(DatasetId::Mnist));
    }
}

//! Two shipped models of the dataset on show, side by side: their latent maps, their grids
//! at the same points and their test scores. Two pairs: the plain autoencoder beside the
//! VAE, and the dense network beside the convolutional one.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::core::artifacts::LatentMap;
use crate::core::catalogue::{DatasetId, ShippedModel, Variant};
use crate::core::math::{default_latent_grid, GRID_SIZE};
use crate::core::spec::ModelKind;
use crate::core::plane::Space;
use crate::web::canvas::{paint_images, paint_scatter};
use crate::web::session::{use_session, Session};
use crate::web::state::Views;

/// What one comparison panel sets side by side, and how it explains it.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// Prefix of the panel's test ids: `{id}-start`, `{id}-map-0`, `{id}-grid-1`, …
    pub id: &'static str,
    pub title: &'static str,
    pub explanation: &'static str,
    pub button: &'static str,
    /// Left and right: the variant, and its heading.
    pub columns: [(Variant, &'static str); 2],
}

pub const AUTOENCODER_VS_VAE: Pair = Pair {
    id: "compare",
    title: "Autoencoder vs VAE",
    explanation: "Look at the autoencoder's map: classes sit in uneven patches with gaps between them, over axes that run \
                  as far as they like, so a grid of points drawn from N(0, I) lands on blurs and favours a few classes; the \
                  VAE's KL term pulls the codes into N(0, I), and the same grid shows every class.",
    button: "Compare the 2-D autoencoder with the 2-D VAE",
    columns: [(Variant::Ae2d, "Plain autoencoder"), (Variant::Vae2d, "VAE")],
};

pub const DENSE_VS_CONVOLUTIONAL: Pair = Pair {
    id: "compare-dense",
    title: "Dense vs convolutional",
    explanation: "The letters article behind this project used a dense VAE (the 784 pixels → 512 → z, and back) and \
                  concluded that convolutions would do better. Here are both, trained the same way on the same images. The \
                  dense network sees an image as 784 unrelated numbers and learns each stroke at each position on its own; \
                  the convolutional one slides the same 3×3 filters over the whole image. The test −ELBO (lower is better) \
                  says which explains the test images better; the maps show how the classes share the plane, and the grids \
                  what each decoder draws across it.",
    button: "Compare the dense 2-D VAE with the convolutional one",
    columns: [(Variant::DenseVae2d, "Dense"), (Variant::Vae2d, "Convolutional")],
};

#[derive(Clone, Debug)]
struct Column {
    name: String,
    /// "test −ELBO 152.3 nats" (or the reconstruction, for an autoencoder).
    score: String,
    map: Arc<LatentMap>,
    grid: Arc<Vec<f32>>,
}

#[derive(Clone, Debug)]
enum Comparison {
    Off,
    Loading,
    Ready(Vec<Column>),
    Failed(String),
}

async fn load_column(session: &Session, model: ShippedModel) -> Result<Column, String> {
    let name = model.name();
    let engine = session.engine(&name, |_| {}).await?;
    let map = session.latent_map(&name).await?;
    let latents: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
    let grid = Arc::new(engine.decode(&latents).await?);
    let metrics = engine.manifest.test_metrics;
    let score = match model.variant.kind() {
        ModelKind::Ae => format!("test reconstruction {:.1} nats (no KL term)", metrics.reconstruction),
        ModelKind::Vae => format!("test −ELBO {:.1} nats", metrics.neg_elbo),
    };
    Ok(Column { name, score, map, grid })
}

#[component]
pub fn ComparePanel(pair: Pair) -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let comparison = RwSignal::new(Comparison::Off);
    let dataset = move || views.shown.with(|s| s.as_ref().and_then(|s| ShippedModel::find(&s.name)).map(|m| m.dataset));
    // Another dataset makes the comparison stale.
    Effect::new(move |previous: Option<Option<DatasetId>>| {
        let now = dataset();
        if previous.is_some_and(|p| p != now) {
            comparison.set(Comparison::Off);
        }
        now
    });
    let canvases: [NodeRef<Canvas>; 4] = std::array::from_fn(|_| NodeRef::new());
    Effect::new(move |_| {
        let Comparison::Ready(columns) = comparison.get() else { return };
        for (index, column) in columns.iter().enumerate() {
            if let Some(canvas) = canvases[2 * index].get() {
                let space = Space::z_fitting(&column.map.means);
                let _ = paint_scatter(&canvas, space, &column.map.means, &column.map.labels, &[], false);
            }
            if let Some(canvas) = canvases[2 * index + 1].get() {
                let _ = paint_images(&canvas, &column.grid, GRID_SIZE);
            }
        }
    });
    let start = move |_| {
        let Some(base) = views.shown.with_untracked(|s| s.as_ref().and_then(|s| ShippedModel::find(&s.name))) else {
            comparison.set(Comparison::Failed(
                "the model on show is not a shipped one: pick a dataset above to compare its shipped models".to_string(),
            ));
            return;
        };
        comparison.set(Comparison::Loading);
        let session = session.clone();
        leptos::task::spawn_local(async move {
            let mut columns = Vec::new();
            for (variant, _) in pair.columns {
                match load_column(&session, base.with_variant(variant)).await {
                    Ok(column) => columns.push(column),
                    Err(e) => {
                        comparison.set(Comparison::Failed(e));
                        return;
                    }
                }
            }
            comparison.set(Comparison::Ready(columns));
        });
    };
    let column_view = move |index: usize| {
        let title = pair.columns[index].1;
        view! {
            <figure class="compare-column">
                <figcaption data-testid=format!("{}-caption-{index}", pair.id)>
                    <strong>{title}</strong>
                    {move || match comparison.get() {
                        Comparison::Ready(columns) => columns.get(index).map(|c| format!(" ({}): {}", c.name, c.score)),
                        _ => None,
                    }}
                </figcaption>
                <canvas node_ref=canvases[2 * index] class="compare-map" data-testid=format!("{}-map-{index}", pair.id) width="420" height="420"
                    role="img" aria-label=format!("{title}: where the test set lands, coloured by class")></canvas>
                <canvas node_ref=canvases[2 * index + 1] class="compare-grid" data-testid=format!("{}-grid-{index}", pair.id) width="420" height="420"
                    role="img" aria-label=format!("{title}: the 15 by 15 grid of images decoded from its latent plane")></canvas>
            </figure>
        }
    };
    let title_id = format!("{}-title", pair.id);
    let labelled_by = title_id.clone();
    view! {
        <section class="panel compare-panel" aria-labelledby=labelled_by data-testid=format!("{}-panel", pair.id)>
            <h2 id=title_id>{pair.title}</h2>
            <p>{pair.explanation}</p>
            <button type="button" data-testid=format!("{}-start", pair.id) on:click=start
                disabled=move || matches!(comparison.get(), Comparison::Loading)>
                {pair.button}
            </button>
            {move || match comparison.get() {
                Comparison::Loading => Some(view! { <p class="note">"Loading both models…"</p> }.into_any()),
                Comparison::Failed(e) => Some(view! { <p class="error">{e}</p> }.into_any()),
                _ => None,
            }}
            <div class="compare" class:hidden=move || !matches!(comparison.get(), Comparison::Ready(_))>
                {column_view(0)}
                {column_view(1)}
            </div>
            <p class="caption">"In each pair, left: μ of the test images in z-space (each map scaled to fit its own codes; read the axis labels); right: the 15×15 grid at z = Φ⁻¹(p)."</p>
        </section>
    }
}

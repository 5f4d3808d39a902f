//! The plain autoencoder beside the VAE: both 2-D models of the dataset on show, their
//! latent maps and their grids at the same points.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;

use super::app::Views;
use super::canvas::{paint_images, paint_scatter};
use super::session::Session;
use crate::artifacts::LatentMap;
use crate::catalogue::{ShippedModel, Variant};
use crate::math::{default_latent_grid, GRID_SIZE};
use crate::plane::Space;

#[derive(Clone, Debug)]
struct Column {
    name: String,
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
    let grid = Arc::new(engine.decode(latents).await?);
    Ok(Column { name, map, grid })
}

#[component]
pub fn ComparePanel(session: Session, views: Views) -> impl IntoView {
    let comparison = RwSignal::new(Comparison::Off);
    let dataset = move || views.shown.with(|s| s.as_ref().and_then(|s| ShippedModel::find(&s.name)).map(|m| m.dataset));
    // Another dataset makes the comparison stale.
    Effect::new(move |previous: Option<Option<crate::catalogue::DatasetId>>| {
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
            comparison.set(Comparison::Failed("this model has no autoencoder/VAE pair".to_string()));
            return;
        };
        comparison.set(Comparison::Loading);
        let session = session.clone();
        leptos::task::spawn_local(async move {
            let mut columns = Vec::new();
            for variant in [Variant::Ae2d, Variant::Vae2d] {
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
    let column_view = move |index: usize, title: &'static str| {
        view! {
            <figure class="compare-column">
                <figcaption>
                    {title}
                    {move || match comparison.get() {
                        Comparison::Ready(columns) => columns.get(index).map(|c| format!(" ({})", c.name)),
                        _ => None,
                    }}
                </figcaption>
                <canvas node_ref=canvases[2 * index] class="compare-map" data-testid=format!("compare-map-{index}") width="420" height="420"></canvas>
                <canvas node_ref=canvases[2 * index + 1] class="compare-grid" data-testid=format!("compare-grid-{index}") width="420" height="420"></canvas>
            </figure>
        }
    };
    view! {
        <section class="panel compare-panel" aria-labelledby="compare-title">
            <h2 id="compare-title">"Autoencoder vs VAE"</h2>
            <p>
                "Look at the autoencoder's map: classes sit in uneven patches with gaps between them, over axes that run as far \
                 as they like, so a grid of points drawn from N(0, I) lands on blurs and favours a few classes; the VAE's KL term \
                 pulls the codes into N(0, I), and the same grid shows every class."
            </p>
            <button type="button" data-testid="compare-start" on:click=start
                disabled=move || matches!(comparison.get(), Comparison::Loading)>
                "Compare the 2-D autoencoder with the 2-D VAE"
            </button>
            {move || match comparison.get() {
                Comparison::Loading => Some(view! { <p class="note">"Loading both models…"</p> }.into_any()),
                Comparison::Failed(e) => Some(view! { <p class="error">{e}</p> }.into_any()),
                _ => None,
            }}
            <div class="compare" class:hidden=move || !matches!(comparison.get(), Comparison::Ready(_))>
                {column_view(0, "Plain autoencoder")}
                {column_view(1, "VAE")}
            </div>
            <p class="caption">"In each pair, left: μ of the test images in z-space (each map scaled to fit its own codes; read the axis labels); right: the 15×15 grid at z = Φ⁻¹(p)."</p>
        </section>
    }
}

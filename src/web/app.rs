//! The leptos page: header with the backend in use, loading status, the 15×15 grid.

use std::rc::Rc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::backend::{self, BackendKind};
use super::engine::{self, LoadStep};
use super::session::Session;
use crate::math::{default_latent_grid, GRID_P_HIGH, GRID_P_LOW, GRID_SIZE};
use crate::model::IMAGE_SIDE;
use crate::mosaic::tile_greyscale;

const DEFAULT_MODEL: &str = "fashion-mnist-vae-2d";

#[derive(Clone, Debug, PartialEq)]
enum PageState {
    StartingBackend,
    Loading(LoadStep),
    Decoding,
    Ready { decode_millis: f64 },
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
struct BackendInfo {
    label: &'static str,
    fallback_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct ModelSummary {
    name: String,
    kind: String,
    dataset: String,
    latent: usize,
    neg_elbo: f64,
    epochs: usize,
}

/// The value of `name` in the page's query string (`?backend=cpu&model=…`).
fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_string())
    })
}

#[component]
pub fn App(session: Session) -> impl IntoView {
    let state = RwSignal::new(PageState::StartingBackend);
    let backend = RwSignal::new(None::<BackendInfo>);
    let summary = RwSignal::new(None::<ModelSummary>);
    let grid_canvas = NodeRef::<Canvas>::new();

    spawn_local(async move {
        match start_up(&session, state, backend, summary, grid_canvas).await {
            Ok(()) => session.mark_ready(),
            Err(message) => {
                web_sys::console::error_1(&format!("latentlab: {message}").into());
                state.set(PageState::Failed(message.clone()));
                session.mark_failed(&message);
            }
        }
    });

    view! {
        <header class="masthead">
            <h1>"latentlab"</h1>
            <p class="tagline">"See and touch what a variational autoencoder learns."</p>
            <BackendBadge backend=backend />
        </header>
        <main>
            <StatusLine state=state />
            <section class="panel">
                <h2>"The latent space, decoded"</h2>
                <ModelLine summary=summary />
                <LatentGrid canvas=grid_canvas state=state />
            </section>
        </main>
    }
}

async fn start_up(
    session: &Session,
    state: RwSignal<PageState>,
    backend: RwSignal<Option<BackendInfo>>,
    summary: RwSignal<Option<ModelSummary>>,
    grid_canvas: NodeRef<Canvas>,
) -> Result<(), String> {
    let requested = match query_param("backend") {
        None => None,
        Some(name) => Some(BackendKind::parse(&name).ok_or_else(|| {
            format!("unknown backend \"{name}\" in the address: use ?backend=webgpu or ?backend=cpu")
        })?),
    };
    let model_name = query_param("model").unwrap_or_else(|| DEFAULT_MODEL.to_string());
    let chosen = backend::choose(requested).await?;
    backend.set(Some(BackendInfo {
        label: chosen.kind.label(),
        fallback_reason: chosen.fallback_reason.clone(),
    }));
    let engine = engine::load(&model_name, &chosen, |step| state.set(PageState::Loading(step))).await?;
    let manifest = &engine.manifest;
    summary.set(Some(ModelSummary {
        name: manifest.name.clone(),
        kind: manifest.kind.clone(),
        dataset: manifest.dataset.clone(),
        latent: manifest.latent,
        neg_elbo: manifest.test_metrics.neg_elbo,
        epochs: manifest.training.epochs,
    }));
    if manifest.latent != 2 {
        return Err(format!(
            "the grid needs a model with a 2-D latent space; {} has {} dimensions",
            manifest.name, manifest.latent
        ));
    }
    let engine = Rc::new(engine);
    session.set_engine(engine.clone());

    state.set(PageState::Decoding);
    next_frame().await;
    let started = now_millis();
    let latents: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
    let pixels = engine.decode(latents).await?;
    let decode_millis = now_millis() - started;
    let canvas = grid_canvas.get_untracked().ok_or("the grid canvas is missing")?;
    paint_greyscale(&canvas, &pixels, GRID_SIZE)?;
    state.set(PageState::Ready { decode_millis });
    Ok(())
}

fn now_millis() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Lets the browser paint (status text) before a long computation.
async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Paints decoded 28×28 images, `columns` per row, into `canvas` at one canvas pixel per
/// image pixel (CSS scales it up).
fn paint_greyscale(canvas: &HtmlCanvasElement, pixels: &[f32], columns: usize) -> Result<(), String> {
    let (rgba, width, height) = tile_greyscale(pixels, IMAGE_SIDE, columns);
    canvas.set_width(width as u32);
    canvas.set_height(height as u32);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or("this browser gives no 2-D canvas context")?;
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), width as u32, height as u32)
        .map_err(|e: JsValue| format!("could not build the image: {e:?}"))?;
    context
        .put_image_data(&image, 0.0, 0.0)
        .map_err(|e| format!("could not paint the grid: {e:?}"))
}

#[component]
fn BackendBadge(backend: RwSignal<Option<BackendInfo>>) -> impl IntoView {
    view! {
        <p class="backend" data-testid="backend">
            {move || match backend.get() {
                None => "Backend: choosing…".to_string(),
                Some(info) => format!("Backend: {}", info.label),
            }}
        </p>
        {move || {
            backend
                .get()
                .and_then(|info| info.fallback_reason)
                .map(|why| {
                    view! {
                        <p class="note">"WebGPU is not used: " {why} ". The CPU backend runs instead."</p>
                    }
                })
        }}
    }
}

#[component]
fn StatusLine(state: RwSignal<PageState>) -> impl IntoView {
    let text = move || match state.get() {
        PageState::StartingBackend => "Starting the compute backend…".to_string(),
        PageState::Loading(LoadStep::Downloading { received, total }) => match total {
            Some(total) if total > 0 => format!(
                "Downloading the model: {:.0} of {:.0} KB ({:.0}%)",
                received as f64 / 1024.0,
                total as f64 / 1024.0,
                100.0 * received as f64 / total as f64
            ),
            _ => format!("Downloading the model: {:.0} KB", received as f64 / 1024.0),
        },
        PageState::Loading(LoadStep::Preparing) => "Checking and loading the weights…".to_string(),
        PageState::Decoding => "Decoding 225 latent points…".to_string(),
        PageState::Ready { decode_millis } => {
            format!("Ready: 225 images decoded in one batch in {decode_millis:.0} ms.")
        }
        PageState::Failed(message) => format!("Something went wrong: {message}"),
    };
    let class = move || match state.get() {
        PageState::Failed(_) => "status error",
        PageState::Ready { .. } => "status ready",
        _ => "status busy",
    };
    let progress = move || match state.get() {
        PageState::Loading(LoadStep::Downloading { received, total: Some(total) }) if total > 0 => {
            Some(view! { <progress max=total.to_string() value=received.to_string()></progress> })
        }
        _ => None,
    };
    view! {
        <div class=class role="status" data-testid="status">
            <span>{text}</span>
            {progress}
        </div>
    }
}

#[component]
fn ModelLine(summary: RwSignal<Option<ModelSummary>>) -> impl IntoView {
    move || {
        summary.get().map(|s| {
            let (what, measure) = if s.kind == "ae" {
                ("a plain autoencoder", "reconstruction loss")
            } else {
                ("a VAE", "−ELBO")
            };
            view! {
                <p class="model-line">
                    {format!(
                        "Model {}: {what} with a {}-D latent space, trained on {} for {} epochs (test {measure} {:.1} nats per image).",
                        s.name, s.latent, s.dataset, s.epochs, s.neg_elbo
                    )}
                </p>
            }
        })
    }
}

#[component]
fn LatentGrid(canvas: NodeRef<Canvas>, state: RwSignal<PageState>) -> impl IntoView {
    // Typographic minus signs, as in the rest of the page's text.
    let low = format!("{:.2}", crate::math::normal_quantile(GRID_P_LOW)).replace('-', "−");
    let high = format!("{:+.2}", crate::math::normal_quantile(GRID_P_HIGH));
    let hidden = move || !matches!(state.get(), PageState::Ready { .. });
    view! {
        <figure class="grid-figure">
            <div class="grid-frame">
                <span class="axis axis-y">"↑ z₂"</span>
                <canvas
                    node_ref=canvas
                    id="latent-grid"
                    class="latent-grid"
                    class:pending=hidden
                    width="420"
                    height="420"
                    aria-label="15 by 15 grid of images decoded from the latent plane"
                ></canvas>
                <span class="axis axis-x">"z₁ →"</span>
            </div>
            <figcaption>
                {format!(
                    "{GRID_SIZE}×{GRID_SIZE} latent points z = Φ⁻¹(p) for p from {GRID_P_LOW} to {GRID_P_HIGH} on both axes \
                     (z from {low} to {high}), each cell the decoder's image of that point. \
                     Equal steps in p give every cell an equal share of the prior N(0, I)."
                )}
            </figcaption>
        </figure>
    }
}

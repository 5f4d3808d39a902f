//! The page: header, model picker, status, and the views of the model on show.
//!
//! State flows down as signals ([`Page`], in `state`, given to every panel as context):
//! which model is requested (the picker and `latentlab.use` write it), which is shown
//! (with its latent map and decoded grid), the sliders' latent point, the prior samples
//! and the pinned point. The loaded models themselves live in the [`Session`], outside
//! the reactive graph.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::backend_kind::{BackendKind, BackendRequest};
use crate::browser::clock::now_millis;
use crate::core::catalogue::{DatasetId, DEFAULT_MODEL};
use crate::core::math::default_latent_grid;
use crate::core::spec::ModelKind;
use crate::core::plane::Space;
use crate::lab::Evaluated;
use crate::web::address;
use crate::web::engine::LoadStep;
use crate::web::panels::compare::{ComparePanel, AUTOENCODER_VS_VAE, DENSE_VS_CONVOLUTIONAL};
use crate::web::panels::draw::DrawPanel;
use crate::web::panels::grid::GridView;
use crate::web::panels::history::HistoryPanel;
use crate::web::panels::interpolation::InterpolationPanel;
use crate::web::panels::lab::LabPanel;
use crate::web::panels::letters::LettersPanel;
use crate::web::panels::map::MapView;
use crate::web::panels::picker::ModelPicker;
use crate::web::panels::samples::SamplesPanel;
use crate::web::panels::sliders::SliderPanel;
use crate::web::panels::traversal::TraversalPanel;
use crate::web::panels::lessons::LessonsPanel;
use crate::web::panels::yours::YourModelsPanel;
use crate::web::panels::tray::TrayPanel;
use crate::web::session::{use_session, Session};
use crate::web::state::{BackendInfo, Notice, Page, PageState, Shown, PANEL_GROUPS};
use crate::web::tasks::{next_frame, own_tasks_done};

#[component]
pub fn App() -> impl IntoView {
    let session = use_session();
    let page = expect_context::<Page>();
    let Page { requested, status: state, notices, backend, views, .. } = page;
    let z_text = address::query_param("z");
    let initial_point = z_text.as_deref().and_then(crate::core::plane::parse_point);
    if let (Some(text), None) = (&z_text, &initial_point) {
        page.notify(Notice::always(format!(
            "The address's z=\"{text}\" is not a list of numbers: the sliders start at the origin."
        )));
    }

    let generation = Rc::new(Cell::new(0u64));
    let first = Rc::new(Cell::new(true));
    let for_switch = session.clone();
    Effect::new(move |_| {
        let name = requested.get();
        // Any new request overtakes a load still on its way, even a request for the model
        // on show (which then stays).
        generation.set(generation.get() + 1);
        if views.shown.with_untracked(|s| s.as_ref().is_some_and(|s| s.name == name)) {
            if matches!(state.get_untracked(), PageState::Loading { .. } | PageState::Decoding { .. }) {
                state.set(PageState::Ready { name: name.clone(), decode_millis: 0.0 });
            }
            // Requests for a model still loading are overtaken: they reject, in words.
            for_switch.mark_shown(&name);
            return;
        }
        let this_generation = generation.get();
        let is_current = {
            let generation = generation.clone();
            move || generation.get() == this_generation
        };
        let start_point = if first.replace(false) { initial_point.clone() } else { None };
        let session = for_switch.clone();
        let still_current = is_current.clone();
        spawn_local(async move {
            if let Err(message) =
                show_model(&session, page, &name, start_point, is_current).await
            {
                if !still_current() {
                    // Overtaken by a newer request: the page shows (or is loading) that
                    // one, and settles the requests waiting for this one as it does.
                    return;
                }
                web_sys::console::error_1(&format!("latentlab: {message}").into());
                state.set(PageState::Failed(message.clone()));
                // Keep showing (and offering) the model that was there; with none yet (a
                // stale or mistyped link), the default model.
                let previous = views.shown.get_untracked();
                let fall_back = previous.is_none() && name != DEFAULT_MODEL.name();
                session.mark_failed(&name, &message, !fall_back);
                if let Some(previous) = previous {
                    requested.set(previous.name);
                } else if fall_back {
                    page.notify(Notice {
                        while_shown: Some(DEFAULT_MODEL.name()),
                        text: format!("{message}. The page shows {} instead.", DEFAULT_MODEL.name()),
                    });
                    requested.set(DEFAULT_MODEL.name());
                }
            }
        });
    });

    // The address follows the model and the sliders' point.
    Effect::new(move |_| {
        if let Some(shown) = views.shown.get() {
            // A model kept in this browser comes back from the address here (not elsewhere).
            let kept = page.kept.with(|kept| kept.iter().any(|model| model.name() == shown.name));
            views.point.with(|z| address::record(&shown.name, z, kept));
        }
    });

    // The panels below the plane views mount in groups, a frame apart, after the page's
    // frame: one long task at start-up becomes a few short ones.
    let mounted = RwSignal::new(0u8);
    spawn_local(async move {
        for group in 1..=PANEL_GROUPS {
            next_frame().await;
            mounted.set(group);
        }
    });
    let group_mounted = move |group: u8| move || mounted.get() >= group;
    let group_hidden = move |group: u8| move || page.panel_groups_shown.get() < group;

    let planar = move || views.shown.with(|s| s.as_ref().is_some_and(Shown::is_planar));
    let has_model = move || views.shown.with(Option::is_some);
    let first_load = move || !has_model() && page.requests_first_paint_model();
    view! {
        <header class="masthead">
            <h1>"latentlab"</h1>
            <p class="tagline">
                "See and touch what a variational autoencoder learns. "
                <a href="#lab-title">"Or train your own, here in the page."</a>
            </p>
            <BackendBadge backend=backend />
        </header>
        <main>
            <ModelPicker />
            <StatusLine state=state />
            {move || {
                let shown = views.shown.with(|s| s.as_ref().map(|s| s.name.clone()));
                notices
                    .get()
                    .into_iter()
                    .filter(|n| n.while_shown.is_none() || n.while_shown == shown)
                    .map(|n| view! { <p class="note warning" data-testid="notice">{n.text}</p> })
                    .collect_view()
            }}
            <ModelLine shown=views.shown requested=requested />
            <p class="note panel" class:hidden=move || !has_model() || planar()>
                "The grid and the latent map need a 2-D latent space: pick a 2-D VAE or the 2-D autoencoder to see them. \
                 The sliders, samples and traversal below work in all 16 dimensions."
            </p>
            // While the first model loads, the grid shows the first paint where it will be
            // drawn, and the map keeps its place.
            <div class="plane-views" class:hidden=move || !planar() && !first_load()>
                <GridView />
                <div class:invisible=move || !has_model()>
                    <MapView />
                </div>
            </div>
            <div class:hidden=group_hidden(1)>
                <Show when=group_mounted(1)>
                    <div class="two-up">
                        <SliderPanel />
                        <SamplesPanel />
                    </div>
                    <TraversalPanel />
                </Show>
            </div>
            <div class:hidden=group_hidden(2)>
                <Show when=group_mounted(2)>
                    <div class="two-up">
                        <DrawPanel />
                        <TrayPanel />
                    </div>
                    <InterpolationPanel />
                </Show>
            </div>
            <div class:hidden=group_hidden(3)>
                <Show when=group_mounted(3)>
                    <ComparePanel pair=AUTOENCODER_VS_VAE />
                    <ComparePanel pair=DENSE_VS_CONVOLUTIONAL />
                </Show>
            </div>
            <div class:hidden=group_hidden(4)>
                <Show when=group_mounted(4)>
                    <HistoryPanel />
                    <LessonsPanel />
                </Show>
            </div>
            <div class:hidden=group_hidden(5)>
                <Show when=group_mounted(5)>
                    <YourModelsPanel />
                    <LettersPanel />
                </Show>
            </div>
            <div class:hidden=group_hidden(6)>
                <Show when=group_mounted(6)>
                    <LabPanel />
                </Show>
            </div>
        </main>
    }
}

/// Loads model `name` (with its map, and the grid decoded) and puts it on show.
async fn show_model(
    session: &Session,
    page: Page,
    name: &str,
    start_point: Option<Vec<f32>>,
    is_current: impl Fn() -> bool,
) -> Result<(), String> {
    let Page { status: state, backend, views, .. } = page;
    if session.started().is_none() {
        let requested = address::query_param("backend").and_then(|name| {
            let parsed = BackendRequest::parse(&name);
            if parsed.is_none() {
                page.notify(Notice::always(format!(
                    "The address asks for an unknown backend \"{name}\" (use ?backend=webgpu, ?backend=cpu or ?backend=auto): the page chose one by itself."
                )));
            }
            parsed
        });
        let started = session.start_backend(requested).await?;
        if let Some(why) = &started.request_refused {
            page.notify(Notice::always(format!("{why}. The page chose a backend by itself.")));
        }
        backend.set(Some(BackendInfo {
            label: started.backend.label(),
            fallback_reason: started.fallback_reason,
            timing: started.timing,
            cpu_threads: started.cpu_threads,
            single_thread_reason: session.worker().ok().and_then(|worker| worker.single_thread_reason()),
        }));
    }
    let engine = session
        .engine(name, |step| {
            state.set(PageState::Loading { name: name.to_string(), step });
        })
        .await?;
    let manifest = session.manifest(name).await?;
    let planar = manifest.latent == 2;
    let map = if planar {
        session.latent_map(name).await
    } else {
        Err("a latent map is drawn for 2-D models only".to_string())
    };
    let mut decode_millis = 0.0;
    let grid = if planar {
        state.set(PageState::Decoding { name: name.to_string() });
        next_frame().await;
        let started = now_millis();
        let latents: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
        let pixels = engine.decode(&latents).await?;
        decode_millis = now_millis() - started;
        Some(Arc::new(pixels))
    } else {
        None
    };
    if !is_current() {
        return Err(format!("the page switched to another model before {name} was shown"));
    }
    if let Some(z) = start_point.as_ref().filter(|z| z.len() != manifest.latent) {
        page.notify(Notice {
            while_shown: Some(name.to_string()),
            text: format!(
                "The address's z has {} numbers, but {name} has a {}-D latent space: the sliders start at the origin.",
                z.len(),
                manifest.latent
            ),
        });
    }
    let point = start_point
        .filter(|z| z.len() == manifest.latent)
        .unwrap_or_else(|| vec![0.0; manifest.latent]);
    session.set_shown(engine);
    views.pinned.set(None);
    views.samples.set(Vec::new());
    views.drawn.set(None);
    views.path.set(Vec::new());
    views.point.set(point);
    let z_window = map.as_ref().map_or(Space::Z { low: -4.0, high: 4.0 }, |m| Space::z_fitting(&m.means));
    views.shown.set(Some(Shown {
        name: name.to_string(),
        manifest,
        map,
        grid,
        z_window,
    }));
    state.set(PageState::Ready { name: name.to_string(), decode_millis });
    page.reveal_panels().await;
    // Effects paint in tasks of their own; resolve `ready` / `use` after they have, and
    // after the frame.
    own_tasks_done().await;
    next_frame().await;
    session.mark_shown(name);
    Ok(())
}


#[component]
fn BackendBadge(backend: RwSignal<Option<BackendInfo>>) -> impl IntoView {
    // Why this backend, folded beside the badge: the sentence arrives after the page has
    // started, and in the flow it would push the whole page down.
    let why = move || {
        let info = backend.get()?;
        let sentences: Vec<String> = [
            info.fallback_reason.map(|why| format!("WebGPU is not used: {why}. The CPU backend runs instead.")),
            info.timing.map(|timing| format!("WebGPU runs: timed here, {timing}.")),
            (info.label == BackendKind::Cpu.label()).then(|| match (info.cpu_threads, info.single_thread_reason) {
                (1, Some(why)) => format!("The views' CPU engine decodes on one thread, beside the page: {why}."),
                (1, None) => "The views' CPU engine decodes on one thread, beside the page: it uses every core where the page is \
                      cross-origin isolated and the browser has no WebGPU or the address asks for the CPU (?backend=cpu), \
                      as the lab trains on every core where the page is isolated."
                    .to_string(),
                (threads, _) => format!("The views' CPU engine decodes on {threads} threads, beside the page, each request split between them."),
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!sentences.is_empty()).then(|| sentences.join(" "))
    };
    view! {
        <div class="backend-line">
            <p class="backend" data-testid="backend">
                {move || match backend.get() {
                    None => "Backend: choosing…".to_string(),
                    Some(info) => format!("Backend: {}", info.label),
                }}
            </p>
            {move || why().map(|why| view! {
                <details class="backend-why" data-testid="backend-why">
                    <summary>"why this backend"</summary>
                    <p class="note">{why}</p>
                </details>
            })}
        </div>
    }
}

#[component]
fn StatusLine(state: RwSignal<PageState>) -> impl IntoView {
    let text = move || match state.get() {
        PageState::StartingBackend => "Starting the compute backend…".to_string(),
        PageState::Loading { name, step: LoadStep::Downloading { received, total } } => match total {
            Some(total) if total > 0 => format!(
                "Downloading {name}: {:.0} of {:.0} KB ({:.0}%)",
                received as f64 / 1024.0,
                total as f64 / 1024.0,
                100.0 * received as f64 / total as f64
            ),
            _ => format!("Downloading {name}: {:.0} KB", received as f64 / 1024.0),
        },
        PageState::Loading { name, step: LoadStep::Preparing } => format!("Checking and loading {name}…"),
        PageState::Decoding { name } => format!("Decoding 225 latent points with {name}…"),
        PageState::Ready { name, decode_millis } if decode_millis > 0.0 => {
            format!("Ready: {name}; the grid's 225 images decoded in {decode_millis:.0} ms.")
        }
        PageState::Ready { name, .. } => format!("Ready: {name}."),
        PageState::Failed(message) => format!("Something went wrong: {message}"),
    };
    let class = move || match state.get() {
        PageState::Failed(_) => "status error",
        PageState::Ready { .. } => "status ready",
        _ => "status busy",
    };
    let progress = move || match state.get() {
        PageState::Loading { step: LoadStep::Downloading { received, total: Some(total) }, .. } if total > 0 => {
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
fn ModelLine(shown: RwSignal<Option<Shown>>, requested: RwSignal<String>) -> impl IntoView {
    move || {
        // Before the first model is shown, its line's place is kept, by words of about the
        // length of the line to come (so that it wraps as that line will on a phone).
        let Some(s) = shown.get() else {
            let waiting = format!(
                "Model {}: loading. Once it is here, this line says what kind of model it is, what it learnt from and its test score.",
                requested.get()
            );
            return view! { <p class="model-line">{waiting}</p> }.into_any();
        };
        let m = &s.manifest;
        let (what, measure) = if m.kind == ModelKind::Ae {
            ("a plain autoencoder (no KL term, deterministic)", "reconstruction loss")
        } else {
            ("a VAE", "−ELBO")
        };
        let dataset = match DatasetId::from_name(&m.dataset) {
            Some(d) => d.label().to_string(),
            None if m.dataset == crate::lab::LETTERS_DATA => format!("your own letters ({})", m.class_names.join(", ")),
            None => m.dataset.clone(),
        };
        let (how, figure) = match &m.trained_in {
            Some(place) => (
                format!("in {place}"),
                Evaluated::of_data(&m.dataset).figure(measure, m.test_metrics.neg_elbo, m.training.test_images),
            ),
            None => (format!("for {} epochs", m.training.epochs), format!("test {measure} {:.1} nats per image", m.test_metrics.neg_elbo)),
        };
        view! {
            <p class="model-line" data-testid="model-line">
                {format!("Model {}: {what} with a {}-D latent space, trained on {dataset} {how} ({figure}).", m.name, m.latent)}
            </p>
        }
        .into_any()
    }
}

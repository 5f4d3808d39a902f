//! Your models side by side (two to four ticked in the list): a table of what each was
//! trained on and how, the settings that differ marked, and its held-out losses; their
//! training curves on one chart; their held-out maps on the same axes, each with how
//! tightly it sits around the prior's centre; their 15×15 grids; their reconstructions of
//! the same ten held-out images; beyond 2-D a traversal of every dimension; for a lab run
//! its reconstructions after each epoch; and all of it as one PNG.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::artifacts::LatentMap;
use crate::core::catalogue::DatasetId;
use crate::core::comparison::{comparison_rows, legend_labels, map_spread, shared_examples, short_number, ComparisonRow};
use crate::core::data::{bytes_to_unit, IMAGE_PIXELS};
use crate::core::math::{default_latent_grid_in, GRID_SIZE};
use crate::core::plane::{traversal, Space};
use crate::lab::RECONSTRUCTED;
use crate::web::canvas::{context, save_png, ChartLine};
use crate::web::kept::{self, KeptModel};
use crate::web::plots::{class_legend, Chart, ImageStrip, Images, LatentMapPlot, LossChart, Scatter};
use crate::web::session::{use_session, Session};
use crate::web::state::Page;

/// How many models the side-by-side view compares at most.
pub const MAX_COMPARED: usize = 4;

/// A traversal's images per dimension, and how far from the centre it reaches (±).
const TRAVERSAL_STEPS: usize = 9;
const TRAVERSAL_REACH: f64 = 2.5;

/// What a compared model draws: its 15×15 grid, its reconstructions of the shared
/// held-out images (none where it was trained on other data), and for more than two
/// dimensions a traversal of each (a row per dimension, from the centre).
#[derive(Clone, Debug, PartialEq)]
struct Drawn {
    grid: Vec<f32>,
    reconstructions: Option<Vec<f32>>,
    traversals: Option<Vec<f32>>,
    /// The lab's reconstructions by epoch, kept with a lab run: its held-out images, then a
    /// row per epoch.
    by_epoch: Option<Vec<f32>>,
}

/// The held-out images every compared model reconstructs: the first ten of the first
/// model's dataset whose classes all of them were trained on.
async fn shared_heldout(session: &Session, models: &[KeptModel]) -> Option<(DatasetId, Vec<f32>)> {
    let dataset = models.first().and_then(|k| DatasetId::from_name(&k.manifest.dataset))?;
    let set = session.heldout_images(dataset).await.ok()?;
    let subsets: Vec<Option<&[u8]>> = models.iter().map(|k| k.manifest.classes.as_deref()).collect();
    let chosen = shared_examples(&set.labels, &subsets, RECONSTRUCTED);
    let pixels = chosen.iter().flat_map(|&i| bytes_to_unit(&set.pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS])).collect();
    Some((dataset, pixels))
}

/// `model`'s grid, and its reconstructions of `originals` where it was trained on their dataset.
async fn draw(session: &Session, model: &KeptModel, originals: Option<&(DatasetId, Vec<f32>)>) -> Result<Drawn, String> {
    let engine = session.engine(model.name(), |_| {}).await?;
    let grid = engine.decode(&default_latent_grid_in(engine.latent())).await?;
    let reconstructions = match originals.filter(|(dataset, _)| dataset.name() == model.manifest.dataset) {
        Some((_, images)) => Some(engine.decode(&engine.encode(images).await?.mean).await?),
        None => None,
    };
    let latent = engine.latent();
    let traversals = if latent > 2 {
        let centre = vec![0.0; latent];
        let points: Vec<f32> =
            (0..latent).flat_map(|d| traversal(&centre, d, -TRAVERSAL_REACH, TRAVERSAL_REACH, TRAVERSAL_STEPS)).flatten().collect();
        Some(engine.decode(&points).await?)
    } else {
        None
    };
    let by_epoch = kept::by_epoch(model.name()).await.ok().flatten().map(|bytes| bytes_to_unit(&bytes));
    Ok(Drawn { grid, reconstructions, traversals, by_epoch })
}

/// Each compared model's colour: its swatch in the table, its line on the chart.
const MODEL_COLOURS: [&str; 4] = ["#7cc4ff", "#f28e2b", "#59d98e", "#e879f9"];

/// The first two coordinates of each μ of `map` (x, y pairs, flat).
fn plane_points(map: &LatentMap) -> Vec<f32> {
    map.means.chunks(map.latent.max(1)).flat_map(|m| [m[0], m.get(1).copied().unwrap_or(0.0)]).collect()
}

/// The comparison as one picture: a column per model (its title, held-out map, grid, the
/// ten held-out images and its reconstructions of them), the loss chart, then the table
/// as lines of text (differing settings marked ≠). Drawn from the canvases on the page.
fn comparison_picture(models: &[KeptModel], rows: &[ComparisonRow]) -> Result<web_sys::HtmlCanvasElement, String> {
    use wasm_bindgen::JsCast;
    const COLUMN: f64 = 300.0;
    const GAP: f64 = 12.0;
    const LINE: f64 = 18.0;
    let document = document();
    let find = |id: String| document.get_element_by_id(&id).and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
    let chart = find("side-losses".to_string());
    let chart_height = chart.as_ref().map_or(0.0, |c| COLUMN * f64::from(c.height()) / f64::from(c.width().max(1)));
    let table_height = LINE * (rows.len() + 1) as f64;
    let width = GAP + models.len() as f64 * (COLUMN + GAP);
    let columns_height = 2.0 * LINE + 2.0 * (COLUMN + GAP) + 2.0 * (COLUMN / 10.0 + GAP);
    let height = columns_height + chart_height + GAP + table_height + GAP;
    let picture: web_sys::HtmlCanvasElement = document.create_element("canvas").map_err(|e| format!("{e:?}"))?.unchecked_into();
    picture.set_width(width as u32);
    picture.set_height(height as u32);
    let ctx = context(&picture)?;
    ctx.set_fill_style_str("#12151a");
    ctx.fill_rect(0.0, 0.0, width, height);
    ctx.set_image_smoothing_enabled(false);
    ctx.set_font("13px sans-serif");
    for (index, model) in models.iter().enumerate() {
        let x = GAP + index as f64 * (COLUMN + GAP);
        ctx.set_fill_style_str(MODEL_COLOURS[index % MODEL_COLOURS.len()]);
        let _ = ctx.fill_text_with_max_width(&model.title, x, LINE, COLUMN);
        let mut y = 2.0 * LINE;
        let name = model.name();
        for (id, side) in [
            (format!("side-map-{name}"), COLUMN),
            (format!("side-grid-{name}"), COLUMN),
            ("side-originals".to_string(), COLUMN / 10.0),
            (format!("side-reconstructions-{name}"), COLUMN / 10.0),
        ] {
            if let Some(canvas) = find(id).filter(|c| c.width() > 0) {
                let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&canvas, x, y, COLUMN, side);
            }
            y += side + GAP;
        }
    }
    if let Some(chart) = chart {
        let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&chart, GAP, columns_height, COLUMN, chart_height);
    }
    let mut y = columns_height + chart_height + GAP + LINE;
    for row in rows {
        ctx.set_fill_style_str(if row.differs { "#ffd27a" } else { "#d8dde3" });
        let mark = if row.differs { " ≠" } else { "" };
        let _ = ctx.fill_text_with_max_width(&format!("{}{mark}: {}", row.label, row.values.join("  |  ")), GAP, y, width - 2.0 * GAP);
        y += LINE;
    }
    Ok(picture)
}

#[component]
pub fn SideBySide(compared: RwSignal<Vec<String>>) -> impl IntoView {
    let page = expect_context::<Page>();
    Effect::new(move |_| crate::web::address::record_compared(&compared.get()));
    let chosen = Memo::new(move |_| {
        let names = compared.get();
        page.kept.with(|kept| names.iter().filter_map(|name| kept.iter().find(|k| k.name() == name).cloned()).collect::<Vec<KeptModel>>())
    });
    // The held-out maps, read from the browser's storage when the choice changes (the
    // newest choice wins).
    let maps = RwSignal::new(Vec::<(String, Option<LatentMap>)>::new());
    Effect::new(move |_| {
        let names: Vec<String> = chosen.with(|c| c.iter().map(|k| k.name().to_string()).collect());
        spawn_local(async move {
            let mut loaded = Vec::new();
            for name in &names {
                let map = kept::load(name).await.ok().flatten().and_then(|(_, _, map)| map);
                loaded.push((name.clone(), map));
            }
            if chosen.with_untracked(|c| c.iter().map(KeptModel::name).eq(names.iter().map(String::as_str))) {
                maps.set(loaded);
            }
        });
    });
    // The grids and reconstructions, drawn by the engine when the choice changes (the
    // newest choice wins).
    let session = use_session();
    let originals = RwSignal::new(None::<Vec<f32>>);
    let drawn = RwSignal::new(Vec::<(String, Result<Drawn, String>)>::new());
    Effect::new(move |_| {
        let models = chosen.get();
        if models.len() < 2 {
            return;
        }
        let session = session.clone();
        spawn_local(async move {
            let shared = shared_heldout(&session, &models).await;
            let mut results = Vec::new();
            for model in &models {
                results.push((model.name().to_string(), draw(&session, model, shared.as_ref()).await));
            }
            if chosen.with_untracked(|c| c.iter().map(KeptModel::name).eq(models.iter().map(KeptModel::name))) {
                originals.set(shared.map(|(_, pixels)| pixels));
                drawn.set(results);
            }
        });
    });
    let drawn_of = move |name: &str| drawn.with(|drawn| drawn.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone()));
    let map_of = move |name: &str| maps.with(|maps| maps.iter().find(|(n, _)| n == name).and_then(|(_, map)| map.clone()));
    let enough = move || chosen.with(|c| c.len() >= 2);

    let table = move || {
        let models = chosen.get();
        let manifests: Vec<_> = models.iter().map(|k| &k.manifest).collect();
        let spreads: Vec<String> =
            models.iter().map(|k| map_of(k.name()).and_then(|m| map_spread(&m.means, m.latent)).map_or("—".to_string(), short_number)).collect();
        let header = models
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let swatch = format!("background: {}", MODEL_COLOURS[i % MODEL_COLOURS.len()]);
                view! { <th scope="col"><span class="swatch" style=swatch></span>{k.title.clone()}</th> }
            })
            .collect_view();
        let rows = comparison_rows(&manifests)
            .into_iter()
            .map(|row| {
                let label = if row.differs { format!("{} ≠", row.label) } else { row.label.to_string() };
                view! {
                    <tr class:differs=row.differs data-differs=row.differs.to_string() data-row=row.label>
                        <th scope="row">{label}</th>
                        {row.values.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="side-table" data-testid="side-table">
                <thead><tr><th scope="col">"Model"</th>{header}</tr></thead>
                <tbody>
                    {rows}
                    <tr data-row="spread" data-differs="false">
                        <th scope="row">"Spread of the held-out map (√ mean ‖μ‖²)"</th>
                        {spreads.into_iter().map(|v| view! { <td data-testid="side-spread">{v}</td> }).collect_view()}
                    </tr>
                </tbody>
            </table>
        }
    };

    let chart = Signal::derive(move || {
        let lines: Vec<ChartLine> = chosen.with(|models| {
            let manifests: Vec<_> = models.iter().map(|k| &k.manifest).collect();
            let titles: Vec<String> = models.iter().map(|k| k.title.clone()).collect();
            let labels = legend_labels(&comparison_rows(&manifests), &titles);
            models
                .iter()
                .zip(labels)
                .enumerate()
                .map(|(i, (k, label))| ChartLine {
                    label,
                    colour: MODEL_COLOURS[i % MODEL_COLOURS.len()],
                    values: k.manifest.training.epoch_losses.iter().map(|e| e.neg_elbo as f32).collect(),
                })
                .collect()
        });
        let epochs = lines.iter().map(|l| l.values.len()).max().unwrap_or(0);
        (epochs >= 2).then(|| Chart { lines, highlight: None, ends: ("epoch 1".to_string(), format!("epoch {epochs}")) })
    });
    let chart_label = Signal::derive(move || {
        let curves: Vec<String> = chosen.with(|models| {
            models
                .iter()
                .map(|k| {
                    let losses = &k.manifest.training.epoch_losses;
                    match (losses.first(), losses.last()) {
                        (Some(first), Some(last)) => format!("{}: {} → {}", k.title, short_number(first.neg_elbo), short_number(last.neg_elbo)),
                        _ => format!("{}: no finished epoch", k.title),
                    }
                })
                .collect()
        });
        format!("Training −ELBO per epoch, one line per model ({})", curves.join("; "))
    });

    // One window for every map: the same axes, so that spreads compare by eye.
    let window = Memo::new(move |_| {
        let points: Vec<f32> = maps.with(|maps| maps.iter().filter_map(|(_, m)| m.as_ref()).flat_map(plane_points).collect());
        Space::z_fitting(&points)
    });
    let model_figures = move || {
        chosen
            .get()
            .into_iter()
            .map(|k| {
                let name = k.name().to_string();
                let scatter = {
                    let name = name.clone();
                    Signal::derive(move || map_of(&name).map(|m| Scatter { window: window.get(), points: plane_points(&m), labels: m.labels.clone() }))
                };
                let pictures = {
                    let name = name.clone();
                    Signal::derive(move || drawn_of(&name))
                };
                let grid = Signal::derive(move || pictures.get().and_then(Result::ok).map(|d| Images { pixels: d.grid, columns: GRID_SIZE }));
                let reconstructions = Signal::derive(move || {
                    pictures.get().and_then(Result::ok).and_then(|d| d.reconstructions).map(|pixels| Images { pixels, columns: RECONSTRUCTED })
                });
                let traversals = Signal::derive(move || {
                    pictures.get().and_then(Result::ok).and_then(|d| d.traversals).map(|pixels| Images { pixels, columns: TRAVERSAL_STEPS })
                });
                let by_epoch = Signal::derive(move || {
                    pictures.get().and_then(Result::ok).and_then(|d| d.by_epoch).map(|pixels| Images { pixels, columns: RECONSTRUCTED })
                });
                let epochs = move || by_epoch.with(|b| b.as_ref().map_or(0, |b| (b.pixels.len() / (RECONSTRUCTED * IMAGE_PIXELS)).saturating_sub(1)));
                let latent = k.manifest.latent;
                let problem = move || pictures.get().and_then(Result::err);
                let planes = if k.manifest.latent > 2 { format!(" (μ₁ and μ₂ of {} dimensions)", k.manifest.latent) } else { String::new() };
                let grid_planes =
                    if k.manifest.latent > 2 { format!(" over z₁ and z₂, the other {} dimensions at 0", k.manifest.latent - 2) } else { String::new() };
                let title = k.title.clone();
                let failed = title.clone();
                view! {
                    <figure class="side-model" data-testid="side-model" data-name=name.clone()>
                        <figcaption>{format!("{title}{planes}")}</figcaption>
                        <span class="side-label">"held-out map"</span>
                        <LatentMapPlot id=format!("side-map-{name}") scatter=scatter label=format!("Held-out map of {title}{planes}") />
                        <span class="side-label">"15×15 grid"</span>
                        <ImageStrip id=format!("side-grid-{name}") images=grid class="side-grid" width=420 height=420
                            label=format!("The 15×15 grid of {title}{grid_planes}: its decoder's images at the page's grid points") />
                        <span class="side-label" class:hidden=move || reconstructions.with(Option::is_none)>"the ten images above, reconstructed"</span>
                        <ImageStrip id=format!("side-reconstructions-{name}") images=reconstructions width=280 height=28
                            hidden=Signal::derive(move || reconstructions.with(Option::is_none))
                            label=format!("{title}'s reconstructions of the ten held-out images above") />
                        {(latent > 2).then(|| view! {
                            <span class="side-label">"traversals, a row per dimension"</span>
                            <ImageStrip id=format!("side-traversals-{name}") images=traversals class="side-traversals"
                                width=(28 * TRAVERSAL_STEPS) as u32 height=(28 * latent) as u32
                                label=format!("Traversals of {title}: one row per dimension, each from {} to {} with the others at 0",
                                    -TRAVERSAL_REACH, TRAVERSAL_REACH) />
                            <p class="caption">{format!("Each row walks one of the {latent} dimensions from −2.5 to 2.5, the others at 0: a row that does not change is a dimension the model does not use.")}</p>
                        })}
                        <span class="side-label" class:hidden=move || by_epoch.with(Option::is_none)>
                            {move || format!("in training: its images, then after epochs 1 to {}", epochs())}
                        </span>
                        <ImageStrip id=format!("side-by-epoch-{name}") images=by_epoch height=56 width=280
                            hidden=Signal::derive(move || by_epoch.with(Option::is_none))
                            label=Signal::derive({
                                let title = title.clone();
                                move || format!("{title} in training: ten of its held-out images (top row), then their reconstructions after each of its first {} epochs", epochs())
                            }) />
                        {move || problem().map(|why| view! { <p class="note warning">{format!("{failed} could not be drawn: {why}")}</p> })}
                    </figure>
                }
            })
            .collect_view()
    };
    let originals_strip = Signal::derive(move || originals.get().map(|pixels| Images { pixels, columns: RECONSTRUCTED }));
    let png_error = RwSignal::new(None::<String>);
    let save_picture = move |_| {
        let models = chosen.get_untracked();
        let manifests: Vec<_> = models.iter().map(|k| &k.manifest).collect();
        let names: Vec<&str> = models.iter().map(KeptModel::name).collect();
        let result = comparison_picture(&models, &comparison_rows(&manifests))
            .and_then(|picture| save_png(&picture, &format!("compare-{}.png", names.join("-vs-"))));
        png_error.set(result.err().map(|why| format!("The comparison could not be saved as a PNG: {why}.")));
    };
    let legend = move || chosen.with(|c| c.first().map(|k| class_legend(&k.manifest.class_names)));

    view! {
        <div class="side-by-side" data-testid="side-by-side">
            <h3>"Side by side"</h3>
            <Show when=enough fallback=move || view! {
                <p class="note" data-testid="side-hint">
                    "Tick “Compare” on two to four of your models (train a few in the lab with different settings) to see them side by side."
                </p>
            }>
                <p class="caption">
                    "The table marks with ≠ the settings that differ, then gives each model's losses on the held-out images. \
                     The chart draws each one's training −ELBO per epoch; the maps place the same held-out images at their μ, \
                     on the same axes, and the spread row says how far from the centre they sit: a stronger KL term (larger β) pulls them in."
                </p>
                {table}
                <button type="button" data-testid="side-png" on:click=save_picture>"Download the comparison as one PNG"</button>
                {move || png_error.get().map(|why| view! { <p class="note warning" role="alert">{why}</p> })}
                <LossChart id="side-losses" chart=chart label=chart_label />
                <Show when=move || chart.with(Option::is_none)>
                    <p class="note" data-testid="side-no-curves">"The chart needs a model with two finished epochs or more."</p>
                </Show>
                <p class="caption">
                    "Below, for each model: its held-out map (same axes for all), its 15×15 grid at the same points \
                     z = Φ⁻¹(p) as the explorer's, its reconstructions of these ten held-out images (of classes every \
                     compared model was trained on), and for a lab run the lab's record of it in training: its own held-out \
                     images over their reconstructions after each epoch:"
                </p>
                <ImageStrip id="side-originals" images=originals_strip width=280 height=28
                    label="Ten held-out images, which every compared model reconstructs below its grid" />
                <div class="side-maps">{model_figures}</div>
                <ul class="legend">{legend}</ul>
            </Show>
        </div>
    }
}

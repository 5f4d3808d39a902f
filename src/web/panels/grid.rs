//! The 15×15 grid: the decoder's image of each point z = Φ⁻¹(p), p evenly spaced,
//! with axis labels in z and p, and the test set's encodings overlaid on request. From
//! the keyboard a cell is chosen with the arrow keys and read out (its point, and the
//! nearest test image); Enter moves the sliders there.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::{Canvas, Div};
use leptos::prelude::*;

use crate::core::math::{default_latent_grid, linspace, normal_cdf, normal_quantile, GRID_P_HIGH, GRID_P_LOW, GRID_SIZE};
use crate::core::plane::{describe_point, format_signed, step_cell, Space, Step};
use crate::web::canvas::{outline_cell, paint_images, save_png, Marker, MarkerStyle, ScatterLayer};
use crate::web::display::keep_shown_width;
use crate::web::plots::PointMarker;
use crate::web::state::{Page, Views};
use crate::web::tasks::OwnTaskPaint;

thread_local! {
    static FIRST_PAINT: RefCell<Option<web_sys::Element>> = const { RefCell::new(None) };
}

/// Keeps the static first paint's picture (`www/index.html`, made by
/// `latentlab export-first-paint`) for the grid, which shows it in its own place until it
/// has drawn the live grid. The same element moves, so that the browser sees no new, larger
/// paint while the page starts.
pub fn keep_first_paint(picture: web_sys::Element) {
    FIRST_PAINT.with(|slot| *slot.borrow_mut() = Some(picture));
}

fn hide_first_paint() {
    FIRST_PAINT.with(|slot| {
        if let Some(picture) = slot.borrow().as_ref() {
            picture.set_class_name("first-paint-grid hidden");
        }
    });
}

/// Grid cells that carry an axis label.
const LABELLED_CELLS: [usize; 5] = [0, 3, 7, 11, 14];

#[component]
pub fn GridView() -> impl IntoView {
    let views = expect_context::<Views>();
    let page = expect_context::<Page>();
    let has_grid = move || views.shown.with(|s| s.as_ref().is_some_and(|s| s.grid.is_some()));
    let grid_canvas = NodeRef::<Canvas>::new();
    let overlay_canvas = NodeRef::<Canvas>::new();
    keep_shown_width(overlay_canvas);
    let overlay = RwSignal::new(false);
    // The cell chosen from the keyboard (row, column; row 0 at the top), outlined while the
    // grid has the focus.
    let chosen = RwSignal::new(None::<(usize, usize)>);
    let focused = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let plot_stack = NodeRef::<Div>::new();
    // The first paint's picture, in the grid's place until the live grid is drawn.
    // (Once a grid is on show, the grid's own paint hides the picture, in the same task.)
    Effect::new(move |_| {
        if has_grid() {
            return;
        }
        let hidden = !page.requests_first_paint_model();
        let (Some(stack), Some(overlay)) = (plot_stack.get(), overlay_canvas.get()) else { return };
        FIRST_PAINT.with(|slot| {
            let Some(picture) = slot.borrow().clone() else { return };
            if picture.parent_node().is_none() {
                let _ = picture.set_attribute("alt", "");
                let _ = picture.set_attribute("data-testid", "first-paint-grid");
                let _ = stack.insert_before(&picture, Some(&overlay));
            }
            picture.set_class_name(if hidden { "first-paint-grid hidden" } else { "first-paint-grid" });
        });
    });

    let grid_paint = OwnTaskPaint::default();
    Effect::new(move |_| {
        let Some(canvas) = grid_canvas.get() else { return };
        if let Some(pixels) = views.shown.with(|shown| shown.as_ref().and_then(|s| s.grid.clone())) {
            grid_paint.request(move || {
                error.set(paint_images(&canvas, &pixels, GRID_SIZE).err());
                hide_first_paint();
            });
        }
    });

    let scatter = Rc::new(RefCell::new(ScatterLayer::default()));
    let overlay_paint = OwnTaskPaint::default();
    Effect::new(move |_| {
        let Some(canvas) = overlay_canvas.get() else { return };
        let show = overlay.get();
        let pinned = views.pinned.get();
        let map = views.shown.with(|shown| shown.as_ref().and_then(|s| s.map.clone().ok()));
        let outlined = chosen.get().filter(|_| focused.get());
        let scatter = scatter.clone();
        overlay_paint.request(move || {
            if let Some(map) = map {
                let markers: Vec<Marker> = pinned.map(|z| Marker { z, style: MarkerStyle::Pinned }).into_iter().collect();
                error.set(scatter.borrow_mut().paint(&canvas, Space::grid_p(), show.then_some(&map), &markers, true).err());
            }
            if let Some(cell) = outlined {
                let _ = outline_cell(&canvas, cell, GRID_SIZE);
            }
        });
    });

    let point_on_grid = Signal::derive(move || {
        views.point.with(|z| match z[..] {
            [z1, z2] => Some(Space::grid_p().to_unit([f64::from(z1), f64::from(z2)])),
            _ => None,
        })
    });

    let cell_point = |(row, column): (usize, usize)| default_latent_grid()[row * GRID_SIZE + column];
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        let cell = chosen.get_untracked().unwrap_or((GRID_SIZE / 2, GRID_SIZE / 2));
        if let Some(step) = Step::of_key(&key) {
            ev.prevent_default();
            chosen.set(Some(step_cell(cell, step, GRID_SIZE)));
        } else if key == "Enter" || key == " " {
            ev.prevent_default();
            let z = cell_point(cell);
            chosen.set(Some(cell));
            views.point.set(z.to_vec());
        }
    };
    // The chosen cell in words: where it is, its point, and the test image nearest it.
    let chosen_words = move || {
        let cell @ (row, column) = chosen.get()?;
        let z = cell_point(cell);
        let p = z.map(|v| normal_cdf(f64::from(v)));
        let nearest = views.shown.with(|s| {
            let (_, class) = s.as_ref()?.nearest_test_image(z)?;
            Some(format!(" The nearest test image is a {class}."))
        });
        Some(format!(
            "Cell in row {} of {GRID_SIZE}, column {} of {GRID_SIZE}: the decoder's image of z = {}, p = ({:.2}, {:.2}).{} \
             Enter moves the sliders there.",
            row + 1,
            column + 1,
            describe_point(&z, 2),
            p[0],
            p[1],
            nearest.unwrap_or_default()
        ))
    };

    let probabilities = linspace(GRID_P_LOW, GRID_P_HIGH, GRID_SIZE);
    let tick = move |cell: usize, vertical: bool| {
        let p = probabilities[cell];
        // Row 0 is the top of the grid, where z₂ is largest.
        let p = if vertical { 1.0 - p } else { p };
        let position = 100.0 * (cell as f64 + 0.5) / GRID_SIZE as f64;
        let style = if vertical { format!("top: {position:.2}%") } else { format!("left: {position:.2}%") };
        view! {
            <span class="tick" style=style>
                <span class="tick-z">{format_signed(normal_quantile(p), 2)}</span>
                <span class="tick-p">{format!("p {p:.2}")}</span>
            </span>
        }
    };
    let model_name = move || views.shown.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    view! {
        <section class="panel grid-panel" aria-labelledby="grid-title">
            <h2 id="grid-title">"The latent plane, decoded"</h2>
            <div class="plot-frame">
                <div class="y-ticks" aria-hidden="true">
                    {LABELLED_CELLS.iter().map(|&cell| tick(cell, true)).collect_view()}
                </div>
                <div class="plot-stack" node_ref=plot_stack>
                    <canvas
                        node_ref=grid_canvas
                        id="latent-grid"
                        class="latent-grid"
                        width="420"
                        height="420"
                        tabindex="0"
                        role="application"
                        aria-roledescription="image grid"
                        aria-label="15 by 15 grid of images decoded from the latent plane; the arrow keys choose a cell, \
                                    which is read out below"
                        aria-describedby="grid-chosen"
                        on:keydown=on_key
                        on:focus=move |_| {
                            focused.set(true);
                            if chosen.get_untracked().is_none() {
                                chosen.set(Some((GRID_SIZE / 2, GRID_SIZE / 2)));
                            }
                        }
                        on:blur=move |_| focused.set(false)
                    ></canvas>
                    <canvas node_ref=overlay_canvas id="grid-overlay" class="overlay" width="420" height="420" aria-hidden="true"></canvas>
                    <PointMarker at=point_on_grid />
                </div>
                <div class="x-ticks" aria-hidden="true">
                    {LABELLED_CELLS.iter().map(|&cell| tick(cell, false)).collect_view()}
                </div>
            </div>
            <p class="axis-note">"Across: z₁; up: z₂. Each label gives z and p = Φ(z)."</p>
            <p class="note" id="grid-chosen" data-testid="grid-chosen" aria-live="polite" class:hidden=move || chosen.get().is_none()>
                {chosen_words}
            </p>
            <div class="controls">
                <label>
                    <input
                        type="checkbox"
                        data-testid="grid-overlay-toggle"
                        prop:checked=move || overlay.get()
                        on:change=move |ev| overlay.set(event_target_checked(&ev))
                    />
                    " Overlay the test set's encodings"
                </label>
                <button
                    type="button"
                    data-testid="save-grid"
                    on:click=move |_| {
                        if let Some(canvas) = grid_canvas.get_untracked() {
                            error.set(save_png(&canvas, &format!("{}-grid.png", model_name())).err());
                        }
                    }
                >
                    "Save PNG"
                </button>
            </div>
            <p class="caption">
                {format!(
                    "{GRID_SIZE}×{GRID_SIZE} latent points z = Φ⁻¹(p) for p from {GRID_P_LOW} to {GRID_P_HIGH} on both axes, \
                     each cell the decoder's image of its point. Equal steps in p give every cell an equal share of the prior N(0, I)."
                )}
            </p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

//! The latent map: the shipped test-set encodings scattered over the plane, coloured
//! by class, in z-space or p-space. Hovering previews the decode at the pointer;
//! clicking pins it large (and moves the sliders there). From the keyboard, the arrow keys
//! move the pinned point and Escape unpins it.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::Canvas;
use leptos::prelude::*;
use web_sys::PointerEvent;

use crate::core::plane::{describe_point, ellipse_outline, nearest_point, step_point, Space, Step};
use crate::web::canvas::{draw_path, paint_images, tag_points, Marker, MarkerStyle, ScatterLayer};
use crate::web::display::keep_shown_width;
use crate::web::live::NewestOnly;
use crate::web::plots::{class_legend, PointMarker};
use crate::web::session::use_session;
use crate::web::state::{Encoding, Shown, Views};
use crate::web::tasks::OwnTaskPaint;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapSpace {
    Z,
    P,
}

/// The space a model's map is drawn in: z-space wide enough for its encodings.
fn space_of(shown: &Shown, which: MapSpace) -> Space {
    match which {
        MapSpace::P => Space::FULL_P,
        MapSpace::Z => shown.z_window,
    }
}

#[component]
pub fn MapView() -> impl IntoView {
    let (session, views) = (use_session(), expect_context::<Views>());
    let map_canvas = NodeRef::<Canvas>::new();
    keep_shown_width(map_canvas);
    let preview_canvas = NodeRef::<Canvas>::new();
    let pinned_canvas = NodeRef::<Canvas>::new();
    let which = RwSignal::new(MapSpace::Z);
    let hover = RwSignal::new(None::<(f64, f64, [f32; 2])>);
    let error = RwSignal::new(None::<String>);

    let scatter = Rc::new(RefCell::new(ScatterLayer::default()));
    let map_paint = OwnTaskPaint::default();
    Effect::new(move |_| {
        let Some(canvas) = map_canvas.get() else { return };
        let which = which.get();
        let samples = views.samples.get();
        let pinned = views.pinned.get();
        let drawn = views.drawn.get();
        let path = views.path.get();
        let Some(shown) = views.shown.get().filter(Shown::is_planar) else { return };
        let scatter = scatter.clone();
        map_paint.request(move || {
            let shown = &shown;
            let mut markers: Vec<Marker> = samples
                .iter()
                .filter_map(|z| match z[..] {
                    [z1, z2] => Some(Marker { z: [z1, z2], style: MarkerStyle::Sample }),
                    _ => None,
                })
                .collect();
            if let Some(z) = pinned {
                markers.push(Marker { z, style: MarkerStyle::Pinned });
            }
            let space = space_of(shown, which);
            error.set(scatter.borrow_mut().paint(&canvas, space, shown.map.as_ref().ok(), &markers, false).err());
            let as_plane = |z: &Vec<f32>| match z[..] {
                [z1, z2] => Some([f64::from(z1), f64::from(z2)]),
                _ => None,
            };
            let path: Vec<[f64; 2]> = path.iter().filter_map(as_plane).collect();
            if path.len() >= 2 {
                let _ = draw_path(&canvas, space, &path, "#ffffff", true);
            }
            if let Some(Encoding { mu, sigma }) = drawn.filter(|d| d.mu.len() == 2) {
                let mean = [f64::from(mu[0]), f64::from(mu[1])];
                let sigma = [f64::from(sigma[0]), f64::from(sigma[1])];
                for (k, colour) in [(2.0, "#ffd54f88"), (1.0, "#ffd54f")] {
                    let _ = draw_path(&canvas, space, &ellipse_outline(mean, sigma, k, 48), colour, false);
                }
                let _ = draw_path(&canvas, space, &[mean, mean], "#ffd54f", true);
            }
        });
    });

    let point_on_map = Signal::derive(move || {
        let which = which.get();
        views.point.with(|z| match z[..] {
            [z1, z2] => views.shown.with(|s| {
                let shown = s.as_ref().filter(|s| s.is_planar())?;
                Some(space_of(shown, which).to_unit([f64::from(z1), f64::from(z2)]))
            }),
            _ => None,
        })
    });

    let preview_decodes = NewestOnly::new();
    let for_preview = session.clone();
    Effect::new(move |_| {
        let Some((_, _, z)) = hover.get() else { return };
        let Some(canvas) = preview_canvas.get() else { return };
        let Some(engine) = views.shown.with_untracked(|s| s.as_ref().and_then(|s| for_preview.cached_engine(&s.name)))
        else {
            return;
        };
        preview_decodes.submit(async move {
            if let Ok(pixels) = engine.decode(&z).await {
                let _ = paint_images(&canvas, &pixels, 1);
            }
        });
    });

    let for_tray = session.clone();
    let add_nearest = move |_| {
        let Some(z) = views.pinned.get_untracked() else { return };
        let Some(shown) = views.shown.get_untracked() else { return };
        let Ok(map) = shown.map.clone() else { return };
        let Some(index) = nearest_point(&map.means, z) else { return };
        let session = for_tray.clone();
        leptos::task::spawn_local(async move {
            match session.test_image_item(&shown.name, index).await {
                Ok(item) => views.tray.add(item),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let pinned_decodes = NewestOnly::new();
    Effect::new(move |_| {
        let Some(z) = views.pinned.get() else { return };
        let Some(canvas) = pinned_canvas.get() else { return };
        let Some(engine) = views.shown.with_untracked(|s| s.as_ref().and_then(|s| session.cached_engine(&s.name)))
        else {
            return;
        };
        pinned_decodes.submit(async move {
            match engine.decode(&z).await {
                Ok(pixels) => {
                    error.set(paint_images(&canvas, &pixels, 1).err());
                    tag_points(&canvas, &[z.to_vec()]);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    // The latent point under the pointer, and where the preview goes in the frame.
    let locate = move |event: &PointerEvent| -> Option<(f64, f64, [f32; 2])> {
        let canvas = map_canvas.get_untracked()?;
        let rect = canvas.get_bounding_client_rect();
        let (x, y) = (f64::from(event.client_x()) - rect.left(), f64::from(event.client_y()) - rect.top());
        if rect.width() <= 0.0 || !(0.0..=rect.width()).contains(&x) || !(0.0..=rect.height()).contains(&y) {
            return None;
        }
        let space = views.shown.with_untracked(|s| s.as_ref().map(|s| space_of(s, which.get_untracked())))?;
        let z = space.from_unit([x / rect.width(), y / rect.height()]);
        Some((x / rect.width(), y / rect.height(), [z[0] as f32, z[1] as f32]))
    };

    // Arrow keys move the pinned point (from the sliders' point when none is pinned) by a
    // fiftieth of the picture, a tenth with Shift; Escape unpins.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let Some(space) = views.shown.with_untracked(|s| s.as_ref().map(|s| space_of(s, which.get_untracked()))) else { return };
        let key = ev.key();
        if key == "Escape" && views.pinned.get_untracked().is_some() {
            ev.prevent_default();
            views.pinned.set(None);
            return;
        }
        let Some(step) = Step::of_key(&key) else { return };
        let from = views.pinned.get_untracked().or_else(|| match views.point.get_untracked()[..] {
            [z1, z2] => Some([z1, z2]),
            _ => None,
        });
        let Some(from) = from else { return };
        ev.prevent_default();
        let z = step_point(space, from, step, if ev.shift_key() { 0.1 } else { 0.02 });
        views.pinned.set(Some(z));
        views.point.set(z.to_vec());
    };
    // The pinned point in words: where it is, and the test image nearest it.
    let pinned_nearest = move || {
        let z = views.pinned.get()?;
        views.shown.with(|s| {
            let (index, class) = s.as_ref()?.nearest_test_image(z)?;
            Some(format!("The nearest test image is #{index}, a {class}."))
        })
    };

    let legend = move || views.shown.with(|s| s.as_ref().map(|s| class_legend(&s.manifest.class_names)));
    let map_note = move || {
        views.shown.with(|s| {
            s.as_ref().and_then(|s| s.map.as_ref().err().cloned()).map(|why| view! { <p class="error">"No latent map: " {why}</p> })
        })
    };
    let space_button = move |space: MapSpace, label: &'static str| {
        view! {
            <button
                type="button"
                data-testid=format!("map-space-{}", if space == MapSpace::Z { "z" } else { "p" })
                aria-pressed=move || (which.get() == space).to_string()
                on:click=move |_| which.set(space)
            >
                {label}
            </button>
        }
    };
    view! {
        <section class="panel map-panel" aria-labelledby="map-title">
            <h2 id="map-title">"Where the test set lands"</h2>
            <div class="controls" role="group" aria-label="Coordinates">
                {space_button(MapSpace::Z, "z-space")}
                {space_button(MapSpace::P, "p-space, Φ(z)")}
            </div>
            <div class="map-frame">
                <canvas
                    node_ref=map_canvas
                    id="latent-map"
                    class="latent-map"
                    width="560"
                    height="560"
                    tabindex="0"
                    role="application"
                    aria-roledescription="latent map"
                    aria-label="Scatter plot of the test images' encodings, coloured by class; hover to preview a decode, \
                                click to pin it; from the keyboard, the arrow keys move a pinned point (Shift: larger steps) \
                                and Escape unpins it"
                    aria-describedby="pinned-words"
                    on:keydown=on_key
                    on:pointermove=move |ev| hover.set(locate(&ev))
                    on:pointerleave=move |_| hover.set(None)
                    on:click=move |ev: web_sys::MouseEvent| {
                        let Some(canvas) = map_canvas.get_untracked() else { return };
                        let rect = canvas.get_bounding_client_rect();
                        let unit = [
                            (f64::from(ev.client_x()) - rect.left()) / rect.width(),
                            (f64::from(ev.client_y()) - rect.top()) / rect.height(),
                        ];
                        let Some(space) = views.shown.with_untracked(|s| s.as_ref().map(|s| space_of(s, which.get_untracked())))
                        else {
                            return;
                        };
                        let z = space.from_unit(unit);
                        let z = [z[0] as f32, z[1] as f32];
                        views.pinned.set(Some(z));
                        views.point.set(z.to_vec());
                    }
                ></canvas>
                <PointMarker at=point_on_map />
                <canvas
                    node_ref=preview_canvas
                    class="hover-preview"
                    width="28"
                    height="28"
                    aria-hidden="true"
                    style:display=move || if hover.get().is_some() { "block" } else { "none" }
                    style:left=move || hover.get().map(|(x, _, _)| format!("{:.1}%", 100.0 * x)).unwrap_or_default()
                    style:top=move || hover.get().map(|(_, y, _)| format!("{:.1}%", 100.0 * y)).unwrap_or_default()
                ></canvas>
            </div>
            <ul class="legend">{legend}</ul>
            {map_note}
            <div class="pinned" class:hidden=move || views.pinned.get().is_none()>
                <canvas node_ref=pinned_canvas id="pinned-decode" class="pinned-image" width="28" height="28" role="img"
                    aria-label=move || match views.pinned.get() {
                        Some(z) => format!("The decoder's image of the pinned point z = {}", describe_point(&z, 2)),
                        None => "The decoder's image of the pinned point (none is pinned)".to_string(),
                    }></canvas>
                <p>
                    <span id="pinned-words" aria-live="polite">
                        "Pinned at z = "
                        <span data-testid="pinned-z">{move || views.pinned.get().map(|z| describe_point(&z, 2)).unwrap_or_default()}</span>
                        ". "
                        <span data-testid="pinned-nearest">{pinned_nearest}</span>
                    </span>
                    <br />
                    <button type="button" on:click=move |_| views.pinned.set(None)>"Unpin"</button>
                    " "
                    <button type="button" data-testid="pin-to-tray" on:click=add_nearest>"Add the nearest test image to the tray"</button>
                </p>
            </div>
            <p class="caption" data-testid="map-caption">
                {move || views.shown.with(|s| {
                    let count = s.as_ref().and_then(|s| s.map.as_ref().ok()).map_or(0, |m| m.labels.len());
                    let letters = s.as_ref().is_some_and(|s| s.manifest.dataset == crate::lab::LETTERS_DATA);
                    if letters {
                        format!("Each dot is the encoder's mean μ of one of your {count} drawings, coloured by your label.")
                    } else if count > 0 {
                        let count = if count >= 1000 { format!("{},{:03}", count / 1000, count % 1000) } else { count.to_string() };
                        format!("Each dot is the encoder's mean μ of one of the first {count} test images.")
                    } else {
                        "Each dot is the encoder's mean μ of one of the first test images.".to_string()
                    }
                })}
                " In p-space each axis goes through Φ, so a VAE whose codes follow the prior N(0, I) fills the square \
                 evenly. Hover to preview the decoder's image at the pointer; click to pin it (the sliders move there too)."
            </p>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </section>
    }
}

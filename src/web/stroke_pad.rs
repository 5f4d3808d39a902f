//! A square pad that records what is drawn on it with a mouse, a finger or a pen, as
//! strokes (lists of points in pad pixels), and shows them with a round brush. The
//! strokes, not the pad's pixels, become the model's input (see `preprocess`).

use std::cell::Cell;
use std::rc::Rc;

use leptos::html::Canvas;
use leptos::prelude::*;
use web_sys::PointerEvent;

use crate::core::preprocess::{Stroke, PAD_BRUSH, PAD_SIDE};
use crate::web::canvas::context;

fn paint_strokes(canvas: &web_sys::HtmlCanvasElement, strokes: &[Stroke]) -> Result<(), String> {
    let ctx = context(canvas)?;
    let (side, brush) = (f64::from(PAD_SIDE), f64::from(PAD_BRUSH));
    ctx.set_fill_style_str("#000000");
    ctx.fill_rect(0.0, 0.0, side, side);
    ctx.set_stroke_style_str("#ffffff");
    ctx.set_fill_style_str("#ffffff");
    ctx.set_line_width(brush);
    ctx.set_line_cap("round");
    ctx.set_line_join("round");
    for stroke in strokes {
        let Some(first) = stroke.first() else { continue };
        ctx.begin_path();
        if stroke.len() == 1 {
            let _ = ctx.arc(f64::from(first[0]), f64::from(first[1]), brush / 2.0, 0.0, std::f64::consts::TAU);
            ctx.fill();
            continue;
        }
        ctx.move_to(f64::from(first[0]), f64::from(first[1]));
        for point in &stroke[1..] {
            ctx.line_to(f64::from(point[0]), f64::from(point[1]));
        }
        ctx.stroke();
    }
    Ok(())
}

/// The pad: `strokes` holds what is drawn (the caller clears or undoes it);
/// `on_stroke_end` runs when the pen lifts.
#[component]
pub fn StrokePad(
    strokes: RwSignal<Vec<Stroke>>,
    on_stroke_end: impl Fn() + 'static,
    id: &'static str,
    label: &'static str,
) -> impl IntoView {
    let pad = NodeRef::<Canvas>::new();
    let pen_down = Rc::new(Cell::new(false));
    let side = (PAD_SIDE as u32).to_string();

    Effect::new(move |_| {
        let Some(canvas) = pad.get() else { return };
        strokes.with(|s| {
            if let Err(e) = paint_strokes(&canvas, s) {
                web_sys::console::error_1(&format!("latentlab: the pad cannot paint: {e}").into());
            }
        });
    });

    let pad_point = move |event: &PointerEvent| -> Option<[f32; 2]> {
        let canvas = pad.get_untracked()?;
        let rect = canvas.get_bounding_client_rect();
        if rect.width() <= 0.0 {
            return None;
        }
        let scale = f64::from(PAD_SIDE) / rect.width();
        Some([
            ((f64::from(event.client_x()) - rect.left()) * scale) as f32,
            ((f64::from(event.client_y()) - rect.top()) * scale) as f32,
        ])
    };
    let (down, moving, up) = (pen_down.clone(), pen_down.clone(), pen_down);
    view! {
        <canvas
            node_ref=pad
            id=id
            class="draw-pad"
            width=side.clone()
            height=side
            aria-label=label
            on:pointerdown=move |ev: PointerEvent| {
                ev.prevent_default();
                if let Some(canvas) = pad.get_untracked() {
                    // Keep the stroke while the pointer leaves the pad: it is clipped, not lost.
                    let _ = canvas.set_pointer_capture(ev.pointer_id());
                }
                if let Some(point) = pad_point(&ev) {
                    down.set(true);
                    strokes.update(|s| s.push(vec![point]));
                }
            }
            on:pointermove=move |ev: PointerEvent| {
                if moving.get() {
                    if let Some(point) = pad_point(&ev) {
                        strokes.update(|s| {
                            if let Some(stroke) = s.last_mut() {
                                stroke.push(point);
                            }
                        });
                    }
                }
            }
            on:pointerup=move |_| {
                if up.replace(false) {
                    on_stroke_end();
                }
            }
        ></canvas>
    }
}

//! Messages between the page and the engine's worker: a JSON text and an optional binary
//! part (bytes or f32 values) whose buffer is transferred, not copied.

use js_sys::{Array, ArrayBuffer, Float32Array, Object, Reflect, Uint8Array};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};

/// A message's binary part.
pub enum Part<'a> {
    Bytes(&'a [u8]),
    Floats(&'a [f32]),
}

/// The envelope to post (`{json, part}`) and the buffers to transfer with it.
pub fn envelope(message: &impl Serialize, part: Option<Part>) -> (JsValue, Array) {
    let envelope = Object::new();
    let json = serde_json::to_string(message).unwrap_or_default();
    let _ = Reflect::set(&envelope, &"json".into(), &json.into());
    let transfer = Array::new();
    let buffer = match part {
        Some(Part::Bytes(bytes)) => Some(Uint8Array::from(bytes).buffer()),
        Some(Part::Floats(values)) => Some(Float32Array::from(values).buffer()),
        None => None,
    };
    if let Some(buffer) = buffer {
        let _ = Reflect::set(&envelope, &"part".into(), &buffer);
        transfer.push(&buffer);
    }
    (envelope.into(), transfer)
}

/// The message in an envelope, or why it is not one.
pub fn message<T: DeserializeOwned>(envelope: &JsValue) -> Result<T, String> {
    let json = Reflect::get(envelope, &"json".into()).ok().and_then(|j| j.as_string()).ok_or("not a latentlab message")?;
    serde_json::from_str(&json).map_err(|e| format!("a message not understood ({e})"))
}

fn part(envelope: &JsValue) -> Option<ArrayBuffer> {
    Reflect::get(envelope, &"part".into()).ok()?.dyn_into::<ArrayBuffer>().ok()
}

/// The binary part as bytes (empty when there is none).
pub fn part_bytes(envelope: &JsValue) -> Vec<u8> {
    part(envelope).map_or_else(Vec::new, |buffer| Uint8Array::new(&buffer).to_vec())
}

/// The binary part as f32 values; `None` when there is none or it is not whole floats.
pub fn part_floats(envelope: &JsValue) -> Option<Vec<f32>> {
    let buffer = part(envelope)?;
    (buffer.byte_length() % 4 == 0).then(|| Float32Array::new(&buffer).to_vec())
}

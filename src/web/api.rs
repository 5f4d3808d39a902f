//! `window.latentlab`: the page's JS API for the console, tests and benchmarks.
//!
//! - `latentlab.ready`: a promise, resolved once the model is loaded and the grid painted;
//! - `latentlab.backend()`: "webgpu" or "cpu" (undefined before the backend is chosen);
//! - `latentlab.decode(zs)`: zs is an array of latent vectors; resolves to a Float32Array
//!   of zs.length × 28 × 28 pixel values in [0, 1], row by row.

use js_sys::{Array, Float32Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::session::Session;

pub fn install(session: &Session) -> Result<(), JsValue> {
    let api = Object::new();
    Reflect::set(&api, &"ready".into(), session.ready())?;

    let for_backend = session.clone();
    let backend = Closure::<dyn Fn() -> JsValue>::new(move || {
        for_backend
            .engine()
            .map_or(JsValue::UNDEFINED, |engine| engine.backend.name().into())
    });
    Reflect::set(&api, &"backend".into(), &backend.into_js_value())?;

    let for_decode = session.clone();
    let decode = Closure::<dyn Fn(JsValue) -> Promise>::new(move |zs: JsValue| {
        let session = for_decode.clone();
        future_to_promise(async move {
            JsFuture::from(session.ready().clone()).await?;
            let engine = session.engine().ok_or("the model is not loaded")?;
            let latents = flatten_latents(&zs, engine.latent()).map_err(js_error)?;
            let pixels = engine.decode(latents).await.map_err(js_error)?;
            Ok(Float32Array::from(pixels.as_slice()).into())
        })
    });
    Reflect::set(&api, &"decode".into(), &decode.into_js_value())?;

    Reflect::set(&js_sys::global(), &"latentlab".into(), &api)?;
    Ok(())
}

fn js_error(message: String) -> JsValue {
    js_sys::Error::new(&message).into()
}

/// Checks that `zs` is a non-empty array of `latent`-long arrays of finite numbers
/// and flattens it.
fn flatten_latents(zs: &JsValue, latent: usize) -> Result<Vec<f32>, String> {
    if !Array::is_array(zs) {
        return Err("decode(zs) expects an array of latent vectors".to_string());
    }
    let zs = Array::from(zs);
    if zs.length() == 0 {
        return Err("decode(zs) got no latent vectors".to_string());
    }
    let mut flat = Vec::with_capacity(zs.length() as usize * latent);
    for (index, z) in zs.iter().enumerate() {
        let values: Vec<f64> = if Array::is_array(&z) {
            Array::from(&z).iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()
        } else if let Some(typed) = z.dyn_ref::<Float32Array>() {
            typed.to_vec().into_iter().map(f64::from).collect()
        } else {
            return Err(format!("zs[{index}] is not an array of numbers"));
        };
        if values.len() != latent {
            return Err(format!(
                "zs[{index}] has {} numbers; this model's latent space has {latent} dimensions",
                values.len()
            ));
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(format!("zs[{index}] holds {bad}, not a finite number"));
        }
        flat.extend(values.into_iter().map(|v| v as f32));
    }
    Ok(flat)
}

//! `window.latentlab`: the page's JS API for the console, tests and benchmarks.
//!
//! - `latentlab.ready`: a promise, resolved once the first model is loaded and painted;
//! - `latentlab.backend()`: "webgpu" or "cpu" (undefined before a model is shown);
//! - `latentlab.decode(zs)`: zs is an array of latent vectors; resolves to a Float32Array
//!   of zs.length × 28 × 28 pixel values in [0, 1], row by row;
//! - `latentlab.encode(images)`: images is an array of 28×28 images (each 784 values in
//!   [0, 1], row by row, white ink on black); resolves to `{mu, logvar}`, each an array
//!   of latent vectors;
//! - `latentlab.models()`: resolves to `[{name, manifest}]`, every shipped model;
//! - `latentlab.use(name)`: switches the page to model `name`, as the picker does, and
//!   resolves once it is shown;
//! - `latentlab.painted()`: resolves once the plots' paints asked for so far have run (each
//!   runs in a task of its own, after the frame);
//! - `latentlab.wasmMemoryBytes()`: the size of the page's wasm memory, and
//!   `latentlab.engineMemoryBytes()` a promise of the engine worker's (benchmarks).
//!
//! - `latentlab.lab`: the training lab: `start(settings)` (settings as in the form:
//!   `{dataset, classes, latent, arch, kind, beta, lr, batch, seed, from, letters}`, each
//!   optional; `letters: true` trains on the letters workshop's set;
//!   resolves with the status once the first step has run), `pause()`, `step(count)`
//!   (`count` batches, default 1, then paused; resolves with the status after them),
//!   `reset()`, `status()` → `{state, step, epoch, imagesPerSecond, backend, loss,
//!   heldout, message}` or null, `use()` (resolves once the trained model is on show),
//!   `close()`, `lesson(id, {length, steps})` (queues a lesson's runs, "kl", "beta", "ae",
//!   "subset", "latent" or "network", `length` "short" or "longer", or every run `steps`
//!   batches; resolves with the names the runs are kept under once they are trained).
//!
//! - `latentlab.testing.panic(message)`: panics inside the wasm on purpose, so a test can
//!   check that a panic reaches the person as a message with a way back, never as a
//!   silently dead page. (After it the page's wasm is spent: reload.)
//!
//! decode and encode run on the model the page shows, in the model engine's worker.
//! decode takes at most 10,000 points and encode 2,000 images per call (more is refused
//! with a message).

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::core::catalogue::ShippedModel;
use crate::core::data::IMAGE_PIXELS;
use crate::lab::lessons::{Lesson, LessonRun, Length, LESSONS};
use crate::lab::{LabSettings, MAX_STEPS_PER_CALL};
use crate::web::engine::Engine;
use crate::web::lab_client::Lab;
use crate::web::session::Session;

/// The most points one `decode` call takes (31 MB of pixels back).
const MAX_DECODE_POINTS: u32 = 10_000;
/// The most images one `encode` call takes.
const MAX_ENCODE_IMAGES: u32 = 2_000;

pub fn install(session: &Session, lab: &Lab) -> Result<(), JsValue> {
    let api = Object::new();
    Reflect::set(&api, &"ready".into(), &session.ready())?;

    let for_backend = session.clone();
    let backend = Closure::<dyn Fn() -> JsValue>::new(move || {
        for_backend
            .shown()
            .map_or(JsValue::UNDEFINED, |engine| engine.backend().name().into())
    });
    Reflect::set(&api, &"backend".into(), &backend.into_js_value())?;

    let for_threads = session.clone();
    let engine_threads = Closure::<dyn Fn() -> JsValue>::new(move || {
        for_threads.started().map_or(JsValue::UNDEFINED, |started| (started.cpu_threads as u32).into())
    });
    Reflect::set(&api, &"engineThreads".into(), &engine_threads.into_js_value())?;

    let for_decode = session.clone();
    let decode = Closure::<dyn Fn(JsValue) -> Promise>::new(move |zs: JsValue| {
        let session = for_decode.clone();
        future_to_promise(async move {
            let engine = shown_engine(&session).await?;
            let latents =
                flatten_vectors(&zs, engine.latent(), MAX_DECODE_POINTS, "decode(zs)", "latent vector").map_err(js_error)?;
            // (After a lost WebGPU device the engine restarts it and tries once more.)
            let pixels = engine.decode(&latents).await.map_err(js_error)?;
            Ok(Float32Array::from(pixels.as_slice()).into())
        })
    });
    Reflect::set(&api, &"decode".into(), &decode.into_js_value())?;

    let for_encode = session.clone();
    let encode = Closure::<dyn Fn(JsValue) -> Promise>::new(move |images: JsValue| {
        let session = for_encode.clone();
        future_to_promise(async move {
            let engine = shown_engine(&session).await?;
            let pixels =
                flatten_vectors(&images, IMAGE_PIXELS, MAX_ENCODE_IMAGES, "encode(images)", "28×28 image").map_err(js_error)?;
            if let Some(bad) = pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(js_error(format!("encode(images) takes pixel values in [0, 1], got {bad}")));
            }
            let encoded = engine.encode(&pixels).await.map_err(js_error)?;
            let latent = engine.latent();
            let result = Object::new();
            Reflect::set(&result, &"mu".into(), &nested(&encoded.mean, latent))?;
            Reflect::set(&result, &"logvar".into(), &nested(&encoded.log_var, latent))?;
            Ok(result.into())
        })
    });
    Reflect::set(&api, &"encode".into(), &encode.into_js_value())?;

    let for_models = session.clone();
    let models = Closure::<dyn Fn() -> Promise>::new(move || {
        let session = for_models.clone();
        future_to_promise(async move {
            let list = Array::new();
            for model in ShippedModel::all() {
                let name = model.name();
                let manifest = session.manifest(&name).await.map_err(js_error)?;
                let manifest = serde_json::to_string(&*manifest).map_err(|e| js_error(e.to_string()))?;
                let entry = Object::new();
                Reflect::set(&entry, &"name".into(), &name.into())?;
                Reflect::set(&entry, &"manifest".into(), &js_sys::JSON::parse(&manifest)?)?;
                list.push(&entry);
            }
            for model in session.kept() {
                let manifest = serde_json::to_string(&model.manifest).map_err(|e| js_error(e.to_string()))?;
                let entry = Object::new();
                Reflect::set(&entry, &"name".into(), &model.name().into())?;
                Reflect::set(&entry, &"title".into(), &model.title.as_str().into())?;
                Reflect::set(&entry, &"kept".into(), &true.into())?;
                Reflect::set(&entry, &"manifest".into(), &js_sys::JSON::parse(&manifest)?)?;
                list.push(&entry);
            }
            Ok(list.into())
        })
    });
    Reflect::set(&api, &"models".into(), &models.into_js_value())?;

    let for_use = session.clone();
    let use_model = Closure::<dyn Fn(JsValue) -> Promise>::new(move |name: JsValue| match name.as_string() {
        Some(name) if ShippedModel::find(&name).is_some() || for_use.is_kept(&name) => for_use.request(name),
        _ => {
            let known: Vec<String> = ShippedModel::all().map(ShippedModel::name).collect();
            Promise::reject(&js_error(format!(
                "use(name) takes the name of a shipped model ({}) or of one kept in this browser (latentlab.models() lists them)",
                known.join(", ")
            )))
        }
    });
    Reflect::set(&api, &"use".into(), &use_model.into_js_value())?;

    let painted = Closure::<dyn Fn() -> Promise>::new(|| {
        future_to_promise(async {
            crate::web::tasks::own_tasks_done().await;
            Ok(JsValue::UNDEFINED)
        })
    });
    Reflect::set(&api, &"painted".into(), &painted.into_js_value())?;

    let memory = Closure::<dyn Fn() -> f64>::new(crate::browser::wasm_memory_bytes);
    Reflect::set(&api, &"wasmMemoryBytes".into(), &memory.into_js_value())?;
    let for_engine_memory = session.clone();
    let engine_memory = Closure::<dyn Fn() -> Promise>::new(move || {
        let session = for_engine_memory.clone();
        future_to_promise(async move {
            let bytes = session.worker().map_err(js_error)?.memory_bytes().await.map_err(js_error)?;
            Ok(bytes.into())
        })
    });
    Reflect::set(&api, &"engineMemoryBytes".into(), &engine_memory.into_js_value())?;

    Reflect::set(&api, &"lab".into(), &JsValue::from(lab_api(lab)?))?;
    Reflect::set(&api, &"testing".into(), &JsValue::from(testing_api()?))?;
    Reflect::set(&js_sys::global(), &"latentlab".into(), &api)?;
    Ok(())
}

fn lab_api(lab: &Lab) -> Result<Object, JsValue> {
    let api = Object::new();
    let for_start = lab.clone();
    let start = Closure::<dyn Fn(JsValue) -> Promise>::new(move |settings: JsValue| {
        let json = if settings.is_undefined() || settings.is_null() {
            "{}".to_string()
        } else {
            js_sys::JSON::stringify(&settings).ok().and_then(|s| s.as_string()).unwrap_or_default()
        };
        match LabSettings::from_json(&json) {
            Ok(settings) => for_start.start(settings, true),
            Err(message) => Promise::reject(&js_error(message)),
        }
    });
    Reflect::set(&api, &"start".into(), &start.into_js_value())?;
    let for_step = lab.clone();
    let step = Closure::<dyn Fn(JsValue) -> Promise>::new(move |count: JsValue| {
        match count.as_f64() {
            None if count.is_undefined() => for_step.step(1),
            Some(n) if n.fract() == 0.0 && n >= 1.0 => for_step.step(n.min(u64::MAX as f64) as u64),
            _ => {
                let shown = js_sys::JSON::stringify(&count).map(String::from).unwrap_or_else(|_| "that".to_string());
                Promise::reject(&js_error(format!("step: {shown} is not a whole number of batches")))
            }
        }
    });
    Reflect::set(&api, &"step".into(), &step.into_js_value())?;
    let calls: [(&str, fn(&Lab) -> Promise); 4] = [("play", Lab::play), ("pause", Lab::pause), ("reset", Lab::reset), ("use", Lab::use_model)];
    for (name, call) in calls {
        let lab = lab.clone();
        let function = Closure::<dyn Fn() -> Promise>::new(move || call(&lab));
        Reflect::set(&api, &name.into(), &function.into_js_value())?;
    }
    let for_lesson = lab.clone();
    let lesson = Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(move |id: JsValue, options: JsValue| {
        match lesson_runs(&id, &options) {
            Ok(runs) => for_lesson.queue_runs(runs),
            Err(message) => Promise::reject(&js_error(message)),
        }
    });
    Reflect::set(&api, &"lesson".into(), &lesson.into_js_value())?;
    let for_status = lab.clone();
    let status = Closure::<dyn Fn() -> JsValue>::new(move || for_status.status_value());
    Reflect::set(&api, &"status".into(), &status.into_js_value())?;
    let for_close = lab.clone();
    let close = Closure::<dyn Fn()>::new(move || for_close.close());
    Reflect::set(&api, &"close".into(), &close.into_js_value())?;
    Ok(api)
}

/// `lesson(id, {length, steps})`: the lesson's runs, `length` "short" (the default) or
/// "longer", every run trained `steps` batches where given.
fn lesson_runs(id: &JsValue, options: &JsValue) -> Result<Vec<LessonRun>, String> {
    let ids = || LESSONS.map(|l| l.id).join(", ");
    let id = id.as_string().ok_or_else(|| format!("lesson(id): id is one of {}", ids()))?;
    let lesson = Lesson::find(&id).ok_or_else(|| format!("lesson: \"{id}\" is not a lesson; the lessons are {}", ids()))?;
    let option = |name: &str| if options.is_object() { Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED) } else { JsValue::UNDEFINED };
    let length = match option("length").as_string() {
        None => Length::Short,
        Some(text) => Length::parse(&text).ok_or_else(|| format!("lesson: length \"{text}\" is not \"short\" or \"longer\""))?,
    };
    let mut runs = lesson.runs(length);
    let steps = option("steps");
    if !steps.is_undefined() {
        match steps.as_f64() {
            Some(n) if n.fract() == 0.0 && (1.0..=MAX_STEPS_PER_CALL as f64).contains(&n) => runs.iter_mut().for_each(|r| r.steps = n as u64),
            _ => return Err(format!("lesson: steps is a whole number of batches from 1 to {MAX_STEPS_PER_CALL}")),
        }
    }
    Ok(runs)
}

fn testing_api() -> Result<Object, JsValue> {
    let api = Object::new();
    let panic = Closure::<dyn Fn(JsValue)>::new(|message: JsValue| {
        let message = message.as_string().unwrap_or_else(|| "latentlab.testing.panic()".to_string());
        panic!("{message}");
    });
    Reflect::set(&api, &"panic".into(), &panic.into_js_value())?;
    Ok(api)
}

async fn shown_engine(session: &Session) -> Result<Rc<Engine>, JsValue> {
    JsFuture::from(session.ready()).await?;
    session.shown().ok_or_else(|| js_error("no model is loaded".to_string()))
}

fn js_error(message: String) -> JsValue {
    js_sys::Error::new(&message).into()
}

/// `values` (n × width, flat) as an array of n arrays.
fn nested(values: &[f32], width: usize) -> Array {
    values
        .chunks_exact(width)
        .map(|row| JsValue::from(row.iter().map(|&v| JsValue::from(v)).collect::<Array>()))
        .collect()
}

/// Checks that `items` is a non-empty array of at most `most` `width`-long arrays (or
/// Float32Arrays) of finite numbers and flattens it. `call` and `what` name them in
/// messages.
fn flatten_vectors(items: &JsValue, width: usize, most: u32, call: &str, what: &str) -> Result<Vec<f32>, String> {
    if !Array::is_array(items) {
        return Err(format!("{call} expects an array of {what}s"));
    }
    let items = Array::from(items);
    if items.length() == 0 {
        return Err(format!("{call} got no {what}s"));
    }
    if items.length() > most {
        return Err(format!("{call} takes at most {most} {what}s per call, got {}: split the request", items.length()));
    }
    let mut flat = Vec::with_capacity(items.length() as usize * width);
    for (index, item) in items.iter().enumerate() {
        let values: Vec<f64> = if Array::is_array(&item) {
            // One conversion on the JS side (anything that is not a number becomes NaN,
            // refused below): reading a long array element by element is slow.
            js_sys::Float64Array::new(&item).to_vec()
        } else if let Some(typed) = item.dyn_ref::<Float32Array>() {
            typed.to_vec().into_iter().map(f64::from).collect()
        } else {
            return Err(format!("item {index} of {call} is not an array of numbers"));
        };
        if values.len() != width {
            return Err(format!(
                "item {index} of {call} has {} numbers; a {what} here has {width}",
                values.len()
            ));
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(format!("item {index} of {call} holds {bad}, not a finite number"));
        }
        flat.extend(values.into_iter().map(|v| v as f32));
    }
    Ok(flat)
}

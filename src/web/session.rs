//! What the page and the JS API share: the chosen backend, the models loaded so far
//! (kept, so that switching back is instant), their latent maps and histories, the
//! model on show, and the promises that wait for it.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

use super::backend::{self, BackendKind, ChosenDevice};
use super::engine::{self, Engine, LoadStep};
use super::fetch;
use crate::artifacts::{History, LatentMap};
use crate::catalogue::{DatasetId, ShippedModel};
use crate::image_set::ImageSet;
use crate::weights::{self, Manifest};

#[derive(Clone)]
pub struct Session {
    inner: Rc<Inner>,
}

#[derive(Default)]
struct Inner {
    backend: RefCell<Option<ChosenDevice>>,
    /// Whether the page is restarting a failed WebGPU device.
    recovering: Cell<bool>,
    /// Told, in words, what became of a restart (set by the page).
    on_recovered: RefCell<Option<Rc<dyn Fn(String, BackendKind)>>>,
    manifests: RefCell<HashMap<String, Arc<Manifest>>>,
    engines: RefCell<HashMap<String, Rc<Engine>>>,
    maps: RefCell<HashMap<String, Arc<LatentMap>>>,
    histories: RefCell<HashMap<String, Arc<History>>>,
    heldout: RefCell<HashMap<String, Arc<ImageSet>>>,
    shown: RefCell<Option<Rc<Engine>>>,
    /// Settles `ready`: resolve, reject.
    first_show: RefCell<Option<(Function, Function)>>,
    ready: OnceCell<Promise>,
    /// How the page switches model (set by the page once it is mounted).
    switcher: RefCell<Option<Rc<dyn Fn(String)>>>,
    /// `use(name)` calls waiting for that model to be shown: name, resolve, reject.
    waiting: RefCell<Vec<(String, Function, Function)>>,
}

impl Session {
    pub fn new() -> Self {
        let inner = Rc::new(Inner::default());
        let mut settle = None;
        let ready = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        *inner.first_show.borrow_mut() = settle;
        let _ = inner.ready.set(ready);
        Self { inner }
    }

    /// Resolves once the first model is loaded and its views painted; rejects with the
    /// reason when that fails.
    pub fn ready(&self) -> Promise {
        self.inner.ready.get().cloned().expect("set in new")
    }

    pub fn set_backend(&self, chosen: ChosenDevice) {
        *self.inner.backend.borrow_mut() = Some(chosen);
    }

    pub fn backend(&self) -> Option<ChosenDevice> {
        self.inner.backend.borrow().clone()
    }

    /// Restarts the backend when a WebGPU operation fails, and tells `on_recovered`.
    pub fn watch_device(&self, on_recovered: impl Fn(String, BackendKind) + 'static) {
        *self.inner.on_recovered.borrow_mut() = Some(Rc::new(on_recovered));
        let session = self.clone();
        engine::watch_device_failures(move |error| session.recover_device(error));
    }

    /// After a WebGPU failure (a lost device): starts a new device, or the CPU backend when
    /// that fails, and loads every model loaded so far onto it. Runs once at a time.
    fn recover_device(&self, error: String) {
        if self.inner.recovering.replace(true) {
            return;
        }
        let session = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (message, kind) = session.restart_backend(&error).await;
            session.inner.recovering.set(false);
            let notify = session.inner.on_recovered.borrow().clone();
            if let Some(notify) = notify {
                notify(message, kind);
            }
        });
    }

    async fn restart_backend(&self, error: &str) -> (String, BackendKind) {
        let (chosen, how) = match backend::init_webgpu().await {
            Ok(device) if backend::works(&device).await => {
                (ChosenDevice::webgpu(device), "started a new WebGPU device")
            }
            outcome => {
                let why = outcome.err().unwrap_or_else(|| "a new WebGPU device does not compute either".to_string());
                let reason = format!("the WebGPU device was lost and could not be restarted ({why})");
                (ChosenDevice::cpu(Some(reason)), "moved to the CPU backend")
            }
        };
        let loaded: Vec<(String, Rc<Engine>)> = self.inner.engines.borrow().iter().map(|(n, e)| (n.clone(), e.clone())).collect();
        let mut moved = HashMap::new();
        let mut lost = Vec::new();
        for (name, engine) in loaded {
            match engine.on_device(&chosen) {
                Ok(engine) => {
                    moved.insert(name, Rc::new(engine));
                }
                Err(_) => lost.push(name),
            }
        }
        let shown = self.shown().and_then(|engine| moved.get(&engine.manifest.name).cloned());
        *self.inner.engines.borrow_mut() = moved;
        *self.inner.shown.borrow_mut() = shown;
        let kind = chosen.kind;
        self.set_backend(chosen);
        let first_line = error.lines().next().unwrap_or(error);
        let mut message = format!("The WebGPU device failed ({first_line}): the page {how} and loaded its models again.");
        if !lost.is_empty() {
            message.push_str(&format!(" These could not be loaded again: {}.", lost.join(", ")));
        }
        (message, kind)
    }

    /// For a request that failed on `engine`: waits for a device restart under way and
    /// returns the model on show if it now runs elsewhere, to try once more.
    pub async fn after_restart(&self, engine: &Rc<Engine>) -> Option<Rc<Engine>> {
        if engine.backend != BackendKind::WebGpu {
            return None;
        }
        for _ in 0..1500 {
            if !self.inner.recovering.get() {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(20).await;
        }
        self.shown().filter(|now| !Rc::ptr_eq(now, engine))
    }

    /// The model the page shows now.
    pub fn shown(&self) -> Option<Rc<Engine>> {
        self.inner.shown.borrow().clone()
    }

    pub async fn manifest(&self, name: &str) -> Result<Arc<Manifest>, String> {
        if let Some(found) = self.inner.manifests.borrow().get(name) {
            return Ok(found.clone());
        }
        let plain_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain_name {
            let known: Vec<String> = ShippedModel::all().map(ShippedModel::name).collect();
            return Err(format!("\"{name}\" is not a model name; the models are {}", known.join(", ")));
        }
        let url = format!("models/{name}.json");
        let manifest = weights::parse_manifest(&fetch::fetch_text(&url).await?).map_err(|e| format!("{url}: {e}"))?;
        let manifest = Arc::new(manifest);
        self.inner.manifests.borrow_mut().insert(name.to_string(), manifest.clone());
        Ok(manifest)
    }

    /// The model called `name`, downloaded and loaded the first time it is asked for.
    pub async fn engine(&self, name: &str, report: impl Fn(LoadStep)) -> Result<Rc<Engine>, String> {
        if let Some(found) = self.inner.engines.borrow().get(name) {
            return Ok(found.clone());
        }
        let manifest = self.manifest(name).await?;
        let chosen = self.backend().ok_or("the compute backend has not started")?;
        let engine = Rc::new(engine::load((*manifest).clone(), &chosen, report).await?);
        self.inner.engines.borrow_mut().insert(name.to_string(), engine.clone());
        Ok(engine)
    }

    /// The shipped encodings of the model's test images (`NAME.map.bin`).
    pub async fn latent_map(&self, name: &str) -> Result<Arc<LatentMap>, String> {
        fetch_once(&self.inner.maps, &format!("models/{name}.map.bin"), name, LatentMap::from_bytes).await
    }

    /// The model's training history (`NAME.history.bin`).
    pub async fn history(&self, name: &str) -> Result<Arc<History>, String> {
        if self.manifest(name).await?.history.is_none() {
            return Err(format!(
                "{name} has no recorded history (a model from the training lab: while the lab keeps its run, \
                 the lab's views below show it snapshot by snapshot, with its loss curves)"
            ));
        }
        fetch_once(&self.inner.histories, &format!("models/{name}.history.bin"), name, History::from_bytes).await
    }

    /// The first test images of `dataset`, as the site ships them for the lab.
    pub async fn heldout_images(&self, dataset: DatasetId) -> Result<Arc<ImageSet>, String> {
        fetch_once(&self.inner.heldout, &dataset.heldout_file(), dataset.name(), ImageSet::from_bytes).await
    }

    pub fn set_switcher(&self, switcher: impl Fn(String) + 'static) {
        *self.inner.switcher.borrow_mut() = Some(Rc::new(switcher));
    }

    /// Asks the page to show model `name`; the promise settles once it does (or fails to).
    pub fn request(&self, name: String) -> Promise {
        let already_shown = self.shown().is_some_and(|engine| engine.manifest.name == name);
        let switcher = self.inner.switcher.borrow().clone();
        Promise::new(&mut |resolve, reject| {
            if already_shown {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            } else if let Some(switch) = &switcher {
                self.inner.waiting.borrow_mut().push((name.clone(), resolve, reject));
                switch(name.clone());
            } else {
                let _ = reject.call1(&JsValue::UNDEFINED, &js_sys::Error::new("the page has not started"));
            }
        })
    }

    /// The page is about to show `engine`'s model: decode and encode use it from now on.
    pub fn set_shown(&self, engine: Rc<Engine>) {
        *self.inner.shown.borrow_mut() = Some(engine);
    }

    /// The page shows model `name`, painted: `ready` and `use(name)` resolve.
    pub fn mark_shown(&self, name: &str) {
        if let Some((resolve, _)) = self.inner.first_show.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
        self.settle_waiting(|waiting| waiting == name, |(resolve, _)| resolve.call0(&JsValue::UNDEFINED));
        // A request overtaken by this one will not be shown: say so instead of hanging.
        let overtaken = format!("the page switched to {name} before this model was shown");
        let error: JsValue = js_sys::Error::new(&overtaken).into();
        self.settle_waiting(|_| true, |(_, reject)| reject.call1(&JsValue::UNDEFINED, &error));
    }

    /// Showing model `name` failed (or was overtaken by another request). `ready` rejects
    /// too when nothing is shown and the page gives up (`giving_up`), rather than falling
    /// back to another model.
    pub fn mark_failed(&self, name: &str, reason: &str, giving_up: bool) {
        let error: JsValue = js_sys::Error::new(reason).into();
        if self.shown().is_none() && giving_up {
            if let Some((_, reject)) = self.inner.first_show.borrow_mut().take() {
                let _ = reject.call1(&JsValue::UNDEFINED, &error);
            }
        }
        self.settle_waiting(|waiting| waiting == name, |(_, reject)| reject.call1(&JsValue::UNDEFINED, &error));
    }

    fn settle_waiting(
        &self,
        matches: impl Fn(&str) -> bool,
        settle: impl Fn(&(Function, Function)) -> Result<JsValue, JsValue>,
    ) {
        let settled: Vec<(String, Function, Function)> = {
            let mut waiting = self.inner.waiting.borrow_mut();
            let (now, later) = waiting.drain(..).partition(|(name, _, _)| matches(name));
            *waiting = later;
            now
        };
        for (_, resolve, reject) in settled {
            let _ = settle(&(resolve, reject));
        }
    }
}

/// The file at `url`, parsed, from `cache` under `key` or downloaded the first time.
async fn fetch_once<T, E: std::fmt::Display>(
    cache: &RefCell<HashMap<String, Arc<T>>>,
    url: &str,
    key: &str,
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> Result<Arc<T>, String> {
    if let Some(found) = cache.borrow().get(key) {
        return Ok(found.clone());
    }
    let bytes = fetch::fetch_bytes(url, |_, _| {}).await?;
    let parsed = Arc::new(parse(&bytes).map_err(|e| format!("{url}: {e}"))?);
    cache.borrow_mut().insert(key.to_string(), parsed.clone());
    Ok(parsed)
}

impl Session {
    /// Adds a model that is not shipped (trained in the lab, or uploaded): its weights are
    /// checked against the manifest and loaded, so that `request(name)` can show it.
    pub fn register_model(&self, manifest: Manifest, bytes: &[u8], map: Option<LatentMap>) -> Result<String, String> {
        let chosen = self.backend().ok_or("the compute backend has not started")?;
        let name = manifest.name.clone();
        let engine = Rc::new(Engine::from_bytes(manifest.clone(), bytes, &chosen)?);
        self.inner.manifests.borrow_mut().insert(name.clone(), Arc::new(manifest));
        self.inner.engines.borrow_mut().insert(name.clone(), engine);
        match map {
            Some(map) => self.inner.maps.borrow_mut().insert(name.clone(), Arc::new(map)),
            None => self.inner.maps.borrow_mut().remove(&name),
        };
        Ok(name)
    }

    /// The model called `name` if it has been loaded already.
    pub fn cached_engine(&self, name: &str) -> Option<Rc<Engine>> {
        self.inner.engines.borrow().get(name).cloned()
    }
}

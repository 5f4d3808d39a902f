//! What the page and the JS API share: the model engine and its backend, the models loaded so far
//! (kept, so that switching back is instant), their latent maps and histories, the
//! model on show, and the promises that wait for it.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Function, Promise};
use leptos::prelude::{expect_context, provide_context, GetUntracked, GetValue, LocalStorage, Set, StoredValue, Update, WithUntracked};
use wasm_bindgen::{JsCast, JsValue};

use crate::browser::fetch;
use crate::core::backend_kind::BackendRequest;
use crate::core::artifacts::{History, LatentMap};
use crate::core::catalogue::{model_file_url, DatasetId, ShippedModel};
use crate::core::data::{bytes_to_unit, IMAGE_PIXELS};
use crate::core::image_set::ImageSet;
use crate::core::weights::{self, Manifest};
use crate::engine::StartedBackend;
use crate::web::engine::{self, Engine, EngineWorker, LoadStep};
use crate::web::kept;
use crate::web::state::{BackendInfo, Notice, Page, StorageLine, TrayItem};

#[derive(Clone)]
pub struct Session {
    inner: Rc<Inner>,
}

struct Inner {
    /// The page's signals: a request to show a model, and a restarted device, are told
    /// to the page through them.
    page: Page,
    /// The model engine's worker (or why it could not start), and its backend once chosen.
    worker: Result<EngineWorker, String>,
    started: RefCell<Option<StartedBackend>>,
    manifests: RefCell<HashMap<String, Arc<Manifest>>>,
    engines: RefCell<HashMap<String, Rc<Engine>>>,
    maps: RefCell<HashMap<String, Arc<LatentMap>>>,
    histories: RefCell<HashMap<String, Arc<History>>>,
    heldout: RefCell<HashMap<String, Arc<ImageSet>>>,
    shown: RefCell<Option<Rc<Engine>>>,
    /// Settles `ready`: resolve, reject.
    first_show: RefCell<Option<(Function, Function)>>,
    ready: OnceCell<Promise>,
    /// `use(name)` calls waiting for that model to be shown: name, resolve, reject.
    waiting: RefCell<Vec<(String, Function, Function)>>,
    /// Requests to show a model so far: one that has work to do first (the lab's export)
    /// gives way to any made after it began.
    show_requests: std::cell::Cell<u64>,
}

/// A place in the queue of requests to show a model (see [`Session::ticket`]).
pub struct ShowTicket {
    number: u64,
    requested: String,
}

/// Gives the session to the page's views as context (which must be `Send`: the session
/// lives on the page's one thread, so it goes in local storage).
pub fn provide_session(session: Session) {
    provide_context(StoredValue::new_local(session));
}

/// The session, for a view.
pub fn use_session() -> Session {
    expect_context::<StoredValue<Session, LocalStorage>>().get_value()
}

impl Session {
    pub fn new(page: Page) -> Self {
        let mut settle = None;
        let ready = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let inner = Rc::new(Inner {
            page,
            worker: EngineWorker::spawn(),
            started: RefCell::default(),
            manifests: RefCell::default(),
            engines: RefCell::default(),
            maps: RefCell::default(),
            histories: RefCell::default(),
            heldout: RefCell::default(),
            shown: RefCell::default(),
            first_show: RefCell::new(settle),
            ready: OnceCell::from(ready),
            waiting: RefCell::default(),
            show_requests: std::cell::Cell::new(0),
        });
        Self { inner }
    }

    /// Resolves once the first model is loaded and its views painted; rejects with the
    /// reason when that fails.
    pub fn ready(&self) -> Promise {
        self.inner.ready.get().cloned().expect("set in new")
    }

    /// Chooses the engine's backend: `requested`, or by itself.
    pub async fn start_backend(&self, requested: Option<BackendRequest>) -> Result<StartedBackend, String> {
        let started = self.worker()?.start(requested).await?;
        *self.inner.started.borrow_mut() = Some(started.clone());
        Ok(started)
    }

    /// The engine's backend, once it has started.
    pub fn started(&self) -> Option<StartedBackend> {
        self.inner.started.borrow().clone()
    }

    pub fn worker(&self) -> Result<EngineWorker, String> {
        self.inner.worker.clone()
    }

    /// When the engine restarts its backend after a WebGPU failure (with every model
    /// loaded again), the page says so and its views draw again on the new backend.
    pub fn watch_restarts(&self) {
        let Ok(worker) = self.worker() else { return };
        let page = self.inner.page;
        worker.on_restart(move |kind, message| {
            page.notify(Notice::always(message));
            page.backend.set(Some(BackendInfo { label: kind.label(), fallback_reason: None, timing: None, cpu_threads: 1, single_thread_reason: None }));
            page.views.shown.update(|_| {});
        });
    }

    /// The page's shared state.
    pub fn page(&self) -> Page {
        self.inner.page
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
        if ShippedModel::find(name).is_none() {
            if let Some(manifest) = self.load_kept(name).await? {
                return Ok(manifest);
            }
        }
        let url = model_file_url(&format!("{name}.json"));
        let text = fetch::fetch_text(&url).await.map_err(|e| match ShippedModel::find(name) {
            Some(_) => e,
            None => format!("{name} is neither a shipped model nor one kept in this browser ({e})"),
        })?;
        let manifest = weights::parse_manifest(&text).map_err(|e| format!("{url}: {e}"))?;
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
        // A kept model is loaded with its manifest.
        if let Some(found) = self.inner.engines.borrow().get(name) {
            return Ok(found.clone());
        }
        let engine = Rc::new(engine::load(&self.worker()?, (*manifest).clone(), report).await?);
        self.inner.engines.borrow_mut().insert(name.to_string(), engine.clone());
        Ok(engine)
    }

    /// The shipped encodings of the model's test images (`NAME.map.bin`).
    pub async fn latent_map(&self, name: &str) -> Result<Arc<LatentMap>, String> {
        fetch_once(&self.inner.maps, &model_file_url(&format!("{name}.map.bin")), name, LatentMap::from_bytes).await
    }

    /// The model's training history (`NAME.history.bin`).
    pub async fn history(&self, name: &str) -> Result<Arc<History>, String> {
        if self.manifest(name).await?.history.is_none() {
            return Err(format!(
                "{name} has no recorded history (a model from the training lab: while the lab keeps its run, \
                 the lab's views below show it snapshot by snapshot, with its loss curves)"
            ));
        }
        fetch_once(&self.inner.histories, &model_file_url(&format!("{name}.history.bin")), name, History::from_bytes).await
    }

    /// The first test images of `dataset`, as the site ships them for the lab.
    pub async fn heldout_images(&self, dataset: DatasetId) -> Result<Arc<ImageSet>, String> {
        fetch_once(&self.inner.heldout, &dataset.heldout_file(), dataset.name(), ImageSet::from_bytes).await
    }

    /// Takes a place for a request to show a model that has work to do first: see
    /// [`Self::request_in_turn`].
    pub fn ticket(&self) -> ShowTicket {
        let number = self.inner.show_requests.get() + 1;
        self.inner.show_requests.set(number);
        ShowTicket { number, requested: self.inner.page.requested.get_untracked() }
    }

    /// Asks the page to show model `name`, unless another model was asked for (by the API
    /// or the picker) since `ticket` was taken: the newest request wins.
    pub fn request_in_turn(&self, ticket: ShowTicket, name: String) -> Promise {
        let overtaken = self.inner.show_requests.get() != ticket.number || self.inner.page.requested.get_untracked() != ticket.requested;
        if overtaken {
            return Promise::reject(&js_sys::Error::new(&format!("{name} was not shown: another model was asked for meanwhile")));
        }
        self.request_now(name)
    }

    /// Asks the page to show model `name`; the promise settles once it does (or fails to).
    pub fn request(&self, name: String) -> Promise {
        self.ticket();
        self.request_now(name)
    }

    fn request_now(&self, name: String) -> Promise {
        let already_shown = self.shown().is_some_and(|engine| engine.manifest.name == name);
        Promise::new(&mut |resolve, reject| {
            if already_shown {
                // A load of another model on its way is dropped: the newest request wins.
                if self.inner.page.requested.get_untracked() != name {
                    self.inner.page.requested.set(name.clone());
                }
                let _ = resolve.call0(&JsValue::UNDEFINED);
            } else {
                self.inner.waiting.borrow_mut().push((name.clone(), resolve, reject));
                self.inner.page.requested.set(name.clone());
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
    pub async fn register_model(&self, manifest: Manifest, bytes: Vec<u8>, map: Option<LatentMap>) -> Result<String, String> {
        let name = manifest.name.clone();
        let engine = Rc::new(self.worker()?.load(manifest.clone(), bytes).await?);
        self.inner.manifests.borrow_mut().insert(name.clone(), Arc::new(manifest));
        self.inner.engines.borrow_mut().insert(name.clone(), engine);
        match map {
            Some(map) => self.inner.maps.borrow_mut().insert(name.clone(), Arc::new(map)),
            None => self.inner.maps.borrow_mut().remove(&name),
        };
        Ok(name)
    }

    /// Loads the model kept in the browser as `name`, if there is one.
    async fn load_kept(&self, name: &str) -> Result<Option<Arc<Manifest>>, String> {
        let Some((manifest, bytes, map)) = kept::load(name).await? else { return Ok(None) };
        self.register_model(manifest, bytes, map).await?;
        Ok(self.inner.manifests.borrow().get(name).cloned())
    }

    /// Shows a model that is not shipped (trained in the lab, or loaded from files) and
    /// keeps it in the browser for the next visit; `origin` says where it came from. A
    /// kept model of the same name but other weights keeps its name: this one gets a
    /// number. The model is usable even when the browser would not keep it (the page's
    /// notices say why).
    pub async fn add_model(&self, mut manifest: Manifest, bytes: Vec<u8>, map: Option<LatentMap>, origin: &str) -> Result<String, String> {
        let taken = |name: &str| {
            self.inner.page.kept.with_untracked(|kept| kept.iter().any(|k| k.name() == name && k.manifest.sha256 != manifest.sha256))
        };
        if taken(&manifest.name) {
            let base = manifest.name.clone();
            let number = (2..).find(|n| !taken(&format!("{base}-{n}"))).unwrap_or(2);
            manifest.name = format!("{base}-{number}");
        }
        let kept = kept::keep(&manifest, &bytes, map.as_ref(), origin).await;
        let name = self.register_model(manifest, bytes, map).await?;
        match kept {
            Ok(_) => {
                self.refresh_kept().await;
                // Not waited for: Firefox asks the person, who may take their time.
                let session = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if kept::ask_to_persist().await {
                        session.refresh_storage().await;
                    }
                });
            }
            Err(why) => self.inner.page.notify(Notice::always(format!("{name} is on show but is not kept in this browser: {why}."))),
        }
        Ok(name)
    }

    /// Whether `name` is a model kept in this browser (as last listed).
    pub fn is_kept(&self, name: &str) -> bool {
        self.inner.page.kept.with_untracked(|kept| kept.iter().any(|model| model.name() == name))
    }

    /// The kept models, as last listed.
    pub fn kept(&self) -> Vec<kept::KeptModel> {
        self.inner.page.kept.get_untracked()
    }

    /// Reads the kept models' list again (after a change here or in another tab).
    pub async fn refresh_kept(&self) {
        let page = self.inner.page;
        match kept::list().await {
            Ok(list) => {
                page.kept.set(list);
                page.kept_problem.set(None);
            }
            Err(why) => page.kept_problem.set(Some(why)),
        }
        self.refresh_storage().await;
    }

    /// Updates the storage line: the space used and whether the browser keeps it.
    pub async fn refresh_storage(&self) {
        if let Some((used, quota, persisted)) = kept::storage_estimate().await {
            self.inner.page.storage.set(Some(StorageLine { used, quota, persisted }));
        }
    }

    /// Lists the kept models now, and again whenever another tab changes them.
    pub fn watch_kept(&self) {
        let session = self.clone();
        wasm_bindgen_futures::spawn_local(async move { session.refresh_kept().await });
        let Ok(channel) = web_sys::BroadcastChannel::new(kept::CHANNEL) else { return };
        let session = self.clone();
        gloo_events::EventListener::new(&channel, "message", move |event| {
            let Some(event) = event.dyn_ref::<web_sys::MessageEvent>() else { return };
            if kept::is_change(&event.data()) {
                let session = session.clone();
                wasm_bindgen_futures::spawn_local(async move { session.refresh_kept().await });
            }
        })
        .forget();
        // The channel lives as long as the page.
        std::mem::forget(channel);
    }

    /// The model called `name` if it has been loaded already.
    pub fn cached_engine(&self, name: &str) -> Option<Rc<Engine>> {
        self.inner.engines.borrow().get(name).cloned()
    }

    /// A test image from the model's latent map, as a tray item. The first 1,000 test images
    /// ship with the site (the lab's held-out set): those come as the real image, encoded,
    /// and are re-encoded by the next model like drawings. Beyond them, or for a model
    /// trained on a class subset (whose map skips images), the thumbnail is the decode of μ.
    pub async fn test_image_item(&self, model: &str, index: usize) -> Result<TrayItem, String> {
        let map = self.latent_map(model).await?;
        let engine = self.cached_engine(model).ok_or("the model is not loaded")?;
        let latent = map.latent;
        let mu = map.means.get(index * latent..(index + 1) * latent).ok_or("no such test image")?.to_vec();
        let class = map.labels.get(index).map_or(0, |&l| usize::from(l));
        let class_name = engine.manifest.class_names.get(class).cloned().unwrap_or_default();
        let label = format!("test #{index} ({class_name})");
        let dataset = DatasetId::from_name(&engine.manifest.dataset).filter(|_| engine.manifest.classes.is_none());
        let real = match dataset {
            Some(dataset) => self.heldout_images(dataset).await.ok().and_then(|set| {
                set.pixels.get(index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS).map(bytes_to_unit)
            }),
            None => None,
        };
        if let Some(image) = real {
            let encoded = engine.encode(&image).await?;
            let image = Arc::new(image);
            return Ok(TrayItem {
                id: 0,
                label,
                model: model.to_string(),
                thumbnail: image.clone(),
                sigma: Some(encoded.sigma()),
                mu: encoded.mean,
                input: Some(image),
            });
        }
        let thumbnail = Arc::new(engine.decode(&mu).await?);
        Ok(TrayItem {
            id: 0,
            label,
            model: model.to_string(),
            thumbnail,
            mu,
            sigma: None,
            input: None,
        })
    }
}

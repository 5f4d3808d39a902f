//! "Your models": every model the lab trains and the page shows, and every model loaded
//! from files, kept in the browser's IndexedDB with its manifest and held-out map, so that
//! the next visit lists it and every view can use it again. Two stores: `models` holds
//! what the list needs (small), `model-files` the weights and map (read when one is shown).
//! Other tabs of the page hear of every change on a BroadcastChannel. A third store, `runs`,
//! holds each tab's lab run at its last checkpoint, to go on from after a reload or a crash.

use idb::{Database, DatabaseEvent, Factory, KeyPath, ObjectStoreParams, TransactionMode};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::artifacts::LatentMap;
use crate::core::weights::{self, Manifest};

const DATABASE: &str = "latentlab";
const SUMMARIES: &str = "models";
const FILES: &str = "model-files";
const RUNS: &str = "runs";
/// The channel on which tabs of the page tell each other what changed.
pub const CHANNEL: &str = "latentlab";

/// A kept model, as the list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptModel {
    pub manifest: Manifest,
    /// The name the person gave it (at first its manifest's name).
    pub title: String,
    /// How it came: "trained in the lab" or "loaded from files".
    pub origin: String,
    /// When it was kept, in ms since 1970.
    pub kept_at: f64,
    /// Bytes of its weights and map.
    pub bytes: u64,
}

impl KeptModel {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }
}

fn describe(error: impl std::fmt::Display) -> String {
    let text = error.to_string();
    if text.contains("QuotaExceeded") {
        "the browser's storage for this site is full: delete a kept model (or free space in the browser's settings) \
         and try again; nothing kept before was changed"
            .to_string()
    } else {
        format!("the browser's storage (IndexedDB) failed: {text}")
    }
}

async fn open() -> Result<Database, String> {
    let factory = Factory::new().map_err(|e| format!("this browser keeps no models (no IndexedDB: {e})"))?;
    let mut request = factory.open(DATABASE, Some(2)).map_err(describe)?;
    request.on_upgrade_needed(|event| {
        let Ok(database) = event.database() else { return };
        for store in [SUMMARIES, FILES, RUNS] {
            if !database.store_names().iter().any(|name| name == store) {
                let mut params = ObjectStoreParams::new();
                params.key_path(Some(KeyPath::new_single("name")));
                let _ = database.create_object_store(store, params);
            }
        }
    });
    request.await.map_err(describe)
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &(*key).into(), value);
    }
    object.into()
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn summary_from(value: &JsValue) -> Option<KeptModel> {
    let manifest = weights::parse_manifest(&field(value, "manifest").as_string()?).ok()?;
    Some(KeptModel {
        title: field(value, "title").as_string().unwrap_or_else(|| manifest.name.clone()),
        origin: field(value, "origin").as_string().unwrap_or_default(),
        kept_at: field(value, "keptAt").as_f64().unwrap_or(0.0),
        bytes: field(value, "bytes").as_f64().unwrap_or(0.0) as u64,
        manifest,
    })
}

/// Every kept model, oldest first. Records this version cannot read are left out (and
/// left alone).
pub async fn list() -> Result<Vec<KeptModel>, String> {
    let database = open().await?;
    let transaction = database.transaction(&[SUMMARIES], TransactionMode::ReadOnly).map_err(describe)?;
    let store = transaction.object_store(SUMMARIES).map_err(describe)?;
    let values = store.get_all(None, None).map_err(describe)?.await.map_err(describe)?;
    let mut models: Vec<KeptModel> = values.iter().filter_map(summary_from).collect();
    models.sort_by(|a, b| a.kept_at.total_cmp(&b.kept_at));
    Ok(models)
}

/// Keeps a model (replacing one of the same name), with its weights and held-out map.
pub async fn keep(manifest: &Manifest, weight_bytes: &[u8], map: Option<&LatentMap>, origin: &str) -> Result<KeptModel, String> {
    let json = serde_json::to_string(manifest).map_err(|e| e.to_string())?;
    let map_bytes = map.map(LatentMap::to_bytes);
    let bytes = (weight_bytes.len() + map_bytes.as_ref().map_or(0, Vec::len)) as u64;
    let kept = KeptModel {
        manifest: manifest.clone(),
        title: manifest.name.clone(),
        origin: origin.to_string(),
        kept_at: js_sys::Date::now(),
        bytes,
    };
    let summary = object(&[
        ("name", manifest.name.as_str().into()),
        ("title", kept.title.as_str().into()),
        ("origin", origin.into()),
        ("keptAt", kept.kept_at.into()),
        ("bytes", (bytes as f64).into()),
        ("manifest", json.into()),
    ]);
    let files = object(&[
        ("name", manifest.name.as_str().into()),
        ("weights", Uint8Array::from(weight_bytes).into()),
        ("map", map_bytes.map_or(JsValue::NULL, |b| Uint8Array::from(b.as_slice()).into())),
    ]);
    let database = open().await?;
    // One transaction: the list never names a model whose files are missing.
    let transaction = database.transaction(&[SUMMARIES, FILES], TransactionMode::ReadWrite).map_err(describe)?;
    transaction.object_store(FILES).map_err(describe)?.put(&files, None).map_err(describe)?.await.map_err(describe)?;
    transaction.object_store(SUMMARIES).map_err(describe)?.put(&summary, None).map_err(describe)?.await.map_err(describe)?;
    finish(transaction).await?;
    announce();
    Ok(kept)
}

async fn finish(transaction: idb::Transaction) -> Result<(), String> {
    let result = transaction.commit().map_err(describe)?.await.map_err(describe)?;
    if result.is_committed() {
        Ok(())
    } else {
        Err("the browser's storage did not keep the change".to_string())
    }
}

/// The kept model called `name`: its manifest, weights and map (none if it is not kept).
pub async fn load(name: &str) -> Result<Option<(Manifest, Vec<u8>, Option<LatentMap>)>, String> {
    let database = open().await?;
    let transaction = database.transaction(&[SUMMARIES, FILES], TransactionMode::ReadOnly).map_err(describe)?;
    let key = JsValue::from_str(name);
    let summary = transaction.object_store(SUMMARIES).map_err(describe)?.get(key.clone()).map_err(describe)?.await.map_err(describe)?;
    let files = transaction.object_store(FILES).map_err(describe)?.get(key).map_err(describe)?.await.map_err(describe)?;
    let (Some(summary), Some(files)) = (summary, files) else { return Ok(None) };
    let kept = summary_from(&summary).ok_or_else(|| format!("the kept model {name} could not be read"))?;
    let weights = field(&files, "weights").dyn_into::<Uint8Array>().map_err(|_| format!("the kept model {name} has no weights"))?;
    let map = field(&files, "map").dyn_into::<Uint8Array>().ok().and_then(|b| LatentMap::from_bytes(&b.to_vec()).ok());
    Ok(Some((kept.manifest, weights.to_vec(), map)))
}

/// Keeps beside model `name` its reconstructions by epoch (the lab's figure: rows of
/// 28×28 images, the originals first), counted in its size.
pub async fn keep_by_epoch(name: &str, rows: &[u8]) -> Result<(), String> {
    let database = open().await?;
    let transaction = database.transaction(&[SUMMARIES, FILES], TransactionMode::ReadWrite).map_err(describe)?;
    let key = JsValue::from_str(name);
    let gone = || format!("{name} is no longer kept (another tab may have deleted it)");
    let files_store = transaction.object_store(FILES).map_err(describe)?;
    let files = files_store.get(key.clone()).map_err(describe)?.await.map_err(describe)?.ok_or_else(gone)?;
    let _ = Reflect::set(&files, &"byEpoch".into(), &Uint8Array::from(rows).into());
    files_store.put(&files, None).map_err(describe)?.await.map_err(describe)?;
    let summaries = transaction.object_store(SUMMARIES).map_err(describe)?;
    let summary = summaries.get(key).map_err(describe)?.await.map_err(describe)?.ok_or_else(gone)?;
    let bytes = field(&summary, "bytes").as_f64().unwrap_or(0.0) + rows.len() as f64;
    let _ = Reflect::set(&summary, &"bytes".into(), &bytes.into());
    summaries.put(&summary, None).map_err(describe)?.await.map_err(describe)?;
    finish(transaction).await?;
    announce();
    Ok(())
}

/// Model `name`'s reconstructions by epoch, if they were kept.
pub async fn by_epoch(name: &str) -> Result<Option<Vec<u8>>, String> {
    let database = open().await?;
    let transaction = database.transaction(&[FILES], TransactionMode::ReadOnly).map_err(describe)?;
    let files = transaction.object_store(FILES).map_err(describe)?.get(JsValue::from_str(name)).map_err(describe)?.await.map_err(describe)?;
    Ok(files.and_then(|files| field(&files, "byEpoch").dyn_into::<Uint8Array>().ok()).map(|rows| rows.to_vec()))
}

/// Gives the kept model `name` the title `title`.
pub async fn rename(name: &str, title: &str) -> Result<(), String> {
    let database = open().await?;
    let transaction = database.transaction(&[SUMMARIES], TransactionMode::ReadWrite).map_err(describe)?;
    let store = transaction.object_store(SUMMARIES).map_err(describe)?;
    let summary = store.get(JsValue::from_str(name)).map_err(describe)?.await.map_err(describe)?;
    let summary = summary.ok_or_else(|| format!("{name} is no longer kept (another tab may have deleted it)"))?;
    let _ = Reflect::set(&summary, &"title".into(), &title.into());
    store.put(&summary, None).map_err(describe)?.await.map_err(describe)?;
    finish(transaction).await?;
    announce();
    Ok(())
}

/// Forgets the kept model `name`.
pub async fn delete(name: &str) -> Result<(), String> {
    let database = open().await?;
    let transaction = database.transaction(&[SUMMARIES, FILES], TransactionMode::ReadWrite).map_err(describe)?;
    for store in [SUMMARIES, FILES] {
        transaction.object_store(store).map_err(describe)?.delete(JsValue::from_str(name)).map_err(describe)?.await.map_err(describe)?;
    }
    finish(transaction).await?;
    announce();
    Ok(())
}

/// Tells the page's other tabs that the kept models changed.
fn announce() {
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let _ = channel.post_message(&object(&[("type", "models-changed".into())]));
        channel.close();
    }
}

/// Whether a message on [`CHANNEL`] says the kept models changed.
pub fn is_change(message: &JsValue) -> bool {
    field(message, "type").as_string().as_deref() == Some("models-changed")
}

/// The browser's storage for this site: bytes used and available, and whether it is kept
/// even when space runs short (`navigator.storage`; none where the browser lacks it).
pub async fn storage_estimate() -> Option<(f64, f64, bool)> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate = wasm_bindgen_futures::JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let persisted = wasm_bindgen_futures::JsFuture::from(storage.persisted().ok()?).await.ok()?.as_bool().unwrap_or(false);
    Some((field(&estimate, "usage").as_f64()?, field(&estimate, "quota").as_f64()?, persisted))
}

/// Asks the browser (once a visit, and only while it has not agreed yet) to keep this
/// site's storage even when space runs short; whether it agreed now.
pub async fn ask_to_persist() -> bool {
    thread_local!(static ASKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if ASKED.with(|asked| asked.replace(true)) {
        return false;
    }
    let Some(window) = web_sys::window() else { return false };
    let persisted = window.navigator().storage().persisted().ok().map(wasm_bindgen_futures::JsFuture::from);
    if let Some(persisted) = persisted {
        if persisted.await.ok().and_then(|v| v.as_bool()) == Some(true) {
            return false;
        }
    }
    let Ok(asked) = window.navigator().storage().persist() else { return false };
    wasm_bindgen_futures::JsFuture::from(asked).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// A lab run as kept at its last checkpoint, under the tab that trained it.
pub struct KeptRun {
    pub tab: String,
    /// The run's settings, letters and checkpoint (JSON; see `lab_client::SavedRun`).
    pub json: String,
    pub weights: Vec<u8>,
    pub saved_at: f64,
}

/// Keeps tab `tab`'s run (replacing the one it kept before).
pub async fn keep_run(tab: &str, json: &str, weights: &[u8]) -> Result<(), String> {
    let record = object(&[
        ("name", tab.into()),
        ("run", json.into()),
        ("weights", Uint8Array::from(weights).into()),
        ("savedAt", js_sys::Date::now().into()),
    ]);
    let database = open().await?;
    let transaction = database.transaction(&[RUNS], TransactionMode::ReadWrite).map_err(describe)?;
    transaction.object_store(RUNS).map_err(describe)?.put(&record, None).map_err(describe)?.await.map_err(describe)?;
    finish(transaction).await
}

/// Every kept run (records this version cannot read are left out).
pub async fn runs() -> Result<Vec<KeptRun>, String> {
    let database = open().await?;
    let transaction = database.transaction(&[RUNS], TransactionMode::ReadOnly).map_err(describe)?;
    let values = transaction.object_store(RUNS).map_err(describe)?.get_all(None, None).map_err(describe)?.await.map_err(describe)?;
    Ok(values
        .iter()
        .filter_map(|value| {
            Some(KeptRun {
                tab: field(value, "name").as_string()?,
                json: field(value, "run").as_string()?,
                weights: field(value, "weights").dyn_into::<Uint8Array>().ok()?.to_vec(),
                saved_at: field(value, "savedAt").as_f64().unwrap_or(0.0),
            })
        })
        .collect())
}

/// Forgets tab `tab`'s run.
pub async fn forget_run(tab: &str) -> Result<(), String> {
    let database = open().await?;
    let transaction = database.transaction(&[RUNS], TransactionMode::ReadWrite).map_err(describe)?;
    transaction.object_store(RUNS).map_err(describe)?.delete(JsValue::from_str(tab)).map_err(describe)?.await.map_err(describe)?;
    finish(transaction).await
}

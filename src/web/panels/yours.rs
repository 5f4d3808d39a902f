//! "Your models": the models kept in this browser (trained in the lab, or loaded from
//! files), each shown, renamed, downloaded or deleted here; with the space they take and
//! whether the page works offline.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::catalogue::DatasetId;
use crate::core::spec::ModelKind;
use crate::web::canvas::save_bytes;
use crate::web::kept::{self, KeptModel};
use crate::web::panels::side_by_side::SideBySide;
use crate::web::session::use_session;
use crate::web::state::{Page, StorageLine};

type Outcome = Option<Result<String, String>>;

use crate::web::panels::side_by_side::MAX_COMPARED;

/// A size in bytes, in words (MB of 1,024², as elsewhere on the page).
pub fn size_in_words(bytes: f64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes >= 1024.0 * MB {
        format!("{:.1} GB", bytes / (1024.0 * MB))
    } else if bytes >= 0.1 * MB {
        format!("{:.1} MB", bytes / MB)
    } else {
        format!("{:.0} KB", (bytes / 1024.0).max(1.0))
    }
}

/// What a kept model is, in a few words.
fn description(model: &KeptModel) -> String {
    let m = &model.manifest;
    let kind = if m.kind == ModelKind::Ae { "autoencoder" } else { "VAE" };
    let data = DatasetId::from_name(&m.dataset).map_or_else(|| m.dataset.clone(), |d| d.label().to_string());
    let date = js_sys::Date::new(&model.kept_at.into());
    let when = String::from(date.to_locale_string("default", &js_sys::Object::new()));
    format!("A {}-D {} {kind} on {data}, {}; kept {when}; {}.", m.latent, m.architecture.network.name(), model.origin, size_in_words(model.bytes as f64))
}

/// Whether the service worker has kept the page for offline use (www/index.html).
fn offline_state() -> String {
    js_sys::Reflect::get(&js_sys::global(), &"latentlabOffline".into())
        .and_then(|state| js_sys::Reflect::get(&state, &"state".into()))
        .ok()
        .and_then(|state| state.as_string())
        .unwrap_or_else(|| "not yet".to_string())
}

#[component]
pub fn YourModelsPanel() -> impl IntoView {
    let page = expect_context::<Page>();
    let message = RwSignal::new(None as Outcome);
    let compared = page.compared;
    let offline = RwSignal::new(offline_state());
    gloo_events::EventListener::new(&window(), "latentlab-offline-ready", move |_| offline.set(offline_state())).forget();
    view! {
        <section class="panel yours-panel" aria-labelledby="yours-title" data-testid="yours-panel">
            <h2 id="yours-title">"Your models, kept in this browser"</h2>
            <p class="caption">
                "Every model you train in the lab and put on show, and every model you load from files, is kept here \
                 between visits (in this browser only): show it in every view, rename it, download its files, delete it, \
                 or compare up to four side by side."
            </p>
            <StorageNote storage=page.storage count=move || page.kept.with(Vec::len) offline=offline />
            {move || page.kept_problem.get().map(|why| view! { <p class="note warning" data-testid="kept-problem">{why}</p> })}
            <Show when=move || page.kept.with(Vec::is_empty)>
                <p class="note" data-testid="kept-none">
                    "None yet: train a model in the lab below and press “Use in the views”, or load a downloaded model's two files there."
                </p>
            </Show>
            <ul class="kept-list" data-testid="kept-list">
                <For each=move || page.kept.get() key=|model| (model.name().to_string(), model.title.clone(), model.kept_at.to_bits())
                    children=move |model| view! { <KeptCard model=model message=message compared=compared /> } />
            </ul>
            {move || message.get().map(|outcome| match outcome {
                Ok(text) => view! { <p class="note" role="status" data-testid="kept-message">{text}</p> }.into_any(),
                Err(text) => view! { <p class="note warning" role="alert" data-testid="kept-message">{text}</p> }.into_any(),
            })}
            <SideBySide compared=compared />
        </section>
    }
}

#[component]
fn StorageNote(
    storage: RwSignal<Option<StorageLine>>,
    count: impl Fn() -> usize + Send + Sync + 'static,
    offline: RwSignal<String>,
) -> impl IntoView {
    let text = move || {
        let models = match count() {
            1 => "1 model".to_string(),
            n => format!("{n} models"),
        };
        let space = storage.get().map_or(String::new(), |s| {
            let kept = if s.persisted {
                "the browser keeps it even when space runs short"
            } else {
                "the browser may clear it if space runs short (it has not granted lasting storage)"
            };
            format!(" This site uses {} of the {} the browser allows it; {kept}.", size_in_words(s.used), size_in_words(s.quota))
        });
        let offline = match offline.get().as_str() {
            "ready" => " Offline: this page and the models you have used also work with the network off.".to_string(),
            "not yet" => " Offline use: being prepared.".to_string(),
            other => format!(" Offline use: {other}."),
        };
        format!("Kept: {models}.{space}{offline}")
    };
    view! { <p class="note" data-testid="storage-line">{text}</p> }
}

#[component]
fn KeptCard(model: KeptModel, message: RwSignal<Outcome>, compared: RwSignal<Vec<String>>) -> impl IntoView {
    let page = expect_context::<Page>();
    let session = use_session();
    let name = model.name().to_string();
    let confirming = RwSignal::new(false);
    let shown = {
        let name = name.clone();
        Signal::derive(move || page.views.shown.with(|s| s.as_ref().is_some_and(|s| s.name == name)))
    };
    let show = {
        let name = name.clone();
        move |_| page.requested.set(name.clone())
    };
    let rename = {
        let name = name.clone();
        let session = session.clone();
        move |ev: leptos::ev::Event| {
            let title = event_target_value(&ev).trim().to_string();
            let (name, session) = (name.clone(), session.clone());
            spawn_local(async move {
                if title.is_empty() || title.chars().count() > 80 {
                    message.set(Some(Err("A model's name has 1 to 80 characters: it keeps its name.".to_string())));
                    return session.refresh_kept().await;
                }
                message.set(Some(kept::rename(&name, &title).await.map(|_| format!("Renamed to “{title}”."))));
                session.refresh_kept().await;
            });
        }
    };
    let download = {
        let (name, title) = (name.clone(), model.title.clone());
        move |_| {
            let (name, title) = (name.clone(), title.clone());
            spawn_local(async move {
                let saved = async {
                    let (manifest, bytes, _) = kept::load(&name).await?.ok_or("it is no longer kept (another tab may have deleted it)")?;
                    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
                    save_bytes(&bytes, "application/octet-stream", &manifest.weights)?;
                    save_bytes(json.as_bytes(), "application/json", &format!("{}.json", manifest.name))?;
                    Ok::<_, String>(format!("Saved {} and {}.json (“{title}”): load both in the lab to use them in any browser.", manifest.weights, manifest.name))
                }
                .await;
                message.set(Some(saved.map_err(|e| format!("{title} was not saved: {e}"))));
            });
        }
    };
    let delete = {
        let (name, title) = (name.clone(), model.title.clone());
        move |_| {
            if !confirming.get_untracked() {
                return confirming.set(true);
            }
            let (name, title, session) = (name.clone(), title.clone(), session.clone());
            spawn_local(async move {
                let outcome = kept::delete(&name).await.map(|_| format!("Deleted “{title}” from this browser."));
                message.set(Some(outcome));
                session.refresh_kept().await;
            });
        }
    };
    let ticked = {
        let name = name.clone();
        Signal::derive(move || compared.with(|c| c.contains(&name)))
    };
    let tick = {
        let name = name.clone();
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            compared.update(|c| {
                c.retain(|n| n != &name);
                if on && c.len() < MAX_COMPARED {
                    c.push(name.clone());
                }
            });
        }
    };
    let title = model.title.clone();
    view! {
        <li class="kept-card" data-testid="kept-model" data-name=name.clone()>
            <input type="text" class="kept-title" data-testid="kept-title" maxlength="80" prop:value=title.clone()
                aria-label=format!("Name of your model {name}") on:change=rename />
            <span class="note">{description(&model)}</span>
            <span class="kept-actions">
                <button type="button" data-testid="kept-show" aria-pressed=move || shown.get().to_string() on:click=show>
                    {move || if shown.get() { "On show" } else { "Show" }}
                </button>
                <label class="kept-compare">
                    <input type="checkbox" data-testid="kept-compare" prop:checked=ticked on:change=tick
                        prop:disabled=move || !ticked.get() && compared.with(|c| c.len() >= MAX_COMPARED) />
                    "Compare"
                </label>
                <button type="button" data-testid="kept-download" on:click=download>"Download"</button>
                <button type="button" data-testid="kept-delete" class:danger=move || confirming.get() on:click=delete
                    on:blur=move |_| confirming.set(false)>
                    {move || if confirming.get() { "Delete for good?" } else { "Delete" }}
                </button>
            </span>
        </li>
    }
}

//! Choosing the dataset and the model; the page loads it on demand.

use leptos::prelude::*;

use crate::core::catalogue::{DatasetId, ShippedModel, Variant, DEFAULT_MODEL};
use crate::web::state::{Page, Views};

#[component]
pub fn ModelPicker() -> impl IntoView {
    let Page { requested, kept, .. } = expect_context::<Page>();
    let shown = expect_context::<Views>().shown;
    // None while a model from the lab (or a file) is on show: no button is pressed then.
    let current = move || ShippedModel::find(&requested.get());
    let current_variant = move || current().map_or(DEFAULT_MODEL.variant, |m| m.variant);
    let is_loading = move || shown.with(|s| s.as_ref().map(|s| s.name.as_str()) != Some(requested.get().as_str()));
    let dataset_button = move |dataset: DatasetId| {
        view! {
            <button
                type="button"
                data-testid=format!("dataset-{}", dataset.name())
                aria-pressed=move || current().is_some_and(|m| m.dataset == dataset).to_string()
                on:click=move |_| requested.set(ShippedModel { dataset, variant: current_variant() }.name())
            >
                {dataset.label()}
            </button>
        }
    };
    let variant_button = move |variant: Variant| {
        view! {
            <button
                type="button"
                data-testid=format!("variant-{}", variant.suffix())
                aria-pressed=move || current().is_some_and(|m| m.variant == variant).to_string()
                on:click=move |_| requested.set(current().unwrap_or(DEFAULT_MODEL).with_variant(variant).name())
            >
                {variant.label()}
            </button>
        }
    };
    view! {
        <nav class="picker panel" aria-label="Choose a model" aria-busy=move || is_loading().to_string()>
            <div class="choice" role="group" aria-label="Dataset">
                <span class="choice-label">"Data"</span>
                {DatasetId::ALL.into_iter().map(dataset_button).collect_view()}
            </div>
            <div class="choice" role="group" aria-label="Model">
                <span class="choice-label">"Model"</span>
                {Variant::ALL.into_iter().map(variant_button).collect_view()}
            </div>
            // The models kept in this browser (trained in the lab or loaded from files).
            <Show when=move || kept.with(|k| !k.is_empty())>
                <div class="choice" role="group" aria-label="Your models" data-testid="picker-yours">
                    <span class="choice-label">"Yours"</span>
                    <For each=move || kept.get() key=|model| (model.name().to_string(), model.title.clone())
                        children=move |model| {
                            let name = model.name().to_string();
                            let pressed = {
                                let name = name.clone();
                                move || (requested.get() == name).to_string()
                            };
                            view! {
                                <button type="button" data-testid="picker-kept" data-name=name.clone() aria-pressed=pressed
                                    on:click=move |_| requested.set(name.clone())>
                                    {model.title.clone()}
                                </button>
                            }
                        } />
                </div>
            </Show>
        </nav>
    }
}

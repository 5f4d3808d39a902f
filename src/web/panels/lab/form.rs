//! The lab's form: the data, network, latent size, kind, starting point and optimiser
//! settings of the next run, and the classes to train on.

use leptos::prelude::*;

use crate::core::catalogue::{DatasetId, ShippedModel};
use crate::core::spec::{Architecture, ModelKind};
use crate::lab::{LabSettings, BATCH_RANGE, LATENT_SIZES, LETTERS_DATA};
use crate::web::lab_client::use_lab;

const LEARNING_RATES: [f64; 6] = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1];

#[component]
pub(super) fn LabForm() -> impl IntoView {
    let lab = use_lab();
    let s = lab.signals;
    let edit = move |change: &dyn Fn(&mut LabSettings)| {
        s.settings.update(|settings| change(settings));
    };
    let latent = move || s.settings.with(|st| st.latent);
    let set_beta = move |beta: f32| lab.set_beta(beta);

    let class_box = move |label: u8| {
        let name = move || s.settings.with(|st| st.dataset.class_names()[usize::from(label)]);
        view! {
            <label class="class-choice">
                <input
                    type="checkbox"
                    data-testid=format!("lab-class-{label}")
                    prop:checked=move || s.settings.with(|st| st.classes.is_empty() || st.classes.contains(&label))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit(&|st: &mut LabSettings| {
                            let mut chosen: Vec<u8> = if st.classes.is_empty() { (0..10).collect() } else { st.classes.clone() };
                            chosen.retain(|&c| c != label);
                            if on {
                                chosen.push(label);
                            }
                            chosen.sort_unstable();
                            st.classes = if chosen.len() == 10 { Vec::new() } else { chosen };
                        });
                    }
                />
                {name}
            </label>
        }
    };

    view! {
            <div class="lab-form">
            <label>"Data "
                <select data-testid="lab-dataset" on:change=move |ev| {
                    let value = event_target_value(&ev);
                    let dataset = DatasetId::from_name(&value);
                    edit(&|st: &mut LabSettings| {
                        st.letters = value == LETTERS_DATA;
                        st.dataset = dataset.unwrap_or(st.dataset);
                        st.from = None;
                    });
                }>
                    {DatasetId::ALL.into_iter().map(|d| view! {
                        <option value=d.name() selected=move || s.settings.with(|st| !st.letters && st.dataset == d)>{d.label()}</option>
                    }).collect_view()}
                    <option value=LETTERS_DATA selected=move || s.settings.with(|st| st.letters)>
                        {move || format!("your letters ({} drawings)", s.letters.with(|l| l.drawings.len()))}
                    </option>
                </select>
            </label>
            <label>"Latent size "
                <select data-testid="lab-latent" on:change=move |ev| {
                    let latent = event_target_value(&ev).parse().unwrap_or(2);
                    edit(&|st: &mut LabSettings| { st.latent = latent; st.from = None; });
                }>
                    {LATENT_SIZES.into_iter().map(|n| view! {
                        <option value=n.to_string() selected=move || latent() == n>{format!("{n}-D")}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Network "
                <select data-testid="lab-arch" title="Convolutional: three 3×3 convolutions each way (the shipped models). Dense: 784 → 512 → z and back, the letters article's network; quicker per step, blurrier."
                    on:change=move |ev| {
                    let architecture = Architecture::parse(&event_target_value(&ev)).unwrap_or_default();
                    edit(&|st: &mut LabSettings| { st.architecture = architecture; st.from = None; });
                }>
                    {Architecture::ALL.into_iter().map(|a| view! {
                        <option value=a.name() selected=move || s.settings.with(|st| st.architecture == a)>{a.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Kind "
                <select data-testid="lab-kind" on:change=move |ev| {
                    let kind = ModelKind::parse(&event_target_value(&ev)).unwrap_or(ModelKind::Vae);
                    edit(&|st: &mut LabSettings| st.kind = kind);
                }>
                    <option value="vae" selected=move || s.settings.with(|st| st.kind == ModelKind::Vae)>"VAE (KL on)"</option>
                    <option value="ae" selected=move || s.settings.with(|st| st.kind == ModelKind::Ae)>"plain autoencoder (KL off)"</option>
                </select>
            </label>
            <label>"Start from "
                <select data-testid="lab-from" on:change=move |ev| {
                    let value = event_target_value(&ev);
                    let model = ShippedModel::find(&value);
                    edit(&|st: &mut LabSettings| {
                        st.from = model.map(ShippedModel::name);
                        if let Some(m) = model {
                            st.latent = m.latent();
                            st.architecture = m.variant.architecture();
                            st.dataset = m.dataset;
                            st.kind = m.variant.kind();
                        }
                    });
                }>
                    <option value="scratch" selected=move || s.settings.with(|st| st.from.is_none())>"scratch (random weights)"</option>
                    {ShippedModel::all().map(|m| view! {
                        <option value=m.name() selected=move || s.settings.with(|st| st.from.as_deref() == Some(m.name().as_str()))>
                            {format!("fine-tune {}", m.name())}
                        </option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Learning rate "
                <select data-testid="lab-lr" on:change=move |ev| {
                    let lr = event_target_value(&ev).parse().unwrap_or(1e-3);
                    edit(&|st: &mut LabSettings| st.learning_rate = lr);
                }>
                    {LEARNING_RATES.into_iter().map(|lr| view! {
                        <option value=lr.to_string() selected=move || s.settings.with(|st| st.learning_rate == lr)>{lr.to_string()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Batch "
                <input type="number" data-testid="lab-batch" min=BATCH_RANGE.0.to_string() max=BATCH_RANGE.1.to_string()
                    prop:value=move || s.settings.with(|st| st.batch.to_string())
                    on:change=move |ev| {
                        let batch = event_target_value(&ev).parse::<usize>().unwrap_or(100).clamp(BATCH_RANGE.0, BATCH_RANGE.1);
                        edit(&|st: &mut LabSettings| st.batch = batch);
                    } />
            </label>
            <label>"Seed "
                <input type="number" data-testid="lab-seed" min="0"
                    prop:value=move || s.settings.with(|st| st.seed.to_string())
                    on:change=move |ev| {
                        let seed = event_target_value(&ev).parse::<u64>().unwrap_or(42);
                        edit(&|st: &mut LabSettings| st.seed = seed);
                    } />
            </label>
            <label class="beta">
                {move || format!("β = {:.1} ", s.settings.with(|st| st.beta))}
                <input type="range" data-testid="lab-beta" min="0" max="10" step="0.1"
                    disabled=move || s.settings.with(|st| st.kind == ModelKind::Ae)
                    prop:value=move || s.settings.with(|st| st.beta.to_string())
                    on:input=move |ev| set_beta(event_target_value(&ev).parse().unwrap_or(1.0)) />
            </label>
        </div>
        <div class="lab-classes" role="group" aria-label="Classes to train on" class:hidden=move || s.settings.with(|st| st.letters)>
            <span class="choice-label">"Classes"</span>
            {(0..10u8).map(class_box).collect_view()}
        </div>
    }
}

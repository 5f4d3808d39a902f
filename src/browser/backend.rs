//! Choosing where tensors run: WebGPU when the browser offers a hardware adapter, else
//! burn's CPU backend.

use burn::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

pub use crate::core::backend_kind::{BackendKind, BackendRequest};

#[derive(Clone)]
pub struct ChosenDevice {
    pub device: Device,
    pub kind: BackendKind,
    /// Why WebGPU is not used, when the page fell back to the CPU on its own.
    pub fallback_reason: Option<String>,
    /// When the page timed both backends and WebGPU was the faster: the two timings.
    pub timing: Option<String>,
    /// What the lab's worker is asked to train on: this backend, or, where the page timed
    /// both, the faster (the worker times a training step on each).
    pub lab_request: BackendRequest,
}

impl ChosenDevice {
    pub fn cpu(fallback_reason: Option<String>) -> Self {
        ChosenDevice { device: Device::flex(), kind: BackendKind::Cpu, fallback_reason, timing: None, lab_request: BackendRequest::Only(BackendKind::Cpu) }
    }

    pub fn webgpu(device: Device) -> Self {
        ChosenDevice { device, kind: BackendKind::WebGpu, fallback_reason: None, timing: None, lab_request: BackendRequest::Only(BackendKind::WebGpu) }
    }
}

/// Points in the probe decode that settles the choice: about what a view asks for at once
/// (traversal strip, prior samples), between a slider's single point and the grid's 225.
const PROBE_POINTS: usize = 32;

/// A 32-point decode by an untrained convolutional VAE on `device`: the best of three
/// runs after one warm-up (which compiles WebGPU's shaders), in ms.
async fn probe_decode_millis(device: &Device) -> Result<f64, String> {
    let model = crate::core::model::VaeConfig::new().init(device);
    let z = Tensor::<2>::zeros([PROBE_POINTS, 2], device);
    let mut best = f64::INFINITY;
    for run in 0..4 {
        let started = crate::browser::clock::now_millis();
        model.decode(z.clone()).into_data_async().await.map_err(|e| format!("{e:?}"))?;
        if run > 0 {
            best = best.min(crate::browser::clock::now_millis() - started);
        }
    }
    Ok(best)
}

/// Times the probe decode on WebGPU and on the CPU and keeps the faster.
async fn faster_of(webgpu: Device) -> ChosenDevice {
    let cpu = Device::flex();
    let (gpu_ms, cpu_ms) = match (probe_decode_millis(&webgpu).await, probe_decode_millis(&cpu).await) {
        (Ok(gpu), Ok(cpu)) => (gpu, cpu),
        (Err(why), _) => return ChosenDevice::cpu(Some(format!("WebGPU failed a first decode ({why})"))),
        (Ok(_), Err(_)) => return ChosenDevice::webgpu(webgpu),
    };
    let timings = format!("a {PROBE_POINTS}-point decode took {gpu_ms:.1} ms on WebGPU and {cpu_ms:.1} ms on the CPU");
    let chosen = if gpu_ms <= cpu_ms {
        ChosenDevice { timing: Some(timings), ..ChosenDevice::webgpu(webgpu) }
    } else {
        ChosenDevice::cpu(Some(format!("timed here, {timings}")))
    };
    ChosenDevice { lab_request: BackendRequest::Fastest, ..chosen }
}

/// Whether `navigator.gpu` exists, in the page or in a worker (whose global has no `window`).
fn browser_has_webgpu() -> bool {
    property(&js_sys::global(), "navigator").is_some_and(|navigator| property(&navigator, "gpu").is_some())
}

/// The multi-threaded engine's answer (feature `threads`, without `webgpu`).
#[cfg(not(feature = "webgpu"))]
pub async fn init_webgpu() -> Result<Device, String> {
    if !browser_has_webgpu() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".to_string());
    }
    if webgpu_adapter().await.is_none() {
        return Err("this browser's WebGPU offers no adapter".to_string());
    }
    Err("this engine is built for the CPU alone".to_string())
}

#[cfg(feature = "webgpu")]
pub async fn init_webgpu() -> Result<Device, String> {
    if !browser_has_webgpu() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".to_string());
    }
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|error| format!("WebGPU could not start: {error}"))
}

/// `target[key]`, when it is neither undefined nor null.
fn property(target: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// The browser's WebGPU adapter (`navigator.gpu.requestAdapter()`), if it offers one.
async fn webgpu_adapter() -> Option<JsValue> {
    let gpu = property(&js_sys::global(), "navigator").and_then(|n| property(&n, "gpu"))?;
    let request: js_sys::Function = property(&gpu, "requestAdapter")?.dyn_into().ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise).await.ok().filter(|a| !a.is_null() && !a.is_undefined())
}

/// The browser's WebGPU adapter, named, when it is a software one (a fallback adapter
/// such as Chromium's SwiftShader): there the CPU backend is many times faster (the grid
/// in ~0.6 s against ~14 s here).
async fn software_adapter() -> Option<String> {
    let adapter = webgpu_adapter().await?;
    let info = property(&adapter, "info");
    let text = |key: &str| info.as_ref().and_then(|i| property(i, key)).and_then(|v| v.as_string()).unwrap_or_default();
    let fallback = info.as_ref().and_then(|i| property(i, "isFallbackAdapter")).or_else(|| property(&adapter, "isFallbackAdapter"));
    let software = fallback.and_then(|f| f.as_bool()).unwrap_or(false) || text("architecture").contains("swiftshader");
    software.then(|| {
        let name = [text("vendor"), text("architecture")].join(" ").trim().to_string();
        if name.is_empty() { "a software adapter".to_string() } else { format!("a software adapter, {name}") }
    })
}

/// Whether `device` computes and reads back (a new WebGPU device after a lost one may
/// be unusable too).
pub async fn works(device: &Device) -> bool {
    Tensor::<1>::from_floats([1.0, 2.0], device).sum().into_data_async().await.is_ok()
}

/// Picks the backend: the one `requested`; or, left to choose, the faster of WebGPU and
/// the CPU by a timed decode, where the browser offers a hardware WebGPU adapter (on a
/// software adapter, the CPU without timing, unless `?backend=auto` asks for it).
pub async fn choose(requested: Option<BackendRequest>) -> Result<ChosenDevice, String> {
    match requested {
        Some(BackendRequest::Only(BackendKind::Cpu)) => Ok(ChosenDevice::cpu(None)),
        Some(BackendRequest::Only(BackendKind::WebGpu)) => init_webgpu()
            .await
            .map(ChosenDevice::webgpu)
            .map_err(|why| format!("WebGPU was requested (?backend=webgpu) but is not available: {why}")),
        Some(BackendRequest::Fastest) => Ok(match init_webgpu().await {
            Ok(device) => faster_of(device).await,
            Err(why) => ChosenDevice::cpu(Some(why)),
        }),
        None => Ok(match software_adapter().await {
            Some(adapter) => ChosenDevice::cpu(Some(format!(
                "this browser's WebGPU runs on {adapter}, far slower than the CPU backend (?backend=webgpu uses it anyway)"
            ))),
            None => match init_webgpu().await {
                Ok(device) => faster_of(device).await,
                Err(why) => ChosenDevice::cpu(Some(why)),
            },
        }),
    }
}

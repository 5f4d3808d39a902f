//! Downloading the model files, with progress.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

fn describe(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// `fetch(url)` from the page or from a worker.
fn start_fetch(url: &str) -> Result<js_sys::Promise, String> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        Ok(window.fetch_with_str(url))
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Ok(worker.fetch_with_str(url))
    } else {
        Err("this context cannot download files".to_string())
    }
}

async fn get(url: &str) -> Result<Response, String> {
    let response = JsFuture::from(start_fetch(url)?)
        .await
        .map_err(|e| format!("could not download {url}: {}", describe(e)))?;
    let response: Response = response
        .dyn_into()
        .map_err(|_| format!("could not download {url}: not an HTTP response"))?;
    if !response.ok() {
        return Err(format!(
            "could not download {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    Ok(response)
}

pub async fn fetch_text(url: &str) -> Result<String, String> {
    let response = get(url).await?;
    let text = response.text().map_err(describe)?;
    JsFuture::from(text)
        .await
        .map_err(|e| format!("could not read {url}: {}", describe(e)))?
        .as_string()
        .ok_or_else(|| format!("{url} is not text"))
}

/// Downloads `url` whole, calling `progress(received, total)` as bytes arrive.
pub async fn fetch_bytes(url: &str, progress: impl Fn(u64, Option<u64>)) -> Result<Vec<u8>, String> {
    let response = get(url).await?;
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| format!("could not read {url}: no stream reader"))?;
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("download of {url} broke off: {}", describe(e)))?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(describe)?;
        bytes.extend(Uint8Array::new(&value).to_vec());
        progress(bytes.len() as u64, total);
    }
    Ok(bytes)
}

//! Downloading the model and data files, with progress. gloo-net makes the request; the
//! body is read chunk by chunk from its stream, to report progress.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use gloo_net::http::{Request, Response};
use web_sys::ReadableStreamDefaultReader;

fn describe(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// `GET url`, from the page or from a worker (gloo-net calls the global `fetch`).
async fn get(url: &str) -> Result<Response, String> {
    let response = Request::get(url)
        .send()
        .await
        .map_err(|e| format!("could not download {url}: {e}"))?;
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
    get(url).await?.text().await.map_err(|e| format!("could not read {url}: {e}"))
}

/// Downloads `url` whole, calling `progress(received, total)` as bytes arrive.
pub async fn fetch_bytes(url: &str, progress: impl Fn(u64, Option<u64>)) -> Result<Vec<u8>, String> {
    let response = get(url).await?;
    let total = response
        .headers()
        .get("content-length")
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

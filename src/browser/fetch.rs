//! Downloading the model and data files, with progress, from the page or from a worker.
//! gloo-net makes the request; the body is read chunk by chunk from its stream, to report
//! progress. A bad network is met in bounded steps: a download that stalls (no data for
//! [`STALL_MS`]) or breaks off is given up and tried again, up to [`TRIES`] times in all,
//! and then refused in words; one the server refuses (an HTTP error) is not tried again.
//! What arrives whole is still checked by the caller (the weights against their manifest's
//! checksum, the data files by their own headers).

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use gloo_net::http::{Request, Response};
use web_sys::{AbortController, ReadableStreamDefaultReader};

/// A download that receives nothing for this long is given up (and tried again).
pub const STALL_MS: i32 = 15_000;
/// Tries of one download in all.
pub const TRIES: u32 = 3;

fn describe(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Why one try failed: worth another try, or not.
enum Failure {
    Retry(String),
    Refused(String),
}

/// A promise that resolves with `value` after `ms` (in the page or in a worker).
fn after(ms: i32, value: &JsValue) -> Promise {
    Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(set_timeout) = Reflect::get(&global, &"setTimeout".into()).and_then(|f| f.dyn_into::<js_sys::Function>()) {
            let _ = set_timeout.call3(&global, &resolve, &ms.into(), value);
        }
    })
}

/// `promise`'s value, or None when `ms` pass first.
async fn within(promise: Promise, ms: i32) -> Result<Option<JsValue>, JsValue> {
    let timed_out = JsValue::from(js_sys::Object::new());
    let first = JsFuture::from(Promise::race(&js_sys::Array::of2(&promise, &after(ms, &timed_out)))).await?;
    Ok((first != timed_out).then_some(first))
}

/// `GET url` once, its headers within [`STALL_MS`].
async fn get(url: &str, abort: &AbortController) -> Result<Response, Failure> {
    let sent = wasm_bindgen_futures::future_to_promise({
        let request = Request::get(url).abort_signal(Some(&abort.signal())).build();
        async move {
            let response = request.map_err(|e| JsValue::from_str(&e.to_string()))?.send().await;
            response.map(|r| JsValue::from(web_sys::Response::from(r))).map_err(|e| JsValue::from_str(&e.to_string()))
        }
    });
    let response = match within(sent, STALL_MS).await {
        Ok(Some(response)) => Response::from(response.unchecked_into::<web_sys::Response>()),
        Ok(None) => {
            abort.abort();
            return Err(Failure::Retry(format!("the server did not answer within {} s", STALL_MS / 1000)));
        }
        Err(error) => return Err(Failure::Retry(describe(error))),
    };
    if !response.ok() {
        return Err(Failure::Refused(format!("HTTP {} {}", response.status(), response.status_text())));
    }
    Ok(response)
}

/// Runs `attempt` up to [`TRIES`] times, a little longer apart each time.
async fn with_retries<T, F: std::future::Future<Output = Result<T, Failure>>>(url: &str, attempt: impl Fn() -> F) -> Result<T, String> {
    let mut last = String::new();
    for tried in 1..=TRIES {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Failure::Refused(why)) => return Err(format!("could not download {url}: {why}")),
            Err(Failure::Retry(why)) => last = why,
        }
        if tried < TRIES {
            let _ = JsFuture::from(after(500 * tried as i32, &JsValue::UNDEFINED)).await;
        }
    }
    Err(format!("could not download {url}: {last} ({TRIES} tries)"))
}

fn broke_off(received: usize, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("the download broke off after {received} of {total} bytes"),
        None => format!("the download broke off after {received} bytes"),
    }
}

pub async fn fetch_text(url: &str) -> Result<String, String> {
    let bytes = fetch_bytes(url, |_, _| {}).await?;
    String::from_utf8(bytes).map_err(|_| format!("{url} is not text"))
}

/// Downloads `url` whole, calling `progress(received, total)` as bytes arrive.
pub async fn fetch_bytes(url: &str, progress: impl Fn(u64, Option<u64>)) -> Result<Vec<u8>, String> {
    with_retries(url, || fetch_bytes_once(url, &progress)).await
}

async fn fetch_bytes_once(url: &str, progress: &impl Fn(u64, Option<u64>)) -> Result<Vec<u8>, Failure> {
    let abort = AbortController::new().map_err(|e| Failure::Refused(describe(e)))?;
    let response = get(url, &abort).await?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    // A compressed body's length is not the length of what the stream gives.
    let exact_length = response.headers().get("content-encoding").is_none_or(|e| e == "identity");
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| Failure::Refused("no stream reader".to_string()))?;
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    progress(0, total);
    loop {
        let chunk = match within(reader.read(), STALL_MS).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                abort.abort();
                return Err(Failure::Retry(format!(
                    "the download stalled (no data for {} s after {} bytes)",
                    STALL_MS / 1000,
                    bytes.len()
                )));
            }
            Err(error) => return Err(Failure::Retry(format!("{} ({})", broke_off(bytes.len(), total), describe(error)))),
        };
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(|e| Failure::Retry(describe(e)))?;
        bytes.extend(Uint8Array::new(&value).to_vec());
        progress(bytes.len() as u64, total);
    }
    match total {
        Some(total) if exact_length && bytes.len() as u64 != total => Err(Failure::Retry(broke_off(bytes.len(), Some(total)))),
        _ => Ok(bytes),
    }
}

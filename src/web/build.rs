//! Which build of the site this page is, and whether the site has been updated since it
//! was opened. `scripts/stamp-build.mjs` names every worker file by its content and puts
//! the build's id and the workers' loaders in the page's `<meta>` tags; a page therefore
//! never starts a worker of another build, and when a worker of its own build is gone
//! from the site (replaced by an update), the page says so and offers the new one.

/// The content of `<meta name="{name}">` in the page.
fn meta(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let element = document.query_selector(&format!("meta[name=\"{name}\"]")).ok()??;
    element.get_attribute("content").filter(|content| !content.is_empty())
}

/// The page's build id (none when the site was built without the stamp).
pub fn this_build() -> Option<String> {
    meta("latentlab-build")
}

/// The loader of the lab's worker, relative to the page.
pub fn lab_worker_url() -> String {
    meta("latentlab-lab-worker").unwrap_or_else(|| "lab-worker_loader.js".to_string())
}

/// The lab's worker for a run on the CPU: the multi-threaded one where this build has it
/// and the page is cross-origin isolated (its threads share memory), else the usual one.
pub struct LabWorker {
    /// The loader, relative to the page.
    pub url: String,
    /// Whether it is the multi-threaded worker.
    pub threaded: bool,
    /// The thread count the address asks for (`threads=N`), else none: one per core.
    pub threads_asked: Option<usize>,
    /// Why the CPU engine computes on one thread, in words.
    pub single_thread_reason: Option<String>,
}

/// The worker the lab starts; `cpu` when it trains on the CPU (the threaded engine has no
/// WebGPU: cubecl's WebGPU backend cannot be built with wasm threads).
pub fn lab_worker(cpu: bool) -> LabWorker {
    let single = |reason: &str| LabWorker { url: lab_worker_url(), threaded: false, threads_asked: None, single_thread_reason: Some(reason.to_string()) };
    let asked = crate::web::address::query_param("threads").and_then(|n| n.parse::<usize>().ok()).filter(|&n| n >= 1);
    let Some(url) = meta("latentlab-lab-worker-threads") else {
        return single("this build of the site has no multi-threaded engine");
    };
    if !cpu {
        return single("the lab trains on WebGPU");
    }
    if asked == Some(1) {
        return single("the address asks for one thread (threads=1)");
    }
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    if !isolated {
        return single(
            "the page is not cross-origin isolated, which threads sharing memory need (the server sends no \
             Cross-Origin-Opener-Policy and Embedder-Policy headers, and the site's service worker, which adds them, \
             does not serve this page yet: a reload usually does it)",
        );
    }
    LabWorker { url, threaded: true, threads_asked: asked.map(|n| n.min(crate::browser::threads::MAX_CPU_THREADS)), single_thread_reason: None }
}

/// How long a multi-threaded worker's CPU threads may take to start, from its word that it
/// is starting them, before the page replaces it with the single-threaded worker: where
/// they start at all they start within a second or two, but a browser can hang in starting
/// them (Firefox ESR 153 sometimes never returns from `new Worker` inside a worker, and the
/// whole worker is stuck with it).
pub const THREADS_START_MILLIS: u32 = 6_000;

/// Why a worker computes on one thread when its `threads` did not start in time.
pub fn threads_did_not_start(threads: usize) -> String {
    format!("its {threads} threads did not start within {} s in this browser", THREADS_START_MILLIS / 1000)
}

/// The loader of the engine's worker, relative to the page.
pub fn engine_worker_url() -> String {
    meta("latentlab-engine-worker").unwrap_or_else(|| "engine-worker_loader.js".to_string())
}

/// The build the site serves now, when it can be asked and differs from this page's.
pub async fn newer_build() -> Option<String> {
    let ours = this_build()?;
    let response = gloo_net::http::Request::get("index.html").cache(web_sys::RequestCache::NoStore).send().await.ok()?;
    if !response.ok() {
        return None;
    }
    let page = response.text().await.ok()?;
    let theirs = build_of_page(&page)?;
    (theirs != ours).then_some(theirs)
}

/// The build id stamped in a page's text (as `scripts/stamp-build.mjs` writes it).
fn build_of_page(page: &str) -> Option<String> {
    const STAMP: &str = "<meta name=\"latentlab-build\" content=\"";
    let start = page.find(STAMP)? + STAMP.len();
    let length = page[start..].find('"')?;
    Some(page[start..start + length].to_string())
}

/// A worker of this page (`what`, such as "the training lab's worker") failed to load or
/// stopped: when the site has been updated since, says so at the top of the page with a
/// reload; otherwise calls `otherwise`.
pub fn explain_worker_failure(what: &'static str, otherwise: impl FnOnce() + 'static) {
    wasm_bindgen_futures::spawn_local(async move {
        if newer_build().await.is_some() {
            crate::web::show_stopped(&format!(
                "latentlab has been updated since this page was opened, and {what} of this version is no longer on the site. \
                 Reload the page to use the new version: your letters and the models kept in this browser stay. "
            ));
        } else {
            otherwise();
        }
    });
}

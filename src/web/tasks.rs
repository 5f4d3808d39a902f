//! Small helpers for the page's asynchronous work.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// For an action started from the page whose outcome the page shows in words: waits on its
/// promise, so a rejection is handled and never reaches the console as an uncaught error.
pub(crate) fn settle(promise: js_sys::Promise) {
    wasm_bindgen_futures::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    });
}

/// Lets the browser paint before a long computation.
pub async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}


type Job = Box<dyn FnOnce()>;

thread_local! {
    static QUEUED: RefCell<VecDeque<Job>> = RefCell::new(VecDeque::new());
    static DRAINING: Cell<bool> = const { Cell::new(false) };
    static WAITING_FOR_EMPTY: RefCell<Vec<js_sys::Function>> = const { RefCell::new(Vec::new()) };
}

/// Runs `job` in a task of its own, after the jobs queued before it. A model's arrival
/// sets off many paints (the grid, the map, the charts): one task each keeps every task
/// short, so input and frames get in between them. The first job of a burst waits for the
/// next frame, whose rendering lays out what changed: a paint that reads an element's size
/// then forces no layout of its own.
pub fn in_own_task(job: impl FnOnce() + 'static) {
    QUEUED.with(|queue| queue.borrow_mut().push_back(Box::new(job)));
    if DRAINING.replace(true) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        next_frame().await;
        loop {
            crate::browser::clock::yield_to_page().await;
            let Some(job) = QUEUED.with(|queue| queue.borrow_mut().pop_front()) else { break };
            job();
        }
        DRAINING.set(false);
        for resolve in WAITING_FOR_EMPTY.with(|waiting| std::mem::take(&mut *waiting.borrow_mut())) {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
}

/// Resolves once every job queued by `in_own_task` has run (at once when none is queued).
pub async fn own_tasks_done() {
    if !DRAINING.get() {
        return;
    }
    let promise = js_sys::Promise::new(&mut |resolve, _| WAITING_FOR_EMPTY.with(|waiting| waiting.borrow_mut().push(resolve)));
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A paint that runs in a task of its own (see `in_own_task`). Asked again before it
/// has run, it runs once, with the newest request's work.
#[derive(Clone, Default)]
pub struct OwnTaskPaint(Rc<RefCell<Option<Job>>>);

impl OwnTaskPaint {
    /// Asked from an effect, also subscribes the effect to resizes and zooms: the paint
    /// reads the screen's density and the plot's shown width later, outside the effect.
    pub fn request(&self, paint: impl FnOnce() + 'static) {
        crate::web::display::track_resizes();
        let already_queued = self.0.borrow_mut().replace(Box::new(paint)).is_some();
        if !already_queued {
            let newest = self.0.clone();
            in_own_task(move || {
                let paint = newest.borrow_mut().take();
                if let Some(paint) = paint {
                    paint();
                }
            });
        }
    }
}

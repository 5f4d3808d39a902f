//! What the page and the JS API share: the loaded engine and the `ready` promise.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

use super::engine::Engine;

#[derive(Clone)]
pub struct Session {
    engine: Rc<OnceCell<Rc<Engine>>>,
    ready: Promise,
    settle: Rc<RefCell<Option<(Function, Function)>>>,
}

impl Session {
    pub fn new() -> Self {
        let mut settle = None;
        let ready = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        Self {
            engine: Rc::new(OnceCell::new()),
            ready,
            settle: Rc::new(RefCell::new(settle)),
        }
    }

    /// Resolves once the model is loaded and the first view painted; rejects with
    /// the reason when loading fails.
    pub fn ready(&self) -> &Promise {
        &self.ready
    }

    pub fn engine(&self) -> Option<Rc<Engine>> {
        self.engine.get().cloned()
    }

    pub fn set_engine(&self, engine: Rc<Engine>) {
        let _ = self.engine.set(engine);
    }

    pub fn mark_ready(&self) {
        if let Some((resolve, _)) = self.settle.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }

    pub fn mark_failed(&self, reason: &str) {
        if let Some((_, reject)) = self.settle.borrow_mut().take() {
            let _ = reject.call1(&JsValue::UNDEFINED, &js_sys::Error::new(reason));
        }
    }
}

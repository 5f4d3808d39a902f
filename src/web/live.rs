//! Live views (sliders, hover) ask for a decode on every input event. Decodes take
//! longer than events come, so only the newest request is kept: while one runs, a
//! newer one replaces any waiting one, and stale positions never pile up.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::task::spawn_local;

type Job = Pin<Box<dyn Future<Output = ()>>>;

#[derive(Clone, Default)]
pub struct NewestOnly {
    state: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    running: bool,
    waiting: Option<Job>,
}

impl NewestOnly {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `job` now if nothing runs, else after the running job, replacing (and so
    /// dropping, unstarted) any job that was waiting.
    pub fn submit(&self, job: impl Future<Output = ()> + 'static) {
        let mut state = self.state.borrow_mut();
        if state.running {
            state.waiting = Some(Box::pin(job));
            return;
        }
        state.running = true;
        drop(state);
        let shared = self.state.clone();
        spawn_local(async move {
            let mut job: Job = Box::pin(job);
            loop {
                job.await;
                let next = shared.borrow_mut().waiting.take();
                match next {
                    Some(next) => job = next,
                    None => {
                        shared.borrow_mut().running = false;
                        break;
                    }
                }
            }
        });
    }
}

//! The page's shared state: the model on show and the signals every view reads (and some
//! write). Provided through leptos context by the app; the views and the session import
//! this module, never the app.

use std::sync::Arc;

use leptos::prelude::*;

use crate::core::artifacts::LatentMap;
use crate::core::catalogue::DEFAULT_MODEL;
use crate::core::plane::{nearest_point, Space};
use crate::core::weights::Manifest;
use crate::web::address;
use crate::web::engine::LoadStep;
pub use crate::web::kept::KeptModel;

/// The page's signals: made once at start-up (before the page is mounted, so that the
/// session and the JS API can write them too) and given to the views as context.
#[derive(Clone, Copy)]
pub struct Page {
    /// The model the page should show: the picker, `latentlab.use` and a fall-back write it.
    pub requested: RwSignal<String>,
    pub status: RwSignal<PageState>,
    /// What the page could not do as asked, and what it did instead: each shown while the
    /// model it names is on show (or always, when it names none).
    pub notices: RwSignal<Vec<Notice>>,
    pub backend: RwSignal<Option<BackendInfo>>,
    pub views: Views,
    /// The models kept in this browser ("your models"), oldest first.
    pub kept: RwSignal<Vec<KeptModel>>,
    /// Why the kept models could not be listed, in words.
    pub kept_problem: RwSignal<Option<String>>,
    /// The kept models ticked for the side-by-side view (by name, two to four).
    pub compared: RwSignal<Vec<String>>,
    pub storage: RwSignal<Option<StorageLine>>,
    /// How many of the panel groups below the plane views are shown: none until the first
    /// model is, then one more each frame (see `reveal_panels`).
    pub panel_groups_shown: RwSignal<u8>,
}

/// The panel groups below the plane views (the app mounts them a frame apart at start-up).
pub const PANEL_GROUPS: u8 = 6;

/// The browser's storage for this site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StorageLine {
    pub used: f64,
    pub quota: f64,
    /// Whether the browser keeps it even when space runs short.
    pub persisted: bool,
}

impl Page {
    pub fn new() -> Self {
        Self {
            requested: RwSignal::new(address::query_param("model").unwrap_or_else(|| DEFAULT_MODEL.name())),
            status: RwSignal::new(PageState::StartingBackend),
            notices: RwSignal::new(Vec::new()),
            backend: RwSignal::new(None),
            kept: RwSignal::new(Vec::new()),
            compared: RwSignal::new(address::compared_in_address()),
            kept_problem: RwSignal::new(None),
            storage: RwSignal::new(None),
            panel_groups_shown: RwSignal::new(0),
            views: Views {
                shown: RwSignal::new(None),
                point: RwSignal::new(Vec::new()),
                samples: RwSignal::new(Vec::new()),
                pinned: RwSignal::new(None),
                drawn: RwSignal::new(None),
                tray: Tray { items: RwSignal::new(Vec::new()), next_id: StoredValue::new(1) },
                path: RwSignal::new(Vec::new()),
            },
        }
    }

    /// Whether the model asked for is the one the first paint pictures (`www/index.html`).
    pub fn requests_first_paint_model(&self) -> bool {
        self.requested.with(|name| *name == DEFAULT_MODEL.name())
    }

    pub fn notify(&self, notice: Notice) {
        self.notices.update(|n| n.push(notice));
    }

    /// Shows the panel groups below the plane views, one a frame, once the first model is
    /// on show: shown at once, the browser would lay out and style the whole page in one
    /// frame (~60 ms here, four times that on a slow phone). Resolves when all are shown.
    pub async fn reveal_panels(&self) {
        while self.panel_groups_shown.get_untracked() < PANEL_GROUPS {
            crate::web::tasks::next_frame().await;
            self.panel_groups_shown.update(|shown| *shown += 1);
        }
    }
}

/// What the status line says.
#[derive(Clone, Debug, PartialEq)]
pub enum PageState {
    StartingBackend,
    Loading { name: String, step: LoadStep },
    Decoding { name: String },
    Ready { name: String, decode_millis: f64 },
    Failed(String),
}

/// A message about what the page was asked to do, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// The model it speaks of ("shows X instead"): shown only while X is on show.
    pub while_shown: Option<String>,
    pub text: String,
}

impl Notice {
    pub fn always(text: String) -> Self {
        Self { while_shown: None, text }
    }
}

/// The backend in use, for the badge.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendInfo {
    pub label: &'static str,
    pub fallback_reason: Option<String>,
    /// Why WebGPU runs, when the page timed both backends.
    pub timing: Option<String>,
    /// The threads the engine's CPU backend decodes on.
    pub cpu_threads: usize,
    /// Why the engine decodes on one thread, when its threads did not start.
    pub single_thread_reason: Option<String>,
}

/// The model on show, with what its views need.
#[derive(Clone, Debug)]
pub struct Shown {
    pub name: String,
    pub manifest: Arc<Manifest>,
    /// The shipped latent map (2-D models), or why there is none.
    pub map: Result<Arc<LatentMap>, String>,
    /// The decoded 15×15 grid (2-D models).
    pub grid: Option<Arc<Vec<f32>>>,
    /// The z-space window that holds the latent map (computed once: views redraw often).
    pub z_window: Space,
}

impl Shown {
    pub fn latent(&self) -> usize {
        self.manifest.latent
    }

    pub fn is_planar(&self) -> bool {
        self.latent() == 2
    }

    /// The test image whose μ on the shipped map lies nearest `z`: its index and its class.
    pub fn nearest_test_image(&self, z: [f32; 2]) -> Option<(usize, &str)> {
        let map = self.map.as_ref().ok()?;
        let index = nearest_point(&map.means, z)?;
        let class = map.labels.get(index).and_then(|&label| self.manifest.class_names.get(usize::from(label)))?;
        Some((index, class.as_str()))
    }
}

/// Signals every view may read; `point`, `samples` and `pinned` they may also write.
#[derive(Clone, Copy)]
pub struct Views {
    pub shown: RwSignal<Option<Shown>>,
    /// The sliders' latent point.
    pub point: RwSignal<Vec<f32>>,
    /// Samples from the prior, marked on the map.
    pub samples: RwSignal<Vec<Vec<f32>>>,
    /// The point clicked on the map.
    pub pinned: RwSignal<Option<[f32; 2]>>,
    /// The person's drawing, encoded by the model on show.
    pub drawn: RwSignal<Option<Encoding>>,
    /// Encoded drawings and test images, for interpolation.
    pub tray: Tray,
    /// The interpolation path on show.
    pub path: RwSignal<Vec<Vec<f32>>>,
}

/// μ and σ of one encoded image.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoding {
    pub mu: Vec<f32>,
    pub sigma: Vec<f32>,
}

/// An item of the tray: a drawing or a test image (its 28×28 input kept, so it can be
/// re-encoded by another model), or a test image beyond those the site ships (μ only,
/// its thumbnail the decode of μ).
#[derive(Clone, Debug, PartialEq)]
pub struct TrayItem {
    /// Given by the tray as the item goes in ([`Tray::add`]).
    pub id: u64,
    pub label: String,
    /// The model whose encoding this is.
    pub model: String,
    pub thumbnail: Arc<Vec<f32>>,
    pub mu: Vec<f32>,
    pub sigma: Option<Vec<f32>>,
    pub input: Option<Arc<Vec<f32>>>,
}


/// The tray's items, and the one place their ids come from.
#[derive(Clone, Copy)]
pub struct Tray {
    pub items: RwSignal<Vec<TrayItem>>,
    next_id: StoredValue<u64>,
}

impl Tray {
    pub const CAPACITY: usize = 12;

    pub fn is_full(&self) -> bool {
        self.items.with(|items| items.len() >= Self::CAPACITY)
    }

    pub fn is_full_untracked(&self) -> bool {
        self.items.with_untracked(|items| items.len() >= Self::CAPACITY)
    }

    /// Puts `item` in the tray with a new id, unless the tray is full.
    pub fn add(&self, mut item: TrayItem) {
        self.items.update(|items| {
            if items.len() < Self::CAPACITY {
                item.id = self.next_id.get_value();
                self.next_id.set_value(item.id + 1);
                items.push(item);
            }
        });
    }
}

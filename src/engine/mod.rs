//! The model engine beside the page: the page's wasm is the UI, and the model runs in the
//! engine's Web Worker (its own wasm binary, `engine-worker`, with burn and the backends).
//! This module holds the messages between the two (plain code, tested natively); the
//! worker itself is [`worker`].
//!
//! Every message is a JSON text with an optional binary part beside it (transferred, not
//! copied): weights going in, latent points or images going in, pixels or encodings
//! coming back. Requests carry an id, and the answer names it.

use serde::{Deserialize, Serialize};

use crate::core::backend_kind::{BackendKind, BackendRequest};
use crate::core::weights::Manifest;

#[cfg(all(target_arch = "wasm32", feature = "engine"))]
pub mod worker;

/// Messages from the page to the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToEngine {
    /// Chooses the backend (once): `requested`, or by itself when `None`.
    Start { id: u64, requested: Option<BackendRequest> },
    /// Loads a model; its weight file is the binary part, checked against the manifest.
    Load { id: u64, manifest: Manifest },
    /// Decodes latent points with the model called `model`; the binary part holds their
    /// values (f32), point by point.
    Decode { id: u64, model: String },
    /// Encodes 28×28 images (the binary part: 784 f32 values in [0, 1] each).
    Encode { id: u64, model: String },
    /// Asks for the size of the engine's wasm memory (benchmarks).
    Memory { id: u64 },
}

/// Messages from the engine to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromEngine {
    /// The multi-threaded engine is starting its CPU threads (`Alive` follows once they run).
    StartingThreads { threads: usize },
    /// The worker has started and takes messages.
    Alive,
    /// The backend is chosen (the answer to `Start`).
    Started { id: u64, started: StartedBackend },
    /// The request `id` is done: for a decode the binary part holds the pixels (n × 784
    /// f32), for an encode μ then log σ² (n × latent f32 each).
    Done { id: u64 },
    /// The engine's wasm memory, in bytes (the answer to `Memory`).
    Memory { id: u64, bytes: f64 },
    /// The request `id` failed, in words.
    Refused { id: u64, message: String },
    /// A WebGPU operation failed and the engine restarted its backend (on a new WebGPU
    /// device or on the CPU) with its models loaded again; `message` says so for the page.
    Restarted { backend: BackendKind, message: String },
    /// The engine stopped (an internal error): nothing more will come.
    Failed { message: String },
}

/// The backend the engine chose, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedBackend {
    pub backend: BackendKind,
    /// Why WebGPU is not used, when the engine fell back to the CPU on its own.
    pub fallback_reason: Option<String>,
    /// When the engine timed both backends and WebGPU was the faster: the two timings.
    pub timing: Option<String>,
    /// What the lab's worker is asked to train on: this backend, or, where the engine
    /// timed both, the faster (the lab times a training step on each).
    pub lab_request: BackendRequest,
    /// When the requested backend could not start, why (the engine chose by itself).
    pub request_refused: Option<String>,
    /// The threads the CPU backend decodes and encodes on (more than one in the
    /// multi-threaded engine).
    #[serde(default = "one_thread")]
    pub cpu_threads: usize,
}

fn one_thread() -> usize {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_json() {
        let messages = [
            ToEngine::Start { id: 1, requested: Some(BackendRequest::Fastest) },
            ToEngine::Start { id: 2, requested: None },
            ToEngine::Decode { id: 7, model: "mnist-vae-2d".into() },
            ToEngine::Encode { id: 8, model: "fashion-vae-16d".into() },
        ];
        for message in messages {
            let json = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<ToEngine>(&json).unwrap(), message, "{json}");
        }
        let started = FromEngine::Started { id: 1, started: StartedBackend {
            backend: BackendKind::Cpu,
            fallback_reason: Some("no WebGPU".into()),
            timing: None,
            lab_request: BackendRequest::Only(BackendKind::Cpu),
            request_refused: None,
            cpu_threads: 2,
        } };
        for message in [started, FromEngine::StartingThreads { threads: 8 }, FromEngine::Done { id: 3 }, FromEngine::Refused { id: 4, message: "no".into() }] {
            let json = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<FromEngine>(&json).unwrap(), message, "{json}");
        }
    }
}

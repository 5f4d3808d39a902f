//! The two compute backends by name, and what a run asks for: shared by the page, the
//! lab's worker and the messages between them (so they carry types, not strings).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackendKind {
    #[serde(rename = "webgpu")]
    WebGpu,
    #[serde(rename = "cpu")]
    Cpu,
}

impl BackendKind {
    /// The name the JS API and the `?backend=` parameter use.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::WebGpu => "webgpu",
            BackendKind::Cpu => "cpu",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BackendKind::WebGpu => "WebGPU",
            BackendKind::Cpu => "CPU (WebAssembly)",
        }
    }

    /// The backend as a sentence names it: "WebGPU", "the CPU".
    pub fn in_words(self) -> &'static str {
        match self {
            BackendKind::WebGpu => "WebGPU",
            BackendKind::Cpu => "the CPU",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "webgpu" | "gpu" => Some(BackendKind::WebGpu),
            "cpu" => Some(BackendKind::Cpu),
            _ => None,
        }
    }
}

/// What is asked for: a backend, or to time both and keep the faster (the page's
/// `?backend=auto`, which times even a software adapter; for the lab's worker, a training
/// step timed on each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendRequest {
    Only(BackendKind),
    Fastest,
}

impl BackendRequest {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "auto" | "fastest" => Some(BackendRequest::Fastest),
            other => BackendKind::parse(other).map(BackendRequest::Only),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialise_as_the_js_api_spells_them() {
        for kind in [BackendKind::WebGpu, BackendKind::Cpu] {
            assert_eq!(BackendKind::parse(kind.name()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.name()));
        }
        assert_eq!(BackendRequest::parse("AUTO"), Some(BackendRequest::Fastest));
        assert_eq!(BackendRequest::parse("gpu"), Some(BackendRequest::Only(BackendKind::WebGpu)));
        assert_eq!(BackendRequest::parse("tpu"), None);
        let request = BackendRequest::Only(BackendKind::Cpu);
        assert_eq!(serde_json::from_str::<BackendRequest>(&serde_json::to_string(&request).unwrap()).unwrap(), request);
    }
}

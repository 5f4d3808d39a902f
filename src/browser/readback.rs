//! Reading tensors back from the device, asynchronously: a synchronous read (or a move
//! between devices) panics on WebGPU in wasm. Shared by the page's engine and the lab.

use burn::prelude::*;

use crate::core::data::unit_to_byte;

/// Why a read-back failed.
#[derive(Debug)]
pub enum ReadFailure {
    /// The backend failed (a lost WebGPU device, out of memory): its error, in its words.
    Backend(String),
    /// The data came back, but not as 32-bit floats.
    Data(String),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Backend(e) | Self::Data(e) => f.write_str(e),
        }
    }
}

impl From<ReadFailure> for String {
    fn from(failure: ReadFailure) -> Self {
        failure.to_string()
    }
}

/// The tensor's values, in order.
pub async fn read_floats<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadFailure> {
    tensor
        .into_data_async()
        .await
        .map_err(|e| ReadFailure::Backend(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| ReadFailure::Data(format!("{e:?}")))
}

/// The first value of a tensor (a loss), as f64.
pub async fn read_scalar(tensor: Tensor<1>) -> Result<f64, String> {
    let values = read_floats(tensor).await?;
    values.first().map(|v| f64::from(*v)).ok_or_else(|| "no value".to_string())
}

/// Images with values in [0, 1], as bytes.
pub async fn read_pixels(tensor: Tensor<4>) -> Result<Vec<u8>, String> {
    let values = read_floats(tensor).await?;
    Ok(values.into_iter().map(unit_to_byte).collect())
}

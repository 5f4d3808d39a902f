//! The page's first paint: the default model's 15×15 grid as a static picture, shown by
//! the HTML before any wasm has arrived. Made here from the shipped weights, tiled as the
//! page tiles its decodes, so that it is the picture the live page then paints.

use std::path::Path;

use burn::prelude::*;

use crate::core::math::{default_latent_grid, GRID_SIZE};
use crate::core::model::{Vae, IMAGE_SIDE};
use crate::core::mosaic::tile_greyscale;

/// Where the site keeps the picture (relative to `www/`, and to the built page).
pub const FIRST_PAINT_FILE: &str = "first-paint.png";

/// A greyscale picture, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyPicture {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// `model`'s decodes of the page's 15×15 latent grid, tiled 15 to a row.
pub fn grid_picture(model: &Vae, device: &Device) -> Result<GreyPicture, String> {
    let latents: Vec<f32> = default_latent_grid().into_iter().flatten().collect();
    let z = Tensor::<2>::from_data(TensorData::new(latents, [GRID_SIZE * GRID_SIZE, 2]), device);
    let decoded = model.decode(z).into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    let (rgba, width, height) = tile_greyscale(&decoded, IMAGE_SIDE, GRID_SIZE);
    Ok(GreyPicture { width, height, pixels: rgba.chunks_exact(4).map(|px| px[0]).collect() })
}

pub fn write_png(picture: &GreyPicture, path: &Path) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| failed(&e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), picture.width as u32, picture.height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(|e| failed(&e))?;
    writer.write_image_data(&picture.pixels).map_err(|e| failed(&e))?;
    writer.finish().map_err(|e| failed(&e))
}

/// An 8-bit greyscale PNG, as [`write_png`] writes it.
pub fn read_png(bytes: &[u8]) -> Result<GreyPicture, String> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().map_err(|e| e.to_string())?;
    let info = reader.info();
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
        return Err(format!("not an 8-bit greyscale PNG ({:?}, {:?})", info.color_type, info.bit_depth));
    }
    let (width, height) = (info.width as usize, info.height as usize);
    let mut pixels = vec![0; reader.output_buffer_size().ok_or("the PNG is too large")?];
    reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    pixels.truncate(width * height);
    Ok(GreyPicture { width, height, pixels })
}

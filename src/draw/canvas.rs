//! An RGB image in memory, encoded as PNG without an image-codec
//! dependency.

use super::{DrawError, Rgb};

/// An RGB image being drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A `width × height` image filled with `color`.
    pub fn new(width: u32, height: u32, color: Rgb) -> Self {
        let pixels = [color.0, color.1, color.2].repeat((width * height) as usize);
        Self {
            width,
            height,
            pixels,
        }
    }

    /// An image from raw RGB bytes, row by row (`width × height × 3` of them).
    pub fn from_rgb(width: u32, height: u32, pixels: Vec<u8>) -> Self {
        debug_assert_eq!(pixels.len(), (width * height * 3) as usize);
        Self {
            width,
            height,
            pixels,
        }
    }

    /// The colour at (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> Rgb {
        let at = ((y * self.width + x) * 3) as usize;
        Rgb(self.pixels[at], self.pixels[at + 1], self.pixels[at + 2])
    }

    /// Paints a rectangle, clipped to the image.
    pub fn fill(&mut self, x: u32, y: u32, width: u32, height: u32, color: Rgb) {
        for py in y..(y + height).min(self.height) {
            for px in x..(x + width).min(self.width) {
                let at = ((py * self.width + px) * 3) as usize;
                self.pixels[at..at + 3].copy_from_slice(&[color.0, color.1, color.2]);
            }
        }
    }

    /// Lays `color` over one pixel at `alpha`; pixels outside are ignored.
    pub fn blend(&mut self, x: i32, y: i32, color: Rgb, alpha: f32) {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
            return;
        };
        if x >= self.width || y >= self.height {
            return;
        }
        let mixed = color.over(self.pixel(x, y), alpha);
        let at = ((y * self.width + x) * 3) as usize;
        self.pixels[at..at + 3].copy_from_slice(&[mixed.0, mixed.1, mixed.2]);
    }

    /// The raw RGB bytes, row by row.
    pub fn rgb_bytes(&self) -> &[u8] {
        &self.pixels
    }
}

/// Encodes the image as an 8-bit RGB PNG.
pub fn encode_png(canvas: &Canvas) -> Result<Vec<u8>, DrawError> {
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, canvas.width, canvas.height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    encoder.add_text_chunk(
        "Software".into(),
        format!("atelier {}", env!("CARGO_PKG_VERSION")),
    )?;
    let mut writer = encoder.write_header()?;
    writer.write_image_data(canvas.rgb_bytes())?;
    writer.finish()?;
    Ok(bytes)
}

//! The embedded `DejaVu` Sans Mono faces: screenshots use all four, figures
//! the first two, so every picture atelier makes has the same letters.

pub const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
pub const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");
pub const OBLIQUE: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Oblique.ttf");
pub const BOLD_OBLIQUE: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-BoldOblique.ttf");

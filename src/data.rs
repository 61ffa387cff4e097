//! Fashion-MNIST: the readers for both on-disk layouts, discovery, download
//! (the official mirror, or Debian's package without root), verification and conversion to tensors.

pub mod classes;
pub mod csv;
pub mod dataset;
pub mod debian;
pub mod discover;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod split;
pub mod verify;

pub use classes::{CLASS_NAMES, NUM_CLASSES};
pub use dataset::FashionMnist;
pub use discover::{discover, DataSource, Format, SearchPlace};
pub use error::DataError;
pub use split::{Split, IMAGE_PIXELS, IMAGE_SIDE};

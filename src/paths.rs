//! Where atelier keeps its files: the per-user data directory from `directories`.

use std::path::PathBuf;

use directories::ProjectDirs;

/// The per-user data directory (`~/.local/share/atelier` on Linux), if the
/// platform has a home directory at all.
pub fn user_data_dir() -> Option<PathBuf> {
    ProjectDirs::from("", "", "atelier").map(|dirs| dirs.data_dir().to_path_buf())
}

/// The folder where `atelier data fetch` stores Fashion-MNIST for this user.
pub fn user_dataset_dir() -> Option<PathBuf> {
    user_data_dir().map(|dir| dir.join("fashion-mnist"))
}

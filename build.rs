//! Writes the libtorch library directory into the binaries as an rpath, so
//! `target/release/atelier` runs without LD_LIBRARY_PATH, and keeps
//! libtorch_cuda.so linked: without it CUDA is silently unavailable.
use std::{env, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // torch-sys declares `links = "tch"` and exports the lib dir it linked against.
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib_dir) = env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:rustc-env=ATELIER_LIBTORCH_CUDA=unknown");
        return;
    };
    let target = env::var("TARGET").unwrap_or_default();
    if target.contains("apple") || target.contains("windows") {
        println!("cargo:rustc-env=ATELIER_LIBTORCH_CUDA=unknown");
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    // The linker's --as-needed drops libtorch_cuda.so because no symbol of it is
    // referenced directly; its static initialisers are what register CUDA.
    let cuda = Path::new(&lib_dir).join("libtorch_cuda.so").exists();
    if cuda {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
    // Lets the binary tell "no GPU here" from "built without CUDA".
    println!("cargo:rustc-env=ATELIER_LIBTORCH_CUDA={}", u8::from(cuda));
}

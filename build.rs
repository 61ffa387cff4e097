//! Compiles atelier's C++ (the fused `ReLU` + pool kernel, the subnormal
//! switch) against libtorch's headers, writes
//! the libtorch library directory into the binaries as an rpath, so
//! `target/release/atelier` runs without `LD_LIBRARY_PATH`, and keeps
//! `libtorch_cuda.so` linked: without it CUDA is silently unavailable.
use std::{env, path::Path};

/// C++ built against libtorch's headers: the fused `ReLU` + pool kernel and
/// the switch that flushes subnormal floats on libtorch's threads.
const KERNELS: [&str; 2] = ["src/model/relu_pool.cpp", "src/train/denormals.cpp"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for kernel in KERNELS {
        println!("cargo:rerun-if-changed={kernel}");
    }
    // torch-sys declares `links = "tch"` and exports the lib dir it linked against.
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let lib_dir = env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys did not say where libtorch is (DEP_TCH_LIBTORCH_LIB)");
    compile_kernel(Path::new(&lib_dir));
    compile_onnx_proto();
    println!(
        "cargo:rustc-env=ATELIER_LIBTORCH_VERSION={}",
        libtorch_version(Path::new(&lib_dir))
    );

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

/// The version of the libtorch in `lib_dir`, for `atelier --version`: a
/// libtorch folder has `build-version`, a Python torch package `version.py`.
fn libtorch_version(lib_dir: &Path) -> String {
    let root = lib_dir.join("..");
    let build_version = root.join("build-version");
    let version_py = root.join("version.py");
    println!("cargo:rerun-if-changed={}", build_version.display());
    if let Ok(text) = std::fs::read_to_string(&build_version) {
        return text.trim().to_string();
    }
    std::fs::read_to_string(&version_py)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("__version__ = "))
                .map(|value| value.trim().trim_matches(['\'', '"']).to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The headers sit beside the libraries in both layouts torch-sys takes (a
/// libtorch folder, the torch package of a Python environment).
fn compile_kernel(lib_dir: &Path) {
    let include = lib_dir.join("..").join("include");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    // torch-sys' default; PyPI wheels since 2.7 use the C++11 ABI too.
    let abi = env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .files(KERNELS)
        .include(&include)
        .include(
            include
                .join("torch")
                .join("csrc")
                .join("api")
                .join("include"),
        )
        .define("_GLIBCXX_USE_CXX11_ABI", abi.as_str())
        .opt_level(3)
        // at::parallel_for is an OpenMP pragma in libtorch's headers: without
        // this flag the kernel would run on one thread.
        .flag("-fopenmp")
        // libtorch's headers warn a lot; the kernel's own code is small.
        .warnings(false)
        .flag_if_supported("-w")
        .compile("atelier_kernels");
}

/// ONNX's own message definitions, vendored with their licence.
const ONNX_PROTO: &str = "src/interop/onnx/onnx.proto";

/// Generates `OUT_DIR/onnx.rs`, the prost messages of [`ONNX_PROTO`], for
/// src/interop/onnx/proto.rs to `include!`: protox parses the file, so no
/// `protoc` has to be installed.
fn compile_onnx_proto() {
    println!("cargo:rerun-if-changed={ONNX_PROTO}");
    let folder = Path::new(ONNX_PROTO).parent().expect("a file in a folder");
    let descriptors = protox::compile([ONNX_PROTO], [folder])
        .unwrap_or_else(|e| panic!("cannot parse {ONNX_PROTO}: {e}"));
    prost_build::Config::new()
        .compile_fds(descriptors)
        .unwrap_or_else(|e| panic!("cannot generate Rust from {ONNX_PROTO}: {e}"));
}

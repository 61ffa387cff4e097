//! `atelier data info`: the dataset found, where, and the devices libtorch sees.

use std::{path::Path, process::ExitCode, time::Instant};

use atelier::{
    data::{self, FashionMnist, CLASS_NAMES},
    outln,
};

pub fn run(data_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let source = data::discover(data_dir)?;
    let started = Instant::now();
    let dataset = FashionMnist::load(&source)?;
    let elapsed = started.elapsed();
    outln!("atelier {}", env!("CARGO_PKG_VERSION"))?;
    outln!("Fashion-MNIST: {source}")?;
    outln!(
        "  {} training and {} test images loaded in {:.0} ms",
        dataset.train.len(),
        dataset.test.len(),
        elapsed.as_secs_f64() * 1000.0
    )?;
    let (train, validation) = dataset.train.keras_validation_split(0.2);
    outln!(
        "  Keras-style split: {} train / {} validation (last 20%, unshuffled)",
        train.len(),
        validation.len()
    )?;
    outln!("  classes: {}", CLASS_NAMES.join(", "))?;
    outln!("  libtorch: {}", device_summary())?;
    Ok(ExitCode::SUCCESS)
}

fn device_summary() -> String {
    let cuda = tch::Cuda::device_count();
    if cuda > 0 {
        format!(
            "CUDA available ({}), cuDNN {}",
            atelier::units::count(cuda, "device"),
            tch::Cuda::cudnn_is_available()
        )
    } else {
        let build = match atelier::train::device::built_with_cuda() {
            Some(false) => ", built without CUDA",
            Some(true) => ", built with CUDA, no GPU seen",
            None => "",
        };
        format!("CPU only ({} threads{build})", tch::get_num_threads())
    }
}

//! Fixtures shared by the integration tests: small datasets written to temp folders.
#![allow(dead_code)]

use std::{io::Write, path::Path, process::Command, time::Duration};

use atelier::{
    data::{discover::PlaceKind, idx, DataSource, SearchPlace, IMAGE_PIXELS},
    plan::RunSpec,
    protocol::{Event, RunId, RunRequest},
    store::RunStore,
    train::Trainer,
};
use crossbeam_channel::RecvTimeoutError;
use flate2::{write::GzEncoder, Compression};

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes a tiny but valid IDX dataset (`train` and `test` images) into `dir`, gzipped.
pub fn write_idx_dataset(dir: &Path, train: usize, test: usize) {
    for (images, labels, count) in [
        (idx::TRAIN_IMAGES, idx::TRAIN_LABELS, train),
        (idx::TEST_IMAGES, idx::TEST_LABELS, test),
    ] {
        let pixels: Vec<u8> = (0..count * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect();
        let label_bytes: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        std::fs::write(
            dir.join(format!("{images}.gz")),
            gzip(&idx::encode_images(count, &pixels)),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{labels}.gz")),
            gzip(&idx::encode_labels(&label_bytes)),
        )
        .unwrap();
    }
}

/// The events of a whole run of `epochs` epochs, ten progress steps each.
pub fn run_events(run: &str, epochs: u32) -> Vec<Event> {
    let mut events = vec![atelier::testing::started(run).epochs(epochs).event()];
    for epoch in 1..=epochs {
        for step in 1..=10_usize {
            events.push(Event::Progress {
                run: run.into(),
                epoch,
                step,
                steps: 10,
                loss: 1.0 / step as f64,
                accuracy: 0.5,
                recent_loss: 0.9,
                recent_accuracy: 0.6,
                samples_per_sec: 1_000.0,
                elapsed_secs: step as f64,
                learning_rate: None,
            });
        }
        events.push(Event::EpochEnd {
            run: run.into(),
            epoch,
            epochs,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy: 0.80 + f64::from(epoch) / 100.0,
            seconds: 1.0,
        });
    }
    let mut confusion = [[0; 10]; 10];
    for (class, row) in confusion.iter_mut().enumerate() {
        row[class] = 18;
        row[(class + 1) % 10] = 2;
    }
    events.push(Event::Evaluated {
        run: run.into(),
        test_loss: 0.41,
        test_accuracy: 0.9,
        confusion: Box::new(confusion),
    });
    events.push(Event::Finished {
        run: run.into(),
        seconds: 3.0,
        best_val_accuracy: 0.8 + f64::from(epochs) / 100.0,
        best_epoch: epochs,
    });
    events
}

/// A request for a small MLP run of `epochs` epochs on the CPU.
pub fn request(store: &RunStore, name: &str, epochs: u32) -> RunRequest {
    RunRequest {
        id: store.new_id(name),
        plan: "test".into(),
        spec: atelier::testing::tiny_spec(name, epochs),
    }
}

/// Writes a whole finished run of `epochs` epochs into `store`; returns its id.
pub fn stored_run(store: &RunStore, name: &str, epochs: u32) -> RunId {
    let request = request(store, name, epochs);
    let mut writer = store.create(&request).unwrap();
    for event in run_events(&request.id, epochs) {
        writer.record(&event).unwrap();
    }
    request.id
}

/// Sends `signal` (`libc::SIGINT`, …) to process `pid`; panics if it cannot.
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let status = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(
        status,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// How long a test waits for a trainer event before failing.
pub const WAIT: Duration = Duration::from_secs(120);

/// Writes a synthetic dataset of `train` and `test` images into `dir` and
/// returns it as the trainer's source.
pub fn synthetic_source(dir: &Path, train: usize, test: usize) -> DataSource {
    write_idx_dataset(dir, train, test);
    atelier::data::discover::discover_in(&[SearchPlace {
        kind: PlaceKind::Flag,
        dir: dir.to_path_buf(),
    }])
    .unwrap()
}

/// Waits for the first event matching `wanted`, failing the test after [`WAIT`].
pub fn wait_for(trainer: &Trainer, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
    loop {
        match trainer.events().recv_timeout(WAIT) {
            Ok(event) if wanted(&event) => return event,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => panic!("no {what} within {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("trainer ended before {what}"),
        }
    }
}

/// The `atelier` binary on a data folder and a runs folder, ignoring the
/// caller's `ATELIER_RUNS`.
pub fn atelier(data: &Path, runs: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command
        .arg("--data-dir")
        .arg(data)
        .arg("--runs-dir")
        .arg(runs)
        .env_remove("ATELIER_RUNS");
    command
}

/// A finished run of `base` with `seed` (named `NAME seed=S`) whose test
/// accuracy is `accuracy`; returns its id.
pub fn run_with_accuracy(store: &RunStore, base: &RunSpec, seed: u64, accuracy: f64) -> RunId {
    let spec = atelier::plan::sweep::with_seed(base, seed);
    let request = RunRequest {
        id: store.new_id(&spec.name),
        plan: "test".into(),
        spec,
    };
    let mut writer = store.create(&request).unwrap();
    for mut event in run_events(&request.id, base.epochs) {
        if let Event::Evaluated { test_accuracy, .. } = &mut event {
            *test_accuracy = accuracy;
        }
        writer.record(&event).unwrap();
    }
    request.id
}

/// Stores test predictions for run `id`: 200 images, label `i % 10`, all
/// right but those in `wrong`.
pub fn write_predictions(store: &RunStore, id: &str, wrong: &[usize]) {
    let labels: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
    let mut predicted = labels.clone();
    for &index in wrong {
        predicted[index] = ((index + 1) % 10) as u8;
    }
    let probabilities: Vec<u8> = predicted
        .iter()
        .flat_map(|&class| {
            let mut row = [0u8; 10];
            row[usize::from(class)] = 230;
            row[(usize::from(class) + 6) % 10] = 25;
            row
        })
        .collect();
    atelier::store::Predictions::new(labels, predicted, probabilities)
        .unwrap()
        .save(&store.run_dir(id))
        .unwrap();
}

/// The rule for what a test needs and a machine may lack (the dataset, a
/// venv, a tool, a cluster): under `CI=true` CI must have provided it, so
/// the test fails here; elsewhere the caller skips, and this says so.
pub fn missing(what: &str) {
    assert!(
        !std::env::var("CI").is_ok_and(|ci| ci == "true"),
        "CI=true but {what}"
    );
    eprintln!("skipped: {what}");
}

/// The Python of the interop venv (`make interop-venv`): `ATELIER_INTEROP_PYTHON`,
/// else `.venv-interop/bin/python3` in the checkout. Without one the caller
/// skips with a note, except under `CI=true`, where CI must have made it.
pub fn interop_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("ATELIER_INTEROP_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-interop/bin/python3"),
        std::path::PathBuf::from,
    );
    if python.is_file() {
        return Some(python);
    }
    missing(&format!(
        "{} is missing: run `make interop-venv`",
        python.display()
    ));
    None
}

/// (width, height) of a PNG file, after decoding all of it.
pub fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    (info.width, info.height)
}

/// Writes an executable `sh` script `name` into `dir`: a stand-in for a
/// tool (`sbatch`, `squeue`, `apt-get`) that a test puts on atelier's way.
pub fn fake_tool(dir: &Path, name: &str, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

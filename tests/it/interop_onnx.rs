//! `atelier export --onnx` run by a real client: ONNX Runtime (the
//! `onnxruntime` package of the interop venv) on the test images must give
//! the run's stored predictions for every image, and the probabilities
//! atelier's own network computes to 1e-5, for every kind of model a plan
//! can build.

use crate::common;

use std::{path::Path, process::Command};

use atelier::{
    data::{self, FashionMnist},
    store::{RunRecord, RunStore},
    train::step::Model,
};
use serde_json::Value;
use tch::{nn::ModuleT, Device, Kind, Tensor};

/// One run of each kind: the seed CNN with dropout, the MLP, and convnets
/// with `BatchNorm`, strides, residual blocks (with and without a projection),
/// valid padding, global average pooling and a flattening head.
const PLAN: &str = r#"
[defaults]
epochs = 1
batch_size = 16

[[run]]
name = "cnn"
model = { kind = "cnn", conv = [4, 4], dense = 8, dropout = true }

[[run]]
name = "mlp"
model = { kind = "mlp", hidden = [16, 8], dropout = true }

[[run]]
name = "resnet"
model = { kind = "convnet", blocks = [
    { width = 4, convs = 2, batch_norm = true },
    { width = 4, convs = 2, batch_norm = true, residual = true, pool = "none" },
    { width = 8, convs = 2, batch_norm = true, residual = true, pool = "stride", dropout = 0.1 },
], head = { pool = "gap", dense = [8], dropout = 0.2 } }

[[run]]
name = "valid"
model = { kind = "convnet", blocks = [
    { width = 4, convs = 1, kernel = 5, padding = "valid" },
    { width = 6, convs = 2, kernel = 3, batch_norm = true, pool = "stride" },
], head = { pool = "flatten", dense = [] } }
"#;

struct Setup {
    data: tempfile::TempDir,
    runs: tempfile::TempDir,
    out: tempfile::TempDir,
}

fn train() -> Setup {
    let setup = Setup {
        data: tempfile::tempdir().unwrap(),
        runs: tempfile::tempdir().unwrap(),
        out: tempfile::tempdir().unwrap(),
    };
    common::write_idx_dataset(setup.data.path(), 400, 200);
    let plan = setup.data.path().join("kinds.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let output = common::atelier(setup.data.path(), setup.runs.path())
        .args(["train", "--device", "cpu", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    setup
}

fn export(setup: &Setup, args: &[&str]) -> std::process::Output {
    common::atelier(setup.data.path(), setup.runs.path())
        .arg("export")
        .args(args)
        .output()
        .unwrap()
}

fn check(python: &Path, model: &Path, setup: &Setup, run_dir: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/onnx_check.py");
    let output = Command::new(python)
        .arg(script)
        .arg(model)
        .arg(setup.data.path())
        .arg(run_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What atelier's own network gives for the first 32 test images.
fn atelier_outputs(record: &RunRecord, run_dir: &Path, data: &Path, logits: bool) -> Tensor {
    let mut model = Model::build(&record.spec, Device::Cpu).unwrap();
    model.store.load(run_dir.join("final.safetensors")).unwrap();
    let source = data::discover(Some(data)).unwrap();
    let dataset = FashionMnist::load(&source).unwrap();
    let images = dataset.test.images_tensor(Device::Cpu).narrow(0, 0, 32);
    let out = tch::no_grad(|| model.net.forward_t(&images, false));
    if logits {
        out
    } else {
        out.softmax(-1, Kind::Float)
    }
}

fn max_difference(onnx: &Value, ours: &Tensor) -> f64 {
    let ours: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(ours).unwrap();
    let rows = onnx.as_array().unwrap();
    assert_eq!(rows.len(), ours.len());
    rows.iter()
        .zip(&ours)
        .flat_map(|(row, mine)| {
            row.as_array()
                .unwrap()
                .iter()
                .zip(mine)
                .map(|(a, b)| (a.as_f64().unwrap() - f64::from(*b)).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max)
}

#[test]
fn onnx_runtime_reproduces_the_stored_predictions_of_every_model_kind() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let setup = train();
    let store = RunStore::open(setup.runs.path()).unwrap();
    let (records, _) = store.list();
    assert_eq!(records.len(), 4);
    for record in &records {
        for logits in [false, true] {
            let file = setup
                .out
                .path()
                .join(format!("{}-{logits}.onnx", record.spec.name));
            let mut args = vec![record.id.as_str(), "--onnx", file.to_str().unwrap()];
            if logits {
                args.push("--logits");
            }
            let output = export(&setup, &args);
            let said = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{said}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let run_dir = store.run_dir(&record.id);
            let read = check(&python, &file, &setup, &run_dir);
            let name = &record.spec.name;
            let expected = if logits { "logits" } else { "probabilities" };
            assert_eq!(read["output"][0], expected, "{name}");
            assert_eq!(read["input"][1][0], "N", "{name}: a dynamic batch");
            assert_eq!(read["images"], 200);
            // Every image gets the class the run stored.
            assert_eq!(read["mismatches"], Value::Array(vec![]), "{name}: {read}");
            // Stored probabilities are round(p × 255): within half a step.
            let quantization = read["max_quantization_error"].as_f64().unwrap();
            assert!(quantization <= 0.5 + 1e-3, "{name}: {quantization}");
            let ours = atelier_outputs(record, &run_dir, setup.data.path(), logits);
            let difference = max_difference(&read["first_outputs"], &ours);
            assert!(difference < 1e-5, "{name} (logits {logits}): {difference}");
        }
    }
}

#[test]
fn onnx_export_errors_name_the_run_and_the_problem() {
    let setup = train();
    let out = setup.out.path().join("m.onnx");
    let out = out.to_str().unwrap();
    // Several runs for one model file.
    let several = export(&setup, &["cnn", "mlp", "--onnx", out]);
    let stderr = String::from_utf8_lossy(&several.stderr);
    assert!(!several.status.success());
    assert!(stderr.contains("--onnx writes one run's model"), "{stderr}");
    // A run whose weights are gone.
    let store = RunStore::open(setup.runs.path()).unwrap();
    let record = store
        .list()
        .0
        .into_iter()
        .find(|r| r.spec.name == "mlp")
        .unwrap();
    std::fs::remove_file(store.run_dir(&record.id).join("best.safetensors")).unwrap();
    let missing = export(&setup, &["mlp", "--onnx", out, "--weights", "best"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(stderr.contains("no best.safetensors"), "{stderr}");
    assert!(!Path::new(out).exists(), "nothing written");
    // An unwritable destination leaves no file and says where.
    let nowhere = export(&setup, &["cnn", "--onnx", "/nonexistent/dir/m.onnx"]);
    let stderr = String::from_utf8_lossy(&nowhere.stderr);
    assert!(!nowhere.status.success());
    assert!(stderr.contains("/nonexistent/dir"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // --weights means nothing without --onnx.
    let stray = export(&setup, &["cnn", "--weights", "best", "--tensorboard", out]);
    assert!(!stray.status.success());
}

/// The project's torch venv (`make setup` with CUDA, or `make bench`), where it exists.
fn torch_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("ATELIER_TORCH_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python3"),
        std::path::PathBuf::from,
    );
    let has_torch = Command::new(&python)
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_torch {
        eprintln!(
            "skipped: no torch (with safetensors) at {}; the README's PyTorch snippet is checked where the project's torch venv exists",
            python.display()
        );
    }
    has_torch.then_some(python)
}

#[test]
fn the_readmes_pytorch_snippet_reproduces_the_stored_predictions() {
    let Some(python) = torch_python() else {
        return;
    };
    let setup = train();
    let store = RunStore::open(setup.runs.path()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/torch_snippet.py");
    for record in store
        .list()
        .0
        .iter()
        .filter(|r| r.spec.name == "cnn" || r.spec.name == "mlp")
    {
        let output = Command::new(&python)
            .arg(&script)
            .arg(store.run_dir(&record.id))
            .arg(setup.data.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let read: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            read["mismatches"],
            Value::Array(vec![]),
            "{}: {read}",
            record.spec.name
        );
        assert!(
            read["max_quantization_error"].as_f64().unwrap() <= 0.5 + 1e-3,
            "{read}"
        );
    }
}

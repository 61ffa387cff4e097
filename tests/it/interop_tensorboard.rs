//! `atelier export --tensorboard` read back by `TensorBoard`'s own reader (its
//! `EventAccumulator`, from the `tensorboard` package in the interop venv):
//! every series the run stored, at the stored steps, with the stored values.

use crate::common;

use std::{collections::BTreeMap, path::Path, process::Command};

use atelier::{
    protocol::Event,
    store::{History, RunStore},
};
use serde_json::Value;

/// Two epochs of a tiny MLP whose learning rate follows a schedule, so that
/// every kind of series (learning rate included) is there.
const PLAN: &str = r#"
[defaults]
epochs = 2
batch_size = 16
schedule = { kind = "cosine", warmup_epochs = 1 }
tta_flip = true

[[run]]
name = "tb"
model = { kind = "mlp", hidden = [16] }
"#;

fn train(data: &Path, runs: &Path) {
    common::write_idx_dataset(data, 600, 100);
    let plan = data.join("tb.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let output = common::atelier(data, runs)
        .args(["train", "--device", "cpu", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn export(data: &Path, runs: &Path, args: &[&str]) -> std::process::Output {
    common::atelier(data, runs)
        .arg("export")
        .args(args)
        .output()
        .unwrap()
}

/// What `TensorBoard`'s reader makes of one run folder.
fn read_back(python: &Path, folder: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/tensorboard_check.py");
    let output = Command::new(python)
        .arg(script)
        .arg(folder)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `(step, value)` of a tag as the reader saw it.
fn series(read: &Value, tag: &str) -> Vec<(i64, f32)> {
    read["scalars"][tag]
        .as_array()
        .unwrap_or_else(|| panic!("no {tag} in {}", read["scalars"]))
        .iter()
        .map(|point| {
            (
                point[0].as_i64().unwrap(),
                point[1].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

#[test]
fn tensorboard_reads_back_every_series_the_run_stored() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let (data, runs, out) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    train(data.path(), runs.path());
    let exported = export(
        data.path(),
        runs.path(),
        &["tb", "--tensorboard", out.path().to_str().unwrap()],
    );
    let said = String::from_utf8_lossy(&exported.stdout);
    assert!(
        exported.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&exported.stderr)
    );

    let store = RunStore::open(runs.path()).unwrap();
    let record = store.list().0.pop().unwrap();
    let events = store.events(&record.id).unwrap().events;
    let history = History::from_events(&events);
    let read = read_back(&python, &out.path().join(record.id.as_str()));

    // Per epoch, at step = epoch.
    let epoch = |pick: fn(&atelier::store::EpochRow) -> f64| -> Vec<(i64, f32)> {
        history
            .epochs
            .iter()
            .map(|row| (i64::from(row.epoch), pick(row) as f32))
            .collect()
    };
    assert_eq!(series(&read, "epoch/train_loss"), epoch(|r| r.train_loss));
    assert_eq!(
        series(&read, "epoch/train_accuracy"),
        epoch(|r| r.train_accuracy)
    );
    assert_eq!(series(&read, "epoch/val_loss"), epoch(|r| r.val_loss));
    assert_eq!(
        series(&read, "epoch/val_accuracy"),
        epoch(|r| r.val_accuracy)
    );
    assert_eq!(series(&read, "epoch/seconds"), epoch(|r| r.seconds));

    // Per progress event, at the global step.
    let mut steps: BTreeMap<i64, (f32, f32, f32)> = BTreeMap::new();
    for event in &events {
        if let Event::Progress {
            epoch,
            step,
            steps: per_epoch,
            recent_loss,
            recent_accuracy,
            learning_rate,
            ..
        } = event
        {
            let global = (i64::from(*epoch) - 1) * *per_epoch as i64 + *step as i64;
            let rate = learning_rate.expect("a cosine schedule logs its rate") as f32;
            steps.insert(global, (*recent_loss as f32, *recent_accuracy as f32, rate));
        }
    }
    assert!(steps.len() >= 2, "{steps:?}");
    let pick = |f: fn(&(f32, f32, f32)) -> f32| -> Vec<(i64, f32)> {
        steps.iter().map(|(step, v)| (*step, f(v))).collect()
    };
    assert_eq!(series(&read, "step/loss"), pick(|v| v.0));
    assert_eq!(series(&read, "step/accuracy"), pick(|v| v.1));
    assert_eq!(series(&read, "step/learning_rate"), pick(|v| v.2));
    assert_eq!(series(&read, "step/images_per_sec").len(), steps.len());

    // The test results at the last epoch, the flipped one apart.
    let test = history.test.as_ref().unwrap();
    assert_eq!(
        series(&read, "test/accuracy"),
        vec![(2, test.accuracy as f32)]
    );
    assert_eq!(series(&read, "test/loss"), vec![(2, test.loss as f32)]);
    let flip = history.flip_accuracy.unwrap() as f32;
    assert_eq!(series(&read, "test/flip_accuracy"), vec![(2, flip)]);

    // The confusion matrix as a PNG image.
    let image = &read["images"]["test/confusion_matrix"][0];
    assert_eq!(image["step"], 2);
    assert_eq!(image["png"], true, "{image}");
    assert!(image["width"].as_i64().unwrap() > 100);

    // The settings as the HParams plugin's session, which ended well.
    let start = &read["hparams"]["start"];
    assert_eq!(start["group_name"], "tb");
    assert_eq!(start["hparams"]["epochs"], 2.0);
    assert_eq!(start["hparams"]["batch_size"], 16.0);
    assert_eq!(start["hparams"]["seed"], record.spec.seed as f64);
    assert_eq!(start["hparams"]["model"], "MLP hidden [16]");
    assert!(
        start["hparams"]["recipe"]
            .as_str()
            .unwrap()
            .contains("cosine"),
        "{start}"
    );
    assert_eq!(read["hparams"]["end"]["status"], 1);

    // Exporting again replaces the file: one file, no point twice.
    let again = export(
        data.path(),
        runs.path(),
        &["tb", "--tensorboard", out.path().to_str().unwrap()],
    );
    assert!(again.status.success());
    let files = std::fs::read_dir(out.path().join(record.id.as_str()))
        .unwrap()
        .count();
    assert_eq!(files, 1);
    let reread = read_back(&python, &out.path().join(record.id.as_str()));
    assert_eq!(series(&reread, "epoch/val_loss"), epoch(|r| r.val_loss));
}

#[test]
fn bad_exports_say_what_is_wrong() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train(data.path(), runs.path());
    let no_target = export(data.path(), runs.path(), &["tb"]);
    let stderr = String::from_utf8_lossy(&no_target.stderr);
    assert!(!no_target.status.success());
    assert!(
        stderr.contains("--onnx FILE or --tensorboard DIR"),
        "{stderr}"
    );

    let unknown = export(
        data.path(),
        runs.path(),
        &["nope", "--tensorboard", "/tmp/x"],
    );
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(stderr.contains("nope") && stderr.contains("tb"), "{stderr}");

    // A file where the folder should be.
    let blocker = data.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let blocked = export(
        data.path(),
        runs.path(),
        &["tb", "--tensorboard", blocker.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(!blocked.status.success());
    assert!(
        stderr.contains("blocker") && stderr.contains("cannot create"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

//! The on-disk contract, pinned. `tests/fixtures/runs-v0.1` is a runs folder
//! written by atelier 0.1.0 (how: `tests/fixtures/README.md`), and every
//! later version must read all of it: each line of each log, the records,
//! the story the store tells from them, the test predictions and the
//! checkpoint a run continues from. A change that fails here breaks the
//! run folders people already have.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use atelier::{
    protocol::{Command, Event, Phase},
    store::{
        follow::parse_appended, parse_events, read_events, History, Predictions, RunRecord,
        RunState, RunStatus, RunStore, EVENTS_FILE, RECORD_FILE,
    },
    train::{checkpoint, step::Model},
    tui::{RunView, UiStatus},
};
use serde_json::{json, Value};

/// The checked-in runs folder.
fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs-v0.1")
}

/// The fixture's run folders, by id.
fn run_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixture_dir())
        .expect("the fixture runs folder is checked in")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A copy of the fixture to open as a store, so no reader can change the
/// checked-in files.
fn store() -> (tempfile::TempDir, RunStore) {
    let copy = tempfile::tempdir().unwrap();
    for dir in run_dirs() {
        let target = copy.path().join(dir.file_name().unwrap());
        fs::create_dir(&target).unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
        }
    }
    let store = RunStore::open(copy.path()).unwrap();
    (copy, store)
}

/// The record and every event of the run named `name` in its plan.
fn run(store: &RunStore, name: &str) -> (RunRecord, Vec<Event>) {
    let (records, errors) = store.list();
    assert!(errors.is_empty(), "{errors:?}");
    let record = records
        .into_iter()
        .find(|record| record.spec.name == name)
        .unwrap_or_else(|| panic!("the fixture has no run named {name}"));
    let log = store.events(&record.id).unwrap();
    assert!(
        log.skipped.is_empty() && !log.torn_tail,
        "{:?}",
        log.skipped
    );
    (record, log.events)
}

/// Each event kind's name, by an exhaustive match: a new kind fails to
/// compile here until the fixture question is answered for it.
fn kind(event: &Event) -> &'static str {
    match event {
        Event::Queued { .. } => "queued",
        Event::Phase { .. } => "phase",
        Event::Started { .. } => "started",
        Event::Progress { .. } => "progress",
        Event::Paused { .. } => "paused",
        Event::Unpaused { .. } => "unpaused",
        Event::EpochEnd { .. } => "epoch_end",
        Event::Evaluated { .. } => "evaluated",
        Event::Finished { .. } => "finished",
        Event::Cancelled { .. } => "cancelled",
        Event::Failed { .. } => "failed",
        // Added after 0.1 (mid-epoch checkpoints, Slurm attempts): not in
        // the 0.1 fixture; `events_added_after_0_1_round_trip` covers them.
        Event::Checkpointed { .. } => "checkpointed",
        Event::Attempt { .. } => "attempt",
        Event::Requeued { .. } => "requeued",
        // Added with recipes (test-time flipping).
        Event::FlipEvaluated { .. } => "flip_evaluated",
        // Added with the thread count chosen per run.
        Event::Threads { .. } => "threads",
    }
}

#[test]
fn events_added_after_0_1_round_trip() {
    let lines = [
        r#"{"type":"checkpointed","run":"r","epoch":2,"step":19,"steps":50}"#,
        r#"{"type":"attempt","run":"r","job":"17_3","restart":1,"host":"node7","gpus":"0"}"#,
        r#"{"type":"attempt","run":"r","job":"17_3","restart":0,"host":"node7"}"#,
        r#"{"type":"requeued","run":"r","job":"17_3"}"#,
        r#"{"type":"flip_evaluated","run":"r","test_loss":0.25,"test_accuracy":0.93}"#,
        r#"{"type":"threads","run":"r","threads":1,"reason":{"by":"measured","rates":[{"threads":1,"images_per_sec":9000.0},{"threads":2,"images_per_sec":7000.0}]}}"#,
        r#"{"type":"threads","run":"r","threads":2,"reason":{"by":"shared","jobs":2}}"#,
        r#"{"type":"threads","run":"r","threads":2,"reason":{"by":"resumed"}}"#,
        r#"{"type":"progress","run":"r","epoch":1,"step":5,"steps":50,"loss":1.0,"accuracy":0.5,"recent_loss":1.0,"recent_accuracy":0.5,"samples_per_sec":900.0,"elapsed_secs":3.0,"learning_rate":0.0025}"#,
        r#"{"type":"started","run":"r","device":"cpu","params":1,"train_samples":1,"validation_samples":1,"steps_per_epoch":50,"epochs":3,"resumed_after":1,"resumed_at_step":19}"#,
    ];
    for line in lines {
        let event: Event = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let again: Event = serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        assert_eq!(event, again);
    }
}

fn epochs(history: &History) -> Vec<u32> {
    history.epochs.iter().map(|row| row.epoch).collect()
}

#[test]
fn the_fixture_stays_small() {
    let bytes: u64 = run_dirs()
        .iter()
        .flat_map(|dir| fs::read_dir(dir).unwrap())
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum();
    assert!(bytes < 200_000, "the fixture grew to {bytes} bytes");
}

#[test]
fn every_line_of_every_log_reads() {
    let dirs = run_dirs();
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    for dir in dirs {
        let path = dir.join(EVENTS_FILE);
        let log = read_events(&path).unwrap();
        assert!(log.skipped.is_empty(), "{:?}", log.skipped);
        assert_eq!(log.skipped_unnamed, 0);
        assert!(!log.torn_tail, "{}", path.display());
        let text = fs::read_to_string(&path).unwrap();
        let lines = text.lines().filter(|line| !line.trim().is_empty()).count();
        assert_eq!(log.events.len(), lines, "{}", path.display());
        // The follower's parser (watch, the app) reads the same events.
        let (consumed, followed) = parse_appended(text.as_bytes());
        assert_eq!((consumed, &followed), (text.len(), &log.events));
        let record = RunRecord::load(&dir.join(RECORD_FILE)).unwrap();
        assert!(log.events.iter().all(|event| *event.run() == record.id));
    }
}

#[test]
fn the_logs_hold_every_kind_of_event_and_phase() {
    let mut kinds = BTreeSet::new();
    let mut phases = BTreeSet::new();
    for dir in run_dirs() {
        for event in read_events(&dir.join(EVENTS_FILE)).unwrap().events {
            kinds.insert(kind(&event));
            if let Event::Phase { phase, .. } = event {
                phases.insert(format!("{phase:?}"));
            }
        }
    }
    let all = [
        "queued",
        "phase",
        "started",
        "progress",
        "paused",
        "unpaused",
        "epoch_end",
        "evaluated",
        "finished",
        "cancelled",
        "failed",
    ];
    assert_eq!(kinds, BTreeSet::from(all));
    let all_phases = [
        Phase::LoadingData,
        Phase::UploadingData,
        Phase::BuildingModel,
        Phase::WarmingUp,
        Phase::Evaluating,
    ]
    .map(|phase| format!("{phase:?}"));
    assert_eq!(phases, BTreeSet::from(all_phases));
}

#[test]
fn a_run_paused_and_unpaused_finished() {
    let (_copy, store) = store();
    let (record, events) = run(&store, "paused");
    assert_eq!(record.status, RunStatus::Done);
    let paused = events
        .iter()
        .position(|event| matches!(event, Event::Paused { .. }));
    let unpaused = events
        .iter()
        .position(|event| matches!(event, Event::Unpaused { .. }));
    assert!(
        paused.is_some_and(|paused| unpaused.is_some_and(|unpaused| paused < unpaused)),
        "a pause, then its end, logged as `resumed` by 0.1.0"
    );
    let history = History::from_events(&events);
    assert_eq!(epochs(&history), [1, 2]);
    assert!(history.test.is_some());
    let view = RunView::stored(&record, &events);
    assert_eq!(view.status, UiStatus::Done);
    assert_eq!(view.logged().epochs, history.epochs);
}

#[test]
fn a_run_interrupted_and_continued_has_one_row_per_epoch() {
    let (_copy, store) = store();
    let (record, events) = run(&store, "continued");
    assert_eq!((record.status, record.epochs_done), (RunStatus::Done, 2));
    assert!(events
        .iter()
        .any(|event| matches!(event, Event::Cancelled { epochs_done: 1, .. })));
    let starts: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            Event::Started { resumed_after, .. } => Some(*resumed_after),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [0, 1], "a fresh start, then one after epoch 1");
    let history = History::from_events(&events);
    assert_eq!(epochs(&history), [1, 2]);
    let test = history.test.expect("the continued run was evaluated");
    assert_eq!(Some(test.accuracy), record.test_accuracy);
    let view = RunView::stored(&record, &events);
    assert_eq!(view.status, UiStatus::Done);
    assert_eq!(view.logged().test.as_ref(), Some(&test));
}

#[test]
fn a_failed_run_keeps_its_reason() {
    let (_copy, store) = store();
    let (record, events) = run(&store, "diverged");
    assert_eq!(record.status, RunStatus::Failed);
    let error = record.error.as_deref().unwrap();
    assert!(error.contains("diverged"), "{error}");
    assert!(matches!(events.last(), Some(Event::Failed { message, .. }) if message == error));
    let view = RunView::stored(&record, &events);
    assert_eq!(view.status, UiStatus::Failed);
    assert_eq!(view.logged().error.as_deref(), Some(error));
}

#[test]
fn the_fold_of_each_log_is_the_record_its_writer_kept() {
    let (_copy, store) = store();
    let (records, errors) = store.list();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 3);
    for record in records {
        let events = store.events(&record.id).unwrap().events;
        let state = RunState::from_events(&events);
        let best = state.best();
        let test = state.test.as_ref();
        assert_eq!(
            (
                state.status,
                state.epochs_done,
                best.map(|best| (best.epoch, best.val_accuracy)),
                test.map(|test| (test.accuracy, test.loss)),
                state.seconds,
                state.device.as_deref(),
                state.params,
                state.error.as_deref(),
            ),
            (
                record.status,
                record.epochs_done,
                record.best_epoch.zip(record.best_val_accuracy),
                record.test_accuracy.zip(record.test_loss),
                record.seconds,
                record.device.as_deref(),
                record.params,
                record.error.as_deref(),
            ),
            "{}",
            record.id
        );
        if let Some(Event::Finished {
            best_val_accuracy,
            best_epoch,
            ..
        }) = events.last()
        {
            assert_eq!(
                best.map(|best| (best.epoch, best.val_accuracy)),
                Some((*best_epoch, *best_val_accuracy)),
                "the fold picks the trainer's best epoch"
            );
        }
    }
}

#[test]
fn predictions_read_and_agree_with_the_logged_test_result() {
    let (_copy, store) = store();
    for name in ["paused", "continued"] {
        let (record, events) = run(&store, name);
        let predictions = Predictions::load(&store.run_dir(&record.id)).unwrap();
        let test = History::from_events(&events).test.unwrap();
        assert_eq!(predictions.len(), 200, "{name}");
        let mut confusion = [[0u32; 10]; 10];
        for index in 0..predictions.len() {
            confusion[predictions.label(index)][predictions.predicted(index)] += 1;
            let total: f64 = predictions.probabilities(index).iter().sum();
            assert!((total - 1.0).abs() < 0.05, "{name} image {index}: {total}");
        }
        assert_eq!(confusion, test.confusion, "{name}");
        let correct = (0..predictions.len())
            .filter(|&index| predictions.correct(index))
            .count();
        assert!((correct as f64 / 200.0 - test.accuracy).abs() < 1e-9);
    }
}

#[test]
fn the_checkpoint_loads_into_the_model_it_was_written_for() {
    let (_copy, store) = store();
    let (record, _) = run(&store, "continued");
    let spec = &record.spec;
    let mut model = Model::build(spec, tch::Device::Cpu).unwrap();
    let point = checkpoint::load_last(
        &store.run_dir(&record.id),
        &model.store,
        &mut model.optimizer,
    )
    .unwrap()
    .expect("the continued run has its last checkpoint");
    assert_eq!(point.epochs_done, 2);
    assert_eq!(
        point.best,
        record.best_val_accuracy.zip(record.best_epoch),
        "the checkpoint's best epoch is the record's"
    );
    assert!(point.seconds > 0.0 && point.seconds <= record.seconds.unwrap());
}

/// Adds a field this version does not know to `value` and to each object in it.
fn add_unknown_fields(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for field in fields.values_mut() {
                add_unknown_fields(field);
            }
            fields.insert("added_later".into(), json!({ "by": "a newer atelier" }));
        }
        Value::Array(items) => items.iter_mut().for_each(add_unknown_fields),
        _ => {}
    }
}

#[test]
fn fields_a_newer_version_adds_are_read_past() {
    for dir in run_dirs() {
        let path = dir.join(EVENTS_FILE);
        let original = read_events(&path).unwrap().events;
        let widened: String = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).unwrap();
                add_unknown_fields(&mut value);
                value.to_string() + "\n"
            })
            .collect();
        assert!(widened.contains("added_later"));
        let log = parse_events(&path, widened.as_bytes());
        assert!(log.skipped.is_empty(), "{:?}", log.skipped);
        assert_eq!(log.events, original, "{}", path.display());

        let path = dir.join(RECORD_FILE);
        let mut value: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        add_unknown_fields(&mut value);
        let copy = tempfile::tempdir().unwrap();
        let widened = copy.path().join(RECORD_FILE);
        fs::write(&widened, value.to_string()).unwrap();
        assert_eq!(
            RunRecord::load(&widened).unwrap(),
            RunRecord::load(&path).unwrap()
        );
    }
}

#[test]
fn the_old_names_of_unpausing_still_read_and_the_new_ones_are_written() {
    let old: Event = serde_json::from_str(r#"{"type":"resumed","run":"r"}"#).unwrap();
    assert_eq!(old, Event::Unpaused { run: "r".into() });
    assert_eq!(
        serde_json::to_string(&old).unwrap(),
        r#"{"type":"unpaused","run":"r"}"#
    );
    let old: Command = serde_json::from_str(r#"{"type":"resume"}"#).unwrap();
    assert_eq!(old, Command::Unpause);
    assert_eq!(
        serde_json::to_string(&old).unwrap(),
        r#"{"type":"unpause"}"#
    );
    // Continuing from a checkpoint kept its names.
    let continued: Command = serde_json::from_str(r#"{"type":"continue","run":"r"}"#).unwrap();
    assert_eq!(
        continued,
        Command::Continue {
            run: "r".into(),
            device: None
        }
    );
}

#[test]
fn runs_stored_before_groups_get_theirs_from_their_settings() {
    let (_copy, store) = store();
    let (records, _) = store.list();
    for record in &records {
        let json = fs::read_to_string(store.run_dir(&record.id).join(RECORD_FILE)).unwrap();
        assert!(!json.contains("\"group\""), "the fixture predates groups");
        let group = record.group();
        assert_eq!(group.name, record.spec.name);
        assert_eq!(group, record.spec.group(), "read and derived agree");
    }
    // The keys are the settings', pinned: a change here regroups every stored run.
    let keys: Vec<(&str, String)> = records
        .iter()
        .map(|r| (r.spec.name.as_str(), r.group().key))
        .collect();
    assert_eq!(
        keys,
        [
            ("continued", "f97bef55d10b".to_string()),
            ("diverged", "e89cf79d3596".to_string()),
            // The same settings as "continued", another seed-free name: one group.
            ("paused", "f97bef55d10b".to_string())
        ]
    );
}

//! Following the run store live, as `atelier watch` does: a writer in one
//! thread, a follower polling in another; torn lines; runs whose writer
//! stops writing or dies.

use crate::common;

use std::{
    fs::OpenOptions,
    io::Write,
    thread,
    time::{Duration, SystemTime},
};

use atelier::{
    protocol::Event,
    store::{Follower, Liveness, RunRecord, RunStatus, RunStore, Update, WriterProcess},
    tui::{App, RunView, UiStatus},
};

#[test]
fn a_live_reader_sees_a_run_another_thread_writes_from_start_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let request = common::request(&store, "live", 3);
    let id = request.id.clone();
    let events = common::run_events(&id, 3);
    let writer_store = store.clone();
    let written = events.clone();
    let writer = thread::spawn(move || {
        let mut writer = writer_store.create(&request).unwrap();
        for event in &written {
            writer.record(event).unwrap();
            thread::sleep(Duration::from_millis(15));
        }
    });

    let mut follower = Follower::new(store.clone(), Duration::from_secs(60));
    let mut app = App::new(Vec::new(), Vec::new());
    let mut seen_running = false;
    let mut updates_seen = 0;
    for _ in 0..2_000 {
        let updates = follower.poll();
        updates_seen += updates.len();
        for update in &updates {
            app.apply_update(update);
        }
        if let Some(view) = app.runs.first() {
            seen_running |= view.status == UiStatus::Running && !view.logged().epochs.is_empty();
            if view.status == UiStatus::Done && view.logged().test.is_some() {
                break;
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
    writer.join().unwrap();
    assert!(
        seen_running,
        "the run was seen mid-way, not only at its end"
    );
    assert!(updates_seen > 3, "updates came in pieces: {updates_seen}");
    let view = &app.runs[0];
    assert_eq!(view.status, UiStatus::Done);
    // What the follower pieced together equals a fresh read of the finished run.
    let fresh = RunView::stored(
        &store.load(&id).unwrap(),
        &store.events(&id).unwrap().events,
    );
    assert_eq!(view.logged().epochs, fresh.logged().epochs);
    assert_eq!(view.logged().test, fresh.logged().test);
    assert_eq!(view.logged().epochs.len(), 3);
    assert!((view.best_val_accuracy().unwrap() - 0.83).abs() < 1e-9);
}

#[test]
fn a_watcher_attaching_mid_run_gets_the_history_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let request = common::request(&store, "mid", 3);
    let events = common::run_events(&request.id, 3);
    let mut writer = store.create(&request).unwrap();
    // Two epochs written, the third not yet.
    let cut = events
        .iter()
        .position(|e| matches!(e, Event::EpochEnd { epoch: 2, .. }))
        .unwrap();
    for event in &events[..=cut] {
        writer.record(event).unwrap();
    }
    let mut follower = Follower::new(store.clone(), Duration::from_secs(60));
    let updates = follower.poll();
    let Some(Update::New {
        record,
        events: so_far,
    }) = updates.first()
    else {
        panic!("expected the run, got {updates:?}");
    };
    assert_eq!(record.status, RunStatus::Running);
    let epochs = so_far
        .iter()
        .filter(|e| matches!(e, Event::EpochEnd { .. }))
        .count();
    assert_eq!(epochs, 2);
    // Nothing new, nothing reported.
    assert!(follower.poll().is_empty());
    for event in &events[cut + 1..] {
        writer.record(event).unwrap();
    }
    let updates = follower.poll();
    assert!(updates.iter().any(
        |u| matches!(u, Update::Events { events, .. } if events.iter().any(Event::is_terminal))
    ));
    assert!(updates
        .iter()
        .any(|u| matches!(u, Update::Record(r) if r.status == RunStatus::Done)));
    drop(writer);
}

/// A run folder written by hand: its record and raw log text.
fn handmade_run(store: &RunStore, name: &str, writer: Option<WriterProcess>) -> RunRecord {
    let request = common::request(store, name, 1);
    let mut record = RunRecord::new(&request);
    record.status = RunStatus::Running;
    record.writer = writer;
    std::fs::create_dir_all(store.run_dir(&record.id)).unwrap();
    record
        .save(&store.run_dir(&record.id).join("run.json"))
        .unwrap();
    record
}

fn append(store: &RunStore, id: &str, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(store.run_dir(id).join("events.jsonl"))
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn a_torn_last_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let record = handmade_run(&store, "torn", Some(WriterProcess::current()));
    let events = common::run_events(&record.id, 1);
    let line = |event: &Event| serde_json::to_string(event).unwrap() + "\n";
    let third = line(&events[2]);
    let (head, rest) = third.split_at(third.len() / 2);
    append(
        &store,
        &record.id,
        &(line(&events[0]) + &line(&events[1]) + head),
    );

    let mut follower = Follower::new(store.clone(), Duration::from_secs(60));
    let updates = follower.poll();
    match updates.first() {
        Some(Update::New { events: first, .. }) => assert_eq!(first, &events[..2]),
        other => panic!("expected the run with two events, got {other:?}"),
    }
    assert!(follower.poll().is_empty(), "half a line is not an event");
    append(&store, &record.id, rest);
    assert_eq!(
        follower.poll(),
        vec![Update::Events {
            run: record.id.clone(),
            events: vec![events[2].clone()],
        }]
    );
    // A complete line that is not an event is skipped; the next one still arrives.
    append(
        &store,
        &record.id,
        &("{\"type\":\"nonsense\"}\n".to_string() + &line(&events[3])),
    );
    assert_eq!(
        follower.poll(),
        vec![Update::Events {
            run: record.id.clone(),
            events: vec![events[3].clone()],
        }]
    );
}

#[test]
fn a_quiet_run_is_stalled_until_it_writes_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let record = handmade_run(&store, "quiet", Some(WriterProcess::current()));
    let events = common::run_events(&record.id, 1);
    append(
        &store,
        &record.id,
        &(serde_json::to_string(&events[0]).unwrap() + "\n"),
    );
    // Its files were last written ten minutes ago.
    let long_ago = SystemTime::now() - Duration::from_secs(600);
    for file in ["run.json", "events.jsonl"] {
        OpenOptions::new()
            .append(true)
            .open(store.run_dir(&record.id).join(file))
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    let mut follower = Follower::new(store.clone(), Duration::from_secs(60));
    let mut app = App::new(Vec::new(), Vec::new());
    let updates = follower.poll();
    assert!(
        updates.iter().any(|u| matches!(
            u,
            Update::Liveness { liveness: Liveness::Stalled { quiet }, .. } if quiet.as_secs() >= 600
        )),
        "{updates:?}"
    );
    for update in &updates {
        app.apply_update(update);
    }
    assert_eq!(app.runs[0].status, UiStatus::Stalled);
    append(
        &store,
        &record.id,
        &(serde_json::to_string(&events[1]).unwrap() + "\n"),
    );
    for update in &follower.poll() {
        app.apply_update(update);
    }
    assert_eq!(app.runs[0].status, UiStatus::Running);
}

#[test]
fn a_run_whose_process_died_is_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = WriterProcess {
        pid: child.id(),
        ..WriterProcess::current()
    };
    child.wait().unwrap();
    let record = handmade_run(&store, "dead", Some(dead));
    let mut follower = Follower::new(store.clone(), Duration::from_secs(60));
    let mut app = App::new(Vec::new(), Vec::new());
    for update in &follower.poll() {
        app.apply_update(update);
    }
    assert_eq!(app.runs[0].id.as_deref(), Some(record.id.as_str()));
    assert_eq!(app.runs[0].status, UiStatus::Crashed);
    // A crashed run is over: it can be deleted, and does not hold up quitting.
    assert!(!app.any_active());
}

#[test]
fn the_app_leaves_its_own_runs_to_its_trainer_and_sees_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let own = store.create(&common::request(&store, "own", 1)).unwrap();
    let other = handmade_run(&store, "other", None);
    let mut follower = Follower::new(store.clone(), Duration::from_secs(60)).skip_own_runs();
    let updates = follower.poll();
    let new: Vec<&str> = updates
        .iter()
        .filter_map(|u| match u {
            Update::New { record, .. } => Some(record.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(new, [other.id.as_str()]);
    std::fs::remove_dir_all(store.run_dir(&other.id)).unwrap();
    assert_eq!(
        follower.poll(),
        vec![Update::Removed {
            run: other.id.clone()
        }]
    );
    drop(own);
}

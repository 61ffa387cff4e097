//! The channel protocol with a live trainer thread: queue, pause, resume,
//! cancel and shutdown, with no deadlock. Uses a small synthetic dataset, so
//! it needs no download and runs in seconds.

use crate::common;

use std::time::Duration;

use atelier::plan::DevicePref;
use atelier::{
    data::DataSource,
    model::ModelSpec,
    plan::RunSpec,
    protocol::{Command, Event, RunRequest},
    store::{Predictions, RunStore},
    train::Trainer,
};
use common::{wait_for, WAIT};

fn source(dir: &std::path::Path) -> DataSource {
    common::synthetic_source(dir, 2_000, 500)
}

fn request(store: &RunStore, name: &str, epochs: u32) -> Command {
    Command::Queue(Box::new(RunRequest {
        id: store.new_id(name),
        plan: "test".into(),
        spec: RunSpec {
            epochs,
            batch_size: 8,
            seed: 1,
            device: DevicePref::Cpu,
            ..RunSpec::new(
                name,
                ModelSpec::Mlp {
                    hidden: vec![16],
                    dropout: false,
                },
            )
        },
    }))
}

#[test]
fn queue_pause_resume_cancel_and_shutdown() {
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).unwrap();

    let long = request(&store, "long", 500);
    let Command::Queue(long_request) = &long else {
        unreachable!()
    };
    let long_id = long_request.id.clone();
    trainer.send(long);
    let waiting = request(&store, "waiting", 1);
    let Command::Queue(waiting_request) = &waiting else {
        unreachable!()
    };
    let waiting_id = waiting_request.id.clone();
    trainer.send(waiting);

    wait_for(
        &trainer,
        "queued event",
        |e| matches!(e, Event::Queued { run, .. } if *run == waiting_id),
    );
    wait_for(&trainer, "progress", |e| {
        matches!(e, Event::Progress { .. })
    });

    trainer.send(Command::Pause);
    wait_for(&trainer, "paused", |e| matches!(e, Event::Paused { .. }));
    // While paused, no step runs: nothing but what was already in flight arrives.
    std::thread::sleep(Duration::from_millis(300));
    while trainer.events().try_recv().is_ok() {}
    assert!(
        trainer
            .events()
            .recv_timeout(Duration::from_millis(400))
            .is_err(),
        "a paused run must not report progress"
    );
    // A queued run can be cancelled while the trainer is paused.
    trainer.send(Command::Cancel {
        run: Some(waiting_id.clone()),
    });
    let cancelled = wait_for(&trainer, "queued run cancelled", |e| {
        matches!(e, Event::Cancelled { .. })
    });
    assert_eq!(
        cancelled,
        Event::Cancelled {
            run: waiting_id.clone(),
            epochs_done: 0
        }
    );

    trainer.send(Command::Unpause);
    wait_for(&trainer, "unpaused", |e| {
        matches!(e, Event::Unpaused { .. })
    });
    wait_for(&trainer, "progress after resume", |e| {
        matches!(e, Event::Progress { .. })
    });

    trainer.send(Command::Cancel { run: None });
    let cancelled = wait_for(&trainer, "running run cancelled", |e| {
        matches!(e, Event::Cancelled { .. })
    });
    assert_eq!(cancelled.run(), &long_id);

    let short = request(&store, "short", 1);
    trainer.send(short);
    let finished = wait_for(
        &trainer,
        "a finished run",
        atelier::protocol::Event::is_terminal,
    );
    assert!(matches!(finished, Event::Finished { .. }), "{finished:?}");

    trainer.shutdown();

    let (records, errors) = store.list();
    assert!(errors.is_empty(), "{errors:?}");
    let status = |name: &str| {
        records
            .iter()
            .find(|record| record.spec.name == name)
            .map(|record| format!("{:?}", record.status).to_lowercase())
            .unwrap()
    };
    assert_eq!(status("long"), "interrupted");
    assert_eq!(status("waiting"), "interrupted");
    assert_eq!(status("short"), "done");
}

#[test]
fn shutdown_interrupts_the_running_and_queued_runs() {
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).unwrap();
    trainer.send(request(&store, "first", 500));
    trainer.send(request(&store, "second", 500));
    wait_for(&trainer, "progress", |e| {
        matches!(e, Event::Progress { .. })
    });
    let events = trainer.events().clone();
    trainer.shutdown();
    let terminal: Vec<Event> = events.try_iter().filter(Event::is_terminal).collect();
    assert_eq!(terminal.len(), 2, "{terminal:?}");
    let (records, _) = store.list();
    assert_eq!(records.len(), 2);
    for event in &terminal {
        let Event::Cancelled { run, epochs_done } = event else {
            panic!("expected cancellations, got {terminal:?}");
        };
        // The running run may have finished epochs (they are kept); the queued one none.
        let record = records.iter().find(|r| &r.id == run).unwrap();
        assert_eq!(record.epochs_done, *epochs_done, "{record:?}");
        if record.spec.name == "second" {
            assert_eq!(*epochs_done, 0);
        }
    }
    assert!(records
        .iter()
        .all(|r| format!("{:?}", r.status) == "Interrupted"));
}

#[test]
fn a_run_on_a_missing_gpu_fails_cleanly_and_the_next_run_still_trains() {
    if tch::Cuda::is_available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).unwrap();
    let Command::Queue(mut gpu) = request(&store, "gpu", 1) else {
        unreachable!()
    };
    gpu.spec.device = DevicePref::Cuda(0);
    trainer.send(Command::Queue(gpu));
    let failed = wait_for(&trainer, "failure", Event::is_terminal);
    let Event::Failed { message, .. } = failed else {
        panic!("{failed:?}")
    };
    assert!(message.contains("cuda:0 requested"), "{message}");
    trainer.send(request(&store, "cpu", 1));
    let next = wait_for(&trainer, "next run", Event::is_terminal);
    assert!(matches!(next, Event::Finished { .. }), "{next:?}");
}

#[test]
fn a_diverging_run_fails_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).unwrap();
    let Command::Queue(mut wild) = request(&store, "wild", 1) else {
        unreachable!()
    };
    wild.spec.learning_rate = 1e30;
    let id = wild.id.clone();
    trainer.send(Command::Queue(wild));
    let end = wait_for(&trainer, "the end of the run", Event::is_terminal);
    let Event::Failed { message, .. } = end else {
        panic!("{end:?}")
    };
    assert!(
        message.starts_with("training diverged: the loss became"),
        "{message}"
    );
    trainer.shutdown();
    // The log stays readable: no NaN was written as JSON.
    let log = store.events(&id).unwrap();
    assert!(matches!(log.events.last(), Some(Event::Failed { .. })));
    assert_eq!(
        store.load(&id).unwrap().error.as_deref(),
        Some(message.as_str())
    );
}

#[test]
fn the_app_queues_only_on_a_device_no_other_process_holds() {
    use atelier::{
        draw::Theme,
        plan::Plan,
        store::{Holder, StoreError},
        tui::{
            effects::{Screenshots, System, Training},
            event_loop::perform,
            Action, App, UiStatus,
        },
    };
    use ratatui::{buffer::Buffer, layout::Rect};

    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    // Another process (say, a detached `train`) holds the CPU.
    let mut theirs = store.lock_device("cpu").unwrap();
    theirs
        .sign(&Holder {
            pid: 4242,
            device: "cpu".into(),
            runs: vec!["their-run".into()],
            log: None,
        })
        .unwrap();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).unwrap();
    let spec = atelier::testing::tiny_spec("tiny", 1);
    let plan = Plan {
        name: "test".into(),
        runs: vec![spec.clone()],
        limits: Vec::new(),
        workers: atelier::plan::Workers::default(),
        alerts: atelier::plan::AlertSettings::default(),
    };
    let mut app = App::new(Vec::new(), plan.runs.clone());
    let mut system = System::new(
        Some(Training {
            commands: trainer.commands(),
            plan: plan.name.clone(),
        }),
        store.clone(),
        atelier::remote::Sources::local(
            store.clone(),
            atelier::store::Follower::new(store.clone(), WAIT),
        ),
        Screenshots {
            dir: runs.path().join("shots"),
            theme: Theme::Dark,
        },
    );
    let screen = Buffer::empty(Rect::new(0, 0, 80, 24));
    let queue = || Action::Queue {
        index: 0,
        spec: Box::new(spec.clone()),
    };
    perform(&mut app, queue(), &mut system, &screen);
    let message = app.message.clone().unwrap_or_default();
    assert!(
        message.contains("already training on cpu") && message.contains("pid 4242"),
        "{message}"
    );
    assert_eq!(app.runs[0].status, UiStatus::Planned, "nothing was queued");
    assert!(app.runs[0].id.is_none());

    // Once the other process is done, the app takes the device and says so in the lock.
    drop(theirs);
    perform(&mut app, queue(), &mut system, &screen);
    let id = app.runs[0].id.clone().expect("queued");
    match store.lock_device("cpu") {
        Err(StoreError::DeviceBusy {
            holder: Some(holder),
            ..
        }) => {
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.runs, vec![id]);
        }
        other => panic!("expected the app to hold the CPU, got {other:?}"),
    }
    drop(system);
    trainer.shutdown();
    drop(store.lock_device("cpu").unwrap());
}

#[test]
fn a_finished_run_stores_its_test_predictions_before_reporting_the_result() {
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).unwrap();
    let command = request(&store, "short", 1);
    let Command::Queue(queued) = &command else {
        unreachable!()
    };
    let id = queued.id.clone();
    trainer.send(command);
    let evaluated = wait_for(&trainer, "the test result", |e| {
        matches!(e, Event::Evaluated { .. })
    });
    // Read at once: the file must be there by the time the result is announced.
    let predictions = Predictions::load(&store.run_dir(&id)).unwrap();
    let Event::Evaluated { confusion, .. } = evaluated else {
        unreachable!()
    };
    assert_eq!(predictions.len(), 500, "one prediction per test image");
    let expected_labels: Vec<u8> = (0..500).map(|i| (i % 10) as u8).collect();
    assert_eq!(predictions.labels(), expected_labels.as_slice());
    let mut counted = [[0u32; 10]; 10];
    for index in 0..predictions.len() {
        counted[predictions.label(index)][predictions.predicted(index)] += 1;
        let sum: f64 = predictions.probabilities(index).iter().sum();
        assert!(
            (sum - 1.0).abs() < 0.03,
            "image {index}: probabilities sum to {sum}"
        );
        assert_eq!(predictions.top(index, 1)[0].0, predictions.predicted(index));
    }
    assert_eq!(counted, *confusion, "the predictions agree with the matrix");
    trainer.shutdown();
}

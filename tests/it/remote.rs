//! Remote sources over a real ssh: `atelier stream` on the far side of an
//! OpenSSH server on loopback ([`crate::sshd`]), read by [`Sources`] as
//! `watch` reads them. Runs are written event by event while the viewer
//! follows; connections are killed mid-run and must resume exactly.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use atelier::{
    protocol::{Event, RunId},
    remote::alerting::Alerting,
    remote::{self, Dial, News, SourceSpec, SourceState, Sourced, Sources},
    session::notify::{Delivery, Ledger},
    store::{AlertKind, AlertRules},
    store::{Follower, RunStore, RunWriter, Update},
};

use crate::{common, sshd};

const LIMIT: Duration = Duration::from_secs(60);

/// A remote source of `dir` on the loopback server, with `ssh` as its ssh command.
fn dial(server: &sshd::Sshd, dir: &Path, ssh: &str) -> Dial {
    let text = format!("{}:{}", server.destination(), dir.display());
    let SourceSpec::Remote(remote) = remote::parse(&text).unwrap() else {
        panic!("{text} is not remote");
    };
    Dial {
        remote,
        ssh: remote::source::ssh_command(Some(ssh)).unwrap(),
        atelier: env!("CARGO_BIN_EXE_atelier").into(),
        stall_after: Duration::from_secs(300),
    }
}

/// Polls `sources` into `seen` until `done` holds of it; fails after [`LIMIT`].
fn poll_until(
    sources: &mut Sources,
    seen: &mut Vec<Sourced>,
    what: &str,
    done: impl Fn(&[Sourced]) -> bool,
) {
    let start = Instant::now();
    while !done(seen) {
        assert!(
            start.elapsed() < LIMIT,
            "no {what} after {LIMIT:?}: {:#?}",
            states(seen)
        );
        std::thread::sleep(Duration::from_millis(50));
        seen.extend(sources.poll());
    }
}

fn states(seen: &[Sourced]) -> Vec<&SourceState> {
    seen.iter()
        .filter_map(|sourced| match &sourced.news {
            News::State(state) => Some(state),
            _ => None,
        })
        .collect()
}

/// Every event of `run` that reached the viewer, in order.
fn events_of(seen: &[Sourced], run: &str) -> Vec<Event> {
    seen.iter()
        .filter_map(|sourced| match &sourced.news {
            News::Update(Update::New { record, events }) if record.id == run => {
                Some(events.clone())
            }
            News::Update(Update::Events { run: id, events }) if id == run => Some(events.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn new_runs(seen: &[Sourced]) -> Vec<(RunId, Option<String>)> {
    seen.iter()
        .filter_map(|sourced| match &sourced.news {
            News::Update(Update::New { record, .. }) => {
                Some((record.id.clone(), sourced.host.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The events `run`'s log holds now (the writer thins out fast progress events).
fn logged(store: &RunStore, run: &str) -> Vec<Event> {
    store.events(run).unwrap().events
}

/// A run being written: its writer and the events still to come.
fn live_run(store: &RunStore, name: &str, epochs: u32) -> (RunId, RunWriter, Vec<Event>) {
    let request = common::request(store, name, epochs);
    let writer = store.create(&request).unwrap();
    let events = common::run_events(&request.id, epochs);
    (request.id, writer, events)
}

#[test]
fn a_dropped_connection_resumes_without_losing_or_repeating_an_event() {
    let Some(server) = sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let (id, mut writer, events) = live_run(&store, "live", 6);
    let (first, rest) = events.split_at(events.len() / 3);
    for event in first {
        writer.record(event).unwrap();
    }
    let mut sources = Sources::default();
    sources
        .add_remote(dial(&server, dir.path(), &server.ssh_command()))
        .unwrap();
    let mut seen = Vec::new();
    let logged_first = logged(&store, &id);
    poll_until(&mut sources, &mut seen, "first third", |seen| {
        events_of(seen, &id).len() == logged_first.len()
    });
    // The connection dies (its sshd child and the stream with it) while the run goes on.
    server.kill_connections();
    let (second, third) = rest.split_at(rest.len() / 2);
    for event in second {
        writer.record(event).unwrap();
    }
    poll_until(&mut sources, &mut seen, "a reconnection", |seen| {
        states(seen)
            .iter()
            .any(|state| matches!(state, SourceState::Reconnecting { .. }))
    });
    for event in third {
        writer.record(event).unwrap();
    }
    drop(writer);
    let whole = logged(&store, &id);
    poll_until(&mut sources, &mut seen, "the whole run", |seen| {
        events_of(seen, &id).len() >= whole.len()
    });
    // A moment more: a repeated event would arrive now.
    std::thread::sleep(Duration::from_millis(600));
    seen.extend(sources.poll());
    assert_eq!(events_of(&seen, &id), whole, "{}", server.logs());
    assert!(matches!(whole.last(), Some(Event::Finished { .. })));
    assert_eq!(new_runs(&seen).len(), 1);
    let reconnecting = states(&seen)
        .into_iter()
        .find_map(|state| match state {
            SourceState::Reconnecting { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(!reconnecting.is_empty());
    assert_eq!(states(&seen).last(), Some(&&SourceState::Connected));
    // What came before and after the drop, judged: the end is told once.
    let mut alerting = Alerting::new(
        AlertRules::default(),
        Delivery::default(),
        Ledger::in_memory(),
    );
    let told = alerting.observe(&seen, &mut std::io::sink(), false);
    let kinds: Vec<AlertKind> = told.alerts.iter().map(|alert| alert.kind).collect();
    assert_eq!(kinds, [AlertKind::Finished], "{:?}", told.alerts);
    assert_eq!(told.alerts[0].host.as_deref(), Some("127.0.0.1"));
}

#[test]
fn two_sources_merge_and_a_run_seen_twice_shows_once() {
    let Some(server) = sshd::start() else { return };
    let shared = tempfile::tempdir().unwrap();
    let shared_store = RunStore::open(shared.path()).unwrap();
    let both = common::stored_run(&shared_store, "shared", 1);
    let far = tempfile::tempdir().unwrap();
    let far_store = RunStore::open(far.path()).unwrap();
    let only_far = common::stored_run(&far_store, "far", 1);
    let mut sources = Sources::local(
        shared_store.clone(),
        Follower::new(shared_store.clone(), Duration::from_secs(300)),
    );
    // The same folder again over ssh, as a shared filesystem shows it twice.
    for dir in [shared.path(), far.path()] {
        sources
            .add_remote(dial(&server, dir, &server.ssh_command()))
            .unwrap();
    }
    let mut seen = Vec::new();
    poll_until(&mut sources, &mut seen, "both remotes synced", |seen| {
        states(seen)
            .iter()
            .filter(|state| ***state == SourceState::Connected)
            .count()
            >= 2
            && new_runs(seen).len() >= 2
    });
    std::thread::sleep(Duration::from_millis(600));
    seen.extend(sources.poll());
    let mut runs = new_runs(&seen);
    runs.sort();
    let mut expected = vec![
        (both.clone(), None),
        (only_far.clone(), Some("127.0.0.1".to_string())),
    ];
    expected.sort();
    assert_eq!(runs, expected);
    assert_eq!(events_of(&seen, &both), logged(&shared_store, &both));
    assert_eq!(sources.host_of(&only_far), Some("127.0.0.1"));
}

#[test]
fn a_refused_source_shows_ssh_s_message_while_the_local_one_goes_on() {
    let Some(server) = sshd::start() else { return };
    let local = tempfile::tempdir().unwrap();
    let store = RunStore::open(local.path()).unwrap();
    let mut sources = Sources::local(
        store.clone(),
        Follower::new(store.clone(), Duration::from_secs(300)),
    );
    sources
        .add_remote(dial(&server, local.path(), &server.wrong_key_command()))
        .unwrap();
    let mut seen = Vec::new();
    poll_until(&mut sources, &mut seen, "the refusal", |seen| {
        states(seen)
            .iter()
            .any(|state| matches!(state, SourceState::Failed { .. }))
    });
    let SourceState::Failed { reason } = states(&seen)
        .into_iter()
        .find(|state| matches!(state, SourceState::Failed { .. }))
        .unwrap()
        .clone()
    else {
        unreachable!()
    };
    assert!(
        reason.starts_with("ssh: ") && reason.contains("Permission denied"),
        "{reason}"
    );
    // The local folder is followed all the while.
    let id = common::stored_run(&store, "here", 1);
    poll_until(&mut sources, &mut seen, "the local run", |seen| {
        new_runs(seen).iter().any(|(run, _)| *run == id)
    });
    let statuses = sources.statuses();
    assert!(
        matches!(statuses[1].state, SourceState::Failed { .. }),
        "{statuses:?}"
    );
}

#[test]
fn a_path_with_spaces_quotes_and_commands_is_read_as_that_path() {
    let Some(server) = sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let odd = dir.path().join(format!(
        "my runs 'x' \"y\" $(touch {}) `touch {}`",
        marker.display(),
        marker.display()
    ));
    let store = RunStore::open(&odd).unwrap();
    let id = common::stored_run(&store, "odd", 1);
    let mut sources = Sources::default();
    sources
        .add_remote(dial(&server, &odd, &server.ssh_command()))
        .unwrap();
    let mut seen = Vec::new();
    poll_until(
        &mut sources,
        &mut seen,
        "the run in the odd folder",
        |seen| !new_runs(seen).is_empty(),
    );
    assert_eq!(new_runs(&seen)[0].0, id);
    assert!(
        !marker.exists(),
        "the remote shell ran a command from the path"
    );
}

#[test]
fn a_remote_run_s_predictions_are_fetched_for_the_gallery() {
    let Some(server) = sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let id = common::stored_run(&store, "seen", 1);
    common::write_predictions(&store, &id, &[1, 4]);
    let on_disk = atelier::store::Predictions::load(&store.run_dir(&id)).unwrap();
    let mut sources = Sources::default();
    sources
        .add_remote(dial(&server, dir.path(), &server.ssh_command()))
        .unwrap();
    let mut seen = Vec::new();
    poll_until(&mut sources, &mut seen, "the run", |seen| {
        !new_runs(seen).is_empty()
    });
    assert_eq!(
        sources.locate(&id, remote::wire::RunFile::Predictions),
        remote::Located::Requested {
            host: "127.0.0.1".into()
        }
    );
    poll_until(&mut sources, &mut seen, "the predictions", |seen| {
        seen.iter()
            .any(|sourced| matches!(sourced.news, News::File { .. }))
    });
    let bytes = seen
        .iter()
        .find_map(|sourced| match &sourced.news {
            News::File { run, bytes, .. } if *run == id => Some(bytes.clone().unwrap()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        atelier::store::Predictions::from_bytes(&bytes).unwrap(),
        on_disk
    );
}

#[test]
fn a_host_without_atelier_is_told_how_to_point_at_it() {
    let Some(server) = sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut dial = dial(&server, dir.path(), &server.ssh_command());
    dial.atelier = "/nowhere/atelier".into();
    let mut sources = Sources::default();
    sources.add_remote(dial).unwrap();
    let mut seen = Vec::new();
    poll_until(&mut sources, &mut seen, "the failure", |seen| {
        states(seen)
            .iter()
            .any(|state| matches!(state, SourceState::Failed { .. }))
    });
    let reason = states(&seen)
        .into_iter()
        .find_map(|state| match state {
            SourceState::Failed { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        reason.contains("\"/nowhere/atelier\"") && reason.contains("--remote-atelier PATH"),
        "{reason}"
    );
}

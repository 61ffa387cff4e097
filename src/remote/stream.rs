//! `atelier stream`: the remote end of a remote source. It follows a runs
//! folder as the app does and writes what changes to standard output as
//! [`StreamMessage`] lines, and answers fetches read from standard input.
//! It never writes to the runs folder. It ends when the viewer is gone: its
//! output closes, or its input ends after the viewer's first line.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    thread,
    time::{Duration, Instant},
};

use base64::Engine;
use crossbeam_channel::{never, select, tick, unbounded, Receiver};

use super::wire::{self, RunFile, StreamMessage, StreamRequest, HEARTBEAT};
use crate::{
    edge::read,
    protocol::RunId,
    slurm::{
        watch::{poll_store, Poll},
        Tools,
    },
    store::{follow::POLL_INTERVAL, Follower, RunStore, Update},
};

/// The largest file a viewer may fetch (predictions of 10,000 test images
/// take about 120 kB).
const FETCH_LIMIT: u64 = 64 << 20;

/// What the stream follows and how.
pub struct StreamOptions {
    pub stall_after: Duration,
    /// Ask squeue about the folder's Slurm submissions (when it has some).
    pub slurm: Tools,
    /// Read the viewer's resume line and fetches from the input; false when
    /// a person runs the command in a terminal.
    pub read_input: bool,
}

/// What the viewer's input brought.
enum Input {
    Request(StreamRequest),
    /// The viewer closed its end: it is gone.
    Closed,
}

/// Streams `store` to `output` until the viewer is gone. Returns an error
/// only when the stream cannot start.
pub fn serve(
    store: &RunStore,
    input: impl Read + Send + 'static,
    output: &mut impl Write,
    options: StreamOptions,
) -> std::io::Result<()> {
    let hello = StreamMessage::Hello {
        version: wire::VERSION,
        atelier: env!("CARGO_PKG_VERSION").to_string(),
        runs_dir: store.dir().display().to_string(),
    };
    if send(output, &hello).is_err() {
        return Ok(());
    }
    let mut input = BufReader::new(input);
    let (offsets, requests) = if options.read_input {
        let offsets = match read_request(&mut input) {
            Some(StreamRequest::Resume { offsets }) => offsets,
            _ => BTreeMap::default(),
        };
        (offsets, spawn_reader(input)?)
    } else {
        (BTreeMap::default(), never())
    };
    let mut follower = Follower::new(store.clone(), options.stall_after).resume_from(offsets);
    let slurm = poll_store(store, options.slurm)?;
    let _ = stream(&mut follower, store, &requests, &slurm, output);
    Ok(())
}

/// The loop: polls, Slurm news and fetches until a write fails or the
/// viewer's input closes.
fn stream(
    follower: &mut Follower,
    store: &RunStore,
    requests: &Receiver<Input>,
    slurm: &Receiver<Poll>,
    output: &mut impl Write,
) -> std::io::Result<()> {
    let ticks = tick(POLL_INTERVAL);
    let mut slurm = slurm.clone();
    let mut last_sent = Instant::now();
    poll(follower, output)?;
    send(output, &StreamMessage::Synced)?;
    loop {
        select! {
            recv(ticks) -> _ => {
                if poll(follower, output)? {
                    last_sent = Instant::now();
                } else if last_sent.elapsed() >= HEARTBEAT {
                    send(output, &StreamMessage::Heartbeat)?;
                    last_sent = Instant::now();
                }
            }
            recv(slurm) -> poll => match poll {
                Ok(Poll::Labels(labels)) => send(output, &StreamMessage::Slurm { labels })?,
                Ok(Poll::Failed(problem)) => send(output, &StreamMessage::SlurmFailed { problem })?,
                Err(_) => slurm = never(),
            },
            recv(requests) -> request => match request {
                Ok(Input::Request(StreamRequest::Fetch { run, file })) => {
                    send(output, &fetch(follower, store, run, file))?;
                }
                Ok(Input::Request(StreamRequest::Resume { .. })) => {}
                Ok(Input::Closed) | Err(_) => return Ok(()),
            },
        }
    }
}

/// Sends what changed; true when anything did.
fn poll(follower: &mut Follower, output: &mut impl Write) -> std::io::Result<bool> {
    let updates = follower.poll();
    for update in &updates {
        send(output, &message(follower, update.clone()))?;
    }
    Ok(!updates.is_empty())
}

/// An update as a line, with the log offset it reaches.
fn message(follower: &Follower, update: Update) -> StreamMessage {
    let to = |run: &str| follower.offset(run).unwrap_or(0);
    match update {
        Update::New { record, events } => StreamMessage::Run {
            to: to(&record.id),
            record,
            events,
        },
        Update::Events { run, events } => StreamMessage::Events {
            to: to(&run),
            run,
            events,
        },
        Update::Record(record) => StreamMessage::Record { record },
        Update::Liveness { run, liveness } => StreamMessage::Liveness { run, liveness },
        Update::Removed { run } => StreamMessage::Removed { run },
        Update::Unreadable { run, problem } => StreamMessage::Unreadable { run, problem },
    }
}

/// One of a followed run's files; only runs this stream follows, so a
/// request cannot name a path outside the runs folder.
fn fetch(follower: &Follower, store: &RunStore, run: RunId, file: RunFile) -> StreamMessage {
    if follower.offset(&run).is_none() {
        return StreamMessage::FileFailed {
            problem: format!("no run {run} in {}", store.dir().display()),
            run,
            file,
        };
    }
    match read::bytes(&store.run_dir(&run).join(file.name()), FETCH_LIMIT) {
        Ok(bytes) => StreamMessage::File {
            run,
            file,
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        },
        Err(error) => StreamMessage::FileFailed {
            run,
            file,
            problem: error.to_string(),
        },
    }
}

fn send(output: &mut impl Write, message: &StreamMessage) -> std::io::Result<()> {
    output.write_all(wire::line(message).as_bytes())?;
    output.flush()
}

/// One request line; `None` at the end of the input or for a line that is
/// not a request (skipped, as the stream cannot answer it).
fn read_request(input: &mut impl BufRead) -> Option<StreamRequest> {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => serde_json::from_str(&line).ok(),
    }
}

/// Reads the viewer's further requests on a thread of its own; sends
/// [`Input::Closed`] when the input ends.
fn spawn_reader(mut input: impl BufRead + Send + 'static) -> std::io::Result<Receiver<Input>> {
    let (sender, receiver) = unbounded();
    thread::Builder::new()
        .name("stream-requests".into())
        .spawn(move || loop {
            let mut line = String::new();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = sender.send(Input::Closed);
                    return;
                }
                Ok(_) => {
                    if let Ok(request) = serde_json::from_str(&line) {
                        if sender.send(Input::Request(request)).is_err() {
                            return;
                        }
                    }
                }
            }
        })?;
    Ok(receiver)
}

#[cfg(test)]
mod tests {
    use std::{
        io::Cursor,
        sync::{Arc, Mutex},
    };

    use super::*;
    use crate::{
        store::{Predictions, RunRecord},
        testing,
    };

    /// Output shared with the test while `serve` writes it on another thread.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn messages(output: &Shared) -> Vec<StreamMessage> {
        let bytes = output.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn stored(store: &RunStore, name: &str) -> RunRecord {
        let request = crate::protocol::RunRequest {
            id: store.new_id(name),
            plan: "test".into(),
            spec: testing::tiny_spec(name, 1),
        };
        let mut writer = store.create(&request).unwrap();
        let run = &request.id;
        let events = [
            testing::started(run.clone()).epochs(1).event(),
            crate::protocol::Event::EpochEnd {
                run: run.clone(),
                epoch: 1,
                epochs: 1,
                train_loss: 0.5,
                train_accuracy: 0.8,
                val_loss: 0.4,
                val_accuracy: 0.81,
                seconds: 1.0,
            },
            crate::protocol::Event::Finished {
                run: run.clone(),
                seconds: 1.0,
                best_val_accuracy: 0.81,
                best_epoch: 1,
            },
        ];
        for event in &events {
            writer.record(event).unwrap();
        }
        drop(writer);
        store.load(run).unwrap()
    }

    fn serve_lines(store: &RunStore, input: String) -> Vec<StreamMessage> {
        let output = Shared::default();
        let mut writer = output.clone();
        let options = StreamOptions {
            stall_after: Duration::from_secs(300),
            slurm: Tools::from_env(),
            read_input: true,
        };
        // The input ends after its lines: the viewer is gone, the stream ends.
        serve(store, Cursor::new(input), &mut writer, options).unwrap();
        messages(&output)
    }

    #[test]
    fn a_stream_says_hello_sends_the_runs_answers_a_fetch_and_ends_with_its_viewer() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let record = stored(&store, "a");
        let predictions = Predictions::new(vec![3; 4], vec![3, 3, 1, 3], vec![25; 40]).unwrap();
        predictions.save(&store.run_dir(&record.id)).unwrap();
        let input = [
            wire::line(&StreamRequest::Resume {
                offsets: BTreeMap::default(),
            }),
            wire::line(&StreamRequest::Fetch {
                run: record.id.clone(),
                file: RunFile::Predictions,
            }),
            wire::line(&StreamRequest::Fetch {
                run: "../../etc".into(),
                file: RunFile::Predictions,
            }),
        ]
        .concat();
        let said = serve_lines(&store, input);
        assert!(matches!(
            said[0],
            StreamMessage::Hello {
                version: wire::VERSION,
                ..
            }
        ));
        let StreamMessage::Run {
            record: sent,
            to,
            events,
        } = &said[1]
        else {
            panic!("{:?}", said[1]);
        };
        assert_eq!(sent.id, record.id);
        let log = std::fs::read(store.run_dir(&record.id).join(crate::store::EVENTS_FILE)).unwrap();
        assert_eq!(*to, log.len() as u64);
        assert_eq!(events, &store.events(&record.id).unwrap().events);
        assert_eq!(said[2], StreamMessage::Synced);
        let fetched = said
            .iter()
            .find_map(|message| match message {
                StreamMessage::File { base64, .. } => Some(base64.clone()),
                _ => None,
            })
            .unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(fetched)
            .unwrap();
        assert_eq!(Predictions::from_bytes(&bytes).unwrap(), predictions);
        assert!(said.iter().any(|message| matches!(
            message,
            StreamMessage::FileFailed { run, problem, .. } if run == "../../etc" && problem.contains("no run ../../etc")
        )));
    }

    #[test]
    fn a_resumed_stream_sends_only_the_log_after_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let record = stored(&store, "a");
        let log = std::fs::read(store.run_dir(&record.id).join(crate::store::EVENTS_FILE)).unwrap();
        let all = store.events(&record.id).unwrap().events;
        // The viewer has the first two lines.
        let second_newline = log
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(1)
            .unwrap()
            .0;
        let offsets = [(record.id.clone(), second_newline as u64 + 1)].into();
        let said = serve_lines(&store, wire::line(&StreamRequest::Resume { offsets }));
        let StreamMessage::Run { events, to, .. } = &said[1] else {
            panic!("{:?}", said[1]);
        };
        assert_eq!(events.as_slice(), &all[2..]);
        assert_eq!(*to, log.len() as u64);
    }
}

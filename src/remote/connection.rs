//! One remote source's connection: `ssh HOST atelier stream …` on a thread
//! of its own, its lines turned into the updates a local follower gives,
//! and, when the connection drops (a laptop sleeps, a VPN changes), a new
//! one after a growing pause that picks up at the log offsets already
//! received, so no event is lost or repeated.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ChildStdin, Command, Stdio},
    thread,
    time::{Duration, SystemTime},
};

use base64::Engine;
use crossbeam_channel::{after, select, unbounded, Receiver, Sender};

use super::{
    source::Remote,
    wire::{self, RunFile, StreamMessage, StreamRequest, HEARTBEAT},
};
use crate::{protocol::RunId, slurm::watch::Poll, store::Update};

/// A connection silent this long is taken for dead (the stream says
/// something every [`HEARTBEAT`]).
const SILENCE: Duration = Duration::from_secs(4 * HEARTBEAT.as_secs());
/// The longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How a source stands, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceState {
    Connecting,
    Connected,
    /// It was connected; trying again since `since`, after `reason`.
    Reconnecting {
        since: SystemTime,
        reason: String,
    },
    /// It never connected: ssh's own message (it keeps trying).
    Failed {
        reason: String,
    },
}

/// What a connection brings the viewer.
#[derive(Clone, Debug, PartialEq)]
pub enum News {
    Update(Update),
    Slurm(Poll),
    State(SourceState),
    /// A fetched file's bytes, or why it could not be fetched.
    File {
        run: RunId,
        file: RunFile,
        bytes: Result<Vec<u8>, String>,
    },
}

/// How to reach a remote source.
#[derive(Clone, Debug)]
pub struct Dial {
    pub remote: Remote,
    /// The ssh program and its own arguments.
    pub ssh: Vec<String>,
    /// The atelier the remote host runs.
    pub atelier: String,
    pub stall_after: Duration,
}

/// A running connection: its news, and where fetches go.
pub struct Connection {
    pub news: Receiver<News>,
    fetches: Sender<StreamRequest>,
}

impl Connection {
    /// Starts the connection's thread; it ends when `news` is dropped.
    pub fn open(dial: Dial) -> std::io::Result<Self> {
        let (news_sender, news) = unbounded();
        let (fetches, fetch_requests) = unbounded();
        thread::Builder::new()
            .name(format!("remote {}", dial.remote.host()))
            .spawn(move || Link::new(dial, news_sender, fetch_requests).run())?;
        Ok(Self { news, fetches })
    }

    /// Asks the remote for one of `run`'s files; the answer comes as [`News::File`].
    pub fn fetch(&self, run: RunId, file: RunFile) {
        let _ = self.fetches.send(StreamRequest::Fetch { run, file });
    }
}

/// Why one ssh session ended.
enum End {
    /// The viewer is gone: stop for good.
    ViewerGone,
    /// The session dropped or failed: try again.
    Dropped { reason: String, connected: bool },
}

/// The connection thread's state across sessions.
struct Link {
    dial: Dial,
    news: Sender<News>,
    fetches: Receiver<StreamRequest>,
    /// Log bytes received, by run: where the next session resumes.
    offsets: BTreeMap<RunId, u64>,
    /// Runs the current session has sent (after `Synced`, the others are gone).
    seen: BTreeSet<RunId>,
    was_connected: bool,
    down_since: Option<SystemTime>,
}

impl Link {
    fn new(dial: Dial, news: Sender<News>, fetches: Receiver<StreamRequest>) -> Self {
        Self {
            dial,
            news,
            fetches,
            offsets: BTreeMap::new(),
            seen: BTreeSet::new(),
            was_connected: false,
            down_since: None,
        }
    }

    fn run(mut self) {
        let mut failures = 0u32;
        if self
            .news
            .send(News::State(SourceState::Connecting))
            .is_err()
        {
            return;
        }
        loop {
            let (reason, connected) = match self.session() {
                End::ViewerGone => return,
                End::Dropped { reason, connected } => (reason, connected),
            };
            if connected {
                failures = 0;
            }
            failures += 1;
            let state = if self.was_connected {
                SourceState::Reconnecting {
                    since: *self.down_since.get_or_insert_with(SystemTime::now),
                    reason,
                }
            } else {
                SourceState::Failed { reason }
            };
            if self.news.send(News::State(state)).is_err() {
                return;
            }
            let pause = MAX_BACKOFF.min(Duration::from_secs(1 << failures.min(6)) / 2);
            thread::sleep(pause);
        }
    }

    /// One ssh session, from start to drop.
    fn session(&mut self) -> End {
        let command = self
            .dial
            .remote
            .remote_command(&self.dial.atelier, self.dial.stall_after);
        let argv = self.dial.remote.ssh_argv(&self.dial.ssh, command);
        let mut child = match Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                return End::Dropped {
                    reason: format!("cannot run {:?}: {error}", argv[0]),
                    connected: false,
                }
            }
        };
        let stderr = last_line_of(child.stderr.take());
        let lines = lines_of(child.stdout.take());
        let mut stdin = child.stdin.take();
        let resume = StreamRequest::Resume {
            offsets: self.offsets.clone(),
        };
        write_line(&mut stdin, &resume);
        self.seen.clear();
        let end = self.listen(&lines, &mut stdin);
        drop(stdin);
        let status = stop(&mut child);
        match end {
            Listened::ViewerGone => End::ViewerGone,
            Listened::Ended { reason, connected } => End::Dropped {
                reason: reason.unwrap_or_else(|| {
                    // ssh has exited: its last words reach the reader thread soon.
                    let said = stderr
                        .recv_timeout(Duration::from_secs(1))
                        .unwrap_or_default();
                    // 127: the remote shell found no such command.
                    if status.as_ref().ok().and_then(std::process::ExitStatus::code) == Some(127) {
                        format!(
                            "the remote shell cannot run {:?}: install atelier there or pass --remote-atelier PATH (ssh: {said})",
                            self.dial.atelier
                        )
                    } else if said.is_empty() {
                        match &status {
                            Ok(status) => format!("ssh ended ({status})"),
                            Err(error) => format!("ssh ended ({error})"),
                        }
                    } else {
                        format!("ssh: {said}")
                    }
                }),
                connected,
            },
        }
    }

    /// Reads the session's lines and forwards fetches until it ends.
    fn listen(&mut self, lines: &Receiver<String>, stdin: &mut Option<ChildStdin>) -> Listened {
        let mut connected = false;
        loop {
            select! {
                recv(lines) -> line => {
                    let Ok(line) = line else {
                        return Listened::Ended { reason: None, connected };
                    };
                    match serde_json::from_str::<StreamMessage>(&line) {
                        Ok(StreamMessage::Hello { version, atelier, .. }) if version != wire::VERSION => {
                            return Listened::Ended {
                                reason: Some(format!(
                                    "the remote atelier {atelier} streams version {version}, this one reads version {}: update one of them",
                                    wire::VERSION
                                )),
                                connected,
                            };
                        }
                        Ok(StreamMessage::Hello { .. }) => {
                            connected = true;
                            self.was_connected = true;
                            self.down_since = None;
                            if self.news.send(News::State(SourceState::Connected)).is_err() {
                                return Listened::ViewerGone;
                            }
                        }
                        Ok(message) => {
                            if self.forward(message).is_err() {
                                return Listened::ViewerGone;
                            }
                        }
                        // A line that is not a message (a login banner on stdout): skipped.
                        Err(_) => {}
                    }
                }
                recv(self.fetches) -> request => match request {
                    Ok(request) => write_line(stdin, &request),
                    Err(_) => return Listened::ViewerGone,
                },
                recv(after(SILENCE)) -> _ => {
                    return Listened::Ended {
                        reason: Some(format!("no word from {} for {}s", self.dial.remote.host(), SILENCE.as_secs())),
                        connected,
                    };
                }
            }
        }
    }

    /// Turns a stream message into news; an error when the viewer is gone.
    fn forward(&mut self, message: StreamMessage) -> Result<(), ()> {
        for news in self.translate(message) {
            self.news.send(news).map_err(|_| ())?;
        }
        Ok(())
    }

    fn translate(&mut self, message: StreamMessage) -> Vec<News> {
        let update = |update| vec![News::Update(update)];
        match message {
            StreamMessage::Run { record, to, events } => {
                self.seen.insert(record.id.clone());
                match self.offsets.insert(record.id.clone(), to) {
                    // Known from an earlier session: only what is new, the
                    // record last (it has the last word, as a follower's).
                    Some(had) => {
                        let mut news = Vec::new();
                        if to > had && !events.is_empty() {
                            news.push(News::Update(Update::Events {
                                run: record.id.clone(),
                                events,
                            }));
                        }
                        news.push(News::Update(Update::Record(record)));
                        news
                    }
                    None => update(Update::New { record, events }),
                }
            }
            StreamMessage::Events { run, to, events } => {
                let had = self.offsets.get(&run).copied().unwrap_or(0);
                if to <= had {
                    return Vec::new();
                }
                self.offsets.insert(run.clone(), to);
                update(Update::Events { run, events })
            }
            StreamMessage::Record { record } => update(Update::Record(record)),
            StreamMessage::Liveness { run, liveness } => update(Update::Liveness { run, liveness }),
            StreamMessage::Removed { run } => {
                self.offsets.remove(&run);
                update(Update::Removed { run })
            }
            StreamMessage::Unreadable { run, problem } => {
                update(Update::Unreadable { run, problem })
            }
            StreamMessage::Synced => {
                let gone: Vec<RunId> = self
                    .offsets
                    .keys()
                    .filter(|run| !self.seen.contains(*run))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .map(|run| {
                        self.offsets.remove(&run);
                        News::Update(Update::Removed { run })
                    })
                    .collect()
            }
            StreamMessage::Slurm { labels } => vec![News::Slurm(Poll::Labels(labels))],
            StreamMessage::SlurmFailed { problem } => vec![News::Slurm(Poll::Failed(problem))],
            StreamMessage::File { run, file, base64 } => vec![News::File {
                run,
                file,
                bytes: base64::engine::general_purpose::STANDARD
                    .decode(base64)
                    .map_err(|error| format!("the remote sent a damaged file: {error}")),
            }],
            StreamMessage::FileFailed { run, file, problem } => vec![News::File {
                run,
                file,
                bytes: Err(problem),
            }],
            StreamMessage::Hello { .. } | StreamMessage::Heartbeat => Vec::new(),
        }
    }
}

/// How listening to one session ended.
enum Listened {
    ViewerGone,
    /// `reason` when atelier knows better than ssh's last words.
    Ended {
        reason: Option<String>,
        connected: bool,
    },
}

fn write_line(stdin: &mut Option<ChildStdin>, request: &StreamRequest) {
    if let Some(pipe) = stdin {
        if pipe
            .write_all(wire::line(request).as_bytes())
            .and_then(|()| pipe.flush())
            .is_err()
        {
            *stdin = None;
        }
    }
}

/// Stops ssh and says how it ended: its own exit when its output has just
/// closed (a moment is enough), else killed (a silent connection).
fn stop(child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
    for _ in 0..20 {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    child.wait()
}

/// The lines of ssh's output, on a thread; the channel closes at its end.
fn lines_of(output: Option<impl Read + Send + 'static>) -> Receiver<String> {
    let (sender, receiver) = unbounded();
    if let Some(output) = output {
        let _ = thread::Builder::new()
            .name("remote-lines".into())
            .spawn(move || {
                for line in BufReader::new(output).lines() {
                    let Ok(line) = line else { return };
                    if sender.send(line).is_err() {
                        return;
                    }
                }
            });
    }
    receiver
}

/// ssh's last non-empty line on standard error (its own message for a
/// refused key or an unknown host), sent when its standard error closes.
fn last_line_of(stderr: Option<impl Read + Send + 'static>) -> Receiver<String> {
    let (sender, receiver) = unbounded();
    if let Some(stderr) = stderr {
        let _ = thread::Builder::new()
            .name("remote-stderr".into())
            .spawn(move || {
                let mut last = String::new();
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let line = line.trim();
                    if !line.is_empty() {
                        line.clone_into(&mut last);
                    }
                }
                let _ = sender.send(last);
            });
    }
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{remote::source, store::RunRecord, testing};

    fn link() -> (Link, Receiver<News>) {
        let (news, received) = unbounded();
        let (_fetches, requests) = unbounded();
        let source::SourceSpec::Remote(remote) = source::parse("h:runs").unwrap() else {
            unreachable!()
        };
        let dial = Dial {
            remote,
            ssh: vec!["ssh".into()],
            atelier: "atelier".into(),
            stall_after: Duration::from_secs(300),
        };
        (Link::new(dial, news, requests), received)
    }

    fn record(id: &str) -> Box<RunRecord> {
        Box::new(RunRecord::new(&crate::protocol::RunRequest {
            id: id.into(),
            plan: "p".into(),
            spec: testing::tiny_spec("tiny", 1),
        }))
    }

    fn started(id: &str) -> Vec<crate::protocol::Event> {
        vec![testing::started(id).event()]
    }

    #[test]
    fn a_run_known_before_a_reconnect_brings_only_what_is_new() {
        let (mut link, _news) = link();
        let first = link.translate(StreamMessage::Run {
            record: record("a"),
            to: 10,
            events: started("a"),
        });
        assert!(matches!(
            first.as_slice(),
            [News::Update(Update::New { .. })]
        ));
        // The next session resumes at byte 10 and sends the run again.
        link.seen.clear();
        let again = link.translate(StreamMessage::Run {
            record: record("a"),
            to: 20,
            events: started("a"),
        });
        assert!(matches!(
            again.as_slice(),
            [
                News::Update(Update::Events { .. }),
                News::Update(Update::Record(_))
            ]
        ));
        // Lines already received are not passed on twice.
        let repeated = link.translate(StreamMessage::Events {
            run: "a".into(),
            to: 20,
            events: started("a"),
        });
        assert!(repeated.is_empty());
        assert_eq!(link.offsets["a"], 20);
    }

    #[test]
    fn runs_not_sent_again_by_the_time_of_synced_are_gone() {
        let (mut link, _news) = link();
        for id in ["a", "b"] {
            link.translate(StreamMessage::Run {
                record: record(id),
                to: 5,
                events: Vec::new(),
            });
        }
        link.seen.clear();
        link.translate(StreamMessage::Run {
            record: record("a"),
            to: 5,
            events: Vec::new(),
        });
        let gone = link.translate(StreamMessage::Synced);
        assert_eq!(gone, [News::Update(Update::Removed { run: "b".into() })]);
        assert!(!link.offsets.contains_key("b"));
    }

    #[test]
    fn slurm_labels_and_fetched_files_pass_through() {
        let (mut link, _news) = link();
        assert_eq!(
            link.translate(StreamMessage::Slurm {
                labels: vec![("a".into(), "requeued".into())]
            }),
            [News::Slurm(Poll::Labels(vec![(
                "a".into(),
                "requeued".into()
            )]))]
        );
        let damaged = link.translate(StreamMessage::File {
            run: "a".into(),
            file: RunFile::Predictions,
            base64: "not base64!".into(),
        });
        assert!(matches!(
            damaged.as_slice(),
            [News::File { bytes: Err(problem), .. }] if problem.contains("damaged")
        ));
    }
}

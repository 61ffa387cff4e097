//! Every source of one view merged: local runs folders followed in this
//! process and remote ones over ssh. A run seen by two sources (one folder
//! on a shared filesystem, reached twice) is shown once, from the source
//! that reported it first.

use std::{collections::HashMap, path::PathBuf};

use super::{
    connection::{Connection, Dial, News, SourceState},
    wire::RunFile,
};
use crate::{
    protocol::RunId,
    store::{Follower, RunStore, Update},
};

/// News from one source.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced {
    /// The source's place in [`Sources`].
    pub source: usize,
    /// The source's host; `None` for a local folder.
    pub host: Option<String>,
    pub news: News,
}

/// A source's name and how it stands, for the app's sources line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStatus {
    pub label: String,
    pub remote: bool,
    pub state: SourceState,
}

/// Where a run's files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// In this local run folder.
    Local(PathBuf),
    /// On a remote host: asked for; the answer comes as [`News::File`].
    Requested { host: String },
    /// No source has the run.
    Unknown,
}

enum Kind {
    Local {
        store: RunStore,
        follower: Follower,
    },
    Remote {
        connection: Connection,
        host: String,
    },
}

struct Source {
    label: String,
    kind: Kind,
    state: SourceState,
}

/// The merged sources of one view.
#[derive(Default)]
pub struct Sources {
    sources: Vec<Source>,
    /// The source each run is shown from.
    owners: HashMap<RunId, usize>,
}

impl Sources {
    /// One local runs folder.
    pub fn local(store: RunStore, follower: Follower) -> Self {
        let mut sources = Self::default();
        sources.add_local(store, follower);
        sources
    }

    pub fn add_local(&mut self, store: RunStore, follower: Follower) {
        self.sources.push(Source {
            label: store.dir().display().to_string(),
            kind: Kind::Local { store, follower },
            state: SourceState::Connected,
        });
    }

    /// Connects to a remote runs folder (on a thread; news come by [`Sources::poll`]).
    pub fn add_remote(&mut self, dial: Dial) -> std::io::Result<()> {
        let label = dial.remote.label();
        let host = dial.remote.host().to_string();
        let connection = Connection::open(dial)?;
        self.sources.push(Source {
            label,
            kind: Kind::Remote { connection, host },
            state: SourceState::Connecting,
        });
        Ok(())
    }

    /// Whether any source is remote (the app then shows hosts).
    pub fn any_remote(&self) -> bool {
        self.sources
            .iter()
            .any(|source| matches!(source.kind, Kind::Remote { .. }))
    }

    /// Each source's name and state.
    pub fn statuses(&self) -> Vec<SourceStatus> {
        self.sources
            .iter()
            .map(|source| SourceStatus {
                label: source.label.clone(),
                remote: matches!(source.kind, Kind::Remote { .. }),
                state: source.state.clone(),
            })
            .collect()
    }

    /// What every source brought since the last poll, merged.
    pub fn poll(&mut self) -> Vec<Sourced> {
        let mut merged = Vec::new();
        for index in 0..self.sources.len() {
            let (host, news) = self.take(index);
            for news in news {
                if let News::State(state) = &news {
                    self.sources[index].state = state.clone();
                }
                if self.admit(index, &news) {
                    merged.push(Sourced {
                        source: index,
                        host: host.clone(),
                        news,
                    });
                }
            }
        }
        merged
    }

    /// Where `run`'s `file` is; for a remote run, asks for it.
    pub fn locate(&self, run: &RunId, file: RunFile) -> Located {
        let Some(source) = self
            .owners
            .get(run)
            .and_then(|index| self.sources.get(*index))
        else {
            return Located::Unknown;
        };
        match &source.kind {
            Kind::Local { store, .. } => Located::Local(store.run_dir(run)),
            Kind::Remote { connection, host } => {
                connection.fetch(run.clone(), file);
                Located::Requested { host: host.clone() }
            }
        }
    }

    /// The host `run` is shown from; `None` for a local one.
    pub fn host_of(&self, run: &RunId) -> Option<&str> {
        match &self.sources.get(*self.owners.get(run)?)?.kind {
            Kind::Local { .. } => None,
            Kind::Remote { host, .. } => Some(host),
        }
    }

    /// The source's news since the last look, with its host.
    fn take(&mut self, index: usize) -> (Option<String>, Vec<News>) {
        match &mut self.sources[index].kind {
            Kind::Local { follower, .. } => (
                None,
                follower.poll().into_iter().map(News::Update).collect(),
            ),
            Kind::Remote { connection, host } => {
                (Some(host.clone()), connection.news.try_iter().collect())
            }
        }
    }

    /// Whether news of source `index` reaches the view: a run's updates
    /// come only from the source that reported it first.
    fn admit(&mut self, index: usize, news: &News) -> bool {
        let News::Update(update) = news else {
            return true;
        };
        let run = match update {
            Update::New { record, .. } => {
                let owner = *self.owners.entry(record.id.clone()).or_insert(index);
                return owner == index;
            }
            Update::Events { run, .. } | Update::Liveness { run, .. } | Update::Removed { run } => {
                run
            }
            Update::Record(record) => &record.id,
            Update::Unreadable { .. } => return true,
        };
        let owned = self.owners.get(run) == Some(&index);
        if owned && matches!(update, Update::Removed { .. }) {
            self.owners.remove(run);
        }
        owned
    }
}

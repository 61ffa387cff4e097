//! Runs from anywhere: a view's sources, local runs folders and remote ones
//! read over the user's own ssh ([`source`]), merged into one ([`sources`]).
//! A remote host runs `atelier stream` ([`stream`]), which follows its
//! folder and sends what changes as JSON lines ([`wire`]); this end keeps
//! one connection per host and reconnects where it left off ([`connection`]).

pub mod alerting;
pub mod connection;
pub mod headless;
pub mod source;
pub mod sources;
pub mod stream;
pub mod wire;

pub use connection::{Dial, News, SourceState};
pub use source::{parse, Remote, SourceSpec, SSH_ENV};
pub use sources::{Located, SourceStatus, Sourced, Sources};

/// Why a source cannot be read, naming the argument or setting.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("source {text:?}: {problem}")]
    BadSource { text: String, problem: String },
    #[error("{}={setting:?} is not a command: {problem}", source::SSH_ENV)]
    SshCommand { setting: String, problem: String },
}

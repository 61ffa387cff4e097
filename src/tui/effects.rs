//! What the app asks of the world outside its state, behind one small
//! interface: the loop's [`System`] trains, deletes, signals processes and
//! writes screenshots; a test gives its own and drives the real
//! [`super::event_loop::perform`].

use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;
use ratatui::buffer::Buffer;

use super::View;
use crate::{
    draw::Theme,
    edge::output::Policy,
    plan::RunSpec,
    protocol::{Command, RunId, RunRequest},
    remote::{alerting::Alerting, Sources},
    screen::{self, ScreenError},
    session::{
        batch::{Batch, Handed, Tick, Verdict, Withdrawn},
        control::{self, Control},
        locks::Claims,
        requests, SessionError,
    },
    store::RunStore,
};

/// An effect that did not happen, and why.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    /// The device is another process's (the message names it), or its lock failed.
    #[error(transparent)]
    Claim(#[from] SessionError),
    #[error("cannot delete {path}: {error}")]
    Delete {
        path: PathBuf,
        error: std::io::Error,
    },
    /// `kill(2)` refused (no such process, not ours).
    #[error(transparent)]
    Signal(std::io::Error),
    #[error(transparent)]
    Screenshot(#[from] ScreenError),
    /// Runs queued together could not be handed to workers (the store refused one).
    #[error(transparent)]
    Queue(SessionError),
}

/// What the app's keys may ask for beyond its own state.
pub trait Effects {
    /// Whether this app trains (a read-only viewer does not).
    fn trains(&self) -> bool;
    /// A new run of `spec`, with a fresh id.
    fn request(&mut self, spec: RunSpec) -> RunRequest;
    /// Holds the device `spec` trains on for this app, noting `run`; an
    /// error says who else trains there.
    fn claim(&mut self, spec: &RunSpec, run: &RunId) -> Result<(), EffectError>;
    /// Sends the trainer `command`; false when it has stopped.
    fn send(&mut self, command: Command) -> bool;
    /// Takes runs queued together (claimed, with their ids); `trainer_idle`:
    /// the trainer has nothing to do. Returns what the trainer gets now;
    /// the rest wait for timing or train in workers. By default all go to
    /// the trainer.
    fn offer(
        &mut self,
        requests: Vec<RunRequest>,
        _trainer_idle: bool,
    ) -> Result<Handed, EffectError> {
        Ok(Handed::to_trainer(requests))
    }
    /// Takes a queued run back from the runs queued together, before it starts.
    fn withdraw(&mut self, _run: &RunId) -> Withdrawn {
        Withdrawn::NotHere
    }
    /// Deletes a stored run's folder.
    fn delete(&mut self, run: &RunId) -> Result<(), EffectError>;
    /// Asks another training process to pause, go on or stop.
    fn control(&mut self, pid: u32, control: Control) -> Result<(), EffectError>;
    /// Saves `screen` (showing `view`) in every format; returns the common
    /// path of the files written, without extension.
    fn screenshot(&mut self, screen: &Buffer, view: View) -> Result<PathBuf, EffectError>;
}

/// The app's own training: where its commands go, and the plan it queues from.
#[derive(Clone, Debug)]
pub struct Training {
    pub commands: Sender<Command>,
    pub plan: String,
}

/// Where the `s` key saves screenshots, and how they look.
#[derive(Clone, Debug)]
pub struct Screenshots {
    pub dir: PathBuf,
    pub theme: Theme,
}

impl Screenshots {
    /// Where screenshots go unless the user says: `atelier` in the user's
    /// pictures folder, else `screenshots` in atelier's data folder (never
    /// the folder the app was started in, which may be a checkout); `None`
    /// without either.
    pub fn default_dir(pictures: Option<&Path>, data: Option<&Path>) -> Option<PathBuf> {
        pictures
            .map(|dir| dir.join("atelier"))
            .or_else(|| data.map(|dir| dir.join("screenshots")))
    }

    /// [`Screenshots::default_dir`] of this user's folders.
    pub fn user_default_dir() -> Option<PathBuf> {
        let user = directories::UserDirs::new();
        let pictures = user.as_ref().and_then(directories::UserDirs::picture_dir);
        Self::default_dir(pictures, crate::paths::user_data_dir().as_deref())
    }
}

/// The real world: a trainer (unless read-only), the run store, the
/// processes of this machine, the screenshot folder.
pub struct System {
    /// `None` for a read-only viewer (`atelier watch`).
    pub training: Option<Training>,
    pub store: RunStore,
    /// Brings in runs that other processes write (and, at start, stored
    /// runs), from the local runs folder and from remote ones.
    pub sources: Sources,
    /// The alert rules and their delivery; `None` where nothing is told.
    pub alerting: Option<Alerting>,
    pub screenshots: Screenshots,
    /// Devices this app has trained on, held until it quits.
    claims: Claims,
    /// `--data-dir`, where the gallery finds the test images (else the usual places).
    pub data_dir: Option<PathBuf>,
    /// Runs queued together, timed and trained in workers when faster;
    /// `None`: every run goes to the trainer.
    pub batch: Option<Batch>,
}

impl System {
    /// A system with no device taken yet.
    pub fn new(
        training: Option<Training>,
        store: RunStore,
        sources: Sources,
        screenshots: Screenshots,
    ) -> Self {
        Self {
            training,
            claims: Claims::new(store.clone()),
            store,
            sources,
            alerting: None,
            screenshots,
            data_dir: None,
            batch: None,
        }
    }

    /// Where the batch's timing verdicts arrive (`never` without a batch).
    pub fn verdicts(&self) -> crossbeam_channel::Receiver<Verdict> {
        self.batch
            .as_ref()
            .map_or_else(crossbeam_channel::never, Batch::verdicts)
    }

    /// The batch's timing ended: what the trainer gets.
    pub fn decided(&mut self, verdict: Verdict) -> Result<Handed, EffectError> {
        match &mut self.batch {
            Some(batch) => batch.decided(verdict).map_err(EffectError::Queue),
            None => Ok(Handed::default()),
        }
    }

    /// What the batch's workers did since the last look.
    pub fn tick_batch(&mut self) -> Result<Tick, EffectError> {
        match &mut self.batch {
            Some(batch) => batch.tick().map_err(EffectError::Queue),
            None => Ok(Tick::default()),
        }
    }

    /// Stops the batch's workers and waits for them (the app is quitting).
    pub fn stop_batch(&mut self) {
        if let Some(batch) = &mut self.batch {
            batch.stop();
        }
    }
}

impl Effects for System {
    fn trains(&self) -> bool {
        self.training.is_some()
    }

    fn request(&mut self, spec: RunSpec) -> RunRequest {
        let plan = self
            .training
            .as_ref()
            .map_or_else(String::new, |training| training.plan.clone());
        requests::request(&self.store, &plan, &spec)
    }

    fn claim(&mut self, spec: &RunSpec, run: &RunId) -> Result<(), EffectError> {
        Ok(self.claims.claim(spec, run)?)
    }

    fn send(&mut self, command: Command) -> bool {
        self.training
            .as_ref()
            .is_some_and(|training| training.commands.send(command).is_ok())
    }

    fn offer(
        &mut self,
        requests: Vec<RunRequest>,
        trainer_idle: bool,
    ) -> Result<Handed, EffectError> {
        match &mut self.batch {
            Some(batch) => batch
                .offer(requests, trainer_idle)
                .map_err(EffectError::Queue),
            None => Ok(Handed::to_trainer(requests)),
        }
    }

    fn withdraw(&mut self, run: &RunId) -> Withdrawn {
        self.batch
            .as_mut()
            .map_or(Withdrawn::NotHere, |batch| batch.withdraw(run))
    }

    fn delete(&mut self, run: &RunId) -> Result<(), EffectError> {
        let dir = self.store.run_dir(run);
        remove_run_dir(&dir).map_err(|error| EffectError::Delete { path: dir, error })
    }

    fn control(&mut self, pid: u32, control: Control) -> Result<(), EffectError> {
        control::send(pid, control).map_err(EffectError::Signal)
    }

    fn screenshot(&mut self, screen: &Buffer, view: View) -> Result<PathBuf, EffectError> {
        let stem = screen::timestamped_stem(view.name());
        let target = &self.screenshots;
        // The message names the files in full, wherever the app was started.
        let dir = std::path::absolute(&target.dir).unwrap_or_else(|_| target.dir.clone());
        let policy = Policy::new(false, Some(self.store.dir().to_path_buf()));
        screen::save_all(screen, &dir, &stem, target.theme, &policy)?;
        Ok(dir.join(&stem))
    }
}

fn remove_run_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_go_to_the_pictures_folder_else_the_data_folder() {
        let (pictures, data) = (
            Path::new("/home/u/Pictures"),
            Path::new("/home/u/.local/share/atelier"),
        );
        assert_eq!(
            Screenshots::default_dir(Some(pictures), Some(data)),
            Some(PathBuf::from("/home/u/Pictures/atelier"))
        );
        assert_eq!(
            Screenshots::default_dir(None, Some(data)),
            Some(PathBuf::from("/home/u/.local/share/atelier/screenshots"))
        );
        assert_eq!(Screenshots::default_dir(None, None), None);
    }
}

//! One training per device and run store: the devices a session's runs
//! train on, locked and signed with the runs (and the log of a detached
//! session) before the first run starts, so another atelier is refused
//! with a message that names who trains what.

use std::path::PathBuf;

use super::{requests::Job, SessionError};
use crate::{
    plan::{DevicePref, RunSpec},
    protocol::RunId,
    store::{DeviceLock, Holder, RunStore},
    train::{device_name, ResolveDevice},
};

/// Tells a detached session where its output goes, for its lock note.
pub const LOG_ENV: &str = "ATELIER_TRAIN_LOG";

/// The devices `jobs` train on, each once: `cpu`, `cuda:0`.
pub fn devices_of(jobs: &[Job]) -> Result<Vec<String>, SessionError> {
    let mut names = Vec::new();
    for job in jobs {
        let device = job
            .spec
            .device
            .resolve()
            .map_err(|error| SessionError::Device {
                run: job.id.to_string(),
                error,
            })?;
        let name = device_name(device);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// The devices of worker slots, each once, each checked to be here.
pub fn devices_of_slots(slots: &[DevicePref]) -> Result<Vec<String>, SessionError> {
    let mut names: Vec<String> = Vec::new();
    for device in slots {
        device.resolve().map_err(|error| SessionError::Device {
            run: format!("--devices {device}"),
            error,
        })?;
        if !names.contains(&device.to_string()) {
            names.push(device.to_string());
        }
    }
    Ok(names)
}

/// Each of `devices` locked and signed by this process for `runs`.
pub fn lock_and_sign(
    store: &RunStore,
    devices: &[String],
    runs: &[RunId],
) -> Result<Vec<DeviceLock>, SessionError> {
    let log = std::env::var_os(LOG_ENV).map(PathBuf::from);
    let mut locks = Vec::new();
    for device in devices {
        let mut lock = store.lock_device(device)?;
        lock.sign(&Holder {
            pid: std::process::id(),
            device: device.clone(),
            runs: runs.to_vec(),
            log: log.clone(),
        })?;
        locks.push(lock);
    }
    Ok(locks)
}

/// Whether each of `devices` is free now (another training may hold one);
/// nothing stays locked.
pub fn check_free(store: &RunStore, devices: &[String]) -> Result<(), SessionError> {
    for device in devices {
        drop(store.lock_device(device)?);
    }
    Ok(())
}

/// The devices an app has trained on, held until it quits, so a detached
/// `train` does not start on them meanwhile (and the other way round).
#[derive(Debug)]
pub struct Claims {
    store: RunStore,
    locks: Vec<(String, DeviceLock)>,
    runs: Vec<RunId>,
}

impl Claims {
    /// No device taken yet.
    pub fn new(store: RunStore) -> Self {
        Self {
            store,
            locks: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Takes the device `spec` trains on, if this app has not yet, and notes
    /// `run` on every lock; an error says who else trains there. A device
    /// that is not here is left to the trainer, which says so when the run
    /// starts.
    pub fn claim(&mut self, spec: &RunSpec, run: &RunId) -> Result<(), SessionError> {
        let Ok(device) = spec.device.resolve() else {
            return Ok(());
        };
        let device = device_name(device);
        if !self.locks.iter().any(|(name, _)| *name == device) {
            let lock = self.store.lock_device(&device)?;
            self.locks.push((device, lock));
        }
        self.runs.push(run.clone());
        for (name, lock) in &mut self.locks {
            lock.sign(&Holder {
                pid: std::process::id(),
                device: name.clone(),
                runs: self.runs.clone(),
                log: None,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lock::read_holder;

    #[test]
    fn a_signed_lock_names_its_runs_and_refuses_a_second_session() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let devices = vec!["cpu".to_string()];
        check_free(&store, &devices).unwrap();
        let locks = lock_and_sign(&store, &devices, &["r1".into()]).unwrap();
        let holder = read_holder(&store.lock_path("cpu")).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.runs, ["r1"]);
        let error = check_free(&store, &devices).unwrap_err().to_string();
        assert!(error.contains("already training on cpu"), "{error}");
        drop(locks);
        check_free(&store, &devices).unwrap();
    }

    #[test]
    fn an_app_claims_each_device_once_and_notes_every_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let mut claims = Claims::new(store.clone());
        let mut spec = crate::plan::seed_plan().runs[0].clone();
        spec.device = DevicePref::Cpu;
        claims.claim(&spec, &"a".into()).unwrap();
        claims.claim(&spec, &"b".into()).unwrap();
        let holder = read_holder(&store.lock_path("cpu")).unwrap();
        assert_eq!(holder.runs, ["a", "b"]);
        assert!(check_free(&store, &["cpu".into()]).is_err());
        drop(claims);
        // A process another test forks holds a copy of the lock's descriptor
        // until it execs (which closes it): give such a moment time to pass.
        let free = (0..50).any(|_| {
            let free = check_free(&store, &["cpu".into()]).is_ok();
            if !free {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            free
        });
        assert!(free, "the lock outlived its claims");
    }
}

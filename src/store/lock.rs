//! One training process per device and run store: a lock file per device
//! in the runs folder, held (an OS file lock) while a `train` runs, and
//! holding a note of who trains what, for the refusal message and for
//! `train --detach`, which waits for its background process to sign it.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use super::{holder::Holder, RunStore, StoreError};

/// A held device lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DeviceLock {
    file: File,
    path: PathBuf,
}

impl RunStore {
    /// The lock file of `device` (`cpu`, `cuda:0`).
    pub fn lock_path(&self, device: &str) -> PathBuf {
        self.dir()
            .join(format!(".train-{}.lock", device.replace([':', '/'], "-")))
    }

    /// Takes `device` for this process, or says who has it.
    pub fn lock_device(&self, device: &str) -> Result<DeviceLock, StoreError> {
        let path = self.lock_path(device);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, "cannot open the device lock", e))?;
        match file.try_lock() {
            Ok(()) => Ok(DeviceLock { file, path }),
            Err(TryLockError::WouldBlock) => Err(StoreError::DeviceBusy {
                device: device.to_string(),
                holder: read_holder(&path).map(Box::new),
                path,
            }),
            Err(TryLockError::Error(e)) => Err(StoreError::io(&path, "cannot lock", e)),
        }
    }
}

impl DeviceLock {
    /// Writes who holds the lock, replacing any earlier note.
    pub fn sign(&mut self, holder: &Holder) -> Result<(), StoreError> {
        let json = serde_json::to_vec(holder).map_err(|e| StoreError::BadRecord {
            path: self.path.clone(),
            problem: e.to_string(),
        })?;
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)).map(drop))
            .and_then(|()| self.file.write_all(&json))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| StoreError::io(&self.path, "cannot write the device lock", e))
    }
}

/// The note in a lock file, if it holds one (a lock being signed may not yet).
pub fn read_holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_device_is_refused_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let mut lock = store.lock_device("cuda:0").unwrap();
        let holder = Holder {
            pid: 42,
            device: "cuda:0".into(),
            runs: vec!["r1".into()],
            log: None,
        };
        lock.sign(&holder).unwrap();
        // Another handle stands for another process: OS file locks are per open file.
        match store.lock_device("cuda:0") {
            Err(StoreError::DeviceBusy {
                holder: Some(found),
                ..
            }) => assert_eq!(*found, holder),
            other => panic!("expected busy, got {other:?}"),
        }
        // Other devices are free, and the lock is free again once dropped.
        drop(store.lock_device("cpu").unwrap());
        drop(lock);
        // A test thread of this process that forks a child at this moment
        // holds a copy of the lock's descriptor until the child's exec
        // closes it: the lock is free again within moments, not at once.
        let again = (0..200).find_map(|_| {
            let lock = store.lock_device("cuda:0").ok();
            if lock.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            lock
        });
        assert!(
            again.is_some(),
            "the lock is still held after it was dropped"
        );
        assert!(store.lock_path("cuda:0").ends_with(".train-cuda-0.lock"));
    }
}

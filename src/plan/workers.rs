//! How many runs train at once, and where: a plan's `[workers]` table and
//! `train --jobs/--devices/--threads` (the flags win over the plan).

use merge::Merge;
use serde::{Deserialize, Serialize};

use super::DevicePref;

/// A number of worker processes, or one per GPU libtorch sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jobs {
    Auto,
    Count(usize),
}

/// Text that is neither a number of workers nor `auto`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected a number of workers (1 or more) or `auto`, found {0:?}")]
pub struct NotJobs(String);

impl std::str::FromStr for Jobs {
    type Err = NotJobs;

    fn from_str(text: &str) -> Result<Self, NotJobs> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Self::Count(n)),
            _ => Err(NotJobs(text.to_string())),
        }
    }
}

/// Where a plan's runs train, when several go at once. The command line's
/// go over the plan's ([`Merge`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Merge)]
pub struct Workers {
    #[merge(strategy = merge::option::overwrite_none)]
    pub jobs: Option<Jobs>,
    /// One run per listed GPU at a time; `cpu` with `jobs` for CPU workers.
    #[serde(default)]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub devices: Vec<DevicePref>,
    /// libtorch CPU threads per worker.
    #[merge(strategy = merge::option::overwrite_none)]
    pub threads: Option<u16>,
}

impl Workers {
    /// Whether anything asks for more than the one in-process trainer.
    pub fn is_parallel(&self) -> bool {
        self.jobs.is_some() || !self.devices.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_read_as_a_count_or_auto_and_flags_win() {
        assert_eq!("auto".parse::<Jobs>(), Ok(Jobs::Auto));
        assert_eq!("3".parse::<Jobs>(), Ok(Jobs::Count(3)));
        assert!("0"
            .parse::<Jobs>()
            .unwrap_err()
            .to_string()
            .contains("\"0\""));
        let plan = Workers {
            jobs: Some(Jobs::Count(2)),
            devices: vec![DevicePref::Cpu],
            threads: Some(1),
        };
        let mut merged = Workers {
            jobs: Some(Jobs::Count(4)),
            ..Workers::default()
        };
        merged.merge(plan);
        assert_eq!(merged.jobs, Some(Jobs::Count(4)));
        assert_eq!(merged.devices, [DevicePref::Cpu]);
        assert_eq!(merged.threads, Some(1));
        assert!(!Workers::default().is_parallel());
    }
}

//! How many runs train at once, and where: a plan's `[workers]` table and
//! `train --jobs/--devices/--threads` (the flags win over the plan).

use serde::{Deserialize, Serialize};

use super::DevicePref;

/// A number of worker processes, or one per GPU libtorch sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jobs {
    Auto,
    Count(usize),
}

impl std::str::FromStr for Jobs {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Self::Count(n)),
            _ => Err(format!(
                "expected a number of workers (1 or more) or `auto`, found {text:?}"
            )),
        }
    }
}

/// Where a plan's runs train, when several go at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workers {
    pub jobs: Option<Jobs>,
    /// One run per listed GPU at a time; `cpu` with `jobs` for CPU workers.
    #[serde(default)]
    pub devices: Vec<DevicePref>,
    /// libtorch CPU threads per worker.
    pub threads: Option<u16>,
}

impl Workers {
    /// These settings with the command line's on top.
    pub fn or_flags(
        &self,
        jobs: Option<Jobs>,
        devices: &[DevicePref],
        threads: Option<u16>,
    ) -> Self {
        Self {
            jobs: jobs.or(self.jobs),
            devices: if devices.is_empty() {
                self.devices.clone()
            } else {
                devices.to_vec()
            },
            threads: threads.or(self.threads),
        }
    }

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
        assert!("0".parse::<Jobs>().unwrap_err().contains("\"0\""));
        let plan = Workers {
            jobs: Some(Jobs::Count(2)),
            devices: vec![DevicePref::Cpu],
            threads: Some(1),
        };
        let merged = plan.or_flags(Some(Jobs::Count(4)), &[], None);
        assert_eq!(merged.jobs, Some(Jobs::Count(4)));
        assert_eq!(merged.devices, [DevicePref::Cpu]);
        assert_eq!(merged.threads, Some(1));
        assert!(!Workers::default().is_parallel());
    }
}

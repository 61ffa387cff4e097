//! Which device a run asks for, written as in `--device`: `auto`, `cpu`,
//! `cuda`, `cuda:N`. Plain data: what the machine has is the trainer's
//! question (`train::device`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A run's device preference, written as in `--device`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DevicePref {
    /// CUDA device 0 when libtorch sees one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N (`cuda` means 0); an error when it does not exist.
    Cuda(usize),
}

/// A device that was asked for but is not there, or a malformed name.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DeviceError {
    #[error("unknown device {0:?}: expected auto, cpu, cuda or cuda:N")]
    Unknown(String),
    #[error("{asked} requested, but libtorch sees {}{hint}", crate::units::count(*.found, "CUDA device"))]
    Unavailable {
        asked: String,
        found: usize,
        hint: &'static str,
    },
}

impl fmt::Display for DevicePref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

impl FromStr for DevicePref {
    type Err = DeviceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceError::Unknown(text.to_string());
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|index| index.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(unknown),
        }
    }
}

impl TryFrom<String> for DevicePref {
    type Error = DeviceError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<DevicePref> for String {
    fn from(pref: DevicePref) -> Self {
        pref.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        assert_eq!("auto".parse(), Ok(DevicePref::Auto));
        assert_eq!("CPU".parse(), Ok(DevicePref::Cpu));
        assert_eq!("cuda".parse(), Ok(DevicePref::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(DevicePref::Cuda(3)));
        let error = "tpu".parse::<DevicePref>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown device \"tpu\": expected auto, cpu, cuda or cuda:N"
        );
        assert!("cuda:x".parse::<DevicePref>().is_err());
    }
}

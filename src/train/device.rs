//! Which device a run asks for (`auto`, `cpu`, `cuda`, `cuda:N`) and what it gets.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use tch::Device;
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
    #[error("{asked} requested, but libtorch sees {found} CUDA device(s){hint}")]
    Unavailable {
        asked: String,
        found: usize,
        hint: &'static str,
    },
}

impl DevicePref {
    /// The concrete device, checked against what libtorch can see.
    pub fn resolve(self) -> Result<Device, DeviceError> {
        let found = tch::Cuda::device_count().max(0) as usize;
        match self {
            Self::Auto if found > 0 => Ok(Device::Cuda(0)),
            Self::Auto | Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(index) if index < found => Ok(Device::Cuda(index)),
            Self::Cuda(_) => Err(DeviceError::Unavailable {
                asked: self.to_string(),
                found,
                hint: match (found, built_with_cuda()) {
                    (0, Some(false)) => " (this atelier was built with a CPU-only libtorch: build it on the GPU machine, or with `make TORCH_FLAVOR=cuda`; or use --device cpu)",
                    (0, _) => " (no NVIDIA driver, or a CPU-only libtorch; use --device cpu)",
                    _ => "",
                },
            }),
        }
    }
}

/// Whether the libtorch this binary links has CUDA: `None` when the build
/// could not tell (a libtorch outside Linux).
pub fn built_with_cuda() -> Option<bool> {
    match env!("ATELIER_LIBTORCH_CUDA") {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// How a device is shown to people and written to logs: `cpu`, `cuda:0`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(index) => format!("cuda:{index}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
        Device::Cpu => "cpu".into(),
    }
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

    #[test]
    fn cpu_always_resolves_and_missing_cuda_is_explained() {
        assert_eq!(DevicePref::Cpu.resolve(), Ok(Device::Cpu));
        let found = tch::Cuda::device_count() as usize;
        let error = DevicePref::Cuda(found).resolve().unwrap_err();
        assert!(error.to_string().starts_with(&format!(
            "cuda:{found} requested, but libtorch sees {found}"
        )));
        // A binary built against a CPU-only libtorch says so, not "no driver".
        if found == 0 && built_with_cuda() == Some(false) {
            assert!(error.to_string().contains("built with a CPU-only libtorch"));
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_build_knows_whether_its_libtorch_has_cuda() {
        // Touch libtorch so it is loaded, then ask the loader what it mapped.
        let _ = tch::Cuda::device_count();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mapped = maps.contains("libtorch_cuda.so");
        assert_eq!(
            built_with_cuda(),
            Some(mapped),
            "libtorch_cuda.so mapped: {mapped}"
        );
    }
}

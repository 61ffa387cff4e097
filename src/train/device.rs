//! What a run's device preference gets on this machine: the CUDA query,
//! and device names for people and logs.

use tch::Device;

pub use crate::plan::{DeviceError, DevicePref};

/// Resolves a [`DevicePref`] against what libtorch can see.
pub trait ResolveDevice {
    /// The concrete device, checked against what libtorch can see.
    fn resolve(self) -> Result<Device, DeviceError>;
}

impl ResolveDevice for DevicePref {
    fn resolve(self) -> Result<Device, DeviceError> {
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

/// The version of the libtorch this binary was built against (`unknown`
/// when the build could not read it).
pub fn libtorch_version() -> &'static str {
    env!("ATELIER_LIBTORCH_VERSION")
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

#[cfg(test)]
mod tests {
    use super::*;

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

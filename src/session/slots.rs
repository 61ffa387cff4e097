//! Where the runs of `train --jobs N` / `--devices LIST` train at once:
//! one slot per listed GPU (a GPU trains one run at a time), or N CPU
//! workers splitting the cores, each slot with its share of CPU threads.

use crate::plan::{DevicePref, Jobs, Workers};

/// One place a run can train: a device, and the CPU threads a worker there gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub device: DevicePref,
    pub threads: usize,
}

/// Worker settings this machine cannot honour, naming the flag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("--jobs {jobs}: libtorch sees {}, and a GPU trains one run at a time; use --jobs {gpus} or fewer (or --devices cpu)", crate::units::count(*.gpus, "GPU"))]
    MoreJobsThanGpus { jobs: usize, gpus: usize },
    #[error("--devices lists devices to use (cpu, cuda:0, …); `auto` is not one")]
    AutoListed,
    #[error("--devices names {0} twice; a GPU trains one run at a time")]
    GpuTwice(DevicePref),
}

/// The slots `workers` ask for, when they ask for more than one: `gpus` is
/// how many GPUs libtorch sees, `cores` this machine's CPUs. `None` means
/// one trainer in this process.
pub fn plan(workers: &Workers, gpus: usize, cores: usize) -> Result<Option<Vec<Slot>>, SlotError> {
    if !workers.is_parallel() {
        return Ok(None);
    }
    let mut slots = slots(workers.jobs, &workers.devices, gpus, cores)?;
    if let Some(threads) = workers.threads {
        for slot in &mut slots {
            slot.threads = usize::from(threads);
        }
    }
    Ok((slots.len() > 1).then_some(slots))
}

/// The slots for `--jobs` and `--devices`: one per listed GPU (at most one
/// run per GPU), or `jobs` CPU workers splitting the cores.
pub fn slots(
    jobs: Option<Jobs>,
    devices: &[DevicePref],
    gpus: usize,
    cores: usize,
) -> Result<Vec<Slot>, SlotError> {
    let listed = if devices.is_empty() {
        from_jobs(jobs, gpus)?
    } else {
        from_devices(jobs, devices)?
    };
    let cpu_workers = listed.iter().filter(|d| **d == DevicePref::Cpu).count();
    let gpu_workers = listed.len() - cpu_workers;
    // A GPU worker still needs a core to feed its GPU; the rest go to CPU workers.
    let cpu_share = (cores.saturating_sub(gpu_workers) / cpu_workers.max(1)).max(1);
    let gpu_share = (cores / listed.len().max(1)).max(1);
    Ok(listed
        .into_iter()
        .map(|device| Slot {
            device,
            threads: if device == DevicePref::Cpu {
                cpu_share
            } else {
                gpu_share
            },
        })
        .collect())
}

/// `--jobs` alone: every GPU (or N of them), else N CPU workers.
fn from_jobs(jobs: Option<Jobs>, gpus: usize) -> Result<Vec<DevicePref>, SlotError> {
    Ok(match jobs {
        Some(Jobs::Auto) if gpus > 0 => (0..gpus).map(DevicePref::Cuda).collect(),
        Some(Jobs::Count(n)) if gpus > 0 => {
            if n > gpus {
                return Err(SlotError::MoreJobsThanGpus { jobs: n, gpus });
            }
            (0..n).map(DevicePref::Cuda).collect()
        }
        Some(Jobs::Count(n)) => vec![DevicePref::Cpu; n],
        Some(Jobs::Auto) | None => vec![DevicePref::Cpu],
    })
}

/// `--devices`: each GPU once; `cpu` as many times as `--jobs` says.
fn from_devices(jobs: Option<Jobs>, devices: &[DevicePref]) -> Result<Vec<DevicePref>, SlotError> {
    let mut unique = Vec::new();
    for device in devices {
        if *device == DevicePref::Auto {
            return Err(SlotError::AutoListed);
        }
        if unique.contains(device) && *device != DevicePref::Cpu {
            return Err(SlotError::GpuTwice(*device));
        }
        unique.push(*device);
    }
    let cpu_workers = match jobs {
        Some(Jobs::Count(n)) => n,
        _ => 1,
    };
    Ok(unique
        .into_iter()
        .flat_map(|device| match device {
            DevicePref::Cpu => vec![device; cpu_workers],
            _ => vec![device],
        })
        .collect())
}

/// `2 × cpu (1 thread each)`, `cuda:0, cuda:1`.
pub fn describe(slots: &[Slot]) -> String {
    let cpu: Vec<&Slot> = slots
        .iter()
        .filter(|s| s.device == DevicePref::Cpu)
        .collect();
    let mut parts: Vec<String> = slots
        .iter()
        .filter(|s| s.device != DevicePref::Cpu)
        .map(|s| s.device.to_string())
        .collect();
    if let Some(first) = cpu.first() {
        parts.push(format!(
            "{} × cpu ({} each)",
            cpu.len(),
            crate::units::count(first.threads, "thread")
        ));
    }
    parts.join(", ")
}

/// This machine's CPUs, as the OS offers them to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(threads: usize) -> Slot {
        Slot {
            device: DevicePref::Cpu,
            threads,
        }
    }

    #[test]
    fn cpu_workers_split_the_cores_and_gpus_take_one_run_each() {
        assert_eq!(
            slots(Some(Jobs::Count(2)), &[], 0, 2).unwrap(),
            vec![cpu(1), cpu(1)]
        );
        assert_eq!(
            slots(Some(Jobs::Count(3)), &[], 0, 16).unwrap(),
            vec![cpu(5), cpu(5), cpu(5)]
        );
        assert_eq!(slots(Some(Jobs::Auto), &[], 0, 8).unwrap(), vec![cpu(8)]);
        let gpus = slots(Some(Jobs::Auto), &[], 4, 16).unwrap();
        assert_eq!(
            gpus.iter().map(|s| s.device).collect::<Vec<_>>(),
            (0..4).map(DevicePref::Cuda).collect::<Vec<_>>()
        );
        assert!(gpus.iter().all(|s| s.threads == 4));
        let listed = slots(None, &[DevicePref::Cuda(1), DevicePref::Cpu], 2, 4).unwrap();
        assert_eq!(listed[0].device, DevicePref::Cuda(1));
        assert_eq!(listed[1], cpu(3));
        assert_eq!(describe(&listed), "cuda:1, 1 × cpu (3 threads each)");
    }

    #[test]
    fn impossible_worker_counts_are_refused_with_the_flag() {
        let error = slots(Some(Jobs::Count(3)), &[], 2, 8)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--jobs 3") && error.contains("sees 2 GPU"),
            "{error}"
        );
        let error = slots(None, &[DevicePref::Cuda(0), DevicePref::Cuda(0)], 2, 8)
            .unwrap_err()
            .to_string();
        assert!(error.contains("names cuda:0 twice"), "{error}");
    }

    #[test]
    fn one_slot_is_no_parallel_session_and_threads_are_set_by_the_flag() {
        assert_eq!(plan(&Workers::default(), 0, 8).unwrap(), None);
        let one = Workers {
            jobs: Some(Jobs::Count(1)),
            ..Workers::default()
        };
        assert_eq!(plan(&one, 0, 8).unwrap(), None);
        let two = Workers {
            jobs: Some(Jobs::Count(2)),
            threads: Some(3),
            ..Workers::default()
        };
        assert_eq!(plan(&two, 0, 8).unwrap(), Some(vec![cpu(3), cpu(3)]));
    }
}

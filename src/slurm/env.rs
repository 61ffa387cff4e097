//! What a process learns from Slurm's environment: which job and array task
//! it is, how often it was requeued, where it runs and with what; and
//! whether a runs folder is one that compute nodes would not see.

use std::path::{Path, PathBuf};

use super::SlurmError;

/// Set in every Slurm job (and in its steps).
const JOB_ID: &str = "SLURM_JOB_ID";
const ARRAY_JOB_ID: &str = "SLURM_ARRAY_JOB_ID";
const ARRAY_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
const RESTART_COUNT: &str = "SLURM_RESTART_COUNT";
const NODE_NAME: &str = "SLURMD_NODENAME";
const CPUS_PER_TASK: &str = "SLURM_CPUS_PER_TASK";
/// Where the GPUs a task got are named, in the order they are looked at.
const GPU_VARS: [&str; 3] = ["SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "CUDA_VISIBLE_DEVICES"];
/// Folders that are local to each node on nearly every cluster.
const NODE_LOCAL_DIRS: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// A Slurm task's view of itself; all `None` outside Slurm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmEnv {
    /// `SLURM_JOB_ID`: the job this process runs in (a task's own id).
    pub job_id: Option<String>,
    /// `SLURM_ARRAY_JOB_ID`: the array's job id.
    pub array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`: this task's index in the array.
    pub array_task_id: Option<usize>,
    /// `SLURM_RESTART_COUNT`: how often the job was requeued (0 if unset).
    pub restart_count: u32,
    /// `SLURMD_NODENAME`, else this machine's host name.
    pub node: String,
    /// The GPUs given (`SLURM_JOB_GPUS`, `SLURM_STEP_GPUS` or `CUDA_VISIBLE_DEVICES`), as given.
    pub gpus: Option<String>,
    /// `SLURM_CPUS_PER_TASK`.
    pub cpus: Option<u32>,
}

impl SlurmEnv {
    /// Reads the variables through `get` (empty values count as unset).
    pub fn from(get: impl Fn(&str) -> Option<String>) -> Result<Self, SlurmError> {
        let get = |var: &str| get(var).filter(|value| !value.trim().is_empty());
        Ok(Self {
            job_id: get(JOB_ID),
            array_job_id: get(ARRAY_JOB_ID),
            array_task_id: number(ARRAY_TASK_ID, get(ARRAY_TASK_ID), "an array task index")?,
            restart_count: number(RESTART_COUNT, get(RESTART_COUNT), "a count")?.unwrap_or(0),
            node: get(NODE_NAME).unwrap_or_else(hostname),
            gpus: GPU_VARS.iter().find_map(|var| get(var)),
            cpus: number(CPUS_PER_TASK, get(CPUS_PER_TASK), "a number of CPUs")?,
        })
    }

    /// Reads this process's environment.
    pub fn current() -> Result<Self, SlurmError> {
        Self::from(|var| std::env::var(var).ok())
    }

    /// The array task index, which `atelier slurm task` cannot do without.
    pub fn task_index(&self) -> Result<usize, SlurmError> {
        self.array_task_id.ok_or(SlurmError::MissingEnv {
            var: ARRAY_TASK_ID,
            expected: "to run as a task of the job array that `atelier slurm submit` sends",
        })
    }
}

/// `value` of `var` as a number, if set.
fn number<T: std::str::FromStr>(
    var: &'static str,
    value: Option<String>,
    expected: &'static str,
) -> Result<Option<T>, SlurmError> {
    value
        .map(|text| {
            text.trim().parse().map_err(|_| SlurmError::BadEnv {
                var,
                value: text.clone(),
                expected,
            })
        })
        .transpose()
}

/// This machine's name, for tasks started outside `slurmd`.
fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let from_libc = (status == 0)
        .then(|| {
            let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
            String::from_utf8_lossy(&buffer[..end]).into_owned()
        })
        .filter(|name| !name.is_empty());
    from_libc
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Whether this process runs inside a Slurm job.
pub fn inside_slurm() -> bool {
    std::env::var_os(JOB_ID).is_some_and(|id| !id.is_empty())
}

/// A warning when `runs_dir` looks local to this node (under `/tmp`,
/// `/var/tmp`, `/dev/shm`, or on a tmpfs), where compute nodes would not see it.
pub fn node_local_warning(runs_dir: &Path) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let path = resolved(runs_dir);
    let why = node_local_reason(&path, &mounts)?;
    Some(format!(
        "the runs folder {} looks local to this node ({why}): Slurm's compute nodes \
         would not see the runs in it; pass --runs-dir (or set ATELIER_RUNS) to a folder \
         on a shared file system",
        path.display()
    ))
}

/// Why `path` looks node-local, given `/proc/mounts` as `mounts`.
fn node_local_reason(path: &Path, mounts: &str) -> Option<String> {
    if let Some(dir) = NODE_LOCAL_DIRS.iter().find(|dir| path.starts_with(dir)) {
        return Some(format!("it is under {dir}"));
    }
    let (point, fstype) = mounts
        .lines()
        .filter_map(mount_of)
        .filter(|(point, _)| path.starts_with(point))
        .max_by_key(|(point, _)| point.components().count())?;
    ["tmpfs", "ramfs"]
        .contains(&fstype)
        .then(|| format!("it is on a {fstype} mounted at {}", point.display()))
}

/// The mount point and file system type of a `/proc/mounts` line, whose
/// fields escape spaces and such as octal (`\040`).
fn mount_of(line: &str) -> Option<(PathBuf, &str)> {
    let mut fields = line.split_whitespace();
    let _device = fields.next()?;
    let point = fields.next()?;
    let fstype = fields.next()?;
    Some((PathBuf::from(unescape_octal(point)), fstype))
}

fn unescape_octal(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        if let Some(byte) = code {
            out.push(char::from(byte));
            rest = &rest[at + 4..];
        } else {
            out.push('\\');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `path` made absolute, with symbolic links resolved as far as it exists
/// (the runs folder may not exist yet; `/tmp` may be a link elsewhere).
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for ancestor in absolute.ancestors() {
        if let Ok(real) = ancestor.canonicalize() {
            let rest = absolute.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return real.join(rest);
        }
    }
    absolute
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> Result<SlurmEnv, SlurmError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SlurmEnv::from(|var| vars.get(var).cloned())
    }

    #[test]
    fn a_task_reads_its_job_index_node_and_devices() {
        let env = env_of(&[
            ("SLURM_JOB_ID", "8"),
            ("SLURM_ARRAY_JOB_ID", "7"),
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_RESTART_COUNT", "2"),
            ("SLURMD_NODENAME", "node7"),
            ("SLURM_STEP_GPUS", "0,1"),
            ("CUDA_VISIBLE_DEVICES", "5"),
            ("SLURM_CPUS_PER_TASK", "8"),
        ])
        .unwrap();
        assert_eq!(env.job_id.as_deref(), Some("8"));
        assert_eq!(env.array_job_id.as_deref(), Some("7"));
        assert_eq!(env.task_index().unwrap(), 3);
        assert_eq!((env.restart_count, env.node.as_str()), (2, "node7"));
        assert_eq!((env.gpus.as_deref(), env.cpus), (Some("0,1"), Some(8)));
    }

    #[test]
    fn outside_slurm_there_is_no_index_but_a_host_name() {
        let env = env_of(&[("SLURM_ARRAY_TASK_ID", "")]).unwrap();
        assert_eq!(
            (env.job_id, env.array_task_id, env.restart_count),
            (None, None, 0)
        );
        assert!(!env.node.is_empty());
        let missing = env_of(&[]).unwrap().task_index().unwrap_err().to_string();
        assert!(
            missing.starts_with("SLURM_ARRAY_TASK_ID is not set"),
            "{missing}"
        );
    }

    #[test]
    fn a_variable_that_is_no_number_is_named() {
        let bad = env_of(&[("SLURM_ARRAY_TASK_ID", "3-5")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            bad,
            "SLURM_ARRAY_TASK_ID is \"3-5\"; expected an array task index"
        );
        let bad = env_of(&[("SLURM_RESTART_COUNT", "x")])
            .unwrap_err()
            .to_string();
        assert!(bad.starts_with("SLURM_RESTART_COUNT is \"x\""), "{bad}");
    }

    const MOUNTS: &str = "\
/dev/sda1 / ext4 rw 0 0
tmpfs /run tmpfs rw 0 0
nfs:/home /home nfs4 rw 0 0
tmpfs /home/scratch\\040space tmpfs rw 0 0
";

    #[test]
    fn node_local_folders_are_told_from_shared_ones() {
        let reason = |path: &str| node_local_reason(Path::new(path), MOUNTS);
        assert_eq!(reason("/tmp/runs").as_deref(), Some("it is under /tmp"));
        assert!(reason("/dev/shm/x").is_some());
        assert_eq!(
            reason("/home/scratch space/runs").as_deref(),
            Some("it is on a tmpfs mounted at /home/scratch space")
        );
        assert!(reason("/run/user/runs").is_some());
        assert_eq!(reason("/home/ana/runs"), None);
        assert_eq!(reason("/tmpfoo/runs"), None);
        assert_eq!(reason("/srv/runs"), None);
    }

    #[test]
    fn the_warning_names_the_folder_and_the_way_out() {
        let warning = node_local_warning(Path::new("/tmp/atelier-runs")).unwrap();
        assert!(warning.contains("atelier-runs"), "{warning}");
        assert!(warning.contains("--runs-dir"), "{warning}");
        assert_eq!(unescape_octal(r"a\040b\x"), r"a b\x");
    }
}

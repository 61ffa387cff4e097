//! The job script of a submission: a bash script a user could have written,
//! with the resources as `#SBATCH` lines and one `exec atelier … slurm task`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{SlurmError, TASK_SIGNAL_LEAD_SECS};

/// What each array task asks Slurm for; `None` leaves it to the cluster's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`, a Slurm time string such as `2:00:00`.
    pub time: Option<String>,
    /// `--gpus-per-task`.
    pub gpus_per_task: Option<u32>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks at once (`--array=…%K`).
    pub max_parallel: Option<u32>,
    /// Seconds before the limit at which the task gets USR1.
    pub signal_lead_secs: u32,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            partition: None,
            time: None,
            gpus_per_task: None,
            cpus_per_task: None,
            max_parallel: None,
            signal_lead_secs: TASK_SIGNAL_LEAD_SECS,
        }
    }
}

impl Resources {
    /// Checks what sbatch would refuse only after the runs exist: a time
    /// that is not a Slurm time, and a parallelism of 0.
    pub fn validate(&self) -> Result<(), SlurmError> {
        if let Some(time) = &self.time {
            if !is_slurm_time(time) {
                return Err(SlurmError::BadTime {
                    value: time.clone(),
                });
            }
        }
        if self.max_parallel == Some(0) {
            return Err(SlurmError::ZeroMaxParallel);
        }
        Ok(())
    }
}

/// Everything one job script says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    /// `--job-name`; characters Slurm tools show badly become `_`.
    pub job_name: String,
    /// The array task indices (positions in the submission's runs).
    pub indices: Vec<usize>,
    /// The submission folder, handed to `atelier slurm task`.
    pub submission_dir: PathBuf,
    /// Where Slurm writes each task's output.
    pub log_dir: PathBuf,
    /// The atelier executable the tasks run.
    pub atelier: PathBuf,
    /// The shared runs folder.
    pub runs_dir: PathBuf,
    /// A Fashion-MNIST folder to pass as `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// Lines pasted verbatim before atelier starts (`module load …`).
    pub prologue: Option<String>,
    /// What each task asks for.
    pub resources: Resources,
}

/// The job script for `spec`, or why sbatch would refuse it.
pub fn render(spec: &ScriptSpec) -> Result<String, SlurmError> {
    spec.resources.validate()?;
    if spec.indices.is_empty() {
        return Err(SlurmError::NoTasks);
    }
    let mut script = header(spec);
    script.push_str(&directives(spec)?);
    if let Some(prologue) = spec.prologue.as_deref().filter(|p| !p.trim().is_empty()) {
        script.push('\n');
        script.push_str(prologue.trim_end());
        script.push('\n');
    }
    script.push_str("\n# exec: atelier takes this shell's place, so the USR1 that\n");
    script.push_str("# --signal=B: sends the batch shell reaches atelier itself.\n");
    script.push_str(&exec_line(spec));
    Ok(script)
}

fn header(spec: &ScriptSpec) -> String {
    let runs = shell_quote(&spec.runs_dir);
    let id = spec
        .submission_dir
        .file_name()
        .map_or_else(|| shell_quote(&spec.submission_dir), shell_quote);
    let atelier = format!("atelier --runs-dir {runs} slurm");
    format!(
        "#!/bin/bash\n\
         # Written by `atelier slurm submit`: one Slurm job array, one task per run.\n\
         # Each task runs `atelier slurm task`, which picks its run by\n\
         # SLURM_ARRAY_TASK_ID from {}.\n\
         #   status:   {atelier} status {id}\n\
         #   cancel:   {atelier} cancel {id}  (or scancel its job ids)\n\
         #   resubmit: {atelier} resubmit {id}  (the runs that did not finish)\n",
        shell_quote(spec.submission_dir.join(super::submission::SUBMISSION_FILE))
    )
}

fn directives(spec: &ScriptSpec) -> Result<String, SlurmError> {
    let resources = &spec.resources;
    let mut lines = vec![
        format!("--job-name={}", job_name(&spec.job_name)),
        format!(
            "--array={}",
            array_spec(&spec.indices, resources.max_parallel)
        ),
        format!("--output={}", output_pattern(&spec.log_dir)?),
        "--open-mode=append".to_string(),
        "--requeue".to_string(),
        format!("--signal=B:USR1@{}", resources.signal_lead_secs),
    ];
    let optional = [
        ("time", resources.time.clone()),
        // A partition may be a list (`gpu,gpu-long`).
        (
            "partition",
            resources
                .partition
                .as_deref()
                .map(|p| directive_word(p, "._-,")),
        ),
        (
            "cpus-per-task",
            resources.cpus_per_task.map(|n| n.to_string()),
        ),
        (
            "gpus-per-task",
            resources.gpus_per_task.map(|n| n.to_string()),
        ),
    ];
    lines.extend(
        optional
            .into_iter()
            .filter_map(|(flag, value)| value.map(|value| format!("--{flag}={value}"))),
    );
    Ok(lines.iter().fold(String::new(), |mut text, line| {
        let _ = writeln!(text, "#SBATCH {line}");
        text
    }))
}

fn exec_line(spec: &ScriptSpec) -> String {
    let mut line = format!(
        "exec {} --runs-dir {}",
        shell_quote(&spec.atelier),
        shell_quote(&spec.runs_dir)
    );
    if let Some(data) = &spec.data_dir {
        let _ = write!(line, " --data-dir {}", shell_quote(data));
    }
    let _ = writeln!(
        line,
        " slurm task --submission {}",
        shell_quote(&spec.submission_dir)
    );
    line
}

/// `--array`'s value: the ranges of `indices`, then `%K` when at most K may run at once.
pub fn array_spec(indices: &[usize], max_parallel: Option<u32>) -> String {
    let ranges = array_ranges(indices);
    match max_parallel {
        Some(k) => format!("{ranges}%{k}"),
        None => ranges,
    }
}

/// `[0, 1, 2, 3, 7, 9, 10]` → `0-3,7,9-10` (in any order, repeats ignored).
pub fn array_ranges(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for index in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == index => *end = index,
            _ => ranges.push((index, index)),
        }
    }
    ranges
        .iter()
        .map(|&(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `text` is one of Slurm's time forms (`M`, `M:S`, `H:M:S`, `D-H`,
/// `D-H:M`, `D-H:M:S`) or its words for no limit.
fn is_slurm_time(text: &str) -> bool {
    if ["infinite", "unlimited"].contains(&text.to_ascii_lowercase().as_str()) {
        return true;
    }
    let (days, clock) = match text.split_once('-') {
        Some((days, clock)) => (Some(days), clock),
        None => (None, text),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    // With days, the clock part is H, H:M or H:M:S; without, M, M:S or H:M:S.
    days.is_none_or(is_number) && parts.len() <= 3 && parts.iter().all(|part| is_number(part))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// A job name as one `#SBATCH` word (sbatch splits directives on spaces).
fn job_name(name: &str) -> String {
    let cleaned = directive_word(name, "._-");
    if cleaned.is_empty() {
        "atelier".to_string()
    } else {
        cleaned
    }
}

/// `text` with anything but letters, digits and `keep` turned into `_`.
fn directive_word(text: &str, keep: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || keep.contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `--output`'s value: `<log_dir>/%A_%a.out`, double-quoted (sbatch reads
/// quotes in directives) with the folder's own `%` doubled so Slurm leaves it.
fn output_pattern(log_dir: &Path) -> Result<String, SlurmError> {
    let unsafe_dir = || SlurmError::UnsafeLogDir {
        path: log_dir.to_path_buf(),
    };
    let dir = log_dir.to_str().ok_or_else(unsafe_dir)?;
    if dir.contains(['\n', '\r', '"']) {
        return Err(unsafe_dir());
    }
    let pattern = format!("{}/%A_%a.out", dir.trim_end_matches('/').replace('%', "%%"));
    if pattern.contains(char::is_whitespace) {
        Ok(format!("\"{pattern}\""))
    } else {
        Ok(pattern)
    }
}

/// `path` as one bash word: bare when it is plain, else single-quoted, else
/// (not UTF-8) as `$'…'` with its odd bytes escaped.
fn shell_quote(path: impl AsRef<std::ffi::OsStr>) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_ref().as_bytes();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("'{}'", text.replace('\'', r"'\''")),
        Err(_) => ansi_c_quote(bytes),
    }
}

fn ansi_c_quote(bytes: &[u8]) -> String {
    let mut quoted = String::from("$'");
    for &byte in bytes {
        match byte {
            b'\'' | b'\\' => {
                quoted.push('\\');
                quoted.push(byte as char);
            }
            0x20..=0x7e => quoted.push(byte as char),
            _ => {
                let _ = write!(quoted, "\\x{byte:02x}");
            }
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ScriptSpec {
        ScriptSpec {
            job_name: "atelier-seed".into(),
            indices: vec![0, 1, 2, 3, 7, 9, 10],
            submission_dir: "/shared/runs/slurm/20261202-063000-seed".into(),
            log_dir: "/shared/runs/slurm/20261202-063000-seed/logs".into(),
            atelier: "/opt/atelier/bin/atelier".into(),
            runs_dir: "/shared/runs".into(),
            data_dir: None,
            prologue: None,
            resources: Resources::default(),
        }
    }

    #[test]
    fn indices_compress_into_ranges() {
        assert_eq!(array_ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(array_ranges(&[10, 9, 3, 3, 0, 1, 2, 7]), "0-3,7,9-10");
        assert_eq!(array_ranges(&[5]), "5");
        assert_eq!(array_ranges(&[]), "");
        assert_eq!(array_spec(&[0, 1, 4], Some(2)), "0-1,4%2");
    }

    #[test]
    fn slurm_time_forms_are_told_from_others() {
        for good in [
            "90",
            "90:30",
            "2:00:00",
            "1-12",
            "1-12:30",
            "1-12:30:00",
            "UNLIMITED",
        ] {
            assert!(is_slurm_time(good), "{good}");
        }
        for bad in [
            "",
            "2h",
            "1:2:3:4",
            "1-",
            "-5",
            "1-2:3:4:5",
            "1:",
            "1.5",
            "1-2-3",
        ] {
            assert!(!is_slurm_time(bad), "{bad}");
        }
    }

    #[test]
    fn bad_resources_name_their_flag() {
        let mut bad = spec();
        bad.resources.time = Some("2h".into());
        let message = render(&bad).unwrap_err().to_string();
        assert!(message.contains("--time \"2h\""), "{message}");
        bad.resources.time = None;
        bad.resources.max_parallel = Some(0);
        assert!(render(&bad)
            .unwrap_err()
            .to_string()
            .contains("--max-parallel"));
        let mut empty = spec();
        empty.indices.clear();
        assert!(matches!(render(&empty), Err(SlurmError::NoTasks)));
    }

    #[test]
    fn the_script_asks_for_what_was_set_and_execs_atelier() {
        let mut full = spec();
        full.data_dir = Some("/shared/fashion mnist".into());
        full.prologue = Some("module load cuda/12.4\n".into());
        full.resources = Resources {
            partition: Some("gpu".into()),
            time: Some("2:00:00".into()),
            gpus_per_task: Some(1),
            cpus_per_task: Some(8),
            max_parallel: Some(4),
            signal_lead_secs: 90,
        };
        let script = render(&full).unwrap();
        let sbatch: Vec<&str> = script
            .lines()
            .filter_map(|line| line.strip_prefix("#SBATCH "))
            .collect();
        assert_eq!(
            sbatch,
            [
                "--job-name=atelier-seed",
                "--array=0-3,7,9-10%4",
                "--output=/shared/runs/slurm/20261202-063000-seed/logs/%A_%a.out",
                "--open-mode=append",
                "--requeue",
                "--signal=B:USR1@90",
                "--time=2:00:00",
                "--partition=gpu",
                "--cpus-per-task=8",
                "--gpus-per-task=1",
            ]
        );
        let module = script.find("module load cuda/12.4").unwrap();
        let exec = script.find("\nexec ").unwrap();
        assert!(script.rfind("#SBATCH").unwrap() < module && module < exec);
        assert!(script.ends_with(
            "exec /opt/atelier/bin/atelier --runs-dir /shared/runs --data-dir '/shared/fashion mnist' \
             slurm task --submission /shared/runs/slurm/20261202-063000-seed\n"
        ));
        assert!(script.contains("slurm cancel 20261202-063000-seed"));
    }

    #[test]
    fn unset_resources_leave_no_directive() {
        let script = render(&spec()).unwrap();
        for flag in [
            "--time",
            "--partition",
            "--cpus-per-task",
            "--gpus-per-task",
        ] {
            assert!(!script.contains(flag), "{flag} in\n{script}");
        }
        assert!(script.contains("#SBATCH --array=0-3,7,9-10\n"));
    }

    #[test]
    fn paths_are_quoted_for_bash_and_for_sbatch() {
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(shell_quote("/a/b-c_1.2"), "/a/b-c_1.2");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(shell_quote(""), "''");
        let odd = std::ffi::OsStr::from_bytes(b"/a/\xff'b");
        assert_eq!(shell_quote(odd), r"$'/a/\xff\'b'");
        assert_eq!(
            output_pattern(Path::new("/logs 50%/")).unwrap(),
            "\"/logs 50%%/%A_%a.out\""
        );
        let bad = output_pattern(Path::new("/a\nb")).unwrap_err();
        assert!(bad.to_string().contains("#SBATCH"));
        assert_eq!(job_name("my sweep/1"), "my_sweep_1");
        assert_eq!(directive_word("gpu,long q", "._-,"), "gpu,long_q");
        assert_eq!(job_name(""), "atelier");
    }
}

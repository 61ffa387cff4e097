//! Running Slurm's tools: `sbatch`, `squeue`, `scancel`, `scontrol requeue`.
//! Each failure says which tool, and shows what the tool itself said.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::queue::{parse_squeue, TaskState, SQUEUE_FORMAT};
use super::SlurmError;

/// Environment variable naming a folder to take the Slurm tools from
/// instead of PATH (a wrapper folder, or fakes in tests).
pub const BIN_ENV: &str = "ATELIER_SLURM_BIN";

/// What squeue says when every job asked about has left its memory
/// (`MinJobAge` after it ended); with several ids it says nothing instead.
const GONE_JOBS: &str = "Invalid job id specified";

/// Where the Slurm tools are found: PATH, or one folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tools {
    bin: Option<PathBuf>,
}

impl Tools {
    /// The tools in `bin`, or on PATH when `None`.
    pub fn in_folder(bin: Option<PathBuf>) -> Self {
        Self { bin }
    }

    /// The tools in [`BIN_ENV`]'s folder if it is set, else on PATH.
    pub fn from_env() -> Self {
        Self::from_var(std::env::var_os(BIN_ENV))
    }

    fn from_var(value: Option<OsString>) -> Self {
        Self::in_folder(value.filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    /// Whether `tool` can be run, checked before anything is created for a
    /// submission that would then fail for want of it.
    pub fn check(&self, tool: &str) -> Result<(), SlurmError> {
        let found = match &self.bin {
            Some(bin) => bin.join(tool).is_file(),
            None => std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(tool).is_file())
            }),
        };
        if found {
            return Ok(());
        }
        let tool = tool.to_string();
        Err(match &self.bin {
            Some(bin) => SlurmError::NotInBin {
                program: bin.join(&tool),
                tool,
            },
            None => SlurmError::NotOnPath { tool },
        })
    }

    /// Submits `script` from `cwd`; the job id (`123` from `123` or `123;cluster`).
    pub fn sbatch(&self, script: &Path, cwd: &Path) -> Result<String, SlurmError> {
        let out = self.run("sbatch", &["--parsable".as_ref(), script.as_os_str()], cwd)?;
        job_id_of(&out)
    }

    /// Submits `script` for the tasks `array` (an `--array` value, see
    /// [`super::array_spec`]) instead of its own `#SBATCH --array`: a
    /// resubmission of some runs reuses the first job's script.
    pub fn sbatch_array(
        &self,
        script: &Path,
        cwd: &Path,
        array: &str,
    ) -> Result<String, SlurmError> {
        let flag = format!("--array={array}");
        let args = ["--parsable".as_ref(), flag.as_ref(), script.as_os_str()];
        job_id_of(&self.run("sbatch", &args, cwd)?)
    }

    /// The tasks of `job_ids` that Slurm still knows, finished ones included;
    /// no ids, no call.
    pub fn squeue(&self, job_ids: &[String]) -> Result<Vec<TaskState>, SlurmError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = job_ids.join(",");
        let args = ["-h", "-r", "-t", "all", "-j", &ids, "-o", SQUEUE_FORMAT];
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        match self.run("squeue", &args, Path::new(".")) {
            Ok(out) => parse_squeue(&out),
            Err(SlurmError::Refused { stderr, .. }) if stderr.contains(GONE_JOBS) => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// Cancels `ids` (jobs, or `<job>_<index>` tasks); no ids, no call.
    pub fn scancel(&self, ids: &[String]) -> Result<(), SlurmError> {
        if ids.is_empty() {
            return Ok(());
        }
        let args: Vec<&OsStr> = ids.iter().map(OsStr::new).collect();
        self.run("scancel", &args, Path::new(".")).map(drop)
    }

    /// Puts task `job_task` (`<job>_<index>`) back in the queue.
    pub fn requeue(&self, job_task: &str) -> Result<(), SlurmError> {
        let args = ["requeue".as_ref(), job_task.as_ref()];
        self.run("scontrol", &args, Path::new(".")).map(drop)
    }

    /// Runs `tool` with `args` in `cwd`; its standard output.
    fn run(&self, tool: &str, args: &[&OsStr], cwd: &Path) -> Result<String, SlurmError> {
        let program = self
            .bin
            .as_ref()
            .map_or_else(|| PathBuf::from(tool), |bin| bin.join(tool));
        let output = Command::new(&program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| self.spawn_error(tool, program, error))?;
        if !output.status.success() {
            // Some tools print their complaint on stdout.
            let said = if output.stderr.is_empty() {
                &output.stdout
            } else {
                &output.stderr
            };
            return Err(SlurmError::Refused {
                command: command_line(tool, args),
                code: output.status.code(),
                stderr: String::from_utf8_lossy(said).trim().to_string(),
            });
        }
        String::from_utf8(output.stdout).map_err(|e| SlurmError::BadOutput {
            tool: tool.to_string(),
            expected: "UTF-8 text",
            found: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn spawn_error(&self, tool: &str, program: PathBuf, error: std::io::Error) -> SlurmError {
        let tool = tool.to_string();
        match (error.kind(), &self.bin) {
            (std::io::ErrorKind::NotFound, None) => SlurmError::NotOnPath { tool },
            (std::io::ErrorKind::NotFound, Some(_)) => SlurmError::NotInBin { tool, program },
            _ => SlurmError::Spawn { tool, error },
        }
    }
}

/// The job id in `sbatch --parsable`'s output: `123` or `123;cluster`.
fn job_id_of(out: &str) -> Result<String, SlurmError> {
    // The id is the last line; anything before it is a warning.
    let last = out.trim().lines().last().unwrap_or_default().trim();
    let id = last.split(';').next().unwrap_or_default();
    if !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(id.to_string());
    }
    Err(SlurmError::BadOutput {
        tool: "sbatch --parsable".into(),
        expected: "a job id such as `123` or `123;cluster`",
        found: out.trim().to_string(),
    })
}

fn command_line(tool: &str, args: &[&OsStr]) -> String {
    let mut words = vec![tool.to_string()];
    words.extend(args.iter().map(|arg| arg.to_string_lossy().into_owned()));
    words.join(" ")
}

/// [`Tools::sbatch`] with the tools from [`Tools::from_env`].
pub fn sbatch(script: &Path, cwd: &Path) -> Result<String, SlurmError> {
    Tools::from_env().sbatch(script, cwd)
}

/// [`Tools::sbatch_array`] with the tools from [`Tools::from_env`].
pub fn sbatch_array(script: &Path, cwd: &Path, array: &str) -> Result<String, SlurmError> {
    Tools::from_env().sbatch_array(script, cwd, array)
}

/// [`Tools::squeue`] with the tools from [`Tools::from_env`].
pub fn squeue(job_ids: &[String]) -> Result<Vec<TaskState>, SlurmError> {
    Tools::from_env().squeue(job_ids)
}

/// [`Tools::scancel`] with the tools from [`Tools::from_env`].
pub fn scancel(ids: &[String]) -> Result<(), SlurmError> {
    Tools::from_env().scancel(ids)
}

/// [`Tools::requeue`] with the tools from [`Tools::from_env`].
pub fn requeue(job_task: &str) -> Result<(), SlurmError> {
    Tools::from_env().requeue(job_task)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;

    use super::*;

    /// Held while writing and running fakes: a fork in another test while a
    /// fake is still open for writing would make running it fail (ETXTBSY).
    static SPAWNING: Mutex<()> = Mutex::new(());

    /// A folder of fake tools, each a shell script with `body`.
    fn fakes(tools: &[(&str, &str)]) -> (tempfile::TempDir, Tools) {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in tools {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let tools = Tools::in_folder(Some(dir.path().to_path_buf()));
        (dir, tools)
    }

    #[test]
    fn a_missing_tool_says_where_it_was_looked_for() {
        let _guard = SPAWNING.lock().unwrap();
        let on_path = Tools::in_folder(None).run("atelier-no-such-tool", &[], Path::new("."));
        assert_eq!(
            on_path.unwrap_err().to_string(),
            "atelier-no-such-tool is not on PATH: run this on a Slurm login node (or `module load slurm`)"
        );
        let (dir, tools) = fakes(&[]);
        let message = tools
            .sbatch(Path::new("job.sh"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("ATELIER_SLURM_BIN names a folder without sbatch"),
            "{message}"
        );
        assert_eq!(Tools::from_var(Some("".into())), Tools::in_folder(None));
    }

    #[test]
    fn a_refusal_shows_the_exit_code_and_what_the_tool_said() {
        let _guard = SPAWNING.lock().unwrap();
        let (dir, tools) = fakes(&[(
            "sbatch",
            "echo 'sbatch: error: Invalid --time specification' >&2; exit 1",
        )]);
        let message = tools
            .sbatch(Path::new("job.sh"), dir.path())
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "`sbatch --parsable job.sh` failed (exit code 1): sbatch: error: Invalid --time specification"
        );
    }

    #[test]
    fn sbatch_gives_the_job_id_with_or_without_a_cluster() {
        let _guard = SPAWNING.lock().unwrap();
        let (dir, tools) = fakes(&[("sbatch", "echo \"$PWD $*\" > args; echo '123;gpu'")]);
        assert_eq!(
            tools.sbatch(Path::new("job.sh"), dir.path()).unwrap(),
            "123"
        );
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert!(args.ends_with(" --parsable job.sh\n"), "{args}");
        assert_eq!(job_id_of("77\n").unwrap(), "77");
        let odd = job_id_of("Submitted batch job 77").unwrap_err().to_string();
        assert!(
            odd.contains("\"Submitted batch job 77\"; expected a job id"),
            "{odd}"
        );
    }

    #[test]
    fn squeue_asks_for_the_jobs_and_reads_their_tasks() {
        let _guard = SPAWNING.lock().unwrap();
        let (dir, tools) = fakes(&[(
            "squeue",
            "echo \"$*\" > \"$(dirname \"$0\")/args\"; echo '3_1|5|RUNNING|None|n1'",
        )]);
        let tasks = tools.squeue(&["3".into(), "9".into()]).unwrap();
        assert_eq!(tasks[0].node, "n1");
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args, format!("-h -r -t all -j 3,9 -o {SQUEUE_FORMAT}\n"));
        std::fs::remove_file(dir.path().join("args")).unwrap();
        assert!(tools.squeue(&[]).unwrap().is_empty());
        assert!(!dir.path().join("args").exists(), "no ids, yet squeue ran");
    }

    #[test]
    fn jobs_slurm_has_forgotten_are_no_tasks() {
        let _guard = SPAWNING.lock().unwrap();
        let (_dir, tools) = fakes(&[(
            "squeue",
            "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1",
        )]);
        assert!(tools.squeue(&["3".into()]).unwrap().is_empty());
    }

    #[test]
    fn cancel_and_requeue_name_their_targets() {
        let _guard = SPAWNING.lock().unwrap();
        let log = "\"$(dirname \"$0\")/calls\"";
        let (dir, tools) = fakes(&[
            ("scancel", &format!("echo \"scancel $*\" >> {log}")),
            ("scontrol", &format!("echo \"scontrol $*\" >> {log}")),
        ]);
        tools.scancel(&[]).unwrap();
        tools.scancel(&["41".into(), "57_2".into()]).unwrap();
        tools.requeue("41_0").unwrap();
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(calls, "scancel 41 57_2\nscontrol requeue 41_0\n");
    }
}

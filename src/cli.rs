//! The command line: global options and one subcommand per job.
//!
//! This is the binary edge: commands return `anyhow` errors with context,
//! while the library underneath speaks its own typed errors.

mod app;
mod bench;
mod compare;
mod data;
mod export;
mod overview;
mod report;
mod runs;
mod screenshot;
mod shell;
mod slurm;
mod stream;
mod sweep;
mod train;
mod viewer;

use std::{path::PathBuf, process::ExitCode};

use clap::{CommandFactory, Parser, Subcommand};
use merge::Merge;

use viewer::ViewerOptions;

/// Train and compare CNN and MLP classifiers on Fashion-MNIST, live in the terminal.
#[derive(Debug, Parser)]
#[command(name = "atelier", version, about)]
pub struct Cli {
    /// Folder holding Fashion-MNIST (IDX .gz/raw or Kaggle CSV); overrides discovery.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Folder of stored runs [default: `ATELIER_RUNS`, else the per-user data folder].
    #[arg(long, global = true, value_name = "DIR")]
    runs_dir: Option<PathBuf>,
    #[command(flatten)]
    viewer: ViewerOptions,
    /// What the app offers to train (same options as `atelier train`).
    #[command(flatten)]
    plan: train::PlanArgs,
    /// Also show the runs of this folder, local or remote (`[user@]host:path`, `ssh://…`), beside the app's own; repeatable.
    #[arg(long = "source", value_name = "SOURCE")]
    sources: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find, download or check the dataset.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train a plan's runs without the app, printing Keras-like progress.
    Train(train::TrainArgs),
    /// Continue interrupted, crashed or failed runs after their last complete epoch.
    Resume(train::ResumeArgs),
    /// List stored runs, or show one in detail, or their groups.
    Runs {
        #[command(subcommand)]
        command: Option<runs::RunsCommand>,
        /// Print the list as JSON (what the table shows, and the whole record).
        #[arg(long)]
        json: bool,
    },
    /// Is the difference between two runs or two groups of seeds real? (`McNemar`, Welch)
    Compare(compare::CompareArgs),
    /// Read a whole sweep: configurations ranked, each setting's effect, every pair's verdict (Holm, equivalence).
    Sweep(sweep::SweepArgs),
    /// Follow runs live, read-only, from local and remote runs folders (`host:path`, over ssh), with alerts.
    Watch(app::WatchArgs),
    /// Stream a runs folder as JSON lines: what `watch HOST:PATH` runs on the remote host over ssh.
    Stream(stream::StreamArgs),
    /// Draw a view of the stored runs into a .txt/.ansi/.html/.svg/.png file, no terminal needed.
    Screenshot(screenshot::ScreenshotArgs),
    /// Write the original's figures (PNG) and a results table (Markdown, CSV) from stored runs.
    Report(report::ReportArgs),
    /// Measure training throughput (images/s) of the seed models.
    Bench(bench::BenchArgs),
    /// Run a plan on a Slurm cluster: one job array, tasks that survive time limits by requeueing.
    #[command(subcommand)]
    Slurm(slurm::SlurmCommand),
    /// Write runs out of atelier: a network as ONNX, runs as `TensorBoard` event files.
    Export(export::ExportArgs),
    /// Print a shell completion script (bash, zsh, fish, …); `make install` installs them.
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff), or write one per subcommand with --dir.
    Manpage(shell::ManpageArgs),
}

/// `--version`'s text: atelier's version, the libtorch it links, and
/// whether that libtorch has CUDA and sees a GPU.
pub fn version_text() -> String {
    use atelier::train::device;
    let cuda = match device::built_with_cuda() {
        Some(false) => "CUDA: not built in (CPU-only libtorch)".to_string(),
        None => "CUDA: unknown on this platform".to_string(),
        Some(true) => match tch::Cuda::device_count() {
            0 => "CUDA: built in, no GPU seen".to_string(),
            count => format!("CUDA: built in, {count} GPU(s) seen"),
        },
    };
    format!(
        "{} (libtorch {}, {cuda})",
        env!("CARGO_PKG_VERSION"),
        device::libtorch_version()
    )
}

/// Restarts this process with passive OpenMP waiting (see
/// `atelier::train::openmp`) unless the user chose a policy; carries on as
/// is if the restart cannot happen.
fn calm_openmp() {
    use atelier::train::openmp;
    if !openmp::needs_restart(|name| std::env::var_os(name)) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let error = openmp::restart_with_passive_waiting(&exe, &args);
    atelier::noteln!("note: running with libgomp's default spin-waiting ({error})");
}

impl Cli {
    /// Whether this command trains (and so runs libtorch's thread team).
    fn trains(&self) -> bool {
        matches!(
            self.command,
            None | Some(
                Command::Train(_)
                    | Command::Resume(_)
                    | Command::Bench(_)
                    | Command::Slurm(slurm::SlurmCommand::Task(_))
            )
        )
    }

    /// Whether this command only prints, so that a closed pipe (`| head`,
    /// `| jq` that quit) may simply end it, as it ends `ls`.
    fn only_prints(&self) -> bool {
        match &self.command {
            Some(Command::Train(args)) => args.dry_run,
            Some(
                Command::Runs { .. }
                | Command::Compare(_)
                | Command::Sweep(_)
                | Command::Data(_)
                | Command::Completions(_)
                | Command::Manpage(_)
                | Command::Slurm(slurm::SlurmCommand::Status { .. }),
            ) => true,
            _ => false,
        }
    }

    /// Runs the chosen command; `atelier` alone opens the app.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        if self.only_prints() {
            // Rust ignores SIGPIPE, so `println!` into a closed pipe panics.
            // SAFETY: restoring a signal's default disposition before any
            // thread starts; no handler runs.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            }
        }
        if self.trains() {
            calm_openmp();
        }
        let data_dir = self.data_dir.as_deref();
        match self.command {
            None => app::run(
                &self.plan,
                &self.viewer,
                &self.sources,
                data_dir,
                self.runs_dir.as_deref(),
            ),
            Some(Command::Data(command)) => command.run(data_dir),
            Some(Command::Train(args)) => train::run(&args, data_dir, self.runs_dir.as_deref()),
            Some(Command::Resume(args)) => train::resume(&args, data_dir, self.runs_dir.as_deref()),
            Some(Command::Runs { command, json }) => {
                runs::run(command.as_ref(), json, self.runs_dir.as_deref())
            }
            Some(Command::Compare(args)) => compare::run(&args, self.runs_dir.as_deref()),
            Some(Command::Sweep(args)) => sweep::run(&args, self.runs_dir.as_deref()),
            Some(Command::Watch(args)) => {
                let mut viewer = args.viewer.clone();
                viewer.merge(self.viewer.clone());
                app::watch(&args, &viewer, data_dir, self.runs_dir.as_deref())
            }
            Some(Command::Stream(args)) => stream::run(&args, self.runs_dir.as_deref()),
            Some(Command::Report(args)) => report::run(&args, self.runs_dir.as_deref()),
            Some(Command::Bench(args)) => bench::run(&args, data_dir),
            Some(Command::Slurm(command)) => {
                slurm::run(&command, data_dir, self.runs_dir.as_deref())
            }
            Some(Command::Export(args)) => export::run(&args, self.runs_dir.as_deref()),
            Some(Command::Completions(args)) => shell::completions(&args, Cli::command()),
            Some(Command::Manpage(args)) => shell::manpage(&args, Cli::command()),
            Some(Command::Screenshot(args)) => {
                let ascii = args.ascii || self.viewer.ascii();
                screenshot::run(&args, ascii, data_dir, self.runs_dir.as_deref())
            }
        }
    }
}

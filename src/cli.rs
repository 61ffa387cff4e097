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

/// The headings that group options in every command's help, so that one
/// kind of option sits under the same heading everywhere.
pub(crate) mod heading {
    /// Which runs: the plan, its runs, their seeds, the runs named.
    pub const SELECTION: &str = "Selection";
    /// How much training: epochs, images, steps.
    pub const BUDGET: &str = "Budget";
    /// Where and how it trains: devices, workers, threads, precision.
    pub const HARDWARE: &str = "Hardware";
    /// What is printed or written, and how.
    pub const OUTPUT: &str = "Output";
    /// Where the dataset and the runs are.
    pub const STORAGE: &str = "Data and storage";
    /// What each Slurm task asks the cluster for.
    pub const SLURM: &str = "Slurm resources";
    /// How the app and `watch` draw and judge runs.
    pub const VIEWER: &str = "Viewer";
}

/// Train and compare CNN and MLP classifiers on Fashion-MNIST, live in the terminal.
#[derive(Debug, Parser)]
#[command(
    name = "atelier",
    version,
    about,
    long_about = "Train and compare CNN and MLP classifiers on Fashion-MNIST, live in the terminal.\n\n\
                  `atelier` alone opens the app: it trains the plan (`--plan`, the original \
                  experiment by default) and shows every stored run beside it. The commands \
                  below do the same work without the app, or read what was stored.",
    after_help = "Run `atelier` with no command to open the app. `atelier COMMAND --help` says more about each command.",
    after_long_help = "Run `atelier` with no command to open the app. `atelier COMMAND --help` says more about each command."
)]
pub struct Cli {
    /// Folder holding Fashion-MNIST (IDX .gz/raw or Kaggle CSV); overrides discovery.
    #[arg(long, global = true, value_name = "DIR", help_heading = heading::STORAGE)]
    data_dir: Option<PathBuf>,
    /// Folder of stored runs [default: `ATELIER_RUNS`, else the per-user data folder].
    #[arg(long, global = true, value_name = "DIR", help_heading = heading::STORAGE)]
    runs_dir: Option<PathBuf>,
    /// When to colour `error:`, `warning:` and help: auto (a terminal, unless
    /// `NO_COLOR` is set), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = heading::OUTPUT
    )]
    color: clap::ColorChoice,
    #[command(flatten)]
    viewer: ViewerOptions,
    /// What the app offers to train (same options as `atelier train`).
    #[command(flatten)]
    plan: train::PlanArgs,
    /// Also show the runs of this folder, local or remote (`[user@]host:path`, `ssh://…`), beside the app's own; repeatable.
    #[arg(long = "source", value_name = "SOURCE", help_heading = heading::STORAGE)]
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
        #[arg(long, help_heading = heading::OUTPUT)]
        json: bool,
    },
    /// Is the difference between two runs or two groups of seeds real? (`McNemar`, Welch)
    Compare(compare::CompareArgs),
    /// Read a whole sweep: configurations ranked, each setting's effect, every pair's verdict (Holm, equivalence).
    Sweep(sweep::SweepArgs),
    /// Follow runs live, read-only, from local and remote runs folders (`host:path`, over ssh), with alerts.
    Watch(app::WatchArgs),
    /// Stream a runs folder as JSON lines: what `watch HOST:PATH` runs on the remote host over ssh.
    #[command(hide = true)]
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
            count => format!(
                "CUDA: built in, {} seen",
                atelier::units::count(count, "GPU")
            ),
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
    atelier::edge::console::labelled(
        atelier::edge::console::Label::Note,
        format_args!("running with libgomp's default spin-waiting ({error})"),
    );
}

/// The `--color` choice among `args` (the last given, `--color WHEN` or
/// `--color=WHEN`), read before clap parses them so that its own help and
/// errors follow it; `auto` when none is given or it is not a choice.
pub fn color_in(args: impl IntoIterator<Item = std::ffi::OsString>) -> clap::ColorChoice {
    use clap::ValueEnum;
    let mut choice = clap::ColorChoice::Auto;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(text) => text.strip_prefix("--color=").map(std::ffi::OsString::from),
            None => None,
        };
        if let Some(found) = value
            .as_ref()
            .and_then(|value| value.to_str())
            .and_then(|value| clap::ColorChoice::from_str(value, false).ok())
        {
            choice = found;
        }
    }
    choice
}

/// Colours standard error's labels as `choice` says (`auto`: on a terminal,
/// unless `NO_COLOR` is set).
pub fn use_color(choice: clap::ColorChoice) {
    atelier::edge::console::set_color(match choice {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    });
}

impl Cli {
    /// The `--color` choice.
    pub fn color(&self) -> clap::ColorChoice {
        self.color
    }

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

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use clap::CommandFactory;

    use super::{color_in, heading, Cli};

    /// Value names of counts other than `N`, which no option may use.
    const COUNT_NAMES: [&str; 12] = [
        "K", "G", "C", "S", "COUNT", "NUM", "STEPS", "EPOCHS", "IMAGES", "THREADS", "ROUNDS",
        "JOBS",
    ];
    /// What an integer option's value may be named: a count, or one of these measures.
    const INTEGER_NAMES: [&str; 3] = ["N", "SEED", "SECONDS"];

    fn integer(parser: &clap::builder::ValueParser) -> bool {
        let id = parser.type_id();
        [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
        ]
        .into_iter()
        .any(|wanted| id == wanted)
    }

    /// Every visible argument of `command` and its subcommands: a line of
    /// help, an option under a heading, a count's value named `N`.
    fn check(command: &clap::Command, path: &str, problems: &mut Vec<String>) {
        let headings = [
            heading::SELECTION,
            heading::BUDGET,
            heading::HARDWARE,
            heading::OUTPUT,
            heading::STORAGE,
            heading::SLURM,
            heading::VIEWER,
            "Alerts",
        ];
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_hide_set() || matches!(id, "help" | "version") {
                continue;
            }
            let name = format!("{path} {id}");
            if arg.get_help().is_none() {
                problems.push(format!("{name}: no help"));
            }
            if !arg.is_positional()
                && !arg
                    .get_help_heading()
                    .is_some_and(|h| headings.contains(&h))
            {
                problems.push(format!(
                    "{name}: expected one of the headings {headings:?}, found {:?}",
                    arg.get_help_heading()
                ));
            }
            if !arg.get_action().takes_values() {
                continue;
            }
            let names: Vec<&str> = arg
                .get_value_names()
                .unwrap_or_default()
                .iter()
                .map(clap::builder::Str::as_str)
                .collect();
            if integer(arg.get_value_parser())
                && !names.iter().all(|name| INTEGER_NAMES.contains(name))
            {
                problems.push(format!(
                    "{name}: an integer's value name: expected one of {INTEGER_NAMES:?}, found {names:?}"
                ));
            }
            if let Some(bad) = names.iter().find(|name| COUNT_NAMES.contains(name)) {
                problems.push(format!(
                    "{name}: a count's value name: expected N, found {bad}"
                ));
            }
        }
        for sub in command.get_subcommands() {
            if !sub.is_hide_set() {
                check(sub, &format!("{path} {}", sub.get_name()), problems);
            }
        }
    }

    #[test]
    fn every_visible_argument_has_help_a_heading_and_a_consistent_value_name() {
        let mut command = Cli::command();
        command.build();
        let mut problems = Vec::new();
        check(&command, "atelier", &mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_definition_is_consistent_and_internal_commands_are_hidden() {
        Cli::command().debug_assert();
        let command = Cli::command();
        let slurm = command.find_subcommand("slurm").unwrap();
        assert!(slurm.find_subcommand("task").unwrap().is_hide_set());
        assert!(command.find_subcommand("stream").unwrap().is_hide_set());
        let resume = command.find_subcommand("resume").unwrap();
        let worker = resume
            .get_arguments()
            .find(|arg| arg.get_id() == "worker")
            .unwrap();
        assert!(worker.is_hide_set());
    }

    #[test]
    fn the_color_choice_is_read_before_parsing() {
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(color_in(args(&["runs"])), clap::ColorChoice::Auto);
        assert_eq!(
            color_in(args(&["--color", "never", "runs"])),
            clap::ColorChoice::Never
        );
        assert_eq!(
            color_in(args(&["runs", "--color=always"])),
            clap::ColorChoice::Always
        );
        assert_eq!(
            color_in(args(&["--", "--color=always"])),
            clap::ColorChoice::Auto
        );
        assert_eq!(
            color_in(args(&["--color", "pink"])),
            clap::ColorChoice::Auto
        );
    }
}

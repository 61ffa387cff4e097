//! `atelier data …`: where the dataset is, fetching it, verifying it.

use std::{io::IsTerminal, path::Path, path::PathBuf, process::ExitCode, time::Instant};

use anyhow::Context;
use atelier::data::{self, fetch, verify};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print where the dataset was found (exit 1 and list the places tried if nowhere).
    Where {
        /// Print only the folder, for scripts.
        #[arg(long)]
        folder: bool,
    },
    /// Load the dataset and summarise it, with what libtorch can use here.
    Info,
    /// Download the four official files, checked against their published MD5.
    Fetch {
        /// Base URL of the mirror.
        #[arg(long, env = fetch::MIRROR_ENV, default_value = fetch::DEFAULT_MIRROR)]
        base_url: String,
        /// Destination folder [default: the per-user data folder].
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
    },
    /// Check counts, image size, labels, class balance and content checksums.
    Verify,
}

impl DataCommand {
    pub fn run(self, data_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
        match self {
            Self::Where { folder } => {
                let source = data::discover(data_dir)?;
                if folder {
                    println!("{}", source.place.dir.display());
                } else {
                    println!("{source}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Self::Info => super::overview::run(data_dir),
            Self::Fetch { base_url, dest } => fetch_command(&base_url, dest),
            Self::Verify => {
                let source = data::discover(data_dir)?;
                let started = Instant::now();
                let report = verify::verify(&source)?;
                println!("{report}");
                println!("(checked in {:.2} s)", started.elapsed().as_secs_f64());
                Ok(if report.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        }
    }
}

fn fetch_command(base_url: &str, dest: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dest = match dest {
        Some(dest) => dest,
        None => atelier::paths::user_dataset_dir()
            .context("this system has no home folder; pass --dest DIR")?,
    };
    println!(
        "Fetching Fashion-MNIST from {base_url} into {}",
        dest.display()
    );
    let outcomes = fetch::fetch_all(base_url, &dest, std::io::stderr().is_terminal())?;
    for (path, outcome) in outcomes {
        match outcome {
            fetch::Outcome::Downloaded(bytes) => {
                println!("  {} ({bytes} bytes, MD5 ok)", path.display());
            }
            fetch::Outcome::AlreadyPresent => {
                println!("  {} (already present, MD5 ok)", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

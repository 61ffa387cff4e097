//! `atelier data …`: where the dataset is, fetching it, verifying it.

use std::{io::IsTerminal, path::Path, path::PathBuf, process::ExitCode, time::Instant};

use anyhow::Context;
use atelier::{
    data::{self, debian, fetch, verify},
    outln,
};
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
    /// Download the four official files, checked against their MD5s; without a
    /// way to the official mirror, from Debian's package (no root needed).
    Fetch {
        /// Where from: the official mirror, Debian's `dataset-fashion-mnist`
        /// package (`apt-get download`, no root), or the first that works.
        #[arg(long, value_enum, default_value = "auto", value_name = "SOURCE")]
        from: Source,
        /// Base URL of the official mirror.
        #[arg(long, env = fetch::MIRROR_ENV, default_value = fetch::DEFAULT_MIRROR)]
        base_url: String,
        /// Destination folder [default: the per-user data folder].
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
    },
    /// Check counts, image size, labels, class balance and content checksums.
    Verify,
}

/// Where `data fetch` gets the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The official mirror, then Debian's package if the mirror fails.
    Auto,
    /// Zalando Research's mirror only.
    Official,
    /// Debian's `dataset-fashion-mnist` package only.
    Debian,
}

impl DataCommand {
    pub fn run(self, data_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
        match self {
            Self::Where { folder } => {
                let source = data::discover(data_dir)?;
                if folder {
                    outln!("{}", source.place.dir.display())?;
                } else {
                    outln!("{source}")?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Self::Info => super::overview::run(data_dir),
            Self::Fetch {
                from,
                base_url,
                dest,
            } => fetch_command(from, &base_url, dest),
            Self::Verify => {
                let source = data::discover(data_dir)?;
                let started = Instant::now();
                let report = verify::verify(&source)?;
                outln!("{report}")?;
                outln!("(checked in {:.2} s)", started.elapsed().as_secs_f64())?;
                Ok(if report.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        }
    }
}

fn fetch_command(from: Source, base_url: &str, dest: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dest = match dest {
        Some(dest) => dest,
        None => atelier::paths::user_dataset_dir()
            .context("this system has no home folder; pass --dest DIR")?,
    };
    let official = format!("the official mirror ({base_url})");
    let debian = format!("Debian's package (apt-get download {})", debian::PACKAGE);
    let mut attempts = Vec::new();
    if from != Source::Debian {
        outln!(
            "Fetching Fashion-MNIST from {official} into {}",
            dest.display()
        )?;
        match fetch::fetch_all(base_url, &dest, std::io::stderr().is_terminal()) {
            Ok(outcomes) => return report(&outcomes),
            Err(error) => {
                outln!("  failed: {error}")?;
                attempts.push((official, error.to_string()));
            }
        }
        if from == Source::Official {
            return Err(data::DataError::NoSource { attempts }.into());
        }
    }
    outln!(
        "Fetching Fashion-MNIST from {debian} into {}",
        dest.display()
    )?;
    match debian::fetch_debian(&dest) {
        Ok(outcomes) => report(&outcomes),
        Err(error) => {
            attempts.push((debian, error.to_string()));
            Err(data::DataError::NoSource { attempts }.into())
        }
    }
}

fn report(outcomes: &[(PathBuf, fetch::Outcome)]) -> anyhow::Result<ExitCode> {
    for (path, outcome) in outcomes {
        match outcome {
            fetch::Outcome::Downloaded(bytes) => {
                outln!("  {} ({bytes} bytes, MD5 ok)", path.display())?;
            }
            fetch::Outcome::AlreadyPresent => {
                outln!("  {} (already present, MD5 ok)", path.display())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

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
        #[arg(long, conflicts_with = "json", help_heading = crate::cli::heading::OUTPUT)]
        folder: bool,
        /// Print the folder, the format, how it was found and its files as JSON.
        #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
        json: bool,
    },
    /// Load the dataset and summarise it, with what libtorch can use here.
    Info,
    /// Download the four official files, checked against their MD5s; without a
    /// way to the official mirror, from Debian's package (no root needed).
    Fetch {
        /// Where from: the official mirror, Debian's `dataset-fashion-mnist`
        /// package (`apt-get download`, no root), or the first that works.
        #[arg(long, value_enum, default_value = "auto", value_name = "SOURCE", help_heading = crate::cli::heading::STORAGE)]
        from: Source,
        /// Base URL of the official mirror.
        #[arg(long, env = fetch::MIRROR_ENV, default_value = fetch::DEFAULT_MIRROR, value_name = "URL", help_heading = crate::cli::heading::STORAGE)]
        base_url: String,
        /// Destination folder [default: the per-user data folder].
        #[arg(short = 'o', long, value_name = "DIR", help_heading = crate::cli::heading::STORAGE)]
        dest: Option<PathBuf>,
    },
    /// Check counts, image size, labels, class balance and content checksums.
    Verify {
        /// Print the counts, checksums and problems as JSON.
        #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
        json: bool,
    },
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
            Self::Where { folder, json } => {
                let source = data::discover(data_dir)?;
                if json {
                    outln!("{}", serde_json::to_string_pretty(&source_json(&source))?)?;
                } else if folder {
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
            Self::Verify { json } => {
                let source = data::discover(data_dir)?;
                let started = Instant::now();
                let report = verify::verify(&source)?;
                let seconds = started.elapsed().as_secs_f64();
                if json {
                    let value = verify_json(&report, seconds);
                    outln!("{}", serde_json::to_string_pretty(&value)?)?;
                } else {
                    outln!("{report}")?;
                    outln!("(checked in {seconds:.2} s)")?;
                }
                Ok(if report.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        }
    }
}

/// Where the dataset is, as `data where --json` prints it.
fn source_json(source: &data::DataSource) -> serde_json::Value {
    serde_json::json!({
        "folder": source.place.dir,
        "found_by": source.place.kind.to_string(),
        "format": source.format.to_string(),
        "files": source.files(),
    })
}

/// What `data verify --json` prints: the place, the counts per class, each
/// checksum and every difference from the official dataset.
fn verify_json(report: &verify::Report, seconds: f64) -> serde_json::Value {
    let classes: Vec<serde_json::Value> = data::CLASS_NAMES
        .iter()
        .enumerate()
        .map(|(class, name)| {
            serde_json::json!({
                "class": class,
                "name": name,
                "train": report.train_counts[class],
                "test": report.test_counts[class],
            })
        })
        .collect();
    let checksums: Vec<serde_json::Value> = report
        .checksums
        .iter()
        .map(|check| {
            serde_json::json!({
                "file": check.file,
                "expected": check.expected,
                "found": check.found,
                "ok": check.found == check.expected,
            })
        })
        .collect();
    serde_json::json!({
        "source": source_json(&report.source),
        "ok": report.is_ok(),
        "train_images": report.train_counts.iter().sum::<usize>(),
        "test_images": report.test_counts.iter().sum::<usize>(),
        "classes": classes,
        "checksums": checksums,
        "problems": report.problems,
        "seconds": seconds,
    })
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

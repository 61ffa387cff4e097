//! `atelier completions SHELL` and `atelier manpage`: what the shell and
//! `man` need, generated from the same clap definitions as `--help`, so
//! they cannot drift from the options the binary takes.

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::Context;

/// `atelier completions SHELL`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; the script goes to stdout.
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

/// `atelier manpage [--dir DIR]`.
#[derive(Debug, clap::Args)]
pub struct ManpageArgs {
    /// Write atelier.1 and one page per subcommand (atelier-train.1, …) into
    /// this folder, instead of printing atelier.1.
    #[arg(short = 'o', long, value_name = "DIR", help_heading = crate::cli::heading::OUTPUT)]
    dir: Option<PathBuf>,
}

/// The completion script of `command` (the whole command line's definition).
pub fn completions(args: &CompletionsArgs, mut command: clap::Command) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "atelier", &mut script);
    std::io::stdout()
        .write_all(&script)
        .context("cannot write the completion script to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The man pages of `command` (the whole command line's definition).
pub fn manpage(args: &ManpageArgs, command: clap::Command) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
        clap_mangen::generate_to(command, dir)
            .with_context(|| format!("{}: cannot write the man pages", dir.display()))?;
    } else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .context("cannot render the man page")?;
        std::io::stdout()
            .write_all(&page)
            .context("cannot write the man page to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

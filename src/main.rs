//! The `atelier` binary: parse the command line, run it, report errors plainly.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    atelier::train::allocator::keep_freed_memory();
    let mut command = cli::Cli::command();
    // Only when asked: probing CUDA costs time every other command would pay.
    if std::env::args_os().any(|arg| arg == "--version" || arg == "-V") {
        command = command.version(cli::version_text());
    }
    let parsed = cli::Cli::from_arg_matches_mut(&mut command.get_matches())
        .unwrap_or_else(|error| error.exit());
    match parsed.run() {
        Ok(code) => code,
        Err(error) => {
            // An error may quote a plan's or a store's text.
            let text = format!("{error:#}");
            atelier::noteln!("error: {}", atelier::edge::printable_lines(&text));
            ExitCode::FAILURE
        }
    }
}

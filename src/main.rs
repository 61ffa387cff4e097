//! The `atelier` binary: parse the command line, run it, report errors plainly.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    atelier::train::allocator::keep_freed_memory();
    // Read before parsing, so that clap's own help and errors follow it too.
    let color = cli::color_in(std::env::args_os().skip(1));
    cli::use_color(color);
    let mut command = cli::Cli::command().color(color);
    // Only when asked: probing CUDA costs time every other command would pay.
    if std::env::args_os().any(|arg| arg == "--version" || arg == "-V") {
        command = command.version(cli::version_text());
    }
    let parsed = cli::Cli::from_arg_matches_mut(&mut command.get_matches())
        .unwrap_or_else(|error| error.exit());
    cli::use_color(parsed.color());
    match parsed.run() {
        Ok(code) => code,
        Err(error) => {
            // An error may quote a plan's or a store's text.
            let text = format!("{error:#}");
            atelier::errorln!("{}", atelier::edge::printable_lines(&text));
            ExitCode::FAILURE
        }
    }
}

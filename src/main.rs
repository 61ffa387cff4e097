//! The `atelier` binary: parse the command line, run it, report errors plainly.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    atelier::train::allocator::keep_freed_memory();
    match cli::Cli::parse().run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

//! The `cinema` binary: parses the command line and hands it to `cinema::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cinema::cli::run(cinema::cli::Cli::parse())
}

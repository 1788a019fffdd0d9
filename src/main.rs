//! The `cinema` binary: parses the command line and hands it to `cinema::cli`.

use std::process::ExitCode;

use cinema::cli::{self, Cli};
use clap::Parser;

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(command_line) => cli::run(command_line),
        Err(refused) => cli::refuse(&refused),
    }
}

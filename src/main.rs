//! The `tpe` command line.

use std::process::ExitCode;

use clap::Parser;

/// Connect an online shop to bank payment terminals.
#[derive(Debug, Parser)]
#[command(name = "tpe", version, about)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}

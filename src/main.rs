//! The `tpe` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Connect an online shop to bank payment terminals.
#[derive(Debug, Parser)]
#[command(name = "tpe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the mock bank: Paybox and Stripe-like sides, with a journal and a control API.
    MockBank(tpe_mock_bank::cli::MockBankArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::MockBank(args) => block_on(async {
            match tpe_mock_bank::cli::run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tpe mock-bank: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
    }
}

fn block_on<F: Future<Output = ExitCode>>(f: F) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("tpe: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

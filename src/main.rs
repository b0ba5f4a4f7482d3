//! The `tpe` command line.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Connect an online shop to bank payment terminals.
#[derive(Debug, Parser)]
#[command(name = "tpe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain a bank's result code: normalized reason, explanations, retry advice.
    Codes {
        /// The bank.
        provider: CodesProvider,
        /// The code as the bank sent it (e.g. 00151, insufficient_funds).
        code: String,
    },
    /// Run the demo farm shop on the mock bank (`--tour` plays every payment story).
    Demo(tpe_demo::cli::DemoArgs),
    /// Run the mock bank: Paybox and Stripe-like sides, with a journal and a control API.
    MockBank(tpe_mock_bank::cli::MockBankArgs),
    /// Paybox / Up2Pay e-Transactions tools: sign a form, verify a notification.
    #[command(subcommand)]
    Paybox(tpe_paybox::cli::PayboxCommand),
    /// Stripe-like PSP tools: sign and verify webhook signatures.
    #[command(subcommand)]
    StripeLike(tpe_stripe_like::cli::StripeLikeCommand),
}

/// Banks whose codes `tpe codes` explains.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CodesProvider {
    /// Paybox / Up2Pay e-Transactions (`E` codes, e.g. 00151).
    Paybox,
    /// Stripe-like decline codes (e.g. insufficient_funds).
    StripeLike,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let code = match cli.command {
        Command::Codes { provider, code } => {
            let text = match provider {
                CodesProvider::Paybox => tpe_paybox::cli::explain_code(&code),
                CodesProvider::StripeLike => tpe_stripe_like::cli::explain_code(&code),
            };
            let _ = write!(out, "{text}");
            if !text.ends_with('\n') {
                let _ = writeln!(out);
            }
            ExitCode::SUCCESS
        }
        Command::Paybox(cmd) => tpe_paybox::cli::run(&cmd, &mut out).into(),
        Command::StripeLike(cmd) => tpe_stripe_like::cli::run(&cmd, &mut out),
        Command::Demo(args) => block_on(async {
            match tpe_demo::cli::run(args).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("tpe demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::MockBank(args) => block_on(async {
            match tpe_mock_bank::cli::run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tpe mock-bank: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
    };
    let _ = out.flush();
    code
}

fn block_on<F: Future<Output = ExitCode>>(f: F) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("tpe: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

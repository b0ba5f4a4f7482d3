//! The `tpe` command line: `tpe demo`, `tpe mock-bank`, `tpe codes`, `tpe doctor`, `tpe replay`
//! and each bank's tools.
//! The `tpe` binary is [`main`].

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub mod doctor;
pub mod replay;
pub mod shop_config;

/// Connect an online shop to bank payment terminals.
#[derive(Debug, Parser)]
#[command(name = "tpe", version, about)]
struct Cli {
    /// How log lines are written to standard error: readable text, or one JSON object a line
    /// for a log collector. `RUST_LOG` chooses what is logged (default: `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logs to standard error, filtered by `RUST_LOG` (default `info`). Nothing the library logs
/// carries a secret or a card number: fields are ids, references, outcomes and lengths.
fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialization (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Every bank of the command line, listed once: `tpe codes <bank> <code>` and
/// `tpe <bank> sign|verify`. A bank crate brings a `cli` module with a clap subcommand type,
/// `run(&command, out)` and `explain_code(code)`; adding the bank here is one line.
macro_rules! banks {
    ($($(#[doc = $doc:literal])* $variant:ident => $krate:ident::cli::$command:ident, codes: $codes:literal;)*) => {
        /// A bank's own tools.
        #[derive(Debug, Subcommand)]
        enum BankCommand {
            $($(#[doc = $doc])* #[command(subcommand)] $variant($krate::cli::$command),)*
        }

        impl BankCommand {
            fn run(&self, out: &mut dyn Write) -> ExitCode {
                match self {
                    $(Self::$variant(cmd) => ExitCode::from($krate::cli::run(cmd, out)),)*
                }
            }
        }

        /// Banks whose codes `tpe codes` explains.
        #[derive(Debug, Clone, Copy, ValueEnum)]
        enum CodesProvider {
            $(#[doc = $codes] $variant,)*
        }

        impl CodesProvider {
            fn explain(self, code: &str) -> String {
                match self {
                    $(Self::$variant => $krate::cli::explain_code(code),)*
                }
            }
        }
    };
}

banks! {
    /// Lyra tools (Systempay, PayZen, Scellius, Sogecommerce): sign a vads_ form, verify an IPN or a REST notification.
    Lyra => tpe_lyra::cli::LyraCommand, codes: "Lyra: Systempay, PayZen, Scellius, Sogecommerce (`vads_auth_result`, e.g. 51).";
    /// Paybox / Up2Pay e-Transactions tools: sign a form, verify a notification.
    Paybox => tpe_paybox::cli::PayboxCommand, codes: "Paybox / Up2Pay e-Transactions (`E` codes, e.g. 00151).";
    /// Stripe-like PSP tools: sign and verify webhook signatures.
    StripeLike => tpe_stripe_like::cli::StripeLikeCommand, codes: "Stripe-like decline codes (e.g. insufficient_funds).";
    /// Worldline Direct / CAWL tools: sign an API request, verify a webhook signature.
    Worldline => tpe_worldline::cli::WorldlineCommand, codes: "Worldline Direct / CAWL statusCode, status and errorCode (e.g. 93, REJECTED).";
    /// Monetico Paiement (CIC / Crédit Mutuel) tools: sign a form, verify a CGI2 return.
    Monetico => tpe_monetico::cli::MoneticoCommand, codes: "Monetico motifrefus, code-retour and status3ds (e.g. Interdit, Annulation).";
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
    /// Run the mock bank: Paybox, Stripe-like and Monetico sides, with a journal and a control API.
    MockBank(tpe_mock_bank::cli::MockBankArgs),
    /// Check a shop's configuration and what the bank meets: keys, URLs, the notification
    /// route, the clock, the certificate.
    Doctor(doctor::DoctorArgs),
    /// Feed a quarantined notification to the engine again, once its cause is fixed.
    Replay(replay::ReplayArgs),
    #[command(flatten)]
    Bank(BankCommand),
}

/// Parses the process arguments, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let mut out = std::io::stdout().lock();
    let code = match cli.command {
        Command::Codes { provider, code } => {
            let text = provider.explain(&code);
            let _ = write!(out, "{text}");
            if !text.ends_with('\n') {
                let _ = writeln!(out);
            }
            ExitCode::SUCCESS
        }
        Command::Bank(cmd) => cmd.run(&mut out),
        Command::Demo(args) => block_on(async {
            match tpe_demo::cli::run(args).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("tpe demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Doctor(args) => block_on(doctor::run(args, &mut out)),
        Command::Replay(args) => block_on(replay::run(args, &mut out)),
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn doctor_and_replay_take_their_arguments() {
        let doctor = Cli::try_parse_from(["tpe", "doctor", "--config", "shop.toml"]).unwrap();
        assert!(matches!(doctor.command, Command::Doctor(ref a) if a.timeout == 5 && !a.offline));
        // One reference or one quarantine id, not both, not none.
        let replay = |args: &[&str]| Cli::try_parse_from([&["tpe", "replay"], args].concat());
        assert!(replay(&["--config", "f"]).is_err());
        assert!(replay(&["--config", "f", "R1", "--quarantine", "3"]).is_err());
        assert!(replay(&["--data", "d", "--database-url", "postgres://x", "R1"]).is_err());
        let ok = replay(&["--data", "d", "--quarantine", "3"]).unwrap();
        assert!(matches!(ok.command, Command::Replay(ref a) if a.quarantine == Some(3)));
    }

    #[test]
    fn every_bank_is_reachable() {
        let codes = Cli::try_parse_from(["tpe", "codes", "paybox", "00151"]).unwrap();
        let Command::Codes { provider, code } = codes.command else {
            panic!("{codes:?}")
        };
        assert!(provider.explain(&code).contains("Provision insuffisante"));
        let stripe = CodesProvider::StripeLike.explain("insufficient_funds");
        assert!(stripe.contains("InsufficientFunds"), "{stripe}");
        let lyra = CodesProvider::Lyra.explain("51");
        assert!(lyra.contains("Provision insuffisante"), "{lyra}");
        let mut out = Vec::new();
        let sign = Cli::try_parse_from([
            "tpe",
            "lyra",
            "sign",
            "--key",
            "1122334455667788",
            "vads_amount=5124",
        ])
        .unwrap();
        let Command::Bank(cmd) = sign.command else {
            panic!("{sign:?}")
        };
        assert_eq!(cmd.run(&mut out), ExitCode::SUCCESS);
        assert_eq!(String::from_utf8(out).unwrap().trim().len(), 44);
        let monetico = CodesProvider::Monetico.explain("Interdit");
        assert!(monetico.contains("TransactionNotPermitted"), "{monetico}");
        let sign = Cli::try_parse_from([
            "tpe",
            "monetico",
            "sign",
            "--key",
            "0123456789ABCDEF0123456789ABCDEF01234567",
            "TPE=1234567",
        ])
        .unwrap();
        let Command::Bank(cmd) = sign.command else {
            panic!("{sign:?}")
        };
        let mut out = Vec::new();
        assert_eq!(cmd.run(&mut out), ExitCode::SUCCESS);
        assert_eq!(String::from_utf8(out).unwrap().trim().len(), 40);
        let worldline = Cli::try_parse_from(["tpe", "codes", "worldline", "93"]).unwrap();
        let Command::Codes { provider, code } = worldline.command else {
            panic!("{worldline:?}")
        };
        assert!(provider.explain(&code).contains("Paiement refusé"));
        let sign = Cli::try_parse_from([
            "tpe",
            "worldline",
            "sign-request",
            "--key-id",
            "EC36A74A98D21",
            "--secret",
            "6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1",
            "--method",
            "GET",
            "--date",
            "Fri, 06 Jun 2014 13:39:43 GMT",
            "--path",
            "/v2/1/tokens/2",
        ])
        .unwrap();
        let Command::Bank(cmd) = sign.command else {
            panic!("{sign:?}")
        };
        let mut out = Vec::new();
        assert_eq!(cmd.run(&mut out), ExitCode::SUCCESS);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GCS v1HMAC:EC36A74A98D21:vCos01y77soPNJOW6kDCm4Bu5b2darAZ09PP7Wa+jRA=\n"
        );
        for bank in ["lyra", "paybox", "stripe-like", "monetico", "worldline"] {
            let help = Cli::try_parse_from(["tpe", bank, "--help"]).unwrap_err();
            assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp, "{bank}");
        }
    }
}

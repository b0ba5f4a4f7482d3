#![doc = include_str!("../README.md")]
// Built without any bank, `tpe codes` has no bank to name and its code is unreachable.
#![cfg_attr(
    not(any(
        feature = "lyra",
        feature = "paybox",
        feature = "stripe-like",
        feature = "worldline",
        feature = "monetico"
    )),
    allow(unreachable_code, unused_variables)
)]

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub mod banks;
#[cfg(any(feature = "demo", feature = "mock-bank"))]
mod servers;
pub mod tool;

use banks::{BankCommand, CodesProvider};
#[cfg(feature = "demo")]
pub use servers::DemoArgs;
#[cfg(feature = "mock-bank")]
pub use servers::MockBankArgs;
pub use tool::Exit;
#[cfg(feature = "doctor")]
pub mod doctor;
#[cfg(feature = "doctor")]
pub mod replay;
#[cfg(feature = "doctor")]
pub mod shop_config;

/// Connect an online shop to bank payment terminals.
#[derive(Debug, Parser)]
#[command(name = "tpe", version, about, after_help = tool::EXIT_HELP)]
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
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Run the mock bank: Paybox, Stripe-like and Monetico sides, with a journal and a control API.
    #[cfg(feature = "mock-bank")]
    MockBank(MockBankArgs),
    /// Check a shop's configuration and what the bank meets: keys, URLs, the notification
    /// route, the clock, the certificate.
    #[cfg(feature = "doctor")]
    Doctor(doctor::DoctorArgs),
    /// Feed a quarantined notification to the engine again, once its cause is fixed.
    #[cfg(feature = "doctor")]
    Replay(replay::ReplayArgs),
    #[command(flatten)]
    Bank(BankCommand),
}

impl Command {
    /// Runs the command, writing its output to `out`; the status follows [`Exit`].
    fn run(self, out: &mut dyn Write) -> ExitCode {
        match self {
            Self::Codes { provider, code } => {
                let text = provider.explain(&code);
                let newline = if text.ends_with('\n') { "" } else { "\n" };
                match write!(out, "{text}{newline}") {
                    Ok(()) => Exit::Success.into(),
                    Err(_) => Exit::Failure.into(),
                }
            }
            Self::Bank(cmd) => cmd.run(out).into(),
            #[cfg(feature = "demo")]
            Self::Demo(args) => block_on(servers::demo(args)).into(),
            #[cfg(feature = "mock-bank")]
            Self::MockBank(args) => block_on(servers::mock_bank(args)).into(),
            #[cfg(feature = "doctor")]
            Self::Doctor(args) => block_on(doctor::run(args, out)),
            #[cfg(feature = "doctor")]
            Self::Replay(args) => block_on(replay::run(args, out)),
        }
    }
}

/// Parses the process arguments, runs the command and returns its exit status ([`Exit`]).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let mut out = std::io::stdout().lock();
    let exit = cli.command.run(&mut out);
    let _ = out.flush();
    exit
}

#[cfg(any(feature = "demo", feature = "mock-bank"))]
fn block_on<T: From<Exit>>(f: impl Future<Output = T>) -> T {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("tpe: cannot start the async runtime: {e}");
            Exit::Failure.into()
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

    fn exit_of(args: &[&str]) -> ExitCode {
        match Cli::try_parse_from(std::iter::once("tpe").chain(args.iter().copied())) {
            Ok(cli) => cli.command.run(&mut Vec::new()),
            // clap's usage errors exit 2, as `Exit::Usage`.
            Err(e) => {
                assert_eq!(e.exit_code(), i32::from(Exit::Usage.code()), "{e}");
                Exit::Usage.into()
            }
        }
    }

    #[test]
    fn every_command_follows_the_exit_convention() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains(tool::EXIT_HELP), "{help}");
        assert_eq!(exit_of(&["codes", "paybox", "00151"]), Exit::Success.into());
        assert_eq!(exit_of(&["codes", "nobank", "00151"]), Exit::Usage.into());
        assert_eq!(exit_of(&["nocommand"]), Exit::Usage.into());
        let key = "0123456789ABCDEF".repeat(8);
        assert_eq!(
            exit_of(&["paybox", "sign", "--key", &key, "A=1"]),
            Exit::Success.into()
        );
        assert_eq!(
            exit_of(&["paybox", "sign", "--key", "00", "A=1"]),
            Exit::Usage.into()
        );
        assert_eq!(
            exit_of(&["paybox", "verify", "Mt=1&Sign=AAAA"]),
            Exit::CheckFailed.into()
        );
        let missing = "/nonexistent/tpe-mock-bank.toml";
        let config = ["mock-bank", "--listen", "127.0.0.1:0", "--config", missing];
        assert_eq!(exit_of(&config), Exit::Usage.into());
        // An address already taken: the command could not run.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        assert_eq!(
            exit_of(&["mock-bank", "--listen", &addr]),
            Exit::Failure.into()
        );
        let data = std::env::temp_dir().join(format!("tpe-cli-exit-{}", std::process::id()));
        let data = data.to_str().unwrap();
        assert_eq!(
            exit_of(&["demo", "--listen", &addr, "--data", data]),
            Exit::Failure.into()
        );
        let _ = std::fs::remove_dir_all(data);
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
        assert_eq!(cmd.run(&mut out), Exit::Success);
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
        assert_eq!(cmd.run(&mut out), Exit::Success);
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
        assert_eq!(cmd.run(&mut out), Exit::Success);
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

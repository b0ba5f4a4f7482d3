//! `tpe demo` and `tpe mock-bank`: their arguments, turned into the crates' plain options.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::Exit;

/// `tpe demo [--listen 127.0.0.1:8080] [--data DIR] [--tour]`.
#[cfg(feature = "demo")]
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the shop listens; the mock bank takes a free port on the same address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the SQLite database and of the e-mails (`.eml`), created if absent.
    #[arg(long, default_value = "./tpe-demo-data")]
    pub data: PathBuf,
    /// Play every story of the payment lifecycle on every bank, print the table and exit
    /// (exit 1 if a row differs from what is expected).
    #[arg(long)]
    pub tour: bool,
    /// Where the mock bank listens (default: a free port on the shop's address).
    #[arg(long)]
    pub bank_listen: Option<SocketAddr>,
    /// The argon2 hash (PHC string, `$argon2id$…`) of the Gestion password. Without it the
    /// demo draws a password at start and prints it.
    #[arg(long, env = "TPE_DEMO_MANAGER_PASSWORD_HASH", hide_env_values = true)]
    pub manager_password_hash: Option<String>,
    /// The smallest basket total, in cents of euro, for which the shop offers « Payer en 3
    /// fois » with the banks that offer it (default 3000: 30,00 €).
    #[arg(long, env = "TPE_DEMO_INSTALMENTS_MINIMUM_CENTS")]
    pub instalments_minimum_cents: Option<u64>,
}

/// Runs `tpe demo`: 0 when the shop stopped or every row of the tour is as expected, 1 when a
/// row differs, 3 when the demo could not start.
#[cfg(feature = "demo")]
pub(crate) async fn demo(args: DemoArgs) -> Exit {
    let mut options = tpe_demo::RunOptions::new(args.listen, args.data);
    options.tour = args.tour;
    options.bank_listen = args.bank_listen;
    options.manager_password_hash = args.manager_password_hash;
    options.instalments_minimum = args.instalments_minimum_cents;
    match tpe_demo::run(options).await {
        Ok(true) => Exit::Success,
        Ok(false) => Exit::CheckFailed,
        Err(e) => {
            eprintln!("tpe demo: {e}");
            Exit::Failure
        }
    }
}

/// Arguments of `tpe mock-bank`.
#[cfg(feature = "mock-bank")]
#[derive(Clone, Debug, clap::Args)]
pub struct MockBankArgs {
    /// Address to listen on (loopback by default: the control API has no authentication).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// TOML configuration file (merchants, Stripe-like accounts, Monetico TPEs, retries, delays).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs `tpe mock-bank` until Ctrl-C: 2 for an unreadable or invalid configuration, 3 when it
/// cannot serve.
#[cfg(feature = "mock-bank")]
pub(crate) async fn mock_bank(args: MockBankArgs) -> Exit {
    let mut options = tpe_mock_bank::ServeOptions::new(args.listen);
    options.config = args.config;
    match tpe_mock_bank::serve_until_ctrl_c(options).await {
        Ok(()) => Exit::Success,
        Err(e) => {
            eprintln!("tpe mock-bank: {e}");
            mock_bank_exit(&e)
        }
    }
}

/// A configuration the user can fix is a usage error; the rest could not run.
#[cfg(feature = "mock-bank")]
fn mock_bank_exit(e: &tpe_mock_bank::Error) -> Exit {
    use tpe_mock_bank::Error;
    match e {
        Error::ConfigRead { .. } | Error::ConfigParse { .. } | Error::Config(_) => Exit::Usage,
        _ => Exit::Failure,
    }
}

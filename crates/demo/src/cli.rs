//! `tpe demo`: the arguments and the entry point the `tpe` binary calls.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::demo::{Demo, DemoOptions};
use crate::error::DemoError;

/// `tpe demo [--listen 127.0.0.1:8080] [--data DIR] [--tour]`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the shop listens; the mock bank takes a free port on the same address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the SQLite database and of the e-mails (`.eml`), created if absent.
    #[arg(long, default_value = "./tpe-demo-data")]
    pub data: PathBuf,
    /// Play every story of the payment lifecycle on every bank, print the table and exit
    /// (non-zero if a row differs from what is expected).
    #[arg(long)]
    pub tour: bool,
    /// The argon2 hash (PHC string, `$argon2id$…`) of the Gestion password. Without it the
    /// demo draws a password at start and prints it.
    #[arg(long, env = "TPE_DEMO_MANAGER_PASSWORD_HASH", hide_env_values = true)]
    pub manager_password_hash: Option<String>,
}

/// Runs `tpe demo`: the tour, or the shop until Ctrl-C.
///
/// # Errors
/// [`DemoError`] when the demo cannot start.
pub async fn run(args: DemoArgs) -> Result<ExitCode, DemoError> {
    if args.tour {
        let report = crate::tour::run_tour(&args.data.join("tour")).await?;
        print!("{}", report.table());
        return Ok(if report.all_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let mut options = DemoOptions::interactive(args.listen, &args.data);
    options.manager_password_hash = args.manager_password_hash;
    let demo = Demo::start(options).await?;
    println!("tpe demo — {}", crate::demo::SHOP_NAME);
    println!("  boutique : {}", demo.shop_url());
    match demo.manager_password() {
        Some(password) => println!(
            "  gestion  : {} (mot de passe : {password})",
            demo.manager_url()
        ),
        None => println!("  gestion  : {}", demo.manager_url()),
    }
    println!("  banque   : {} (mock bank)", demo.bank().base_url());
    println!(
        "  données  : {} (SQLite, e-mails in mails/)",
        demo.data_dir().display()
    );
    let cards: Vec<String> = crate::DemoProvider::ALL
        .iter()
        .map(|p| p.bank().test_cards())
        .collect();
    println!("Cartes de test : {}.", cards.join(" ; "));
    println!("Ctrl-C pour arrêter.");
    let _ = tokio::signal::ctrl_c().await;
    println!("arrêt…");
    demo.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

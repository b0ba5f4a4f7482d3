//! `tpe demo`: its options and the entry point the `tpe` binary calls.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::demo::{Demo, DemoOptions};
use crate::error::DemoError;

/// What `tpe demo` runs: the shop until Ctrl-C, or the tour.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunOptions {
    /// Where the shop listens; the mock bank takes a free port on the same address.
    pub listen: SocketAddr,
    /// Folder of the SQLite database and of the e-mails (`.eml`), created if absent.
    pub data: PathBuf,
    /// Play every story of the payment lifecycle on every bank, print the table and exit
    /// (non-zero if a row differs from what is expected).
    pub tour: bool,
    /// Where the mock bank listens (default: a free port on the shop's address).
    pub bank_listen: Option<SocketAddr>,
    /// The argon2 hash (PHC string, `$argon2id$…`) of the Gestion password. Without it the
    /// demo draws a password at start and prints it.
    pub manager_password_hash: Option<String>,
    /// The smallest basket total, in cents of euro, paid « en 3 fois »; `None`:
    /// [`crate::DEFAULT_INSTALMENTS_MINIMUM`].
    pub instalments_minimum: Option<u64>,
}

impl RunOptions {
    /// The shop on `listen`, its data in `data`, the bank on a free port, a drawn password.
    pub fn new(listen: SocketAddr, data: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data: data.into(),
            tour: false,
            bank_listen: None,
            manager_password_hash: None,
            instalments_minimum: None,
        }
    }
}

/// Runs `tpe demo`: the tour, or the shop until Ctrl-C.
///
/// Returns whether every row of the tour was as expected (always `true` for the shop).
///
/// # Errors
/// [`DemoError`] when the demo cannot start.
pub async fn run(args: RunOptions) -> Result<bool, DemoError> {
    if args.tour {
        let report = crate::tour::run_tour(&args.data.join("tour")).await?;
        print!("{}", report.table());
        return Ok(report.all_ok());
    }
    let mut options = DemoOptions::interactive(args.listen, &args.data);
    options.manager_password_hash = args.manager_password_hash;
    options.bank_listen = args.bank_listen;
    if let Some(minimum) = args.instalments_minimum {
        options.instalments_minimum = minimum;
    }
    let options_minimum = options.instalments_minimum;
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
        .map(|p| p.test_cards())
        .collect();
    println!("Cartes de test : {}.", cards.join(" ; "));
    println!(
        "Payer en 3 fois : à partir de {} avec Paybox, Lyra et Monetico ; la banque débite les \
         échéances suivantes d'elle-même, deux secondes par jour.",
        tpe_core::Amount::new(options_minimum, tpe_core::Currency::EUR)
            .map(|a| a.for_reader(tpe_core::Lang::Fr))
            .unwrap_or_default()
    );
    println!("Ctrl-C pour arrêter.");
    let _ = tokio::signal::ctrl_c().await;
    println!("arrêt…");
    demo.shutdown().await;
    Ok(true)
}

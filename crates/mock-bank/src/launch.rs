//! The `tpe mock-bank` command: its options and the serving loop.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::MockBankConfig;
use crate::state::BankState;
use crate::{Error, router};

/// What `tpe mock-bank` serves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Address to listen on (loopback by default: the control API has no authentication).
    pub listen: SocketAddr,
    /// TOML configuration file (merchants, Stripe-like accounts, Monetico TPEs, retries, delays).
    pub config: Option<PathBuf>,
}

impl ServeOptions {
    /// The mock bank on `listen` with the default configuration (the public test merchants).
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            config: None,
        }
    }
}

/// Serves the mock bank until Ctrl-C, after printing its URLs.
///
/// # Errors
/// A configuration, key or socket error.
pub async fn serve_until_ctrl_c(args: ServeOptions) -> Result<(), Error> {
    let config = match &args.config {
        Some(path) => MockBankConfig::from_toml_file(path)?,
        None => MockBankConfig::default(),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: args.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(Error::Serve)?;
    let base = format!("http://{addr}");
    let state = BankState::new(config)?;
    if state.base_url().is_none() {
        state.set_base_url(base.clone());
    }
    println!("tpe mock bank listening on {base}");
    println!(
        "  Paybox payment page   {base}/cgi/MYchoix_pagepaiement.cgi  (also /cgi/FramepagepaiementRWD.cgi, /php/)"
    );
    println!("  Paybox Direct         {base}/PPPS.php");
    println!("  Paybox status         {base}/load.html");
    println!("  Paybox public key     {base}/_mock/keys/paybox.pem");
    println!(
        "  Stripe-like API       {base}/v1/checkout/sessions  (test key: see the mock-bank README)"
    );
    println!(
        "  Monetico page         {base}/test/paiement.cgi  (production: /paiement.cgi; CGI2 URL: PUT /_mock/monetico/cgi2)"
    );
    println!("  Journal               {base}/_mock/journal");
    println!("  Control API           {base}/_mock/");
    let app = router(state.clone());
    state.start_instalment_clock();
    let result = tpe_http::serve(listener, app, tpe_http::Limits::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(Error::Serve);
    state.shutdown();
    result
}

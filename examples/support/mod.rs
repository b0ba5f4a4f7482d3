//! What the examples share: the mock bank started in the same process, the public Paybox test
//! merchant pointed at it, and (for their tests) a browser that pays on the bank's page.
//!
//! A real shop has none of this: its `PayboxConfig` comes from `PayboxConfig::from_env()` or a
//! TOML file, with the bank's production platform and public key.
#![allow(dead_code)]

use std::sync::Arc;

use secrecy::SecretString;
use tpe::core::{Customer, PostalAddress, Registry};
use tpe::engine::{Engine, Mailer, ShopSettings};
use tpe::mock_bank::{MockBank, MockBankConfig, RunningBank};
use tpe::paybox::config::{Platform, PublicKeySource};
use tpe::paybox::{Paybox, PayboxConfig};
use tpe::store::PaymentStore;

/// Boxed errors: the examples stop at the first one and print it.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// The accepted Paybox test card of the mock bank.
const ACCEPTED_CARD: &str = "1111222233334444";

/// A customer with what PSD2 asks for (a phone and an address); in a real shop, the account's.
pub(crate) fn customer(email: &str) -> Customer {
    Customer {
        first_name: "Jeanne".into(),
        last_name: "Martin".into(),
        email: email.into(),
        phone: Some("06 12 34 56 78".into()),
        address: Some(PostalAddress {
            line1: "12 chemin des Lilas".into(),
            line2: None,
            postcode: "69480".into(),
            city: "Anse".into(),
            country: "FR".into(),
        }),
    }
}

/// Starts the mock bank on a free loopback port (quick retries, as in tests).
pub(crate) async fn start_bank() -> Result<RunningBank, Error> {
    Ok(MockBank::spawn(MockBankConfig::for_tests()).await?)
}

/// The public Paybox test merchant, its pages and its signing key those of `bank`.
pub(crate) fn paybox_config(bank: &RunningBank) -> Result<PayboxConfig, Error> {
    let mut config = PayboxConfig::new(
        "1999888",
        "32",
        "107904482",
        SecretString::from(tpe::mock_bank::PAYBOX_TEST_HMAC_KEY),
    );
    config.platform = Platform::at_base_url(&format!("{}/", bank.base_url()).parse()?)?;
    config.public_keys = vec![PublicKeySource::Pem(
        bank.paybox_public_key_pem().to_owned(),
    )];
    Ok(config)
}

/// The auto-submitted form of a page the shop sent to the browser (the engine's redirect
/// page): its action and its fields, decoded.
#[cfg(test)]
pub(crate) fn form_in(html: &str) -> Result<tpe::core::Redirect, Error> {
    fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let from = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(&tag[from..from + tag[from..].find('"')?])
    }
    let decode = |s: &str| html_escape::decode_html_entities(s).into_owned();
    let form = html.split("<form").nth(1).ok_or("no form in the page")?;
    let action = attribute(form, "action").ok_or("no form action")?;
    let fields = form
        .split("<input")
        .skip(1)
        .filter_map(|tag| {
            Some((
                decode(attribute(tag, "name")?),
                decode(attribute(tag, "value")?),
            ))
        })
        .collect();
    let mut redirect = tpe::core::Redirect::get(decode(action).parse()?);
    redirect.method = tpe::core::HttpMethod::Post;
    redirect.fields = fields;
    Ok(redirect)
}

/// The engine for a shop served at `base`, paid through the mock bank `bank`.
pub(crate) fn paybox_engine(
    bank: &RunningBank,
    store: Arc<dyn PaymentStore>,
    mailer: Arc<dyn Mailer>,
    base: &str,
) -> Result<Engine, Error> {
    let mut registry = Registry::new();
    registry.register(Arc::new(Paybox::new(paybox_config(bank)?)?))?;
    let settings = ShopSettings::new(
        "Ferme des Lilas",
        base.parse()?,
        "gestion@shop.example",
        "boutique@shop.example",
    )?
    // The engine's return page links back to the shop.
    .with_order_summary_url(base.parse()?);
    Ok(Engine::builder(registry, store, mailer, settings).build()?)
}

/// A server of `router` on `listener`, stopped by [`Server::stop`].
pub(crate) struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Serves `router` as a shop does: bounded, with a graceful shutdown.
    pub(crate) fn spawn(listener: tokio::net::TcpListener, router: axum::Router) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(tpe::http::serve(
            listener,
            router,
            tpe::http::Limits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Self { stop, handle }
    }

    /// Stops serving and waits for the server to end.
    pub(crate) async fn stop(self) -> Result<(), Error> {
        let _ = self.stop.send(());
        Ok(self.handle.await??)
    }
}

/// Plays the customer's browser: submits the signed form to the bank, then pays on the bank's
/// page with the accepted test card. Returns the bank's last answer.
#[cfg(test)]
pub(crate) async fn pay_on_the_bank_page(
    bank: &RunningBank,
    browser: &reqwest::Client,
    redirect: &tpe::core::Redirect,
) -> Result<reqwest::Response, Error> {
    let card = ACCEPTED_CARD;
    let page = browser
        .post(redirect.action.clone())
        .form(&redirect.fields)
        .send()
        .await?
        .text()
        .await?;
    let marker = "action=\"/paybox/page/";
    let from = page
        .find(marker)
        .ok_or("no payment form on the bank's page")?
        + marker.len();
    let id = &page[from..from + page[from..].find('"').ok_or("unterminated form action")?];
    let paid = browser
        .post(format!("{}/paybox/page/{id}", bank.base_url()))
        .form(&[
            ("numero", card),
            ("expiry", "12/99"),
            ("cvv", "123"),
            ("action", "pay"),
        ])
        .send()
        .await?;
    Ok(paid)
}

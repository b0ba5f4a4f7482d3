//! A service that only receives the bank's notifications: it verifies each one with the
//! provider (the signature over the raw bytes, before anything is read) and records the
//! verified ones, one JSON object a line. The checkouts are made elsewhere (another shop
//! system); no store, no engine.
//!
//! `cargo run --example webhook_only` listens on 127.0.0.1:3001 and appends to
//! `notifications.jsonl`. A bank retries until it gets its answer, so a payment may be
//! recorded more than once: what reads the file keys it by `bank_transaction_id`.

mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use tpe::core::clock::{Clock as _, SystemClock};
use tpe::core::{HttpMethod, PaymentProvider, RawNotification, Verified};
use tpe::paybox::Paybox;

use support::Error;

/// The provider that verifies, and the file the verified notifications go to.
#[derive(Clone)]
struct Recorder {
    provider: Arc<Paybox>,
    file: Arc<Mutex<std::fs::File>>,
}

impl Recorder {
    fn open(provider: Arc<Paybox>, path: impl Into<PathBuf>) -> Result<Self, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.into())?;
        Ok(Self {
            provider,
            file: Arc::new(Mutex::new(file)),
        })
    }
}

/// `GET|POST /notify`: 200 once recorded, 400 for what does not verify (never read further),
/// 500 when the file cannot be written (the bank tries again later).
async fn notify(
    State(recorder): State<Recorder>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let method = if method == Method::POST {
        HttpMethod::Post
    } else {
        HttpMethod::Get
    };
    let query = query.unwrap_or_default();
    let Ok(raw) = RawNotification::new(method, query, body, headers, None) else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too large\n");
    };
    let verified = match recorder.provider.verify(&raw, SystemClock.now()) {
        Ok(Verified::Payment(payment)) => payment,
        Ok(_) => return (StatusCode::OK, ""),
        // The reason goes to the log, not to the sender: it could help a forger.
        Err(e) => {
            eprintln!("notification rejected: {e}");
            return (StatusCode::BAD_REQUEST, "rejected\n");
        }
    };
    let Ok(line) = serde_json::to_string(&verified) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n");
    };
    let written = match recorder.file.lock() {
        Ok(mut file) => writeln!(file, "{line}").and_then(|()| file.sync_data()),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n"),
    };
    match written {
        Ok(()) => (StatusCode::OK, ""),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n"),
    }
}

fn app(recorder: Recorder) -> Router {
    Router::new()
        .route("/notify", any(notify))
        .with_state(recorder)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bank = support::start_bank().await?;
    let recorder = Recorder::open(
        Arc::new(Paybox::new(support::paybox_config(&bank)?)?),
        "notifications.jsonl",
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!(
        "notifications: http://{}/notify (Ctrl-C to stop)",
        listener.local_addr()?
    );
    tpe::http::serve(
        listener,
        app(recorder),
        tpe::http::Limits::default(),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    bank.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tpe::core::{Amount, Currency, Lang, PaymentReference, PaymentRequest, ReturnUrls};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_paid_checkout_is_verified_and_recorded_and_a_forgery_is_not() -> Result<(), Error> {
        let bank = support::start_bank().await?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("notifications.jsonl");
        let paybox = Arc::new(Paybox::new(support::paybox_config(&bank)?)?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let notify_url = format!("http://{}/notify", listener.local_addr()?);
        let server = support::Server::spawn(listener, app(Recorder::open(paybox.clone(), &path)?));

        // The other shop system prepares the checkout, the notification URL this service's.
        let back: url::Url = "https://shop.example/back".parse()?;
        let urls = ReturnUrls {
            accepted: back.clone(),
            refused: back.clone(),
            cancelled: back.clone(),
            pending: back,
            notify: notify_url.parse()?,
        };
        let reference = PaymentReference::parse("WEBHOOK-1")?;
        let customer = support::customer("jeanne@example.fr").validate_for_payment()?;
        let amount = Amount::new(1250, Currency::EUR)?;
        let request = PaymentRequest::new(reference, amount, customer, "Panier", 1, urls, Lang::Fr);
        let redirect = paybox.prepare(&request, SystemClock.now()).await?.redirect;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        support::pay_on_the_bank_page(&bank, &browser, &redirect).await?;

        // The bank notifies before it sends the browser back: the line is there.
        let recorded = std::fs::read_to_string(&path)?;
        let line: serde_json::Value =
            serde_json::from_str(recorded.lines().next().ok_or("nothing recorded")?)?;
        assert_eq!(line["bank_reference"], "WEBHOOK-1", "{line}");
        assert!(line["outcome"]["Accepted"].is_object(), "{line}");

        // A forged notification is refused and not recorded.
        let forged = browser
            .get(format!(
                "{notify_url}?Mt=1250&Ref=WEBHOOK-1&Erreur=00000&Sign=AAAA"
            ))
            .send()
            .await?;
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        assert_eq!(std::fs::read_to_string(&path)?, recorded);
        server.stop().await?;
        bank.shutdown().await;
        Ok(())
    }
}

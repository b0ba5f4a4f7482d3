//! `tpe-mock-bank`: the bank side of Paybox and of the Stripe-like PSP, for people and for tests.
//!
//! An axum server that speaks each bank's real wire protocol — written independently of the
//! provider crates and checked against the published vectors — with hosted payment pages a person
//! can use, signed server-to-server notifications with bounded retries, the status / refund APIs,
//! scripted outcomes and faults per payment reference, and a journal of everything received and
//! sent.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tpe_mock_bank::Error> {
//! use tpe_mock_bank::{MockBank, MockBankConfig, Outcome, Scenario};
//! let bank = MockBank::spawn(MockBankConfig::for_tests()).await?;
//! bank.script("ORDER-1", Scenario::outcome(Outcome::Refuse { code: "00151".into() }));
//! let page = format!("{}/cgi/MYchoix_pagepaiement.cgi", bank.base_url());
//! # let _ = page; Ok(()) }
//! ```

pub mod cli;
mod config;
mod control;
mod error;
mod journal;
mod notify;
pub mod paybox;
mod scenario;
mod secret;
mod state;
pub mod stripe_like;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use config::{
    Clock, DEFAULT_STRIPE_SECRET_KEY, DEFAULT_STRIPE_WEBHOOK_SECRET, MockBankConfig,
    PAYBOX_TEST_HMAC_KEY, PayboxMerchant, RetryPolicy, StripeAccount,
};
pub use error::Error;
pub use journal::{EntryKind, JournalEntry, Side};
pub use scenario::{ApiFault, Outcome, Scenario};
pub use secret::Secret;
pub use state::BankState;

/// The router of the mock bank, for in-process use (`tower::ServiceExt::oneshot`) or serving.
///
/// Every request is bounded in size (`max_body_bytes`) and time (`request_timeout`) and recorded
/// in the journal (except reads of the journal itself).
pub fn router(state: BankState) -> axum::Router {
    let limit = state.config().max_body_bytes;
    let timeout = state.config().request_timeout;
    let mut r = axum::Router::new();
    for path in paybox::PAGE_PATHS {
        r = r.route(path, get(paybox::page_entry).post(paybox::page_entry));
    }
    r.route("/paybox/page/{id}", post(paybox::page_submit))
        .route("/paybox/page/{id}/3ds", post(paybox::challenge_submit))
        .route("/load.html", get(paybox::load_html))
        .route("/PPPS.php", post(paybox::ppps))
        .route(
            "/v1/checkout/sessions",
            get(stripe_like::list_sessions).post(stripe_like::create_session),
        )
        .route("/v1/checkout/sessions/{id}", get(stripe_like::get_session))
        .route(
            "/v1/checkout/sessions/{id}/expire",
            post(stripe_like::expire_session),
        )
        .route("/v1/refunds", post(stripe_like::create_refund))
        .route(
            "/c/pay/{id}",
            get(stripe_like::hosted_page).post(stripe_like::hosted_submit),
        )
        .merge(control::routes())
        .layer(middleware::from_fn_with_state(state.clone(), journal_layer))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// What a handler tells the journal about the request it served.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    reference: Option<String>,
    detail: String,
}

impl Note {
    pub(crate) fn new(reference: Option<&str>, detail: &str) -> Self {
        Self {
            reference: reference.map(str::to_owned),
            detail: detail.to_owned(),
        }
    }

    pub(crate) fn attach(self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

async fn journal_layer(State(state): State<BankState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    if path == "/_mock/journal" && method == "GET" {
        return response;
    }
    let side = if path.starts_with("/_mock") || path == "/load.html" {
        Side::Control
    } else if path.starts_with("/v1/") || path.starts_with("/c/") {
        Side::StripeLike
    } else {
        Side::Paybox
    };
    let note = response.extensions().get::<Note>().cloned();
    let mut entry = JournalEntry::new(
        EntryKind::Request,
        side,
        path.chars().take(512).collect::<String>(),
        note.as_ref().map_or("", |n| n.detail.as_str()),
    )
    .reference(note.as_ref().and_then(|n| n.reference.as_deref()))
    .method(&method);
    entry.status = Some(response.status().as_u16());
    state.record(entry);
    response
}

pub(crate) fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{}</title><style>body{{font-family:sans-serif;max-width:36em;margin:2em auto}}.error{{color:#a00}}</style></head>\
<body>{body}</body></html>",
        html_escape::encode_text(title)
    )
}

/// Random lower-case hex of `bytes` bytes, for unguessable session ids.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes.min(64)];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness: fall back to a time-and-counter value; ids stay unique, if guessable.
        static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return format!("{n:0width$x}", width = bytes.min(64) * 2);
    }
    hex::encode(buf)
}

/// Entry point of the library: starts a mock bank on loopback.
#[derive(Debug)]
pub struct MockBank;

impl MockBank {
    /// Starts a mock bank on `127.0.0.1:0` (a free port) in the current tokio runtime.
    ///
    /// # Errors
    /// A configuration, key or socket error.
    pub async fn spawn(config: MockBankConfig) -> Result<RunningBank, Error> {
        Self::spawn_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a mock bank on a given address.
    ///
    /// # Errors
    /// A configuration, key or socket error.
    pub async fn spawn_on(addr: SocketAddr, config: MockBankConfig) -> Result<RunningBank, Error> {
        let state = BankState::new(config)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(Error::Serve)?;
        let base_url = format!("http://{local}");
        if state.base_url().is_none() {
            state.set_base_url(base_url.clone());
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(state.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningBank {
            state,
            base_url,
            addr: local,
            shutdown: Some(tx),
            handle,
        })
    }
}

/// A mock bank serving in the background; it stops when dropped.
///
/// Dereferences to [`BankState`] for the Rust control API (`script`, `journal`, …).
#[derive(Debug)]
pub struct RunningBank {
    state: BankState,
    base_url: String,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningBank {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (the Rust control API).
    #[must_use]
    pub fn state(&self) -> &BankState {
        &self.state
    }

    /// Stops serving and waits (at most five seconds) for the server task to end.
    pub async fn shutdown(mut self) {
        self.stop();
        let handle = std::mem::replace(&mut self.handle, tokio::spawn(async {}));
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }

    fn stop(&mut self) {
        self.state.shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl std::ops::Deref for RunningBank {
    type Target = BankState;
    fn deref(&self) -> &BankState {
        &self.state
    }
}

impl Drop for RunningBank {
    fn drop(&mut self) {
        self.stop();
        // Graceful shutdown waits for open connections; abort so a dropped bank never lingers.
        self.handle.abort();
    }
}

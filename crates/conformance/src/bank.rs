//! The bank side of a protocol, as the suite drives it: open the prepared redirect like a
//! browser, pay on the hosted page, forge notifications, say what the bank accepts.
//!
//! Implementations live in this crate for the mock bank ([`crate::MockPaybox`],
//! [`crate::MockStripeLike`]); they are written from the bank's specification and never call
//! the provider crate, so a provider and its bank side cannot share a misunderstanding
//! unnoticed.

use std::fmt;
use std::ops::RangeInclusive;

use bytes::Bytes;
use tpe_core::{
    Currency, HttpMethod, NotificationTooLarge, OutcomeKind, RawNotification, Redirect,
};
use url::Url;

/// The bank side of one protocol.
#[async_trait::async_trait]
pub trait BankSide: Send + Sync + 'static {
    /// A short name for messages (`mock-paybox`).
    fn name(&self) -> &'static str;

    /// Tells the bank where server-to-server notifications go, for banks that keep the
    /// endpoint in their own settings (a PSP's registered webhook). Banks that take it from
    /// the signed redirect do nothing.
    ///
    /// # Errors
    /// When the bank refuses the URL.
    async fn listen(&self, notify_url: &Url) -> Result<(), String> {
        let _ = notify_url;
        Ok(())
    }

    /// Submits the redirect as a browser would. `Ok` when the bank shows its payment page,
    /// `Err` when it answers with an error or access-refused page.
    ///
    /// # Errors
    /// [`Refusal`] with the bank's words.
    async fn open(&self, redirect: &Redirect) -> Result<Page, Refusal>;

    /// The redirect fields the bank authenticates (empty when the redirect carries none, as
    /// with a session created over an authenticated API).
    fn signed_fields(&self, redirect: &Redirect) -> Vec<String>;

    /// Drives the opened page to `outcome` (test cards, buttons, scripts, API calls).
    ///
    /// # Errors
    /// [`BankError::Unsupported`] when the bank cannot express that outcome;
    /// [`BankError::Failed`] when the page did not behave.
    async fn complete(&self, page: &Page, outcome: OutcomeKind) -> Result<Completion, BankError>;

    /// Makes the bank sign the notifications of `reference` with a wrong key. `false` when
    /// the bank side cannot do that.
    fn sign_wrongly(&self, reference: &str) -> bool;

    /// Variants of a genuine notification damaged as `forgery` says (empty when the scheme
    /// has no such variant).
    fn forge(&self, genuine: &Captured, forgery: Forgery) -> Vec<Captured>;

    /// Headers that carry signature material (flipped byte by byte like the payload).
    fn signature_headers(&self) -> &'static [&'static str];

    /// The currencies the bank accepts.
    fn currencies(&self) -> Vec<Currency>;

    /// The largest amount, in minor units, the bank accepts in `currency`.
    fn max_amount(&self, currency: Currency) -> u64;

    /// The acknowledgement the bank expects from the shop.
    fn expected_ack(&self) -> ExpectedAck;

    /// The answer the bank expects to a notification the shop rejects (forged, malformed):
    /// by default any 4xx, body ignored. A bank with its own words (Monetico's
    /// `version=2\ncdr=1\n`) says so here.
    fn expected_rejection(&self) -> ExpectedAck {
        ExpectedAck::status(400..=499)
    }

    /// The bank's record of its notification deliveries for `reference`.
    fn deliveries(&self, reference: &str) -> Deliveries;
}

/// The bank's payment page, as the bank understood the redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The bank's id of the page or session.
    pub handle: String,
    /// The reference the page shows.
    pub reference: String,
    /// The amount the bank will charge, in minor units of [`Page::currency`].
    pub amount_minor: u64,
    /// The currency the bank will charge in.
    pub currency: Currency,
}

/// The bank refused to show its payment page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status of the bank's answer.
    pub status: u16,
    /// The bank's words (error code and message), short.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.message)
    }
}

/// How a driven page ended, and where its notification goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The refusal code the bank put in the notification, when it sends one.
    pub expected_code: Option<String>,
    /// Where the signed answer arrives.
    pub channel: Channel,
}

/// Where a signed answer of the bank reaches the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Channel {
    /// The server-to-server notification URL.
    ServerToServer,
    /// The customer's browser, sent back to the return URL of the outcome (for outcomes the
    /// bank reports only that way, e.g. a cancel on Paybox's page).
    BrowserReturn,
}

/// Why a bank side could not drive a page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BankError {
    /// The bank cannot express this outcome in a signed answer.
    Unsupported(&'static str),
    /// The page did not behave as the bank's protocol says.
    Failed(String),
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) => write!(f, "the bank cannot express {what}"),
            Self::Failed(what) => write!(f, "the bank page failed: {what}"),
        }
    }
}

/// A damage done to a genuine notification's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forgery {
    /// The signature removed.
    Missing,
    /// The signature present but empty.
    Empty,
    /// The signature given twice.
    Duplicated,
    /// The signature in an encoding the scheme does not allow.
    BadlyEncoded,
}

impl Forgery {
    /// Every forgery.
    pub const ALL: [Self; 4] = [
        Self::Missing,
        Self::Empty,
        Self::Duplicated,
        Self::BadlyEncoded,
    ];
}

/// The acknowledgement a bank expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAck {
    /// Statuses the bank takes as "received".
    pub status: RangeInclusive<u16>,
    /// The exact body, when the bank reads it; `None` when the bank ignores the body.
    pub body: Option<&'static str>,
}

impl ExpectedAck {
    /// Any status of `status`, the body ignored.
    pub const fn status(status: RangeInclusive<u16>) -> Self {
        Self { status, body: None }
    }

    /// Any status of `status` with exactly `body`.
    pub const fn with_body(status: RangeInclusive<u16>, body: &'static str) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }
}

/// What the bank's journal says about the notifications of one reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// Delivery attempts, in order: attempt number and the shop's status (`None` on a
    /// transport error).
    pub attempts: Vec<(u32, Option<u16>)>,
    /// Whether the bank gave up on a notification.
    pub gave_up: bool,
}

/// A request as the shop's server received it.
#[derive(Clone)]
pub struct Captured {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path, without the query.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: Bytes,
    /// Raw body.
    pub body: Bytes,
    /// Headers.
    pub headers: http::HeaderMap,
}

impl Captured {
    /// The request as a provider receives it.
    ///
    /// # Errors
    /// When the query or body exceed the bounds of [`RawNotification`].
    pub fn to_raw(&self) -> Result<RawNotification, NotificationTooLarge> {
        RawNotification::new(
            self.method,
            self.query.clone(),
            self.body.clone(),
            self.headers.clone(),
            None,
        )
    }

    /// The bytes a form-style signature covers: the body of a POST, else the query.
    pub fn payload(&self) -> &Bytes {
        match self.method {
            HttpMethod::Post => &self.body,
            _ => &self.query,
        }
    }

    /// A copy whose payload (body of a POST, else query) is `payload`.
    #[must_use]
    pub fn with_payload(&self, payload: impl Into<Bytes>) -> Self {
        let mut c = self.clone();
        match c.method {
            HttpMethod::Post => c.body = payload.into(),
            _ => c.query = payload.into(),
        }
        c
    }
}

impl fmt::Debug for Captured {
    // Payloads may carry personal data: sizes only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Captured")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_len", &self.query.len())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

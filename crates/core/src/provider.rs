//! The [`PaymentProvider`] trait and the values that cross it.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Timestamp;
use crate::customer::ValidatedCustomer;
use crate::error::ProviderError;
use crate::money::Amount;
use crate::reason::{Lang, Reason};
use crate::reference::PaymentReference;

/// A provider's stable identifier (`paybox`, `stripe-like`): stored in every database row.
/// One to 32 characters of `[a-z0-9-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(Cow<'static, str>);

impl ProviderId {
    /// A compile-time identifier. Panics at compile time in a `const` if invalid.
    pub const fn from_static(id: &'static str) -> Self {
        let b = id.as_bytes();
        assert!(
            !b.is_empty() && b.len() <= 32,
            "provider id must have 1 to 32 characters"
        );
        let mut i = 0;
        while i < b.len() {
            assert!(
                b[i].is_ascii_lowercase() || b[i].is_ascii_digit() || b[i] == b'-',
                "provider id must be [a-z0-9-]"
            );
            i += 1;
        }
        Self(Cow::Borrowed(id))
    }

    /// Parses an identifier read from storage or configuration.
    ///
    /// # Errors
    /// When empty, longer than 32 or outside `[a-z0-9-]`.
    pub fn parse(s: &str) -> Result<Self, InvalidProviderId> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(Cow::Owned(s.to_owned())))
        } else {
            Err(InvalidProviderId)
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ProviderId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProviderId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A provider identifier that is not `[a-z0-9-]{1,32}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider id must be 1 to 32 characters of [a-z0-9-]")]
pub struct InvalidProviderId;

/// What a provider can do beyond preparing redirects and verifying notifications.
/// The conformance suite skips checks by capability, and says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// `query_status` asks the bank.
    pub status_query: bool,
    /// `refund` works.
    pub refund: bool,
    /// Partial refunds work.
    pub partial_refund: bool,
    /// Deferred capture of an authorization.
    pub capture: bool,
    /// Cancelling an authorization.
    pub cancel: bool,
    /// Notifications carry a signed timestamp (so stale ones can be refused).
    pub signed_timestamp: bool,
    /// `prepare` performs network I/O (API-first PSPs).
    pub prepare_does_io: bool,
}

impl Capabilities {
    /// No optional capability.
    pub const NONE: Self = Self {
        status_query: false,
        refund: false,
        partial_refund: false,
        capture: false,
        cancel: false,
        signed_timestamp: false,
        prepare_does_io: false,
    };

    /// With status queries.
    #[must_use]
    pub const fn with_status_query(mut self) -> Self {
        self.status_query = true;
        self
    }

    /// With refunds (and partial refunds when `partial`).
    #[must_use]
    pub const fn with_refund(mut self, partial: bool) -> Self {
        self.refund = true;
        self.partial_refund = partial;
        self
    }

    /// With deferred capture.
    #[must_use]
    pub const fn with_capture(mut self) -> Self {
        self.capture = true;
        self
    }

    /// With cancellation of authorizations.
    #[must_use]
    pub const fn with_cancel(mut self) -> Self {
        self.cancel = true;
        self
    }

    /// With signed notification timestamps.
    #[must_use]
    pub const fn with_signed_timestamp(mut self) -> Self {
        self.signed_timestamp = true;
        self
    }

    /// With network I/O in `prepare`.
    #[must_use]
    pub const fn with_prepare_io(mut self) -> Self {
        self.prepare_does_io = true;
        self
    }
}

/// The browser URLs and the server-to-server notification URL of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnUrls {
    /// Browser return after an accepted payment.
    pub accepted: Url,
    /// Browser return after a refusal.
    pub refused: Url,
    /// Browser return after the customer cancelled.
    pub cancelled: Url,
    /// Browser return while the outcome is pending.
    pub pending: Url,
    /// Server-to-server notification URL (the only authoritative channel).
    pub notify: Url,
}

/// Everything a provider needs to prepare a redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentRequest {
    /// The checkout's reference, sent to the bank.
    pub reference: PaymentReference,
    /// The amount to pay.
    pub amount: Amount,
    /// The customer, checked for PSD2.
    pub customer: ValidatedCustomer,
    /// A short label of the purchase ("Commande 1042").
    pub description: String,
    /// Total quantity of items in the cart (3-D Secure data), at least 1.
    pub item_count: u32,
    /// Return and notification URLs.
    pub urls: ReturnUrls,
    /// Language of the payment page.
    pub language: Lang,
}

impl PaymentRequest {
    /// A request; the description is bounded to 200 characters and `item_count` to at least 1.
    pub fn new(
        reference: PaymentReference,
        amount: Amount,
        customer: ValidatedCustomer,
        description: impl Into<String>,
        item_count: u32,
        urls: ReturnUrls,
        language: Lang,
    ) -> Self {
        let description: String = description.into().chars().take(200).collect();
        Self {
            reference,
            amount,
            customer,
            description,
            item_count: item_count.max(1),
            urls,
            language,
        }
    }
}

/// The HTTP method of a redirect or notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// Where to send the customer's browser: a form to auto-submit (POST) or a URL (GET).
///
/// The field order is the signed order; renderings keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// POST for a signed form, GET for a plain redirect.
    pub method: HttpMethod,
    /// Form action or redirect target.
    pub action: Url,
    /// Ordered form fields (empty for a plain GET redirect).
    pub fields: Vec<(String, String)>,
}

impl Redirect {
    /// A plain GET redirect to `url`.
    pub fn get(url: Url) -> Self {
        Self {
            method: HttpMethod::Get,
            action: url,
            fields: Vec::new(),
        }
    }

    /// The URL with the fields as query string, for GET redirects.
    pub fn location(&self) -> Url {
        let mut url = self.action.clone();
        if !self.fields.is_empty() {
            url.query_pairs_mut().extend_pairs(self.fields.iter());
        }
        url
    }

    /// A complete HTML page that submits the form at once, with a visible button for browsers
    /// without script. Every value is HTML-escaped; the browser submits the original bytes, so
    /// the bank sees exactly what was signed.
    ///
    /// ```
    /// use tpe_core::{Lang, Redirect, HttpMethod};
    /// let r = Redirect { method: HttpMethod::Post,
    ///     action: "https://bank.example/pay".parse().unwrap(),
    ///     fields: vec![("X".into(), "<\"a&b\">".into())] };
    /// let html = r.to_html_form(Lang::En);
    /// assert!(html.contains(r#"value="&lt;&quot;a&amp;b&quot;&gt;""#));
    /// ```
    pub fn to_html_form(&self, lang: Lang) -> String {
        use std::fmt::Write as _;
        let (title, button) = match lang {
            Lang::Fr => (
                "Redirection vers la page de paiement",
                "Continuer vers le paiement",
            ),
            _ => ("Redirecting to the payment page", "Continue to payment"),
        };
        let method = match self.method {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
        };
        let mut out = String::with_capacity(
            512 + self
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>(),
        );
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
             <body onload=\"document.forms[0].submit()\">\n<form method=\"{method}\" action=\"{}\" accept-charset=\"UTF-8\">\n",
            html_escape::encode_double_quoted_attribute(self.action.as_str())
        );
        for (k, v) in &self.fields {
            let _ = writeln!(
                out,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape::encode_double_quoted_attribute(k),
                html_escape::encode_double_quoted_attribute(v)
            );
        }
        let _ = write!(
            out,
            "<p>{title}…</p>\n<button type=\"submit\">{button}</button>\n</form>\n</body></html>\n"
        );
        out
    }
}

/// A notification exactly as it arrived: raw query bytes, raw body bytes, headers and peer.
///
/// Providers verify signatures over these bytes before reading any value.
#[derive(Clone)]
pub struct RawNotification {
    method: HttpMethod,
    query: Bytes,
    body: Bytes,
    headers: http::HeaderMap,
    peer: Option<SocketAddr>,
}

impl RawNotification {
    /// Largest body accepted (64 KiB).
    pub const MAX_BODY: usize = 64 * 1024;
    /// Largest query string accepted (8 KiB).
    pub const MAX_QUERY: usize = 8 * 1024;

    /// Wraps a received request.
    ///
    /// # Errors
    /// [`NotificationTooLarge`] when the body exceeds 64 KiB or the query 8 KiB.
    pub fn new(
        method: HttpMethod,
        query: impl Into<Bytes>,
        body: impl Into<Bytes>,
        headers: http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Self, NotificationTooLarge> {
        let (query, body) = (query.into(), body.into());
        if query.len() > Self::MAX_QUERY {
            return Err(NotificationTooLarge {
                part: "query",
                len: query.len(),
                max: Self::MAX_QUERY,
            });
        }
        if body.len() > Self::MAX_BODY {
            return Err(NotificationTooLarge {
                part: "body",
                len: body.len(),
                max: Self::MAX_BODY,
            });
        }
        Ok(Self {
            method,
            query,
            body,
            headers,
            peer,
        })
    }

    /// The HTTP method.
    pub fn method(&self) -> HttpMethod {
        self.method
    }

    /// The raw query string, without the `?`.
    pub fn query(&self) -> &[u8] {
        &self.query
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The peer address, when known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
}

impl fmt::Debug for RawNotification {
    // Raw bytes may carry personal data; only sizes are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawNotification")
            .field("method", &self.method)
            .field("query_len", &self.query.len())
            .field("body_len", &self.body.len())
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// A notification larger than the bounds of [`RawNotification`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notification {part} has {len} bytes, at most {max} are accepted")]
pub struct NotificationTooLarge {
    /// `"query"` or `"body"`.
    pub part: &'static str,
    /// Size received.
    pub len: usize,
    /// Limit.
    pub max: usize,
}

/// The bank's verdict in a verified notification. A decline is data, not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BankOutcome {
    /// Paid (authorized, or authorized and captured).
    Accepted {
        /// The issuer's authorization number, when given.
        authorization: Option<String>,
    },
    /// Refused with a bank code.
    Refused {
        /// The classified code (raw code in [`Reason::code`]).
        reason: Reason,
    },
    /// Not final yet (e.g. Paybox `99999`, a delayed payment method).
    Pending,
    /// The customer cancelled, or the session expired without payment.
    Cancelled,
}

impl BankOutcome {
    /// The kind of outcome, for keys and storage.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::Accepted { .. } => OutcomeKind::Accepted,
            Self::Refused { .. } => OutcomeKind::Refused,
            Self::Pending => OutcomeKind::Pending,
            Self::Cancelled => OutcomeKind::Cancelled,
        }
    }
}

/// [`BankOutcome`] without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OutcomeKind {
    /// Accepted.
    Accepted,
    /// Refused.
    Refused,
    /// Pending.
    Pending,
    /// Cancelled.
    Cancelled,
}

impl OutcomeKind {
    /// Lower-case name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Pending => "pending",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses [`OutcomeKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => Self::Accepted,
            "refused" => Self::Refused,
            "pending" => Self::Pending,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// A masked card summary: never more than the first six and last four digits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CardSummary {
    /// Brand or card type as the bank names it ("CB", "VISA").
    pub brand: Option<String>,
    /// First six digits.
    pub bin: Option<String>,
    /// Last digits (two for Paybox, four for most PSPs).
    pub last_digits: Option<String>,
    /// Expiry, `YYMM`.
    pub expiry: Option<String>,
    /// Issuer's country, ISO 3166 alpha code as the bank sent it.
    pub country: Option<String>,
}

impl CardSummary {
    /// A summary whose digit fields are checked: the BIN is cut to 6 digits and the last digits
    /// to 4, non-digits dropped, so no full card number can ever be stored.
    pub fn masked(
        brand: Option<&str>,
        bin: Option<&str>,
        last_digits: Option<&str>,
        expiry: Option<&str>,
        country: Option<&str>,
    ) -> Self {
        fn digits(s: Option<&str>, keep_last: bool, n: usize) -> Option<String> {
            let d: Vec<char> = s?.chars().filter(char::is_ascii_digit).collect();
            let d: String = if keep_last {
                d[d.len().saturating_sub(n)..].iter().collect()
            } else {
                d.iter().take(n).collect()
            };
            (!d.is_empty()).then_some(d)
        }
        let short = |s: Option<&str>, n: usize| {
            s.map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(n)
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty())
        };
        Self {
            brand: short(brand, 32),
            bin: digits(bin, false, 6),
            last_digits: digits(last_digits, true, 4),
            expiry: digits(expiry, false, 4),
            country: short(country, 3),
        }
    }
}

impl fmt::Display for CardSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}…{}",
            self.brand.as_deref().unwrap_or("card"),
            self.bin.as_deref().unwrap_or(""),
            self.last_digits.as_deref().unwrap_or("")
        )
    }
}

/// 3-D Secure authentication result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ThreeDsStatus {
    /// Authenticated (`Y`).
    Authenticated,
    /// Attempted, forced by the issuer (`A`).
    Attempted,
    /// Not authenticated (`N`).
    NotAuthenticated,
    /// Could not be performed (`U`).
    Unavailable,
}

/// 3-D Secure data of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeDs {
    /// Authentication status.
    pub status: Option<ThreeDsStatus>,
    /// Liability shifted to the issuer.
    pub liability_shift: Option<bool>,
    /// Protocol version, as sent.
    pub version: Option<String>,
}

/// A notification whose signature verified: the only input the lifecycle accepts from a bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VerifiedNotification {
    /// Provider that verified it.
    pub provider: ProviderId,
    /// Checkout reference.
    pub reference: PaymentReference,
    /// The bank's id of this try (stable per try; at most
    /// [`Self::MAX_TRANSACTION_ID`] characters).
    pub bank_transaction_id: String,
    /// Verdict.
    pub outcome: BankOutcome,
    /// Amount the bank announces.
    pub amount: Amount,
    /// Masked card data.
    pub card: Option<CardSummary>,
    /// 3-D Secure data.
    pub three_ds: Option<ThreeDs>,
    /// The provider's event id (for logs and deduplication), if any.
    pub event_id: Option<String>,
}

impl VerifiedNotification {
    /// The longest bank transaction id, in characters: PSP object ids run to 255 (a Checkout
    /// Session id is 66), and a cut id would name nothing at the bank.
    pub const MAX_TRANSACTION_ID: usize = 255;

    /// A notification; `bank_transaction_id` is bounded to [`Self::MAX_TRANSACTION_ID`]
    /// characters.
    pub fn new(
        provider: ProviderId,
        reference: PaymentReference,
        bank_transaction_id: impl Into<String>,
        outcome: BankOutcome,
        amount: Amount,
    ) -> Self {
        let mut id: String = bank_transaction_id.into();
        truncate_chars(&mut id, Self::MAX_TRANSACTION_ID);
        Self {
            provider,
            reference,
            bank_transaction_id: id,
            outcome,
            amount,
            card: None,
            three_ds: None,
            event_id: None,
        }
    }

    /// With a card summary.
    #[must_use]
    pub fn with_card(mut self, card: CardSummary) -> Self {
        self.card = Some(card);
        self
    }

    /// With 3-D Secure data.
    #[must_use]
    pub fn with_three_ds(mut self, three_ds: ThreeDs) -> Self {
        self.three_ds = Some(three_ds);
        self
    }

    /// With the provider's event id.
    #[must_use]
    pub fn with_event_id(mut self, id: impl Into<String>) -> Self {
        let mut id: String = id.into();
        truncate_chars(&mut id, 128);
        self.event_id = Some(id);
        self
    }
}

/// Cuts `s` to its first `max` characters, in place. Without looking at the characters when
/// it has no more than `max` bytes, the usual case.
fn truncate_chars(s: &mut String, max: usize) {
    if s.len() > max
        && let Some((end, _)) = s.char_indices().nth(max)
    {
        s.truncate(end);
    }
}

/// An authentic notification that carries nothing for the lifecycle (an event type the
/// provider does not act on). It is acknowledged so the bank stops resending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredEvent {
    /// Provider.
    pub provider: ProviderId,
    /// The event's type as the bank names it.
    pub event_type: String,
    /// The provider's event id, if any.
    pub event_id: Option<String>,
}

/// The result of [`PaymentProvider::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // payments are the common case; boxing them costs more
pub enum Verified {
    /// A payment notification.
    Payment(VerifiedNotification),
    /// An authentic event to acknowledge and ignore.
    Ignored(IgnoredEvent),
}

/// The exact HTTP answer a bank expects for a processed notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Cow<'static, str>,
}

impl Ack {
    /// `200 OK` with an empty plain-text body.
    pub const fn ok_empty() -> Self {
        Self {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: Cow::Borrowed(""),
        }
    }
}

/// What to ask the bank about a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusQuery {
    /// Checkout reference.
    pub reference: PaymentReference,
    /// Expected amount.
    pub amount: Amount,
    /// The bank transaction ids already known for it, newest first.
    pub known_transactions: Vec<String>,
    /// Provider data recorded at prepare time (e.g. a session id).
    pub provider_data: Option<String>,
    /// When the checkout was created.
    pub created_at: Timestamp,
}

impl StatusQuery {
    /// A query for `reference`.
    pub fn new(reference: PaymentReference, amount: Amount, created_at: Timestamp) -> Self {
        Self {
            reference,
            amount,
            known_transactions: Vec::new(),
            provider_data: None,
            created_at,
        }
    }

    /// With known transactions.
    #[must_use]
    pub fn with_transactions(mut self, ids: Vec<String>) -> Self {
        self.known_transactions = ids;
        self
    }

    /// With provider data.
    #[must_use]
    pub fn with_provider_data(mut self, data: Option<String>) -> Self {
        self.provider_data = data;
        self
    }
}

/// The bank's view of a checkout. "Unknown" is not a status: it is an error (the bank could
/// not be asked), and a sweep must then try again later, never retract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RemoteStatus {
    /// Paid (authorized or captured).
    Paid {
        /// Bank transaction id.
        bank_transaction_id: String,
        /// Amount paid.
        amount: Amount,
    },
    /// Not final yet.
    Pending,
    /// Refused.
    Refused {
        /// The code.
        reason: Reason,
    },
    /// Cancelled or expired without payment.
    Cancelled,
    /// Refunded (fully or partly).
    Refunded {
        /// Bank transaction id.
        bank_transaction_id: String,
    },
    /// The bank has no payment for this reference (yet).
    NotFound,
}

/// The answer of [`PaymentProvider::query_status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Reference asked about.
    pub reference: PaymentReference,
    /// What the bank says.
    pub status: RemoteStatus,
}

/// A refund to ask the bank for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRequest {
    /// Checkout reference.
    pub reference: PaymentReference,
    /// The bank transaction to refund.
    pub bank_transaction_id: String,
    /// Amount to refund.
    pub amount: Amount,
    /// Stable key so a retried refund is not made twice.
    pub idempotency_key: String,
}

impl RefundRequest {
    /// A refund of `amount` on `bank_transaction_id`.
    pub fn new(
        reference: PaymentReference,
        bank_transaction_id: impl Into<String>,
        amount: Amount,
        idempotency_key: impl Into<String>,
    ) -> Self {
        Self {
            reference,
            bank_transaction_id: bank_transaction_id.into(),
            amount,
            idempotency_key: idempotency_key.into(),
        }
    }
}

/// A refund the bank took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReceipt {
    /// The bank's refund id.
    pub refund_id: String,
    /// Amount refunded.
    pub amount: Amount,
    /// Whether the refund is final.
    pub pending: bool,
}

/// A bank or PSP, held as `Arc<dyn PaymentProvider>`.
///
/// # Contract
/// Every method is required (no defaults to inherit by accident). `now` is always passed in:
/// no provider reads the clock. Signing, verification and classification are synchronous and
/// CPU-only; `prepare` may do I/O for API-first PSPs.
///
/// # Security
/// `verify` checks the signature over the raw bytes before reading any value and fails closed.
/// No method puts a secret in an error, a `Debug` or a log line.
#[async_trait::async_trait]
pub trait PaymentProvider: fmt::Debug + Send + Sync + 'static {
    /// Stable identifier, stored in database rows.
    fn id(&self) -> ProviderId;

    /// Optional features.
    fn capabilities(&self) -> Capabilities;

    /// The signed redirect for the customer's browser.
    ///
    /// # Errors
    /// [`ProviderError::InvalidRequest`] when the request cannot be expressed for the bank;
    /// API and transport errors for API-first PSPs.
    async fn prepare(
        &self,
        request: &PaymentRequest,
        now: Timestamp,
    ) -> Result<Redirect, ProviderError>;

    /// Verifies a notification exactly as received.
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`], [`ProviderError::Malformed`] or
    /// [`ProviderError::Stale`]; nothing of an unverified notification is returned.
    fn verify(&self, raw: &RawNotification, now: Timestamp) -> Result<Verified, ProviderError>;

    /// The exact answer the bank expects once a verified notification is processed.
    fn acknowledge(&self, verified: &Verified) -> Ack;

    /// Classifies a bank code. Total: unknown codes keep their raw value.
    fn classify(&self, code: &str) -> Reason;

    /// Every code of the provider's table, for `tpe codes` and the conformance suite.
    fn known_codes(&self) -> &'static [&'static str];

    /// Asks the bank about a checkout.
    ///
    /// # Errors
    /// [`ProviderError::Unsupported`] without the capability; a transport error means the
    /// status is unknown.
    async fn query_status(
        &self,
        query: &StatusQuery,
        now: Timestamp,
    ) -> Result<StatusReport, ProviderError>;

    /// Refunds a payment.
    ///
    /// # Errors
    /// [`ProviderError::Unsupported`] without the capability; API and transport errors.
    async fn refund(
        &self,
        request: &RefundRequest,
        now: Timestamp,
    ) -> Result<RefundReceipt, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_keep_their_first_128_characters() {
        let n = |id: String| {
            VerifiedNotification::new(
                ProviderId::from_static("p"),
                PaymentReference::parse("R1").unwrap(),
                "T",
                BankOutcome::Pending,
                Amount::new(1, crate::Currency::EUR).unwrap(),
            )
            .with_event_id(id)
            .event_id
            .unwrap()
        };
        assert_eq!(n("evt_1".into()), "evt_1");
        let long = "é".repeat(200);
        assert_eq!(n(long.clone()), "é".repeat(128));
        assert_eq!(
            n(long[..256].to_owned()),
            "é".repeat(128),
            "exactly 128 kept whole"
        );
    }

    #[test]
    fn transaction_ids_keep_their_first_255_characters() {
        let n = |id: &str| {
            VerifiedNotification::new(
                ProviderId::from_static("p"),
                PaymentReference::parse("R1").unwrap(),
                id,
                BankOutcome::Pending,
                Amount::new(1, crate::Currency::EUR).unwrap(),
            )
            .bank_transaction_id
        };
        // A Checkout Session id (66 characters) is kept whole.
        let session = format!("cs_test_{}", "a1B2".repeat(15))
            .chars()
            .take(66)
            .collect::<String>();
        assert_eq!(session.len(), 66);
        assert_eq!(n(&session), session);
        assert_eq!(n(&"x".repeat(255)), "x".repeat(255));
        assert_eq!(n(&"x".repeat(300)), "x".repeat(255));
        assert_eq!(
            n(&"é".repeat(200)),
            "é".repeat(200),
            "400 bytes, 200 characters"
        );
        assert_eq!(n(&"é".repeat(300)), "é".repeat(255));
    }

    #[test]
    fn raw_notification_is_bounded() {
        let h = http::HeaderMap::new();
        assert!(
            RawNotification::new(
                HttpMethod::Get,
                vec![b'a'; 8 * 1024],
                Bytes::new(),
                h.clone(),
                None
            )
            .is_ok()
        );
        let e = RawNotification::new(
            HttpMethod::Get,
            vec![b'a'; 8 * 1024 + 1],
            Bytes::new(),
            h.clone(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.part, "query");
        let e = RawNotification::new(
            HttpMethod::Post,
            Bytes::new(),
            vec![0; 64 * 1024 + 1],
            h,
            None,
        )
        .unwrap_err();
        assert_eq!(e.part, "body");
    }

    #[test]
    fn card_summary_never_keeps_a_full_number() {
        let c = CardSummary::masked(
            Some("VISA"),
            Some("4970101234567890"),
            Some("4970101234567890"),
            Some("2712"),
            None,
        );
        assert_eq!(c.bin.as_deref(), Some("497010"));
        assert_eq!(c.last_digits.as_deref(), Some("7890"));
        assert!(!format!("{c:?}{c}").contains("4970101234567890"));
    }

    #[test]
    fn html_form_escapes_and_keeps_order() {
        let r = Redirect {
            method: HttpMethod::Post,
            action: "https://bank.example/p?a=1&b=2".parse().unwrap(),
            fields: vec![
                ("B".into(), "<?xml version=\"1.0\"?><x>é</x>".into()),
                ("A".into(), "\"><script>alert(1)</script>".into()),
            ],
        };
        let html = r.to_html_form(Lang::Fr);
        assert!(!html.contains("<script>alert"));
        assert!(html.find("name=\"B\"").unwrap() < html.find("name=\"A\"").unwrap());
        assert!(html.contains("<button type=\"submit\">"));
        assert!(html.contains("action=\"https://bank.example/p?a=1&amp;b=2\""));
    }

    #[test]
    fn provider_ids() {
        assert!(ProviderId::parse("stripe-like").is_ok());
        assert!(ProviderId::parse("Paybox").is_err());
        assert!(ProviderId::parse("").is_err());
        assert!(ProviderId::parse(&"a".repeat(33)).is_err());
    }
}

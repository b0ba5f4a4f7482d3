//! What a bank says (a raw notification, verified) and what it is answered.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::id::ProviderId;
use super::request::{BankReference, HttpMethod};
use crate::error::ProviderError;
use crate::money::Amount;
use crate::reason::Reason;

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
    /// Largest body any provider accepts ([`NotificationLimits::JSON`]).
    pub const MAX_BODY: usize = NotificationLimits::JSON.max_body;
    /// Largest query string any provider accepts.
    pub const MAX_QUERY: usize = NotificationLimits::JSON.max_query;

    /// Wraps a received request, bounded by the largest limits of any provider.
    ///
    /// # Errors
    /// [`NotificationTooLarge`] when the body exceeds 1 MiB or the query 8 KiB.
    pub fn new(
        method: HttpMethod,
        query: impl Into<Bytes>,
        body: impl Into<Bytes>,
        headers: http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Self, NotificationTooLarge> {
        Self::within(NotificationLimits::JSON, method, query, body, headers, peer)
    }

    /// Wraps a received request, bounded by one provider's [`NotificationLimits`].
    ///
    /// # Errors
    /// [`NotificationTooLarge`] when the body or the query exceeds `limits`.
    pub fn within(
        limits: NotificationLimits,
        method: HttpMethod,
        query: impl Into<Bytes>,
        body: impl Into<Bytes>,
        headers: http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Self, NotificationTooLarge> {
        let (query, body) = (query.into(), body.into());
        limits.check("query", query.len(), limits.max_query)?;
        limits.check("body", body.len(), limits.max_body)?;
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

    /// What a hosted-form bank signs: the body of a POST, the query of a GET.
    pub fn form_bytes(&self) -> &[u8] {
        match self.method {
            HttpMethod::Post => &self.body,
            _ => &self.query,
        }
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

/// How a bank delivers its notifications: the methods it uses and the media types of their
/// bodies. The notification route refuses anything else before the provider sees it (`405`
/// with `Allow`, `415`), so a probe or a misrouted request never reaches a verifier.
///
/// ```
/// use tpe_core::{HttpMethod, NotificationChannel};
/// let c = NotificationChannel::FORM_POST;
/// assert!(c.allows_method(HttpMethod::Post) && !c.allows_method(HttpMethod::Get));
/// assert!(c.allows_media_type("Application/X-WWW-Form-Urlencoded"));
/// assert!(!c.allows_media_type("application/json"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotificationChannel {
    /// The methods the bank uses.
    pub methods: &'static [HttpMethod],
    /// The media types (without parameters) of a body the bank sends.
    pub media_types: &'static [&'static str],
}

impl NotificationChannel {
    /// A form posted (Lyra's IPN).
    pub const FORM_POST: Self = Self {
        methods: &[HttpMethod::Post],
        media_types: &[FORM_MEDIA_TYPE],
    };
    /// A form posted, or its fields in the query of a GET, as the merchant configured
    /// (Paybox, Monetico).
    pub const FORM_GET_OR_POST: Self = Self {
        methods: &[HttpMethod::Get, HttpMethod::Post],
        media_types: &[FORM_MEDIA_TYPE],
    };
    /// A JSON webhook posted (Stripe-like).
    pub const JSON_POST: Self = Self {
        methods: &[HttpMethod::Post],
        media_types: &[JSON_MEDIA_TYPE],
    };
    /// A JSON webhook posted, and a GET to verify the endpoint (Worldline).
    pub const JSON_POST_GET_CHECK: Self = Self {
        methods: &[HttpMethod::Get, HttpMethod::Post],
        media_types: &[JSON_MEDIA_TYPE],
    };

    /// Whether the bank uses `method`.
    pub fn allows_method(&self, method: HttpMethod) -> bool {
        self.methods.contains(&method)
    }

    /// Whether a body of media type `essence` (type/subtype, without parameters) is the bank's.
    pub fn allows_media_type(&self, essence: &str) -> bool {
        self.media_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(essence.trim()))
    }
}

/// `application/x-www-form-urlencoded`.
const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
/// `application/json`.
const JSON_MEDIA_TYPE: &str = "application/json";

/// How large one provider's notifications may be: every input is bounded, and a JSON webhook
/// may be larger than a form (a PSP event with many line items must not get `413`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotificationLimits {
    /// Largest body, in bytes.
    pub max_body: usize,
    /// Largest query string, in bytes.
    pub max_query: usize,
}

impl NotificationLimits {
    /// Form notifications (Paybox, Lyra, Monetico): 64 KiB body, 8 KiB query.
    pub const FORM: Self = Self {
        max_body: 64 * 1024,
        max_query: 8 * 1024,
    };
    /// JSON webhooks (Stripe-like, Worldline): 1 MiB body, 8 KiB query.
    pub const JSON: Self = Self {
        max_body: 1024 * 1024,
        max_query: 8 * 1024,
    };

    fn check(self, part: &'static str, len: usize, max: usize) -> Result<(), NotificationTooLarge> {
        if len > max {
            return Err(NotificationTooLarge { part, len, max });
        }
        Ok(())
    }
}

/// A notification larger than its provider's [`NotificationLimits`].
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
    /// An authentic result the provider cannot classify (a code outside its table): never a
    /// verdict. The checkout stays awaiting payment, the manager is alerted and a status query
    /// decides at the next reconciliation.
    Unclassified {
        /// The bank's raw code, at most 32 characters.
        code: String,
    },
}

impl BankOutcome {
    /// The kind of outcome, for keys and storage.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::Accepted { .. } => OutcomeKind::Accepted,
            Self::Refused { .. } => OutcomeKind::Refused,
            Self::Pending => OutcomeKind::Pending,
            Self::Cancelled => OutcomeKind::Cancelled,
            Self::Unclassified { .. } => OutcomeKind::Unclassified,
        }
    }

    /// An unclassifiable result, keeping at most the code's first 32 characters.
    pub fn unclassified(code: &str) -> Self {
        Self::Unclassified {
            code: code.chars().filter(|c| !c.is_control()).take(32).collect(),
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
    /// Unclassified.
    Unclassified,
}

impl OutcomeKind {
    /// Lower-case name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Pending => "pending",
            Self::Cancelled => "cancelled",
            Self::Unclassified => "unclassified",
        }
    }

    /// Parses [`OutcomeKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => Self::Accepted,
            "refused" => Self::Refused,
            "pending" => Self::Pending,
            "cancelled" => Self::Cancelled,
            "unclassified" => Self::Unclassified,
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
    /// The reference the bank names the payment by; the engine maps it to its checkout.
    pub bank_reference: BankReference,
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
    /// For a payment in instalments, the instalment this notification is about (1 is the
    /// first, charged at checkout; 2 and later are charged by the bank on their due dates);
    /// `None` for a payment in one go.
    pub instalment: Option<u8>,
}

impl VerifiedNotification {
    /// The longest bank transaction id, in characters: PSP object ids run to 255 (a Checkout
    /// Session id is 66), and a cut id would name nothing at the bank.
    pub const MAX_TRANSACTION_ID: usize = 255;

    /// A notification; `bank_transaction_id` is bounded to [`Self::MAX_TRANSACTION_ID`]
    /// characters.
    pub fn new(
        provider: ProviderId,
        bank_reference: BankReference,
        bank_transaction_id: impl Into<String>,
        outcome: BankOutcome,
        amount: Amount,
    ) -> Self {
        let mut id: String = bank_transaction_id.into();
        truncate_chars(&mut id, Self::MAX_TRANSACTION_ID);
        Self {
            provider,
            bank_reference,
            bank_transaction_id: id,
            outcome,
            amount,
            card: None,
            three_ds: None,
            event_id: None,
            instalment: None,
        }
    }

    /// About instalment `number` of a payment in instalments (1 is the first).
    #[must_use]
    pub fn with_instalment(mut self, number: u8) -> Self {
        self.instalment = Some(number);
        self
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

/// The result of [`PaymentProvider::verify`](super::PaymentProvider::verify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // payments are the common case; boxing them costs more
pub enum Verified {
    /// A payment notification.
    Payment(VerifiedNotification),
    /// An authentic event to acknowledge and ignore.
    Ignored(IgnoredEvent),
    /// A protocol handshake (e.g. a webhook endpoint verification): answered as given,
    /// nothing is applied. Never stored, so never serialized.
    #[serde(skip)]
    Handshake(Ack),
}

/// The exact HTTP answer a bank expects.
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
        Self::plain(200, "")
    }

    /// A plain-text answer.
    pub const fn plain(status: u16, body: &'static str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Cow::Borrowed(body),
        }
    }

    /// The answer of a bank that reads a plain body: `received` with 200 once processed,
    /// `not_received` with a status that makes it send again otherwise (400 rejected, 404
    /// unknown checkout, 503 unavailable); a handshake gets its own answer.
    ///
    /// ```
    /// use tpe_core::{Ack, Handled};
    /// let ack = Ack::receipt(&Handled::Unavailable, "cdr=0\n", "cdr=1\n");
    /// assert_eq!((ack.status, &*ack.body), (503, "cdr=1\n"));
    /// ```
    pub fn receipt(
        handled: &Handled<'_>,
        received: &'static str,
        not_received: &'static str,
    ) -> Self {
        match handled {
            Handled::Processed(Verified::Handshake(_)) => Self::default_for(handled),
            Handled::Processed(_) => Self::plain(200, received),
            Handled::Rejected(_) => Self::plain(400, not_received),
            Handled::UnknownCheckout => Self::plain(404, not_received),
            Handled::Unavailable => Self::plain(503, not_received),
        }
    }

    /// The default answer of [`PaymentProvider::answer`](super::PaymentProvider::answer).
    ///
    /// ```
    /// use tpe_core::{Ack, Handled};
    /// assert_eq!(Ack::default_for(&Handled::Unavailable).status, 503);
    /// assert_eq!(Ack::default_for(&Handled::UnknownCheckout).status, 404);
    /// ```
    pub fn default_for(handled: &Handled<'_>) -> Self {
        match handled {
            Handled::Processed(Verified::Handshake(ack)) => ack.clone(),
            Handled::Processed(_) => Self::ok_empty(),
            Handled::Rejected(ProviderError::BadSignature { .. }) => Self::plain(401, "rejected\n"),
            Handled::Rejected(_) => Self::plain(400, "rejected\n"),
            Handled::UnknownCheckout => Self::plain(404, "rejected\n"),
            Handled::Unavailable => Self::plain(503, "temporarily unavailable\n"),
        }
    }
}

/// What the engine did with a notification, for [`PaymentProvider::answer`](super::PaymentProvider::answer).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Handled<'a> {
    /// Verified and committed (also a replay, an ignored event or a handshake).
    Processed(&'a Verified),
    /// Forged, malformed or stale: nothing written.
    Rejected(&'a ProviderError),
    /// Authentic, but naming no checkout of this provider: quarantined, nothing applied.
    UnknownCheckout,
    /// The store could not commit: the bank must retry.
    Unavailable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_keep_their_first_128_characters() {
        let n = |id: String| {
            VerifiedNotification::new(
                ProviderId::from_static("p"),
                BankReference::parse("R1").unwrap(),
                "T",
                BankOutcome::Pending,
                Amount::new(1, crate::money::Currency::EUR).unwrap(),
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
                BankReference::parse("R1").unwrap(),
                id,
                BankOutcome::Pending,
                Amount::new(1, crate::money::Currency::EUR).unwrap(),
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
        let body = |n: usize, limits| {
            RawNotification::within(
                limits,
                HttpMethod::Post,
                Bytes::new(),
                vec![0; n],
                h.clone(),
                None,
            )
        };
        let e = body(64 * 1024 + 1, NotificationLimits::FORM).unwrap_err();
        assert_eq!((e.part, e.max), ("body", 64 * 1024));
        assert!(body(64 * 1024 + 1, NotificationLimits::JSON).is_ok());
        assert!(body(1024 * 1024, NotificationLimits::JSON).is_ok());
        let e = body(1024 * 1024 + 1, NotificationLimits::JSON).unwrap_err();
        assert_eq!((e.part, e.max), ("body", 1024 * 1024));
        assert!(
            RawNotification::new(
                HttpMethod::Post,
                Bytes::new(),
                vec![0; 1024 * 1024 + 1],
                h,
                None
            )
            .is_err()
        );
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
}

//! Webhook events (spec §A.6): the signature is verified first, over the raw body; only then is
//! the event JSON read, by serde_json, into small borrowed structs (the fields used, others
//! skipped) and mapped to a [`Verified`] value.
//!
//! Session events: the bank transaction id is the Checkout Session id; a session receives at
//! most one verdict (`completed` paid, `completed` unpaid then an `async_payment_*` verdict, or
//! `expired`).
//!
//! Card declines on the hosted page (`payment_intent.payment_failed`, whose object is the
//! payment intent) do not end the session: the customer may try another card there. Each is a
//! verified refusal of one try (LIFECYCLE row 4: a failure e-mail to the manager while the
//! checkout is unpaid; a later success still wins). Its bank transaction id is
//! [`failed_attempt_id`]: unique per failed try, stable across redeliveries of the event.
//! A payment intent without our `tpe_reference` metadata is not one of our checkouts: ignored.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use tpe_core::JsonStr as Str;
use tpe_core::{
    Amount, BankOutcome, BankReference, Currency, IgnoredEvent, ProviderError, Timestamp, Verified,
    VerifiedNotification,
};

use crate::StripeLike;
use crate::codes::classify;
use crate::error::malformed;
use crate::signature::WebhookVerifier;

/// Session event types this provider acts on.
pub const COMPLETED: &str = "checkout.session.completed";
/// A delayed payment method succeeded.
pub const ASYNC_SUCCEEDED: &str = "checkout.session.async_payment_succeeded";
/// A delayed payment method failed.
pub const ASYNC_FAILED: &str = "checkout.session.async_payment_failed";
/// The session expired without payment.
pub const EXPIRED: &str = "checkout.session.expired";
/// A card was declined on the hosted page (the session stays open).
pub const PAYMENT_FAILED: &str = "payment_intent.payment_failed";
/// The metadata key carrying our reference, on the session and on the payment intent.
pub const METADATA_REFERENCE: &str = "tpe_reference";
/// The metadata key read for a decline code when no `last_payment_error` is given.
pub const METADATA_DECLINE_CODE: &str = "decline_code";
/// Decline code used when an `async_payment_failed` event carries none.
pub const FALLBACK_DECLINE_CODE: &str = "generic_decline";

/// Verifies the signature of an event (`header` is the `Stripe-Signature` value) and maps the
/// event to a [`Verified`] value. Nothing of the body is parsed before the signature matched.
pub(crate) fn verify_event(
    verifier: &WebhookVerifier,
    header: Option<&[u8]>,
    body: &[u8],
    now: Timestamp,
) -> Result<Verified, ProviderError> {
    verifier.verify(header, body, now)?;
    parse_event(body)
}

/// Maps a verified event body to a [`Verified`] value. serde_json reads it: UTF-8 only, no
/// trailing bytes, a known field at most once, other fields skipped whatever their depth.
pub(crate) fn parse_event(body: &[u8]) -> Result<Verified, ProviderError> {
    // One UTF-8 check of the whole body is cheaper than serde_json's check of each string.
    let body = std::str::from_utf8(body).map_err(|_| malformed("event body (not UTF-8)"))?;
    // serde reads a struct from a JSON array too; an event is an object and nothing else.
    if !body.trim_start().starts_with('{') {
        return Err(malformed("event JSON (not an object)"));
    }
    match serde_json::from_str::<Event<'_>>(body) {
        Ok(event) => map_event(&event),
        // An authentic event of another type may carry an object shaped differently: read the
        // envelope alone to decide whether it is one to ignore.
        Err(full) => {
            let envelope: Envelope<'_> =
                serde_json::from_str(body).map_err(|_| malformed("event JSON (id, type)"))?;
            if is_read_event(&envelope.kind.0) {
                return Err(malformed(format!(
                    "{} event: {}",
                    envelope.kind.0,
                    short(&full.to_string())
                )));
            }
            Ok(ignored(&envelope.kind.0, &envelope.id.0))
        }
    }
}

/// The events whose object this provider must be able to read.
fn is_session_event(kind: &str) -> bool {
    matches!(kind, COMPLETED | ASYNC_SUCCEEDED | ASYNC_FAILED | EXPIRED)
}

fn is_read_event(kind: &str) -> bool {
    is_session_event(kind) || kind == PAYMENT_FAILED
}

fn ignored(kind: &str, id: &str) -> Verified {
    Verified::Ignored(IgnoredEvent {
        provider: StripeLike::ID,
        event_type: kind.chars().take(128).collect(),
        event_id: (!id.is_empty()).then(|| id.chars().take(128).collect()),
    })
}

/// The bank transaction id of a failed try reported by event `event_id` about payment intent
/// `intent_id`: `<intent id>:<16 hex digits>`, the digits being the first 8 bytes of
/// SHA-256(event id). The event id makes it unique per failed try (one event per decline) and
/// stable across redeliveries of that event; the hash keeps it compact whatever the length of
/// the PSP's ids, and the intent id (cut to 47 characters) keeps it readable and linked to the
/// payment intent. At most 64 characters.
///
/// ```
/// use tpe_stripe_like::failed_attempt_id;
/// let a = failed_attempt_id("pi_3QbEnchMark0123456789AbCd", "evt_1QbFail0123456789abcdef");
/// assert_eq!(a.len(), 28 + 1 + 16);
/// assert!(a.starts_with("pi_3QbEnchMark0123456789AbCd:"));
/// assert_eq!(a, failed_attempt_id("pi_3QbEnchMark0123456789AbCd", "evt_1QbFail0123456789abcdef"));
/// assert_ne!(a, failed_attempt_id("pi_3QbEnchMark0123456789AbCd", "evt_1QbFail0123456789abcdeg"));
/// assert!(failed_attempt_id(&"pi_x".repeat(60), "evt_1").len() <= 64);
/// ```
pub fn failed_attempt_id(intent_id: &str, event_id: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(event_id.as_bytes());
    let prefix: String = intent_id.chars().take(47).collect();
    let mut out = String::with_capacity(prefix.len() + 17);
    out.push_str(&prefix);
    out.push(':');
    out.push_str(&hex::encode(&digest[..8]));
    out
}

fn map_payment_failed(event: &Event<'_>) -> Result<Verified, ProviderError> {
    let pi = &event.data.object;
    if pi.object.as_ref().is_some_and(|o| o.0 != "payment_intent") {
        return Err(malformed("data.object is not a payment_intent"));
    }
    // Not one of our checkouts (another integration on the same account): nothing to do.
    let Some(reference) = pi.metadata.as_ref().and_then(|m| m.tpe_reference.as_ref()) else {
        return Ok(ignored(&event.kind.0, &event.id.0));
    };
    let reference = BankReference::parse(&reference.0)
        .map_err(|_| malformed("data.object.metadata.tpe_reference"))?;
    let intent_id = pi
        .id
        .as_ref()
        .map(|i| &*i.0)
        .filter(|i| is_object_id(i))
        .ok_or_else(|| malformed("data.object.id"))?;
    if !is_object_id(&event.id.0) {
        return Err(malformed("event id"));
    }
    let currency = pi
        .currency
        .as_ref()
        .and_then(|c| Currency::from_alpha(&c.0).ok())
        .ok_or_else(|| malformed("data.object.currency"))?;
    let amount = pi
        .amount
        .and_then(|a| Amount::new(a, currency).ok())
        .ok_or_else(|| malformed("data.object.amount"))?;
    let code = pi
        .last_payment_error
        .as_ref()
        .and_then(PaymentError::code)
        .filter(|c| !c.is_empty())
        .unwrap_or(FALLBACK_DECLINE_CODE);
    let outcome = BankOutcome::Refused {
        reason: classify(code),
    };
    let notification = VerifiedNotification::new(
        StripeLike::ID,
        reference,
        failed_attempt_id(intent_id, &event.id.0),
        outcome,
        amount,
    )
    .with_event_id(&*event.id.0);
    Ok(Verified::Payment(notification))
}

fn map_event(event: &Event<'_>) -> Result<Verified, ProviderError> {
    let kind = &*event.kind.0;
    if kind == PAYMENT_FAILED {
        return map_payment_failed(event);
    }
    if !is_session_event(kind) {
        return Ok(ignored(kind, &event.id.0));
    }
    let s = &event.data.object;
    if s.object.as_ref().is_some_and(|o| o.0 != "checkout.session") {
        return Err(malformed("data.object is not a checkout.session"));
    }
    let outcome = match kind {
        COMPLETED => match s.payment_status.as_ref().map(|p| &*p.0) {
            Some("paid" | "no_payment_required") => BankOutcome::Accepted {
                authorization: None,
            },
            Some("unpaid") => BankOutcome::Pending,
            _ => return Err(malformed("data.object.payment_status")),
        },
        ASYNC_SUCCEEDED => BankOutcome::Accepted {
            authorization: None,
        },
        ASYNC_FAILED => BankOutcome::Refused {
            reason: classify(s.decline_code().unwrap_or(FALLBACK_DECLINE_CODE)),
        },
        _ => BankOutcome::Cancelled,
    };
    let session_id =
        s.id.as_ref()
            .map(|i| &*i.0)
            .filter(|i| is_object_id(i))
            .ok_or_else(|| malformed("data.object.id"))?;
    let reference = s
        .client_reference_id
        .as_ref()
        .or_else(|| s.metadata.as_ref().and_then(|m| m.tpe_reference.as_ref()))
        .ok_or_else(|| malformed("data.object.client_reference_id"))?;
    let reference = BankReference::parse(&reference.0)
        .map_err(|_| malformed("data.object.client_reference_id"))?;
    let currency = s
        .currency
        .as_ref()
        .and_then(|c| Currency::from_alpha(&c.0).ok())
        .ok_or_else(|| malformed("data.object.currency"))?;
    let amount = s
        .amount_total
        .and_then(|a| Amount::new(a, currency).ok())
        .ok_or_else(|| malformed("data.object.amount_total"))?;
    let mut notification =
        VerifiedNotification::new(StripeLike::ID, reference, session_id, outcome, amount);
    if !event.id.0.is_empty() {
        notification = notification.with_event_id(&*event.id.0);
    }
    Ok(Verified::Payment(notification))
}

/// `[A-Za-z0-9_]{1,255}`: the shape of the PSP's object ids, safe in a URL path.
pub(crate) fn is_object_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default = "Str::empty")]
    id: Str<'a>,
    #[serde(borrow, rename = "type")]
    kind: Str<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default = "Str::empty")]
    id: Str<'a>,
    #[serde(borrow, rename = "type")]
    kind: Str<'a>,
    #[serde(borrow)]
    data: Data<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    object: SessionObject<'a>,
}

/// A Checkout Session, or a payment intent (`amount` instead of `amount_total`).
#[derive(Deserialize)]
struct SessionObject<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    object: Option<Str<'a>>,
    #[serde(borrow)]
    client_reference_id: Option<Str<'a>>,
    amount_total: Option<u64>,
    amount: Option<u64>,
    #[serde(borrow)]
    currency: Option<Str<'a>>,
    #[serde(borrow)]
    payment_status: Option<Str<'a>>,
    #[serde(borrow)]
    metadata: Option<Metadata<'a>>,
    #[serde(borrow)]
    payment_intent: Option<PaymentIntentRef<'a>>,
    #[serde(borrow)]
    last_payment_error: Option<PaymentError<'a>>,
}

impl SessionObject<'_> {
    /// The decline code of a failed delayed payment, by preference: the session's
    /// `last_payment_error`, the expanded payment intent's, then `metadata.decline_code`.
    fn decline_code(&self) -> Option<&str> {
        let intent_error = match &self.payment_intent {
            Some(PaymentIntentRef::Object { last_payment_error }) => last_payment_error.as_ref(),
            _ => None,
        };
        self.last_payment_error
            .as_ref()
            .and_then(PaymentError::code)
            .or_else(|| intent_error.and_then(PaymentError::code))
            .or_else(|| {
                self.metadata
                    .as_ref()
                    .and_then(|m| m.decline_code.as_ref())
                    .map(|c| &*c.0)
            })
            .filter(|c| !c.is_empty())
    }
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    tpe_reference: Option<Str<'a>>,
    #[serde(borrow)]
    decline_code: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct PaymentError<'a> {
    #[serde(borrow)]
    code: Option<Str<'a>>,
    #[serde(borrow)]
    decline_code: Option<Str<'a>>,
}

impl PaymentError<'_> {
    fn code(&self) -> Option<&str> {
        self.decline_code
            .as_ref()
            .or(self.code.as_ref())
            .map(|c| &*c.0)
    }
}

/// `payment_intent`: an id, or the object when expanded.
enum PaymentIntentRef<'a> {
    Id,
    Object {
        last_payment_error: Option<PaymentError<'a>>,
    },
}

impl<'de: 'a, 'a> Deserialize<'de> for PaymentIntentRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Expanded<'a> {
            #[serde(borrow)]
            last_payment_error: Option<PaymentError<'a>>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PaymentIntentRef<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a payment intent id or object")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(PaymentIntentRef::Id)
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                let e = Expanded::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PaymentIntentRef::Object {
                    last_payment_error: e.last_payment_error,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod json_tests;

#[cfg(test)]
mod tests {
    use tpe_core::{OutcomeKind, ReasonKind};

    use super::*;

    fn event(kind: &str, object: &str) -> String {
        format!(r#"{{"id":"evt_1","object":"event","type":"{kind}","data":{{"object":{object}}}}}"#)
    }

    const SESSION: &str = r#"{"id":"cs_test_1","object":"checkout.session","amount_total":4200,"currency":"eur","client_reference_id":"REF-1","payment_status":"PS","status":"complete","payment_intent":"pi_1","metadata":{"tpe_reference":"REF-1"}}"#;

    fn payment(v: Verified) -> VerifiedNotification {
        match v {
            Verified::Payment(p) => p,
            other => panic!("expected a payment, got {other:?}"),
        }
    }

    #[test]
    fn only_an_object_is_an_event() {
        for body in [
            r#"["evt_1","payment_intent.succeeded"]"#,
            r#" ["evt_1","checkout.session.completed",{}]"#,
            "42",
            r#""evt_1""#,
            "",
        ] {
            assert!(
                matches!(
                    parse_event(body.as_bytes()),
                    Err(ProviderError::Malformed { .. })
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn session_events_map_to_outcomes() {
        let paid = SESSION.replace("PS", "paid");
        let unpaid = SESSION.replace("PS", "unpaid");
        let cases = [
            (COMPLETED, &paid, OutcomeKind::Accepted),
            (COMPLETED, &unpaid, OutcomeKind::Pending),
            (ASYNC_SUCCEEDED, &paid, OutcomeKind::Accepted),
            (ASYNC_FAILED, &unpaid, OutcomeKind::Refused),
            (EXPIRED, &unpaid, OutcomeKind::Cancelled),
        ];
        for (kind, obj, expect) in cases {
            let n = payment(parse_event(event(kind, obj).as_bytes()).unwrap());
            assert_eq!(n.outcome.kind(), expect, "{kind}");
            assert_eq!(n.bank_reference.as_str(), "REF-1");
            assert_eq!(n.bank_transaction_id, "cs_test_1");
            assert_eq!(n.amount, Amount::new(4200, Currency::EUR).unwrap());
            assert_eq!(n.event_id.as_deref(), Some("evt_1"));
            assert_eq!(n.provider, StripeLike::ID);
        }
    }

    /// Session ids run to 66 characters (the PSP allows 255): the id refunds and status
    /// queries name must be the whole of it.
    #[test]
    fn a_full_length_session_id_is_kept_whole() {
        for id in [
            "cs_test_a1Yl5ZiGq5nMEbbbAB1nTQ5ngAOlGR9Ih3e3tzbjVk6r6jlvXnB3CGr0qL".to_owned(),
            format!("cs_live_{}", "Z".repeat(247)),
        ] {
            let obj = SESSION.replace("PS", "paid").replace("cs_test_1", &id);
            let n = payment(parse_event(event(COMPLETED, &obj).as_bytes()).unwrap());
            assert_eq!(n.bank_transaction_id, id);
        }
    }

    #[test]
    fn async_failure_reads_the_decline_code() {
        let base = SESSION.replace("PS", "unpaid");
        let with = |extra: &str| base.replacen('{', &format!("{{{extra},"), 1);
        let reason =
            |obj: &str| match payment(parse_event(event(ASYNC_FAILED, obj).as_bytes()).unwrap())
                .outcome
            {
                BankOutcome::Refused { reason } => reason,
                other => panic!("{other:?}"),
            };
        assert_eq!(reason(&base).code(), "generic_decline");
        assert_eq!(reason(&base).kind(), ReasonKind::Declined);
        let r = reason(&with(
            r#""last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds"}"#,
        ));
        assert_eq!(r.kind(), ReasonKind::InsufficientFunds);
        let r = reason(&with(
            r#""last_payment_error":{"code":"expired_card","decline_code":null}"#,
        ));
        assert_eq!(r.kind(), ReasonKind::CardExpired);
        let expanded = base.replace(
            r#""payment_intent":"pi_1""#,
            r#""payment_intent":{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"decline_code":"lost_card"}}"#,
        );
        assert_eq!(reason(&expanded).kind(), ReasonKind::CardLostOrStolen);
        let meta = base.replace(
            r#""tpe_reference":"REF-1""#,
            r#""tpe_reference":"REF-1","decline_code":"new_code""#,
        );
        let r = reason(&meta);
        assert_eq!((r.kind(), r.code()), (ReasonKind::UnknownCode, "new_code"));
    }

    #[test]
    fn reference_falls_back_to_metadata_and_is_checked() {
        let obj = SESSION
            .replace("PS", "paid")
            .replace(r#""client_reference_id":"REF-1","#, "");
        let n = payment(parse_event(event(COMPLETED, &obj).as_bytes()).unwrap());
        assert_eq!(n.bank_reference.as_str(), "REF-1");
        let bad = SESSION.replace("PS", "paid").replace("REF-1", "bad ref");
        assert!(matches!(
            parse_event(event(COMPLETED, &bad).as_bytes()),
            Err(ProviderError::Malformed { .. })
        ));
        let none = SESSION
            .replace("PS", "paid")
            .replace(r#""client_reference_id":"REF-1","#, "")
            .replace(r#""tpe_reference":"REF-1""#, r#""x":"y""#);
        assert!(parse_event(event(COMPLETED, &none).as_bytes()).is_err());
    }

    #[test]
    fn escaped_strings_are_read() {
        let obj = SESSION.replace("PS", "paid").replace(
            r#""REF-1","payment_status"#,
            r#""REF\u002d1","payment_status"#,
        );
        let n = payment(parse_event(event(COMPLETED, &obj).as_bytes()).unwrap());
        assert_eq!(n.bank_reference.as_str(), "REF-1");
    }

    #[test]
    fn incomplete_session_events_are_malformed() {
        let paid = SESSION.replace("PS", "paid");
        for (from, to) in [
            (r#""amount_total":4200"#, r#""amount_total":null"#),
            (r#""amount_total":4200"#, r#""amount_total":-1"#),
            (r#""currency":"eur""#, r#""currency":"xx""#),
            (r#""id":"cs_test_1""#, r#""id":"cs/../x""#),
            (r#""payment_status":"paid""#, r#""payment_status":"weird""#),
            (r#""object":"checkout.session""#, r#""object":"charge""#),
            (r#""payment_intent":"pi_1""#, r#""payment_intent":42"#),
        ] {
            let obj = paid.replace(from, to);
            assert_ne!(obj, paid);
            let e = parse_event(event(COMPLETED, &obj).as_bytes());
            assert!(
                matches!(e, Err(ProviderError::Malformed { .. })),
                "{to}: {e:?}"
            );
        }
        assert!(parse_event(b"not json").is_err());
        assert!(parse_event(br#"{"id":"evt_1"}"#).is_err());
    }

    #[test]
    fn other_events_are_ignored_whatever_their_object() {
        for obj in [
            r#"{"id":"pi_1","object":"payment_intent","amount":10,"last_payment_error":{"decline_code":"x"}}"#,
            r#"{"id":"ch_1","amount_total":"not a number","metadata":[1,2]}"#,
        ] {
            let v = parse_event(event("payment_intent.succeeded", obj).as_bytes()).unwrap();
            match v {
                Verified::Ignored(i) => {
                    assert_eq!(i.event_type, "payment_intent.succeeded");
                    assert_eq!(i.event_id.as_deref(), Some("evt_1"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    const INTENT: &str = r#"{"id":"pi_3QbFail","object":"payment_intent","amount":2770,"currency":"eur","status":"requires_payment_method","metadata":{"tpe_reference":"REF-1"},"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#;

    #[test]
    fn a_declined_card_is_a_refusal_of_one_try() {
        let body = event(PAYMENT_FAILED, INTENT);
        let n = payment(parse_event(body.as_bytes()).unwrap());
        match &n.outcome {
            BankOutcome::Refused { reason } => {
                assert_eq!(reason.kind(), ReasonKind::InsufficientFunds);
                assert_eq!(reason.code(), "insufficient_funds");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(n.bank_reference.as_str(), "REF-1");
        assert_eq!(n.amount, Amount::new(2770, Currency::EUR).unwrap());
        assert_eq!(n.event_id.as_deref(), Some("evt_1"));
        assert_eq!(
            n.bank_transaction_id,
            failed_attempt_id("pi_3QbFail", "evt_1")
        );
        assert!(n.bank_transaction_id.starts_with("pi_3QbFail:"));
        // A redelivery of the same event is the same try; another event is another try.
        let again = payment(parse_event(body.as_bytes()).unwrap());
        assert_eq!(again.bank_transaction_id, n.bank_transaction_id);
        let other = payment(parse_event(body.replace("evt_1", "evt_2").as_bytes()).unwrap());
        assert_ne!(other.bank_transaction_id, n.bank_transaction_id);
        // Long ids stay within the core's bound and distinct per event.
        let long_pi = format!("pi_{}", "A".repeat(200));
        let long = |e: &str| {
            payment(
                parse_event(
                    body.replace("pi_3QbFail", &long_pi)
                        .replace("evt_1", e)
                        .as_bytes(),
                )
                .unwrap(),
            )
            .bank_transaction_id
        };
        let (l1, l2) = (
            long(&format!("evt_{}1", "B".repeat(100))),
            long(&format!("evt_{}2", "B".repeat(100))),
        );
        assert!(l1.len() <= 64, "{l1}");
        assert_ne!(l1, l2);
    }

    #[test]
    fn a_decline_reads_decline_code_then_code_then_falls_back() {
        let reason =
            |obj: &str| match payment(parse_event(event(PAYMENT_FAILED, obj).as_bytes()).unwrap())
                .outcome
            {
                BankOutcome::Refused { reason } => reason,
                other => panic!("{other:?}"),
            };
        let number = INTENT.replace(
            r#""code":"card_declined","decline_code":"insufficient_funds""#,
            r#""code":"incorrect_number","decline_code":null"#,
        );
        assert_eq!(reason(&number).kind(), ReasonKind::InvalidCardData);
        let none = INTENT.replace(
            r#","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}"#,
            "",
        );
        assert_ne!(none, INTENT);
        assert_eq!(reason(&none).code(), FALLBACK_DECLINE_CODE);
    }

    #[test]
    fn foreign_or_broken_payment_intents() {
        // Not one of ours: acknowledged and ignored.
        let foreign = INTENT.replace(r#""tpe_reference":"REF-1""#, r#""order":"9""#);
        assert!(matches!(
            parse_event(event(PAYMENT_FAILED, &foreign).as_bytes()),
            Ok(Verified::Ignored(_))
        ));
        for (from, to) in [
            (r#""amount":2770"#, r#""amount":null"#),
            (r#""currency":"eur""#, r#""currency":"xx""#),
            (r#""id":"pi_3QbFail""#, r#""id":"pi/../x""#),
            (
                r#""object":"payment_intent""#,
                r#""object":"checkout.session""#,
            ),
            (r#""tpe_reference":"REF-1""#, r#""tpe_reference":"bad ref""#),
        ] {
            let obj = INTENT.replace(from, to);
            assert_ne!(obj, INTENT);
            let e = parse_event(event(PAYMENT_FAILED, &obj).as_bytes());
            assert!(
                matches!(e, Err(ProviderError::Malformed { .. })),
                "{to}: {e:?}"
            );
        }
        let no_event_id = format!(
            r#"{{"object":"event","type":"{PAYMENT_FAILED}","data":{{"object":{INTENT}}}}}"#
        );
        assert!(matches!(
            parse_event(no_event_id.as_bytes()),
            Err(ProviderError::Malformed { .. })
        ));
    }
}

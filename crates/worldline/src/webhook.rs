//! Webhooks (spec §G.9): `X-GCS-Signature` is checked over the raw body first (by
//! [`WebhookVerifier`]); only then is the event read, by serde_json, into small borrowed
//! structs of the fields used, and mapped to a [`Verified`] value on its `statusCode` (spec
//! §G.7), never on the event name. The endpoint verification `GET` is a handshake echoing
//! its header.

use std::borrow::Cow;

use serde::Deserialize;
use tpe_core::JsonStr as Str;
use tpe_core::{
    Ack, Amount, BankOutcome, BankReference, Currency, HttpMethod, IgnoredEvent, ProviderError,
    RawNotification, Verified, VerifiedNotification,
};

use crate::Worldline;
use crate::api::is_segment;
use crate::codes;
use crate::error::{bad_signature, malformed};
use crate::sign::{KEY_ID_HEADER, SIGNATURE_HEADER, SignatureError, WebhookVerifier};

/// The endpoint verification header (spec §G.9).
pub const VERIFICATION_HEADER: &str = "x-gcs-webhooks-endpoint-verification";
/// Longest endpoint verification value echoed.
pub const MAX_VERIFICATION_LEN: usize = 256;

/// The one value of header `name`: `None` when absent, `Malformed` when repeated.
fn single<'a>(raw: &'a RawNotification, name: &str) -> Result<Option<&'a [u8]>, ProviderError> {
    let mut values = raw.headers().get_all(name).iter();
    let first = values.next().map(http::HeaderValue::as_bytes);
    if values.next().is_some() {
        return Err(malformed(format!("{name} header present more than once")));
    }
    Ok(first)
}

/// Verifies then reads a notification exactly as received.
pub(crate) fn verify(
    verifier: &WebhookVerifier,
    raw: &RawNotification,
) -> Result<Verified, ProviderError> {
    if raw.method() == HttpMethod::Get {
        return handshake(raw);
    }
    let signature = single(raw, SIGNATURE_HEADER)?;
    let key_id = single(raw, KEY_ID_HEADER)?;
    verifier
        .verify(key_id, signature, raw.body())
        .map_err(|e| match e {
            SignatureError::BadlyEncoded => malformed("X-GCS-Signature (not base64 of 32 bytes)"),
            _ => bad_signature(),
        })?;
    parse_event(raw.body())
}

/// The endpoint verification: `GET` with the header → 200 `text/plain` echoing it; without
/// → 200 empty.
fn handshake(raw: &RawNotification) -> Result<Verified, ProviderError> {
    let body = match single(raw, VERIFICATION_HEADER)? {
        None => String::new(),
        Some(v) => {
            if v.len() > MAX_VERIFICATION_LEN
                || !v.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
            {
                return Err(malformed(
                    "X-GCS-Webhooks-Endpoint-Verification (over 256 bytes or not printable ASCII)",
                ));
            }
            String::from_utf8_lossy(v).into_owned()
        }
    };
    Ok(Verified::Handshake(Ack {
        status: 200,
        content_type: "text/plain",
        body: Cow::Owned(body),
    }))
}

/// Maps a verified event body to a [`Verified`] value. serde_json reads it: UTF-8, no
/// trailing bytes, a known field at most once, other fields skipped.
pub(crate) fn parse_event(body: &[u8]) -> Result<Verified, ProviderError> {
    let body = std::str::from_utf8(body).map_err(|_| malformed("event body (not UTF-8)"))?;
    if !body.trim_start().starts_with('{') {
        return Err(malformed("event JSON (not an object)"));
    }
    let event: Event<'_> =
        serde_json::from_str(body).map_err(|e| malformed(format!("event JSON: {}", short(&e))))?;
    if event.api_version.as_ref().is_some_and(|v| v.0 != "v1") {
        return Err(malformed("apiVersion (not v1)"));
    }
    let kind = &*event.kind.0;
    let event_id = event.id.as_ref().map(|i| &*i.0).unwrap_or_default();
    let Some(payment) = event
        .payment
        .as_ref()
        .filter(|_| kind.starts_with("payment."))
    else {
        return Ok(ignored(kind, event_id));
    };
    let output = payment.payment_output.as_ref();
    // A payment not made through one of our checkouts (e-Terminal, another integration) has
    // none of our references: nothing to apply.
    let Some(reference) = output
        .and_then(|o| o.references.as_ref())
        .and_then(|r| r.merchant_reference.as_ref())
    else {
        return Ok(ignored(kind, event_id));
    };
    let reference = BankReference::parse(&reference.0)
        .map_err(|_| malformed("payment.paymentOutput.references.merchantReference"))?;
    let id = payment
        .id
        .as_ref()
        .map(|i| &*i.0)
        .filter(|i| is_segment(i))
        .ok_or_else(|| malformed("payment.id"))?;
    let money = output
        .and_then(|o| o.amount_of_money.as_ref())
        .ok_or_else(|| malformed("payment.paymentOutput.amountOfMoney"))?;
    let currency = money
        .currency_code
        .as_ref()
        .and_then(|c| Currency::from_alpha(&c.0).ok())
        .ok_or_else(|| malformed("payment.paymentOutput.amountOfMoney.currencyCode"))?;
    let amount = money
        .amount
        .and_then(|a| Amount::new(a, currency).ok())
        .ok_or_else(|| malformed("payment.paymentOutput.amountOfMoney.amount"))?;
    let code = match (
        payment.status_output.as_ref().and_then(|s| s.status_code),
        payment.status.as_ref(),
    ) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => s.0.clone().into_owned(),
        (None, None) => return Err(malformed("payment.statusOutput.statusCode")),
    };
    let Some(mut outcome) = codes::outcome(&code) else {
        return Ok(ignored(kind, event_id));
    };
    if let BankOutcome::Accepted { authorization } = &mut outcome {
        *authorization = output
            .and_then(|o| o.card_payment_method_specific_output.as_ref())
            .and_then(|c| c.authorisation_code.as_ref())
            .map(|a| a.0.chars().filter(|c| !c.is_control()).take(32).collect());
    }
    let mut n = VerifiedNotification::new(Worldline::ID, reference, id, outcome, amount);
    if !event_id.is_empty() {
        n = n.with_event_id(event_id);
    }
    Ok(Verified::Payment(n))
}

fn ignored(kind: &str, id: &str) -> Verified {
    Verified::Ignored(IgnoredEvent {
        provider: Worldline::ID,
        event_type: kind.chars().take(128).collect(),
        event_id: (!id.is_empty()).then(|| id.chars().take(128).collect()),
    })
}

fn short(e: &serde_json::Error) -> String {
    e.to_string()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow)]
    api_version: Option<Str<'a>>,
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Str<'a>,
    #[serde(borrow)]
    payment: Option<Payment<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    payment_output: Option<PaymentOutput<'a>>,
    #[serde(borrow)]
    status: Option<Str<'a>>,
    status_output: Option<StatusOutput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentOutput<'a> {
    #[serde(borrow)]
    amount_of_money: Option<Money<'a>>,
    #[serde(borrow)]
    references: Option<References<'a>>,
    #[serde(borrow)]
    card_payment_method_specific_output: Option<CardOutput<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Money<'a> {
    amount: Option<u64>,
    #[serde(borrow)]
    currency_code: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct References<'a> {
    #[serde(borrow)]
    merchant_reference: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CardOutput<'a> {
    #[serde(borrow)]
    authorisation_code: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusOutput {
    status_code: Option<u32>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tpe_core::OutcomeKind;

    use super::*;

    fn event(kind: &str, code: &str) -> String {
        format!(
            r#"{{"apiVersion":"v1","id":"ev-1","type":"{kind}","payment":{{"id":"3254564310_0","paymentOutput":{{"amountOfMoney":{{"amount":1500,"currencyCode":"EUR"}},"references":{{"merchantReference":"20261129-000001"}}}},"status":"X","statusOutput":{{"statusCode":{code}}}}}}}"#
        )
    }

    fn payment(v: Verified) -> VerifiedNotification {
        match v {
            Verified::Payment(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_codes_decide_not_event_names() {
        for (kind, code, expect) in [
            ("payment.captured", "9", OutcomeKind::Accepted),
            ("payment.pending_capture", "5", OutcomeKind::Accepted),
            ("payment.rejected", "2", OutcomeKind::Refused),
            ("payment.cancelled", "1", OutcomeKind::Cancelled),
            ("payment.created", "46", OutcomeKind::Pending),
            ("payment.captured", "777", OutcomeKind::Unclassified),
        ] {
            let n = payment(parse_event(event(kind, code).as_bytes()).unwrap());
            assert_eq!(n.outcome.kind(), expect, "{kind} {code}");
            assert_eq!(n.bank_reference.as_str(), "20261129-000001");
            assert_eq!(n.bank_transaction_id, "3254564310_0");
            assert_eq!(n.amount, Amount::new(1500, Currency::EUR).unwrap());
            assert_eq!(n.event_id.as_deref(), Some("ev-1"));
        }
        assert!(matches!(
            parse_event(event("payment.refunded", "8").as_bytes()).unwrap(),
            Verified::Ignored(_)
        ));
        assert!(matches!(
            parse_event(br#"{"apiVersion":"v1","id":"e","type":"refund.refund_requested","refund":{"id":"1"}}"#).unwrap(),
            Verified::Ignored(_)
        ));
    }

    #[test]
    fn broken_events_are_malformed() {
        let good = event("payment.captured", "9");
        for (from, to) in [
            (r#""apiVersion":"v1""#, r#""apiVersion":"v2""#),
            (r#""amount":1500"#, r#""amount":-1"#),
            (r#""currencyCode":"EUR""#, r#""currencyCode":"EURO""#),
            (r#""id":"3254564310_0""#, r#""id":"../x""#),
            (
                r#""merchantReference":"20261129-000001""#,
                r#""merchantReference":"a b""#,
            ),
            (r#""statusCode":9"#, r#""statusCode":"9""#),
            (
                r#""type":"payment.captured""#,
                r#""type":"payment.captured","type":"x""#,
            ),
        ] {
            let bad = good.replace(from, to);
            assert_ne!(bad, good);
            assert!(
                matches!(
                    parse_event(bad.as_bytes()),
                    Err(ProviderError::Malformed { .. })
                ),
                "{to}"
            );
        }
        for body in ["[]", "", "42", "{", "\u{feff}{}"] {
            assert!(parse_event(body.as_bytes()).is_err(), "{body}");
        }
    }
}

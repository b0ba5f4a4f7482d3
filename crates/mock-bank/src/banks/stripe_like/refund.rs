//! `POST /v1/refunds`: refunds of a paid session's payment intent.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::api::{Caller, Params, error_body, idempotent};
use super::params::bracket_key;
use crate::extract::Pairs;
use crate::faults::api_fault;
use crate::layer::Note;
use crate::random_hex;
use crate::state::{BankState, Store};

/// `POST /v1/refunds` (`payment_intent`, `amount`, `reason`, `metadata[…]`).
pub(super) async fn create_refund(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Params(pairs): Params,
) -> Response {
    let pi = pairs.get("payment_intent");
    let reference = pi.and_then(|pi| {
        state.stripe().with(|d| {
            d.sessions
                .values()
                .find(|s| s.payment_intent.as_deref() == Some(pi))
                .map(|s| s.reference().to_owned())
        })
    });
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(fault) = scenario.api_fault {
        return api_fault(&state, fault, reference.as_deref()).await;
    }
    let now = state.now().as_second();
    let resp = idempotent(&state, &account, &headers, "/v1/refunds", &pairs, || {
        refund_op(&state, &account, &pairs, pi, now)
    });
    if resp.extensions().get::<Note>().is_some() {
        return resp;
    }
    let detail = if resp.status().is_success() {
        "refunded"
    } else {
        "refund_refused"
    };
    Note::new(reference.as_deref(), detail).attach(resp)
}

/// The refund itself: its parameters checked, then the session's refunded amount.
fn refund_op(
    state: &BankState,
    account: &str,
    pairs: &Pairs,
    pi: Option<&str>,
    now: i64,
) -> (StatusCode, String) {
    let bad = |code: &str, msg: &str, param: Option<&str>| {
        (
            StatusCode::BAD_REQUEST,
            error_body("invalid_request_error", Some(code), msg, param),
        )
    };
    let mut amount = None;
    let mut metadata = BTreeMap::new();
    let mut reason = None;
    for (k, v) in pairs.as_slice() {
        match k.as_str() {
            "payment_intent" => {}
            "amount" => match v.parse::<u64>() {
                Ok(a) if a > 0 => amount = Some(a),
                _ => {
                    return bad(
                        "parameter_invalid_integer",
                        "Invalid positive integer",
                        Some("amount"),
                    );
                }
            },
            "reason" => {
                if !matches!(
                    v.as_str(),
                    "duplicate" | "fraudulent" | "requested_by_customer"
                ) {
                    return bad("parameter_invalid", "Invalid reason", Some("reason"));
                }
                reason = Some(v.clone());
            }
            _ => {
                if let Some(mk) = bracket_key(k, "metadata[") {
                    metadata.insert(mk.to_owned(), v.clone());
                } else {
                    return bad(
                        "parameter_unknown",
                        &format!("Received unknown parameter: {k}"),
                        Some(k),
                    );
                }
            }
        }
    }
    let Some(pi) = pi else {
        return bad(
            "parameter_missing",
            "Missing required param: payment_intent.",
            Some("payment_intent"),
        );
    };
    state.stripe().with(|d| {
        let Some(s) = d
            .sessions
            .values_mut()
            .find(|s| s.account == account && s.payment_intent.as_deref() == Some(pi))
        else {
            return (
                StatusCode::NOT_FOUND,
                error_body(
                    "invalid_request_error",
                    Some("resource_missing"),
                    "No such payment_intent",
                    Some("payment_intent"),
                ),
            );
        };
        if s.payment_status != "paid" {
            return bad(
                "charge_not_refundable",
                "This payment has not succeeded and cannot be refunded.",
                None,
            );
        }
        let remaining = s.amount_total - s.refunded;
        if remaining == 0 {
            return bad(
                "charge_already_refunded",
                "This payment has already been refunded.",
                None,
            );
        }
        let a = amount.unwrap_or(remaining);
        if a > remaining {
            return bad(
                "amount_too_large",
                "Refund amount is greater than the unrefunded amount.",
                Some("amount"),
            );
        }
        s.refunded += a;
        let refund = json!({
            "id": format!("re_{}", random_hex(12)),
            "object": "refund",
            "amount": a,
            "created": now,
            "currency": s.currency,
            "metadata": metadata,
            "payment_intent": pi,
            "reason": reason,
            "status": "succeeded",
        });
        (StatusCode::OK, refund.to_string())
    })
}

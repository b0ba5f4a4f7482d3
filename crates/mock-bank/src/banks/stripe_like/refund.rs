//! Refunds of a paid session's charge: `POST /v1/refunds` (by `payment_intent` or `charge`),
//! `GET /v1/refunds`, `GET /v1/refunds/{id}`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::api::{
    Caller, Params, error_body, fault, idempotent, listed, missing,
};
use super::params::{Refused, bracket_key, list_params, object_id};
use super::state::{Refund, insert_capped};
use crate::extract::Pairs;
use crate::layer::Note;
use crate::random_hex;
use crate::state::{BankState, Store};

/// The session a refund request is about: by `payment_intent`, else by `charge`.
fn target_reference(state: &BankState, pairs: &Pairs) -> Option<String> {
    let pi = pairs.get("payment_intent");
    let charge = pairs.get("charge");
    state.stripe().with(|d| {
        d.sessions
            .values()
            .find(|s| {
                pi.is_some_and(|pi| s.payment_intent.as_deref() == Some(pi))
                    || charge.is_some_and(|ch| s.charge.as_deref() == Some(ch))
            })
            .map(|s| s.reference().to_owned())
    })
}

/// `POST /v1/refunds` (`payment_intent` or `charge`, `amount`, `reason`, `metadata[…]`).
pub(super) async fn create_refund(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Params(pairs): Params,
) -> Response {
    let reference = target_reference(&state, &pairs);
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(f) = scenario.api_fault {
        return fault(&state, f, reference.as_deref()).await;
    }
    let now = state.now().as_second();
    let resp = idempotent(&state, &account, &headers, "/v1/refunds", &pairs, || {
        refund_op(&state, &account, &pairs, now)
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
fn refund_op(state: &BankState, account: &str, pairs: &Pairs, now: i64) -> (StatusCode, String) {
    let bad = |code: &str, msg: &str, param: Option<&str>| {
        (
            StatusCode::BAD_REQUEST,
            error_body("invalid_request_error", Some(code), msg, param),
        )
    };
    let mut amount = None;
    let mut metadata = BTreeMap::new();
    let mut reason = None;
    let mut pi = None;
    let mut charge = None;
    for (k, v) in pairs.as_slice() {
        match k.as_str() {
            "payment_intent" => pi = Some(v.as_str()),
            "charge" => charge = Some(v.as_str()),
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
            _ if super::api::is_expand(k) => {}
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
    let (kind, id, param) = match (pi, charge) {
        (Some(_), Some(_)) => {
            return bad(
                "parameter_invalid",
                "You may only specify one of these parameters: charge, payment_intent.",
                Some("charge"),
            );
        }
        (Some(pi), None) => ("payment_intent", pi, "payment_intent"),
        (None, Some(ch)) => ("charge", ch, "charge"),
        (None, None) => {
            return bad(
                "parameter_missing",
                "One of the following params should be provided for this request: payment_intent or charge.",
                None,
            );
        }
    };
    state.stripe().with(|d| {
        let Some(s) = d.sessions.values_mut().find(|s| {
            s.account == account
                && if kind == "charge" {
                    s.charge.as_deref() == Some(id)
                } else {
                    s.payment_intent.as_deref() == Some(id)
                }
        }) else {
            return (
                StatusCode::NOT_FOUND,
                error_body(
                    "invalid_request_error",
                    Some("resource_missing"),
                    &super::api::missing_message(kind, id),
                    Some(param),
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
        let refund = Refund {
            id: format!("re_test_{}", random_hex(12)),
            account: account.to_owned(),
            amount: a,
            currency: s.currency.clone(),
            charge: s.charge.clone().unwrap_or_default(),
            payment_intent: s.payment_intent.clone().unwrap_or_default(),
            payment_method: s.payment_method.clone(),
            customer: s.customer.clone(),
            balance_transaction: format!("txn_test_{}", random_hex(12)),
            reason,
            metadata,
            created: now,
            created_order: state.next_counter(),
        };
        let body = refund.to_json().to_string();
        insert_capped(&mut d.refunds, refund.id.clone(), refund);
        (StatusCode::OK, body)
    })
}

/// `GET /v1/refunds`: the account's refunds, newest first, filtered by `payment_intent`,
/// `charge` and `created`, one page of at most `limit`.
pub(super) async fn list_refunds(
    State(state): State<BankState>,
    Caller { account, .. }: Caller,
    Params(pairs): Params,
) -> Result<Response, Refused> {
    let mut pi = None;
    let mut charge = None;
    let (cursor, created) = list_params(&pairs, |k, v| {
        let id = match k {
            "payment_intent" => object_id(v, "payment_intent").map(|id| pi = Some(id)),
            "charge" => object_id(v, "charge").map(|id| charge = Some(id)),
            _ => return Err(Refused::Unknown(k.to_owned())),
        };
        id.map_err(|(param, message)| Refused::invalid(param, message))
    })?;
    if let Some(f) = state.scenario_for("*").api_fault {
        return Ok(fault(&state, f, None).await);
    }
    let page = state.stripe().with(|d| {
        let (rows, has_more) = cursor.page_of(&d.refunds, &account, |r| {
            created.keeps(r.created)
                && pi.as_ref().is_none_or(|p| r.payment_intent == *p)
                && charge.as_ref().is_none_or(|c| r.charge == *c)
        })?;
        Ok((rows.iter().map(|r| r.to_json()).collect(), has_more))
    });
    Ok(listed(page, "refunds_listed", "/v1/refunds", |c| {
        missing("refund", c, "starting_after")
    }))
}

//! The server API routes (spec §G.4, §G.6, §G.8): create and read a hosted checkout, read a
//! payment, capture, cancel, refund, test the connection. Every route is behind the signature
//! check ([`Merchant`]); creations and operations honour `X-GCS-Idempotence-Key`; scripted API
//! faults apply by `merchantReference`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::{Merchant, error};
use super::state::{Checkout, keep_answer, keep_checkout};
use super::webhook::send_payment_event;
use crate::faults::api_fault;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::state::{BankState, Store};

/// The largest amount the mock takes, in minor units (the platform documents none).
pub const MAX_AMOUNT: u64 = 999_999_999_999;

const IDEMPOTENCE: &str = "x-gcs-idempotence-key";

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn bad_request(reference: Option<&str>, property: &str, message: &str) -> Response {
    Note::new(reference, "refused").attach(error(
        StatusCode::BAD_REQUEST,
        "1100",
        "PARAMETER_INVALID",
        &format!("{message} ({property})"),
    ))
}

fn not_found(what: &str) -> Response {
    Note::new(None, "unknown").attach(error(
        StatusCode::NOT_FOUND,
        "1001",
        "UNKNOWN_OBJECT",
        &format!("unknown {what}"),
    ))
}

/// The stored answer of an idempotent request already served.
fn replay(state: &BankState, merchant: &str, headers: &HeaderMap) -> Option<Response> {
    let key = headers.get(IDEMPOTENCE)?.to_str().ok()?.to_owned();
    let (status, body) = state
        .worldline()
        .with(|d| d.idempotence.get(&(merchant.to_owned(), key)).cloned())?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Some(
        Note::new(None, "idempotent_replay").attach((
            status,
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::HeaderName::from_static("x-gcs-idempotence-request-timestamp"),
                    state.now().as_millisecond().to_string(),
                ),
            ],
            body,
        )),
    )
}

fn remember(state: &BankState, merchant: &str, headers: &HeaderMap, status: StatusCode, body: &Value) {
    if let Some(key) = headers.get(IDEMPOTENCE).and_then(|v| v.to_str().ok()) {
        let key = (merchant.to_owned(), key.to_owned());
        let answer = (status.as_u16(), body.to_string());
        state.worldline().with(|d| keep_answer(d, key, answer));
    }
}

/// A JSON object body, `None` otherwise.
fn parse(body: &Bytes) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn not_an_object() -> Response {
    bad_request(None, "body", "the body is not a JSON object")
}

/// `POST /v2/{merchantId}/hostedcheckouts`.
pub(super) async fn create_hosted_checkout(
    State(state): State<BankState>,
    caller: Merchant,
    body: Bytes,
) -> Response {
    let m = &caller.merchant.merchant_id;
    if let Some(r) = replay(&state, m, &caller.headers) {
        return r;
    }
    let Some(req) = parse(&body) else {
        return not_an_object();
    };
    let order = &req["order"];
    let reference = order["references"]["merchantReference"].as_str();
    // The platform's rule is not documented (spec G.4, UNSURE): 40 characters are known to
    // work, and shops in production send spaces (eopayment's "<transaction> <order>"). The mock
    // takes 1 to 40 printable ASCII characters, so it is never stricter than what is known to
    // pass; the providers send the conservative `[A-Za-z0-9-]{1,40}`.
    let Some(reference) = reference.filter(|r| {
        !r.is_empty() && r.len() <= 40 && r.bytes().all(|b| (b' '..=b'~').contains(&b))
    }) else {
        return bad_request(
            None,
            "order.references.merchantReference",
            "missing, over 40 characters, or not printable ASCII",
        );
    };
    if let Some(fault) = state.scenario_for(reference).api_fault {
        return api_fault(&state, fault, Some(reference)).await;
    }
    let Some(amount) = order["amountOfMoney"]["amount"].as_u64().filter(|a| (1..=MAX_AMOUNT).contains(a)) else {
        return bad_request(Some(reference), "order.amountOfMoney.amount", "missing, zero or too large");
    };
    let Some(currency) = order["amountOfMoney"]["currencyCode"]
        .as_str()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
    else {
        return bad_request(Some(reference), "order.amountOfMoney.currencyCode", "not an ISO 4217 code");
    };
    let specific = &req["hostedCheckoutSpecificInput"];
    let Some(return_url) = specific["returnUrl"]
        .as_str()
        .filter(|u| crate::notify::check_callback_url(u).is_ok())
    else {
        return bad_request(Some(reference), "hostedCheckoutSpecificInput.returnUrl", "not an absolute URL");
    };
    let webhook_url = req["feedbacks"]["webhooksUrls"][0]
        .as_str()
        .filter(|u| crate::notify::check_callback_url(u).is_ok())
        .map(str::to_owned);
    let n = state.next_counter();
    let id = format!("{}{:06}", 4_000_000 + n % 1_000_000, state.now().as_second() % 1_000_000);
    // How many cards the customer may try on the page (the platform's default: 10).
    let allowed_attempts = match &specific["allowedNumberOfPaymentAttempts"] {
        Value::Null => super::page::MAX_ATTEMPTS,
        v => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (1..=super::page::MAX_ATTEMPTS).contains(&n) => n,
            _ => {
                return bad_request(
                    Some(reference),
                    "hostedCheckoutSpecificInput.allowedNumberOfPaymentAttempts",
                    "not a number from 1 to 10",
                );
            }
        },
    };
    let checkout = Checkout {
        id: id.clone(),
        merchant_id: m.clone(),
        amount,
        currency: currency.to_owned(),
        merchant_reference: reference.to_owned(),
        merchant_parameters: order["references"]["merchantParameters"].as_str().map(str::to_owned),
        return_url: return_url.to_owned(),
        webhook_url,
        returnmac: crate::random_hex(16),
        authorization_mode: req["cardPaymentMethodSpecificInput"]["authorizationMode"]
            .as_str()
            .unwrap_or("SALE")
            .to_owned(),
        locale: specific["locale"].as_str().unwrap_or("fr_FR").to_owned(),
        status: "IN_PROGRESS",
        payment_id: None,
        attempts: 0,
        allowed_attempts,
        order: n,
    };
    let base = state.base_url_for(&caller.headers);
    let answer = json!({
        "hostedCheckoutId": id,
        "RETURNMAC": checkout.returnmac,
        "redirectUrl": format!("{base}/hostedcheckout/{id}"),
        "partialRedirectUrl": format!("/hostedcheckout/{id}"),
        "merchantReference": reference,
    });
    state.worldline().with(|d| keep_checkout(d, checkout));
    state.record(
        JournalEntry::new(EntryKind::Decision, Side::Worldline, "hostedcheckouts", "created")
            .reference(Some(reference)),
    );
    remember(&state, m, &caller.headers, StatusCode::CREATED, &answer);
    Note::new(Some(reference), "created").attach(json_answer(StatusCode::CREATED, &answer))
}

/// `GET /v2/{merchantId}/hostedcheckouts/{id}`.
pub(super) async fn get_hosted_checkout(
    State(state): State<BankState>,
    caller: Merchant,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let found = state.worldline().with(|d| {
        let c = d.checkouts.get(&id).filter(|c| c.merchant_id == caller.merchant.merchant_id)?;
        let p = c.payment_id.as_ref().and_then(|p| d.payments.get(p));
        Some((c.merchant_reference.clone(), c.to_json(p)))
    });
    match found {
        Some((reference, v)) => {
            if let Some(fault) = state.scenario_for(&reference).api_fault {
                return api_fault(&state, fault, Some(&reference)).await;
            }
            Note::new(Some(&reference), "read").attach(json_answer(StatusCode::OK, &v))
        }
        None => not_found("hosted checkout"),
    }
}

/// `GET /v2/{merchantId}/payments/{id}`.
pub(super) async fn get_payment(
    State(state): State<BankState>,
    caller: Merchant,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    read_payment(&state, &caller, &id, |_| {}).await
}

/// `GET /v2/{merchant}/payments/{id}/details`: the payment with its operations (the mock keeps
/// none apart from the payment itself, so the list is empty).
pub(super) async fn get_payment_details(
    State(state): State<BankState>,
    caller: Merchant,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    read_payment(&state, &caller, &id, |v| v["operations"] = json!([])).await
}

/// The caller's payment `id` as JSON, completed by `extend`; its reference's scripted API
/// fault instead, if any; 404 when the caller has no such payment.
async fn read_payment(
    state: &BankState,
    caller: &Merchant,
    id: &str,
    extend: impl FnOnce(&mut Value),
) -> Response {
    let found = state.worldline().with(|d| {
        d.payments
            .get(id)
            .filter(|p| p.merchant_id == caller.merchant.merchant_id)
            .map(|p| (p.merchant_reference.clone(), p.to_json()))
    });
    match found {
        Some((reference, mut v)) => {
            if let Some(fault) = state.scenario_for(&reference).api_fault {
                return api_fault(state, fault, Some(&reference)).await;
            }
            extend(&mut v);
            Note::new(Some(&reference), "read").attach(json_answer(StatusCode::OK, &v))
        }
        None => not_found("payment"),
    }
}

/// Which operation a `POST /payments/{id}/…` is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Capture,
    Cancel,
    Refund,
}

/// `POST /v2/{merchantId}/payments/{id}/{capture|cancel|refund}`.
pub(super) async fn operation(
    State(state): State<BankState>,
    caller: Merchant,
    Path((_, id, op)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let m = caller.merchant.merchant_id.clone();
    let op = match op.as_str() {
        "capture" => Operation::Capture,
        "cancel" => Operation::Cancel,
        "refund" => Operation::Refund,
        _ => return not_found("operation"),
    };
    if let Some(r) = replay(&state, &m, &caller.headers) {
        return r;
    }
    let req = if body.is_empty() {
        json!({})
    } else {
        let Some(req) = parse(&body) else {
            return not_an_object();
        };
        req
    };
    let Some(reference) = state.worldline().with(|d| {
        d.payments.get(&id).filter(|p| p.merchant_id == m).map(|p| p.merchant_reference.clone())
    }) else {
        return not_found("payment");
    };
    if let Some(fault) = state.scenario_for(&reference).api_fault {
        return api_fault(&state, fault, Some(&reference)).await;
    }
    let now = state.now().strftime("%Y%m%d%H%M%S").to_string();
    let result = state.worldline().with(|d| {
        let p = d.payments.get_mut(&id).ok_or("unknown payment")?;
        match op {
            Operation::Capture => {
                if !matches!(p.status_code, 5 | 56) {
                    return Err("the payment is not waiting for a capture");
                }
                let amount = req["amount"].as_u64().unwrap_or(p.amount);
                if amount == 0 || amount > p.amount {
                    return Err("the capture amount exceeds the authorised amount");
                }
                p.status_code = 9;
                p.captured = amount;
                p.changed_at.clone_from(&now);
                Ok((json!({
                    "id": format!("{}-c1", p.id),
                    "status": "CAPTURED",
                    "statusOutput": {"statusCode": 9, "statusCategory": "COMPLETED"},
                    "captureOutput": {"amountOfMoney": {"amount": amount, "currencyCode": p.currency}},
                }), p.clone()))
            }
            Operation::Cancel => {
                if !matches!(p.status_code, 5 | 56) {
                    return Err("the payment cannot be cancelled");
                }
                p.status_code = 6;
                p.changed_at.clone_from(&now);
                Ok((json!({"payment": p.to_json()}), p.clone()))
            }
            Operation::Refund => {
                let money = &req["amountOfMoney"];
                let amount = money["amount"].as_u64().unwrap_or(0);
                if money["currencyCode"].as_str() != Some(p.currency.as_str()) {
                    return Err("the refund currency differs from the payment's");
                }
                if p.status_code != 9 {
                    return Err("the payment is not refundable");
                }
                if amount == 0 || p.refunded + amount > p.captured {
                    return Err("the refund exceeds the captured amount");
                }
                p.refunded += amount;
                p.refunds += 1;
                let refund_id = format!("{}-r{}", p.id, p.refunds);
                if p.refunded == p.captured {
                    p.status_code = 8;
                    p.changed_at.clone_from(&now);
                }
                Ok((json!({
                    "id": refund_id,
                    "status": "REFUNDED",
                    "statusOutput": {"statusCode": 8, "statusCategory": "REFUNDED"},
                    "refundOutput": {"amountOfMoney": {"amount": amount, "currencyCode": p.currency}},
                }), p.clone()))
            }
        }
    });
    match result {
        Ok((answer, payment)) => {
            let detail = match op {
                Operation::Capture => "captured",
                Operation::Cancel => "cancelled",
                Operation::Refund => "refunded",
            };
            state.record(
                JournalEntry::new(EntryKind::Decision, Side::Worldline, format!("payments/{id}"), detail)
                    .reference(Some(&reference)),
            );
            remember(&state, &m, &caller.headers, StatusCode::CREATED, &answer);
            if op != Operation::Refund || payment.status_code == 8 {
                send_payment_event(&state, &payment, true).await;
            }
            Note::new(Some(&reference), detail).attach(json_answer(StatusCode::CREATED, &answer))
        }
        Err(why) => bad_request(Some(&reference), "payment", why),
    }
}

/// `GET /v2/{merchantId}/services/testconnection`.
pub(super) async fn test_connection(_caller: Merchant) -> Response {
    Note::new(None, "test_connection").attach(json_answer(StatusCode::OK, &json!({"result": "OK"})))
}

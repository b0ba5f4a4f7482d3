//! The REST API V4 the shop calls (spec B.11 hosts): `Order/Get` and
//! `Transaction/CancelOrRefund`, Basic auth with the shop id and its REST password, answers in
//! the `{"status":"SUCCESS"|"ERROR","answer":{…}}` envelope.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::state::{LyraData, LyraTransaction, TxStatus, rest_code};
use crate::faults::api_fault;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::state::BankState;

/// ISO 4217 numeric → alphabetic, for the currencies of [`super::CURRENCIES`].
pub(super) fn alpha(numeric: &str) -> &'static str {
    match numeric {
        "978" => "EUR",
        "840" => "USD",
        "826" => "GBP",
        "756" => "CHF",
        "124" => "CAD",
        "036" => "AUD",
        "392" => "JPY",
        "752" => "SEK",
        "208" => "DKK",
        "578" => "NOK",
        "985" => "PLN",
        "203" => "CZK",
        "048" => "BHD",
        "414" => "KWD",
        "788" => "TND",
        _ => "XXX",
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "status": "ERROR",
        "answer": {"_type": "V4/WebService/WebServiceError", "errorCode": code, "errorMessage": message},
    });
    (status, axum::Json(body)).into_response()
}

fn success(answer: Value) -> Response {
    axum::Json(json!({"status": "SUCCESS", "answer": answer})).into_response()
}

/// The shop id of a valid `Authorization: Basic` header.
fn authenticate(state: &BankState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    let shop = state.lyra().shop(user)?;
    shop.rest_password.matches(password).then(|| user.to_owned())
}

fn transaction_json(t: &LyraTransaction, credit: bool, amount: u64) -> Value {
    json!({
        "_type": "V4/PaymentTransaction",
        "uuid": t.uuid,
        "shopId": t.site_id,
        "amount": amount,
        "currency": alpha(&t.currency),
        "operationType": if credit { "CREDIT" } else { "DEBIT" },
        "status": t.status.rest_status(),
        "detailedStatus": t.status.as_str(),
        "orderDetails": {"orderId": t.order_id},
        "transactionDetails": {
            "cardDetails": {
                "legacyTransId": t.reference.split_once('-').map_or("", |(_, id)| id),
                "authorizationResponse": {"authorizationResult": rest_code(&t.auth_result)},
            },
        },
    })
}

/// The shop's transaction `uuid`, or the platform's error.
fn transaction<'d>(
    d: &'d mut LyraData,
    shop: &str,
    uuid: &str,
) -> Result<&'d mut LyraTransaction, (&'static str, &'static str)> {
    d.transactions
        .iter_mut()
        .find(|t| t.uuid == uuid && t.site_id == shop)
        .ok_or(("PSP_010", "transaction introuvable"))
}

/// Reads the JSON body and the shop; the error response otherwise.
fn open(
    state: &BankState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, Value), Box<Response>> {
    let Some(shop) = authenticate(state, headers) else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "INT_905",
            "authentification refusée",
        )));
    };
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| Box::new(error(StatusCode::OK, "INT_902", "corps JSON invalide")))?;
    Ok((shop, body))
}

/// `POST /api-payment/V4/Order/Get`: every transaction of `orderId`, refunds as CREDIT ones.
pub(super) async fn order_get(State(state): State<BankState>, headers: HeaderMap, body: Bytes) -> Response {
    let (shop, body) = match open(&state, &headers, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let order_id = body["orderId"].as_str().unwrap_or_default().to_owned();
    if let Some(fault) = state.scenario_for(&order_id).api_fault {
        return api_fault(&state, fault, Some(&order_id)).await;
    }
    let transactions: Vec<Value> = state.lyra().with(|d| {
        d.transactions
            .iter()
            .filter(|t| t.site_id == shop && t.order_id == order_id && !order_id.is_empty())
            .flat_map(|t| {
                let mut v = vec![transaction_json(t, false, t.amount)];
                if t.refunded > 0 {
                    v.push(transaction_json(t, true, t.refunded));
                }
                v
            })
            .collect()
    });
    Note::new(Some(&order_id), "order_get").attach(success(json!({
        "_type": "V4/OrderTransactions",
        "orderId": order_id,
        "transactions": transactions,
    })))
}

/// `POST /api-payment/V4/Transaction/CancelOrRefund`: refunds `amount` of an authorised
/// transaction (never beyond what is left).
pub(super) async fn cancel_or_refund(
    State(state): State<BankState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (shop, body) = match open(&state, &headers, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let uuid = body["uuid"].as_str().unwrap_or_default().to_owned();
    let amount = body["amount"].as_u64().unwrap_or(0);
    let currency = body["currency"].as_str().unwrap_or_default().to_owned();
    let result = state.lyra().with(|d| {
        let t = transaction(d, &shop, &uuid)?;
        if t.status != TxStatus::Authorised {
            return Err(("PSP_011", "transaction non remboursable"));
        }
        if alpha(&t.currency) != currency {
            return Err(("PSP_012", "devise différente de la transaction"));
        }
        if amount == 0 || amount > t.amount - t.refunded {
            return Err(("PSP_013", "montant supérieur au montant remboursable"));
        }
        t.refunded += amount;
        let mut refund = t.clone();
        refund.uuid = crate::random_hex(16);
        Ok(refund)
    });
    match result {
        Ok(refund) => {
            state.record(
                JournalEntry::new(EntryKind::Decision, Side::Lyra, "CancelOrRefund", "refunded")
                    .reference(Some(&refund.reference)),
            );
            Note::new(Some(&refund.reference), "refund").attach(success(transaction_json(&refund, true, amount)))
        }
        Err((code, message)) => Note::new(None, code).attach(error(StatusCode::OK, code, message)),
    }
}

/// `POST /api-payment/V4/Transaction/Validate` (an `AUTHORISED_TO_VALIDATE` transaction becomes
/// `AUTHORISED`, captured at its date) and `Transaction/Cancel` (an authorisation not refunded
/// becomes `CANCELLED`).
async fn operate(state: &BankState, headers: &HeaderMap, body: &Bytes, validate: bool) -> Response {
    let (shop, body) = match open(state, headers, body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let uuid = body["uuid"].as_str().unwrap_or_default().to_owned();
    let result = state.lyra().with(|d| {
        let t = transaction(d, &shop, &uuid)?;
        match (validate, t.status) {
            (true, TxStatus::AuthorisedToValidate) => t.status = TxStatus::Authorised,
            (false, TxStatus::AuthorisedToValidate | TxStatus::Authorised) if t.refunded == 0 => {
                t.status = TxStatus::Cancelled;
            }
            _ => return Err(("PSP_020", "opération impossible dans cet état")),
        }
        Ok(t.clone())
    });
    match result {
        Ok(t) => {
            let detail = if validate { "validated" } else { "cancelled" };
            state.record(
                JournalEntry::new(EntryKind::Decision, Side::Lyra, "operation", detail)
                    .reference(Some(&t.reference)),
            );
            Note::new(Some(&t.reference), detail)
                .attach(success(transaction_json(&t, false, t.amount)))
        }
        Err((code, message)) => Note::new(None, code).attach(error(StatusCode::OK, code, message)),
    }
}

pub(super) async fn validate(State(state): State<BankState>, headers: HeaderMap, body: Bytes) -> Response {
    operate(&state, &headers, &body, true).await
}

pub(super) async fn cancel(State(state): State<BankState>, headers: HeaderMap, body: Bytes) -> Response {
    operate(&state, &headers, &body, false).await
}

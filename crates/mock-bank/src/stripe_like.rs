//! The Stripe-like side: Checkout Sessions API, refunds, hosted page, signed webhooks.
//!
//! Written from section A of `../shared/specs/other-providers.md`, independently of the
//! `tpe-stripe-like` provider crate.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::journal::{EntryKind, JournalEntry, Side};
use crate::notify::{Ack, Delivery, dispatch};
use crate::paybox::parse_form;
use crate::scenario::{Outcome, Scenario};
use crate::state::{BankState, MAX_ROWS};
use crate::{Note, html_page, random_hex};

/// The API version written in events.
pub const API_VERSION: &str = "2024-06-20";

/// Stripe-like test cards understood by the hosted page.
pub mod cards {
    /// Paid at once.
    pub const ACCEPTED: &str = "4242424242424242";
    /// Declined: `insufficient_funds`.
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
    /// Declined: `generic_decline`.
    pub const GENERIC_DECLINE: &str = "4000000000000002";
    /// Declined: `expired_card`.
    pub const EXPIRED_CARD: &str = "4000000000000069";
    /// Declined: `lost_card`.
    pub const LOST_CARD: &str = "4000000000009987";
    /// Declined: `stolen_card`.
    pub const STOLEN_CARD: &str = "4000000000009979";
    /// Declined: `incorrect_cvc`.
    pub const INCORRECT_CVC: &str = "4000000000000127";
    /// Declined: `processing_error`.
    pub const PROCESSING_ERROR: &str = "4000000000000119";
    /// Declined: `incorrect_number`.
    pub const INCORRECT_NUMBER: &str = "4242424242424241";
    /// Delayed payment: completed + unpaid, then `async_payment_succeeded` after the pending delay.
    pub const DELAYED_SUCCEEDS: &str = "4000000000009905";
    /// Delayed payment: completed + unpaid, then `async_payment_failed` after the pending delay.
    pub const DELAYED_FAILS: &str = "4000000000009913";
}

/// `Stripe-Signature` header value for `payload` signed at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(secret as UTF-8, "<t>.<payload>")>`.
#[must_use]
pub fn stripe_signature_header(secret: &str, t: i64, payload: &str) -> String {
    use hmac::{KeyInit, Mac};
    // HMAC accepts keys of any length, so this cannot fail; fall back to an unverifiable value.
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return format!("t={t},v1=");
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Checkout Session.
#[derive(Clone, Debug)]
pub(crate) struct StripeSession {
    id: String,
    account: String,
    amount_total: u64,
    currency: String,
    client_reference_id: Option<String>,
    customer_email: Option<String>,
    metadata: BTreeMap<String, String>,
    success_url: String,
    cancel_url: Option<String>,
    status: &'static str,
    payment_status: &'static str,
    payment_intent: Option<String>,
    /// `payment_intent_data[metadata]`: the payment intent's own metadata.
    intent_metadata: BTreeMap<String, String>,
    /// The payment intent's `status` once it exists.
    intent_status: &'static str,
    /// The payment intent's `last_payment_error` after a decline.
    last_payment_error: Option<PaymentError>,
    created: i64,
    expires_at: i64,
    refunded: u64,
    created_order: u64,
}

/// A payment intent's `last_payment_error`.
#[derive(Clone, Debug)]
pub(crate) struct PaymentError {
    code: String,
    decline_code: Option<String>,
    message: String,
}

impl PaymentError {
    /// The error of a card declined with `reason`, shaped as the PSP shapes it: reasons that are
    /// also top-level codes keep their name as `code` (`incorrect_number` has no
    /// `decline_code`, being caught before the issuer); the others are `card_declined`.
    fn declined(reason: &str) -> Self {
        let (code, decline_code) = match reason {
            "incorrect_number" | "invalid_number" => (reason, None),
            "expired_card" | "incorrect_cvc" | "processing_error" => (reason, Some(reason)),
            _ => ("card_declined", Some(reason)),
        };
        Self {
            code: code.to_owned(),
            decline_code: decline_code.map(str::to_owned),
            message: format!("Your card was declined ({reason})."),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "type": "card_error",
            "code": self.code,
            "decline_code": self.decline_code,
            "message": self.message,
        })
    }
}

impl StripeSession {
    fn reference(&self) -> &str {
        self.client_reference_id.as_deref().unwrap_or(&self.id)
    }

    /// The payment intent object (the `expand[]=payment_intent` form), once there is one.
    fn intent_json(&self) -> Option<Value> {
        let id = self.payment_intent.as_ref()?;
        Some(json!({
            "id": id,
            "object": "payment_intent",
            "amount": self.amount_total,
            "amount_received": if self.payment_status == "paid" { self.amount_total } else { 0 },
            "created": self.created,
            "currency": self.currency,
            "last_payment_error": self.last_payment_error.as_ref().map(PaymentError::to_json),
            "livemode": false,
            "metadata": self.intent_metadata,
            "status": self.intent_status,
        }))
    }

    /// Creates the payment intent at the first card submitted (as the PSP does for hosted
    /// Checkout); later tries on the same page reuse it.
    fn ensure_intent(&mut self) {
        if self.payment_intent.is_none() {
            self.payment_intent = Some(format!("pi_test_{}", random_hex(12)));
        }
    }

    /// The session; `expand_intent` puts the payment intent object in place of its id.
    fn to_json(&self, base_url: &str, expand_intent: bool) -> Value {
        let intent = if expand_intent {
            self.intent_json()
                .unwrap_or_else(|| json!(self.payment_intent))
        } else {
            json!(self.payment_intent)
        };
        json!({
            "id": self.id,
            "object": "checkout.session",
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "currency": self.currency,
            "customer_details": if self.status == "complete" {
                json!({"email": self.customer_email})
            } else {
                Value::Null
            },
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "livemode": false,
            "metadata": self.metadata,
            "mode": "payment",
            "payment_intent": intent,
            "payment_status": self.payment_status,
            "status": self.status,
            "success_url": self.success_url,
            "url": if self.status == "open" {
                Value::String(format!("{base_url}/c/pay/{}", self.id))
            } else {
                Value::Null
            },
        })
    }
}

/// A stored response for an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub(crate) struct IdempotencyRecord {
    fingerprint: String,
    status: u16,
    body: String,
}

fn api_error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Response {
    let body = json!({"error": {
        "type": kind,
        "code": code,
        "decline_code": Value::Null,
        "message": message,
        "param": param,
    }});
    (status, axum::Json(body)).into_response()
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The account authenticated by `Authorization: Bearer sk_…`, as its key.
fn authenticate(state: &BankState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let key = value.strip_prefix("Bearer ")?.trim();
    state
        .config()
        .stripe_accounts
        .iter()
        .find(|a| a.secret_key.matches(key))
        .map(|a| a.secret_key.expose().to_owned())
}

fn unauthorized() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        None,
        "Invalid API Key provided.",
        None,
    )
}

/// Runs `op` under the `Idempotency-Key` rules: the same key with the same parameters replays the
/// first successful answer; with other parameters it is an `idempotency_error`. Failed requests are
/// not stored, so a client may retry them with the same key.
fn idempotent(
    state: &BankState,
    account: &str,
    headers: &HeaderMap,
    path: &str,
    pairs: &[(String, String)],
    op: impl FnOnce() -> (StatusCode, String),
) -> Response {
    let key = match headers.get("Idempotency-Key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 255 => Some(k.to_owned()),
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                "Invalid Idempotency-Key: 1 to 255 visible characters.",
                None,
            );
        }
    };
    let mut sorted = pairs.to_vec();
    sorted.sort();
    let fingerprint = format!(
        "{path}?{}",
        serde_urlencoded::to_string(&sorted).unwrap_or_default()
    );
    if let Some(key) = &key {
        let stored = state.with_data(|d| {
            d.idempotency
                .get(&(account.to_owned(), key.clone()))
                .cloned()
        });
        if let Some(rec) = stored {
            if rec.fingerprint == fingerprint {
                let mut resp = json_response(
                    StatusCode::from_u16(rec.status).unwrap_or(StatusCode::OK),
                    rec.body,
                );
                resp.headers_mut().insert(
                    "Idempotent-Replayed",
                    http::HeaderValue::from_static("true"),
                );
                return Note::new(None, "idempotent_replay").attach(resp);
            }
            return Note::new(None, "idempotency_error").attach(api_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                None,
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                None,
            ));
        }
    }
    let (status, body) = op();
    if let Some(key) = key
        && status.is_success()
    {
        state.with_data(|d| {
            if d.idempotency.len() >= MAX_ROWS {
                d.idempotency.clear();
            }
            d.idempotency.insert(
                (account.to_owned(), key),
                IdempotencyRecord {
                    fingerprint,
                    status: status.as_u16(),
                    body: body.clone(),
                },
            );
        });
    }
    json_response(status, body)
}

fn error_body(kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> String {
    json!({"error": {"type": kind, "code": code, "decline_code": Value::Null, "message": message, "param": param}})
        .to_string()
}

/// Splits `line_items[3][price_data][currency]` into `(3, "[price_data][currency]")`.
fn line_item_field(k: &str) -> Option<(usize, &str)> {
    let rest = k.strip_prefix("line_items[")?;
    let end = rest.find(']')?;
    let idx = rest[..end].parse::<usize>().ok().filter(|i| *i < 100)?;
    Some((idx, &rest[end + 1..]))
}

fn bracket_key<'a>(k: &'a str, prefix: &str) -> Option<&'a str> {
    k.strip_prefix(prefix)?
        .strip_suffix(']')
        .filter(|inner| !inner.contains(['[', ']']))
}

#[derive(Default)]
struct Item {
    quantity: Option<u64>,
    currency: Option<String>,
    unit_amount: Option<u64>,
    name: Option<String>,
}

type Invalid = (String, Option<String>);

fn invalid(msg: impl Into<String>, param: &str) -> Invalid {
    (msg.into(), Some(param.to_owned()))
}

/// Adds one metadata entry within Stripe's bounds (40-character keys, 500-character values,
/// 50 keys).
fn put_metadata(
    metadata: &mut BTreeMap<String, String>,
    key: &str,
    value: &str,
    param: &str,
) -> Result<(), Invalid> {
    if key.is_empty() || key.len() > 40 || value.len() > 500 || metadata.len() >= 50 {
        return Err(invalid(
            "Invalid metadata: keys up to 40 characters, values up to 500, 50 keys",
            param,
        ));
    }
    metadata.insert(key.to_owned(), value.to_owned());
    Ok(())
}

/// Validates the create parameters (400 naming the parameter, as stripe-mock does).
fn build_session(
    state: &BankState,
    account: &str,
    pairs: &[(String, String)],
) -> Result<StripeSession, Invalid> {
    let mut items: BTreeMap<usize, Item> = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    let mut intent_metadata = BTreeMap::new();
    let mut mode = None;
    let mut success_url = None;
    let mut cancel_url = None;
    let mut client_reference_id = None;
    let mut customer_email = None;
    let mut expires_at = None;
    for (k, v) in pairs {
        if let Some((i, field)) = line_item_field(k) {
            let item = items.entry(i).or_default();
            match field {
                "[quantity]" => {
                    item.quantity = Some(
                        v.parse()
                            .ok()
                            .filter(|q| (1..=999_999).contains(q))
                            .ok_or_else(|| invalid("Invalid integer", k))?,
                    );
                }
                "[price_data][currency]" => {
                    if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_lowercase()) {
                        return Err(invalid(
                            "Invalid currency: use a lowercase ISO 4217 code",
                            k,
                        ));
                    }
                    item.currency = Some(v.clone());
                }
                "[price_data][unit_amount]" => {
                    item.unit_amount = Some(
                        v.parse()
                            .ok()
                            .filter(|a| *a <= 99_999_999)
                            .ok_or_else(|| invalid("Invalid integer", k))?,
                    );
                }
                "[price_data][product_data][name]" => {
                    if v.is_empty() || v.len() > 250 {
                        return Err(invalid("Invalid product name", k));
                    }
                    item.name = Some(v.clone());
                }
                "[price_data][product_data][description]" => {}
                _ => return Err(invalid(format!("Received unknown parameter: {k}"), k)),
            }
            continue;
        }
        if let Some(mk) = bracket_key(k, "metadata[") {
            put_metadata(&mut metadata, mk, v, k)?;
            continue;
        }
        if let Some(mk) = bracket_key(k, "payment_intent_data[metadata][") {
            put_metadata(&mut intent_metadata, mk, v, k)?;
            continue;
        }
        if bracket_key(k, "expand[").is_some() || bracket_key(k, "payment_method_types[").is_some()
        {
            continue;
        }
        match k.as_str() {
            "mode" => mode = Some(v.clone()),
            "success_url" => success_url = Some(v.clone()),
            "cancel_url" => cancel_url = Some(v.clone()),
            "client_reference_id" => {
                if v.is_empty() || v.len() > 200 {
                    return Err(invalid(
                        "client_reference_id must be 1 to 200 characters",
                        k,
                    ));
                }
                client_reference_id = Some(v.clone());
            }
            "customer_email" => {
                if !v.contains('@') || v.len() > 512 {
                    return Err(invalid("Invalid email address", k));
                }
                customer_email = Some(v.clone());
            }
            "expires_at" => {
                expires_at = Some(
                    v.parse::<i64>()
                        .map_err(|_| invalid("Invalid integer", k))?,
                )
            }
            "payment_intent_data[capture_method]" => {
                if !matches!(v.as_str(), "automatic" | "automatic_async" | "manual") {
                    return Err(invalid("Invalid capture_method", k));
                }
            }
            "payment_intent_data[description]"
            | "payment_intent_data[receipt_email]"
            | "payment_intent_data[statement_descriptor_suffix]"
            | "locale"
            | "submit_type" => {}
            _ => return Err(invalid(format!("Received unknown parameter: {k}"), k)),
        }
    }
    if mode.as_deref() != Some("payment") {
        return Err(invalid(
            "Missing or unsupported mode: only mode=payment",
            "mode",
        ));
    }
    let success_url = success_url
        .ok_or_else(|| invalid("Missing required param: success_url.", "success_url"))?;
    crate::notify::check_callback_url(&success_url)
        .map_err(|e| invalid(format!("Invalid URL: {e}"), "success_url"))?;
    if let Some(c) = &cancel_url {
        crate::notify::check_callback_url(c)
            .map_err(|e| invalid(format!("Invalid URL: {e}"), "cancel_url"))?;
    }
    if items.is_empty() {
        return Err(invalid("Missing required param: line_items.", "line_items"));
    }
    let mut total: u64 = 0;
    let mut currency: Option<String> = None;
    for (i, item) in &items {
        let p = |f: &str| format!("line_items[{i}]{f}");
        let q = item
            .quantity
            .ok_or_else(|| invalid("Missing required param", &p("[quantity]")))?;
        let c = item
            .currency
            .clone()
            .ok_or_else(|| invalid("Missing required param", &p("[price_data][currency]")))?;
        let a = item
            .unit_amount
            .ok_or_else(|| invalid("Missing required param", &p("[price_data][unit_amount]")))?;
        item.name.as_ref().ok_or_else(|| {
            invalid(
                "Missing required param",
                &p("[price_data][product_data][name]"),
            )
        })?;
        if currency.as_ref().is_some_and(|cur| *cur != c) {
            return Err(invalid(
                "All line items must use the same currency",
                &p("[price_data][currency]"),
            ));
        }
        currency = Some(c);
        total = q
            .checked_mul(a)
            .and_then(|x| total.checked_add(x))
            .filter(|t| *t <= 99_999_999)
            .ok_or_else(|| invalid("Amount too large", &p("[price_data][unit_amount]")))?;
    }
    let now = state.now().as_second();
    if let Some(e) = expires_at
        && !(now + 1800..=now + 86_400).contains(&e)
    {
        return Err(invalid(
            "expires_at must be 30 minutes to 24 hours in the future",
            "expires_at",
        ));
    }
    Ok(StripeSession {
        id: format!("cs_test_{}", random_hex(24)),
        account: account.to_owned(),
        amount_total: total,
        currency: currency.unwrap_or_default(),
        client_reference_id,
        customer_email,
        metadata,
        success_url,
        cancel_url,
        status: "open",
        payment_status: "unpaid",
        payment_intent: None,
        intent_metadata,
        intent_status: "requires_payment_method",
        last_payment_error: None,
        created: now,
        expires_at: expires_at.unwrap_or(now + 86_400),
        refunded: 0,
        created_order: state.next_counter(),
    })
}

fn reference_of(pairs: &[(String, String)]) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == "client_reference_id")
        .map(|(_, v)| v.clone())
}

pub(crate) async fn create_session(
    State(state): State<BankState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(account) = authenticate(&state, &headers) else {
        return Note::new(None, "unauthorized").attach(unauthorized());
    };
    let pairs = match parse_form(&body) {
        Ok(p) => p,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &e,
                None,
            );
        }
    };
    let reference = reference_of(&pairs);
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(fault) = scenario.api_fault {
        return crate::paybox::api_fault(&state, fault, reference.as_deref()).await;
    }
    let base = state.base_url_for(&headers);
    let mut detail = "session_created";
    let resp = idempotent(
        &state,
        &account,
        &headers,
        "/v1/checkout/sessions",
        &pairs,
        || match build_session(&state, &account, &pairs) {
            Ok(session) => {
                let body = session.to_json(&base, false).to_string();
                state.with_data(|d| {
                    if d.stripe_sessions.len() >= MAX_ROWS
                        && let Some(oldest) = d
                            .stripe_sessions
                            .values()
                            .min_by_key(|s| s.created_order)
                            .map(|s| s.id.clone())
                    {
                        d.stripe_sessions.remove(&oldest);
                    }
                    d.stripe_sessions.insert(session.id.clone(), session);
                });
                (StatusCode::OK, body)
            }
            Err((message, param)) => {
                detail = "invalid_request";
                (
                    StatusCode::BAD_REQUEST,
                    error_body(
                        "invalid_request_error",
                        Some("parameter_invalid"),
                        &message,
                        param.as_deref(),
                    ),
                )
            }
        },
    );
    if resp.extensions().get::<Note>().is_some() {
        return resp;
    }
    Note::new(reference.as_deref(), detail).attach(resp)
}

fn missing_session(id: &str) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!(
            "No such checkout.session: '{}'",
            id.chars().take(80).collect::<String>()
        ),
        Some("session"),
    )
}

/// Whether the query asks `expand[]=<what>` (also `expand[0]=…`).
fn expands(pairs: &[(String, String)], what: &str) -> bool {
    pairs
        .iter()
        .any(|(k, v)| v == what && (k == "expand[]" || bracket_key(k, "expand[").is_some()))
}

/// The query's pairs, or the 400 answer for a malformed query.
fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Box<Response>> {
    parse_form(query.unwrap_or_default().as_bytes()).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            &e,
            None,
        ))
    })
}

pub(crate) async fn get_session(
    State(state): State<BankState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(account) = authenticate(&state, &headers) else {
        return Note::new(None, "unauthorized").attach(unauthorized());
    };
    let pairs = match query_pairs(query.as_deref()) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let expand = expands(&pairs, "payment_intent");
    let Some(session) = state.with_data(|d| {
        d.stripe_sessions
            .get(&id)
            .filter(|s| s.account == account)
            .cloned()
    }) else {
        return Note::new(None, "resource_missing").attach(missing_session(&id));
    };
    let scenario = state.scenario_for(session.reference());
    if let Some(fault) = scenario.api_fault {
        return crate::paybox::api_fault(&state, fault, Some(session.reference())).await;
    }
    let base = state.base_url_for(&headers);
    Note::new(Some(session.reference()), "session_read")
        .attach(axum::Json(session.to_json(&base, expand)))
}

/// The filters and cursor of `GET /v1/checkout/sessions`.
struct ListQuery {
    limit: usize,
    starting_after: Option<String>,
    ending_before: Option<String>,
    created: [Option<i64>; 4],
    payment_intent: Option<String>,
    status: Option<String>,
    expand_intent: bool,
}

/// Reads the list parameters; an error names the parameter.
fn list_query(pairs: &[(String, String)]) -> Result<ListQuery, (&'static str, String)> {
    let mut q = ListQuery {
        limit: 10,
        starting_after: None,
        ending_before: None,
        created: [None; 4],
        payment_intent: None,
        status: None,
        expand_intent: false,
    };
    let id = |v: &str, what: &'static str| {
        if !v.is_empty()
            && v.len() <= 255
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            Ok(v.to_owned())
        } else {
            Err((what, format!("Invalid {what}: not an object id")))
        }
    };
    let time = |v: &str, what: &'static str| {
        v.parse::<i64>()
            .ok()
            .filter(|t| (0..=253_402_300_799).contains(t))
            .ok_or((what, format!("Invalid integer: {what}")))
    };
    for (k, v) in pairs {
        match k.as_str() {
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=100).contains(l))
                    .ok_or(("limit", "Invalid limit: must be 1 to 100".to_owned()))?;
            }
            "starting_after" => q.starting_after = Some(id(v, "starting_after")?),
            "ending_before" => q.ending_before = Some(id(v, "ending_before")?),
            "created" => {
                let t = time(v, "created")?;
                q.created[0] = Some(t);
                q.created[2] = Some(t);
            }
            "created[gte]" => q.created[0] = Some(time(v, "created")?),
            "created[gt]" => q.created[1] = Some(time(v, "created")?),
            "created[lte]" => q.created[2] = Some(time(v, "created")?),
            "created[lt]" => q.created[3] = Some(time(v, "created")?),
            "payment_intent" => q.payment_intent = Some(id(v, "payment_intent")?),
            "status" => {
                if !matches!(v.as_str(), "open" | "complete" | "expired") {
                    return Err(("status", "Invalid status: open, complete or expired".into()));
                }
                q.status = Some(v.clone());
            }
            _ if bracket_key(k, "expand[").is_some() || k == "expand[]" => {
                if v != "data.payment_intent" {
                    return Err(("expand", format!("This property cannot be expanded ({v}).")));
                }
                q.expand_intent = true;
            }
            _ => return Err(("param", format!("Received unknown parameter: {k}"))),
        }
    }
    if q.starting_after.is_some() && q.ending_before.is_some() {
        return Err((
            "ending_before",
            "starting_after and ending_before cannot be used together".into(),
        ));
    }
    Ok(q)
}

impl ListQuery {
    fn keeps(&self, s: &StripeSession) -> bool {
        let [gte, gt, lte, lt] = self.created;
        gte.is_none_or(|t| s.created >= t)
            && gt.is_none_or(|t| s.created > t)
            && lte.is_none_or(|t| s.created <= t)
            && lt.is_none_or(|t| s.created < t)
            && self
                .payment_intent
                .as_ref()
                .is_none_or(|pi| s.payment_intent.as_ref() == Some(pi))
            && self.status.as_deref().is_none_or(|st| s.status == st)
    }
}

/// `GET /v1/checkout/sessions`: the account's sessions, newest first, filtered, one page of at
/// most `limit` (1–100) after `starting_after` or before `ending_before`.
pub(crate) async fn list_sessions(
    State(state): State<BankState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(account) = authenticate(&state, &headers) else {
        return Note::new(None, "unauthorized").attach(unauthorized());
    };
    let pairs = match query_pairs(query.as_deref()) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let q = match list_query(&pairs) {
        Ok(q) => q,
        Err((param, message)) => {
            return Note::new(None, "invalid_request").attach(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_invalid"),
                &message,
                Some(param),
            ));
        }
    };
    if let Some(fault) = state.scenario_for("*").api_fault {
        return crate::paybox::api_fault(&state, fault, None).await;
    }
    let base = state.base_url_for(&headers);
    // Newest first: by creation time, then by creation order within the same second.
    let key = |s: &StripeSession| (s.created, s.created_order);
    let page = state.with_data(|d| {
        let cursor = match (&q.starting_after, &q.ending_before) {
            (Some(c), _) | (_, Some(c)) => match d.stripe_sessions.get(c) {
                Some(s) if s.account == account => Some(key(s)),
                _ => return Err(c.clone()),
            },
            _ => None,
        };
        let mut matching: Vec<&StripeSession> = d
            .stripe_sessions
            .values()
            .filter(|s| s.account == account && q.keeps(s))
            .filter(|s| match cursor {
                Some(c) if q.starting_after.is_some() => key(s) < c,
                Some(c) => key(s) > c,
                None => true,
            })
            .collect();
        let has_more = matching.len() > q.limit;
        if q.ending_before.is_some() {
            // The page just before the cursor: the oldest of the newer ones.
            matching.sort_by_key(|s| key(s));
            matching.truncate(q.limit);
            matching.reverse();
        } else {
            matching.sort_by_key(|s| std::cmp::Reverse(key(s)));
            matching.truncate(q.limit);
        }
        let data: Vec<Value> = matching
            .iter()
            .map(|s| s.to_json(&base, q.expand_intent))
            .collect();
        Ok((data, has_more))
    });
    match page {
        Ok((data, has_more)) => Note::new(None, "sessions_listed").attach(axum::Json(json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": "/v1/checkout/sessions",
        }))),
        Err(cursor) => Note::new(None, "resource_missing").attach(missing_session(&cursor)),
    }
}

pub(crate) async fn expire_session(
    State(state): State<BankState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(account) = authenticate(&state, &headers) else {
        return Note::new(None, "unauthorized").attach(unauthorized());
    };
    let updated = state.with_data(|d| {
        let s = d
            .stripe_sessions
            .get_mut(&id)
            .filter(|s| s.account == account)?;
        if s.status == "open" {
            s.status = "expired";
            Some(Ok(s.clone()))
        } else {
            Some(Err(s.status))
        }
    });
    let base = state.base_url_for(&headers);
    match updated {
        None => Note::new(None, "resource_missing").attach(missing_session(&id)),
        Some(Err(status)) => api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("checkout_session_not_open"),
            &format!("Only open sessions can be expired; this one is {status}."),
            None,
        ),
        Some(Ok(session)) => {
            let scenario = state.scenario_for(session.reference());
            send_event(
                &state,
                &session,
                "checkout.session.expired",
                session.to_json(&base, false),
                &scenario,
                true,
            )
            .await;
            Note::new(Some(session.reference()), "session_expired")
                .attach(axum::Json(session.to_json(&base, false)))
        }
    }
}

pub(crate) async fn create_refund(
    State(state): State<BankState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(account) = authenticate(&state, &headers) else {
        return Note::new(None, "unauthorized").attach(unauthorized());
    };
    let pairs = match parse_form(&body) {
        Ok(p) => p,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &e,
                None,
            );
        }
    };
    let pi = pairs
        .iter()
        .find(|(k, _)| k == "payment_intent")
        .map(|(_, v)| v.clone());
    let reference = pi.as_ref().and_then(|pi| {
        state.with_data(|d| {
            d.stripe_sessions
                .values()
                .find(|s| s.payment_intent.as_ref() == Some(pi))
                .map(|s| s.reference().to_owned())
        })
    });
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(fault) = scenario.api_fault {
        return crate::paybox::api_fault(&state, fault, reference.as_deref()).await;
    }
    let now = state.now().as_second();
    let resp = idempotent(&state, &account, &headers, "/v1/refunds", &pairs, || {
        refund_op(&state, &account, &pairs, pi.as_deref(), now)
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

fn refund_op(
    state: &BankState,
    account: &str,
    pairs: &[(String, String)],
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
    for (k, v) in pairs {
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
    state.with_data(|d| {
        let Some(s) = d
            .stripe_sessions
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

// ---------------------------------------------------------------------------------------------
// Hosted page

fn format_amount(amount: u64, currency: &str) -> String {
    let code = match currency {
        "eur" => "978",
        "usd" => "840",
        "gbp" => "826",
        "chf" => "756",
        "jpy" => "392",
        _ => "",
    };
    if code.is_empty() {
        format!("{amount} {} (minor units)", currency.to_uppercase())
    } else {
        crate::paybox::format_amount(amount, code)
    }
}

fn hosted_html(s: &StripeSession, error: Option<&str>) -> String {
    let esc = |v: &str| html_escape::encode_text(v).into_owned();
    let err = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" id=\"error\">{}</p>", esc(e))
    });
    let cancel = s.cancel_url.as_ref().map_or(String::new(), |_| {
        format!(
            "<form method=\"post\" action=\"/c/pay/{}\"><input type=\"hidden\" name=\"action\" value=\"cancel\"><button>Back</button></form>",
            esc(&s.id)
        )
    });
    html_page(
        "Checkout",
        &format!(
            "<h1>Checkout</h1><p>Reference: <strong id=\"reference\">{reference}</strong></p>\
<p>Amount: <strong id=\"amount\">{amount}</strong></p>{err}\
<form method=\"post\" action=\"/c/pay/{id}\">\
<p><label>Email <input name=\"email\" type=\"email\" value=\"{email}\"></label></p>\
<p><label>Card number <input name=\"card\" inputmode=\"numeric\" autocomplete=\"cc-number\" maxlength=\"23\" required></label></p>\
<p><label>Expiry (MM/YY) <input name=\"exp\" autocomplete=\"cc-exp\" maxlength=\"5\" required></label></p>\
<p><label>CVC <input name=\"cvc\" inputmode=\"numeric\" maxlength=\"4\" required></label></p>\
<p><button name=\"action\" value=\"pay\">Pay</button></p></form>{cancel}\
<details><summary>Test cards</summary><ul><li>4242424242424242 paid</li><li>4000000000009995 insufficient_funds</li>\
<li>4000000000000002 generic_decline</li><li>4000000000000069 expired_card</li>\
<li>4242424242424241 incorrect_number</li>\
<li>4000000000009905 delayed, then succeeded</li><li>4000000000009913 delayed, then failed</li></ul></details>",
            reference = esc(s.reference()),
            amount = esc(&format_amount(s.amount_total, &s.currency)),
            id = esc(&s.id),
            email = esc(s.customer_email.as_deref().unwrap_or_default()),
        ),
    )
}

pub(crate) async fn hosted_page(
    State(state): State<BankState>,
    Path(id): Path<String>,
) -> Response {
    match state.with_data(|d| d.stripe_sessions.get(&id).cloned()) {
        Some(s) if s.status == "open" => {
            Note::new(Some(s.reference()), "page_shown").attach(Html(hosted_html(&s, None)))
        }
        Some(s) => Note::new(Some(s.reference()), "page_closed").attach((
            StatusCode::GONE,
            Html(html_page(
                "Checkout",
                "<h1>This checkout session is no longer open.</h1>",
            )),
        )),
        None => (
            StatusCode::NOT_FOUND,
            Html(html_page("Checkout", "<h1>Unknown checkout session.</h1>")),
        )
            .into_response(),
    }
}

enum Verdict {
    Paid,
    Declined(String),
    /// Completed unpaid; later succeeded, or failed with this decline code.
    Delayed {
        fails_with: Option<String>,
    },
    Abandon,
}

/// The decline code of a delayed payment that fails by test card (no script).
pub const DELAYED_FAILURE_CODE: &str = "insufficient_funds";

fn card_verdict(card: &str) -> Verdict {
    match card {
        cards::ACCEPTED => Verdict::Paid,
        cards::INSUFFICIENT_FUNDS => Verdict::Declined("insufficient_funds".into()),
        cards::GENERIC_DECLINE => Verdict::Declined("generic_decline".into()),
        cards::EXPIRED_CARD => Verdict::Declined("expired_card".into()),
        cards::LOST_CARD => Verdict::Declined("lost_card".into()),
        cards::STOLEN_CARD => Verdict::Declined("stolen_card".into()),
        cards::INCORRECT_CVC => Verdict::Declined("incorrect_cvc".into()),
        cards::PROCESSING_ERROR => Verdict::Declined("processing_error".into()),
        cards::DELAYED_SUCCEEDS => Verdict::Delayed { fails_with: None },
        cards::DELAYED_FAILS => Verdict::Delayed {
            fails_with: Some(DELAYED_FAILURE_CODE.into()),
        },
        c if crate::paybox::luhn_valid(c) => Verdict::Paid,
        _ => Verdict::Declined("incorrect_number".into()),
    }
}

pub(crate) async fn hosted_submit(
    State(state): State<BankState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(session) = state.with_data(|d| d.stripe_sessions.get(&id).cloned()) else {
        return (
            StatusCode::NOT_FOUND,
            Html(html_page("Checkout", "<h1>Unknown checkout session.</h1>")),
        )
            .into_response();
    };
    let reference = session.reference().to_owned();
    if session.status != "open" {
        return Note::new(Some(&reference), "page_closed").attach((
            StatusCode::GONE,
            Html(html_page(
                "Checkout",
                "<h1>This checkout session is no longer open.</h1>",
            )),
        ));
    }
    let form = parse_form(&body).unwrap_or_default();
    let field = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    if field("action") == "cancel" {
        let target = session
            .cancel_url
            .clone()
            .unwrap_or_else(|| format!("/c/pay/{id}"));
        state.record(
            JournalEntry::new(
                EntryKind::Redirect,
                Side::StripeLike,
                target.clone(),
                "cancelled",
            )
            .reference(Some(&reference)),
        );
        return Note::new(Some(&reference), "cancelled").attach(Redirect::to(&target));
    }
    let card: String = field("card")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let scenario = state.scenario_for(&reference);
    let verdict = match &scenario.outcome {
        Some(Outcome::Accept) => Verdict::Paid,
        Some(Outcome::Refuse { code }) => Verdict::Declined(code.clone()),
        Some(Outcome::PendingThenAccept) => Verdict::Delayed { fails_with: None },
        Some(Outcome::PendingThenRefuse { code }) => Verdict::Delayed {
            fails_with: Some(code.clone()),
        },
        Some(Outcome::Abandon) => Verdict::Abandon,
        None => card_verdict(&card),
    };
    let email = Some(field("email"))
        .filter(|e| e.contains('@') && e.len() <= 512)
        .map(str::to_owned);
    let detail = match &verdict {
        Verdict::Paid => "paid".to_owned(),
        Verdict::Declined(c) => c.clone(),
        Verdict::Delayed { .. } => "delayed".to_owned(),
        Verdict::Abandon => "abandoned".to_owned(),
    };
    state.record(
        JournalEntry::new(
            EntryKind::Decision,
            Side::StripeLike,
            format!("/c/pay/{id}"),
            detail.clone(),
        )
        .reference(Some(&reference)),
    );
    match verdict {
        Verdict::Abandon => {
            let page = html_page(
                "Checkout",
                "<h1>Page closed</h1><p>The customer left the checkout page.</p>",
            );
            Note::new(Some(&reference), "abandoned").attach(Html(page))
        }
        Verdict::Declined(code) => {
            // The session stays open (the customer may try another card); its payment intent
            // records the error and the shop hears of it by `payment_intent.payment_failed`.
            let declined = state.with_data(|d| {
                let s = d
                    .stripe_sessions
                    .get_mut(&id)
                    .filter(|s| s.status == "open")?;
                s.ensure_intent();
                s.intent_status = "requires_payment_method";
                s.last_payment_error = Some(PaymentError::declined(&code));
                Some(s.clone())
            });
            if let Some(s) = &declined
                && let Some(intent) = s.intent_json()
            {
                send_event(&state, s, PAYMENT_FAILED, intent, &scenario, true).await;
            }
            let msg = format!("Your card was declined ({code}). Try another card.");
            Note::new(Some(&reference), &code).attach((
                StatusCode::PAYMENT_REQUIRED,
                Html(hosted_html(&session, Some(&msg))),
            ))
        }
        Verdict::Paid | Verdict::Delayed { .. } => {
            let paid = matches!(verdict, Verdict::Paid);
            let Some(updated) = state.with_data(|d| {
                let s = d
                    .stripe_sessions
                    .get_mut(&id)
                    .filter(|s| s.status == "open")?;
                s.status = "complete";
                s.payment_status = if paid { "paid" } else { "unpaid" };
                s.ensure_intent();
                s.intent_status = if paid { "succeeded" } else { "processing" };
                s.last_payment_error = None;
                if email.is_some() {
                    s.customer_email.clone_from(&email);
                }
                Some(s.clone())
            }) else {
                return Note::new(Some(&reference), "page_closed").attach((
                    StatusCode::GONE,
                    Html(html_page("Checkout", "<h1>Closed.</h1>")),
                ));
            };
            send_event(
                &state,
                &updated,
                "checkout.session.completed",
                updated.to_json(&state.base_url().unwrap_or_default(), false),
                &scenario,
                paid,
            )
            .await;
            if let Verdict::Delayed { fails_with } = verdict {
                let delay = state.config().pending_delay;
                let task_state = state.clone();
                state.spawn(async move {
                    if !task_state.sleep_or_shutdown(delay).await {
                        return;
                    }
                    let Some(s) = task_state.with_data(|d| {
                        let s = d.stripe_sessions.get_mut(&id)?;
                        if let Some(code) = &fails_with {
                            s.intent_status = "requires_payment_method";
                            s.last_payment_error = Some(PaymentError::declined(code));
                        } else {
                            s.payment_status = "paid";
                            s.intent_status = "succeeded";
                        }
                        Some(s.clone())
                    }) else {
                        return;
                    };
                    let kind = if fails_with.is_none() {
                        "checkout.session.async_payment_succeeded"
                    } else {
                        "checkout.session.async_payment_failed"
                    };
                    // A failure carries the payment intent expanded, so that its
                    // `last_payment_error.decline_code` travels with the event.
                    let object = s.to_json(
                        &task_state.base_url().unwrap_or_default(),
                        fails_with.is_some(),
                    );
                    task_state.record(
                        JournalEntry::new(
                            EntryKind::Decision,
                            Side::StripeLike,
                            format!("/c/pay/{id}"),
                            kind,
                        )
                        .reference(Some(s.reference())),
                    );
                    let scenario = task_state.scenario_for(s.reference());
                    send_event(&task_state, &s, kind, object, &scenario, true).await;
                });
            }
            let target = updated
                .success_url
                .replace("{CHECKOUT_SESSION_ID}", &updated.id);
            state.record(
                JournalEntry::new(
                    EntryKind::Redirect,
                    Side::StripeLike,
                    target.clone(),
                    detail,
                )
                .reference(Some(&reference)),
            );
            Note::new(Some(&reference), "browser_return").attach(Redirect::to(&target))
        }
    }
}

#[derive(Serialize)]
struct Event<'a> {
    id: String,
    object: &'static str,
    api_version: &'static str,
    created: i64,
    #[serde(rename = "type")]
    kind: &'a str,
    livemode: bool,
    pending_webhooks: u32,
    request: EventRequest,
    data: EventData,
}

#[derive(Serialize)]
struct EventRequest {
    id: Option<String>,
    idempotency_key: Option<String>,
}

#[derive(Serialize)]
struct EventData {
    object: Value,
}

/// The event of a card declined on the hosted page; its object is the payment intent.
pub const PAYMENT_FAILED: &str = "payment_intent.payment_failed";

/// Signs and sends an event about `session` whose `data.object` is `object`.
async fn send_event(
    state: &BankState,
    session: &StripeSession,
    kind: &str,
    object: Value,
    scenario: &Scenario,
    is_final: bool,
) {
    let account = state
        .config()
        .stripe_accounts
        .iter()
        .find(|a| a.secret_key.matches(&session.account))
        .cloned();
    let registered = state.with_data(|d| d.stripe_webhook_urls.get(&session.account).cloned());
    let Some((url, secret)) =
        account.and_then(|a| registered.or(a.webhook_url).map(|u| (u, a.webhook_secret)))
    else {
        state.record(
            JournalEntry::new(
                EntryKind::Withheld,
                Side::StripeLike,
                "",
                "no_webhook_endpoint",
            )
            .reference(Some(session.reference())),
        );
        return;
    };
    let now = state.now().as_second();
    let event = Event {
        id: format!("evt_test_{}", random_hex(12)),
        object: "event",
        api_version: API_VERSION,
        created: now,
        kind,
        livemode: false,
        pending_webhooks: 1,
        request: EventRequest {
            id: None,
            idempotency_key: None,
        },
        data: EventData { object },
    };
    let payload = serde_json::to_string(&event).unwrap_or_default();
    let signing = if scenario.wrong_signature {
        format!("{}_wrong", secret.expose())
    } else {
        secret.expose().to_owned()
    };
    let header_value = stripe_signature_header(&signing, now, &payload);
    let delivery = Delivery {
        side: Side::StripeLike,
        reference: Some(session.reference().to_owned()),
        post: true,
        url,
        body: Some(payload.clone()),
        content_type: "application/json",
        payload,
        signature_header: Some(header_value),
        detail: kind.to_owned(),
        ack: Ack::Any2xx,
    };
    dispatch(state, delivery, scenario, is_final).await;
}

//! What every API route shares: the account extractor (`Authorization: Bearer sk_…`), the
//! parameters extractor, the JSON error shape and the `Idempotency-Key` rules.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::params::bracket_key;
use super::state::IdempotencyRecord;
use crate::extract::{Form, Pairs};
use crate::layer::Note;
use crate::state::{BankState, MAX_ROWS, Store};

/// The authenticated caller of an API route: its account (by secret key) and the request
/// headers (`Host` for links, `Idempotency-Key`); a 401 when the key is missing or unknown.
pub(super) struct Caller {
    pub(super) account: String,
    pub(super) headers: HeaderMap,
}

impl FromRequestParts<BankState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &BankState) -> Result<Self, Response> {
        match authenticate(state, &parts.headers) {
            Some(account) => Ok(Self {
                account,
                headers: parts.headers.clone(),
            }),
            None => Err(Note::new(None, "unauthorized").attach(unauthorized())),
        }
    }
}

/// The API parameters: the query of a `GET`, the form body otherwise; a 400 when malformed.
pub(super) struct Params(pub(super) Pairs);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let Form(pairs) = Form::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        pairs.map(Self).map_err(|e| {
            api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &e.to_string(),
                None,
            )
        })
    }
}

/// An API error answer: `{"error":{"type","code","decline_code","message","param"}}`.
pub(super) fn api_error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Response {
    json_response(status, error_body(kind, code, message, param))
}

/// A JSON answer from its serialized body.
pub(super) fn json_response(status: StatusCode, body: String) -> Response {
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
pub(super) fn idempotent(
    state: &BankState,
    account: &str,
    headers: &HeaderMap,
    path: &str,
    pairs: &Pairs,
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
    let mut sorted = pairs.as_slice().to_vec();
    sorted.sort();
    let fingerprint = format!(
        "{path}?{}",
        serde_urlencoded::to_string(&sorted).unwrap_or_default()
    );
    if let Some(key) = &key {
        let stored = state.stripe().with(|d| {
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
        state.stripe().with(|d| {
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

/// The body of an API error.
pub(super) fn error_body(kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> String {
    json!({"error": {"type": kind, "code": code, "decline_code": Value::Null, "message": message, "param": param}})
        .to_string()
}


/// The 404 of an unknown (or another account's) session.
pub(super) fn missing_session(id: &str) -> Response {
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
pub(super) fn expands(pairs: &Pairs, what: &str) -> bool {
    pairs
        .as_slice()
        .iter()
        .any(|(k, v)| v == what && (k == "expand[]" || bracket_key(k, "expand[").is_some()))
}


//! What every API route shares: the account extractor (`Authorization: Bearer sk_…` or HTTP
//! Basic with the key as user name), the parameters extractor, the JSON error shape (also for
//! unknown routes, faults and unreadable bodies), list paging and the `Idempotency-Key` rules.

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::params::{bracket_key, object_id};
use std::collections::HashMap;

use super::objects::list;
use super::state::{IdempotencyRecord, Ledgered, Readable};
use crate::extract::{Form, Pairs};
use crate::faults::api_fault;
use crate::layer::Note;
use crate::scenario::ApiFault;
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
            Ok(account) => Ok(Self {
                account,
                headers: parts.headers.clone(),
            }),
            Err(message) => Err(Note::new(None, "unauthorized").attach(unauthorized(message))),
        }
    }
}

/// The API parameters: the query of a `GET`, the form body otherwise; a 400 when malformed.
pub(super) struct Params(pub(super) Pairs);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let Form(pairs) = Form::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            api_error(status, "invalid_request_error", None, &e.body_text(), None)
        })?;
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

/// No key at all.
const NO_KEY: &str = "You did not provide an API key. You need to provide your API key in the \
    Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";

/// The account authenticated by `Authorization: Bearer sk_…` or `Basic base64(sk_…:)` (as
/// `curl -u sk_…:` sends it), as its key; the 401 message otherwise (never echoing the key).
fn authenticate(state: &BankState, headers: &HeaderMap) -> Result<String, &'static str> {
    use base64::Engine as _;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(NO_KEY);
    };
    let value = value.to_str().map_err(|_| "Invalid Authorization header.")?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("Invalid Authorization header: Basic credentials are not base64.")?;
        // The key is the user name; the password is empty.
        decoded.split_once(':').map_or(decoded.clone(), |(user, _)| user.to_owned())
    } else {
        return Err("Invalid Authorization header: use Bearer or Basic auth.");
    };
    if key.is_empty() {
        return Err(NO_KEY);
    }
    state
        .config()
        .stripe_accounts
        .iter()
        .find(|a| a.secret_key.matches(&key))
        .map(|a| a.secret_key.expose().to_owned())
        .ok_or("Invalid API Key provided.")
}

fn unauthorized(message: &str) -> Response {
    let mut resp = api_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        None,
        message,
        None,
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"Stripe\""),
    );
    resp
}

/// The 404 of a path (or a method on it) the API does not serve, in the API's error shape.
pub(super) async fn unknown_route(method: http::Method, uri: http::Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    Note::new(None, "unrecognized_url").attach(api_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        None,
        &format!("Unrecognized request URL ({method}: {path})."),
        None,
    ))
}

/// The outermost layer of the mock: an error answered under `/v1/` by something other than an
/// API handler (the body-size and time-out layers) gets the API's JSON error shape too.
pub(crate) async fn json_errors(req: Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/v1/");
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (kind, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request_error", "Request body too large."),
        StatusCode::REQUEST_TIMEOUT => ("api_error", "The request timed out."),
        s if s.is_client_error() => ("invalid_request_error", "Invalid request."),
        _ => ("api_error", "An unknown error occurred on the server."),
    };
    let (parts, _) = resp.into_parts();
    let mut json = api_error(status, kind, None, message, None);
    // Keep what the inner layers said to the journal (the side, the note).
    *json.extensions_mut() = parts.extensions;
    json
}

/// A scripted API fault (500 at once, 504 after hanging) in the API's error shape.
pub(super) async fn fault(state: &BankState, fault: ApiFault, reference: Option<&str>) -> Response {
    let resp = api_fault(state, fault, reference).await;
    let status = resp.status();
    let note = resp.extensions().get::<Note>().cloned();
    let body = api_error(
        status,
        "api_error",
        None,
        if status == StatusCode::GATEWAY_TIMEOUT {
            "The request timed out."
        } else {
            "An unknown error occurred on the server."
        },
        None,
    );
    match note {
        Some(n) => n.attach(body),
        None => body,
    }
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
    missing("checkout.session", id, "session")
}

/// `GET /v1/<objects>/{id}`: the caller's own row `id`, or `resource_missing` (another
/// account's row is missing too).
pub(super) async fn get_owned<T: Readable>(
    State(state): State<BankState>,
    Caller { account, .. }: Caller,
    Path(id): Path<String>,
) -> Response {
    let found = state
        .stripe()
        .with(|d| T::rows(d).get(&id).filter(|r| r.account() == account).map(T::object));
    match found {
        Some(v) => Note::new(None, &format!("{}_read", T::KIND)).attach(axum::Json(v)),
        None => Note::new(None, "resource_missing").attach(missing(T::KIND, &id, T::PARAM)),
    }
}

/// The 404 of an unknown (or another account's) object of `kind`, naming `param`.
pub(super) fn missing(kind: &str, id: &str, param: &str) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &missing_message(kind, id),
        Some(param),
    )
}

/// `No such <kind>: '<id>'`, the id cut to 80 characters.
pub(super) fn missing_message(kind: &str, id: &str) -> String {
    format!("No such {kind}: '{}'", id.chars().take(80).collect::<String>())
}

/// The answer to a list request: the page as a list object at `url` (journaled as `note`), or
/// `missing` of the cursor's unknown id.
pub(super) fn listed(
    page: Result<(Vec<Value>, bool), String>,
    note: &str,
    url: &str,
    missing: impl FnOnce(&str) -> Response,
) -> Response {
    match page {
        Ok((data, has_more)) => Note::new(None, note).attach(axum::Json(list(data, has_more, url))),
        Err(id) => Note::new(None, "resource_missing").attach(missing(&id)),
    }
}

/// The 400 of a parameter the endpoint does not take.
pub(super) fn unknown_parameter(k: &str) -> Response {
    bad_request(
        "parameter_unknown",
        &format!("Received unknown parameter: {k}"),
        Some(k),
    )
}

/// A 400 `invalid_request_error` with `code`, naming `param`.
pub(super) fn bad_request(code: &str, message: &str, param: Option<&str>) -> Response {
    Note::new(None, "invalid_request").attach(api_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some(code),
        message,
        param,
    ))
}

/// The `expand[]` values of a request (also `expand[0]=…`).
pub(super) fn expand_values(pairs: &Pairs) -> impl Iterator<Item = &str> {
    pairs
        .as_slice()
        .iter()
        .filter(|(k, _)| is_expand(k))
        .map(|(_, v)| v.as_str())
}

/// Whether a parameter name is `expand[]` or `expand[N]`.
pub(super) fn is_expand(k: &str) -> bool {
    k == "expand[]" || bracket_key(k, "expand[").is_some()
}

/// The paging parameters of a list: `limit` (1–100, 10 by default), `starting_after`,
/// `ending_before`.
#[derive(Debug)]
pub(super) struct Cursor {
    pub(super) limit: usize,
    pub(super) starting_after: Option<String>,
    pub(super) ending_before: Option<String>,
}

impl Default for Cursor {
    fn default() -> Self {
        Self {
            limit: 10,
            starting_after: None,
            ending_before: None,
        }
    }
}

impl Cursor {
    /// Takes `k=v` when it is a paging parameter (`Ok(true)`); an error names the parameter.
    pub(super) fn take(&mut self, k: &str, v: &str) -> Result<bool, (&'static str, String)> {
        match k {
            "limit" => {
                self.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=100).contains(l))
                    .ok_or(("limit", "Invalid limit: must be 1 to 100".to_owned()))?;
            }
            "starting_after" => self.starting_after = Some(object_id(v, "starting_after")?),
            "ending_before" => self.ending_before = Some(object_id(v, "ending_before")?),
            _ => return Ok(false),
        }
        if self.starting_after.is_some() && self.ending_before.is_some() {
            return Err((
                "ending_before",
                "starting_after and ending_before cannot be used together".into(),
            ));
        }
        Ok(true)
    }

    /// The id the page starts from, if any.
    pub(super) fn id(&self) -> Option<&str> {
        self.starting_after
            .as_deref()
            .or(self.ending_before.as_deref())
    }

    /// One page of the rows of `rows` that `account` owns and `keeps` keeps, newest first, and
    /// whether there are more beyond it; `Err(id)` when the cursor names a row the account does
    /// not own.
    pub(super) fn page_of<'a, T: Ledgered>(
        &self,
        rows: &'a HashMap<String, T>,
        account: &str,
        keeps: impl Fn(&T) -> bool,
    ) -> Result<(Vec<&'a T>, bool), String> {
        let at = match self.id() {
            Some(c) => match rows.get(c) {
                Some(r) if r.account() == account => Some(r.created()),
                _ => return Err(c.to_owned()),
            },
            None => None,
        };
        let kept = rows
            .values()
            .filter(|r| r.account() == account && keeps(r))
            .collect();
        Ok(self.page(kept, |r: &&T| r.created(), at))
    }

    /// One page of `rows` (newest first by `key`), after or before the row whose key is
    /// `at` (the cursor's), and whether there are more beyond it.
    pub(super) fn page<T, K: Ord + Copy>(
        &self,
        rows: Vec<T>,
        key: impl Fn(&T) -> K,
        at: Option<K>,
    ) -> (Vec<T>, bool) {
        let mut rows: Vec<T> = rows
            .into_iter()
            .filter(|r| match at {
                Some(c) if self.starting_after.is_some() => key(r) < c,
                Some(c) => key(r) > c,
                None => true,
            })
            .collect();
        let has_more = rows.len() > self.limit;
        if self.ending_before.is_some() {
            // The page just before the cursor: the oldest of the newer ones.
            rows.sort_by_key(|r| key(r));
            rows.truncate(self.limit);
            rows.reverse();
        } else {
            rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
            rows.truncate(self.limit);
        }
        (rows, has_more)
    }
}



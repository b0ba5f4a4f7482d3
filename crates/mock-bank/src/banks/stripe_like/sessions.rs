//! The Checkout Sessions API: create, read, list, line items, expire.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::api::{
    Caller, Cursor, Params, bad_request, error_body, expand_values, fault, idempotent,
    listed, missing_session, unknown_parameter,
};
use super::objects::{Expand, list};
use super::params::{build_session, list_query};
use super::state::StripeSession;
use super::webhook::send_event;
use crate::extract::Pairs;
use crate::layer::Note;
use crate::state::{BankState, Store};

/// What `expand[]` asks of one session (`payment_intent`, `line_items`); an error names the
/// value the session cannot expand.
fn session_expand(pairs: &Pairs) -> Result<Expand, String> {
    let mut expand = Expand::default();
    for v in expand_values(pairs) {
        match v {
            "payment_intent" => expand.payment_intent = true,
            "line_items" => expand.line_items = true,
            _ => return Err(format!("This property cannot be expanded ({v}).")),
        }
    }
    Ok(expand)
}

/// The parameters of a call on one session and what their `expand[]` asks; a 400 naming
/// `expand` when it asks what a session cannot expand.
pub(super) struct SessionParams {
    pairs: Pairs,
    expand: Expand,
}

impl<S: Send + Sync> FromRequest<S> for SessionParams {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let Params(pairs) = Params::from_request(req, state).await?;
        match session_expand(&pairs) {
            Ok(expand) => Ok(Self { pairs, expand }),
            Err(message) => Err(bad_request("parameter_invalid", &message, Some("expand"))),
        }
    }
}

/// `POST /v1/checkout/sessions` (`expand[]=line_items` answers with the line items).
pub(super) async fn create_session(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Params(pairs): Params,
) -> Response {
    let reference = pairs.get("client_reference_id").map(str::to_owned);
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(f) = scenario.api_fault {
        return fault(&state, f, reference.as_deref()).await;
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
                let expand = session_expand(&pairs).unwrap_or_default();
                let body = session.to_json(&base, expand).to_string();
                state.stripe().open(session);
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

/// The account's session `id` (another account's is as unknown as a missing one).
fn own_session(state: &BankState, account: &str, id: &str) -> Option<StripeSession> {
    state.stripe().session(id).filter(|s| s.account == account)
}

/// `GET /v1/checkout/sessions/{id}` (`expand[]=payment_intent`, `expand[]=line_items`).
pub(super) async fn get_session(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Path(id): Path<String>,
    SessionParams { pairs, expand }: SessionParams,
) -> Response {
    if let Some((k, _)) = pairs.as_slice().iter().find(|(k, _)| !super::api::is_expand(k)) {
        return unknown_parameter(k);
    }
    let Some(session) = own_session(&state, &account, &id) else {
        return Note::new(None, "resource_missing").attach(missing_session(&id));
    };
    let scenario = state.scenario_for(session.reference());
    if let Some(f) = scenario.api_fault {
        return fault(&state, f, Some(session.reference())).await;
    }
    let base = state.base_url_for(&headers);
    Note::new(Some(session.reference()), "session_read")
        .attach(axum::Json(session.to_json(&base, expand)))
}

/// `GET /v1/checkout/sessions/{id}/line_items`: the session's line items in their order, one
/// page of at most `limit` after `starting_after` or before `ending_before`.
pub(super) async fn list_line_items(
    State(state): State<BankState>,
    Caller { account, .. }: Caller,
    Path(id): Path<String>,
    Params(pairs): Params,
) -> Response {
    let mut cursor = Cursor::default();
    for (k, v) in pairs.as_slice() {
        match cursor.take(k, v) {
            Ok(true) => {}
            Ok(false) if super::api::is_expand(k) && v == "data.price.product" => {
                return bad_request(
                    "parameter_invalid",
                    "This property cannot be expanded (data.price.product).",
                    Some("expand"),
                );
            }
            Ok(false) => return unknown_parameter(k),
            Err((param, message)) => return bad_request("parameter_invalid", &message, Some(param)),
        }
    }
    let Some(session) = own_session(&state, &account, &id) else {
        return Note::new(None, "resource_missing").attach(missing_session(&id));
    };
    let scenario = state.scenario_for(session.reference());
    if let Some(f) = scenario.api_fault {
        return fault(&state, f, Some(session.reference())).await;
    }
    // Listed in creation order: the key runs backwards so that "newest first" is the first item.
    let key = |i: &(usize, &super::state::LineItem)| std::cmp::Reverse(i.0);
    let rows: Vec<(usize, &super::state::LineItem)> = session.line_items.iter().enumerate().collect();
    let at = match cursor.id() {
        Some(c) => match rows.iter().find(|(_, li)| li.id == c) {
            Some(row) => Some(key(row)),
            None => {
                return super::api::missing("item", c, "starting_after");
            }
        },
        None => None,
    };
    let (page, has_more) = cursor.page(rows, key, at);
    let data: Vec<Value> = page.iter().map(|(_, li)| li.to_json()).collect();
    Note::new(Some(session.reference()), "line_items_listed")
        .attach(axum::Json(list(data, has_more, &session.line_items_url())))
}

/// `GET /v1/checkout/sessions`: the account's sessions, newest first, filtered, one page of at
/// most `limit` (1–100) after `starting_after` or before `ending_before`.
pub(super) async fn list_sessions(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Params(pairs): Params,
) -> Response {
    let q = match list_query(&pairs) {
        Ok(q) => q,
        Err((param, message)) => {
            return bad_request("parameter_invalid", &message, Some(&param));
        }
    };
    if let Some(f) = state.scenario_for("*").api_fault {
        return fault(&state, f, None).await;
    }
    let base = state.base_url_for(&headers);
    // Newest first: by creation time, then by creation order within the same second.
    let page = state.stripe().with(|d| {
        let (rows, has_more) = q.cursor.page_of(&d.sessions, &account, |s| q.keeps(s))?;
        Ok((rows.iter().map(|s| s.to_json(&base, q.expand)).collect(), has_more))
    });
    listed(page, "sessions_listed", "/v1/checkout/sessions", missing_session)
}

/// `POST /v1/checkout/sessions/{id}/expire`: ends an open session.
pub(super) async fn expire_session(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Path(id): Path<String>,
    SessionParams { expand, .. }: SessionParams,
) -> Response {
    let updated = state.stripe().with(|d| {
        let s = d
            .sessions
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
        Some(Err(status)) => bad_request(
            "checkout_session_not_open",
            &format!("Only open sessions can be expired; this one is {status}."),
            None,
        ),
        Some(Ok(session)) => {
            let scenario = state.scenario_for(session.reference());
            send_event(
                &state,
                &session,
                "checkout.session.expired",
                session.to_json(&base, Expand::default()),
                &scenario,
                true,
            )
            .await;
            Note::new(Some(session.reference()), "session_expired")
                .attach(axum::Json(session.to_json(&base, expand)))
        }
    }
}

//! The Checkout Sessions API: create, read, list, expire.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::api::{Caller, Params, api_error, error_body, expands, idempotent, missing_session};
use super::params::{build_session, list_query};
use super::state::StripeSession;
use super::webhook::send_event;
use crate::faults::api_fault;
use crate::layer::Note;
use crate::state::{BankState, Store};

/// `POST /v1/checkout/sessions`.
pub(super) async fn create_session(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Params(pairs): Params,
) -> Response {
    let reference = pairs.get("client_reference_id").map(str::to_owned);
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(fault) = scenario.api_fault {
        return api_fault(&state, fault, reference.as_deref()).await;
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

/// `GET /v1/checkout/sessions/{id}` (`expand[]=payment_intent`).
pub(super) async fn get_session(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Path(id): Path<String>,
    Params(pairs): Params,
) -> Response {
    let expand = expands(&pairs, "payment_intent");
    let Some(session) = state
        .stripe()
        .session(&id)
        .filter(|s| s.account == account)
    else {
        return Note::new(None, "resource_missing").attach(missing_session(&id));
    };
    let scenario = state.scenario_for(session.reference());
    if let Some(fault) = scenario.api_fault {
        return api_fault(&state, fault, Some(session.reference())).await;
    }
    let base = state.base_url_for(&headers);
    Note::new(Some(session.reference()), "session_read")
        .attach(axum::Json(session.to_json(&base, expand)))
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
        return api_fault(&state, fault, None).await;
    }
    let base = state.base_url_for(&headers);
    // Newest first: by creation time, then by creation order within the same second.
    let key = |s: &StripeSession| (s.created, s.created_order);
    let page = state.stripe().with(|d| {
        let cursor = match (&q.starting_after, &q.ending_before) {
            (Some(c), _) | (_, Some(c)) => match d.sessions.get(c) {
                Some(s) if s.account == account => Some(key(s)),
                _ => return Err(c.clone()),
            },
            _ => None,
        };
        let mut matching: Vec<&StripeSession> = d
            .sessions
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

/// `POST /v1/checkout/sessions/{id}/expire`: ends an open session.
pub(super) async fn expire_session(
    State(state): State<BankState>,
    Caller { account, headers }: Caller,
    Path(id): Path<String>,
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

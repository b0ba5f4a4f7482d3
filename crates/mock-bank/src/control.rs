//! The HTTP control API under `/_mock/`: scripts, journal, server status. Each bank adds its own
//! control routes (keys, ledger, webhook endpoints) in its router.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::pages;
use crate::scenario::Scenario;
use crate::state::BankState;

/// A `PUT` route registering an account's callback URL (a webhook endpoint, a CGI2 URL): the
/// body `{ "<account>": "…", "url": "…" }`, `set` the bank's registration. 204 when it takes
/// it, 400 when it refuses (unknown account, not an absolute http(s) URL), 422 for a body
/// without the two strings.
pub(crate) fn callback_registration(
    account: &'static str,
    set: fn(&BankState, &str, &str) -> bool,
) -> MethodRouter<BankState> {
    put(
        move |State(state): State<BankState>, Json(body): Json<Map<String, Value>>| async move {
            let text = |name: &str| body.get(name).and_then(Value::as_str);
            match (text(account), text("url")) {
                (Some(account), Some(url)) if set(&state, account, url) => StatusCode::NO_CONTENT,
                (Some(_), Some(_)) => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            }
        },
    )
}

pub(crate) fn routes() -> axum::Router<BankState> {
    axum::Router::new()
        .route("/_mock/", get(index))
        .route("/_mock/journal", get(journal).delete(clear_journal))
        .route("/_mock/scripts", get(scripts))
        .route(
            "/_mock/scripts/{reference}",
            put(set_script).delete(delete_script),
        )
        .route("/_mock/server_status", put(server_status))
        .route("/_mock/merchants", get(merchants))
}

async fn index() -> Html<String> {
    pages::control_index()
}

async fn journal(State(state): State<BankState>) -> Response {
    Json(state.journal()).into_response()
}

async fn merchants(State(state): State<BankState>) -> Response {
    Json(state.merchants()).into_response()
}

async fn clear_journal(State(state): State<BankState>) -> StatusCode {
    state.clear_journal();
    StatusCode::NO_CONTENT
}

async fn scripts(State(state): State<BankState>) -> Response {
    Json(state.scripts()).into_response()
}

async fn set_script(
    State(state): State<BankState>,
    Path(reference): Path<String>,
    Json(scenario): Json<Scenario>,
) -> StatusCode {
    if reference.is_empty() || reference.len() > 250 {
        return StatusCode::BAD_REQUEST;
    }
    state.script(reference, scenario);
    StatusCode::NO_CONTENT
}

async fn delete_script(
    State(state): State<BankState>,
    Path(reference): Path<String>,
) -> StatusCode {
    state.clear_script(&reference);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct ServerStatus {
    ok: bool,
}

async fn server_status(
    State(state): State<BankState>,
    Json(body): Json<ServerStatus>,
) -> StatusCode {
    state.set_server_status(body.ok);
    StatusCode::NO_CONTENT
}

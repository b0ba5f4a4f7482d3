//! The HTTP control API under `/_mock/`: scripts, journal, keys, server status, webhook endpoints.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;

use crate::html_page;
use crate::scenario::Scenario;
use crate::state::BankState;

pub(crate) fn routes() -> axum::Router<BankState> {
    axum::Router::new()
        .route("/_mock/", get(index))
        .route("/_mock/journal", get(journal).delete(clear_journal))
        .route("/_mock/keys/paybox.pem", get(paybox_key))
        .route("/_mock/scripts", get(scripts))
        .route(
            "/_mock/scripts/{reference}",
            put(set_script).delete(delete_script),
        )
        .route("/_mock/server_status", put(server_status))
        .route("/_mock/stripe/webhook", put(stripe_webhook))
        .route("/_mock/paybox/transactions", get(transactions))
}

async fn index() -> Html<String> {
    Html(html_page(
        "Mock bank",
        "<h1>tpe mock bank</h1><ul>\
<li>Paybox page: <code>/cgi/MYchoix_pagepaiement.cgi</code>, <code>/cgi/FramepagepaiementRWD.cgi</code>, <code>/php/</code></li>\
<li>Paybox Direct: <code>/PPPS.php</code>; status: <a href=\"/load.html\">/load.html</a></li>\
<li>Stripe-like API: <code>/v1/checkout/sessions</code>, <code>/v1/refunds</code></li>\
<li><a href=\"/_mock/journal\">Journal</a>, <a href=\"/_mock/keys/paybox.pem\">Paybox public key</a>, \
<a href=\"/_mock/scripts\">Scripts</a>, <a href=\"/_mock/paybox/transactions\">Paybox transactions</a></li></ul>",
    ))
}

async fn journal(State(state): State<BankState>) -> Response {
    Json(state.journal()).into_response()
}

async fn clear_journal(State(state): State<BankState>) -> StatusCode {
    state.clear_journal();
    StatusCode::NO_CONTENT
}

async fn paybox_key(State(state): State<BankState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.paybox_public_key_pem().to_owned(),
    )
        .into_response()
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

#[derive(Deserialize)]
struct WebhookEndpoint {
    secret_key: String,
    url: String,
}

async fn stripe_webhook(
    State(state): State<BankState>,
    Json(body): Json<WebhookEndpoint>,
) -> StatusCode {
    if state.set_stripe_webhook_url(&body.secret_key, &body.url) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::BAD_REQUEST
    }
}

async fn transactions(State(state): State<BankState>) -> Response {
    Json(state.paybox_transactions()).into_response()
}

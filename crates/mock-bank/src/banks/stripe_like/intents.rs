//! `GET /v1/payment_intents/{id}`: the payment intent of a session, once a card was submitted.

use axum::extract::{Path, State};
use axum::response::Response;

use super::api::{Caller, Params, fault, missing, unknown_parameter};
use crate::layer::Note;
use crate::state::{BankState, Store};

/// `GET /v1/payment_intents/{id}`.
pub(super) async fn get_intent(
    State(state): State<BankState>,
    Caller { account, .. }: Caller,
    Path(id): Path<String>,
    Params(pairs): Params,
) -> Response {
    // `client_secret` is how a browser reads its own intent; with the secret key it is ignored.
    if let Some((k, _)) = pairs.as_slice().iter().find(|(k, _)| k != "client_secret") {
        return unknown_parameter(k);
    }
    let session = state.stripe().with(|d| {
        d.sessions
            .values()
            .find(|s| s.account == account && s.payment_intent.as_deref() == Some(id.as_str()))
            .cloned()
    });
    let Some((session, intent)) = session.and_then(|s| s.intent_json().map(|pi| (s, pi))) else {
        return Note::new(None, "resource_missing").attach(missing("payment_intent", &id, "intent"));
    };
    let scenario = state.scenario_for(session.reference());
    if let Some(f) = scenario.api_fault {
        return fault(&state, f, Some(session.reference())).await;
    }
    Note::new(Some(session.reference()), "payment_intent_read").attach(axum::Json(intent))
}

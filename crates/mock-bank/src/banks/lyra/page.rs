//! The payment page: the entry that checks the shop's form, the card form, the 3-D Secure
//! challenge and the "cancel and return to the shop" button.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::conclude::{cancel, conclude};
use super::decision::{Decision, decide_card, from_outcome};
use super::html::{challenge_page, error_page, payment_page};
use super::request::check_request;
use super::state::{CardData, LyraState};
use crate::extract::{Form, PageBank, PageSession};
use crate::layer::Note;
use crate::pages::CARD_RETRY;
use crate::state::{BankState, Store};

/// `/vads-payment/`: the shop's form, checked and answered with the card form or the
/// platform's error page (which, in TEST, names the faulty field).
pub(super) async fn entry(State(state): State<BankState>, Form(fields): Form) -> Response {
    if state.server_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            error_page("96", "", "Service indisponible"),
        )
            .into_response();
    }
    let fields = match fields {
        Ok(f) => f,
        Err(e) => return Note::new(None, "bad_form").attach(error_page("30", "", &e.to_string())),
    };
    let mut session = match check_request(&state, &fields) {
        Ok(s) => s,
        Err(r) => {
            let reference = fields
                .get("vads_trans_date")
                .and_then(|d| d.get(..8))
                .map(|d| format!("{d}-{}", fields.text("vads_trans_id")));
            return Note::new(reference.as_deref(), &format!("refused_{}", r.field))
                .attach(error_page(r.code, r.field, &r.message));
        }
    };
    session.id = crate::random_hex(16);
    session.created_order = state.next_counter();
    let page = payment_page(&session, None);
    let reference = session.reference.clone();
    state.lyra().open(session);
    Note::new(Some(&reference), "page_shown").attach(page)
}

impl PageBank for LyraState {
    fn unknown_page() -> Response {
        (StatusCode::NOT_FOUND, error_page("96", "", "Session de paiement inconnue ou expirée")).into_response()
    }
}

/// `POST /lyra/page/{id}`: a card attempt, or the cancel button.
pub(super) async fn submit(
    State(state): State<BankState>,
    PageSession(session): PageSession<LyraState>,
    form: Form,
) -> Response {
    let reference = session.reference.clone();
    if session.finished {
        return Note::new(Some(&reference), "page_finished")
            .attach(error_page("96", "", "Paiement déjà terminé"));
    }
    let form = form.or_empty();
    if form.get("action") == Some("cancel") {
        return cancel(&state, &session).await;
    }
    let entry = form.card_entry();
    let (pan, expiry) = (&entry.pan, &entry.expiry);
    let card_ok = entry.pan_ok();
    let cvv_ok = entry.cvv_ok();
    let expiry_ok =
        entry.expiry_digits() && expiry.get(..2).is_some_and(|m| ("01"..="12").contains(&m));
    let card = CardData {
        pan: if card_ok { pan.clone() } else { String::new() },
        month: expiry.get(..2).unwrap_or_default().to_owned(),
        year: format!("20{}", expiry.get(2..).unwrap_or_default()),
    };
    let scenario = state.scenario_for(&reference);
    let decision = if !card_ok || !cvv_ok || !expiry_ok {
        Decision::Retry
    } else if let Some(o) = &scenario.outcome {
        from_outcome(o)
    } else {
        decide_card(pan)
    };
    if decision == Decision::Retry {
        state.lyra().update(&session.id, |s| s.attempts += 1);
        return Note::new(Some(&reference), "retry_on_page")
            .attach(payment_page(&session, Some(CARD_RETRY)));
    }
    if decision == Decision::Challenge {
        state
            .lyra()
            .update(&session.id, |s| s.awaiting_challenge = Some(card.clone()));
        return Note::new(Some(&reference), "3ds_challenge").attach(challenge_page(&session));
    }
    conclude(&state, &session.id, decision, card).await
}

/// `POST /lyra/page/{id}/3ds`: the customer's answer to the challenge.
pub(super) async fn challenge(
    State(state): State<BankState>,
    PageSession(session): PageSession<LyraState>,
    form: Form,
) -> Response {
    let Some(card) = session.awaiting_challenge.clone().filter(|_| !session.finished) else {
        return Note::new(Some(&session.reference), "no_challenge")
            .attach(error_page("96", "", "Aucune authentification en cours"));
    };
    state.lyra().update(&session.id, |s| s.awaiting_challenge = None);
    let decision = if form.or_empty().get("result") == Some("ok") {
        Decision::Accept
    } else {
        // Authentication failed: refused without an issuer answer.
        Decision::Refuse(String::new())
    };
    conclude(&state, &session.id, decision, card).await
}

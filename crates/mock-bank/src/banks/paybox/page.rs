//! The hosted payment page: the entry that checks the shop's form, the card form, the 3-D Secure
//! challenge, the cancel button, and `load.html`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::conclude::conclude;
use super::decision::{Decision, decide_card, from_outcome};
use super::html::{challenge_page, error_page, load_page, payment_page};
use super::request::check_request;
use super::returns::{browser_payload, browser_return, retour_values, send_ipn};
use super::state::{CardData, PayboxSession, PayboxState};
use crate::extract::{Form, PageBank, PageSession};
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::state::{BankState, Store};

/// The page entry (`/cgi/MYchoix_pagepaiement.cgi` and the other variants): the shop's form, by
/// GET or POST, checked and answered with the card form or the bank's error page.
pub(super) async fn page_entry(State(state): State<BankState>, Form(fields): Form) -> Response {
    if state.server_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            error_page("00003", "Service indisponible"),
        )
            .into_response();
    }
    let fields = match fields {
        Ok(f) => f,
        Err(e) => {
            return Note::new(None, "bad_form").attach(error_page("00004", &e.to_string()));
        }
    };
    let reference = fields.get("PBX_CMD").map(str::to_owned);
    let mut session = match check_request(&state, &fields) {
        Ok(s) => s,
        Err(e) => {
            return Note::new(reference.as_deref(), e.detail)
                .attach(error_page(e.code, &e.message));
        }
    };
    if state
        .paybox()
        .already_paid(&session.site, &session.rang, &session.reference)
    {
        return Note::new(reference.as_deref(), "already_paid").attach(error_page(
            "00015",
            "Paiement déjà effectué pour cette commande",
        ));
    }
    session.numappel = 70_000_000 + state.next_counter();
    session.created_order = state.next_counter();
    let page = payment_page(&session, None);
    state.paybox().open(session);
    Note::new(reference.as_deref(), "page_shown").attach(page)
}

impl PageBank for PayboxState {
    fn unknown_page() -> Response {
        (StatusCode::NOT_FOUND, error_page("00030", "Session inconnue ou expirée")).into_response()
    }
}

/// `POST /paybox/page/{id}`: a card attempt, or the cancel button.
pub(super) async fn page_submit(
    State(state): State<BankState>,
    PageSession(session): PageSession<PayboxState>,
    form: Form,
) -> Response {
    let reference = session.reference.clone();
    if session.finished {
        // A second click on "Payer" sees the result of the first, as on the platform.
        if let Some(r) = &session.returned {
            return browser_return(&state, &session, r.target.as_deref(), &r.payload, &r.code);
        }
        return Note::new(Some(&reference), "page_finished").attach(error_page(
            "00015",
            "Paiement déjà effectué ou terminé",
        ));
    }
    // The same order paid meanwhile on another page (another tab): refused as on the platform.
    if state
        .paybox()
        .already_paid(&session.site, &session.rang, &reference)
    {
        state.paybox().update(&session.id, |s| s.finished = true);
        return Note::new(Some(&reference), "already_paid").attach(error_page(
            "00015",
            "Paiement déjà effectué pour cette commande",
        ));
    }
    let form = form.or_empty();
    if form.get("action") == Some("cancel") {
        return cancel(&state, session).await;
    }
    let entry = form.card_entry();
    let (pan, expiry) = (&entry.pan, &entry.expiry);
    let now = state.now().in_tz("Europe/Paris").ok();
    let expiry_yymm = match (expiry.len(), expiry.get(..2), expiry.get(2..)) {
        (4, Some(mm), Some(yy)) if expiry.bytes().all(|b| b.is_ascii_digit()) => {
            let m: u32 = mm.parse().unwrap_or(0);
            let y: i32 = yy.parse().unwrap_or(0);
            let valid_month = (1..=12).contains(&m);
            let not_past = now.as_ref().is_none_or(|n| {
                let cy = i32::from(n.year()) % 100;
                let cm = u32::try_from(n.month()).unwrap_or(1);
                y > cy || (y == cy && m >= cm)
            });
            (valid_month && not_past).then(|| format!("{yy}{mm}"))
        }
        _ => None,
    };
    let card_ok = pan.len() <= 19 && pan.bytes().all(|b| b.is_ascii_digit()) && !pan.is_empty();
    let cvv_ok = entry.cvv_ok();
    let card = CardData {
        pan: if card_ok { pan.clone() } else { String::new() },
        expiry_yymm: expiry_yymm.clone().unwrap_or_default(),
    };
    let scenario = state.scenario_for(&reference);
    let decision = if !card_ok || !cvv_ok {
        Decision::Retry("00004".into())
    } else if expiry_yymm.is_none() {
        Decision::Retry("00008".into())
    } else if let Some(o) = &scenario.outcome {
        from_outcome(o)
    } else if let Some(code) = &session.error_code_test {
        match code.as_str() {
            "00000" => Decision::Accept,
            "99999" => Decision::Pending {
                final_code: "00000".into(),
            },
            other => Decision::Refuse(other.to_owned()),
        }
    } else {
        decide_card(pan)
    };
    let decision = match decision {
        Decision::Accept if session.challenge_wanted => Decision::Challenge {
            then: Box::new(Decision::Accept),
            fail_code: "00189".into(),
        },
        d => d,
    };
    if let Decision::Challenge { .. } = decision {
        state
            .paybox()
            .update(&session.id, |s| s.awaiting_challenge = Some(card.clone()));
        return Note::new(Some(&reference), "3ds_challenge").attach(challenge_page(&session));
    }
    conclude(&state, &session.id, decision, card, 'N').await
}

/// `POST /paybox/page/{id}/3ds`: the customer's answer to the challenge.
pub(super) async fn challenge_submit(
    State(state): State<BankState>,
    PageSession(session): PageSession<PayboxState>,
    form: Form,
) -> Response {
    let Some(card) = session
        .awaiting_challenge
        .clone()
        .filter(|_| !session.finished)
    else {
        return Note::new(Some(&session.reference), "no_challenge").attach(error_page(
            "00003",
            "Aucune authentification en cours",
        ));
    };
    state.paybox().update(&session.id, |s| s.awaiting_challenge = None);
    let passed = form.or_empty().get("result") == Some("ok");
    let scenario = state.scenario_for(&session.reference);
    let base = if let Some(o) = &scenario.outcome {
        from_outcome(o)
    } else {
        match decide_card(&card.pan) {
            Decision::Challenge { then, .. } => *then,
            other => other,
        }
    };
    let (decision, three_ds) = if passed {
        (base, 'Y')
    } else {
        (Decision::Refuse("00189".into()), 'N')
    };
    conclude(&state, &session.id, decision, card, three_ds).await
}

/// "Annuler": the browser goes back to `PBX_ANNULE`.
async fn cancel(state: &BankState, session: PayboxSession) -> Response {
    state.paybox().update(&session.id, |s| s.finished = true);
    state.record(
        JournalEntry::new(
            EntryKind::Decision,
            Side::Paybox,
            "/paybox/page",
            "cancelled",
        )
        .reference(Some(&session.reference)),
    );
    // As observed on the platform: a customer cancellation returns E=00001 and S=0 (no
    // transaction), to the browser; to PBX_REPONDRE_A too only when configured (not documented).
    let values = retour_values(
        state,
        &session,
        None,
        "00001",
        &CardData::default(),
        'U',
    );
    let scenario = state.scenario_for(&session.reference);
    if state.config().paybox_shapes.cancel_ipn {
        send_ipn(state, &session, &values, &scenario, "00001", true).await;
    }
    let payload = browser_payload(
        state,
        &session,
        session.annule.as_deref(),
        &values,
        scenario.wrong_signature,
    );
    browser_return(
        state,
        &session,
        session.annule.as_deref(),
        &payload,
        "00001",
    )
}


/// `GET /load.html`: the server status the shops poll; journaled on the control side.
pub(super) async fn load_html(State(state): State<BankState>) -> Response {
    let mut response = load_page(!state.server_down()).into_response();
    response.extensions_mut().insert(Side::Control);
    response
}

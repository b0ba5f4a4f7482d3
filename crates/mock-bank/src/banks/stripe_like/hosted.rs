//! The hosted page (`/c/pay/{id}`): the card form, declines, delayed payments, the back button.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Redirect, Response};

use super::html::{checkout_page, closed_session, message_page, unknown_session};
use super::objects::Expand;
use super::state::{Collected, PaymentError, StripeSession};
use super::webhook::send_event;
use super::{DELAYED_FAILURE_CODE, PAYMENT_FAILED, cards};
use crate::extract::Form;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::luhn::luhn_valid;
use crate::scenario::Outcome;
use crate::state::{BankState, Store};

/// The heading of the page of a session no longer open.
const NOT_OPEN: &str = "This checkout session is no longer open.";

/// `GET /c/pay/{id}`: the card form of an open session.
pub(super) async fn hosted_page(State(state): State<BankState>, Path(id): Path<String>) -> Response {
    match state.stripe().session(&id) {
        Some(s) if s.status == "open" => {
            Note::new(Some(s.reference()), "page_shown").attach(checkout_page(&s, None))
        }
        Some(s) => Note::new(Some(s.reference()), "page_closed").attach(closed_session(NOT_OPEN)),
        None => unknown_session(),
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


/// The verdict of a test card (any other Luhn-valid number is paid).
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
        c if luhn_valid(c) => Verdict::Paid,
        _ => Verdict::Declined("incorrect_number".into()),
    }
}

/// `POST /c/pay/{id}`: a card submitted, or the back button.
pub(super) async fn hosted_submit(
    State(state): State<BankState>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let Some(session) = state.stripe().session(&id) else {
        return unknown_session();
    };
    let reference = session.reference().to_owned();
    if session.status != "open" {
        return Note::new(Some(&reference), "page_closed").attach(closed_session(NOT_OPEN));
    }
    let form = form.or_empty();
    let field = |n: &str| form.text(n);
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
            let page = if session.french() {
                message_page("Page fermée", Some("Le client a quitté la page de paiement."))
            } else {
                message_page("Page closed", Some("The customer left the checkout page."))
            };
            Note::new(Some(&reference), "abandoned").attach(page)
        }
        Verdict::Declined(code) => {
            // The session stays open (the customer may try another card); its payment intent
            // records the error and the shop hears of it by `payment_intent.payment_failed`.
            let now = state.now().as_second();
            let declined = state.stripe().update_open(&id, |s| {
                s.new_charge(now);
                s.intent_status = "requires_payment_method";
                s.last_payment_error = Some(PaymentError::declined(&code));
            });
            if let Some(s) = &declined
                && let Some(intent) = s.intent_json()
            {
                send_event(&state, s, PAYMENT_FAILED, intent, &scenario, true).await;
            }
            let msg = if session.french() {
                format!("Votre carte a été refusée ({code}). Essayez une autre carte.")
            } else {
                format!("Your card was declined ({code}). Try another card.")
            };
            Note::new(Some(&reference), &code).attach((
                StatusCode::PAYMENT_REQUIRED,
                checkout_page(&session, Some(&msg)),
            ))
        }
        Verdict::Paid | Verdict::Delayed { .. } => {
            let paid = matches!(verdict, Verdict::Paid);
            let now = state.now().as_second();
            let collected = collected(&session, &form);
            let Some(updated) = state.stripe().update_open(&id, |s| {
                s.status = "complete";
                s.payment_status = if paid { "paid" } else { "unpaid" };
                s.new_charge(now);
                s.collected = collected;
                if s.customer_creation.as_deref() == Some("always") {
                    s.customer = Some(format!("cus_test_{}", crate::random_hex(7)));
                }
                s.intent_status = if paid { "succeeded" } else { "processing" };
                s.last_payment_error = None;
                if email.is_some() {
                    s.customer_email.clone_from(&email);
                }
            }) else {
                return Note::new(Some(&reference), "page_closed").attach(closed_session("Closed."));
            };
            send_event(
                &state,
                &updated,
                "checkout.session.completed",
                updated.to_json(&state.base_url().unwrap_or_default(), Expand::default()),
                &scenario,
                paid,
            )
            .await;
            if let Verdict::Delayed { fails_with } = verdict {
                let task_state = state.clone();
                state.spawn(async move { settle_delayed(&task_state, &id, fails_with).await });
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

/// What the page collected besides the card: the phone when `phone_number_collection` is on,
/// the cardholder's name and country when `billing_address_collection=required`.
fn collected(session: &StripeSession, form: &crate::extract::Pairs) -> Collected {
    let field = |n: &str, max: usize| {
        Some(form.text(n).trim())
            .filter(|v| !v.is_empty() && v.chars().count() <= max)
            .map(str::to_owned)
    };
    let billing = session.billing_address_collection.as_deref() == Some("required");
    Collected {
        name: field("name", 200).filter(|_| billing),
        phone: field("phone", 30).filter(|_| session.phone_number_collection),
        country: field("country", 2)
            .filter(|c| billing && c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase()),
    }
}

/// After the pending delay: a delayed payment succeeds, or fails with `fails_with`, and the shop
/// hears of it by `async_payment_succeeded` / `async_payment_failed`.
async fn settle_delayed(state: &BankState, id: &str, fails_with: Option<String>) {
    if !state.sleep_or_shutdown(state.config().pending_delay).await {
        return;
    }
    let Some(s) = state.stripe().with(|d| {
        let s = d.sessions.get_mut(id)?;
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
    let expand = Expand {
        payment_intent: fails_with.is_some(),
        line_items: false,
    };
    let object = s.to_json(&state.base_url().unwrap_or_default(), expand);
    state.record(
        JournalEntry::new(
            EntryKind::Decision,
            Side::StripeLike,
            format!("/c/pay/{id}"),
            kind,
        )
        .reference(Some(s.reference())),
    );
    let scenario = state.scenario_for(s.reference());
    send_event(state, &s, kind, object, &scenario, true).await;
}

//! The hosted checkout page (`/hostedcheckout/{id}`): the card form in French, the 3-D Secure
//! challenge, the back button; the payment each attempt creates (`<checkout id>_<attempt>`),
//! its webhook, and the browser return to `returnUrl` with `RETURNMAC` and `hostedCheckoutId`
//! (spec §G.5). A refused attempt keeps the customer on the page for another card, up to
//! [`MAX_ATTEMPTS`] (the platform's default `allowedNumberOfPaymentAttempts`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};

use super::cards;
use super::html::{challenge_page, message_page, payment_page};
use super::state::{Checkout, Payment, WorldlineState, keep_payment};
use super::webhook::send_payment_event;
use crate::extract::{Form, PageBank, PageSession};
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::luhn::luhn_valid;
use crate::scenario::Outcome;
use crate::state::{BankState, Store};

/// Attempts allowed on one page.
pub(super) const MAX_ATTEMPTS: u32 = 10;

/// Codes of a refused attempt: the page is shown again.
fn is_refusal(code: u32) -> bool {
    matches!(code, 2 | 57 | 59 | 93)
}

/// What the page decided.
enum Decision {
    /// Authorised (captured at once under `SALE`).
    Paid,
    /// This `statusCode`, final.
    Code(u32),
    /// Pending (51), then this final `statusCode` after the pending delay.
    PendingThen(u32),
    /// The 3-D Secure challenge page first.
    Challenge,
    /// The customer left: nothing sent.
    Abandon,
}

fn code_of(text: &str) -> u32 {
    text.parse().unwrap_or(cards::REFUSED_CODE)
}

fn decide(state: &BankState, reference: &str, card: &str) -> Decision {
    match state.scenario_for(reference).outcome {
        Some(Outcome::Accept) => Decision::Paid,
        Some(Outcome::Refuse { code }) => Decision::Code(code_of(&code)),
        Some(Outcome::PendingThenAccept) => Decision::PendingThen(9),
        Some(Outcome::PendingThenRefuse { code }) => Decision::PendingThen(code_of(&code)),
        Some(Outcome::Abandon) => Decision::Abandon,
        None => match card {
            cards::ACCEPTED => Decision::Paid,
            cards::REFUSED => Decision::Code(cards::REFUSED_CODE),
            cards::THREE_DS => Decision::Challenge,
            cards::PENDING => Decision::PendingThen(9),
            cards::PENDING_REFUSED => Decision::PendingThen(cards::REFUSED_CODE),
            cards::UNCLASSIFIED => Decision::Code(cards::UNCLASSIFIED_CODE),
            c if luhn_valid(c) => Decision::Paid,
            _ => Decision::Code(cards::REFUSED_CODE),
        },
    }
}

impl PageBank for WorldlineState {
    fn unknown_page() -> Response {
        Note::new(None, "page_closed")
            .attach(message_page("Session de paiement inconnue ou terminée.", None))
    }

    /// A checkout's page serves while it is `IN_PROGRESS`.
    fn usable(c: &Checkout) -> bool {
        c.status == "IN_PROGRESS"
    }
}

/// `GET /hostedcheckout/{id}`.
pub(super) async fn show(PageSession(c): PageSession<WorldlineState>) -> Response {
    Note::new(Some(&c.merchant_reference), "page_shown").attach(payment_page(&c, None))
}

/// The paid `statusCode` of a checkout: 9 (captured) under `SALE`, 5 (to capture) otherwise.
fn paid_code(c: &Checkout) -> u32 {
    if c.authorization_mode == "SALE" { 9 } else { 5 }
}

/// `POST /hostedcheckout/{id}`: a card, or the back button.
pub(super) async fn submit(
    State(state): State<BankState>,
    PageSession(c): PageSession<WorldlineState>,
    form: Form,
) -> Response {
    let form = form.or_empty();
    if form.text("action") == "cancel" {
        return conclude(&state, &c, 1, None, "").await;
    }
    let card: String = form.text("card").chars().filter(char::is_ascii_digit).collect();
    let end: String = card.chars().skip(card.len().saturating_sub(4)).collect();
    match decide(&state, &c.merchant_reference, &card) {
        Decision::Paid => conclude(&state, &c, paid_code(&c), None, &end).await,
        Decision::Code(code) => conclude(&state, &c, code, None, &end).await,
        Decision::PendingThen(code) => {
            let last = if code == 9 { paid_code(&c) } else { code };
            conclude(&state, &c, 51, Some(last), &end).await
        }
        Decision::Challenge => {
            Note::new(Some(&c.merchant_reference), "challenge").attach(challenge_page(&c))
        }
        Decision::Abandon => {
            state.record(
                JournalEntry::new(EntryKind::Decision, Side::Worldline, format!("/hostedcheckout/{}", c.id), "abandoned")
                    .reference(Some(&c.merchant_reference)),
            );
            Note::new(Some(&c.merchant_reference), "abandoned")
                .attach(message_page("Page fermée", Some("Le client a quitté la page de paiement.")))
        }
    }
}

/// `POST /hostedcheckout/{id}/3ds`: the challenge answered.
pub(super) async fn challenge(
    State(state): State<BankState>,
    PageSession(c): PageSession<WorldlineState>,
    form: Form,
) -> Response {
    let ok = form.or_empty().text("result") == "ok";
    let code = if ok { paid_code(&c) } else { cards::REFUSED_CODE };
    conclude(&state, &c, code, None, "7977").await
}

/// Creates the payment with `code`, sends its webhook, settles a pending one later, and sends
/// the browser back to the shop.
async fn conclude(state: &BankState, c: &Checkout, code: u32, then: Option<u32>, end: &str) -> Response {
    let n = state.next_counter();
    let payment = Payment {
        id: format!("{}_{}", c.id, c.attempts),
        checkout_id: c.id.clone(),
        merchant_id: c.merchant_id.clone(),
        amount: c.amount,
        currency: c.currency.clone(),
        merchant_reference: c.merchant_reference.clone(),
        merchant_parameters: c.merchant_parameters.clone(),
        status_code: code,
        captured: if code == 9 { c.amount } else { 0 },
        refunded: 0,
        refunds: 0,
        card_end: if end.is_empty() { "0000".into() } else { end.to_owned() },
        changed_at: state.now().strftime("%Y%m%d%H%M%S").to_string(),
        order: n,
    };
    // A refusal with attempts left keeps the checkout open for another card.
    let again = is_refusal(code) && then.is_none() && c.attempts + 1 < c.allowed_attempts;
    let status = match code {
        _ if again => "IN_PROGRESS",
        1 => "CANCELLED_BY_CONSUMER",
        _ => "PAYMENT_CREATED",
    };
    let taken = state.worldline().with(|d| {
        let open = d.checkouts.get_mut(&c.id).filter(|k| k.status == "IN_PROGRESS")?;
        open.status = status;
        open.attempts += 1;
        open.payment_id = Some(payment.id.clone());
        let updated = open.clone();
        keep_payment(d, payment.clone());
        Some(updated)
    });
    let Some(updated) = taken else {
        return Note::new(Some(&c.merchant_reference), "page_closed")
            .attach(message_page("Session de paiement terminée.", None));
    };
    state.record(
        JournalEntry::new(EntryKind::Decision, Side::Worldline, format!("/hostedcheckout/{}", c.id), format!("statusCode {code}"))
            .reference(Some(&c.merchant_reference)),
    );
    send_payment_event(state, &payment, then.is_none()).await;
    if let Some(last) = then {
        let task_state = state.clone();
        let id = payment.id.clone();
        state.spawn(async move { settle(&task_state, &id, last).await });
    }
    if again {
        let msg = format!("Paiement refusé (statusCode {code}). Essayez une autre carte.");
        return Note::new(Some(&c.merchant_reference), "refused_try_again").attach((
            StatusCode::PAYMENT_REQUIRED,
            payment_page(&updated, Some(&msg)),
        ));
    }
    let sep = if c.return_url.contains('?') { '&' } else { '?' };
    let target = format!(
        "{}{sep}RETURNMAC={}&hostedCheckoutId={}",
        c.return_url, c.returnmac, c.id
    );
    state.record(
        JournalEntry::new(EntryKind::Redirect, Side::Worldline, c.return_url.clone(), "browser_return")
            .reference(Some(&c.merchant_reference)),
    );
    Note::new(Some(&c.merchant_reference), "browser_return").attach(Redirect::to(&target))
}

/// After the pending delay, the pending payment gets its final code.
async fn settle(state: &BankState, id: &str, code: u32) {
    if !state.sleep_or_shutdown(state.config().pending_delay).await {
        return;
    }
    let now = state.now().strftime("%Y%m%d%H%M%S").to_string();
    let Some(p) = state.worldline().with(|d| {
        let p = d.payments.get_mut(id).filter(|p| p.status_code == 51)?;
        p.status_code = code;
        if code == 9 {
            p.captured = p.amount;
        }
        p.changed_at = now;
        Some(p.clone())
    }) else {
        return;
    };
    state.record(
        JournalEntry::new(EntryKind::Decision, Side::Worldline, format!("payments/{id}"), format!("statusCode {code}"))
            .reference(Some(&p.merchant_reference)),
    );
    send_payment_event(state, &p, true).await;
}

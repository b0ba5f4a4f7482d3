//! The end of a card attempt: the decision recorded in the ledger and the journal, the IPN, the
//! browser sent back, and the final answer of a pending payment after the configured delay.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::MAX_ATTEMPTS;
use super::decision::Decision;
use super::html::{closed_page, error_page, payment_page};
use super::returns::{PayboxIpn, browser_payload, browser_return, retour_values, send_ipn};
use super::state::{CardData, PayboxSession, PayboxTransaction, TxState, Returned};
use crate::InstalmentError;
use crate::instalments::Charge;
use crate::journal::{JournalEntry, Side};
use crate::layer::Note;
use crate::notify;
use crate::state::{BankState, Store};

/// The authorization number of an accepted payment, as on the pre-production platform.
const AUTHORIZATION: &str = "XXXXXX";

/// Records a decision of the page in the journal.
fn record_decision(state: &BankState, reference: &str, detail: &str, attempt: Option<u32>) {
    state.record(JournalEntry::decision(Side::Paybox, "/paybox/page", reference, detail, attempt));
}

/// The ledger state of a transaction answered `code`.
fn tx_state(code: &str, authorize_only: bool) -> TxState {
    match code {
        "00000" if authorize_only => TxState::Authorized,
        "00000" => TxState::Captured,
        "99999" => TxState::Pending,
        _ => TxState::Refused,
    }
}

/// Decides, records the transaction, notifies and sends the browser back.
pub(super) async fn conclude(
    state: &BankState,
    id: &str,
    decision: Decision,
    card: CardData,
    three_ds: char,
) -> Response {
    let Some(mut session) = state.paybox().with(|d| {
        let s = d.sessions.get_mut(id)?;
        s.attempts += 1;
        Some(s.clone())
    }) else {
        return (
            StatusCode::NOT_FOUND,
            error_page("00030", "Session inconnue"),
        )
            .into_response();
    };
    let reference = session.reference.clone();
    let scenario = state.scenario_for(&reference);
    if decision == Decision::Abandon {
        state.paybox().update(id, |s| s.finished = true);
        record_decision(state, &reference, "abandoned", None);
        return Note::new(Some(&reference), "abandoned").attach(closed_page());
    }
    let (code, final_code) = match &decision {
        Decision::Accept => ("00000".to_owned(), None),
        Decision::Refuse(c) | Decision::Retry(c) => (c.clone(), None),
        Decision::Pending { final_code } => ("99999".to_owned(), Some(final_code.clone())),
        Decision::Challenge { .. } | Decision::Abandon => ("00003".to_owned(), None),
    };
    let numtrans = 30_000_000 + state.next_counter();
    let authorization = if code == "00000" { AUTHORIZATION } else { "" };
    state.paybox().record_transaction(PayboxTransaction {
        numtrans,
        numappel: session.numappel,
        site: session.site.clone(),
        rang: session.rang.clone(),
        reference: reference.clone(),
        amount: session.amount,
        currency: session.currency.clone(),
        code: code.clone(),
        authorization: authorization.to_owned(),
        state: tx_state(&code, session.authorize_only),
        refunded: 0,
    });
    let retry_allowed = matches!(decision, Decision::Retry(_)) && session.attempts < MAX_ATTEMPTS;
    record_decision(state, &reference, &code, Some(session.attempts));
    if code == "00000" {
        state.paybox().update(id, |s| s.paid = true);
    }
    if !retry_allowed {
        state.paybox().update(id, |s| s.finished = true);
        session.finished = true;
    }
    let values = retour_values(
        state,
        &session,
        Some((numtrans, authorization)),
        &code,
        &card,
        three_ds,
    );
    send_ipn(
        state,
        &session,
        &values,
        &scenario,
        &code,
        final_code.is_none(),
    )
    .await;
    if let Some(final_code) = final_code {
        let pending_session = session.clone();
        notify::settle_pending(state, move |state| {
            settle(state, pending_session, numtrans, final_code, &card, three_ds)
        });
    }
    if retry_allowed {
        let message = match code.as_str() {
            "00008" => "Date de fin de validité incorrecte (00008). Veuillez réessayer.",
            _ => "Numéro de carte ou cryptogramme invalide (00004). Veuillez réessayer.",
        };
        return Note::new(Some(&reference), "retry_on_page")
            .attach(payment_page(&session, Some(message)));
    }
    let target = match code.as_str() {
        "00000" => session.effectue.as_deref(),
        "99999" => session.attente.as_deref().or(session.effectue.as_deref()),
        _ => session.refuse.as_deref(),
    };
    let payload = browser_payload(state, &session, target, &values, scenario.wrong_signature);
    let returned = Returned {
        target: target.map(str::to_owned),
        payload: payload.clone(),
        code: code.clone(),
    };
    state.paybox().update(id, |s| s.returned = Some(returned));
    browser_return(state, &session, target, &payload, &code)
}

/// The code of a refused later instalment: `00151`, insufficient funds, the usual reason a
/// card charged weeks later is refused.
const INSTALMENT_REFUSED: &str = "00151";

/// Charges later instalment `number` of the payment in instalments `reference`: a transaction
/// of its own in the ledger, then its IPN (same `R`, its own `S`, its amount in `M`, `Z`
/// `index-count` when `PBX_RETOUR` asks for it).
pub(super) fn charge_instalment(state: &BankState, charge: Charge<'_>) -> Result<(), InstalmentError> {
    let Charge { reference, number, accepted } = charge;
    let session = state.paybox().charge(reference, number)?;
    let code = if accepted { "00000" } else { INSTALMENT_REFUSED };
    let numtrans = 30_000_000 + state.next_counter();
    let authorization = if accepted { AUTHORIZATION } else { "" };
    state.paybox().record_transaction(PayboxTransaction {
        numtrans,
        numappel: session.numappel,
        site: session.site.clone(),
        rang: session.rang.clone(),
        reference: reference.to_owned(),
        amount: session.amount,
        currency: session.currency.clone(),
        code: code.to_owned(),
        authorization: authorization.to_owned(),
        state: tx_state(code, session.authorize_only),
        refunded: 0,
    });
    record_decision(state, reference, &format!("instalment {number} {code}"), None);
    let values = retour_values(
        state,
        &session,
        Some((numtrans, authorization)),
        code,
        &CardData::default(),
        'Y',
    );
    notify::spawn_ipn(state, PayboxIpn { session, values, code: code.to_owned() });
    Ok(())
}

/// After the pending delay: the transaction gets its final code and the shop a second IPN.
fn settle(
    state: &BankState,
    session: PayboxSession,
    numtrans: u64,
    final_code: String,
    card: &CardData,
    three_ds: char,
) -> PayboxIpn {
    let auth = if final_code == "00000" { AUTHORIZATION } else { "" };
    let new_state = match tx_state(&final_code, session.authorize_only) {
        // A pending payment ends accepted or refused, never pending again.
        TxState::Pending => TxState::Refused,
        other => other,
    };
    state.paybox().with(|d| {
        if let Some(t) = d.transactions.iter_mut().find(|t| t.numtrans == numtrans) {
            t.state = new_state;
            final_code.clone_into(&mut t.code);
            auth.clone_into(&mut t.authorization);
        }
    });
    record_decision(state, &session.reference, &final_code, None);
    let values = retour_values(
        state,
        &session,
        Some((numtrans, auth)),
        &final_code,
        card,
        three_ds,
    );
    PayboxIpn {
        session,
        values,
        code: final_code,
    }
}

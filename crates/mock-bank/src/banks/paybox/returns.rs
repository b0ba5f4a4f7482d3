//! What the bank sends back after an attempt: the signed `PBX_RETOUR` variables, by IPN to
//! `PBX_REPONDRE_A` and by browser redirect to the shop's return URLs.

use axum::response::{Redirect, Response};

use super::html::result_page;
use super::signing::signed_payload;
use super::state::{CardData, PayboxSession};
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::notify::{Ack, Delivery, FORM, dispatch};
use crate::scenario::Scenario;
use crate::state::BankState;

/// The name the shop gave to the signature (`K`) in `PBX_RETOUR`.
pub(super) fn sig_name(session: &PayboxSession) -> String {
    session
        .retour
        .iter()
        .find(|(_, l)| *l == 'K')
        .map_or_else(|| "K".to_owned(), |(n, _)| n.clone())
}

/// The `PBX_RETOUR` values (signature excluded), in the order asked for.
pub(super) fn retour_values(
    state: &BankState,
    s: &PayboxSession,
    tx: Option<(u64, &str)>,
    code: &str,
    card: &CardData,
    three_ds: char,
) -> Vec<(String, String)> {
    let now = state.now();
    let local = now.in_tz("Europe/Paris").ok();
    let date = local
        .as_ref()
        .map_or_else(String::new, |z| z.strftime("%d%m%Y").to_string());
    let time = local
        .as_ref()
        .map_or_else(String::new, |z| z.strftime("%H:%M:%S").to_string());
    let accepted = code == "00000";
    s.retour
        .iter()
        .filter(|(_, l)| *l != 'K')
        .map(|(name, letter)| {
            let v = match letter {
                'M' => s.amount.to_string(),
                'R' => s.reference.clone(),
                'T' => tx.map_or_else(|| "0".to_owned(), |_| s.numappel.to_string()),
                'S' => tx.map_or_else(|| "0".to_owned(), |(n, _)| n.to_string()),
                'A' => tx.map_or_else(String::new, |(_, a)| a.to_owned()),
                'E' => code.to_owned(),
                'C' => if card.pan.starts_with('4') {
                    "VISA"
                } else {
                    "CB"
                }
                .to_owned(),
                'D' => card.expiry_yymm.clone(),
                'N' => card.pan.get(..6).unwrap_or_default().to_owned(),
                'J' => card
                    .pan
                    .get(card.pan.len().saturating_sub(2)..)
                    .unwrap_or_default()
                    .to_owned(),
                'F' => three_ds.to_string(),
                'G' => if three_ds == 'Y' && accepted {
                    "O"
                } else {
                    "N"
                }
                .to_owned(),
                'O' => if three_ds == 'U' { "U" } else { "Y" }.to_owned(),
                'P' => "CARTE".to_owned(),
                'Q' => time.clone(),
                'W' => date.clone(),
                'I' | 'Y' => "FRA".to_owned(),
                'v' => "2.2.0".to_owned(),
                _ => String::new(),
            };
            (name.clone(), v)
        })
        .collect()
}

/// Signs `values` and notifies `PBX_REPONDRE_A` (GET or POST per `PBX_RUF1`) under the
/// reference's faults.
pub(super) async fn send_ipn(
    state: &BankState,
    s: &PayboxSession,
    values: &[(String, String)],
    scenario: &Scenario,
    code: &str,
    is_final: bool,
) {
    let Some(url) = s.repondre_a.clone() else {
        state.record(
            JournalEntry::new(EntryKind::Withheld, Side::Paybox, "", "no_ipn_url")
                .reference(Some(&s.reference)),
        );
        return;
    };
    let payload = signed_payload(
        &state.paybox().signer,
        values,
        &sig_name(s),
        scenario.wrong_signature,
    );
    let delivery = Delivery::post(Side::Paybox, &s.reference, url, FORM, payload, code, Ack::Exactly200);
    let delivery = if s.ipn_post { delivery } else { delivery.into_get() };
    dispatch(state, delivery, scenario, is_final).await;
}

/// Sends the browser to `target` with the signed variables, or shows the result page when the
/// shop gave no URL for this outcome.
pub(super) fn browser_return(
    state: &BankState,
    s: &PayboxSession,
    target: Option<&str>,
    payload: &str,
    code: &str,
) -> Response {
    let Some(url) = target else {
        return Note::new(Some(&s.reference), "result_page").attach(result_page(code, &s.reference));
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{sep}{payload}");
    let mut e = JournalEntry::new(EntryKind::Redirect, Side::Paybox, full.clone(), code)
        .reference(Some(&s.reference));
    e.payload = Some(payload.to_owned());
    state.record(e);
    Note::new(Some(&s.reference), "browser_return").attach(Redirect::to(&full))
}

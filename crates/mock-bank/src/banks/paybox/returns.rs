//! What the bank sends back after an attempt: the signed `PBX_RETOUR` variables, by IPN to
//! `PBX_REPONDRE_A` and by browser redirect to the shop's return URLs.

use axum::response::{Redirect, Response};

use super::html::result_page;
use super::signing::{Signing, signed_payload};
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

/// What an answer reports, for the variables that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// An accepted or pending payment.
    Paid,
    /// An issuer refusal or a card the page refused.
    Refused,
    /// A failed 3-D Secure authentication.
    ThreeDsFailed,
    /// The customer cancelled on the page: no card attempt.
    Cancelled,
}

/// The `PBX_RETOUR` values (signature excluded), in the order asked for.
///
/// Shaped as the platform answers (spec §4.2, §4.5): a call number `T` always (the page's); a
/// refusal has no authorization `A` (the real `Mt=100&Id=45&Erreur=00114` has none); a
/// cancellation has no `A` nor expiry `D`, an empty `N`, `S=0` and `P=3DSECURE` (the real
/// e-Transactions cancel). What the spec leaves unsure follows [`crate::PayboxShapes`].
pub(super) fn retour_values(
    state: &BankState,
    s: &PayboxSession,
    tx: Option<(u64, &str)>,
    code: &str,
    card: &CardData,
    three_ds: char,
) -> Vec<(String, String)> {
    let shapes = &state.config().paybox_shapes;
    let shape = match (tx, code) {
        (None, _) => Shape::Cancelled,
        (Some(_), "00000" | "99999") => Shape::Paid,
        (Some(_), "00189") if three_ds == 'N' => Shape::ThreeDsFailed,
        (Some(_), _) => Shape::Refused,
    };
    let now = state.now();
    let local = now.in_tz("Europe/Paris").ok();
    let date = local
        .as_ref()
        .map_or_else(String::new, |z| z.strftime("%d%m%Y").to_string());
    let time = local
        .as_ref()
        .map_or_else(String::new, |z| z.strftime("%H:%M:%S").to_string());
    let accepted = code == "00000";
    let numtrans = match (shape, tx) {
        (Shape::ThreeDsFailed, _) if !shapes.three_ds_failure_transaction => "0".to_owned(),
        (_, Some((n, _))) => n.to_string(),
        (_, None) => "0".to_owned(),
    };
    s.retour
        .iter()
        .filter(|(_, l)| *l != 'K')
        .filter_map(|(name, letter)| {
            let v = match letter {
                'M' => s.amount.to_string(),
                'R' => s.reference.clone(),
                'T' => s.numappel.to_string(),
                'S' => numtrans.clone(),
                'A' => match (shape, tx) {
                    (Shape::Paid, Some((_, a))) => a.to_owned(),
                    (Shape::Refused | Shape::ThreeDsFailed, _)
                        if shapes.refusal_empty_authorization =>
                    {
                        String::new()
                    }
                    _ => return None,
                },
                'E' => code.to_owned(),
                'C' => if card.pan.starts_with('4') {
                    "VISA"
                } else {
                    "CB"
                }
                .to_owned(),
                'D' if shape == Shape::Cancelled => return None,
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
                'P' if shape == Shape::Cancelled => "3DSECURE".to_owned(),
                'P' => "CARTE".to_owned(),
                'Q' => time.clone(),
                'W' => date.clone(),
                'I' | 'Y' => "FRA".to_owned(),
                'v' => "2.2.0".to_owned(),
                // `index-count` of a payment in instalments; nothing for a payment in one go.
                'Z' => match &s.plan {
                    Some(plan) => format!("{}-{}", s.instalment, plan.rows.len()),
                    None => return None,
                },
                _ => String::new(),
            };
            Some((name.clone(), v))
        })
        .collect()
}

/// The signed payload of a browser return to `target`: over the shop's own query parameters
/// and the variables when the platform signs them so (see [`crate::PayboxShapes`]).
pub(super) fn browser_payload(
    state: &BankState,
    s: &PayboxSession,
    target: Option<&str>,
    values: &[(String, String)],
    wrong: bool,
) -> String {
    let prefix = target
        .filter(|_| state.config().paybox_shapes.return_signs_merchant_params)
        .and_then(|url| url.split_once('?'))
        .map(|(_, query)| query);
    signed_payload(
        &state.paybox().signer,
        values,
        &sig_name(s),
        Signing {
            prefix,
            latin1: s.latin1,
            wrong,
        },
    )
}

/// An IPN of a session, ready to sign and send.
pub(super) struct PayboxIpn {
    pub(super) session: PayboxSession,
    pub(super) values: Vec<(String, String)>,
    pub(super) code: String,
}

impl crate::notify::Ipn for PayboxIpn {
    fn reference(&self) -> &str {
        &self.session.reference
    }

    async fn send(&self, state: &BankState, scenario: &Scenario, is_final: bool) {
        send_ipn(state, &self.session, &self.values, scenario, &self.code, is_final).await;
    }
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
        Signing {
            prefix: None,
            latin1: s.latin1,
            wrong: scenario.wrong_signature,
        },
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

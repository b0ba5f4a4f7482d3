//! The end of an attempt: the transaction, the journal, the signed IPN (with Lyra's retry
//! schedule), the browser sent back, and the final answer of a pending payment.

use axum::response::{Html, IntoResponse, Redirect, Response};

use super::decision::Decision;
use super::html::{closed_page, post_return_page, result_page};
use super::{rest_ipn, signing};
use super::state::{CardData, LyraSession, LyraTransaction, TxStatus};
use crate::InstalmentError;
use crate::instalments::Charge;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::notify::{self, Ack, Delivery, FORM, dispatch_with};
use crate::scenario::Scenario;
use crate::state::{BankState, Store};

/// The authorization number of an accepted payment.
const AUTHORIZATION: &str = "3fb0de";

fn record_decision(state: &BankState, reference: &str, detail: &str, attempt: Option<u32>) {
    state.record(JournalEntry::decision(Side::Lyra, "/lyra/page", reference, detail, attempt));
}

/// What one notification says.
struct Answer<'a> {
    status: TxStatus,
    auth_result: &'a str,
    result: &'a str,
    uuid: &'a str,
    card: &'a CardData,
    src: &'a str,
}

/// The IPN fields (`vads_hash` included): the request's fields echoed, then the result.
fn ipn_fields(s: &LyraSession, r: &Answer<'_>) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = s
        .request
        .iter()
        .filter(|(n, _)| !n.starts_with("vads_url_") && n != "vads_return_mode")
        .cloned()
        .collect();
    let accepted = matches!(
        r.status,
        TxStatus::Authorised | TxStatus::AuthorisedToValidate
    );
    let paid = r.auth_result == "00";
    let masked = if r.card.pan.len() >= 10 {
        let (bin, rest) = r.card.pan.split_at(6);
        let last = rest.get(rest.len().saturating_sub(4)..).unwrap_or_default();
        format!("{bin}{}{last}", "X".repeat(rest.len().saturating_sub(4)))
    } else {
        String::new()
    };
    let brand = match r.card.pan.as_bytes().first() {
        Some(b'4') => "VISA",
        Some(b'5') => "MASTERCARD",
        Some(_) => "CB",
        None => "",
    };
    // The delay the platform applies: the request's, else the shop's default (0).
    let capture_delay = s
        .request
        .iter()
        .find(|(n, v)| n == "vads_capture_delay" && !v.is_empty())
        .map_or_else(|| "0".to_owned(), |(_, v)| v.clone());
    // Each field once, as the platform sends them: a result field replaces its echo (an echoed
    // empty `vads_capture_delay` next to the effective one would make two values for one name).
    let mut add = |n: &str, v: &str| match f.iter_mut().find(|(name, _)| name == n) {
        Some(field) => v.clone_into(&mut field.1),
        None => f.push((n.to_owned(), v.to_owned())),
    };
    add("vads_auth_mode", "FULL");
    add("vads_auth_number", if paid { AUTHORIZATION } else { "" });
    add("vads_auth_result", r.auth_result);
    add("vads_capture_delay", &capture_delay);
    add("vads_card_brand", brand);
    add("vads_card_number", &masked);
    add("vads_effective_amount", &s.effective_amount().to_string());
    add("vads_effective_currency", &s.currency);
    add("vads_expiry_month", if masked.is_empty() { "" } else { &r.card.month });
    add("vads_expiry_year", if masked.is_empty() { "" } else { &r.card.year });
    add("vads_extra_result", "");
    add("vads_hash", &crate::random_hex(32));
    add("vads_operation_type", "DEBIT");
    add("vads_payment_src", "EC");
    add("vads_result", r.result);
    add("vads_sequence_number", &s.sequence.to_string());
    add("vads_threeds_status", if accepted { "Y" } else { "" });
    add("vads_trans_status", r.status.as_str());
    add("vads_trans_uuid", r.uuid);
    add("vads_url_check_src", r.src);
    add("vads_warranty_result", if accepted { "YES" } else { "" });
    f
}

/// The key of the session's shop and mode, and its algorithm.
fn key_of(state: &BankState, s: &LyraSession) -> (String, bool) {
    match state.lyra().shop(&s.site_id) {
        Some(shop) if s.production => (shop.production_key.expose().to_owned(), shop.sha1),
        Some(shop) => (shop.test_key.expose().to_owned(), shop.sha1),
        None => (String::new(), false),
    }
}

/// The REST password of the session's shop when it is notified in the REST format.
fn rest_ipn_key(state: &BankState, s: &LyraSession) -> Option<String> {
    let shop = state.lyra().shop(&s.site_id)?;
    shop.rest_ipn.then(|| shop.rest_password.expose().to_owned())
}

/// Signs `fields` (with another key when scripted `wrong_signature`).
fn signed(state: &BankState, s: &LyraSession, fields: &[(String, String)], wrong: bool) -> String {
    let (mut key, sha1) = key_of(state, s);
    if wrong {
        key.push_str("-wrong");
    }
    signing::signed_body(fields, &key, sha1)
}

/// An IPN of a session, ready to send.
struct LyraIpn {
    session: LyraSession,
    fields: Vec<(String, String)>,
    status: TxStatus,
}

impl notify::Ipn for LyraIpn {
    fn reference(&self) -> &str {
        &self.session.reference
    }

    async fn send(&self, state: &BankState, scenario: &Scenario, is_final: bool) {
        send_ipn(state, &self.session, &self.fields, scenario, self.status, is_final).await;
    }
}

/// Sends the IPN of a transaction now `status` to `vads_url_check` under the reference's
/// faults and Lyra's schedule: the `vads_*` form, or the REST one for a REST shop.
async fn send_ipn(
    state: &BankState,
    s: &LyraSession,
    fields: &[(String, String)],
    scenario: &Scenario,
    status: TxStatus,
    is_final: bool,
) {
    let Some(url) = s.url_check.clone() else {
        state.record(
            JournalEntry::new(EntryKind::Withheld, Side::Lyra, "", "no_ipn_url")
                .reference(Some(&s.reference)),
        );
        return;
    };
    let payload = match rest_ipn_key(state, s) {
        Some(mut password) => {
            if scenario.wrong_signature {
                password.push_str("-wrong");
            }
            rest_ipn::body(fields, status, &password)
        }
        None => signed(state, s, fields, scenario.wrong_signature),
    };
    let delivery = Delivery::post(
        Side::Lyra,
        &s.reference,
        url,
        FORM,
        payload,
        status.as_str(),
        Ack::Lyra,
    );
    let policy = state.config().lyra_retry.clone();
    dispatch_with(state, delivery, scenario, is_final, policy).await;
}

/// Sends the browser back: to `target` with the fields minus `vads_hash` (spec B.2) per
/// `vads_return_mode`, or the result page when the shop gave no URL.
fn browser_return(
    state: &BankState,
    s: &LyraSession,
    target: Option<&str>,
    fields: &[(String, String)],
    status: &str,
) -> Response {
    let Some(url) = target.or(s.url_return.as_deref()) else {
        return Note::new(Some(&s.reference), "result_page").attach(result_page(status, &s.reference));
    };
    let fields: Vec<(String, String)> = fields.iter().filter(|(n, _)| n != "vads_hash").cloned().collect();
    let scenario = state.scenario_for(&s.reference);
    let payload = signed(state, s, &fields, scenario.wrong_signature);
    let mut e = JournalEntry::new(EntryKind::Redirect, Side::Lyra, url.to_owned(), status)
        .reference(Some(&s.reference));
    e.payload = Some(payload.clone());
    state.record(e);
    let note = Note::new(Some(&s.reference), "browser_return");
    match s.return_mode.as_str() {
        "GET" => {
            let sep = if url.contains('?') { '&' } else { '?' };
            note.attach(Redirect::to(&format!("{url}{sep}{payload}")))
        }
        "POST" => {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(payload.as_bytes()).into_owned().collect();
            note.attach(post_return_page(url, &pairs))
        }
        _ => note.attach(Redirect::to(url)),
    }
}

/// Decides an attempt: transaction, journal, IPN, browser return.
pub(super) async fn conclude(
    state: &BankState,
    id: &str,
    decision: Decision,
    card: CardData,
) -> Response {
    let Some(session) = state.lyra().with(|d| {
        let s = d.sessions.get_mut(id)?;
        s.attempts += 1;
        s.finished = true;
        Some(s.clone())
    }) else {
        return Html("session inconnue").into_response();
    };
    let reference = session.reference.clone();
    let scenario = state.scenario_for(&reference);
    if decision == Decision::Abandon {
        record_decision(state, &reference, "abandoned", None);
        return Note::new(Some(&reference), "abandoned").attach(closed_page());
    }
    // vads_validation_mode=1: an accepted payment waits for the shop's validation.
    let accepted = if session.field("vads_validation_mode") == "1" {
        TxStatus::AuthorisedToValidate
    } else {
        TxStatus::Authorised
    };
    let (status, auth_result, result, pending) = match &decision {
        Decision::Accept => (accepted, "00".to_owned(), "00", None),
        Decision::Refuse(code) => (TxStatus::Refused, code.clone(), "05", None),
        Decision::Pending(then) => (TxStatus::UnderVerification, String::new(), "00", Some(then.clone())),
        _ => (TxStatus::Refused, String::new(), "96", None),
    };
    let uuid = crate::random_hex(16);
    state.lyra().record_transaction(LyraTransaction {
        uuid: uuid.clone(),
        site_id: session.site_id.clone(),
        reference: reference.clone(),
        order_id: session.field("vads_order_id").to_owned(),
        amount: session.amount,
        currency: session.currency.clone(),
        status,
        auth_result: auth_result.clone(),
        refunded: 0,
    });
    record_decision(state, &reference, status.as_str(), Some(session.attempts));
    if matches!(status, TxStatus::Authorised | TxStatus::AuthorisedToValidate) {
        state.lyra().with(|d| {
            if let Some(s) = d.sessions.get_mut(id) {
                s.paid = true;
            }
        });
    }
    let r = Answer {
        status,
        auth_result: &auth_result,
        result,
        uuid: &uuid,
        card: &card,
        src: "PAY",
    };
    let fields = ipn_fields(&session, &r);
    send_ipn(state, &session, &fields, &scenario, status, pending.is_none()).await;
    if let Some(then) = pending {
        let (pending_session, uuid) = (session.clone(), uuid.clone());
        notify::settle_pending(state, move |state| {
            settle(state, pending_session, &uuid, then.as_deref(), &card)
        });
    }
    let target = match status {
        TxStatus::Authorised | TxStatus::AuthorisedToValidate => session.url_success.as_deref(),
        TxStatus::Refused => session.url_refused.as_deref(),
        _ => session.url_return.as_deref(),
    };
    browser_return(state, &session, target, &fields, status.as_str())
}

/// Charges later instalment `number` of the payment in instalments `reference` (its
/// `vads_sequence_number`): a transaction of its own, `AUTHORISED` or `REFUSED` (`51`,
/// insufficient funds), notified with `vads_url_check_src=BATCH_AUTO` as the platform's
/// deferred authorizations are.
pub(super) fn charge_instalment(state: &BankState, charge: Charge<'_>) -> Result<(), InstalmentError> {
    let Charge { reference, number, accepted } = charge;
    let session = state.lyra().with(|d| {
        crate::instalments::charge_later(d.sessions.values_mut(), reference, number)
            .map(|(s, _)| LyraSession {
                sequence: number,
                ..s.clone()
            })
    })?;
    let (status, auth_result, result) = if accepted {
        (TxStatus::Authorised, "00", "00")
    } else {
        (TxStatus::Refused, "51", "05")
    };
    let uuid = crate::random_hex(16);
    state.lyra().record_transaction(LyraTransaction {
        uuid: uuid.clone(),
        site_id: session.site_id.clone(),
        reference: reference.to_owned(),
        order_id: session.field("vads_order_id").to_owned(),
        amount: session.effective_amount(),
        currency: session.currency.clone(),
        status,
        auth_result: auth_result.to_owned(),
        refunded: 0,
    });
    record_decision(state, reference, &format!("instalment {number} {}", status.as_str()), None);
    let card = CardData::default();
    let r = Answer {
        status,
        auth_result,
        result,
        uuid: &uuid,
        card: &card,
        src: "BATCH_AUTO",
    };
    let fields = ipn_fields(&session, &r);
    notify::spawn_ipn(state, LyraIpn { session, fields, status });
    Ok(())
}

/// After the pending delay: the final status (refused with `then`, else authorised) and the
/// second IPN (`vads_url_check_src=BATCH_AUTO`).
fn settle(
    state: &BankState,
    session: LyraSession,
    uuid: &str,
    then: Option<&str>,
    card: &CardData,
) -> LyraIpn {
    let (status, auth_result, result) = match then {
        None => (TxStatus::Authorised, "00", "00"),
        Some(code) => (TxStatus::Refused, code, "05"),
    };
    state.lyra().with(|d| {
        if let Some(t) = d.transactions.iter_mut().find(|t| t.uuid == uuid) {
            t.status = status;
            auth_result.clone_into(&mut t.auth_result);
        }
    });
    record_decision(state, &session.reference, status.as_str(), None);
    let r = Answer {
        status,
        auth_result,
        result,
        uuid,
        card,
        src: "BATCH_AUTO",
    };
    LyraIpn {
        fields: ipn_fields(&session, &r),
        session,
        status,
    }
}

/// "Annuler et retourner à la boutique": the attempt is abandoned, the IPN says so (the
/// mock's shops have the cancellation rule on) and the browser goes to `vads_url_cancel`.
pub(super) async fn cancel(state: &BankState, session: &LyraSession) -> Response {
    state.lyra().update(&session.id, |s| s.finished = true);
    record_decision(state, &session.reference, "ABANDONED", None);
    let card = CardData::default();
    let r = Answer {
        status: TxStatus::Abandoned,
        auth_result: "",
        result: "17",
        uuid: "",
        card: &card,
        src: "PAY",
    };
    let fields = ipn_fields(session, &r);
    let scenario = state.scenario_for(&session.reference);
    send_ipn(state, session, &fields, &scenario, TxStatus::Abandoned, true).await;
    browser_return(state, session, session.url_cancel.as_deref(), &fields, "ABANDONED")
}

//! The payment page: the entry (`/paiement.cgi`, `/test/paiement.cgi`) that checks the shop's
//! form and its MAC, the card form, the cancel button; the decision of an attempt and the
//! browser return.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::cgi2::{Verdict, send_cgi2};
use super::html::{closed_page, error_page, payment_page, result_page, shown};
use super::state::MoneticoSession;
use super::{cards, mac};
use crate::extract::{Form, Pairs};
use crate::instalments::{self, Plan, Row};
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::pages::CARD_RETRY;
use crate::scenario::Outcome;
use crate::state::{BankState, Store};

/// The currencies the mock's Monetico takes, with their decimals.
pub(super) const CURRENCIES: &[(&str, u32)] =
    &[("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("JPY", 0)];
/// The most instalments of a schedule (`nbrech`).
pub(super) const MAX_INSTALMENTS: u8 = 4;
/// The largest amount, in minor units (10 digits).
pub(super) const MAX_AMOUNT: u64 = 9_999_999_999;

/// What the bank decides for one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Accept { challenge: bool },
    Refuse(String),
    /// `Annulation`, then an authorization after the pending delay (spec C.5: not final).
    RefuseThenAccept,
    Abandon,
}

/// `POST|GET /test/paiement.cgi`.
pub(super) async fn entry_test(State(state): State<BankState>, Form(fields): Form) -> Response {
    entry(&state, fields, true)
}

/// `POST|GET /paiement.cgi`.
pub(super) async fn entry_production(
    State(state): State<BankState>,
    Form(fields): Form,
) -> Response {
    entry(&state, fields, false)
}

fn refuse(reference: Option<&str>, detail: &str, message: &str) -> Response {
    Note::new(reference, detail).attach((StatusCode::BAD_REQUEST, error_page(message)))
}

fn entry(
    state: &BankState,
    fields: Result<Pairs, crate::extract::FormError>,
    test: bool,
) -> Response {
    if state.server_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            error_page("Service momentanément indisponible"),
        )
            .into_response();
    }
    let Ok(fields) = fields else {
        return refuse(None, "bad_form", "Formulaire illisible");
    };
    let reference = fields.get("reference").map(str::to_owned);
    match check(state, &fields, test) {
        Ok(session) => {
            let page = payment_page(&session, None);
            state.monetico().open(session);
            Note::new(reference.as_deref(), "page_shown").attach(page)
        }
        Err((detail, message)) => refuse(reference.as_deref(), detail, message),
    }
}

/// The checks of the shop's form, MAC first.
fn check(
    state: &BankState,
    fields: &Pairs,
    test: bool,
) -> Result<MoneticoSession, (&'static str, &'static str)> {
    let pairs = fields.as_slice();
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(("duplicate_field", "Champ en double"));
    }
    let tpe = fields.text("TPE");
    let Some(terminal) = state.monetico().terminals.get(tpe) else {
        return Err(("unknown_tpe", "TPE inconnu"));
    };
    let Some(presented) = fields.get("MAC") else {
        return Err(("mac_missing", "Sceau (MAC) absent"));
    };
    if mac::verify(&terminal.key, pairs, presented).is_err() {
        return Err(("mac_invalid", "Sceau (MAC) invalide"));
    }
    if fields.text("version") != "3.0" {
        return Err(("bad_version", "Version non supportée (3.0 attendue)"));
    }
    if fields.text("societe") != terminal.societe {
        return Err(("bad_societe", "Code société incorrect"));
    }
    let reference = fields.text("reference");
    if reference.is_empty()
        || reference.len() > 12
        || !reference.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(("bad_reference", "Référence invalide ([A-Za-z0-9]{1,12})"));
    }
    if !date_ok(fields.text("date")) {
        return Err(("bad_date", "Date invalide (JJ/MM/AAAA:HH:MM:SS)"));
    }
    let montant = fields.text("montant");
    let Some((amount, currency)) = parse_montant(montant) else {
        return Err(("bad_montant", "Montant invalide"));
    };
    if amount == 0 || amount > MAX_AMOUNT {
        return Err(("bad_montant", "Montant hors limites"));
    }
    let plan = plan(fields, amount, currency)?;
    if !contexte_ok(fields.get("contexte_commande")) {
        return Err((
            "bad_contexte",
            "contexte_commande absent ou incomplet (adresse de facturation)",
        ));
    }
    let url = |name| {
        fields
            .get(name)
            .filter(|u| crate::notify::check_callback_url(u).is_ok())
            .map(str::to_owned)
    };
    Ok(MoneticoSession {
        id: crate::random_hex(16),
        tpe: tpe.to_owned(),
        reference: reference.to_owned(),
        montant: montant.to_owned(),
        amount,
        currency: currency.to_owned(),
        texte_libre: fields.text("texte-libre").to_owned(),
        test,
        url_ok: url("url_retour_ok"),
        url_err: url("url_retour_err"),
        finished: false,
        created_order: state.next_counter(),
        plan,
        paid: false,
    })
}

/// The schedule of `nbrech` (2 to 4), `dateechN` (`DD/MM/YYYY`) and `montantechN` (like
/// `montant`, same currency), summing to `montant`; no instalment field without `nbrech`.
fn plan(
    fields: &Pairs,
    total: u64,
    currency: &str,
) -> Result<Option<Plan>, (&'static str, &'static str)> {
    let bad = ("bad_schedule", "Échéancier invalide (nbrech, dateechN, montantechN)");
    let Some(count) = fields.get("nbrech") else {
        let stray = fields
            .as_slice()
            .iter()
            .any(|(k, _)| k.starts_with("dateech") || k.starts_with("montantech"));
        return if stray { Err(bad) } else { Ok(None) };
    };
    let count: u8 = count.parse().map_err(|_| bad)?;
    if !(2..=MAX_INSTALMENTS).contains(&count) {
        return Err(("bad_schedule_count", "nbrech doit valoir 2 à 4"));
    }
    let mut rows = Vec::new();
    for number in 1..=MAX_INSTALMENTS {
        let day = fields.get(&format!("dateech{number}"));
        let written = fields.get(&format!("montantech{number}"));
        if number > count {
            if day.is_some() || written.is_some() {
                return Err(bad);
            }
            continue;
        }
        let (Some(day), Some(written)) = (day, written) else {
            return Err(bad);
        };
        let due = instalments::day(day).ok_or(bad)?;
        let (amount, c) = parse_montant(written).ok_or(bad)?;
        if c != currency {
            return Err(bad);
        }
        rows.push(Row {
            number,
            due,
            day: day.to_owned(),
            amount,
            written: written.to_owned(),
            shown: shown(amount, currency),
        });
    }
    Plan::checked(rows, total, usize::from(MAX_INSTALMENTS)).map(Some)
}

/// `DD/MM/YYYY:HH:MM:SS`.
fn date_ok(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b'/',
            10 => *c == b':',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// `42`, `42.5`, `42.50` then a currency of [`CURRENCIES`]: minor units and the currency.
pub(super) fn parse_montant(montant: &str) -> Option<(u64, &'static str)> {
    if montant.len() < 4 || montant.len() > 20 || !montant.is_ascii() {
        return None;
    }
    let (number, alpha) = montant.split_at(montant.len() - 3);
    let &(currency, exp) = CURRENCIES.iter().find(|(c, _)| *c == alpha)?;
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 12 || !digits(int) || !digits(frac) {
        return None;
    }
    let frac_len = u32::try_from(frac.len()).ok()?;
    if frac_len > exp || (number.contains('.') && frac.is_empty()) {
        return None;
    }
    let mut minor: u64 = int.parse().ok()?;
    minor = minor.checked_mul(10u64.pow(exp))?;
    if !frac.is_empty() {
        let f: u64 = frac.parse().ok()?;
        minor = minor.checked_add(f.checked_mul(10u64.pow(exp - frac_len))?)?;
    }
    Some((minor, currency))
}

/// `contexte_commande`: base64 of a JSON object whose `billing` has the address 3-D Secure v2
/// needs.
fn contexte_ok(contexte: Option<&str>) -> bool {
    let Some(json) = contexte.and_then(|c| STANDARD.decode(c).ok()) else {
        return false;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&json) else {
        return false;
    };
    ["addressLine1", "city", "postalCode", "country"]
        .iter()
        .all(|k| v["billing"][k].as_str().is_some_and(|s| !s.is_empty()))
}

/// `POST /monetico/page/{id}`: a card attempt, or the cancel button.
pub(super) async fn submit(
    State(state): State<BankState>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let Some(session) = state.monetico().session(&id) else {
        return (StatusCode::NOT_FOUND, error_page("Session inconnue ou expirée")).into_response();
    };
    let reference = session.reference.clone();
    let form = form.or_empty();
    if session.finished {
        return Note::new(Some(&reference), "page_finished")
            .attach(error_page("Paiement déjà terminé"));
    }
    let scenario = state.scenario_for(&reference);
    let cancel = form.get("action") == Some("cancel");
    let entry = form.card_entry();
    let usable = cancel || (entry.pan_ok() && entry.expiry_digits() && entry.cvv_ok());
    if !usable {
        return Note::new(Some(&reference), "retry_on_page")
            .attach(payment_page(&session, Some(CARD_RETRY)));
    }
    let decision = if cancel {
        // The customer gives up: the bank reports it as an `Annulation` without reason.
        Decision::Refuse("-".into())
    } else {
        match &scenario.outcome {
            Some(Outcome::Accept) => Decision::Accept { challenge: false },
            Some(Outcome::Refuse { code } | Outcome::PendingThenRefuse { code }) => {
                Decision::Refuse(code.clone())
            }
            Some(Outcome::PendingThenAccept) => Decision::RefuseThenAccept,
            Some(Outcome::Abandon) => Decision::Abandon,
            _ => cards::decide(&entry.pan),
        }
    };
    if !state.monetico().finish(&id) {
        return Note::new(Some(&reference), "page_finished")
            .attach(error_page("Paiement déjà terminé"));
    }
    let detail = match &decision {
        Decision::Accept { .. } => "accepted".to_owned(),
        Decision::Refuse(m) => format!("Annulation {m}"),
        Decision::RefuseThenAccept => "Annulation then paiement".to_owned(),
        Decision::Abandon => "abandoned".to_owned(),
    };
    state.record(
        JournalEntry::new(EntryKind::Decision, Side::Monetico, "/monetico/page", &detail)
            .reference(Some(&reference)),
    );
    let card = Card {
        pan: if cancel { String::new() } else { entry.pan },
        expiry_mmyy: entry.expiry,
    };
    let accepted = match decision {
        Decision::Abandon => {
            return Note::new(Some(&reference), "abandoned").attach(closed_page());
        }
        Decision::Accept { challenge } => {
            state.monetico().mark_paid(&id);
            send_cgi2(&state, &session, (Verdict::Accepted { challenge }, 1), &card, &scenario, true)
                .await;
            true
        }
        Decision::Refuse(motif) => {
            send_cgi2(&state, &session, (Verdict::Refused(motif), 1), &card, &scenario, true).await;
            false
        }
        Decision::RefuseThenAccept => {
            let refused = Verdict::Refused("-".into());
            send_cgi2(&state, &session, (refused, 1), &card, &scenario, false).await;
            let (task_state, task_session) = (state.clone(), session.clone());
            state.spawn(async move {
                if task_state
                    .sleep_or_shutdown(task_state.config().pending_delay)
                    .await
                {
                    let scenario = task_state.scenario_for(&task_session.reference);
                    let accepted = Verdict::Accepted { challenge: false };
                    send_cgi2(&task_state, &task_session, (accepted, 1), &card, &scenario, true).await;
                }
            });
            false
        }
    };
    browser_return(&state, &session, accepted)
}

/// The card of an attempt (never journaled).
#[derive(Clone, Debug, Default)]
pub(super) struct Card {
    pub(super) pan: String,
    pub(super) expiry_mmyy: String,
}

/// Sends the browser to `url_retour_ok` / `url_retour_err` (display only: no signed data), or
/// shows the result page.
fn browser_return(state: &BankState, s: &MoneticoSession, accepted: bool) -> Response {
    let target = if accepted { &s.url_ok } else { &s.url_err };
    let Some(url) = target else {
        return Note::new(Some(&s.reference), "result_page")
            .attach(result_page(accepted, &s.reference));
    };
    state.record(
        JournalEntry::new(
            EntryKind::Redirect,
            Side::Monetico,
            url.clone(),
            if accepted { "retour_ok" } else { "retour_err" },
        )
        .reference(Some(&s.reference)),
    );
    Note::new(Some(&s.reference), "browser_return").attach(Redirect::to(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montants_of_the_spec() {
        assert_eq!(parse_montant("95.25EUR"), Some((9525, "EUR")));
        assert_eq!(parse_montant("42EUR"), Some((4200, "EUR")));
        assert_eq!(parse_montant("42.5EUR"), Some((4250, "EUR")));
        assert_eq!(parse_montant("1500JPY"), Some((1500, "JPY")));
        for bad in ["1.5JPY", "42.EUR", ".5EUR", "42,50EUR", "42.123EUR", "42XXX", "EUR"] {
            assert_eq!(parse_montant(bad), None, "{bad}");
        }
        assert!(date_ok("01/01/2025:12:00:00"));
        assert!(!date_ok("01/01/2025_a_12:00:00"));
    }
}

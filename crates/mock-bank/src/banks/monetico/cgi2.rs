//! The CGI2 return (spec C.5): the fields of a verdict, signed with the TPE's key, posted to the
//! confirmation URL registered for the TPE and retried until the shop answers `cdr=0` (C.6).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::mac;
use super::page::Card;
use super::state::MoneticoSession;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::notify::{Ack, Delivery, FORM, dispatch};
use crate::scenario::Scenario;
use crate::state::{BankState, Store};

/// The body the shop answers once it recorded a return.
pub const RECEIVED: &str = "version=2\ncdr=0\n";

/// The verdict of a return.
#[derive(Clone, Debug)]
pub(super) enum Verdict {
    /// `payetest` / `paiement`.
    Accepted { challenge: bool },
    /// `Annulation` with this `motifrefus`.
    Refused(String),
}

/// Brand of a card number, as `brand` names it.
fn brand(pan: &str) -> &'static str {
    match pan.as_bytes().first() {
        Some(b'4') => "VI",
        Some(b'5' | b'2') => "MC",
        Some(b'3') => "AM",
        Some(_) => "CB",
        None => "na",
    }
}

/// `authentification`: base64 of the 3-D Secure JSON.
fn authentification(verdict: &Verdict) -> String {
    let (status, ares, liability) = match verdict {
        Verdict::Accepted { challenge: true } => ("authenticated", "C", "Y"),
        Verdict::Accepted { challenge: false } => ("authenticated", "Y", "Y"),
        Verdict::Refused(m) if m == "3DSecure" => ("not_authenticated", "N", "N"),
        Verdict::Refused(_) => ("authentication_not_performed", "U", "NA"),
    };
    let json = serde_json::json!({
        "protocol": "3DSecure",
        "status": status,
        "version": "2.2.0",
        "details": { "liabilityShift": liability, "ARes": ares },
    });
    STANDARD.encode(json.to_string())
}

/// The return's fields, MAC excluded.
fn fields(
    state: &BankState,
    s: &MoneticoSession,
    (verdict, number): (&Verdict, u8),
    card: &Card,
    key: &[u8; 20],
) -> Vec<(String, String)> {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let date = state
        .now()
        .to_zoned_datetime(tz)
        .strftime("%d/%m/%Y_a_%H:%M:%S")
        .to_string();
    let pan = &card.pan;
    let (code, motif) = match verdict {
        Verdict::Accepted { .. } if s.test => ("payetest", None),
        Verdict::Accepted { .. } => ("paiement", None),
        Verdict::Refused(m) => ("Annulation", Some(m.clone())),
    };
    // A later instalment's code says which (`paiement_pf2`); every return of a payment in
    // instalments gives the instalment's amount in `montantech`.
    // The test page's `payetest` has no instalment form: the bank charges later instalments
    // as `paiement_pfN` (spec C.5).
    let code = if number >= 2 {
        let code = if code == "payetest" { "paiement" } else { code };
        format!("{code}_pf{number}")
    } else {
        code.to_owned()
    };
    let montantech = s
        .plan
        .as_ref()
        .and_then(|p| p.row(number))
        .map(|r| r.written.clone())
        .unwrap_or_default();
    let mut f: Vec<(&str, String)> = vec![
        ("TPE", s.tpe.clone()),
        ("date", date),
        ("montant", s.montant.clone()),
        ("montantech", montantech),
        ("reference", s.reference.clone()),
        ("texte-libre", s.texte_libre.clone()),
        ("code-retour", code),
        ("cvx", if pan.is_empty() { "non" } else { "oui" }.to_owned()),
        ("vld", card.expiry_mmyy.clone()),
        ("brand", brand(pan).to_owned()),
        ("originecb", "FRA".to_owned()),
        ("originetr", "FRA".to_owned()),
        ("ipclient", "127.0.0.1".to_owned()),
        ("modepaiement", "CB".to_owned()),
        ("usage", "debit".to_owned()),
        ("typecompte", "particulier".to_owned()),
        ("ecard", "non".to_owned()),
        ("authentification", authentification(verdict)),
    ];
    if pan.len() >= 12 {
        f.push(("bincb", pan[..8].to_owned()));
        f.push((
            "cbmasquee",
            format!("{}{}{}", &pan[..8], "*".repeat(pan.len() - 10), &pan[pan.len() - 2..]),
        ));
        // A keyed hash of the card number, never the number itself.
        if let Ok(mut h) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) {
            h.update(pan.as_bytes());
            f.push(("hpancb", hex::encode_upper(h.finalize().into_bytes())));
        }
    }
    match motif {
        None => {
            let numauto = if s.test {
                "000000".to_owned()
            } else {
                format!("{:06}", state.next_counter() % 1_000_000)
            };
            f.push(("numauto", numauto));
        }
        Some(m) => {
            f.push(("motifrefus", m));
            f.push(("motifrefusautorisation", "-".to_owned()));
        }
    }
    f.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// Signs and posts the return of `verdict` for instalment `number` (1: the payment on the
/// page) to the TPE's confirmation URL, under the reference's
/// faults (a `wrong_signature` script signs with another key).
pub(super) async fn send_cgi2(
    state: &BankState,
    s: &MoneticoSession,
    (verdict, number): (Verdict, u8),
    card: &Card,
    scenario: &Scenario,
    is_final: bool,
) {
    let Some(terminal) = state.monetico().terminals.get(&s.tpe) else {
        return;
    };
    let url = state
        .monetico()
        .with(|d| d.cgi2_urls.get(&s.tpe).cloned());
    let Some(url) = url else {
        state.record(
            JournalEntry::new(EntryKind::Withheld, Side::Monetico, "", "no_cgi2_url")
                .reference(Some(&s.reference)),
        );
        return;
    };
    let mut values = fields(state, s, (&verdict, number), card, &terminal.key);
    let mut key = terminal.key;
    if scenario.wrong_signature {
        key[0] ^= 0xff;
    }
    values.push(("MAC".to_owned(), mac::mac_hex(&key, &values)));
    let payload = serde_urlencoded::to_string(&values).unwrap_or_default();
    let detail = values
        .iter()
        .find(|(k, _)| k == "code-retour")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let ack = Ack::Exactly200WithBody(RECEIVED);
    let delivery = Delivery::post(Side::Monetico, &s.reference, url, FORM, payload, detail, ack);
    dispatch(state, delivery, scenario, is_final).await;
}

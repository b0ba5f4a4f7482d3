//! Paybox Direct (`PPPS.php`): status query, capture, refund and cancel of a transaction.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::hmac::verify_fields_hmac;
use super::request::same_number;
use super::state::{PayboxTransaction, TxState};
use crate::extract::{Form, Pairs};
use crate::faults::api_fault;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::state::{BankState, Store};

fn latin1(s: &str) -> Vec<u8> {
    // The bank answers in ISO-8859-1; characters outside it cannot occur in our own texts.
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

fn direct_answer(
    fields: &Pairs,
    code: &str,
    comment: &str,
    tx: Option<&PayboxTransaction>,
    extra: &[(&str, String)],
) -> Response {
    let echo = |k: &str| fields.text(k).to_owned();
    let mut parts: Vec<(String, String)> = vec![
        (
            "NUMTRANS".into(),
            format!("{:010}", tx.map_or(0, |t| t.numtrans)),
        ),
        (
            "NUMAPPEL".into(),
            format!("{:010}", tx.map_or(0, |t| t.numappel)),
        ),
        ("NUMQUESTION".into(), echo("NUMQUESTION")),
        ("SITE".into(), echo("SITE")),
        ("RANG".into(), echo("RANG")),
        (
            "AUTORISATION".into(),
            tx.map_or_else(String::new, |t| t.authorization.clone()),
        ),
        ("CODEREPONSE".into(), code.to_owned()),
        ("COMMENTAIRE".into(), comment.to_owned()),
        ("REFABONNE".into(), String::new()),
        ("PORTEUR".into(), String::new()),
    ];
    for (k, v) in extra {
        parts.push(((*k).to_owned(), v.clone()));
    }
    // Values go out as the bank sends them: not percent-encoded, Latin-1 bytes.
    let text = parts
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    (
        [(header::CONTENT_TYPE, "text/plain; charset=ISO-8859-1")],
        latin1(&text),
    )
        .into_response()
}

/// `POST /PPPS.php`: one Direct operation, answered `KEY=value&…` in ISO-8859-1.
pub(super) async fn ppps(State(state): State<BankState>, Form(fields): Form) -> Response {
    let fields = match fields {
        Ok(f) => f,
        Err(_) => {
            return Note::new(None, "00014").attach(direct_answer(
                &Pairs::default(),
                "00014",
                "PAYBOX : Trame incohérente",
                None,
                &[],
            ));
        }
    };
    let reference = fields.get("REFERENCE").map(str::to_owned);
    let scenario = state.scenario_for(reference.as_deref().unwrap_or("*"));
    if let Some(fault) = scenario.api_fault {
        return api_fault(&state, fault, reference.as_deref()).await;
    }
    if state.server_down() {
        return Note::new(reference.as_deref(), "server_down")
            .attach((StatusCode::SERVICE_UNAVAILABLE, "server unavailable"));
    }
    let (code, comment, tx, extra) = direct_operation(&state, &fields);
    let mut e = JournalEntry::new(EntryKind::Decision, Side::Paybox, "/PPPS.php", code.clone())
        .reference(reference.as_deref());
    e.payload = fields.get("TYPE").map(|t| format!("TYPE={t}"));
    state.record(e);
    Note::new(reference.as_deref(), &code).attach(direct_answer(
        &fields,
        &code,
        &comment,
        tx.as_ref(),
        &extra,
    ))
}
type DirectResult = (
    String,
    String,
    Option<PayboxTransaction>,
    Vec<(&'static str, String)>,
);

fn direct_operation(state: &BankState, fields: &Pairs) -> DirectResult {
    let fail = |code: &str, comment: &str| (code.to_owned(), comment.to_owned(), None, Vec::new());
    let site = fields.text("SITE");
    let rang = fields.text("RANG");
    let ident = fields.get("IDENTIFIANT");
    let Some(merchant) = state.config().paybox_merchants.iter().find(|m| {
        m.site == site
            && same_number(&m.rang, rang)
            && ident.is_none_or(|i| same_number(&m.identifiant, i))
    }) else {
        return fail("00006", "PAYBOX : Accès refusé ou site/rang incorrect");
    };
    let authenticated = if fields.get("HMAC").is_some() {
        verify_fields_hmac(fields.as_slice(), "HMAC", "HASH", merchant.hmac_key_hex.expose()).is_ok()
    } else {
        match (fields.get("CLE"), &merchant.direct_cle) {
            (Some(cle), Some(expected)) => expected.matches(cle),
            _ => false,
        }
    };
    if !authenticated {
        return fail(
            "00006",
            "PAYBOX : Accès refusé ou site/rang incorrect, clé HMAC invalide",
        );
    }
    let numq = fields.text("NUMQUESTION");
    if numq.is_empty() || numq.len() > 10 || !numq.bytes().all(|b| b.is_ascii_digit()) {
        return fail("00005", "PAYBOX : Numéro de question invalide");
    }
    let dateq = fields.text("DATEQ");
    if dateq.len() != 14 || !dateq.bytes().all(|b| b.is_ascii_digit()) {
        return fail("00007", "PAYBOX : Date invalide");
    }
    let op = fields.text("TYPE");
    if !matches!(op, "00017" | "00014" | "00002" | "00005") {
        return fail("00009", "PAYBOX : Type d'opération invalide");
    }
    let numtrans = fields.get("NUMTRANS").and_then(|v| v.parse::<u64>().ok());
    let numappel = fields.get("NUMAPPEL").and_then(|v| v.parse::<u64>().ok());
    let reference = fields.get("REFERENCE");
    let amount = fields.get("MONTANT").map(|m| {
        if m.len() <= 10 {
            m.parse::<u64>().ok()
        } else {
            None
        }
    });
    if matches!(amount, Some(None)) {
        return fail("00011", "PAYBOX : Montant incorrect");
    }
    let amount = amount.flatten();
    state.paybox().with(|d| {
        // The operation concerns the transaction named by NUMTRANS (and NUMAPPEL when given),
        // or, for a status query without numbers, the latest transaction of the reference.
        let pos = d.transactions.iter().rposition(|t| {
            t.site == site
                && same_number(&t.rang, rang)
                && match numtrans {
                    Some(n) => t.numtrans == n && numappel.is_none_or(|a| a == t.numappel),
                    None => op == "00017" && reference.is_some_and(|r| r == t.reference),
                }
        });
        let Some(pos) = pos else {
            return fail("00018", "PAYBOX : Transaction non trouvée");
        };
        let t = &mut d.transactions[pos];
        let ok = "Demande traitée avec succès";
        match op {
            "00017" => {
                let label = t.state.label().to_owned();
                (
                    "00000".into(),
                    ok.into(),
                    Some(t.clone()),
                    vec![("STATUS", label)],
                )
            }
            "00002" => {
                if t.state != TxState::Authorized {
                    return fail("00002", "PAYBOX : Transaction non capturable");
                }
                if amount.is_some_and(|a| a == 0 || a > t.amount) {
                    return fail("00011", "PAYBOX : Montant incorrect");
                }
                t.state = TxState::Captured;
                if let Some(a) = amount {
                    t.amount = a;
                }
                ("00000".into(), ok.into(), Some(t.clone()), Vec::new())
            }
            "00014" => {
                if !matches!(t.state, TxState::Captured | TxState::Refunded) {
                    return fail("00002", "PAYBOX : Transaction non remboursable");
                }
                let wanted = amount.unwrap_or(t.amount - t.refunded);
                if wanted == 0 || wanted > t.amount - t.refunded {
                    return fail("00011", "PAYBOX : Montant incorrect");
                }
                t.refunded += wanted;
                t.state = TxState::Refunded;
                ("00000".into(), ok.into(), Some(t.clone()), Vec::new())
            }
            _ => {
                if !matches!(t.state, TxState::Authorized | TxState::Captured) {
                    return fail("00002", "PAYBOX : Transaction non annulable");
                }
                t.state = TxState::Cancelled;
                ("00000".into(), ok.into(), Some(t.clone()), Vec::new())
            }
        }
    })
}

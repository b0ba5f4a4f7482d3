//! The checks of a payment page request: merchant, MAC, fields, 3-D Secure XML.

use super::hmac::verify_request_hmac;
use super::state::PayboxSession;
use crate::amount::format_amount;
use crate::extract::Pairs;
use crate::instalments::{self, Plan, Row};
use crate::notify::check_callback_url;
use crate::random_hex;
use crate::state::BankState;

pub(super) fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// A refusal by the page, shown as the bank's error page.
pub(super) struct PageError {
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) detail: &'static str,
}

impl PageError {
    fn new(code: &'static str, detail: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail,
        }
    }

    /// `00004`: a field the bank cannot accept.
    fn invalid(message: impl Into<String>) -> Self {
        Self::new("00004", "field_invalid", message)
    }
}

fn check_xml(name: &str, value: &str, required: &[&str]) -> Result<(), PageError> {
    let mut reader = quick_xml::Reader::from_str(value);
    let mut seen: Vec<String> = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                seen.push(e.name().as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(quick_xml::events::Event::Empty(e)) => {
                seen.push(e.name().as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(_) => {
                return Err(PageError::invalid(format!("{name} : XML mal formé"),
                ));
            }
        }
        if seen.len() > 200 {
            return Err(PageError::invalid(format!("{name} : XML trop long"),
            ));
        }
    }
    if depth != 0 {
        return Err(PageError::invalid(format!("{name} : XML mal formé"),
        ));
    }
    for r in required {
        if !seen.iter().any(|s| s == r) {
            return Err(PageError::invalid(format!("{name} : élément {r} manquant"),
            ));
        }
    }
    Ok(())
}

fn parse_retour(v: &str) -> Result<Vec<(String, char)>, PageError> {
    let bad = || PageError::invalid("PBX_RETOUR invalide");
    let mut out = Vec::new();
    for part in v.split(';').filter(|p| !p.is_empty()) {
        let (name, letter) = part.split_once(':').ok_or_else(bad)?;
        let mut chars = letter.chars();
        let (Some(l), None) = (chars.next(), chars.next()) else {
            return Err(bad());
        };
        if name.is_empty()
            || name.len() > 32
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(bad());
        }
        out.push((name.to_owned(), l));
    }
    if out.last().is_none_or(|(_, l)| *l != 'K')
        || out.iter().filter(|(_, l)| *l == 'K').count() != 1
    {
        return Err(PageError::invalid("PBX_RETOUR : la signature K doit être la dernière variable",
        ));
    }
    Ok(out)
}

/// Authenticates and checks a page request; returns the session to create.
pub(super) fn check_request(
    state: &BankState,
    fields: &Pairs,
) -> Result<PayboxSession, PageError> {
    let mut names: Vec<&str> = fields.as_slice().iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(PageError::invalid("variable en double",
        ));
    }
    let site = fields.text("PBX_SITE");
    let rang = fields.text("PBX_RANG");
    let ident = fields.text("PBX_IDENTIFIANT");
    let merchant = state
        .config()
        .paybox_merchants
        .iter()
        .find(|m| {
            m.site == site && same_number(&m.rang, rang) && same_number(&m.identifiant, ident)
        })
        .ok_or_else(|| {
            PageError::new(
                "00006",
                "unknown_merchant",
                "Accès refusé : site, rang ou identifiant incorrect",
            )
        })?;
    let latin1 = merchant.latin1;
    if let Err(e) = verify_request_hmac(fields.as_slice(), merchant.hmac_key_hex.expose()) {
        tracing::info!(site, rang, reason = %e, "mock bank refused a Paybox request MAC");
        return Err(PageError::new("00006", "hmac_refused", "Accès refusé"));
    }
    for required in [
        "PBX_TOTAL",
        "PBX_DEVISE",
        "PBX_CMD",
        "PBX_PORTEUR",
        "PBX_RETOUR",
        "PBX_TIME",
    ] {
        if fields.get(required).is_none_or(str::is_empty) {
            return Err(PageError::new(
                "00004",
                "field_missing",
                format!("variable manquante : {required}"),
            ));
        }
    }
    let total = fields.text("PBX_TOTAL");
    let amount = if total.len() <= 10 && total.bytes().all(|b| b.is_ascii_digit()) {
        total.parse::<u64>().ok()
    } else {
        None
    }
    .filter(|a| *a > 0)
    .ok_or_else(|| PageError::new("00011", "field_invalid", "PBX_TOTAL : montant incorrect"))?;
    let currency = fields.text("PBX_DEVISE");
    if !matches!(
        currency,
        "978"
            | "840"
            | "826"
            | "756"
            | "124"
            | "036"
            | "392"
            | "752"
            | "208"
            | "578"
            | "985"
            | "203"
    ) {
        return Err(PageError::new(
            "00010",
            "field_invalid",
            "PBX_DEVISE : devise inconnue",
        ));
    }
    let reference = fields.text("PBX_CMD");
    if reference.chars().count() > 250 {
        return Err(PageError::invalid("PBX_CMD trop long",
        ));
    }
    let email = fields.text("PBX_PORTEUR");
    let email_ok = (6..=80).contains(&email.len())
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !email.contains(char::is_whitespace);
    if !email_ok {
        return Err(PageError::invalid("PBX_PORTEUR : adresse e-mail invalide",
        ));
    }
    let retour = parse_retour(fields.text("PBX_RETOUR"))?;
    let ipn_post = match fields.get("PBX_RUF1") {
        None | Some("GET") => false,
        Some("POST") => true,
        Some(_) => {
            return Err(PageError::invalid("PBX_RUF1 : GET ou POST",
            ));
        }
    };
    let mut urls = Vec::new();
    for name in [
        "PBX_EFFECTUE",
        "PBX_REFUSE",
        "PBX_ANNULE",
        "PBX_ATTENTE",
        "PBX_REPONDRE_A",
    ] {
        let url =
            match fields.get(name) {
                Some(u) => Some(check_callback_url(u).map(|_| u.to_owned()).map_err(|e| {
                    PageError::invalid(format!("{name} : {e}"))
                })?),
                None => None,
            };
        urls.push(url);
    }
    match (fields.get("PBX_SHOPPINGCART"), fields.get("PBX_BILLING")) {
        (Some(cart), Some(billing)) => {
            check_xml("PBX_SHOPPINGCART", cart, &["shoppingcart", "totalQuantity"])?;
            check_xml(
                "PBX_BILLING",
                billing,
                &[
                    "Billing",
                    "Address",
                    "FirstName",
                    "LastName",
                    "Address1",
                    "ZipCode",
                    "City",
                    "CountryCode",
                ],
            )?;
        }
        (cart, billing) if state.config().require_3ds_xml => {
            let missing = if cart.is_none() {
                "PBX_SHOPPINGCART"
            } else {
                "PBX_BILLING"
            };
            let _ = billing;
            return Err(PageError::new(
                "00004",
                "field_missing",
                format!("variable manquante : {missing}"),
            ));
        }
        (Some(cart), None) => check_xml("PBX_SHOPPINGCART", cart, &["shoppingcart"])?,
        (None, Some(billing)) => check_xml("PBX_BILLING", billing, &["Billing"])?,
        (None, None) => {}
    }
    let error_code_test = fields.get("PBX_ERRORCODETEST")
        .filter(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned);
    let plan = plan(state, fields, amount, currency)?;
    let [effectue, refuse, annule, attente, repondre_a]: [Option<String>; 5] =
        urls.try_into().unwrap_or_default();
    Ok(PayboxSession {
        id: random_hex(16),
        site: site.to_owned(),
        rang: rang.to_owned(),
        reference: reference.to_owned(),
        amount,
        currency: currency.to_owned(),
        retour,
        ipn_post,
        effectue,
        refuse,
        annule,
        attente,
        repondre_a,
        challenge_wanted: fields.get("PBX_SOUHAITAUTHENT") == Some("04"),
        authorize_only: fields.get("PBX_AUTOSEULE") == Some("O"),
        error_code_test,
        attempts: 0,
        finished: false,
        numappel: 0,
        latin1,
        awaiting_challenge: None,
        returned: None,
        created_order: 0,
        plan,
        instalment: 1,
        paid: false,
    })
}

/// The later instalments `PBX_2MONTn` (minor units) on `PBX_DATEn` (`DD/MM/YYYY`), n from 1
/// to 3 without gaps, after the first (`PBX_TOTAL`, today); `PBX_DATEVALMAX` is `YYMM`.
fn plan(
    state: &BankState,
    fields: &Pairs,
    first: u64,
    currency: &str,
) -> Result<Option<Plan>, PageError> {
    let bad = |what: &str| PageError::invalid(format!("{what} : échéancier incorrect"));
    if fields
        .get("PBX_DATEVALMAX")
        .is_some_and(|v| v.len() != 4 || !v.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("PBX_DATEVALMAX"));
    }
    let today = state
        .now()
        .in_tz("Europe/Paris")
        .map_err(|_| bad("PBX_TIME"))?
        .date();
    let shown = |minor| format_amount(minor, currency);
    let mut rows = vec![Row {
        number: 1,
        due: today,
        day: today.strftime("%d/%m/%Y").to_string(),
        amount: first,
        written: first.to_string(),
        shown: shown(first),
    }];
    for n in 1..=3u8 {
        let (mont, date) = (format!("PBX_2MONT{n}"), format!("PBX_DATE{n}"));
        match (fields.get(&mont), fields.get(&date)) {
            (None, None) => {}
            (Some(m), Some(d)) if usize::from(n) == rows.len() => {
                let amount = (m.len() <= 10 && m.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| m.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| bad(&mont))?;
                let due = instalments::day(d).ok_or_else(|| bad(&date))?;
                rows.push(Row {
                    number: n + 1,
                    due,
                    day: d.to_owned(),
                    amount,
                    written: m.to_owned(),
                    shown: shown(amount),
                });
            }
            _ => return Err(bad(&mont)),
        }
    }
    if rows.len() == 1 {
        return Ok(None);
    }
    let total = rows.iter().map(|r| r.amount).sum();
    Plan::checked(rows, total, 4)
        .map(Some)
        .map_err(|(_, message)| PageError::invalid(message))
}

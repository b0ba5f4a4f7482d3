//! The checks of the shop's `vads_*` form (spec B.3, B.4, B.5): shop, mode, signature, then
//! each field, each failure with the platform's error code and the faulty field.

use super::signing;
use super::state::LyraSession;
use crate::amount::format_amount;
use crate::instalments::{Plan, Row};
use crate::extract::Pairs;
use crate::notify::check_callback_url;
use crate::state::BankState;

/// Currencies (ISO 4217 numeric) the mock's shops take (the multi-currency option on).
pub const CURRENCIES: &[&str] = &[
    "978", "840", "826", "756", "124", "036", "392", "752", "208", "578", "985", "203", "048",
    "414", "788",
];
/// The largest `vads_amount` accepted (12 digits).
pub const MAX_AMOUNT: u64 = 999_999_999_999;

/// A refused form: the platform's error code, the field and a message in French.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) code: &'static str,
    pub(super) field: &'static str,
    pub(super) message: String,
}

fn refuse(code: &'static str, field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        field,
        message: message.into(),
    }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a form; the page session it opens (without id) or the refusal.
/// `vads_payment_config`: `SINGLE`, or `MULTI_EXT:YYYYMMDD=<minor>;…` whose first day is
/// today and whose amounts sum to `vads_amount` (2 to 12 instalments). `MULTI` (equal
/// instalments a period apart) is not simulated.
fn plan(
    state: &BankState,
    config: &str,
    total: u64,
    currency: &str,
) -> Result<Option<Plan>, Refusal> {
    if config == "SINGLE" {
        return Ok(None);
    }
    let bad = |message: &'static str| refuse("07", "vads_payment_config", message);
    let list = config
        .strip_prefix("MULTI_EXT:")
        .ok_or_else(|| bad("SINGLE ou MULTI_EXT:AAAAMMJJ=montant;… attendu"))?;
    let today = state.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let mut rows = Vec::new();
    for (i, item) in list.split(';').enumerate() {
        let (day, minor) = item.split_once('=').ok_or_else(|| bad("AAAAMMJJ=montant attendu"))?;
        let due = (digits(day, 8))
            .then(|| jiff::civil::Date::strptime("%Y%m%d", day).ok())
            .flatten()
            .ok_or_else(|| bad("date AAAAMMJJ invalide"))?;
        let amount = (!minor.is_empty() && minor.len() <= 12 && minor.bytes().all(|b| b.is_ascii_digit()))
            .then(|| minor.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| bad("montant entier attendu"))?;
        rows.push(Row {
            number: u8::try_from(i + 1).map_err(|_| bad("trop d'échéances"))?,
            due,
            day: due.strftime("%d/%m/%Y").to_string(),
            amount,
            written: minor.to_owned(),
            shown: format_amount(amount, currency),
        });
    }
    if rows.first().is_none_or(|r| r.due < today) {
        return Err(bad("la première échéance est due aujourd'hui"));
    }
    Plan::checked(rows, total, 12)
        .map(Some)
        .map_err(|(_, message)| refuse("07", "vads_payment_config", message))
}

pub(super) fn check_request(state: &BankState, form: &Pairs) -> Result<LyraSession, Refusal> {
    let fields = form.as_slice();
    let get = |n: &str| form.get(n).unwrap_or_default();
    let mut names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(refuse("00", "signature", format!("le champ {} est en double", w[0])));
    }
    let site_id = get("vads_site_id");
    let Some(shop) = state.lyra().shop(site_id) else {
        return Err(refuse("02", "vads_site_id", "boutique inconnue"));
    };
    let production = match get("vads_ctx_mode") {
        "TEST" => false,
        "PRODUCTION" => true,
        _ => return Err(refuse("11", "vads_ctx_mode", "TEST ou PRODUCTION attendu")),
    };
    let signature = get("signature");
    if signature.is_empty() {
        return Err(refuse("70", "signature", "signature absente"));
    }
    let key = if production {
        shop.production_key.expose()
    } else {
        shop.test_key.expose()
    };
    if !signing::verify(fields, key, shop.sha1, signature) {
        return Err(refuse("00", "signature", "signature invalide"));
    }
    if get("vads_version") != "V2" {
        return Err(refuse("01", "vads_version", "V2 attendu"));
    }
    let trans_date = get("vads_trans_date");
    if !digits(trans_date, 14) {
        return Err(refuse("04", "vads_trans_date", "AAAAMMJJHHMMSS attendu (UTC)"));
    }
    let trans_id = get("vads_trans_id");
    if trans_id.len() != 6 || !trans_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(refuse("03", "vads_trans_id", "6 caractères alphanumériques attendus"));
    }
    if trans_id.starts_with('9') && digits(trans_id, 6) {
        return Err(refuse("03", "vads_trans_id", "900000 à 999999 sont réservés à la plateforme"));
    }
    let amount = get("vads_amount");
    let amount = (!amount.is_empty() && amount.len() <= 12 && amount.bytes().all(|b| b.is_ascii_digit()))
        .then(|| amount.parse::<u64>().ok())
        .flatten()
        .filter(|a| (1..=MAX_AMOUNT).contains(a))
        .ok_or_else(|| refuse("09", "vads_amount", "montant entier positif attendu"))?;
    let currency = get("vads_currency");
    if !CURRENCIES.contains(&currency) {
        return Err(refuse("10", "vads_currency", "devise non acceptée par la boutique"));
    }
    for (name, value) in [
        ("vads_action_mode", "INTERACTIVE"),
        ("vads_page_action", "PAYMENT"),
    ] {
        if get(name) != value {
            return Err(refuse("07", name, format!("{value} attendu")));
        }
    }
    let plan = plan(state, get("vads_payment_config"), amount, currency)?;
    let url = |name: &'static str| -> Result<Option<String>, Refusal> {
        match form.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => check_callback_url(v)
                .map(|u| Some(u.to_string()))
                .map_err(|e| refuse("34", name, e)),
        }
    };
    // The platform's key: site + day of vads_trans_date + trans id, case ignored (spec B.4).
    let day = trans_date.get(..8).unwrap_or_default();
    let key = format!("{site_id}|{day}|{}", trans_id.to_ascii_lowercase());
    let session = LyraSession {
        id: String::new(),
        site_id: site_id.to_owned(),
        production,
        reference: format!("{day}-{trans_id}"),
        request: fields
            .iter()
            .filter(|(n, _)| n.starts_with("vads_"))
            .cloned()
            .collect(),
        amount,
        currency: currency.to_owned(),
        url_check: url("vads_url_check")?,
        url_success: url("vads_url_success")?,
        url_refused: url("vads_url_refused")?,
        url_cancel: url("vads_url_cancel")?,
        url_return: url("vads_url_return")?,
        return_mode: match get("vads_return_mode") {
            "" | "NONE" => "NONE",
            "GET" => "GET",
            "POST" => "POST",
            _ => return Err(refuse("48", "vads_return_mode", "NONE, GET ou POST attendu")),
        }
        .to_owned(),
        attempts: 0,
        finished: false,
        awaiting_challenge: None,
        created_order: 0,
        plan,
        sequence: 1,
        paid: false,
    };
    if !state.lyra().with(|d| d.used.insert(key)) {
        return Err(refuse("03", "vads_trans_id", "identifiant de transaction déjà utilisé ce jour"));
    }
    Ok(session)
}


//! `PaymentRequest` → the fields of form version 3.0 (spec C.3), the bank reference and the
//! provider data: pure (no key, no I/O), every bound checked here so that an impossible
//! request is an [`ProviderError::InvalidRequest`] before any redirect.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use tpe_core::instalments::{Schedule, format_day};
use tpe_core::{
    BankReference, FormRules, Lang, PaymentRequest, ProviderData, ProviderError, Timestamp,
    ValidatedCustomer,
};

use crate::Monetico;
use crate::config::Merchant;

/// The largest amount taken, in minor units: 10 digits (the bank's own limit is not published;
/// spec C.9).
pub const MAX_AMOUNT: u64 = 9_999_999_999;
/// The longest `texte-libre` sent, in characters (the bank takes 3200).
pub const MAX_TEXTE_LIBRE: usize = 255;
/// The longest e-mail address, in bytes.
pub const MAX_MAIL: usize = 254;
/// The longest return URL, in bytes (spec C.3).
pub const MAX_URL: usize = 2048;
/// The length of a bank reference: `YYMMDD` and a 6-digit number of the day.
pub const BANK_REFERENCE_LEN: usize = 12;
/// The most bank references of one UTC day.
pub const MAX_DAILY_SEQUENCE: u64 = 999_999;

/// The bank reference of the `nonce`-th checkout of the UTC day of `now`: `YYMMDD` then the
/// number on 6 digits, 12 characters of `[0-9]` (within the bank's `[A-Za-z0-9]{1,12}`).
///
/// ```
/// let now: jiff::Timestamp = "2025-01-01T23:59:00Z".parse().unwrap();
/// assert_eq!(tpe_monetico::bank_reference_of(now, 42).unwrap().as_str(), "250101000042");
/// assert!(tpe_monetico::bank_reference_of(now, 1_000_000).is_err());
/// ```
///
/// # Errors
/// [`ProviderError::InvalidRequest`] on `reference` past [`MAX_DAILY_SEQUENCE`] a day.
pub fn bank_reference_of(now: Timestamp, nonce: u64) -> Result<BankReference, ProviderError> {
    if nonce > MAX_DAILY_SEQUENCE {
        return Err(RULES.invalid(
            "reference",
            format!("more than {MAX_DAILY_SEQUENCE} payments in one UTC day"),
        ));
    }
    let day = now
        .to_zoned_datetime(TimeZone::UTC)
        .strftime("%y%m%d")
        .to_string();
    BankReference::parse(&format!("{day}{nonce:06}"))
        .map_err(|e| RULES.invalid("reference", e.to_string()))
}

/// The order date of `now` (`DD/MM/YYYY:HH:MM:SS`), in French time: the bank's kits use the
/// server's local time in France (spec C.3 says the zone is unsure).
pub(crate) fn order_date(now: Timestamp) -> String {
    tpe_core::instalments::french_time(now)
        .strftime("%d/%m/%Y:%H:%M:%S")
        .to_string()
}

/// The provider data of a checkout: the order date, which the bank names a payment by in its
/// back office and its query APIs together with the reference.
pub(crate) fn provider_data(date: &str) -> Result<ProviderData, ProviderError> {
    ProviderData::new(format!("date={date}")).map_err(|e| RULES.invalid("date", e.to_string()))
}

/// The 3-D Secure v2 data, as `contexte_commande` carries it (base64 of this JSON).
#[derive(Serialize)]
struct Contexte<'a> {
    billing: Address<'a>,
    shipping: Address<'a>,
    client: Client<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Address<'a> {
    first_name: &'a str,
    last_name: &'a str,
    address_line1: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line2: Option<&'a str>,
    city: &'a str,
    postal_code: &'a str,
    country: &'a str,
    email: &'a str,
    phone: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Client<'a> {
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
    phone: &'a str,
}

/// `contexte_commande`: base64 of the UTF-8 JSON of the customer's billing (and, the shop
/// having no other, shipping) address (spec C.3).
pub(crate) fn contexte_commande(customer: &ValidatedCustomer) -> Result<String, ProviderError> {
    // `+33-612345678`: the phone style the bank's documentation shows.
    let phone = format!(
        "+{}-{}",
        customer.phone.calling_code(),
        customer.phone.national()
    );
    let a = &customer.address;
    let address = Address {
        first_name: &customer.first_name,
        last_name: &customer.last_name,
        address_line1: &a.line1,
        address_line2: a.line2.as_deref(),
        city: &a.city,
        postal_code: &a.postcode,
        country: a.country.alpha2(),
        email: &customer.email,
        phone: &phone,
    };
    let contexte = Contexte {
        shipping: Address { ..address },
        billing: address,
        client: Client {
            first_name: &customer.first_name,
            last_name: &customer.last_name,
            email: &customer.email,
            phone: &phone,
        },
    };
    let json = serde_json::to_vec(&contexte)
        .map_err(|e| RULES.invalid("contexte_commande", e.to_string()))?;
    Ok(STANDARD.encode(json))
}

/// `montant`: the amount with `.` and its currency, e.g. `42.00EUR`, `1500JPY`.
pub(crate) fn montant(amount: tpe_core::Amount) -> String {
    format!(
        "{}{}",
        amount.to_decimal_string('.'),
        amount.currency().alpha()
    )
}

/// The amount checks and the field errors of the form.
const RULES: FormRules = FormRules::new(Monetico::ID, MAX_AMOUNT, ("currency", "amount"));

/// The redirect's fields, without the MAC, every one non-empty (spec C.3: empty fields are
/// not posted).
pub(crate) fn fields(
    merchant: &Merchant,
    request: &PaymentRequest,
    date: &str,
    today: Date,
) -> Result<Vec<(String, String)>, ProviderError> {
    RULES.amount(request, merchant.currency)?;
    let amount = request.amount;
    let reference = request.bank_reference.as_str();
    if !(1..=BANK_REFERENCE_LEN).contains(&reference.len())
        || !reference.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(RULES.invalid("reference", "the bank takes [A-Za-z0-9]{1,12}".to_owned()));
    }
    let mail = request.customer.email.as_str();
    if mail.len() > MAX_MAIL || !mail.is_ascii() {
        return Err(RULES.invalid("mail", format!("must be ASCII, at most {MAX_MAIL} bytes")));
    }
    let ok = merchant
        .url_retour_ok
        .as_ref()
        .unwrap_or(&request.urls.accepted);
    let err = merchant
        .url_retour_err
        .as_ref()
        .unwrap_or(&request.urls.refused);
    for (name, url) in [("url_retour_ok", ok), ("url_retour_err", err)] {
        if url.as_str().len() > MAX_URL {
            return Err(RULES.invalid(name, format!("longer than {MAX_URL} bytes")));
        }
    }
    // Signed values stay ASCII, so that both encodings of the MAC string agree (spec C.4 step
    // 4 a): the description is transliterated.
    let texte: String = deunicode::deunicode(&request.description)
        .chars()
        .filter(|c| !c.is_ascii_control())
        .take(MAX_TEXTE_LIBRE)
        .collect();
    let lgue = merchant.language.clone().unwrap_or_else(|| {
        match request.language {
            Lang::En => "EN",
            _ => "FR",
        }
        .to_owned()
    });
    let mut fields = vec![
        ("TPE", merchant.tpe.clone()),
        ("contexte_commande", contexte_commande(&request.customer)?),
        ("date", date.to_owned()),
        ("lgue", lgue),
        ("mail", mail.to_owned()),
        ("montant", montant(amount)),
        ("reference", reference.to_owned()),
        ("societe", merchant.societe.clone()),
        ("texte-libre", texte),
        ("url_retour_err", err.as_str().to_owned()),
        ("url_retour_ok", ok.as_str().to_owned()),
        ("version", "3.0".to_owned()),
    ];
    fields.retain(|(_, v)| !v.is_empty());
    let mut fields: Vec<(String, String)> = fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let limits = Some(merchant.instalments);
    if let Some(schedule) = request.schedule_within(&Monetico::ID, limits, today, "nbrech")? {
        fields.extend(schedule_fields(schedule));
        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(fields)
}

/// A payment in instalments (spec C.3): `nbrech`, then `dateechN` (`DD/MM/YYYY`) and
/// `montantechN` (like `montant`) of each; `montant` stays the total.
fn schedule_fields(schedule: &Schedule) -> Vec<(String, String)> {
    let mut fields = vec![("nbrech".to_owned(), schedule.count().to_string())];
    for (i, instalment) in schedule.instalments().iter().enumerate() {
        let n = i + 1;
        fields.push((format!("dateech{n}"), format_day(instalment.due)));
        fields.push((format!("montantech{n}"), montant(instalment.amount)));
    }
    fields
}

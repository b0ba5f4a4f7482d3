//! The CGI2 return (spec C.5): decoded strictly, verified over the MAC string, *then* read; and
//! the bank's acknowledgement (spec C.6).
//!
//! Monetico POSTs a form to the confirmation URL registered on the TPE (its kit also takes a
//! GET): `TPE`, `date`, `montant`, `reference`, `texte-libre`, `code-retour`, `motifrefus`,
//! card and 3-D Secure fields, and `MAC` over all the others.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use tpe_core::form::{Form, FormError, FormLimits};
use tpe_core::{
    Ack, Amount, BankReference, CardSummary, Currency, Handled, ProviderError, ThreeDs,
    ThreeDsStatus, VerifiedNotification,
};

use crate::config::{MacFormat, Merchant};
use crate::sign::{MAC_FIELD, MacKey, mac_string_of_sorted};
use crate::{Monetico, codes, legacy};

/// The body for a return taken into account (`cdr=0`), with the final line feed.
pub const RECEIVED: &str = "version=2\ncdr=0\n";
/// The body for a return not taken into account (`cdr=1`): the bank sends it again.
pub const NOT_RECEIVED: &str = "version=2\ncdr=1\n";

/// The longest `montant` read (`9999999999.99EUR` is 16).
const MAX_MONTANT: usize = 20;
/// The longest `date` read (`DD/MM/YYYY_a_HH:MM:SS` is 21).
const MAX_DATE: usize = 32;
/// The longest `authentification` decoded (base64 of a small JSON object).
const MAX_AUTHENTIFICATION: usize = 8 * 1024;

/// Decodes, verifies, then reads a return.
pub(crate) fn verify(
    key: &MacKey,
    merchant: &Merchant,
    raw: &[u8],
) -> Result<VerifiedNotification, ProviderError> {
    // Decoding is structure only (escapes, UTF-8, bounds); no value is looked at before the
    // MAC verified, except the MAC itself.
    let form = Form::parse(raw, FormLimits::NOTIFICATION).map_err(malformed_form)?;
    let mut pairs: Vec<(&str, &str)> = form
        .fields()
        .iter()
        .map(|f| (f.name.as_ref(), f.value.as_ref()))
        .collect();
    // Sorted once: a repeated field (it would make the MAC string ambiguous) is found next to
    // its twin and refused before verifying, and the sorted MAC string is built from it.
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if let Some(twin) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(malformed_form(FormError::Duplicate {
            name: twin[0].0.chars().take(64).collect(),
        }));
    }
    let mac = form
        .last(MAC_FIELD)
        .ok_or_else(|| ProviderError::bad_signature(&Monetico::ID))?;
    match merchant.mac_format {
        MacFormat::Legacy => {
            key.verify_text(&legacy::response_string(&merchant.tpe, &pairs), &mac.value)?
        }
        _ => key.verify_text(&mac_string_of_sorted(&pairs), &mac.value)?,
    };
    read(&Fields(&pairs), merchant)
}

/// The verified fields, sorted by name and without repeats: looked up by binary search.
struct Fields<'f, 'a>(&'f [(&'a str, &'a str)]);

impl<'a> Fields<'_, 'a> {
    fn optional(&self, name: &str) -> Option<&'a str> {
        self.0
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| self.0[i].1)
    }

    fn required(&self, name: &str) -> Result<&'a str, ProviderError> {
        self.optional(name).ok_or_else(|| {
            malformed_form(FormError::Missing {
                name: name.to_owned(),
            })
        })
    }
}

/// Reads verified fields.
fn read(
    fields: &Fields<'_, '_>,
    merchant: &Merchant,
) -> Result<VerifiedNotification, ProviderError> {
    let required = |name| fields.required(name);
    let optional = |name| Ok::<_, ProviderError>(fields.optional(name));
    let malformed = |what: &'static str| ProviderError::malformed(&Monetico::ID, what);

    // The kit flags a return for another terminal as an anomaly (spec C.5).
    if required("TPE")? != merchant.tpe {
        return Err(malformed("TPE is another terminal's"));
    }
    let reference = required("reference")?;
    if reference.is_empty()
        || reference.len() > 64
        || !reference.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(malformed(
            "reference must be 1 to 64 characters [A-Za-z0-9]",
        ));
    }
    let reference =
        BankReference::parse(reference).map_err(|_| malformed("reference is not a reference"))?;
    let date = required("date")?;
    if date.is_empty() || date.len() > MAX_DATE || date.chars().any(char::is_control) {
        return Err(malformed("date must have 1 to 32 characters"));
    }
    let code_retour = required("code-retour")?;
    let (instalment, _) = codes::split_instalment(code_retour);
    // A return of a payment in instalments gives the instalment's amount in `montantech`;
    // `montant` stays the total (spec C.5).
    let montantech = optional("montantech")?.filter(|m| !m.is_empty());
    let amount = parse_montant(montantech.unwrap_or(required("montant")?)).ok_or_else(|| {
        malformed("montant(ech) must be digits, '.', up to 2 decimals and a currency")
    })?;
    let outcome = codes::outcome(code_retour, optional("motifrefus")?, optional("numauto")?);

    // Each return of one reference has its own date and verdict: a later `paiement` after an
    // `Annulation` is another bank transaction, a resent return the same one.
    let transaction = format!(
        "{date} {}",
        code_retour.chars().take(32).collect::<String>()
    );
    let mut n = VerifiedNotification::new(Monetico::ID, reference, transaction, outcome, amount);
    // The first instalment's return is a plain `paiement` with its `montantech`.
    if let Some(number) = instalment.or(montantech.map(|_| 1)) {
        n = n.with_instalment(number);
    }
    if let Some(card) = card(fields) {
        n = n.with_card(card);
    }
    if let Some(three_ds) = optional("authentification")?.and_then(three_ds) {
        n = n.with_three_ds(three_ds);
    }
    Ok(n)
}

/// `montant`: `42`, `42.4` or `42.42`, then the ISO 4217 code (`42.42EUR`).
fn parse_montant(text: &str) -> Option<Amount> {
    if text.len() > MAX_MONTANT || text.len() < 4 || !text.is_ascii() {
        return None;
    }
    let (number, alpha) = text.split_at(text.len() - 3);
    let currency = Currency::from_alpha(alpha).ok()?;
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 2 {
        return None;
    }
    Amount::parse(number, currency).ok()
}

/// The masked card: brand, BIN (`bincb`, or the leading digits of `cbmasquee`), the trailing
/// digits of `cbmasquee`, expiry `vld` (`MMYY` → `YYMM`), issuer country `originecb`.
fn card(fields: &Fields<'_, '_>) -> Option<CardSummary> {
    let optional = |name| fields.optional(name);
    let masked = optional("cbmasquee");
    let leading = masked.map(|m| {
        let end = m.find(|c: char| !c.is_ascii_digit()).unwrap_or(m.len());
        &m[..end]
    });
    // Trimming ASCII digits keeps a char boundary whatever precedes them (a byte offset after
    // the last non-digit would fall inside a multi-byte character).
    let trailing = masked
        .filter(|m| m.contains(|c: char| !c.is_ascii_digit()))
        .map(|m| &m[m.trim_end_matches(|c: char| c.is_ascii_digit()).len()..]);
    let bin = optional("bincb").or(leading);
    let expiry = optional("vld")
        .filter(|v| v.len() == 4 && v.is_ascii())
        .map(|v| format!("{}{}", &v[2..], &v[..2]));
    let brand = optional("brand");
    let country = optional("originecb");
    if [brand, bin, trailing, country].iter().all(Option::is_none) && expiry.is_none() {
        return None;
    }
    Some(CardSummary::masked(
        brand,
        bin,
        trailing,
        expiry.as_deref(),
        country,
    ))
}

/// The part of `authentification` the shop keeps (spec C.5); borrowed from the decoded JSON
/// where it has no escapes.
#[derive(Deserialize)]
struct Authentification<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    details: Option<Details<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Details<'a> {
    #[serde(borrow)]
    liability_shift: Option<Cow<'a, str>>,
}

/// `authentification`: base64 of a JSON object; absent, empty or `null` for a payment without
/// 3-D Secure. Unreadable data is dropped, not an error: the return is authentic, and its
/// verdict does not depend on it.
fn three_ds(encoded: &str) -> Option<ThreeDs> {
    if encoded.is_empty() || encoded.len() > MAX_AUTHENTIFICATION {
        return None;
    }
    let json = STANDARD.decode(encoded.trim()).ok()?;
    let a: Authentification<'_> =
        serde_json::from_slice::<Option<Authentification<'_>>>(&json).ok()??;
    let status = a.status.as_deref().and_then(|s| match s {
        "authenticated" => Some(ThreeDsStatus::Authenticated),
        "authentication_attempted" => Some(ThreeDsStatus::Attempted),
        "not_authenticated" | "authentication_rejected" => Some(ThreeDsStatus::NotAuthenticated),
        "authentication_not_performed" | "not_enrolled" | "disabled" | "error" => {
            Some(ThreeDsStatus::Unavailable)
        }
        _ => None,
    });
    let liability_shift =
        a.details
            .and_then(|d| d.liability_shift)
            .and_then(|l| match l.as_ref() {
                "Y" => Some(true),
                "N" | "NA" => Some(false),
                _ => None,
            });
    let version = a
        .version
        .map(|v| v.chars().filter(|c| !c.is_control()).take(16).collect());
    Some(ThreeDs {
        status,
        liability_shift,
        version,
    })
}

fn malformed_form(e: FormError) -> ProviderError {
    ProviderError::malformed_form(&Monetico::ID, &e)
}

/// The bank reads the body: `cdr=0` once recorded (whatever the verdict), `cdr=1` otherwise,
/// with a status that makes it retry whatever was not taken into account.
pub(crate) fn answer(handled: &Handled<'_>) -> Ack {
    Ack::receipt(handled, RECEIVED, NOT_RECEIVED)
}

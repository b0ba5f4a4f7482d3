//! `PaymentRequest` → the bank's ordered wire fields, the bank reference and the provider data:
//! pure (no key, no I/O), every bound checked here so that an impossible request is an
//! [`ProviderError::InvalidRequest`] before any redirect.

use tpe_core::{
    BankReference, FormRules, Lang, PaymentRequest, ProviderData, ProviderError, Timestamp,
};

use crate::Skeleton;
use crate::config::Merchant;

/// The largest amount the bank takes, in minor units (10 digits).
pub const MAX_AMOUNT: u64 = 9_999_999_999;
/// The longest description the bank shows; longer ones are cut.
pub const MAX_DESCRIPTION: usize = 64;
/// The longest e-mail address and URL the bank takes, in bytes.
pub const MAX_TEXT: usize = 512;
/// The length of a bank reference: the bank takes `[A-Za-z0-9]{1,12}`.
pub const BANK_REFERENCE_LEN: usize = 12;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The bank reference of a nonce: the nonce in base 62 on 12 characters. One-to-one
/// (62¹¹ > 2⁶⁴), so two nonces never give the same reference.
pub(crate) fn bank_reference(nonce: u64) -> Result<BankReference, ProviderError> {
    let mut out = [b'0'; BANK_REFERENCE_LEN];
    let mut n = nonce;
    for slot in out.iter_mut().rev() {
        *slot = BASE62[usize::try_from(n % 62).unwrap_or_default()];
        n /= 62;
    }
    let text = std::str::from_utf8(&out).unwrap_or_default();
    BankReference::parse(text).map_err(|e| RULES.invalid("reference", e.to_string()))
}

/// The bank's date of a transaction (`YYYYMMDD`, UTC): the bank names a payment by reference
/// *and* date, so the date is what `prepare` gives the engine to keep.
pub(crate) fn transaction_date(now: Timestamp) -> String {
    now.strftime("%Y%m%d").to_string()
}

/// The provider data of a checkout prepared at `now`.
pub(crate) fn provider_data(now: Timestamp) -> Result<ProviderData, ProviderError> {
    ProviderData::new(transaction_date(now)).map_err(|e| RULES.invalid("date", e.to_string()))
}

/// The amount checks and the field errors of the form.
const RULES: FormRules = FormRules::new(Skeleton::ID, MAX_AMOUNT, ("currency", "amount"));

/// The redirect's fields in the bank's order, without the signature.
pub(crate) fn fields(
    merchant: &Merchant,
    request: &PaymentRequest,
    now: Timestamp,
) -> Result<Vec<(String, String)>, ProviderError> {
    RULES.amount(request, merchant.currency)?;
    let amount = request.amount;
    let urls = &request.urls;
    let texts = [
        ("email", request.customer.email.as_str()),
        ("url_notify", urls.notify.as_str()),
        ("url_accepted", urls.accepted.as_str()),
        ("url_refused", urls.refused.as_str()),
        ("url_cancelled", urls.cancelled.as_str()),
    ];
    if let Some((name, _)) = texts.iter().find(|(_, v)| v.len() > MAX_TEXT) {
        return Err(RULES.invalid(*name, format!("longer than {MAX_TEXT} bytes")));
    }
    let description: String = request
        .description
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DESCRIPTION)
        .collect();
    let lang = match request.language {
        Lang::En => "EN",
        _ => "FR",
    };
    let mut fields = vec![
        ("version", "1".to_owned()),
        ("merchant", merchant.id.clone()),
        ("reference", request.bank_reference.as_str().to_owned()),
        ("date", transaction_date(now)),
        ("amount", amount.minor().to_string()),
        ("currency", amount.currency().alpha().to_owned()),
        ("description", description),
        ("lang", lang.to_owned()),
    ];
    fields.extend(texts.map(|(name, value)| (name, value.to_owned())));
    Ok(fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect())
}

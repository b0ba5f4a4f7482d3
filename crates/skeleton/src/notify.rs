//! Notifications: decoded strictly, verified over the canonical form, *then* read; and the
//! bank's own words for every answer.
//!
//! The bank POSTs a form (or, for a retry from its back office, GETs the same query):
//! `version`, `merchant`, `reference`, `transaction`, `amount`, `currency`, `result`, optional
//! `authorization`, `card_bin`, `card_last4`, and `signature`.

use tpe_core::form::{Form, FormError, FormLimits};
use tpe_core::{
    Ack, Amount, BankReference, CardSummary, Currency, Handled, ProviderError, VerifiedNotification,
};

use crate::config::Merchant;
use crate::sign::{SIGNATURE, SigningKey};
use crate::{Skeleton, codes};

/// The bank's body for a notification taken into account.
pub const RECEIVED: &str = "version=1\ncdr=0\n";
/// The bank's body for a notification not taken into account: the bank sends it again.
pub const NOT_RECEIVED: &str = "version=1\ncdr=1\n";

/// The longest bank transaction id kept.
const MAX_TRANSACTION: usize = 32;

/// Decodes, verifies, then reads a notification.
pub(crate) fn verify(
    key: &SigningKey,
    merchant: &Merchant,
    raw: &[u8],
) -> Result<VerifiedNotification, ProviderError> {
    // Decoding is structure only (escapes, UTF-8, bounds); no value is looked at before the
    // signature verified, except the signature itself.
    let form = Form::parse(raw, FormLimits::NOTIFICATION).map_err(malformed_form)?;
    // A repeated field would make the canonical string ambiguous: refused before verifying.
    if let Some(name) = form.first_duplicate() {
        return Err(malformed_form(FormError::Duplicate {
            name: name.to_owned(),
        }));
    }
    let signature = form
        .last(SIGNATURE)
        .ok_or_else(|| ProviderError::bad_signature(&Skeleton::ID))?;
    key.verify(
        form.fields()
            .iter()
            .map(|f| (f.name.as_ref(), f.value.as_ref())),
        &signature.value,
    )?;
    read(&form, merchant)
}

/// Reads a verified form.
fn read(form: &Form<'_>, merchant: &Merchant) -> Result<VerifiedNotification, ProviderError> {
    let required = |name| form.required(name).map_err(malformed_form);
    let optional = |name| form.unique(name).map_err(malformed_form);
    let malformed = |what: &'static str| ProviderError::malformed(&Skeleton::ID, what);

    if required("merchant")? != merchant.id {
        return Err(malformed("merchant is another merchant's"));
    }
    let reference = BankReference::parse(required("reference")?)
        .map_err(|_| malformed("reference is not a bank reference"))?;
    let transaction = required("transaction")?;
    if transaction.is_empty() || transaction.chars().count() > MAX_TRANSACTION {
        return Err(malformed("transaction must have 1 to 32 characters"));
    }
    let currency = Currency::from_alpha(required("currency")?)
        .map_err(|_| malformed("currency is not an ISO 4217 code"))?;
    let minor = required("amount")?;
    let minor = (minor.len() <= 12 && minor.bytes().all(|b| b.is_ascii_digit()))
        .then(|| minor.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| malformed("amount must be 1 to 12 digits"))?;
    let amount = Amount::new(minor, currency).map_err(|_| malformed("amount is out of range"))?;
    let outcome = codes::outcome(required("result")?, optional("authorization")?);

    let mut n = VerifiedNotification::new(Skeleton::ID, reference, transaction, outcome, amount);
    let (bin, last4) = (optional("card_bin")?, optional("card_last4")?);
    if bin.is_some() || last4.is_some() {
        n = n.with_card(CardSummary::masked(None, bin, last4, None, None));
    }
    Ok(n)
}

fn malformed_form(e: FormError) -> ProviderError {
    ProviderError::malformed_form(&Skeleton::ID, &e)
}

/// The bank reads the body: `cdr=0` once processed, `cdr=1` otherwise, with a status that
/// makes it retry whatever was not taken into account.
pub(crate) fn answer(handled: &Handled<'_>) -> Ack {
    Ack::receipt(handled, RECEIVED, NOT_RECEIVED)
}

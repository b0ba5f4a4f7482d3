//! The bank accepts the prepared redirect, and refuses it once any signed field changed.

use tpe_core::Redirect;

use super::{CheckFailure, CheckResult, Verdict, open, standard_amount};
use crate::harness::Harness;

/// The bank shows its payment page for the prepared redirect, with the request's reference,
/// amount and currency.
pub async fn redirect_accepted_by_bank(h: &Harness) -> CheckResult {
    const CHECK: &str = "redirect_accepted_by_bank";
    let amount = standard_amount(h);
    let opened = open(h, CHECK, amount).await?;
    let page = &opened.page;
    if page.reference != opened.bank_reference() {
        return Err(CheckFailure::new(
            CHECK,
            format!(
                "the bank's page shows reference {:?}, the request has {}",
                page.reference, opened.request.bank_reference
            ),
        ));
    }
    if page.amount_minor != amount.minor() || page.currency != amount.currency() {
        return Err(CheckFailure::new(
            CHECK,
            format!(
                "the bank's page charges {} minor units of {}, the request is {} of {}",
                page.amount_minor,
                page.currency,
                amount.minor(),
                amount.currency()
            ),
        ));
    }
    Ok(Verdict::Passed)
}

/// Changing the value of any single field the bank authenticates makes it refuse the redirect.
pub async fn redirect_tampered_field_refused(h: &Harness) -> CheckResult {
    const CHECK: &str = "redirect_tampered_field_refused";
    let opened = open(h, CHECK, standard_amount(h)).await?;
    let signed = h.bank.signed_fields(&opened.prepared.redirect);
    if signed.is_empty() {
        return Ok(Verdict::provider_lacks(
            "signed redirect fields (the bank authenticates the session over its API)",
        ));
    }
    let mut accepted = Vec::new();
    for name in &signed {
        let mut tampered: Redirect = opened.prepared.redirect.clone();
        for (k, v) in &mut tampered.fields {
            if k == name {
                *v = change(v);
            }
        }
        if h.bank.open(&tampered).await.is_ok() {
            accepted.push(name.clone());
        }
    }
    if accepted.is_empty() {
        Ok(Verdict::Passed)
    } else {
        Err(CheckFailure::new(
            CHECK,
            format!(
                "{} still showed its payment page after these signed fields changed: {}",
                h.bank.name(),
                accepted.join(", ")
            ),
        ))
    }
}

/// The smallest change that keeps a value well-formed: the last digit or letter moved to the
/// next one, or a character appended.
fn change(v: &str) -> String {
    let mut chars: Vec<char> = v.chars().collect();
    match chars.last_mut() {
        Some(c) if c.is_ascii_digit() => *c = if *c == '9' { '0' } else { next(*c) },
        Some(c) if c.is_ascii_lowercase() => *c = if *c == 'z' { 'a' } else { next(*c) },
        Some(c) if c.is_ascii_uppercase() => *c = if *c == 'Z' { 'A' } else { next(*c) },
        _ => chars.push('1'),
    }
    chars.into_iter().collect()
}

fn next(c: char) -> char {
    char::from_u32(u32::from(c) + 1).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::change;

    #[test]
    fn changes_keep_the_shape() {
        assert_eq!(change("4321"), "4322");
        assert_eq!(change("1239"), "1230");
        assert_eq!(change("SHA512"), "SHA513");
        assert_eq!(change("http://h/notify"), "http://h/notifz");
        assert_eq!(change("<a/>"), "<a/>1");
        assert_eq!(change(""), "1");
    }
}

//! No configured secret appears in any `Debug`, `Display` or error output.

use std::error::Error as _;

use tpe_core::{
    Amount, Currency, Handled, HttpMethod, OutcomeKind, ProviderError, RawNotification,
    RefundRequest, StatusQuery, Verified,
};

use super::{CheckFailure, CheckResult, Verdict, pay, standard_amount, verify};
use crate::bank::Forgery;
use crate::fixtures;
use crate::harness::Harness;
use crate::receiver::Receiver;

/// Shortest run of a secret that counts as a leak when it appears on its own.
const WINDOW: usize = 16;

/// Every output the suite can provoke — the provider's `Debug`, the redirect, verified
/// notifications, the acknowledgement, and the `Display`, `Debug` and sources of errors from
/// forged notifications, unsupported requests, refunds and status queries — is searched for
/// each secret (case-insensitively, and for any 16-character run of a long secret).
pub async fn no_secret_in_output(h: &Harness) -> CheckResult {
    const CHECK: &str = "no_secret_in_output";
    if h.secrets.is_empty() {
        return Err(CheckFailure::new(
            CHECK,
            "the harness declares no secret: give it every key the provider is configured with",
        ));
    }
    let mut outputs: Vec<(String, String)> = vec![
        ("provider Debug".into(), format!("{:?}", h.provider)),
        (
            "provider Debug (alternate)".into(),
            format!("{:#?}", h.provider),
        ),
    ];
    let mut errors: Vec<(String, ProviderError)> = Vec::new();
    let p = &h.provider;

    if let Ok(raw) = RawNotification::new(
        HttpMethod::Post,
        "a=b&c=d",
        "{\"not\":\"signed\"}",
        http::HeaderMap::new(),
        None,
    ) && let Err(e) = p.verify(&raw, h.now)
    {
        errors.push(("verify of an unsigned request".into(), e));
    }
    if let Ok(paid) = pay(h, CHECK, OutcomeKind::Accepted).await? {
        outputs.push((
            "redirect Debug".into(),
            format!("{:?}", paid.opened.prepared),
        ));
        let verified = Verified::Payment(paid.verified.clone());
        outputs.push(("verified Debug".into(), format!("{verified:?}")));
        outputs.push((
            "ack Debug".into(),
            format!("{:?}", p.answer(&Handled::Processed(&verified))),
        ));
        for forgery in Forgery::ALL {
            for c in h.bank.forge(&paid.captured, forgery) {
                if let Err(e) = verify(h, &c, h.now) {
                    outputs.push((
                        format!("answer to a {forgery:?} signature"),
                        format!("{:?}", p.answer(&Handled::Rejected(&e))),
                    ));
                    errors.push((format!("verify of a {forgery:?} signature"), e));
                }
            }
        }
        let n = &paid.verified;
        let query = StatusQuery::new(paid.opened.request.reference.clone(), n.amount, h.now)
            .with_transactions(vec!["0:0".into(), "cs_unknown".into()]);
        if let Err(e) = p.query_status(&query, h.now).await {
            errors.push(("query_status of an unknown transaction".into(), e));
        }
        let refund = RefundRequest::new(
            paid.opened.request.reference.clone(),
            "0:0",
            n.amount,
            "tpe-no-such",
        );
        if let Err(e) = p.refund(&refund, h.now).await {
            errors.push(("refund of an unknown transaction".into(), e));
        }
    }
    let receiver = Receiver::start().await;
    let other = [Currency::GBP, Currency::CHF, Currency::JPY, Currency::BHD]
        .into_iter()
        .find(|c| !h.currencies.contains(c));
    if let Some(c) = other
        && let Ok(amount) = Amount::new(100, c)
        && let Err(e) = fixtures::prepare(&**p, amount, receiver.urls(), h.now).await
    {
        errors.push((format!("prepare in {c}"), e));
    }
    let huge = Amount::new(Amount::MAX_MINOR, standard_amount(h).currency());
    if let Ok(huge) = huge
        && let Err(e) = fixtures::prepare(&**p, huge, receiver.urls(), h.now).await
    {
        errors.push(("prepare of the largest amount".into(), e));
    }

    for (what, e) in &errors {
        outputs.push((format!("{what}: Display"), e.to_string()));
        outputs.push((format!("{what}: Debug"), format!("{e:?}")));
        let mut source = e.source();
        while let Some(s) = source {
            outputs.push((format!("{what}: source"), s.to_string()));
            source = s.source();
        }
    }
    let leaks: Vec<String> = outputs
        .iter()
        .filter(|(_, text)| h.secrets.iter().any(|s| leaks(text, s)))
        .map(|(what, _)| what.clone())
        .collect();
    if leaks.is_empty() {
        Ok(Verdict::Passed)
    } else {
        Err(CheckFailure::new(
            CHECK,
            format!("a configured secret appears in: {}", leaks.join(", ")),
        ))
    }
}

/// Whether `text` shows `secret`, or a 16-character run of it when it is longer.
pub(crate) fn leaks(text: &str, secret: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    let secret = secret.to_lowercase();
    if text.contains(&secret) {
        return true;
    }
    let chars: Vec<char> = secret.chars().collect();
    chars.len() > WINDOW
        && chars
            .windows(WINDOW)
            .any(|w| text.contains(&w.iter().collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::leaks;

    #[test]
    fn leaks_are_found_whole_partial_and_in_any_case() {
        let key = "0123456789ABCDEF0123456789ABCDEF";
        assert!(leaks("key=0123456789abcdef0123456789abcdef", key));
        assert!(leaks("prefix 89ABCDEF01234567 …", key));
        assert!(!leaks("Paybox { key: HmacKey(SHA512, 64 bytes) }", key));
        assert!(leaks("whsec_x", "whsec_x"));
        assert!(!leaks("anything", ""));
    }
}

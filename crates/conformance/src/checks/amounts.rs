//! Amounts reach the bank exactly: 0, 2 and 3 decimal currencies, the bank's largest amount,
//! and zero. A currency the provider does not take is refused before any redirect.

use std::sync::Arc;

use tpe_core::{Amount, ApiErrorKind, Currency, PaymentProvider, ProviderError};

use super::{CheckFailure, CheckResult, Verdict, standard_amount};
use crate::fixtures;
use crate::harness::Harness;
use crate::receiver::Receiver;

/// Exact amounts in a currency without decimals (JPY).
pub async fn amount_zero_decimals_exact(h: &Harness) -> CheckResult {
    exact(
        h,
        "amount_zero_decimals_exact",
        &[Currency::JPY],
        &[1, 1234, 987_654],
    )
    .await
}

/// Exact amounts in a currency with two decimals (EUR, USD).
pub async fn amount_two_decimals_exact(h: &Harness) -> CheckResult {
    exact(
        h,
        "amount_two_decimals_exact",
        &[Currency::EUR, Currency::USD],
        &[1, 4321, 100_000],
    )
    .await
}

/// Exact amounts in a currency with three decimals (BHD, KWD, TND).
pub async fn amount_three_decimals_exact(h: &Harness) -> CheckResult {
    exact(
        h,
        "amount_three_decimals_exact",
        &[Currency::BHD, Currency::KWD, Currency::TND],
        &[1, 12_345, 1_000_000],
    )
    .await
}

async fn exact(
    h: &Harness,
    check: &'static str,
    candidates: &[Currency],
    amounts: &[u64],
) -> CheckResult {
    let accepted = h.bank.currencies();
    let Some(&currency) = candidates.iter().find(|c| accepted.contains(c)) else {
        let names: Vec<_> = candidates.iter().map(ToString::to_string).collect();
        return Ok(Verdict::bank_lacks(format!("any of {}", names.join(", "))));
    };
    let Some(provider) = h.provider_in(currency) else {
        return refused_before_redirect(h, check, currency).await;
    };
    for &minor in amounts {
        let amount = Amount::new(minor, currency)
            .map_err(|e| CheckFailure::new(check, format!("amount {minor}: {e}")))?;
        exact_at_bank(h, check, &provider, amount).await?;
    }
    Ok(Verdict::Passed)
}

/// A provider that does not take `currency` says so with `InvalidRequest`, before any redirect.
async fn refused_before_redirect(
    h: &Harness,
    check: &'static str,
    currency: Currency,
) -> CheckResult {
    let receiver = Receiver::start().await;
    let amount = Amount::new(4321, currency).unwrap_or_else(|_| Amount::zero(currency));
    match fixtures::prepare(&*h.provider, amount, receiver.urls(), h.now).await {
        Err(ProviderError::InvalidRequest { .. }) => Ok(Verdict::Passed),
        Ok(_) => Err(CheckFailure::new(
            check,
            format!(
                "the harness says the provider does not take {currency}, yet prepare made a redirect"
            ),
        )),
        Err(e) => Err(CheckFailure::new(
            check,
            format!(
                "a request in {currency}, which the provider does not take, gave {e}, not InvalidRequest"
            ),
        )),
    }
}

/// Prepares `amount` with `provider` and checks the bank charges exactly that.
async fn exact_at_bank(
    h: &Harness,
    check: &'static str,
    provider: &Arc<dyn PaymentProvider>,
    amount: Amount,
) -> Result<(), CheckFailure> {
    let receiver = Receiver::start().await;
    let (_, prepared) = fixtures::prepare(&**provider, amount, receiver.urls(), h.now)
        .await
        .map_err(|e| {
            CheckFailure::new(
                check,
                format!(
                    "prepare of {} {} failed: {e}",
                    amount.minor(),
                    amount.currency()
                ),
            )
        })?;
    let page = h.bank.open(&prepared.redirect).await.map_err(|r| {
        CheckFailure::new(
            check,
            format!(
                "{} refused a redirect of {} minor units of {} ({r})",
                h.bank.name(),
                amount.minor(),
                amount.currency()
            ),
        )
    })?;
    if page.amount_minor == amount.minor() && page.currency == amount.currency() {
        Ok(())
    } else {
        Err(CheckFailure::new(
            check,
            format!(
                "the request is {} minor units of {}, the bank charges {} of {}",
                amount.minor(),
                amount.currency(),
                page.amount_minor,
                page.currency
            ),
        ))
    }
}

fn invalid_request(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::InvalidRequest { .. }
            | ProviderError::Api {
                kind: ApiErrorKind::InvalidRequest,
                ..
            }
    )
}

/// The largest amount the bank accepts reaches it exactly; one more minor unit is refused
/// before the customer is redirected.
pub async fn amount_largest_exact(h: &Harness) -> CheckResult {
    const CHECK: &str = "amount_largest_exact";
    let currency = standard_amount(h).currency();
    let max = h.bank.max_amount(currency).min(Amount::MAX_MINOR);
    let amount = Amount::new(max, currency).map_err(|e| CheckFailure::new(CHECK, e.to_string()))?;
    exact_at_bank(h, CHECK, &h.provider, amount).await?;
    if max == Amount::MAX_MINOR {
        return Ok(Verdict::Passed);
    }
    let over =
        Amount::new(max + 1, currency).map_err(|e| CheckFailure::new(CHECK, e.to_string()))?;
    let receiver = Receiver::start().await;
    match fixtures::prepare(&*h.provider, over, receiver.urls(), h.now).await {
        Err(e) if invalid_request(&e) => Ok(Verdict::Passed),
        Err(e) => Err(CheckFailure::new(
            CHECK,
            format!("an amount above the bank's largest gave {e}, not an invalid request"),
        )),
        Ok(_) => Err(CheckFailure::new(
            CHECK,
            format!(
                "prepare made a redirect for {} minor units, above the {max} the bank accepts",
                max + 1
            ),
        )),
    }
}

/// A zero amount is either refused before any redirect or reaches the bank as zero.
pub async fn amount_zero_handled(h: &Harness) -> CheckResult {
    const CHECK: &str = "amount_zero_handled";
    let zero = Amount::zero(standard_amount(h).currency());
    let receiver = Receiver::start().await;
    match fixtures::prepare(&*h.provider, zero, receiver.urls(), h.now).await {
        Err(e) if invalid_request(&e) => Ok(Verdict::Passed),
        Err(e) => Err(CheckFailure::new(
            CHECK,
            format!("a zero amount gave {e}, not an invalid request"),
        )),
        Ok(_) => {
            exact_at_bank(h, CHECK, &h.provider, zero).await?;
            Ok(Verdict::Passed)
        }
    }
}

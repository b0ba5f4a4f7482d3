//! The checks. Each is a plain `async fn(&Harness) -> CheckResult`, so the kit's own tests can
//! assert that a broken provider fails the checks it should; [`crate::provider_suite!`] turns
//! each into a named, panicking test.

mod amounts;
mod api;
mod codes;
mod contract;
mod redirect;
mod round_trip;
mod secrets;
mod signature;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use tpe_core::{
    Ack, Amount, Currency, OutcomeKind, PaymentRequest, Prepared, ProviderError, Timestamp,
    Verified, VerifiedNotification,
};

pub use amounts::{
    amount_largest_exact, amount_three_decimals_exact, amount_two_decimals_exact,
    amount_zero_decimals_exact, amount_zero_handled,
};
pub use api::{acknowledgement_exact, dyn_provider_works, query_status_agrees, refund_agrees};
pub use codes::{known_codes_classified, random_codes_never_panic};
pub use contract::{
    bank_references_map_back, capabilities_match_methods, notification_limits_bounded,
    provider_data_round_trip, rejection_answered_by_provider, unclassified_code_leaves_awaiting,
};
pub use redirect::{redirect_accepted_by_bank, redirect_tampered_field_refused};
pub use round_trip::{
    round_trip_accepted, round_trip_cancelled, round_trip_pending, round_trip_refused,
};
pub use secrets::no_secret_in_output;
pub use signature::{
    flipped_byte_refused, signature_badly_encoded_refused, signature_duplicated_refused,
    signature_empty_refused, signature_missing_refused, stale_notification_refused,
    wrongly_signed_notification_refused,
};

use crate::bank::{Captured, Channel, Completion, ExpectedAck, Page};
use crate::harness::Harness;
use crate::receiver::{NOTIFY_PATH, Receiver};
use crate::{BankError, fixtures};

/// Every check, in the order [`crate::provider_suite!`] declares them.
pub const ALL: &[&str] = &[
    "redirect_accepted_by_bank",
    "redirect_tampered_field_refused",
    "round_trip_accepted",
    "round_trip_refused",
    "round_trip_pending",
    "round_trip_cancelled",
    "flipped_byte_refused",
    "signature_missing_refused",
    "signature_empty_refused",
    "signature_duplicated_refused",
    "signature_badly_encoded_refused",
    "wrongly_signed_notification_refused",
    "stale_notification_refused",
    "known_codes_classified",
    "random_codes_never_panic",
    "amount_zero_decimals_exact",
    "amount_two_decimals_exact",
    "amount_three_decimals_exact",
    "amount_largest_exact",
    "amount_zero_handled",
    "no_secret_in_output",
    "acknowledgement_exact",
    "query_status_agrees",
    "refund_agrees",
    "dyn_provider_works",
    "provider_data_round_trip",
    "rejection_answered_by_provider",
    "capabilities_match_methods",
    "unclassified_code_leaves_awaiting",
    "bank_references_map_back",
    "notification_limits_bounded",
];

/// The result of a check: passed or skipped (`Ok`), or failed (`Err`).
pub type CheckResult = Result<Verdict, CheckFailure>;

/// A check that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Every assertion held.
    Passed,
    /// The check does not apply; the reason reads `provider lacks <capability>` or
    /// `bank lacks <feature>`.
    Skipped(String),
}

impl Verdict {
    fn provider_lacks(capability: &str) -> Self {
        Self::Skipped(format!("provider lacks {capability}"))
    }

    fn bank_lacks(feature: impl fmt::Display) -> Self {
        Self::Skipped(format!("bank lacks {feature}"))
    }
}

/// A failed check: its name and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// The check.
    pub check: &'static str,
    /// What went wrong.
    pub message: String,
}

impl CheckFailure {
    pub(crate) fn new(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            check,
            message: message.into(),
        }
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check {} failed: {}",
            self.check, self.message
        )
    }
}

impl std::error::Error for CheckFailure {}

/// How long a notification may take to arrive (the mock's pending delay is 100 ms).
const NOTIFICATION_WAIT: Duration = Duration::from_secs(5);

/// A checkout opened at the bank.
pub(crate) struct Opened {
    pub(crate) receiver: Receiver,
    pub(crate) request: PaymentRequest,
    pub(crate) prepared: Prepared,
    pub(crate) page: Page,
}

impl Opened {
    /// The reference the bank knows the checkout by (its scripts and journal use it).
    pub(crate) fn bank_reference(&self) -> &str {
        self.request.bank_reference.as_str()
    }
}

/// A checkout paid (or not) at the bank, with its verified notification.
pub(crate) struct Paid {
    pub(crate) opened: Opened,
    pub(crate) completion: Completion,
    pub(crate) captured: Captured,
    pub(crate) verified: VerifiedNotification,
}

/// Starts a receiver, prepares a request of `amount` and opens it at the bank.
pub(crate) async fn open(
    h: &Harness,
    check: &'static str,
    amount: Amount,
) -> Result<Opened, CheckFailure> {
    open_with(h, check, amount, Receiver::start().await).await
}

pub(crate) async fn open_with(
    h: &Harness,
    check: &'static str,
    amount: Amount,
    receiver: Receiver,
) -> Result<Opened, CheckFailure> {
    let fail = |m: String| CheckFailure::new(check, m);
    h.bank
        .listen(&receiver.notify_url())
        .await
        .map_err(|e| fail(format!("the bank refused the notification URL: {e}")))?;
    let (request, prepared) = fixtures::prepare(&*h.provider, amount, receiver.urls(), h.now)
        .await
        .map_err(|e| fail(format!("prepare failed: {e}")))?;
    let page = h.bank.open(&prepared.redirect).await.map_err(|r| {
        fail(format!(
            "{} refused the prepared redirect ({r})",
            h.bank.name()
        ))
    })?;
    Ok(Opened {
        receiver,
        request,
        prepared,
        page,
    })
}

/// Opens a checkout of 43.21 EUR (or the first currency of the harness) and drives it to
/// `outcome`. `Ok(Err(verdict))` when the bank cannot express the outcome.
pub(crate) async fn pay(
    h: &Harness,
    check: &'static str,
    outcome: OutcomeKind,
) -> Result<Result<Paid, Verdict>, CheckFailure> {
    pay_with(h, check, outcome, Receiver::start().await, |_| {}).await
}

/// [`pay`] with a given receiver, and a hook called with the reference before paying.
pub(crate) async fn pay_with(
    h: &Harness,
    check: &'static str,
    outcome: OutcomeKind,
    receiver: Receiver,
    before: impl FnOnce(&str),
) -> Result<Result<Paid, Verdict>, CheckFailure> {
    let opened = open_with(h, check, standard_amount(h), receiver).await?;
    before(opened.bank_reference());
    let completion = match h.bank.complete(&opened.page, outcome).await {
        Ok(c) => c,
        Err(BankError::Unsupported(what)) => {
            return Ok(Err(Verdict::bank_lacks(format!(
                "a signed {} answer ({what})",
                outcome.as_str()
            ))));
        }
        Err(e) => return Err(CheckFailure::new(check, e.to_string())),
    };
    let (captured, verified) = wait_for(h, check, &opened, &completion, outcome, |raw| {
        verify(h, raw, h.now)
    })
    .await?;
    Ok(Ok(Paid {
        opened,
        completion,
        captured,
        verified,
    }))
}

/// Waits for a request on the completion's channel that `verify` maps to a payment
/// notification of `outcome`.
async fn wait_for(
    h: &Harness,
    check: &'static str,
    opened: &Opened,
    completion: &Completion,
    outcome: OutcomeKind,
    verify: impl Fn(&Captured) -> Result<Verified, ProviderError>,
) -> Result<(Captured, VerifiedNotification), CheckFailure> {
    let path = match completion.channel {
        Channel::ServerToServer => NOTIFY_PATH.to_owned(),
        _ => format!("/return/{}", outcome.as_str()),
    };
    let mut seen = Vec::new();
    let found = opened
        .receiver
        .wait_for(NOTIFICATION_WAIT, |c| {
            if c.path != path {
                return None;
            }
            match verify(c) {
                Ok(Verified::Payment(n)) if n.outcome.kind() == outcome => Some((c.clone(), n)),
                Ok(Verified::Payment(n)) => {
                    seen.push(format!("a {} notification", n.outcome.kind().as_str()));
                    None
                }
                Ok(other) => {
                    seen.push(format!("{other:?}"));
                    None
                }
                Err(e) => {
                    seen.push(format!("an error: {e}"));
                    None
                }
            }
        })
        .await;
    found.ok_or_else(|| {
        CheckFailure::new(
            check,
            format!(
                "no {} notification of {} verified on {path} within {NOTIFICATION_WAIT:?} (saw: {})",
                outcome.as_str(),
                h.bank.name(),
                if seen.is_empty() {
                    "nothing".to_owned()
                } else {
                    seen.join("; ")
                }
            ),
        )
    })
}

/// 43.21 in the harness's first currency (EUR by default).
pub(crate) fn standard_amount(h: &Harness) -> Amount {
    let currency = h.currencies.first().copied().unwrap_or(Currency::EUR);
    Amount::new(4321, currency).unwrap_or_else(|_| Amount::zero(currency))
}

/// `ack` has a status the bank expects, and its exact body where the bank reads one.
pub(crate) fn answer_as_expected(
    h: &Harness,
    check: &'static str,
    what: &str,
    ack: &Ack,
    expected: &ExpectedAck,
) -> Result<(), CheckFailure> {
    if !expected.status.contains(&ack.status) {
        return Err(CheckFailure::new(
            check,
            format!(
                "{what} has status {}, {} expects {:?}",
                ack.status,
                h.bank.name(),
                expected.status
            ),
        ));
    }
    match expected.body {
        Some(body) if ack.body != body => Err(CheckFailure::new(
            check,
            format!(
                "{what} has the body {:?}, {} expects {body:?}",
                ack.body,
                h.bank.name()
            ),
        )),
        _ => Ok(()),
    }
}

/// Verifies a captured request, turning a panic into a `Malformed` error so that a check can
/// report it by name.
pub(crate) fn verify(h: &Harness, c: &Captured, now: Timestamp) -> Result<Verified, ProviderError> {
    let raw = c.to_raw().map_err(|e| ProviderError::Malformed {
        provider: h.provider.id(),
        what: e.to_string().into(),
    })?;
    catch_unwind(AssertUnwindSafe(|| h.provider.verify(&raw, now))).unwrap_or_else(|_| {
        Err(ProviderError::Malformed {
            provider: h.provider.id(),
            what: "PANIC in verify".into(),
        })
    })
}

/// Whether a verify result is a panic turned into an error by [`verify`].
pub(crate) fn is_panic(r: &Result<Verified, ProviderError>) -> bool {
    matches!(r, Err(ProviderError::Malformed { what, .. }) if what == "PANIC in verify")
}

/// A short description of a verify result for messages (never the payload).
pub(crate) fn describe(r: &Result<Verified, ProviderError>) -> String {
    match r {
        Ok(Verified::Payment(n)) => format!(
            "Ok(payment {} of {} {})",
            n.outcome.kind().as_str(),
            n.amount.minor(),
            n.amount.currency()
        ),
        Ok(other) => format!("Ok({other:?})"),
        Err(e) => format!("Err({e})"),
    }
}

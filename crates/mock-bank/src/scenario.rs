//! Scripted outcomes and faults, per payment reference.

use serde::{Deserialize, Serialize};

/// The bank's verdict for a scripted reference; overrides the test card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    /// Accept the payment.
    Accept,
    /// Refuse it with this code: a Paybox `E` code (`00151`) or a Stripe-like `decline_code`
    /// (`insufficient_funds`).
    Refuse {
        /// The code to return.
        code: String,
    },
    /// Pending now (`99999`, or completed + unpaid), accepted after the configured delay.
    PendingThenAccept,
    /// Pending now, refused with `code` after the configured delay.
    PendingThenRefuse {
        /// The final code.
        code: String,
    },
    /// The customer leaves the page: no notification at all, no browser return.
    Abandon,
}

/// How the PSP API (Paybox Direct, Stripe-like REST) misbehaves for a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiFault {
    /// Answer HTTP 500.
    Error500,
    /// Hang for the configured `api_hang`, then answer 504.
    Timeout,
}

/// The script of one reference: an outcome and notification faults.
///
/// Set it with [`crate::BankState::script`] or `PUT /_mock/scripts/{reference}`; the reference `*`
/// applies to every reference that has no script of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// The verdict; `None` lets the test card decide.
    pub outcome: Option<Outcome>,
    /// Send every notification this many extra times.
    pub duplicate: u32,
    /// Hold the notifications of the reference and send them in reverse order once the final one
    /// is known (pending then final → final first).
    pub out_of_order: bool,
    /// Never send the notifications (recorded as withheld).
    pub drop: bool,
    /// Wait this long before sending each notification.
    pub delay_ms: u64,
    /// Sign the notifications wrongly (RSA over other bytes, or the wrong webhook secret).
    pub wrong_signature: bool,
    /// Make the PSP API misbehave for this reference.
    pub api_fault: Option<ApiFault>,
    /// The later instalments the bank refuses when it charges them on its own calendar
    /// (`MockBankConfig::instalment_day`): `[2]` refuses the second; the others are accepted.
    pub refuse_instalments: Vec<u8>,
}

impl Scenario {
    /// A scenario with only an outcome.
    #[must_use]
    pub fn outcome(outcome: Outcome) -> Self {
        Self {
            outcome: Some(outcome),
            ..Self::default()
        }
    }
}

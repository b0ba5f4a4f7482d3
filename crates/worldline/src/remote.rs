//! What the API answers about a checkout (spec §G.6–§G.8): the hosted checkout and its
//! payment, mapped to a [`RemoteStatus`] on the payment's `statusCode`; and the answers to
//! refunds, captures and cancellations.

use serde::Deserialize;
use tpe_core::{Amount, Currency, ProviderError, RemoteStatus};

use crate::api::is_segment;
use crate::codes::{self, Verdict};
use crate::error::unreadable;

/// `GetHostedCheckoutResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HostedCheckout {
    pub(crate) status: Option<String>,
    pub(crate) created_payment_output: Option<CreatedPaymentOutput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedPaymentOutput {
    pub(crate) payment: Option<PaymentResponse>,
}

/// `PaymentResponse`, the fields used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentResponse {
    pub(crate) id: String,
    pub(crate) status: Option<String>,
    pub(crate) status_output: Option<StatusOutput>,
    pub(crate) payment_output: Option<PaymentOutput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusOutput {
    pub(crate) status_code: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentOutput {
    pub(crate) amount_of_money: Option<Money>,
    pub(crate) references: Option<References>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct References {
    pub(crate) merchant_reference: Option<String>,
}

/// `AmountOfMoney`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Money {
    pub(crate) amount: u64,
    pub(crate) currency_code: String,
}

impl Money {
    pub(crate) fn amount(&self) -> Result<Amount, ProviderError> {
        Currency::from_alpha(&self.currency_code)
            .ok()
            .and_then(|c| Amount::new(self.amount, c).ok())
            .ok_or_else(|| unreadable("unusable amountOfMoney in the API answer"))
    }
}

impl PaymentResponse {
    pub(crate) fn merchant_reference(&self) -> Option<&str> {
        self.payment_output
            .as_ref()?
            .references
            .as_ref()?
            .merchant_reference
            .as_deref()
    }

    /// The status code, or the status name when no code is given.
    fn code(&self) -> Option<String> {
        match (
            self.status_output.as_ref().and_then(|s| s.status_code),
            &self.status,
        ) {
            (Some(c), _) => Some(c.to_string()),
            (None, Some(s)) => Some(s.clone()),
            (None, None) => None,
        }
    }

    pub(crate) fn remote_status(&self) -> Result<RemoteStatus, ProviderError> {
        if !is_segment(&self.id) {
            return Err(unreadable("unusable payment id in the API answer"));
        }
        let code = self
            .code()
            .ok_or_else(|| unreadable("payment without statusCode in the API answer"))?;
        Ok(match codes::verdict(&code) {
            Some(Verdict::Paid) => RemoteStatus::Paid {
                bank_transaction_id: self.id.clone(),
                amount: self
                    .payment_output
                    .as_ref()
                    .and_then(|o| o.amount_of_money.as_ref())
                    .ok_or_else(|| unreadable("payment without amountOfMoney in the API answer"))?
                    .amount()?,
            },
            Some(Verdict::Pending) => RemoteStatus::Pending,
            Some(Verdict::Refused) => RemoteStatus::Refused {
                reason: codes::classify(&code),
            },
            Some(Verdict::Cancelled) => RemoteStatus::Cancelled,
            Some(Verdict::Refund) => RemoteStatus::Refunded {
                bank_transaction_id: self.id.clone(),
            },
            Some(Verdict::NoChange) | None => RemoteStatus::Unclassified {
                code: code.chars().take(32).collect(),
            },
        })
    }
}

impl HostedCheckout {
    /// The checkout's status: the payment's when there is one (the last attempt's);
    /// otherwise `IN_PROGRESS` is not found (the page waits, no payment exists yet, as a
    /// Stripe open session) and `CANCELLED_BY_CONSUMER` cancelled.
    pub(crate) fn remote_status(
        &self,
    ) -> Result<(RemoteStatus, Option<&PaymentResponse>), ProviderError> {
        let payment = self
            .created_payment_output
            .as_ref()
            .and_then(|o| o.payment.as_ref());
        if let Some(p) = payment {
            return Ok((p.remote_status()?, Some(p)));
        }
        Ok(match self.status.as_deref() {
            Some("IN_PROGRESS") => (RemoteStatus::NotFound, None),
            Some("CANCELLED_BY_CONSUMER") => (RemoteStatus::Cancelled, None),
            Some(other) => (
                RemoteStatus::Unclassified {
                    code: other.chars().take(32).collect(),
                },
                None,
            ),
            None => {
                return Err(unreadable(
                    "hosted checkout without status in the API answer",
                ));
            }
        })
    }
}

/// `RefundResponse`, the fields used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundResponse {
    pub(crate) id: String,
    pub(crate) status: Option<String>,
    pub(crate) refund_output: Option<RefundOutput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundOutput {
    pub(crate) amount_of_money: Option<Money>,
}

/// `CaptureResponse`, the fields used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaptureResponse {
    pub(crate) id: String,
}

/// `CancelPaymentResponse`, the fields used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelResponse {
    pub(crate) payment: Option<PaymentResponse>,
}

//! The engine's errors.

use tpe_core::instalments::ScheduleError;
use tpe_core::{IncompleteCustomer, PaymentReference, ProviderError};
use tpe_store::{Failure, StoreError};

use crate::hook::HookError;
use crate::mailer::MailError;
use crate::settings::SettingsError;
use crate::templates::TemplateError;

/// Why a checkout could not be started. Nothing was sent to the bank in any case; only
/// [`CheckoutError::Provider`] leaves a created checkout behind (awaiting payment, retracted
/// later like an abandoned one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// The customer's data is incomplete (PSD2): show "complete your account" with the list.
    #[error(transparent)]
    IncompleteCustomer(#[from] IncompleteCustomer),
    /// No provider with this id is registered.
    #[error("no payment provider {0} is registered")]
    UnknownProvider(String),
    /// The amount is zero.
    #[error("the amount of a checkout must be greater than zero")]
    ZeroAmount,
    /// An input is out of bounds.
    #[error("{field} is invalid: {reason}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The payment in instalments is refused: the bank does not offer it
    /// ([`ScheduleError::Unsupported`]) or the schedule breaks the rule named; nothing was
    /// created.
    #[error("payment in instalments refused: {0}")]
    Schedule(#[from] ScheduleError),
    /// The settings cannot build the bank's URLs.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The store failed; nothing was created.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider could not prepare the redirect (the checkout exists, awaiting payment).
    #[error("checkout {reference} created but the redirect failed: {source}")]
    Provider {
        /// The checkout.
        reference: PaymentReference,
        /// The provider's error.
        #[source]
        source: ProviderError,
    },
}

/// Errors of the engine's other operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An input is out of bounds.
    #[error("{field} is invalid: {reason}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A refund of a payment in instalments at a bank that does not refund through its API
    /// (its [`Capabilities`](tpe_core::Capabilities) say so): nothing was changed.
    #[error(
        "{provider} cannot refund the bank transactions of a payment in instalments through its API: refund from the bank's back office"
    )]
    RefundUnsupported {
        /// The checkout's bank.
        provider: tpe_core::ProviderId,
    },
}

/// The engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The registry has no provider.
    #[error("the engine needs at least one payment provider")]
    NoProvider,
    /// A template is broken.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The worker id is empty, longer than 128 characters or has a control character (or no
    /// random one could be drawn).
    #[error("the engine's worker id must have 1 to 128 characters and no control character")]
    WorkerId,
}

/// Why the effects relay could not deliver an effect this time. [`DeliveryError::failure`]
/// says whether it is retried with backoff or given up at once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The e-mail could not be sent.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The shop's payment record hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The e-mail's template failed to render (a broken override in the templates folder).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bank could not be asked for a refund, for a reason other than its refusal.
    #[error("refund request failed: {0}")]
    Refund(#[source] ProviderError),
    /// The checkout's provider is no longer registered (a configuration change).
    #[error("payment provider {0} is not registered")]
    UnknownProvider(String),
}

impl DeliveryError {
    /// Whether retrying may help: SMTP servers down, timeouts, a busy store, a bank that
    /// cannot be reached are [`Failure::Transient`]; a malformed address, a 5xx SMTP refusal,
    /// a broken template, a hook's permanent error or a missing provider are
    /// [`Failure::Permanent`] (given up at once, waiting for the manager's "retry").
    pub fn failure(&self) -> Failure {
        let permanent = match self {
            Self::Mail(e) => e.is_permanent(),
            Self::Hook(e) => e.is_permanent(),
            Self::Template(_) | Self::UnknownProvider(_) => true,
            Self::Store(_) => false,
            Self::Refund(e) => matches!(
                e,
                ProviderError::Transport {
                    retryable: false,
                    ..
                }
            ),
        };
        if permanent {
            Failure::Permanent
        } else {
            Failure::Transient
        }
    }
}

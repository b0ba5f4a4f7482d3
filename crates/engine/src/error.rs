//! The engine's errors.

use tpe_core::{IncompleteCustomer, PaymentReference, ProviderError};
use tpe_store::StoreError;

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

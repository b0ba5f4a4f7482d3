//! Builders of [`ProviderError`] for this provider, so every error names it: the core's
//! shared constructors with this provider's id bound.

use std::borrow::Cow;

use tpe_core::{ApiErrorKind, BoxError, ProviderError};

use crate::Worldline;

pub(crate) fn config_error(reason: impl Into<Cow<'static, str>>) -> ProviderError {
    ProviderError::config(&Worldline::ID, reason)
}

pub(crate) fn malformed(what: impl Into<Cow<'static, str>>) -> ProviderError {
    ProviderError::malformed(&Worldline::ID, what)
}

pub(crate) fn bad_signature() -> ProviderError {
    ProviderError::bad_signature(&Worldline::ID)
}

pub(crate) fn invalid_request(
    field: impl Into<Cow<'static, str>>,
    reason: impl Into<Cow<'static, str>>,
) -> ProviderError {
    ProviderError::invalid_request(&Worldline::ID, field, reason)
}

pub(crate) fn transport(retryable: bool, source: impl Into<BoxError>) -> ProviderError {
    ProviderError::Transport {
        provider: Worldline::ID,
        retryable,
        source: source.into(),
    }
}

pub(crate) fn api(
    kind: ApiErrorKind,
    status: Option<u16>,
    code: Option<String>,
    message: String,
    retryable: bool,
) -> ProviderError {
    ProviderError::Api {
        provider: Worldline::ID,
        kind,
        status,
        code,
        message,
        retryable,
    }
}

/// A response that could not be read, as a transport error (the bank's answer is unusable, so
/// the outcome of the call is unknown).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unreadable(pub(crate) Cow<'static, str>);

/// The platform answered something unusable: the outcome of the call is unknown.
pub(crate) fn unreadable(what: &'static str) -> ProviderError {
    transport(false, Unreadable(Cow::Borrowed(what)))
}

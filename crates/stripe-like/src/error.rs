//! Builders of [`ProviderError`] for this provider, so every error names it.

use std::borrow::Cow;

use tpe_core::{ApiErrorKind, BoxError, ProviderError};

use crate::StripeLike;

pub(crate) fn config_error(reason: impl Into<Cow<'static, str>>) -> ProviderError {
    ProviderError::Config {
        provider: StripeLike::ID,
        reason: reason.into(),
    }
}

pub(crate) fn malformed(what: impl Into<Cow<'static, str>>) -> ProviderError {
    ProviderError::Malformed {
        provider: StripeLike::ID,
        what: what.into(),
    }
}

pub(crate) fn bad_signature() -> ProviderError {
    ProviderError::BadSignature {
        provider: StripeLike::ID,
    }
}

pub(crate) fn invalid_request(
    field: impl Into<Cow<'static, str>>,
    reason: impl Into<Cow<'static, str>>,
) -> ProviderError {
    ProviderError::InvalidRequest {
        provider: StripeLike::ID,
        field: field.into(),
        reason: reason.into(),
    }
}

pub(crate) fn transport(retryable: bool, source: impl Into<BoxError>) -> ProviderError {
    ProviderError::Transport {
        provider: StripeLike::ID,
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
        provider: StripeLike::ID,
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

/// The PSP's API answered something unusable: the outcome of the call is unknown.
pub(crate) fn unreadable(what: &'static str) -> ProviderError {
    transport(false, Unreadable(Cow::Borrowed(what)))
}

//! The crate's private error and its conversion into [`ProviderError`].
//!
//! No variant carries key material, a MAC, a signature or a card number: values that come from
//! outside are described, never echoed.

use std::borrow::Cow;

use tpe_core::{ApiErrorKind, BoxError, ProviderError};

use crate::Paybox;

/// Everything that can go wrong inside the provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// Invalid configuration (startup).
    #[error("invalid configuration: {0}")]
    Config(Cow<'static, str>),
    /// A payment request that cannot be expressed for the bank.
    #[error("cannot send {field}: {reason}")]
    InvalidRequest {
        field: Cow<'static, str>,
        reason: Cow<'static, str>,
    },
    /// Missing or non-verifying signature. Always worded the same.
    #[error("signature rejected")]
    BadSignature,
    /// Unreadable input.
    #[error("malformed {0}")]
    Malformed(Cow<'static, str>),
    /// The bank could not be reached or answered unreadably.
    #[error("transport failure on {host}")]
    Transport {
        host: String,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// Paybox Direct answered with an error code.
    #[error("paybox direct answered {code}: {message}")]
    Api {
        kind: ApiErrorKind,
        code: String,
        message: String,
        retryable: bool,
    },
}

impl Error {
    pub(crate) fn invalid(
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::InvalidRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed(what: impl Into<Cow<'static, str>>) -> Self {
        Self::Malformed(what.into())
    }

    pub(crate) fn config(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Config(reason.into())
    }
}

impl From<Error> for ProviderError {
    fn from(e: Error) -> Self {
        let provider = Paybox::ID;
        match e {
            Error::Config(reason) => Self::Config { provider, reason },
            Error::InvalidRequest { field, reason } => Self::InvalidRequest {
                provider,
                field,
                reason,
            },
            Error::BadSignature => Self::BadSignature { provider },
            Error::Malformed(what) => Self::Malformed { provider, what },
            Error::Transport {
                host,
                retryable,
                source,
            } => Self::Transport {
                provider,
                retryable,
                source: format!("{host}: {source}").into(),
            },
            Error::Api {
                kind,
                code,
                message,
                retryable,
            } => Self::Api {
                provider,
                kind,
                status: None,
                code: Some(code),
                message,
                retryable,
            },
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

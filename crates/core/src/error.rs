//! The error every provider returns.

use std::borrow::Cow;

use crate::provider::ProviderId;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a provider operation failed. A bank's decline is *not* an error: it is a
/// [`BankOutcome::Refused`](crate::BankOutcome::Refused) inside a verified notification.
///
/// Messages never contain key material, a MAC, a signature or a card number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The notification's signature is missing or does not verify. Always worded the same.
    #[error("{provider}: signature rejected")]
    BadSignature {
        /// Provider.
        provider: ProviderId,
    },
    /// The input could not be read (missing field, bad encoding, oversized).
    #[error("{provider}: malformed {what}")]
    Malformed {
        /// Provider.
        provider: ProviderId,
        /// What was wrong and where.
        what: Cow<'static, str>,
    },
    /// A signed notification whose timestamp is outside the tolerance.
    #[error(
        "{provider}: notification timestamp is {age_secs}s from now, tolerance is {tolerance_secs}s"
    )]
    Stale {
        /// Provider.
        provider: ProviderId,
        /// Age in seconds (negative when in the future).
        age_secs: i64,
        /// Accepted tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The provider's configuration is invalid (a startup error).
    #[error("{provider}: invalid configuration: {reason}")]
    Config {
        /// Provider.
        provider: ProviderId,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// The payment request cannot be expressed for this bank (length, charset, amount range).
    #[error("{provider}: cannot send {field}: {reason}")]
    InvalidRequest {
        /// Provider.
        provider: ProviderId,
        /// The field concerned.
        field: Cow<'static, str>,
        /// Why.
        reason: Cow<'static, str>,
    },
    /// The bank's API answered with an error.
    #[error("{provider}: {kind} error{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        /// Provider.
        provider: ProviderId,
        /// Kind of API error.
        kind: ApiErrorKind,
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// The bank's error code.
        code: Option<String>,
        /// The bank's message (bounded, without secrets).
        message: String,
        /// Whether the same call may succeed later.
        retryable: bool,
    },
    /// The bank could not be reached, or answered unreadably.
    #[error("{provider}: transport failure ({})", if *retryable { "retryable" } else { "not retryable" })]
    Transport {
        /// Provider.
        provider: ProviderId,
        /// Whether a retry may succeed.
        retryable: bool,
        /// Cause.
        #[source]
        source: BoxError,
    },
    /// The provider does not support this operation.
    #[error("{provider}: {operation} is not supported")]
    Unsupported {
        /// Provider.
        provider: ProviderId,
        /// Operation.
        operation: &'static str,
    },
}

/// The one way every provider builds its errors: `ProviderError::malformed(&ID, "…")`, so a
/// message always names the provider and what was wrong where.
/// A bank answer that could not be read: the source of [`ProviderError::unreadable`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub Cow<'static, str>);

/// Binds the [`ProviderError`] constructors to one provider's id, as crate-private functions
/// of the calling module (`config_error`, `malformed`, `bad_signature`, `invalid_request`,
/// `transport`, `api`, `unreadable`), so a provider never names itself by hand.
///
/// ```
/// mod error {
///     tpe_core::provider_errors!(tpe_core::ProviderId::from_static("my-bank"));
/// }
/// let e = error::malformed("field `x` is missing");
/// assert_eq!(e.provider().as_str(), "my-bank");
/// ```
#[macro_export]
macro_rules! provider_errors {
    ($id:expr) => {
        #[allow(dead_code)]
        pub(crate) fn config_error(
            reason: impl Into<::std::borrow::Cow<'static, str>>,
        ) -> $crate::ProviderError {
            $crate::ProviderError::config(&$id, reason)
        }

        #[allow(dead_code)]
        pub(crate) fn malformed(
            what: impl Into<::std::borrow::Cow<'static, str>>,
        ) -> $crate::ProviderError {
            $crate::ProviderError::malformed(&$id, what)
        }

        #[allow(dead_code)]
        pub(crate) fn bad_signature() -> $crate::ProviderError {
            $crate::ProviderError::bad_signature(&$id)
        }

        #[allow(dead_code)]
        pub(crate) fn invalid_request(
            field: impl Into<::std::borrow::Cow<'static, str>>,
            reason: impl Into<::std::borrow::Cow<'static, str>>,
        ) -> $crate::ProviderError {
            $crate::ProviderError::invalid_request(&$id, field, reason)
        }

        #[allow(dead_code)]
        pub(crate) fn transport(
            retryable: bool,
            source: impl Into<$crate::BoxError>,
        ) -> $crate::ProviderError {
            $crate::ProviderError::transport(&$id, retryable, source)
        }

        #[allow(dead_code)]
        pub(crate) fn api(
            kind: $crate::ApiErrorKind,
            status: Option<u16>,
            code: Option<String>,
            message: String,
            retryable: bool,
        ) -> $crate::ProviderError {
            $crate::ProviderError::api(&$id, kind, status, code, message, retryable)
        }

        #[allow(dead_code)]
        pub(crate) fn unreadable(what: &'static str) -> $crate::ProviderError {
            $crate::ProviderError::unreadable(&$id, what)
        }
    };
}

impl ProviderError {
    /// [`ProviderError::BadSignature`].
    pub fn bad_signature(provider: &ProviderId) -> Self {
        Self::BadSignature {
            provider: provider.clone(),
        }
    }

    /// [`ProviderError::Malformed`]: `what` says what was wrong and where, without quoting a
    /// secret or a card number.
    pub fn malformed(provider: &ProviderId, what: impl Into<Cow<'static, str>>) -> Self {
        Self::Malformed {
            provider: provider.clone(),
            what: what.into(),
        }
    }

    /// [`ProviderError::Config`].
    pub fn config(provider: &ProviderId, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Config {
            provider: provider.clone(),
            reason: reason.into(),
        }
    }

    /// [`ProviderError::InvalidRequest`].
    pub fn invalid_request(
        provider: &ProviderId,
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::InvalidRequest {
            provider: provider.clone(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// [`ProviderError::Unsupported`].
    pub fn unsupported(provider: &ProviderId, operation: &'static str) -> Self {
        Self::Unsupported {
            provider: provider.clone(),
            operation,
        }
    }

    /// [`ProviderError::Transport`]: the bank could not be reached, or its answer could not be
    /// read (then the outcome of the call is unknown).
    pub fn transport(provider: &ProviderId, retryable: bool, source: impl Into<BoxError>) -> Self {
        Self::Transport {
            provider: provider.clone(),
            retryable,
            source: source.into(),
        }
    }

    /// [`ProviderError::Api`]: the bank's API answered with an error.
    pub fn api(
        provider: &ProviderId,
        kind: ApiErrorKind,
        status: Option<u16>,
        code: Option<String>,
        message: String,
        retryable: bool,
    ) -> Self {
        Self::Api {
            provider: provider.clone(),
            kind,
            status,
            code,
            message,
            retryable,
        }
    }

    /// The bank's API answered something unusable: a [`ProviderError::Transport`] that is not
    /// retryable, since the outcome of the call is unknown.
    pub fn unreadable(provider: &ProviderId, what: &'static str) -> Self {
        Self::transport(provider, false, Unreadable(Cow::Borrowed(what)))
    }

    /// A form that [`crate::form::Form::parse`] refused, as [`ProviderError::Malformed`].
    pub fn malformed_form(provider: &ProviderId, e: &crate::form::FormError) -> Self {
        Self::malformed(provider, e.to_string())
    }

    /// Whether retrying the same call later may succeed (transport errors, rate limits, bank
    /// server errors). A "retryable" status query failure means the outcome is *unknown*.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { retryable, .. } | Self::Api { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Whether the error means the notification is not authentic or not readable (→ 4xx).
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Self::BadSignature { .. } | Self::Malformed { .. } | Self::Stale { .. }
        )
    }

    /// The provider concerned.
    pub fn provider(&self) -> &ProviderId {
        match self {
            Self::BadSignature { provider }
            | Self::Malformed { provider, .. }
            | Self::Stale { provider, .. }
            | Self::Config { provider, .. }
            | Self::InvalidRequest { provider, .. }
            | Self::Api { provider, .. }
            | Self::Transport { provider, .. }
            | Self::Unsupported { provider, .. } => provider,
        }
    }
}

/// The kind of an API error, as PSPs classify them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// Authentication failed (bad key).
    Authentication,
    /// A card error.
    Card,
    /// An idempotency conflict.
    Idempotency,
    /// The request was invalid.
    InvalidRequest,
    /// The key lacks a permission.
    Permission,
    /// Too many requests.
    RateLimit,
    /// The bank's server failed.
    Server,
    /// The bank refused the operation (e.g. refund of an unknown transaction).
    Refused,
}

impl std::fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Authentication => "authentication",
            Self::Card => "card",
            Self::Idempotency => "idempotency",
            Self::InvalidRequest => "invalid request",
            Self::Permission => "permission",
            Self::RateLimit => "rate limit",
            Self::Server => "server",
            Self::Refused => "refused",
        })
    }
}

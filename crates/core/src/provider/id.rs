//! Who a provider is and what it can do.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A provider's stable identifier (`paybox`, `stripe-like`): stored in every database row.
/// One to 32 characters of `[a-z0-9-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(Cow<'static, str>);

impl ProviderId {
    /// A compile-time identifier. Panics at compile time in a `const` if invalid.
    pub const fn from_static(id: &'static str) -> Self {
        let b = id.as_bytes();
        assert!(
            !b.is_empty() && b.len() <= 32,
            "provider id must have 1 to 32 characters"
        );
        let mut i = 0;
        while i < b.len() {
            assert!(
                b[i].is_ascii_lowercase() || b[i].is_ascii_digit() || b[i] == b'-',
                "provider id must be [a-z0-9-]"
            );
            i += 1;
        }
        Self(Cow::Borrowed(id))
    }

    /// Parses an identifier read from storage or configuration.
    ///
    /// # Errors
    /// When empty, longer than 32 or outside `[a-z0-9-]`.
    pub fn parse(s: &str) -> Result<Self, InvalidProviderId> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(Cow::Owned(s.to_owned())))
        } else {
            Err(InvalidProviderId)
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ProviderId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProviderId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A provider identifier that is not `[a-z0-9-]{1,32}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider id must be 1 to 32 characters of [a-z0-9-]")]
pub struct InvalidProviderId;
/// The optional operations a provider implements. Each flag equals a method: a declared
/// capability has a working method and an undeclared one answers
/// [`ProviderError::Unsupported`](crate::ProviderError::Unsupported); the conformance kit checks
/// both, and skips the checks of missing capabilities, saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// [`query_status`](super::PaymentProvider::query_status) asks the bank.
    pub status_query: bool,
    /// [`refund`](super::PaymentProvider::refund) works.
    pub refund: bool,
    /// Refunds may be partial.
    pub partial_refund: bool,
    /// [`capture`](super::PaymentProvider::capture) captures an authorization.
    pub capture: bool,
    /// [`cancel`](super::PaymentProvider::cancel) cancels an authorization.
    pub cancel: bool,
    /// Notifications carry a signed timestamp, so stale ones are refused.
    pub signed_timestamp: bool,
}

impl Capabilities {
    /// No optional capability; set the fields a provider has.
    pub const NONE: Self = Self {
        status_query: false,
        refund: false,
        partial_refund: false,
        capture: false,
        cancel: false,
        signed_timestamp: false,
    };

    /// A bank API that answers status queries, refunds (partial ones too), captures and
    /// cancels an authorization.
    pub const API: Self = Self {
        status_query: true,
        refund: true,
        partial_refund: true,
        capture: true,
        cancel: true,
        signed_timestamp: false,
    };

    /// A PSP API that answers status queries and refunds (partial ones too), without separate
    /// captures or cancels.
    pub const STATUS_AND_REFUND: Self = Self {
        status_query: true,
        refund: true,
        partial_refund: true,
        capture: false,
        cancel: false,
        signed_timestamp: false,
    };

    /// These capabilities, for a provider whose notifications carry a signed timestamp.
    #[must_use]
    pub const fn with_signed_timestamp(mut self) -> Self {
        self.signed_timestamp = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids() {
        assert!(ProviderId::parse("stripe-like").is_ok());
        assert!(ProviderId::parse("Paybox").is_err());
        assert!(ProviderId::parse("").is_err());
        assert!(ProviderId::parse(&"a".repeat(33)).is_err());
    }
}

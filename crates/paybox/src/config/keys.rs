//! Keys: the hash of the merchant HMAC (`PBX_HASH`) and where the bank's public keys come from.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Deserialize;

use super::ParseConfigError;

/// The hash named by `PBX_HASH` and used for `PBX_HMAC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `SHA512` (recommended by the bank).
    #[serde(alias = "SHA-512")]
    #[default]
    Sha512,
    /// `SHA384`.
    #[serde(alias = "SHA-384")]
    Sha384,
    /// `SHA256`.
    #[serde(alias = "SHA-256")]
    Sha256,
    /// `SHA224`.
    #[serde(alias = "SHA-224")]
    Sha224,
}

impl HashAlgorithm {
    /// The `PBX_HASH` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha512 => "SHA512",
            Self::Sha384 => "SHA384",
            Self::Sha256 => "SHA256",
            Self::Sha224 => "SHA224",
        }
    }
}

spelled_in_any_case!(
    HashAlgorithm,
    "hash",
    to_ascii_uppercase,
    "SHA512, SHA384, SHA256, SHA224"
);

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a public key of the bank comes from.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum PublicKeySource {
    /// The key Paybox publishes (spec §4.4), embedded in this crate.
    Embedded,
    /// A PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`) or DER file, read at build.
    File(PathBuf),
    /// PEM text.
    Pem(String),
}

impl fmt::Debug for PublicKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded => f.write_str("Embedded"),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Pem(p) => write!(f, "Pem({} bytes)", p.len()),
        }
    }
}

impl FromStr for PublicKeySource {
    type Err = ParseConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("embedded") || t.eq_ignore_ascii_case("paybox") {
            Ok(Self::Embedded)
        } else if t.starts_with("-----BEGIN") {
            Ok(Self::Pem(t.to_owned()))
        } else if let Some(path) = t.strip_prefix("file:") {
            Ok(Self::File(PathBuf::from(path)))
        } else {
            Err(ParseConfigError::new(
                "public key",
                s,
                "embedded, file:PATH or PEM text",
            ))
        }
    }
}

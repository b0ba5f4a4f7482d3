//! The MAC of the shop's requests: `PBX_HMAC` of the payment page, `HMAC` of Paybox Direct.

use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// Why a request MAC was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HmacError {
    /// No MAC field.
    #[error("the MAC field is missing")]
    Missing,
    /// The MAC field is not the last field.
    #[error("the MAC field is not the last field")]
    NotLast,
    /// The hash named is not supported.
    #[error("unsupported hash {0}")]
    UnsupportedHash(String),
    /// The merchant key is not hexadecimal.
    #[error("the merchant key is not hexadecimal")]
    BadKey,
    /// The MAC does not match.
    #[error("the MAC does not match")]
    Mismatch,
}

/// HMAC of `message` with the hash named as in `PBX_HASH`, upper-case hex.
///
/// # Errors
/// [`HmacError::UnsupportedHash`] or [`HmacError::BadKey`].
pub fn hmac_hex(hash: &str, key_hex: &str, message: &[u8]) -> Result<String, HmacError> {
    let key = hex::decode(key_hex).map_err(|_| HmacError::BadKey)?;
    raw_hmac(hash, &key, message).map(hex::encode_upper)
}

fn raw_hmac(hash: &str, key: &[u8], message: &[u8]) -> Result<Vec<u8>, HmacError> {
    use hmac::{KeyInit, Mac};
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = hmac::Hmac::<$h>::new_from_slice(key).map_err(|_| HmacError::BadKey)?;
            m.update(message);
            Ok(m.finalize().into_bytes().to_vec())
        }};
    }
    match hash {
        "SHA512" => mac!(Sha512),
        "SHA384" => mac!(Sha384),
        "SHA256" => mac!(Sha256),
        "SHA224" => mac!(Sha224),
        other => Err(HmacError::UnsupportedHash(other.chars().take(16).collect())),
    }
}

/// Checks the MAC of an ordered field list as the bank does: the MAC field (`PBX_HMAC`, or `HMAC`
/// for Paybox Direct) must be last; the string is `NAME=value&…` of every other field in order,
/// raw values, UTF-8; the hash is named by `hash_field` (`PBX_HASH` / `HASH`), SHA512 when absent;
/// the presented MAC is compared case-insensitively in constant time.
///
/// # Errors
/// An [`HmacError`] saying why the MAC was refused.
pub fn verify_fields_hmac(
    fields: &[(String, String)],
    mac_field: &str,
    hash_field: &str,
    key_hex: &str,
) -> Result<(), HmacError> {
    let Some(((last_name, presented), rest)) = fields.split_last() else {
        return Err(HmacError::Missing);
    };
    if last_name != mac_field {
        return if fields.iter().any(|(k, _)| k == mac_field) {
            Err(HmacError::NotLast)
        } else {
            Err(HmacError::Missing)
        };
    }
    let hash = rest
        .iter()
        .find(|(k, _)| k == hash_field)
        .map_or("SHA512", |(_, v)| v.as_str());
    let message = rest
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let key = hex::decode(key_hex).map_err(|_| HmacError::BadKey)?;
    let expected = raw_hmac(hash, &key, message.as_bytes())?;
    let presented = hex::decode(presented).map_err(|_| HmacError::Mismatch)?;
    if presented.len() == expected.len() && bool::from(presented.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(HmacError::Mismatch)
    }
}

/// Checks a hosted-page request (`PBX_HMAC` last, `PBX_HASH`) with the merchant key.
///
/// # Errors
/// See [`verify_fields_hmac`].
pub fn verify_request_hmac(fields: &[(String, String)], key_hex: &str) -> Result<(), HmacError> {
    verify_fields_hmac(fields, "PBX_HMAC", "PBX_HASH", key_hex)
}

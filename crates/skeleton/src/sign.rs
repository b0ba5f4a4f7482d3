//! The bank's canonical form and its HMAC-SHA256: the only file that holds key material.
//!
//! The signed string is the *decoded* fields sorted by name, `name=value` joined by `&`, the
//! `signature` field excluded; the signature is the MAC in lower-case hexadecimal. The same
//! scheme signs the redirect (shop → bank) and the notification (bank → shop).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tpe_core::ProviderError;

use crate::Skeleton;

/// The name of the field carrying the signature.
pub const SIGNATURE: &str = "signature";

/// The shortest key, in bytes (the MAC's own size).
pub const MIN_KEY_BYTES: usize = 32;
/// The longest key, in bytes (SHA-256's block size).
pub const MAX_KEY_BYTES: usize = 64;

/// The canonical string of `fields`: sorted by name (bytewise), `name=value` joined by `&`,
/// [`SIGNATURE`] excluded. Values are the decoded ones, not the bytes as sent.
///
/// ```
/// let s = tpe_skeleton::sign::canonical([("b", "2"), ("signature", "x"), ("a", "1 €")]);
/// assert_eq!(s, "a=1 €&b=2");
/// ```
pub fn canonical<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut fields: Vec<(&str, &str)> = fields
        .into_iter()
        .filter(|(name, _)| *name != SIGNATURE)
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The merchant's HMAC-SHA256 key, decoded once. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SigningKey {
    // The keyed state (inner and outer pads), cloned for each MAC: the key bytes themselves are
    // not kept.
    mac: Hmac<Sha256>,
}

impl SigningKey {
    /// Decodes a key written in hexadecimal.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when it is not 64 to 128 hexadecimal digits (the message
    /// never quotes it).
    pub fn from_hex(key: &SecretString) -> Result<Self, ProviderError> {
        let hex = key.expose_secret().trim();
        let bad = || {
            ProviderError::config(
                &Skeleton::ID,
                format!(
                    "hmac_key must be {} to {} hexadecimal digits",
                    2 * MIN_KEY_BYTES,
                    2 * MAX_KEY_BYTES
                ),
            )
        };
        if hex.len() % 2 != 0 || !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&(hex.len() / 2)) {
            return Err(bad());
        }
        let mut bytes = [0u8; MAX_KEY_BYTES];
        let bytes = &mut bytes[..hex.len() / 2];
        // `hex`'s error would quote the offending digit: it is not passed on.
        hex::decode_to_slice(hex, bytes).map_err(|_| bad())?;
        let mac = Hmac::<Sha256>::new_from_slice(bytes).map_err(|_| bad());
        bytes.fill(0);
        Ok(Self { mac: mac? })
    }

    /// The signature of `fields`, in lower-case hexadecimal.
    pub fn sign<'a>(&self, fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        let mut mac = self.mac.clone();
        mac.update(canonical(fields).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks `signature` against `fields`, in constant time.
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] when the signature is not hexadecimal or does not
    /// verify.
    pub fn verify<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        signature: &str,
    ) -> Result<(), ProviderError> {
        let bad = || ProviderError::bad_signature(&Skeleton::ID);
        let tag = hex::decode(signature).map_err(|_| bad())?;
        let mut mac = self.mac.clone();
        mac.update(canonical(fields).as_bytes());
        mac.verify_slice(&tag).map_err(|_| bad())
    }

    /// `fields` form-encoded in their order, the signature appended last: what the bank
    /// sends (for tests and the bank side), and what `tpe <bank> sign` would print.
    pub fn signed_form(&self, fields: &[(&str, &str)]) -> String {
        let signature = self.sign(fields.iter().copied());
        tpe_core::form::encode_signed(fields, SIGNATURE, &signature)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(HMAC-SHA256, redacted)")
    }
}

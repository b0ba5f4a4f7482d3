//! The MAC of form version 3.0 (spec C.4): the only file that holds key material.
//!
//! The MAC string is every field but `MAC`, sorted by name (bytewise: digits, then upper case,
//! then lower case), `name=value` with the *decoded* value, joined by `*`. The MAC is
//! HMAC-SHA1 under the 20-byte "usable key" derived from the 40-character security key, in
//! hexadecimal. The same scheme signs the redirect and the CGI2 return.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha1::Sha1;
use tpe_core::ProviderError;
use zeroize::Zeroize;

use crate::Monetico;

/// The name of the field carrying the MAC.
pub const MAC_FIELD: &str = "MAC";

/// The length of the security key, in characters.
pub const KEY_CHARS: usize = 40;

/// The bytes of the MAC string a notification verified with (spec C.4 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// The UTF-8 bytes (PHP kits; identical to ISO-8859-1 for ASCII text).
    Utf8,
    /// The ISO-8859-1 bytes (the official Python kit).
    Latin1,
}

/// The MAC string of `fields`: [`MAC_FIELD`] left out, sorted by name, `name=value` joined by
/// `*`.
///
/// ```
/// let s = tpe_monetico::sign::mac_string([("version", "3.0"), ("MAC", "x"), ("TPE", "1234567")]);
/// assert_eq!(s, "TPE=1234567*version=3.0");
/// ```
pub fn mac_string<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut fields: Vec<(&str, &str)> = fields.into_iter().collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    mac_string_of_sorted(&fields)
}

/// [`mac_string`] of fields already sorted by name ([`MAC_FIELD`] is still left out).
pub fn mac_string_of_sorted(fields: &[(&str, &str)]) -> String {
    let len = fields.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (name, value) in fields.iter().filter(|(name, _)| *name != MAC_FIELD) {
        if !out.is_empty() {
            out.push('*');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The ISO-8859-1 bytes of `text`, or `None` when a character is not in ISO-8859-1.
pub fn latin1(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// The 20-byte usable key of a 40-character security key (spec C.4 step 1): the first 38
/// characters, then the last two as the bank's kit rewrites them (a letter `G`…`` ` `` moved
/// 23 places down, `xM` read as `x0`), all decoded from hexadecimal.
///
/// ```
/// use secrecy::{ExposeSecret, SecretString};
/// let key = SecretString::from("12345678901234567890123456789012345678P0");
/// let usable = tpe_monetico::sign::usable_key(&key)?;
/// assert_eq!(hex::encode(usable.expose_secret()), "1234567890123456789012345678901234567890");
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
///
/// # Errors
/// [`ProviderError::Config`] naming `key` when it is not 40 such characters (never quoting it).
pub fn usable_key(key: &SecretString) -> Result<SecretBox<[u8; 20]>, ProviderError> {
    let bad = || {
        ProviderError::config(
            &Monetico::ID,
            "key must be the 40-character security key (hexadecimal, as Monetico issues it)",
        )
    };
    let text = key.expose_secret().trim().as_bytes();
    if text.len() != KEY_CHARS {
        return Err(bad());
    }
    let mut chars = [0u8; KEY_CHARS];
    chars.copy_from_slice(text);
    let (c1, c2) = (chars[38], chars[39]);
    if (71..=96).contains(&c1) {
        chars[38] = c1 - 23;
    } else if c2 == b'M' {
        chars[39] = b'0';
    }
    let mut bytes = Box::new([0u8; 20]);
    // `hex`'s error would quote the offending digit: it is not passed on.
    let decoded = hex::decode_to_slice(chars, &mut bytes[..]);
    chars.zeroize();
    match decoded {
        Ok(()) => Ok(SecretBox::new(bytes)),
        Err(_) => {
            bytes.fill(0);
            Err(bad())
        }
    }
}

/// The merchant's HMAC-SHA1 key, derived once. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct MacKey {
    // The keyed state (inner and outer pads), cloned for each MAC: the key bytes are not kept.
    mac: Hmac<Sha1>,
}

impl MacKey {
    /// Derives the usable key of a 40-character security key.
    ///
    /// # Errors
    /// As [`usable_key`].
    pub fn new(key: &SecretString) -> Result<Self, ProviderError> {
        let usable = usable_key(key)?;
        let mac = Hmac::<Sha1>::new_from_slice(usable.expose_secret())
            .map_err(|_| ProviderError::config(&Monetico::ID, "key cannot key HMAC-SHA1"))?;
        Ok(Self { mac })
    }

    /// The MAC of raw bytes, in lower-case hexadecimal (as the bank's kits emit it).
    pub fn mac_bytes(&self, bytes: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    /// The MAC of `fields` (UTF-8 bytes of [`mac_string`]), in lower-case hexadecimal.
    pub fn sign<'a>(&self, fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        self.mac_bytes(mac_string(fields).as_bytes())
    }

    /// Checks a hexadecimal MAC (either case) against `fields`, in constant time: over the
    /// UTF-8 bytes of the MAC string, then — only when that fails and the string has
    /// non-ASCII text that ISO-8859-1 can write — over its ISO-8859-1 bytes (spec C.4 step 4).
    ///
    /// # Errors
    /// [`ProviderError::BadSignature`] when the MAC is not 40 hexadecimal digits or verifies
    /// with neither encoding.
    pub fn verify<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        mac_hex: &str,
    ) -> Result<Encoding, ProviderError> {
        self.verify_text(&mac_string(fields), mac_hex)
    }

    /// Checks a hexadecimal MAC (either case) of a MAC string already built (the legacy
    /// format's), as [`MacKey::verify`] does.
    ///
    /// # Errors
    /// As [`MacKey::verify`].
    pub fn verify_text(&self, text: &str, mac_hex: &str) -> Result<Encoding, ProviderError> {
        let bad = || ProviderError::bad_signature(&Monetico::ID);
        let mut tag = [0u8; 20];
        if mac_hex.len() != 2 * tag.len() {
            return Err(bad());
        }
        hex::decode_to_slice(mac_hex, &mut tag).map_err(|_| bad())?;
        let check = |bytes: &[u8]| {
            let mut mac = self.mac.clone();
            mac.update(bytes);
            mac.verify_slice(&tag).is_ok()
        };
        if check(text.as_bytes()) {
            return Ok(Encoding::Utf8);
        }
        if !text.is_ascii()
            && let Some(bytes) = latin1(text)
            && check(&bytes)
        {
            return Ok(Encoding::Latin1);
        }
        Err(bad())
    }

    /// `fields` form-encoded in their order, the MAC appended last: what the bank posts (for
    /// tests and tools).
    pub fn signed_form(&self, fields: &[(&str, &str)]) -> String {
        let mac = self.sign(fields.iter().copied());
        tpe_core::form::encode_signed(fields, MAC_FIELD, &mac)
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(HMAC-SHA1, redacted)")
    }
}

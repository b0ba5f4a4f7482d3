//! The only file touching key bytes: `PBX_HMAC` / Direct `HMAC` (spec §3, §7.4) and the RSA
//! verification of the bank's signature `K` (spec §4.3).
//!
//! The HMAC key is hex-decoded once and kept as a keyed MAC state that is cloned per message, so
//! signing never re-keys. Public keys are parsed once, at build.

use std::borrow::Cow;
use std::fmt;

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, UnparsedPublicKey,
};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::config::{HashAlgorithm, PublicKeySource};
use crate::error::{Error, Result};

/// The public key Paybox publishes (spec §4.4), the same for e-Transactions.
pub const PAYBOX_PUBLIC_KEY_PEM: &str = include_str!("paybox-pubkey.pem");

/// The merchant HMAC key, decoded and keyed for one hash. `Debug` never shows it.
#[derive(Clone)]
pub struct HmacKey {
    keyed: Keyed,
}

#[derive(Clone)]
enum Keyed {
    Sha512(Hmac<Sha512>),
    Sha384(Hmac<Sha384>),
    Sha256(Hmac<Sha256>),
    Sha224(Hmac<Sha224>),
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({}, [REDACTED])", self.algorithm())
    }
}

impl HmacKey {
    /// Decodes a 128-hex-character back-office key (either case) for `hash`.
    ///
    /// # Errors
    /// A configuration error naming the problem (length, non-hex) but never the key.
    pub(crate) fn from_hex(key: &SecretString, hash: HashAlgorithm) -> Result<Self> {
        let hex_key = key.expose_secret().trim();
        if hex_key.len() != 128 {
            return Err(Error::config(format!(
                "hmac key must be 128 hexadecimal characters, it has {}",
                hex_key.chars().count()
            )));
        }
        let bytes = Zeroizing::new(hex::decode(hex_key).map_err(|_| {
            Error::config("hmac key must be 128 hexadecimal characters (0-9, A-F)")
        })?);
        let keyed = match hash {
            HashAlgorithm::Sha512 => Keyed::Sha512(keyed(&bytes)?),
            HashAlgorithm::Sha384 => Keyed::Sha384(keyed(&bytes)?),
            HashAlgorithm::Sha256 => Keyed::Sha256(keyed(&bytes)?),
            HashAlgorithm::Sha224 => Keyed::Sha224(keyed(&bytes)?),
        };
        Ok(Self { keyed })
    }

    /// The hash this key signs with.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.keyed {
            Keyed::Sha512(_) => HashAlgorithm::Sha512,
            Keyed::Sha384(_) => HashAlgorithm::Sha384,
            Keyed::Sha256(_) => HashAlgorithm::Sha256,
            Keyed::Sha224(_) => HashAlgorithm::Sha224,
        }
    }

    /// Upper-case hex HMAC of `NAME=value&NAME=value…` over the fields in order, values raw.
    pub fn sign_fields<'a, I, K, V>(&self, fields: I) -> String
    where
        I: IntoIterator<Item = &'a (K, V)>,
        K: AsRef<str> + 'a,
        V: AsRef<str> + 'a,
    {
        fn run<M: Mac + Clone>(m: &M, fields: &mut dyn Iterator<Item = (&str, &str)>) -> String {
            // The MAC buffers up to a block itself: the pieces go straight in.
            let mut m = m.clone();
            for (i, (k, v)) in fields.enumerate() {
                if i > 0 {
                    m.update(b"&");
                }
                m.update(k.as_bytes());
                m.update(b"=");
                m.update(v.as_bytes());
            }
            // Spec §3.1: the MAC is sent in upper case. Encoded on the stack (SHA-512 is the
            // longest) and upper-cased in place: `hex::encode_upper` goes char by char.
            let mac = m.finalize().into_bytes();
            let mut buf = [0u8; 128];
            let text = &mut buf[..mac.len() * 2];
            // The buffer is exactly twice the MAC: encoding cannot fail.
            let _ = hex::encode_to_slice(mac.as_slice(), text);
            text.make_ascii_uppercase();
            // ASCII hex digits: always UTF-8.
            String::from_utf8(text.to_vec()).unwrap_or_default()
        }
        let mut it = fields.into_iter().map(|(k, v)| (k.as_ref(), v.as_ref()));
        match &self.keyed {
            Keyed::Sha512(m) => run(m, &mut it),
            Keyed::Sha384(m) => run(m, &mut it),
            Keyed::Sha256(m) => run(m, &mut it),
            Keyed::Sha224(m) => run(m, &mut it),
        }
    }
}

fn keyed<M: KeyInit>(bytes: &[u8]) -> Result<M> {
    // HMAC accepts keys of any length; the error branch is unreachable but kept typed.
    M::new_from_slice(bytes).map_err(|_| Error::config("hmac key rejected"))
}

/// Upper-case hex HMAC of the fields in order with a hex key (the `tpe paybox sign` tool).
///
/// ```
/// let key = secrecy::SecretString::from("0123456789ABCDEF".repeat(8));
/// let mac = tpe_paybox::sign::hmac_hex(&key, tpe_paybox::config::HashAlgorithm::Sha512,
///     &[("PBX_SITE", "1999888")])?;
/// assert_eq!(mac.len(), 128);
/// # Ok::<(), tpe_core::ProviderError>(())
/// ```
///
/// # Errors
/// [`tpe_core::ProviderError::Config`] when the key is not 128 hex characters.
pub fn hmac_hex(
    key: &SecretString,
    hash: HashAlgorithm,
    fields: &[(&str, &str)],
) -> Result<String, tpe_core::ProviderError> {
    Ok(HmacKey::from_hex(key, hash)?.sign_fields(fields))
}

/// A signature that verifies with none of the bank's keys (it says nothing more, so that it
/// cannot help a forger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify with the bank's public key(s)")]
#[non_exhaustive]
pub struct SignatureMismatch;

/// The bank's public keys, parsed once. A signature verifying with any of them is accepted.
#[derive(Clone)]
pub struct BankKeys {
    keys: Vec<ParsedPublicKey>,
}

impl fmt::Debug for BankKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankKeys({} RSA keys)", self.keys.len())
    }
}

impl BankKeys {
    /// Loads and parses every source (files are read now).
    ///
    /// # Errors
    /// [`tpe_core::ProviderError::Config`] naming the source that failed.
    pub fn load(sources: &[PublicKeySource]) -> Result<Self, tpe_core::ProviderError> {
        if sources.is_empty() {
            return Err(Error::config("at least one bank public key is required").into());
        }
        let keys = sources
            .iter()
            .map(|s| match s {
                PublicKeySource::Embedded => {
                    parse_key(PAYBOX_PUBLIC_KEY_PEM.as_bytes(), "embedded")
                }
                PublicKeySource::Pem(pem) => parse_key(pem.as_bytes(), "inline PEM"),
                PublicKeySource::File(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        Error::config(format!(
                            "public key file {}: cannot read: {}",
                            path.display(),
                            e.kind()
                        ))
                    })?;
                    parse_key(&bytes, &path.display().to_string())
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { keys })
    }

    /// Parses PEM (`PUBLIC KEY` / `RSA PUBLIC KEY`) or DER bytes.
    ///
    /// # Errors
    /// [`tpe_core::ProviderError::Config`] when not an RSA public key of 1024 to 8192 bits.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, tpe_core::ProviderError> {
        Ok(Self {
            keys: vec![parse_key(bytes, "given key")?],
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no key (never, once built).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks that `signature` is an RSA PKCS#1 v1.5 SHA-1 signature of `message` by one of
    /// the keys.
    ///
    /// # Errors
    /// [`SignatureMismatch`] when no key verifies it.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureMismatch> {
        if self
            .keys
            .iter()
            .any(|k| k.verify_sig(message, signature).is_ok())
        {
            Ok(())
        } else {
            Err(SignatureMismatch)
        }
    }
}

fn parse_key(bytes: &[u8], what: &str) -> Result<ParsedPublicKey> {
    let der = pem_to_der(bytes).map_err(|e| Error::config(format!("public key {what}: {e}")))?;
    UnparsedPublicKey::new(&RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, der)
        .parse()
        .map_err(|e| Error::config(format!("public key {what}: not an RSA public key ({e})")))
}

/// DER from PEM text (RFC 7468, any line width), or the bytes themselves when they are not PEM.
fn pem_to_der(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    // DER starts with 0x30 and has no boundary line.
    if memchr::memmem::find(bytes, b"-----BEGIN ").is_none() {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut decoder = pem_rfc7468::Decoder::new_detect_wrap(bytes.trim_ascii())
        .map_err(|e| format!("not PEM ({e})"))?;
    if !matches!(decoder.type_label(), "PUBLIC KEY" | "RSA PUBLIC KEY") {
        return Err("PEM must be a PUBLIC KEY or RSA PUBLIC KEY".to_owned());
    }
    let mut der = Vec::new();
    decoder
        .decode_to_end(&mut der)
        .map_err(|e| format!("PEM body is not base64 ({e})"))?;
    Ok(Cow::Owned(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

    #[test]
    fn mac_is_upper_case_hex_of_the_plain_mac() {
        // Formerly the oracle of a buffered MAC feed and a hand-written hex table; kept to pin
        // `&`/`=` joining and the upper case the bank compares against.
        let key = HmacKey::from_hex(&SecretString::from(TEST_KEY), HashAlgorithm::Sha512).unwrap();
        let Keyed::Sha512(m) = &key.keyed else {
            unreachable!()
        };
        for len in [0, 1, 127, 128, 2047, 2048, 2049, 9000] {
            let value: String = (0..len)
                .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap()))
                .collect();
            let mut plain = m.clone();
            plain.update(format!("A=1&B={value}").as_bytes());
            let want = hex::encode(plain.finalize().into_bytes()).to_ascii_uppercase();
            assert_eq!(key.sign_fields(&[("A", "1"), ("B", value.as_str())]), want);
        }
    }

    #[test]
    fn key_case_does_not_matter_and_bad_keys_are_refused() {
        let upper =
            HmacKey::from_hex(&SecretString::from(TEST_KEY), HashAlgorithm::Sha512).unwrap();
        let lower = HmacKey::from_hex(
            &SecretString::from(TEST_KEY.to_lowercase()),
            HashAlgorithm::Sha512,
        )
        .unwrap();
        let f = [("A", "1"), ("B", "x=y&z")];
        assert_eq!(upper.sign_fields(&f), lower.sign_fields(&f));
        for bad in [
            "",
            "AB",
            &"G".repeat(128),
            &"A".repeat(127),
            &"A".repeat(130),
        ] {
            let e = HmacKey::from_hex(&SecretString::from(bad.to_owned()), HashAlgorithm::Sha512)
                .unwrap_err()
                .to_string();
            assert!(!bad.is_empty() && !e.contains(bad) || bad.is_empty(), "{e}");
        }
    }

    #[test]
    fn direct_self_computed_vector() {
        // Spec §7.4 (self-computed; arithmetic only).
        let key = HmacKey::from_hex(&SecretString::from(TEST_KEY), HashAlgorithm::Sha512).unwrap();
        let fields = [
            ("VERSION", "00104"),
            ("TYPE", "00014"),
            ("SITE", "1999888"),
            ("RANG", "032"),
            ("IDENTIFIANT", "107904482"),
            ("NUMQUESTION", "0000000001"),
            ("MONTANT", "0000001000"),
            ("DEVISE", "978"),
            ("REFERENCE", "ORDER-2025-0001"),
            ("NUMAPPEL", "0000123456"),
            ("NUMTRANS", "0000654321"),
            ("DATEQ", "15012025103000"),
            ("HASH", "SHA512"),
        ];
        assert_eq!(
            key.sign_fields(&fields),
            "8E6819A11CB4B2B5C96E6D15F307757FE02B9509DE77CD07586AB666804F1A4C5340A6A98BB12B5BAF41DFFF16BBDAC016CE0AA673F72566E3F6BF08E736ACDA"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let key = HmacKey::from_hex(&SecretString::from(TEST_KEY), HashAlgorithm::Sha256).unwrap();
        let d = format!("{key:?}");
        assert!(!d.contains("0123") && d.contains("SHA256"), "{d}");
    }

    #[test]
    fn embedded_key_parses_and_pem_errors_are_clear() {
        let keys = BankKeys::load(&[PublicKeySource::Embedded]).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.verify(b"x", &[0; 128]), Err(SignatureMismatch));
        let e = BankKeys::from_pem_or_der(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("PUBLIC KEY"), "{e}");
        assert!(BankKeys::from_pem_or_der(b"garbage").is_err());
        assert!(BankKeys::load(&[]).is_err());
    }
}

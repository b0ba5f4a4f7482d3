//! The `Stripe-Signature` scheme (spec §A.7): `t=<unix>,v1=<hex>[,v1=<hex>…]` where each `v1` is
//! `hex(HMAC-SHA256(key = the whole secret string, msg = t + "." + raw body))`.
//!
//! This is the only file that touches webhook key bytes. Keys are turned into keyed HMAC states
//! once, at startup; verifying clones a state instead of re-deriving the key pads.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use hmac::digest::CtOutput;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tpe_core::{ProviderError, Timestamp};

use crate::StripeLike;
use crate::error::{bad_signature, config_error, malformed};

type HmacSha256 = Hmac<Sha256>;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
/// Longest `Stripe-Signature` header accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 4096;
/// Most `v1` signatures read from one header (Stripe sends one per active secret).
pub const MAX_SIGNATURES: usize = 8;
/// Longest webhook signing secret accepted, in bytes.
pub const MAX_SECRET_LEN: usize = 255;

/// Why a `Stripe-Signature` header was refused.
///
/// The `Display` never contains a signature, a secret or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is absent.
    #[error("no {SIGNATURE_HEADER} header")]
    MissingHeader,
    /// The header cannot be read: what was wrong.
    #[error("{SIGNATURE_HEADER} header is malformed: {0}")]
    Malformed(&'static str),
    /// The header has no well-formed `v1` signature.
    #[error("{SIGNATURE_HEADER} header has no usable v1 signature")]
    NoSignature,
    /// No `v1` signature matches any configured secret.
    #[error("signature does not match")]
    Mismatch,
    /// The signature is right but the timestamp is outside the tolerance.
    #[error("timestamp is {age_secs}s from now, tolerance is {tolerance_secs}s")]
    Stale {
        /// `now - t` in seconds (negative when `t` is in the future).
        age_secs: i64,
        /// The tolerance.
        tolerance_secs: u64,
    },
}

impl From<SignatureError> for ProviderError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Malformed(what) => malformed(what),
            SignatureError::Stale {
                age_secs,
                tolerance_secs,
            } => ProviderError::Stale {
                provider: StripeLike::ID,
                age_secs,
                tolerance_secs,
            },
            SignatureError::MissingHeader
            | SignatureError::NoSignature
            | SignatureError::Mismatch => bad_signature(),
        }
    }
}

/// Verifies `Stripe-Signature` headers against one or more signing secrets.
///
/// ```
/// use tpe_core::Timestamp;
/// use tpe_stripe_like::{WebhookVerifier, generate_test_header};
/// let body = br#"{"id":"evt_1"}"#;
/// let header = generate_test_header(body, "whsec_demo", 1_735_689_600);
/// let verifier = WebhookVerifier::new(["whsec_old", "whsec_demo"], 300)?;
/// let now = Timestamp::from_second(1_735_689_650)?;
/// assert!(verifier.verify(Some(header.as_bytes()), body, now).is_ok());
/// assert!(verifier.verify(Some(header.as_bytes()), b"{}", now).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WebhookVerifier {
    keys: Vec<HmacSha256>,
    tolerance_secs: u64,
    /// The secret that matched last, tried first: during a rotation the PSP may sign with one
    /// secret only, and trying the other first would double the work of every event.
    last: AtomicUsize,
}

impl Clone for WebhookVerifier {
    fn clone(&self) -> Self {
        Self {
            keys: self.keys.clone(),
            tolerance_secs: self.tolerance_secs,
            last: AtomicUsize::new(self.last.load(Ordering::Relaxed)),
        }
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.keys.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier accepting a signature by any of `secrets`, with a replay window of
    /// `tolerance_secs` both in the past and in the future.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when there is no secret, one is empty, longer than
    /// [`MAX_SECRET_LEN`] or not visible ASCII.
    pub fn new<'a>(
        secrets: impl IntoIterator<Item = &'a str>,
        tolerance_secs: u64,
    ) -> Result<Self, ProviderError> {
        let mut keys = Vec::new();
        for (i, secret) in secrets.into_iter().enumerate() {
            if secret.is_empty()
                || secret.len() > MAX_SECRET_LEN
                || !secret.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(config_error(format!(
                    "webhook secret #{} must be 1 to {MAX_SECRET_LEN} visible ASCII characters",
                    i + 1
                )));
            }
            keys.push(
                HmacSha256::new_from_slice(secret.as_bytes())
                    .map_err(|_| config_error("webhook secret cannot key HMAC-SHA256"))?,
            );
        }
        if keys.is_empty() {
            return Err(config_error("at least one webhook secret is required"));
        }
        Ok(Self {
            keys,
            tolerance_secs,
            last: AtomicUsize::new(0),
        })
    }

    /// A verifier from configured secrets.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn from_secrets(
        secrets: &[SecretString],
        tolerance_secs: u64,
    ) -> Result<Self, ProviderError> {
        Self::new(secrets.iter().map(|s| s.expose_secret()), tolerance_secs)
    }

    /// The replay window in seconds.
    pub fn tolerance_secs(&self) -> u64 {
        self.tolerance_secs
    }

    /// Checks `header` (the `Stripe-Signature` value, `None` when absent) over `body` exactly
    /// as received, then the timestamp against `now`. Returns the signed timestamp.
    ///
    /// Each secret's tag (the secret that matched last first) is compared in constant time with
    /// every `v1`; `v0` and unknown schemes are ignored, and so is a `v1` that is not 64 hex
    /// digits. Nothing of the body is read here: it is only hashed.
    ///
    /// # Errors
    /// [`SignatureError`]; the timestamp is only judged once the signature matched.
    pub fn verify(
        &self,
        header: Option<&[u8]>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<i64, SignatureError> {
        let header = header.ok_or(SignatureError::MissingHeader)?;
        let parsed = ParsedHeader::parse(header)?;
        let candidates = &parsed.v1[..parsed.v1_count];
        let matches = |key: &HmacSha256| {
            // The keyed state is cloned, not re-derived from the secret.
            let mut mac = key.clone();
            mac.update(parsed.t_raw);
            mac.update(b".");
            mac.update(body);
            // One tag per secret, compared in constant time with each candidate.
            let tag = mac.finalize();
            candidates
                .iter()
                .any(|candidate| tag == CtOutput::new((*candidate).into()))
        };
        let last = self.last.load(Ordering::Relaxed);
        let first_matches = self.keys.get(last).is_some_and(matches);
        if !first_matches {
            let matched = (0..self.keys.len())
                .filter(|&k| k != last)
                .find(|&k| matches(&self.keys[k]))
                .ok_or(SignatureError::Mismatch)?;
            // Which secret signs is no secret.
            self.last.store(matched, Ordering::Relaxed);
        }
        let age_secs = now.as_second().saturating_sub(parsed.t);
        if age_secs.unsigned_abs() > self.tolerance_secs {
            return Err(SignatureError::Stale {
                age_secs,
                tolerance_secs: self.tolerance_secs,
            });
        }
        Ok(parsed.t)
    }
}

/// A header split into its timestamp and decoded `v1` candidates, without allocating.
struct ParsedHeader<'a> {
    t: i64,
    t_raw: &'a [u8],
    v1: [[u8; 32]; MAX_SIGNATURES],
    v1_count: usize,
}

impl<'a> ParsedHeader<'a> {
    /// Reads `key=value` items separated by commas, each trimmed of spaces. Bounded: at most
    /// [`MAX_HEADER_LEN`] bytes and [`MAX_SIGNATURES`] `v1` items.
    fn parse(header: &'a [u8]) -> Result<Self, SignatureError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(SignatureError::Malformed("header too long"));
        }
        let mut out = ParsedHeader {
            t: 0,
            t_raw: &[],
            v1: [[0; 32]; MAX_SIGNATURES],
            v1_count: 0,
        };
        let mut seen_t = false;
        let mut v1_items = 0usize;
        for item in header.split(|&b| b == b',') {
            let mut parts = item.trim_ascii().splitn(2, |&b| b == b'=');
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            match key {
                b"t" => {
                    if seen_t {
                        return Err(SignatureError::Malformed("more than one timestamp"));
                    }
                    seen_t = true;
                    out.t = parse_unix(value)
                        .ok_or(SignatureError::Malformed("timestamp is not unix seconds"))?;
                    out.t_raw = value;
                }
                b"v1" => {
                    v1_items += 1;
                    if v1_items > MAX_SIGNATURES {
                        return Err(SignatureError::Malformed("too many v1 signatures"));
                    }
                    // A garbled candidate can never match: it is skipped, another may.
                    let mut tag = [0u8; 32];
                    if hex::decode_to_slice(value, &mut tag).is_ok() {
                        out.v1[out.v1_count] = tag;
                        out.v1_count += 1;
                    }
                }
                _ => {}
            }
        }
        if !seen_t {
            return Err(SignatureError::Malformed("no timestamp"));
        }
        if out.v1_count == 0 {
            return Err(SignatureError::NoSignature);
        }
        Ok(out)
    }
}

/// 1 to 12 decimal digits (up to year 33658), so arithmetic on it cannot overflow.
fn parse_unix(value: &[u8]) -> Option<i64> {
    if value.is_empty() || value.len() > 12 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A valid `Stripe-Signature` value `t=<timestamp>,v1=<hex>` for `payload` signed with
/// `secret`: for tests, the mock bank and `tpe stripe-like sign`.
///
/// ```
/// use tpe_stripe_like::generate_test_header;
/// let h = generate_test_header(b"{}", "whsec_x", 1_700_000_000);
/// assert!(h.starts_with("t=1700000000,v1="));
/// assert_eq!(h.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn generate_test_header(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let t = timestamp.to_string();
    // HMAC accepts keys of any length: this cannot fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn header_parsing_edge_cases() {
        let v = WebhookVerifier::new(["whsec_k"], 300).unwrap();
        let body = b"{}";
        let good = generate_test_header(body, "whsec_k", 1000);
        let sig = &good["t=1000,v1=".len()..];
        let ok = |h: &str| v.verify(Some(h.as_bytes()), body, at(1000));
        assert_eq!(ok(&good), Ok(1000));
        // Spaces around items, unknown schemes, v0 and a garbled v1 are tolerated.
        assert_eq!(
            ok(&format!(" t=1000 , foo=bar, v0={sig}, v1=zz, v1={sig} ")),
            Ok(1000)
        );
        assert_eq!(ok(&format!("v1={sig},t=1000")), Ok(1000));
        // Upper-case hex decodes to the same bytes.
        assert_eq!(ok(&format!("t=1000,v1={}", sig.to_uppercase())), Ok(1000));
        assert_eq!(
            ok(&format!("t=1000,v1={sig},t=1000")),
            Err(SignatureError::Malformed("more than one timestamp"))
        );
        assert_eq!(
            ok(&format!("v1={sig}")),
            Err(SignatureError::Malformed("no timestamp"))
        );
        assert_eq!(
            ok(&format!("t=-1,v1={sig}")),
            Err(SignatureError::Malformed("timestamp is not unix seconds"))
        );
        assert_eq!(
            ok(&format!("t=1e3,v1={sig}")),
            Err(SignatureError::Malformed("timestamp is not unix seconds"))
        );
        assert_eq!(
            ok(&format!("t=9999999999999,v1={sig}")),
            Err(SignatureError::Malformed("timestamp is not unix seconds"))
        );
        assert_eq!(ok("t=1000"), Err(SignatureError::NoSignature));
        assert_eq!(ok("t=1000,v0=abcd"), Err(SignatureError::NoSignature));
        assert_eq!(
            ok(&format!("t=1000,v1={}", &sig[..63])),
            Err(SignatureError::NoSignature)
        );
        assert_eq!(ok(""), Err(SignatureError::Malformed("no timestamp")));
        assert_eq!(ok(",,,=,"), Err(SignatureError::Malformed("no timestamp")));
        let many = format!("t=1000{}", format!(",v1={sig}").repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            ok(&many),
            Err(SignatureError::Malformed("too many v1 signatures"))
        );
        let long = format!("t=1000,v1={sig},x={}", "a".repeat(MAX_HEADER_LEN));
        assert_eq!(ok(&long), Err(SignatureError::Malformed("header too long")));
        assert_eq!(
            v.verify(None, body, at(1000)),
            Err(SignatureError::MissingHeader)
        );
    }

    #[test]
    fn tolerance_both_ways_and_only_after_the_signature() {
        let v = WebhookVerifier::new(["whsec_k"], 10).unwrap();
        let h = generate_test_header(b"x", "whsec_k", 1000);
        let check = |now| v.verify(Some(h.as_bytes()), b"x", at(now));
        assert!(check(990).is_ok() && check(1010).is_ok());
        assert_eq!(
            check(1011),
            Err(SignatureError::Stale {
                age_secs: 11,
                tolerance_secs: 10
            })
        );
        assert_eq!(
            check(989),
            Err(SignatureError::Stale {
                age_secs: -11,
                tolerance_secs: 10
            })
        );
        // A forged header with an old timestamp is a signature failure, not "stale".
        let forged = generate_test_header(b"x", "whsec_other", 1);
        assert_eq!(
            v.verify(Some(forged.as_bytes()), b"x", at(1000)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_are_checked_and_never_shown() {
        assert!(WebhookVerifier::new(std::iter::empty(), 300).is_err());
        assert!(WebhookVerifier::new([""], 300).is_err());
        assert!(WebhookVerifier::new(["whsec a"], 300).is_err());
        let e = WebhookVerifier::new(["whsec_ok", "bad\nsecret"], 300)
            .unwrap_err()
            .to_string();
        assert!(e.contains("#2") && !e.contains("bad"), "{e}");
        let v = WebhookVerifier::new(["whsec_TOPSECRET"], 300).unwrap();
        assert!(!format!("{v:?}").contains("TOPSECRET"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any body verifies under its own header, and not once a byte of it changed.
        #[test]
        fn any_body_verifies_and_any_change_is_refused(
            body in proptest::collection::vec(any::<u8>(), 0..700),
            t in 0i64..4_000_000_000,
            flip in any::<proptest::sample::Index>(),
        ) {
            let v = WebhookVerifier::new(["whsec_k"], 300).unwrap();
            let header = generate_test_header(&body, "whsec_k", t);
            prop_assert_eq!(v.verify(Some(header.as_bytes()), &body, at(t)), Ok(t));
            let mut changed = body.clone();
            if changed.is_empty() {
                changed.push(b'x');
            } else {
                let i = flip.index(changed.len());
                changed[i] ^= 1;
            }
            prop_assert_eq!(
                v.verify(Some(header.as_bytes()), &changed, at(t)),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn the_secret_that_signs_is_tried_first() {
        let v = WebhookVerifier::new(["whsec_old", "whsec_new", "whsec_next"], 300).unwrap();
        let body = b"{}";
        let check = |secret: &str| {
            v.verify(
                Some(generate_test_header(body, secret, 1000).as_bytes()),
                body,
                at(1000),
            )
        };
        assert_eq!(v.last.load(Ordering::Relaxed), 0);
        assert_eq!(check("whsec_new"), Ok(1000));
        assert_eq!(v.last.load(Ordering::Relaxed), 1);
        assert_eq!(check("whsec_new"), Ok(1000));
        assert_eq!(v.clone().last.load(Ordering::Relaxed), 1);
        assert_eq!(check("whsec_next"), Ok(1000));
        assert_eq!(v.last.load(Ordering::Relaxed), 2);
        assert_eq!(check("whsec_old"), Ok(1000));
        assert_eq!(v.last.load(Ordering::Relaxed), 0);
        // A refusal changes nothing.
        assert_eq!(check("whsec_other"), Err(SignatureError::Mismatch));
        assert_eq!(v.last.load(Ordering::Relaxed), 0);
        assert_eq!(check("whsec_new"), Ok(1000));
        assert_eq!(check("whsec_other"), Err(SignatureError::Mismatch));
        assert_eq!(v.last.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn errors_convert_to_provider_errors() {
        assert!(matches!(
            ProviderError::from(SignatureError::Mismatch),
            ProviderError::BadSignature { .. }
        ));
        assert!(matches!(
            ProviderError::from(SignatureError::MissingHeader),
            ProviderError::BadSignature { .. }
        ));
        assert!(matches!(
            ProviderError::from(SignatureError::Malformed("x")),
            ProviderError::Malformed { .. }
        ));
        assert!(matches!(
            ProviderError::from(SignatureError::Stale {
                age_secs: -400,
                tolerance_secs: 300
            }),
            ProviderError::Stale {
                age_secs: -400,
                tolerance_secs: 300,
                ..
            }
        ));
    }
}

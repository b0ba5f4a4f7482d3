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
    /// Every `v1` is tried against every secret with a constant-time comparison; `v0` and
    /// unknown schemes are ignored, and so is a `v1` that is not 64 hex digits.
    ///
    /// # Errors
    /// [`SignatureError`]; the timestamp is only judged once the signature matched.
    pub fn verify(
        &self,
        header: Option<&[u8]>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<i64, SignatureError> {
        self.verify_reading(header, body, now, |_| ())
            .map(|(t, ())| t)
    }

    /// [`Self::verify`], with `read` going through `body` meanwhile. `read` reports how far
    /// it got to the [`BodyMac`] it is given, which hashes the body along: a block's SHA-256
    /// rounds are one long chain of dependent instructions that leaves most of the core idle,
    /// and the reader's instructions fill it. What `read` returns is only handed back once the
    /// signature matched; it must not act on the body meanwhile.
    pub(crate) fn verify_reading<R>(
        &self,
        header: Option<&[u8]>,
        body: &[u8],
        now: Timestamp,
        read: impl FnOnce(&mut BodyMac<'_>) -> R,
    ) -> Result<(i64, R), SignatureError> {
        let header = header.ok_or(SignatureError::MissingHeader)?;
        let parsed = ParsedHeader::parse(header)?;
        let candidates = &parsed.v1[..parsed.v1_count];
        // One tag, compared in constant time with each candidate.
        let matches = |mac: HmacSha256| {
            let tag = mac.finalize();
            candidates
                .iter()
                .any(|candidate| tag == CtOutput::new((*candidate).into()))
        };
        let last = self.last.load(Ordering::Relaxed);
        let Some(first) = self.keys.get(last) else {
            return Err(SignatureError::Mismatch);
        };
        let mut along = BodyMac::new(first, parsed.t_raw, body);
        let out = read(&mut along);
        if !matches(along.finish()) {
            let (matched, _) = self
                .keys
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != last)
                .find(|(_, key)| matches(BodyMac::new(key, parsed.t_raw, body).finish()))
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
        Ok((parsed.t, out))
    }
}

/// Told how far a reader of the body got, for work on the body to follow it.
pub(crate) trait Progress {
    /// The reader got to `body[i]`, or is about to: the body up to there may be worked on.
    fn reached(&mut self, i: usize);
}

/// For a reader on its own.
impl Progress for () {
    #[inline(always)]
    fn reached(&mut self, _: usize) {}
}

/// The MAC of `t.body` under one secret, fed whole blocks of the body as a reader reports
/// progress through it.
pub(crate) struct BodyMac<'a> {
    mac: HmacSha256,
    body: &'a [u8],
    /// `body[..fed]` is in `mac`.
    fed: usize,
    /// Where the next whole block ends: no work before the reader gets there.
    next: usize,
    /// Bytes of `t.` in the first block, so that the body is fed in whole blocks.
    offset: usize,
}

impl<'a> BodyMac<'a> {
    const BLOCK: usize = 64;

    #[inline(always)]
    fn new(key: &HmacSha256, t_raw: &[u8], body: &'a [u8]) -> Self {
        let mut mac = key.clone();
        mac.update(t_raw);
        mac.update(b".");
        let offset = (t_raw.len() + 1) % Self::BLOCK;
        BodyMac {
            mac,
            body,
            fed: 0,
            next: Self::BLOCK - offset,
            offset,
        }
    }

    /// Feeds the rest of the body.
    #[inline(always)]
    fn finish(mut self) -> HmacSha256 {
        self.mac
            .update(self.body.get(self.fed..).unwrap_or_default());
        self.mac
    }

    /// Feeds the whole blocks of the body up to `i`.
    #[inline(never)]
    fn feed(&mut self, i: usize) {
        // The last block boundary at or before `i`, in the coordinates of the signed payload
        // `t.body`.
        let reached = i.min(self.body.len()) + self.offset;
        let boundary = reached - reached % Self::BLOCK;
        let end = boundary.saturating_sub(self.offset);
        if let Some(blocks) = self.body.get(self.fed..end).filter(|b| !b.is_empty()) {
            self.mac.update(blocks);
            self.fed = end;
        }
        self.next = boundary + Self::BLOCK - self.offset;
    }
}

impl Progress for BodyMac<'_> {
    #[inline(always)]
    fn reached(&mut self, i: usize) {
        if i >= self.next {
            self.feed(i);
        }
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
        // A garbled candidate can never match: it is skipped, another may.
        let mut v1 = |out: &mut Self, tag: Option<[u8; 32]>| {
            v1_items += 1;
            if v1_items > MAX_SIGNATURES {
                return Err(SignatureError::Malformed("too many v1 signatures"));
            }
            if let Some(tag) = tag {
                out.v1[out.v1_count] = tag;
                out.v1_count += 1;
            }
            Ok(())
        };
        let mut rest = header;
        while !rest.is_empty() {
            // The usual `v1=<64 hex digits>` item, taken without looking for its end: a
            // comma in it is no hex digit.
            if let Some(tag) = rest
                .strip_prefix(b"v1=")
                .filter(|value| matches!(value.get(64), None | Some(b',')))
                .and_then(|value| decode_tag(value.get(..64)?))
            {
                v1(&mut out, Some(tag))?;
                rest = rest.get(68..).unwrap_or_default();
                continue;
            }
            let (item, next) = match rest.iter().position(|&b| b == b',') {
                Some(comma) => (&rest[..comma], &rest[comma + 1..]),
                None => (rest, &[][..]),
            };
            rest = next;
            let item = item.trim_ascii();
            let Some(eq) = item.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (&item[..eq], &item[eq + 1..]);
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
                b"v1" => v1(&mut out, decode_tag(value))?,
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

/// 64 hex digits, either case, as 32 bytes. Without a branch per digit: a third of the cost
/// of a general hex decoder, on every verification.
fn decode_tag(hex: &[u8]) -> Option<[u8; 32]> {
    let hex: &[u8; 64] = hex.try_into().ok()?;
    let mut tag = [0u8; 32];
    let mut bad = false;
    for (byte, pair) in tag.iter_mut().zip(hex.as_chunks::<2>().0) {
        let (high, high_bad) = nibble(pair[0]);
        let (low, low_bad) = nibble(pair[1]);
        *byte = (high << 4) | low;
        bad |= high_bad | low_bad;
    }
    (!bad).then_some(tag)
}

/// The value of a hex digit, and whether `c` is none.
#[inline(always)]
fn nibble(c: u8) -> (u8, bool) {
    let digit = c.wrapping_sub(b'0');
    let letter = (c | 0x20).wrapping_sub(b'a');
    let is_digit = digit < 10;
    let is_letter = letter < 6;
    (
        if is_digit {
            digit
        } else {
            letter.wrapping_add(10) & 0x0f
        },
        !(is_digit | is_letter),
    )
}

/// 1 to 12 decimal digits (up to year 33658), so arithmetic on it cannot overflow.
fn parse_unix(value: &[u8]) -> Option<i64> {
    if value.is_empty() || value.len() > 12 {
        return None;
    }
    value.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
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
    fn tags_decode_as_hex_does() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd".to_vec(),
            b"5257A869E7ECEBEDA32AFFA62CDCA3FA51CAD7E77A0E56FF536D0CE8E108D8BD".to_vec(),
            b"0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef0000".to_vec(),
            vec![b'0'; 63],
            vec![b'0'; 65],
            Vec::new(),
        ];
        // Each byte value in each position of a pair.
        for b in 0..=255u8 {
            let mut hi = vec![b'a'; 64];
            hi[10] = b;
            let mut lo = vec![b'a'; 64];
            lo[11] = b;
            cases.extend([hi, lo]);
        }
        for case in cases {
            let mut expected = [0u8; 32];
            let expected = hex::decode_to_slice(&case, &mut expected)
                .is_ok()
                .then_some(expected);
            assert_eq!(decode_tag(&case), expected, "{case:?}");
        }
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

    /// The header as read item by item, without the `v1` shortcut: the oracle of the
    /// parser.
    fn parse_by_items(header: &[u8]) -> Result<(i64, Vec<[u8; 32]>), SignatureError> {
        let (mut t, mut v1, mut v1_items) = (None, Vec::new(), 0);
        for item in header.split(|&b| b == b',') {
            let item = item.trim_ascii();
            let Some(eq) = item.iter().position(|&b| b == b'=') else {
                continue;
            };
            match &item[..eq] {
                b"t" if t.is_some() => {
                    return Err(SignatureError::Malformed("more than one timestamp"));
                }
                b"t" => {
                    t = Some(
                        parse_unix(&item[eq + 1..])
                            .ok_or(SignatureError::Malformed("timestamp is not unix seconds"))?,
                    );
                }
                b"v1" => {
                    v1_items += 1;
                    if v1_items > MAX_SIGNATURES {
                        return Err(SignatureError::Malformed("too many v1 signatures"));
                    }
                    v1.extend(decode_tag(&item[eq + 1..]));
                }
                _ => {}
            }
        }
        let t = t.ok_or(SignatureError::Malformed("no timestamp"))?;
        if v1.is_empty() {
            return Err(SignatureError::NoSignature);
        }
        Ok((t, v1))
    }

    /// Headers made of the pieces that matter to the parser.
    fn header() -> impl Strategy<Value = String> {
        let tag = "[0-9a-fA-F]{62,66}";
        let item = prop_oneof![
            4 => tag.prop_map(|h| format!("v1={h}")),
            1 => tag.prop_map(|h| format!(" v1 ={h}")),
            1 => "[0-9a-f,]{60,70}".prop_map(|h| format!("v1={h}")),
            2 => "[0-9]{1,13}".prop_map(|t| format!("t={t}")),
            1 => "[ =,tv01a-z]{0,8}",
        ];
        proptest::collection::vec(item, 0..12).prop_map(|items| items.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The parser reads what reading item by item reads.
        #[test]
        fn header_parser_matches_item_by_item_reading(header in header()) {
            let parsed = ParsedHeader::parse(header.as_bytes())
                .map(|p| (p.t, p.v1[..p.v1_count].to_vec()));
            prop_assert_eq!(parsed, parse_by_items(header.as_bytes()));
        }

        /// Fed along a reader, whatever it reports, the MAC is that of `t.body`.
        #[test]
        fn body_mac_fed_along_equals_the_mac_of_the_payload(
            body in proptest::collection::vec(any::<u8>(), 0..700),
            t in "[0-9]{1,12}",
            mut reached in proptest::collection::vec(0usize..800, 0..40),
        ) {
            let key = HmacSha256::new_from_slice(b"whsec_k").unwrap();
            reached.sort_unstable();
            let mut along = BodyMac::new(&key, t.as_bytes(), &body);
            for &i in &reached {
                along.reached(i);
            }
            let mut direct = key.clone();
            direct.update(t.as_bytes());
            direct.update(b".");
            direct.update(&body);
            prop_assert_eq!(along.finish().finalize(), direct.finalize());
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

//! Notifications (IPN and browser returns): verify the signature `K` over the raw bytes exactly
//! as received, then read the `PBX_RETOUR` variables (spec §4).
//!
//! # Rules
//! - Bytes: the raw query string for GET, the raw body for POST (`PBX_RUF1=POST`).
//! - Signed data: everything before the **last** `&<signature name>=`; the signature is the rest,
//!   percent-decoded then base64-decoded. Nothing is decoded or re-encoded before verification.
//! - Merchant prefix (spec §4.3): when the notification URL carries its own query parameters,
//!   the bank's variables follow them. The full data is tried first, then the data starting at
//!   the first `PBX_RETOUR` name; only the part that verified is read.
//! - Outcome: `00000` → accepted; `99999` (and `00099`) → pending; `00001` without a transaction
//!   number (`S` absent, empty or zero — what a cancel on the payment page returns, spec §4.5)
//!   and `00030` (page timeout) → cancelled; anything else → refused with its classified code.
//! - Bank transaction id: `<T>:<S>` (call number `NUMAPPEL`, transaction number `NUMTRANS`, as
//!   received, `0` when absent): what Paybox Direct needs for refund, capture and cancel.
//! - Reading: one pass over the verified bytes, split on `&` then the first `=`, exactly as
//!   `application/x-www-form-urlencoded` parsing does; values borrow the input and are decoded
//!   (`+`, `%XX`, lossy UTF-8) only when they need it. Names outside `PBX_RETOUR` are skipped; a
//!   variable given twice is malformed.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use tpe_core::{
    Amount, BankOutcome, BankReference, CardSummary, Currency, HttpMethod, RawNotification,
    ThreeDs, ThreeDsStatus, VerifiedNotification,
};

use crate::Paybox;
use crate::codes;
use crate::config::RetourSpec;
use crate::error::{Error, Result};
use crate::sign::BankKeys;

/// Largest decoded signature accepted (an 8192-bit RSA signature).
const MAX_SIGNATURE: usize = 1024;

/// Why a signature check failed. Never contains the signature or the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureProblem {
    /// No `&<name>=` parameter.
    #[error("no signature parameter {0:?} found")]
    Missing(&'static str),
    /// No signature parameter (the name was not known).
    #[error("no signature parameter found (the signature must be the last parameter)")]
    NoParameter,
    /// An empty signature value.
    #[error("the signature is empty")]
    Empty,
    /// The signature parameter appears more than once.
    #[error("the signature parameter appears more than once")]
    Duplicated,
    /// Not percent-encoded base64.
    #[error("the signature is not base64")]
    NotBase64,
    /// Too long to be an RSA signature.
    #[error("the signature is too long")]
    TooLong,
    /// Verifies with none of the bank's keys.
    #[error("the signature does not verify with the bank's public key(s)")]
    Mismatch,
}

/// The part of a notification that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedPart<'a> {
    /// The signed bytes.
    pub data: &'a [u8],
    /// Bytes of merchant prefix skipped before `data` (0 when the whole data verified).
    pub prefix_len: usize,
}

/// Verifies `raw` whose signature is the last parameter, named `sig_name`, or whatever the last
/// parameter is called when `sig_name` is `None` (the `tpe paybox verify` tool).
///
/// When `first_name` is given and the whole data does not verify, the data starting at
/// `first_name=` is tried (merchant prefix, spec §4.3).
///
/// # Errors
/// A [`SignatureProblem`] saying why, without any secret.
pub fn check_signature<'a>(
    keys: &BankKeys,
    raw: &'a [u8],
    sig_name: Option<&str>,
    first_name: Option<&str>,
) -> Result<SignedPart<'a>, SignatureProblem> {
    let (data, sig) = match sig_name {
        Some(name) => split_named(raw, name)?,
        None => split_last(raw)?,
    };
    let sig = decode_signature(sig)?;
    let sig = sig.as_bytes();
    if keys.verify(data, sig) {
        return Ok(SignedPart {
            data,
            prefix_len: 0,
        });
    }
    if let Some(start) = first_name
        .and_then(|n| find_param(data, n))
        .filter(|&p| p > 0)
    {
        let rest = &data[start..];
        if keys.verify(rest, sig) {
            return Ok(SignedPart {
                data: rest,
                prefix_len: start,
            });
        }
    }
    Err(SignatureProblem::Mismatch)
}

fn split_named<'a>(raw: &'a [u8], name: &str) -> Result<(&'a [u8], &'a [u8]), SignatureProblem> {
    let n = name.as_bytes();
    let mut end = raw.len();
    let pos = loop {
        let amp = rfind_byte(&raw[..end], b'&').ok_or(SignatureProblem::Missing("signature"))?;
        if param_at(raw, amp + 1, n) {
            break amp;
        }
        end = amp;
    };
    let data = &raw[..pos];
    if find_param(data, name).is_some() {
        return Err(SignatureProblem::Duplicated);
    }
    Ok((data, &raw[pos + n.len() + 2..]))
}

/// Last index of `byte`, looked for 16 bytes at a time: the signature after the last `&` is a
/// few hundred bytes without one.
fn rfind_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let mut end = hay.len();
    // A non-short-circuiting test over a fixed block, which the compiler turns into SIMD.
    while end >= 16
        && !hay[end - 16..end]
            .iter()
            .fold(false, |f, &b| f | (b == byte))
    {
        end -= 16;
    }
    hay[..end].iter().rposition(|&b| b == byte)
}

/// First index of `byte`, looked for 16 bytes at a time (the `%` escapes of a signature are
/// tens of bytes apart).
fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let mut start = 0;
    while hay.len() - start >= 16
        && !hay[start..start + 16]
            .iter()
            .fold(false, |f, &b| f | (b == byte))
    {
        start += 16;
    }
    hay[start..]
        .iter()
        .position(|&b| b == byte)
        .map(|p| start + p)
}

/// Whether `name=` starts at `start`.
fn param_at(raw: &[u8], start: usize, name: &[u8]) -> bool {
    let end = start + name.len();
    // A byte loop: names are short, a `memcmp` call per `&` would cost more than the compare.
    raw.get(start..end)
        .is_some_and(|s| s.iter().zip(name).all(|(a, b)| a == b))
        && raw.get(end) == Some(&b'=')
}

fn split_last(raw: &[u8]) -> Result<(&[u8], &[u8]), SignatureProblem> {
    let amp = raw
        .iter()
        .rposition(|&b| b == b'&')
        .ok_or(SignatureProblem::NoParameter)?;
    let param = &raw[amp + 1..];
    let eq = param
        .iter()
        .position(|&b| b == b'=')
        .ok_or(SignatureProblem::NoParameter)?;
    Ok((&raw[..amp], &param[eq + 1..]))
}

/// Index of `name=` at the start of `data` or right after a `&`.
fn find_param(data: &[u8], name: &str) -> Option<usize> {
    let n = name.as_bytes();
    if param_at(data, 0, n) {
        return Some(0);
    }
    let mut from = 0;
    while let Some(amp) = find_byte(&data[from..], b'&').map(|p| from + p) {
        if param_at(data, amp + 1, n) {
            return Some(amp + 1);
        }
        from = amp + 1;
    }
    None
}

/// Longest base64 text of a [`MAX_SIGNATURE`]-byte signature.
const MAX_SIGNATURE_BASE64: usize = MAX_SIGNATURE.div_ceil(3) * 4;

/// A decoded signature, on the stack.
struct Signature {
    bytes: [u8; MAX_SIGNATURE],
    len: usize,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({} bytes)", self.len)
    }
}

impl Signature {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn decode_signature(sig: &[u8]) -> Result<Signature, SignatureProblem> {
    if sig.is_empty() {
        return Err(SignatureProblem::Empty);
    }
    if sig.len() > MAX_SIGNATURE * 3 {
        return Err(SignatureProblem::TooLong);
    }
    // Percent-decoding only: a literal `+` is a base64 character here, not a space. More text
    // than the longest signature needs is too long (or not base64 at all).
    let mut text = [0u8; MAX_SIGNATURE_BASE64];
    let len = percent_decode_into(sig, &mut text).ok_or(SignatureProblem::TooLong)?;
    let mut out = Signature {
        bytes: [0; MAX_SIGNATURE],
        len: 0,
    };
    out.len = base64::engine::general_purpose::STANDARD
        .decode_slice(&text[..len], &mut out.bytes)
        .map_err(|e| match e {
            base64::DecodeSliceError::OutputSliceTooSmall => SignatureProblem::TooLong,
            base64::DecodeSliceError::DecodeError(_) => SignatureProblem::NotBase64,
        })?;
    if out.len == 0 {
        return Err(SignatureProblem::Empty);
    }
    Ok(out)
}

/// Percent-decodes `input` into `out` as `percent_encoding::percent_decode` does (`%XX` with two
/// hex digits is a byte, any other `%` stays), copying the runs between escapes whole. `None`
/// when `out` is too small.
fn percent_decode_into(input: &[u8], out: &mut [u8]) -> Option<usize> {
    fn hex(b: Option<&u8>) -> Option<u8> {
        let d = char::from(*b?).to_digit(16)?;
        u8::try_from(d).ok()
    }
    let (mut i, mut len) = (0, 0);
    while i < input.len() {
        let run_end = find_byte(&input[i..], b'%').map_or(input.len(), |p| i + p);
        let run = &input[i..run_end];
        out.get_mut(len..len + run.len())?.copy_from_slice(run);
        len += run.len();
        i = run_end;
        if i < input.len() {
            let byte = match (hex(input.get(i + 1)), hex(input.get(i + 2))) {
                (Some(high), Some(low)) => {
                    i += 3;
                    high << 4 | low
                }
                _ => {
                    i += 1;
                    b'%'
                }
            };
            *out.get_mut(len)? = byte;
            len += 1;
        }
    }
    Some(len)
}

/// What notification parsing needs from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct NotifySettings {
    retour: RetourSpec,
    currency: Currency,
    names: Names,
}

impl NotifySettings {
    pub(crate) fn new(retour: RetourSpec, currency: Currency) -> Self {
        let names = Names::new(&retour);
        Self {
            retour,
            currency,
            names,
        }
    }
}

/// `PBX_RETOUR` names → letter index, looked up without comparing strings for the usual
/// one-character names.
#[derive(Debug, Clone)]
struct Names {
    /// By byte, for one-byte names: the letter index + 1, 0 for none.
    short: [u8; 128],
    /// Longer names (`Mt`, `Ref`, `Sign`…).
    long: Vec<(Box<[u8]>, usize)>,
}

impl Names {
    fn new(retour: &RetourSpec) -> Self {
        let mut names = Self {
            short: [0; 128],
            long: Vec::new(),
        };
        for (name, letter) in retour.pairs() {
            let Some(i) = letter_index(*letter) else {
                continue;
            };
            match name.as_bytes() {
                // Names are ASCII and letter indexes below 28 (config parsing).
                &[b] if b.is_ascii() => {
                    names.short[usize::from(b)] = u8::try_from(i + 1).unwrap_or(0);
                }
                n => names.long.push((n.into(), i)),
            }
        }
        names
    }

    fn index_of(&self, name: &[u8]) -> Option<usize> {
        match name {
            &[b] => self
                .short
                .get(usize::from(b))
                .and_then(|&i| usize::from(i).checked_sub(1)),
            _ => self
                .long
                .iter()
                .find(|(n, _)| **n == *name)
                .map(|&(_, i)| i),
        }
    }
}

/// The bytes to verify for this request.
pub(crate) fn raw_bytes(raw: &RawNotification) -> &[u8] {
    match raw.method() {
        HttpMethod::Post => raw.body(),
        _ => raw.query(),
    }
}

/// Verifies and maps a notification.
pub(crate) fn verify(
    keys: &BankKeys,
    s: &NotifySettings,
    raw: &[u8],
) -> Result<VerifiedNotification> {
    let first = s.retour.pairs().first().map(|(n, _)| n.as_str());
    let signed = check_signature(keys, raw, Some(s.retour.signature_name()), first)
        .map_err(|_| Error::BadSignature)?;
    // Verified: only now are values read.
    let values = Values::parse(&s.names, signed.data)?;
    map(s, &values)
}

/// The returned variables, by letter.
#[derive(Debug, PartialEq, Eq)]
struct Values<'a> {
    by_letter: [Option<Cow<'a, str>>; LETTERS],
}

const LETTERS: usize = crate::config::RETOUR_LETTERS.len();

fn letter_index(letter: char) -> Option<usize> {
    crate::config::RETOUR_LETTERS.find(letter)
}

/// The index of a letter of [`RETOUR_LETTERS`](crate::config::RETOUR_LETTERS), at compile time.
const fn letter(c: u8) -> usize {
    let letters = crate::config::RETOUR_LETTERS.as_bytes();
    let mut i = 0;
    while letters[i] != c {
        i += 1; // out of bounds (a compile error) for a letter not in the list
    }
    i
}

const A: usize = letter(b'A');
const C: usize = letter(b'C');
const D: usize = letter(b'D');
const E: usize = letter(b'E');
const F: usize = letter(b'F');
const G: usize = letter(b'G');
const J: usize = letter(b'J');
const M: usize = letter(b'M');
const N: usize = letter(b'N');
const R: usize = letter(b'R');
const S: usize = letter(b'S');
const T: usize = letter(b'T');
const V: usize = letter(b'v');
const Y: usize = letter(b'Y');

impl<'a> Values<'a> {
    fn parse(names: &Names, data: &'a [u8]) -> Result<Self> {
        // The usual notification is ASCII without any escape: checked once for the whole
        // input, every value is then a plain slice of it.
        let plain = if needs_decoding(data) {
            None
        } else {
            std::str::from_utf8(data).ok()
        };
        let mut by_letter: [Option<Cow<'a, str>>; LETTERS] = Default::default();
        let mut offset = 0;
        for pair in data.split(|&b| b == b'&') {
            let start = offset;
            offset += pair.len() + 1;
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], start + eq + 1..start + pair.len()),
                None => (pair, start + pair.len()..start + pair.len()),
            };
            let index = if plain.is_none() && needs_decoding(name) {
                names.index_of(form_decode(name).as_bytes())
            } else {
                names.index_of(name)
            };
            let Some(i) = index else {
                continue; // merchant prefix parameters
            };
            if by_letter[i].is_some() {
                return Err(Error::malformed(format!(
                    "notification: {} appears twice",
                    form_decode(name)
                )));
            }
            // `value` starts and ends next to an ASCII `=` or `&` (or an end): char boundaries.
            let value = match plain.and_then(|text| text.get(value.clone())) {
                Some(v) => Cow::Borrowed(v),
                None => form_decode(&data[value]),
            };
            by_letter[i] = Some(value);
        }
        Ok(Self { by_letter })
    }

    fn get(&self, letter: usize) -> Option<&str> {
        self.by_letter[letter].as_deref().filter(|v| !v.is_empty())
    }
}

fn needs_decoding(bytes: &[u8]) -> bool {
    // Non-short-circuiting, so the compiler can test many bytes at once.
    bytes
        .iter()
        .fold(false, |found, &b| found | (b == b'%') | (b == b'+'))
}

/// One `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte, then UTF-8
/// with invalid sequences replaced. Borrowed unless something had to change.
fn form_decode(bytes: &[u8]) -> Cow<'_, str> {
    if !needs_decoding(bytes) {
        // Checking is faster than the lossy conversion, which is for the rare invalid input.
        return match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(bytes),
        };
    }
    let spaced: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode(&spaced).into();
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

fn digits<'v>(v: Option<&'v str>, what: &'static str, max: usize) -> Result<Option<&'v str>> {
    match v {
        None => Ok(None),
        Some(d) if d.len() <= max && d.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(d)),
        Some(_) => Err(Error::malformed(what)),
    }
}

fn map(s: &NotifySettings, v: &Values<'_>) -> Result<VerifiedNotification> {
    let code = v
        .get(E)
        .ok_or_else(|| Error::malformed("notification: no result code E"))?;
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::malformed(
            "notification: result code E is not 5 characters",
        ));
    }
    let reference = v
        .get(R)
        .ok_or_else(|| Error::malformed("notification: no reference R"))
        .and_then(|r| {
            BankReference::parse(r)
                .map_err(|_| Error::malformed("notification: reference R is not one of ours"))
        })?;
    let minor = digits(v.get(M), "notification: amount M is not digits", 19)?
        .ok_or_else(|| Error::malformed("notification: no amount M"))?
        .parse::<u64>()
        .map_err(|_| Error::malformed("notification: amount M out of range"))?;
    let amount = Amount::new(minor, s.currency)
        .map_err(|_| Error::malformed("notification: amount M out of range"))?;
    let call = digits(v.get(T), "notification: call number T is not digits", 20)?;
    let trans = digits(
        v.get(S),
        "notification: transaction number S is not digits",
        20,
    )?;
    let no_transaction = trans.is_none_or(|t| t.bytes().all(|b| b == b'0'));

    let outcome = if codes::is_success(code) {
        BankOutcome::Accepted {
            authorization: v.get(A).map(|a| {
                a.chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(32)
                    .collect()
            }),
        }
    } else if code == "00030" || (code == "00001" && no_transaction) {
        BankOutcome::Cancelled
    } else {
        let reason = codes::classify(code);
        match reason.kind() {
            tpe_core::ReasonKind::Pending => BankOutcome::Pending,
            // Outside the table (00100, 00200, 00300…): never a verdict.
            tpe_core::ReasonKind::UnknownCode => BankOutcome::unclassified(code),
            _ => BankOutcome::Refused { reason },
        }
    };

    let id = TransactionId {
        numappel: call.unwrap_or("0"),
        numtrans: trans.unwrap_or("0"),
    };
    let mut n = VerifiedNotification::new(Paybox::ID, reference, id.to_owned_id(), outcome, amount);
    let (brand, bin, last, expiry, country) = (v.get(C), v.get(N), v.get(J), v.get(D), v.get(Y));
    if brand.is_some() || bin.is_some() || last.is_some() || expiry.is_some() {
        n = n.with_card(CardSummary::masked(brand, bin, last, expiry, country));
    }
    let status = v.get(F).and_then(|f| match f {
        "Y" => Some(ThreeDsStatus::Authenticated),
        "A" => Some(ThreeDsStatus::Attempted),
        "N" => Some(ThreeDsStatus::NotAuthenticated),
        "U" => Some(ThreeDsStatus::Unavailable),
        _ => None,
    });
    let liability_shift = v.get(G).and_then(|g| match g {
        "O" | "Y" => Some(true),
        "N" => Some(false),
        _ => None,
    });
    let version = v.get(V).map(|x| {
        x.chars()
            .filter(|c| c.is_ascii_graphic())
            .take(16)
            .collect::<String>()
    });
    if status.is_some() || liability_shift.is_some() || version.is_some() {
        n = n.with_three_ds(ThreeDs {
            status,
            liability_shift,
            version,
        });
    }
    Ok(n)
}

/// A bank transaction id as stored: `<NUMAPPEL>:<NUMTRANS>` (the `T` and `S` variables).
///
/// ```
/// let id = tpe_paybox::notify::TransactionId::parse("30378572:13989865").unwrap();
/// assert_eq!((id.numappel, id.numtrans), ("30378572", "13989865"));
/// assert_eq!(id.to_string(), "30378572:13989865");
/// assert!(tpe_paybox::notify::TransactionId::parse("12").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionId<'a> {
    /// Call number (`T`, Direct `NUMAPPEL`).
    pub numappel: &'a str,
    /// Transaction number (`S`, Direct `NUMTRANS`).
    pub numtrans: &'a str,
}

impl<'a> TransactionId<'a> {
    /// Parses `<digits>:<digits>` (each 1 to 10 digits).
    pub fn parse(s: &'a str) -> Option<Self> {
        let (a, t) = s.split_once(':')?;
        let ok = |d: &str| !d.is_empty() && d.len() <= 10 && d.bytes().all(|b| b.is_ascii_digit());
        (ok(a) && ok(t)).then_some(Self {
            numappel: a,
            numtrans: t,
        })
    }
}

impl TransactionId<'_> {
    /// `<NUMAPPEL>:<NUMTRANS>`, as [`Display`](fmt::Display) writes it, in one allocation.
    fn to_owned_id(self) -> String {
        let mut s = String::with_capacity(self.numappel.len() + 1 + self.numtrans.len());
        s.push_str(self.numappel);
        s.push(':');
        s.push_str(self.numtrans);
        s
    }
}

impl fmt::Display for TransactionId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.numappel, self.numtrans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_rules() {
        assert_eq!(
            split_named(b"a=1&b=2&K=xyz", "K").unwrap(),
            (&b"a=1&b=2"[..], &b"xyz"[..])
        );
        assert_eq!(
            split_named(b"a=1&K=x&K=y", "K").unwrap_err(),
            SignatureProblem::Duplicated
        );
        assert_eq!(
            split_named(b"K=y", "K").unwrap_err(),
            SignatureProblem::Missing("signature")
        );
        assert_eq!(split_named(b"a=1&Sign=", "Sign").unwrap().1, b"");
        assert_eq!(split_last(b"a=1&b=2&sig=xx").unwrap().1, b"xx");
        assert_eq!(
            split_last(b"a=1").unwrap_err(),
            SignatureProblem::NoParameter
        );
        assert_eq!(find_param(b"o=1&M=2", "M"), Some(4));
        assert_eq!(find_param(b"M=2", "M"), Some(0));
        assert_eq!(find_param(b"xM=2", "M"), None);
        assert_eq!(find_param(b"a=1&MM=2&M&M=3", "M"), Some(11));
        assert_eq!(find_param(b"a=1&", "M"), None);
        assert_eq!(find_param(b"&M", "M"), None);
        assert_eq!(find_param(b"&M=", "M"), Some(1));
    }

    #[test]
    fn signature_decoding() {
        assert_eq!(decode_signature(b"").unwrap_err(), SignatureProblem::Empty);
        assert_eq!(
            decode_signature(b"%%%").unwrap_err(),
            SignatureProblem::NotBase64
        );
        assert_eq!(decode_signature(b"QUJD").unwrap().as_bytes(), b"ABC");
        assert_eq!(decode_signature(b"QUI%3D").unwrap().as_bytes(), b"AB");
        assert_eq!(
            decode_signature(b"%3D%3D").unwrap_err(),
            SignatureProblem::NotBase64
        );
        let long = "QUJD".repeat(400);
        assert_eq!(
            decode_signature(long.as_bytes()).unwrap_err(),
            SignatureProblem::TooLong
        );
        // Up to 1024 bytes (an 8192-bit key) and not one more, plain or percent-encoded as the
        // bank sends it.
        let b64 = |n: usize| {
            let bytes: Vec<u8> = (0..n).map(|i| u8::try_from(i * 7 % 256).unwrap()).collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        for n in [1, 2, 3, 128, 256, 512, 1022, 1023, 1024] {
            let text = b64(n);
            let sig = decode_signature(text.as_bytes()).unwrap();
            assert_eq!(sig.len, n, "{n}");
            let escaped = text
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D");
            assert_eq!(
                decode_signature(escaped.as_bytes()).unwrap().as_bytes(),
                sig.as_bytes()
            );
        }
        for n in [1025, 1026, 1027, 2000] {
            assert_eq!(
                decode_signature(b64(n).as_bytes()).unwrap_err(),
                SignatureProblem::TooLong,
                "{n}"
            );
        }
        assert_eq!(
            decode_signature("%41".repeat(1025).as_bytes()).unwrap_err(),
            SignatureProblem::TooLong
        );
    }

    #[test]
    fn first_and_last_bytes_are_found() {
        for len in 0..70 {
            let mut hay = vec![b'x'; len];
            assert_eq!(rfind_byte(&hay, b'&'), None);
            assert_eq!(find_byte(&hay, b'&'), None);
            for at in [60, 33, 32, 31, 17, 16, 15, 1, 0] {
                if at < len {
                    hay[at] = b'&';
                    assert_eq!(rfind_byte(&hay, b'&'), hay.iter().rposition(|&b| b == b'&'));
                    assert_eq!(find_byte(&hay, b'&'), hay.iter().position(|&b| b == b'&'));
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn percent_decoding_matches_percent_encoding(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"%"[..], b"%2", b"%2B", b"%2b", b"%3D", b"%zz", b"%g1", b"%%", b"A", b"+",
                    b"/", b"=", b"QUJD", b"\xff", b"%C3%A9",
                ]),
                0..60,
            ),
            room in 0usize..200,
        ) {
            let input = pieces.concat();
            let want: Vec<u8> = percent_encoding::percent_decode(&input).collect();
            let mut out = vec![0; room];
            let got = percent_decode_into(&input, &mut out).map(|n| out[..n].to_vec());
            proptest::prop_assert_eq!(got, (want.len() <= room).then_some(want));
        }
    }

    #[test]
    fn names_are_found_short_and_long() {
        let retour: RetourSpec = "Mt:M;R:R;Appel:T;S:S;Erreur:E;Sign:K".parse().unwrap();
        let names = Names::new(&retour);
        assert_eq!(names.index_of(b"Mt"), Some(M));
        assert_eq!(names.index_of(b"R"), Some(R));
        assert_eq!(names.index_of(b"Appel"), Some(T));
        assert_eq!(names.index_of(b"Sign"), letter_index('K'));
        for unknown in [&b"M"[..], b"", b"E", b"T", b"Mtt", b"\xff", b"K"] {
            assert_eq!(names.index_of(unknown), None, "{unknown:?}");
        }
    }

    /// What `Values::parse` did before it split the bytes itself: `form_urlencoded` and a name
    /// lookup through the configuration. Kept to prove the two agree.
    fn reference_parse<'a>(
        retour: &RetourSpec,
        data: &'a [u8],
    ) -> Result<[Option<Cow<'a, str>>; LETTERS], String> {
        let mut by_letter: [Option<Cow<'a, str>>; LETTERS] = Default::default();
        for (name, value) in url::form_urlencoded::parse(data) {
            let Some(letter) = retour.letter_of(&name) else {
                continue;
            };
            let Some(i) = letter_index(letter) else {
                continue;
            };
            if by_letter[i].is_some() {
                return Err(format!("notification: {name} appears twice"));
            }
            by_letter[i] = Some(value);
        }
        Ok(by_letter)
    }

    fn same_as_reference(retour: &RetourSpec, data: &[u8]) -> std::result::Result<(), String> {
        let names = Names::new(retour);
        match (Values::parse(&names, data), reference_parse(retour, data)) {
            (Ok(got), Ok(want)) if got.by_letter == want => Ok(()),
            (Err(got), Err(want)) if got.to_string().contains(&want) => Ok(()),
            (got, want) => Err(format!("{data:?}: {got:?} / {want:?}")),
        }
    }

    #[test]
    fn parsing_edge_cases_match_the_reference() {
        let retours: [RetourSpec; 2] = [
            RetourSpec::default(),
            "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;v:v;Sign:K"
                .parse()
                .unwrap(),
        ];
        let cases: &[&[u8]] = &[
            b"",
            b"&",
            b"&&M=1&&",
            b"M",
            b"M=",
            b"=M",
            b"M==1",
            b"M=1=2",
            b"M=1&M=2",
            b"M=1&%4D=2",
            b"M=%",
            b"M=%4",
            b"M=%zz",
            b"M=a+b%20c%2B",
            b"M=%C3%A9&R=%C3",
            b"M=\xff\xfe&E=\xc3\xa9",
            b"%4D%74=1&Ref=x&R=y",
            b"M+=1&+M=2&M%20=3",
            b"o=42&Mt=1&Mt=2",
            b"v=2.2.0&v=",
            b"Sign=abc&E=00000",
        ];
        for retour in &retours {
            for &data in cases {
                same_as_reference(retour, data).unwrap();
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn parsing_matches_the_reference(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"&"[..], b"=", b"%", b"+", b"%2", b"%4D", b"%C3", b"%A9", b"%zz", b"\xff",
                    b"\xc3\xa9", b" ", b"M", b"R", b"E", b"v", b"K", b"Mt", b"Ref", b"Erreur",
                    b"Appel", b"o", b"0", b"42", b"ORDER-1", b"2.2.0",
                ]),
                0..40,
            ),
            custom in proptest::bool::ANY,
        ) {
            let retour: RetourSpec = if custom {
                "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;v:v;Sign:K".parse().unwrap()
            } else {
                RetourSpec::default()
            };
            let data = pieces.concat();
            if let Err(e) = same_as_reference(&retour, &data) {
                proptest::prop_assert!(false, "{}", e);
            }
        }

        /// Plain input (no escape, valid UTF-8): the path taken by nearly every notification.
        #[test]
        fn plain_parsing_matches_the_reference(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "&", "=", "M", "R", "E", "v", "K", "Mt", "Ref", "Erreur", "o", "0", "42",
                    "ORDER-1", "2.2.0", "é", "Ø", " ",
                ]),
                0..40,
            ),
        ) {
            let data = pieces.concat();
            for retour in [
                RetourSpec::default(),
                "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;v:v;Sign:K".parse().unwrap(),
            ] {
                if let Err(e) = same_as_reference(&retour, data.as_bytes()) {
                    proptest::prop_assert!(false, "{}", e);
                }
            }
        }
    }
}

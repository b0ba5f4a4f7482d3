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

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use tpe_core::{
    Amount, BankOutcome, CardSummary, Currency, HttpMethod, PaymentReference, RawNotification,
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
    if keys.verify(data, &sig) {
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
        if keys.verify(rest, &sig) {
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
    let pos = raw
        .windows(n.len() + 2)
        .rposition(|w| w[0] == b'&' && &w[1..=n.len()] == n && w[n.len() + 1] == b'=')
        .ok_or(SignatureProblem::Missing("signature"))?;
    let data = &raw[..pos];
    if find_param(data, name).is_some() {
        return Err(SignatureProblem::Duplicated);
    }
    Ok((data, &raw[pos + n.len() + 2..]))
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
    if data.starts_with(n) && data.get(n.len()) == Some(&b'=') {
        return Some(0);
    }
    data.windows(n.len() + 2)
        .position(|w| w[0] == b'&' && &w[1..=n.len()] == n && w[n.len() + 1] == b'=')
        .map(|p| p + 1)
}

fn decode_signature(sig: &[u8]) -> Result<Vec<u8>, SignatureProblem> {
    if sig.is_empty() {
        return Err(SignatureProblem::Empty);
    }
    if sig.len() > MAX_SIGNATURE * 3 {
        return Err(SignatureProblem::TooLong);
    }
    // Percent-decoding only: a literal `+` is a base64 character here, not a space.
    let unescaped: Cow<'_, [u8]> = percent_encoding::percent_decode(sig).into();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&unescaped)
        .map_err(|_| SignatureProblem::NotBase64)?;
    if bytes.is_empty() {
        return Err(SignatureProblem::Empty);
    }
    if bytes.len() > MAX_SIGNATURE {
        return Err(SignatureProblem::TooLong);
    }
    Ok(bytes)
}

/// What notification parsing needs from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct NotifySettings {
    retour: RetourSpec,
    currency: Currency,
}

impl NotifySettings {
    pub(crate) fn new(retour: RetourSpec, currency: Currency) -> Self {
        Self { retour, currency }
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
    let values = Values::parse(&s.retour, signed.data)?;
    map(s, &values)
}

/// The returned variables, by letter.
struct Values<'a> {
    by_letter: [Option<Cow<'a, str>>; LETTERS],
}

const LETTERS: usize = crate::config::RETOUR_LETTERS.len();

fn letter_index(letter: char) -> Option<usize> {
    crate::config::RETOUR_LETTERS.find(letter)
}

impl<'a> Values<'a> {
    fn parse(retour: &RetourSpec, data: &'a [u8]) -> Result<Self> {
        let mut by_letter: [Option<Cow<'a, str>>; LETTERS] = Default::default();
        for (name, value) in url::form_urlencoded::parse(data) {
            let Some(letter) = retour.letter_of(&name) else {
                continue; // merchant prefix parameters
            };
            let Some(i) = letter_index(letter) else {
                continue;
            };
            if by_letter[i].is_some() {
                return Err(Error::malformed(format!(
                    "notification: {name} appears twice"
                )));
            }
            by_letter[i] = Some(value);
        }
        Ok(Self { by_letter })
    }

    fn get(&self, letter: char) -> Option<&str> {
        letter_index(letter)
            .and_then(|i| self.by_letter[i].as_deref())
            .filter(|v| !v.is_empty())
    }
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
        .get('E')
        .ok_or_else(|| Error::malformed("notification: no result code E"))?;
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::malformed(
            "notification: result code E is not 5 characters",
        ));
    }
    let reference = v
        .get('R')
        .ok_or_else(|| Error::malformed("notification: no reference R"))
        .and_then(|r| {
            PaymentReference::parse(r)
                .map_err(|_| Error::malformed("notification: reference R is not one of ours"))
        })?;
    let minor = digits(v.get('M'), "notification: amount M is not digits", 19)?
        .ok_or_else(|| Error::malformed("notification: no amount M"))?
        .parse::<u64>()
        .map_err(|_| Error::malformed("notification: amount M out of range"))?;
    let amount = Amount::new(minor, s.currency)
        .map_err(|_| Error::malformed("notification: amount M out of range"))?;
    let call = digits(v.get('T'), "notification: call number T is not digits", 20)?;
    let trans = digits(
        v.get('S'),
        "notification: transaction number S is not digits",
        20,
    )?;
    let no_transaction = trans.is_none_or(|t| t.bytes().all(|b| b == b'0'));

    let outcome = if codes::is_success(code) {
        BankOutcome::Accepted {
            authorization: v.get('A').map(|a| {
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
        if reason.kind() == tpe_core::ReasonKind::Pending {
            BankOutcome::Pending
        } else {
            BankOutcome::Refused { reason }
        }
    };

    let id = TransactionId {
        numappel: call.unwrap_or("0"),
        numtrans: trans.unwrap_or("0"),
    };
    let mut n = VerifiedNotification::new(Paybox::ID, reference, id.to_string(), outcome, amount);
    let (brand, bin, last, expiry, country) =
        (v.get('C'), v.get('N'), v.get('J'), v.get('D'), v.get('Y'));
    if brand.is_some() || bin.is_some() || last.is_some() || expiry.is_some() {
        n = n.with_card(CardSummary::masked(brand, bin, last, expiry, country));
    }
    let status = v.get('F').and_then(|f| match f {
        "Y" => Some(ThreeDsStatus::Authenticated),
        "A" => Some(ThreeDsStatus::Attempted),
        "N" => Some(ThreeDsStatus::NotAuthenticated),
        "U" => Some(ThreeDsStatus::Unavailable),
        _ => None,
    });
    let liability_shift = v.get('G').and_then(|g| match g {
        "O" | "Y" => Some(true),
        "N" => Some(false),
        _ => None,
    });
    let version = v.get('v').map(|x| {
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
    }

    #[test]
    fn signature_decoding() {
        assert_eq!(decode_signature(b"").unwrap_err(), SignatureProblem::Empty);
        assert_eq!(
            decode_signature(b"%%%").unwrap_err(),
            SignatureProblem::NotBase64
        );
        assert_eq!(decode_signature(b"QUJD").unwrap(), b"ABC");
        assert_eq!(decode_signature(b"QUI%3D").unwrap(), b"AB");
        let long = "QUJD".repeat(400);
        assert_eq!(
            decode_signature(long.as_bytes()).unwrap_err(),
            SignatureProblem::TooLong
        );
    }
}

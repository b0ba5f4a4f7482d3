//! Finding, decoding and checking the signature `K` of a notification, over the raw bytes exactly
//! as received (spec §4.3). Nothing here reads a variable's value: that waits for
//! [`check_signature`] to succeed.

use std::fmt;

use base64::Engine as _;

use crate::sign::BankKeys;

/// Largest decoded signature accepted (an 8192-bit RSA signature).
const MAX_SIGNATURE: usize = 1024;

/// Longest base64 text of a [`MAX_SIGNATURE`]-byte signature.
const MAX_SIGNATURE_BASE64: usize = MAX_SIGNATURE.div_ceil(3) * 4;

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

impl From<crate::sign::SignatureMismatch> for SignatureProblem {
    fn from(_: crate::sign::SignatureMismatch) -> Self {
        Self::Mismatch
    }
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
    let Err(mismatch) = keys.verify(data, sig) else {
        return Ok(SignedPart {
            data,
            prefix_len: 0,
        });
    };
    let Some(start) = first_name
        .and_then(|n| find_param(data, n))
        .filter(|&p| p > 0)
    else {
        return Err(mismatch.into());
    };
    let rest = &data[start..];
    keys.verify(rest, sig)?;
    Ok(SignedPart {
        data: rest,
        prefix_len: start,
    })
}

/// The data before the last `&<name>=` and the value after it; `name=` must not appear in the
/// data as a parameter of its own.
fn split_named<'a>(raw: &'a [u8], name: &str) -> Result<(&'a [u8], &'a [u8]), SignatureProblem> {
    let n = name.as_bytes();
    let pos = memchr::memrchr_iter(b'&', raw)
        .find(|&amp| param_at(raw, amp + 1, n))
        .ok_or(SignatureProblem::Missing("signature"))?;
    let data = &raw[..pos];
    if find_param(data, name).is_some() {
        return Err(SignatureProblem::Duplicated);
    }
    Ok((data, &raw[pos + n.len() + 2..]))
}

/// Whether `name=` starts at `start`.
fn param_at(raw: &[u8], start: usize, name: &[u8]) -> bool {
    raw.get(start..)
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|rest| rest.first() == Some(&b'='))
}

/// The data before the last `&` and the value of the parameter after it.
fn split_last(raw: &[u8]) -> Result<(&[u8], &[u8]), SignatureProblem> {
    let amp = memchr::memrchr(b'&', raw).ok_or(SignatureProblem::NoParameter)?;
    let param = &raw[amp + 1..];
    let eq = memchr::memchr(b'=', param).ok_or(SignatureProblem::NoParameter)?;
    Ok((&raw[..amp], &param[eq + 1..]))
}

/// Index of `name=` at the start of `data` or right after a `&`.
pub(super) fn find_param(data: &[u8], name: &str) -> Option<usize> {
    let n = name.as_bytes();
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'&', data).map(|amp| amp + 1))
        .find(|&start| param_at(data, start, n))
}

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
    // Bounds the percent-decoding below.
    if sig.len() > MAX_SIGNATURE * 3 {
        return Err(SignatureProblem::TooLong);
    }
    // Percent-decoding only: a literal `+` is a base64 character here, not a space. More text
    // than the longest signature needs is too long (or not base64 at all).
    // Decoded into a stack buffer: collecting into a `Vec` costs more than the decoding.
    let mut text = [0u8; MAX_SIGNATURE_BASE64];
    let mut len = 0;
    for byte in percent_encoding::percent_decode(sig) {
        *text.get_mut(len).ok_or(SignatureProblem::TooLong)? = byte;
        len += 1;
    }
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
        assert_eq!(
            split_named(b"a=1&Sign=x&Si=y", "Sign").unwrap().1,
            b"x&Si=y"
        );
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

    /// What a signature decodes to, written with the crates alone and without the stack buffer.
    fn reference_decode(input: &[u8]) -> Result<Vec<u8>, SignatureProblem> {
        let text: Vec<u8> = percent_encoding::percent_decode(input).collect();
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(sig) if sig.is_empty() => Err(SignatureProblem::Empty),
            Ok(sig) => Ok(sig),
            Err(_) => Err(SignatureProblem::NotBase64),
        }
    }

    /// Pieces of percent-encoded base64, valid escapes or not.
    fn escaped_base64() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        let piece = proptest::sample::select(vec![
            &b"%"[..],
            b"%2",
            b"%2B",
            b"%2b",
            b"%3D",
            b"%zz",
            b"%g1",
            b"%%",
            b"A",
            b"+",
            b"/",
            b"=",
            b"QUJD",
            b"\xff",
            b"%C3%A9",
        ]);
        proptest::strategy::Strategy::prop_map(proptest::collection::vec(piece, 0..60), |p| {
            p.concat()
        })
    }

    /// Formerly the oracle of a hand-written percent decoder; kept as a regression test of the
    /// escapes a bank (or an attacker) may send.
    #[test]
    fn percent_encoded_signatures_decode_as_the_crates_do() {
        let config = proptest::test_runner::Config::with_cases(3000);
        proptest::test_runner::TestRunner::new(config)
            .run(&escaped_base64(), |input| {
                let got = decode_signature(&input).map(|s| s.as_bytes().to_vec());
                proptest::prop_assert_eq!(got, reference_decode(&input));
                Ok(())
            })
            .unwrap();
    }
}

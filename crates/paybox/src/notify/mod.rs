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
//! - Reading: only the verified bytes, with `form_urlencoded` (values borrow the input unless
//!   they hold `+` or `%XX`). Names outside `PBX_RETOUR` are skipped; a variable given twice is
//!   malformed.

mod signature;

use std::borrow::Cow;
use std::fmt;

use tpe_core::{
    Amount, BankOutcome, BankReference, CardSummary, Currency, ThreeDs, ThreeDsStatus,
    VerifiedNotification,
};

pub use self::signature::{SignatureProblem, SignedPart, check_signature};

use crate::Paybox;
use crate::codes;
use crate::config::RetourSpec;
use crate::error::{Error, Result};
use crate::sign::BankKeys;

/// What notification parsing needs from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct NotifySettings {
    retour: RetourSpec,
    currency: Currency,
    /// `PBX_RETOUR` names with their letter's index, resolved once.
    names: Vec<(String, usize)>,
}

impl NotifySettings {
    pub(crate) fn new(retour: RetourSpec, currency: Currency) -> Self {
        let names = retour
            .pairs()
            .iter()
            .filter_map(|(name, letter)| Some((name.clone(), letter_index(*letter)?)))
            .collect();
        Self {
            retour,
            currency,
            names,
        }
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
const Z: usize = letter(b'Z');

impl<'a> Values<'a> {
    /// Reads verified bytes as `application/x-www-form-urlencoded`.
    fn parse(names: &[(String, usize)], data: &'a [u8]) -> Result<Self> {
        let mut by_letter: [Option<Cow<'a, str>>; LETTERS] = Default::default();
        for (name, value) in url::form_urlencoded::parse(data) {
            let Some(&(_, i)) = names.iter().find(|(n, _)| *n == name) else {
                continue; // merchant prefix parameters
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

    fn get(&self, letter: usize) -> Option<&str> {
        self.by_letter[letter].as_deref().filter(|v| !v.is_empty())
    }
}

/// `v` when it is at most `max` ASCII digits (`None` stays `None`), else a malformed error
/// saying `what`.
fn optional_digits<'v>(
    v: Option<&'v str>,
    what: &'static str,
    max: usize,
) -> Result<Option<&'v str>> {
    match v {
        None => Ok(None),
        Some(d) if d.len() <= max && d.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(d)),
        Some(_) => Err(Error::malformed(what)),
    }
}

/// The instalment of a notification whose `PBX_RETOUR` asks for `Z` (`index-count`, spec
/// §4.2): `2-3` is the second of three. Each instalment is notified like a payment, with its
/// own `S` and its amount in `M`, and nothing else tells them apart (see the crate's notes);
/// a value that is not `index-count` of 2 or more names no instalment.
fn instalment_of(z: &str) -> Option<u8> {
    let (index, count) = z.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(index) || !digits(count) {
        return None;
    }
    let (index, count) = (index.parse::<u8>().ok()?, count.parse::<u8>().ok()?);
    (count >= 2 && (1..=count).contains(&index)).then_some(index)
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
    let minor = optional_digits(v.get(M), "notification: amount M is not digits", 19)?
        .ok_or_else(|| Error::malformed("notification: no amount M"))?
        .parse::<u64>()
        .map_err(|_| Error::malformed("notification: amount M out of range"))?;
    let amount = Amount::new(minor, s.currency)
        .map_err(|_| Error::malformed("notification: amount M out of range"))?;
    let call = optional_digits(v.get(T), "notification: call number T is not digits", 20)?;
    let trans = optional_digits(
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
    let mut n = VerifiedNotification::new(Paybox::ID, reference, id.to_string(), outcome, amount);
    if let Some(number) = v.get(Z).and_then(instalment_of) {
        n = n.with_instalment(number);
    }
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

impl fmt::Display for TransactionId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.numappel, self.numtrans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent reading through `serde_urlencoded` and a scan of the `PBX_RETOUR` pairs:
    /// the oracle of the hand-written reader this module had, kept as a regression test.
    fn reference_parse(retour: &RetourSpec, data: &[u8]) -> Result<Vec<Option<String>>, String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(data).map_err(|e| e.to_string())?;
        let mut by_letter = vec![None; LETTERS];
        for (name, value) in pairs {
            let letter = retour.pairs().iter().find(|(n, _)| *n == name).map(|p| p.1);
            let Some(slot) = letter.and_then(letter_index).map(|i| &mut by_letter[i]) else {
                continue;
            };
            if slot.replace(value).is_some() {
                return Err(format!("notification: {name} appears twice"));
            }
        }
        Ok(by_letter)
    }

    fn same_as_reference(retour: &RetourSpec, data: &[u8]) -> std::result::Result<(), String> {
        let names = NotifySettings::new(retour.clone(), Currency::EUR).names;
        let got = Values::parse(&names, data)
            .map(|v| v.by_letter.map(|x| x.map(Cow::into_owned)).to_vec());
        match (got, reference_parse(retour, data)) {
            (Ok(got), Ok(want)) if got == want => Ok(()),
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

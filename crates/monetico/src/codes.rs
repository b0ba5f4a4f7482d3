//! The bank's codes (spec C.5): `code-retour` (the verdict), `motifrefus` (why an `Annulation`)
//! and `status3ds` (the 3-D Secure risk level), with the bank's wording in French and English
//! and the retry advice of each.
//!
//! [`classify`] and [`known_codes`] cover `motifrefus`, the only refusal code of a CGI2 return;
//! [`outcome`] turns `code-retour` and `motifrefus` into a [`BankOutcome`]. A `code-retour` or
//! a `motifrefus` outside the tables is never a verdict: [`BankOutcome::unclassified`].

use serde::{Deserialize, Deserializer};
use tpe_core::{BankOutcome, Reason, RetryAdvice};

/// `code-retour` of an accepted test payment.
pub const PAYETEST: &str = "payetest";
/// `code-retour` of an accepted production payment.
pub const PAIEMENT: &str = "paiement";
/// `code-retour` of a refused or abandoned payment: not final, a later authorization may
/// still come for the same reference.
pub const ANNULATION: &str = "Annulation";
/// `motifrefus` when the bank gives no reason.
pub const NO_REASON: &str = "-";

pub use tpe_core::codes::CodeInfo;
use tpe_core::codes::{JsonTable, TableRow};

/// The wording of a `code-retour` or a `status3ds`: not refusal codes, so no
/// [`ReasonKind`](tpe_core::ReasonKind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wording {
    /// The code as the bank sends it.
    pub code: &'static str,
    /// The wording in French.
    pub text_fr: &'static str,
    /// The wording in English.
    pub text_en: &'static str,
    /// What the customer can do.
    pub advice: RetryAdvice,
}

/// A row read from a JSON table: `[code, advice, french, english]`, the advice by its variant
/// name, the strings borrowed from the embedded text.
impl Deserialize<'static> for Wording {
    fn deserialize<D: Deserializer<'static>>(d: D) -> Result<Self, D::Error> {
        let (code, advice, text_fr, text_en) = Deserialize::deserialize(d)?;
        Ok(Self {
            code,
            text_fr,
            text_en,
            advice,
        })
    }
}

impl TableRow for Wording {
    fn code(&self) -> &'static str {
        self.code
    }
}

/// `motifrefus`, the reason of an `Annulation` (spec C.5 and its normalization proposal).
pub static MOTIFREFUS: JsonTable<CodeInfo> = JsonTable::new(include_str!("codes/motifrefus.json"));

/// `code-retour`, the verdict of a CGI2 return.
pub static CODE_RETOUR: JsonTable<Wording> = JsonTable::new(include_str!("codes/code_retour.json"));

/// `status3ds` (and `details.status3DS` of `authentification`): the 3-D Secure risk level.
pub static STATUS3DS: JsonTable<Wording> = JsonTable::new(include_str!("codes/status3ds.json"));

/// Every `motifrefus` of the table, for `tpe codes` and the conformance suite.
pub fn known_codes() -> &'static [&'static str] {
    MOTIFREFUS.codes()
}

/// The `motifrefus` row of `code`, if it has one.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    MOTIFREFUS.get(code)
}

/// The wording of `code` as a `code-retour` (an instalment's `paiement_pf2` reads as
/// `paiement`) or a `status3ds`, with the table's name.
pub fn wording_of(code: &str) -> Option<(&'static str, &'static Wording)> {
    let code = split_instalment(code).1;
    [("code-retour", &CODE_RETOUR), ("status3ds", &STATUS3DS)]
        .into_iter()
        .find_map(|(name, table)| table.get(code).map(|c| (name, c)))
}

/// The bank's wording of a code outside its table (French, English).
const UNKNOWN: (&str, &str) = (
    "Motif de refus inconnu de Monetico",
    "Refusal reason unknown to Monetico",
);

/// Classifies a `motifrefus`. Total: a code outside the table gives
/// [`ReasonKind::UnknownCode`](tpe_core::ReasonKind::UnknownCode) with the raw value kept
/// (bounded by [`Reason`]).
///
/// ```
/// use tpe_core::ReasonKind;
/// assert_eq!(tpe_monetico::codes::classify("3DSecure").kind(), ReasonKind::AuthenticationFailed);
/// assert_eq!(tpe_monetico::codes::classify("Z9").kind(), ReasonKind::UnknownCode);
/// ```
pub fn classify(code: &str) -> Reason {
    tpe_core::codes::classify(&MOTIFREFUS, code, UNKNOWN)
}

/// The most instalments a `code-retour` names (`nbrech` is 2 to 4, spec C.3).
const MAX_INSTALMENT: u8 = 4;

/// The instalment a `code-retour` is about, and the code without its suffix: the bank charges
/// instalment `N` (2 to 4) of a payment in instalments itself and returns `paiement_pfN` or
/// `Annulation_pfN` (spec C.5); any other code has no instalment of its own.
///
/// ```
/// use tpe_monetico::codes::split_instalment;
/// assert_eq!(split_instalment("paiement_pf2"), (Some(2), "paiement"));
/// assert_eq!(split_instalment("Annulation_pf4"), (Some(4), "Annulation"));
/// assert_eq!(split_instalment("paiement_pf5"), (None, "paiement_pf5"));
/// assert_eq!(split_instalment("payetest"), (None, "payetest"));
/// ```
pub fn split_instalment(code_retour: &str) -> (Option<u8>, &str) {
    if let Some((base, n)) = code_retour.rsplit_once("_pf")
        && matches!(base, PAIEMENT | ANNULATION)
        && n.len() == 1
        && let Ok(n) = n.parse::<u8>()
        && (2..=MAX_INSTALMENT).contains(&n)
    {
        return (Some(n), base);
    }
    (None, code_retour)
}

/// The longest authorization number kept.
const MAX_AUTHORIZATION: usize = 16;

/// What `code-retour` (and, for `Annulation`, `motifrefus`) of an authentic return means.
/// `Annulation` is a refusal, which the lifecycle never treats as final: a later `paiement`
/// for the same reference still validates the checkout.
///
/// ```
/// use tpe_core::OutcomeKind;
/// use tpe_monetico::codes::outcome;
/// assert_eq!(outcome("payetest", None, Some("000000")).kind(), OutcomeKind::Accepted);
/// assert_eq!(outcome("Annulation", Some("Refus"), None).kind(), OutcomeKind::Refused);
/// assert_eq!(outcome("Annulation", Some(""), None).kind(), OutcomeKind::Refused);
/// // A later instalment charged by the bank, accepted or refused.
/// assert_eq!(outcome("paiement_pf2", None, None).kind(), OutcomeKind::Accepted);
/// assert_eq!(outcome("Annulation_pf3", Some("Refus"), None).kind(), OutcomeKind::Refused);
/// assert_eq!(outcome("paiement_pf9", None, None).kind(), OutcomeKind::Unclassified);
/// ```
pub fn outcome(code_retour: &str, motifrefus: Option<&str>, numauto: Option<&str>) -> BankOutcome {
    match split_instalment(code_retour).1 {
        PAYETEST | PAIEMENT => BankOutcome::Accepted {
            authorization: numauto
                .map(|a| {
                    a.chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_AUTHORIZATION)
                        .collect::<String>()
                })
                .filter(|a| !a.is_empty()),
        },
        ANNULATION => {
            let motif = match motifrefus.map(str::trim) {
                None | Some("") => NO_REASON,
                Some(m) => m,
            };
            if lookup(motif).is_some() {
                BankOutcome::Refused {
                    reason: classify(motif),
                }
            } else {
                BankOutcome::unclassified(motif)
            }
        }
        // Anything new: never a verdict.
        _ => BankOutcome::unclassified(code_retour),
    }
}

//! Result codes (spec §G.7, §G.10): the numeric `statusOutput.statusCode` (the legacy
//! e-Commerce status), the `status` names, and a few API `errorCode`s, each with the platform's
//! meaning in French and English, a [`ReasonKind`], and what the lifecycle makes of it.

use serde::{Deserialize, Deserializer};
use tpe_core::codes::{JsonTable, TableRow};
use tpe_core::{BankOutcome, Reason, ReasonKind, RetryAdvice};

/// What a `statusCode` means for the checkout (spec §G.7 "Normalized").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum Verdict {
    /// Authorized or captured: paid.
    Paid,
    /// Not final yet (including the uncertain 52 and 92: poll, never decide).
    Pending,
    /// Refused.
    Refused,
    /// Cancelled by the customer or the merchant.
    Cancelled,
    /// A refund state: the payment was paid, then refunded (partly or not yet).
    Refund,
    /// A refused operation (cancel or refund refused): keeps the previous state.
    NoChange,
}

/// One row of the table.
struct Row {
    code: &'static str,
    kind: ReasonKind,
    verdict: Verdict,
    fr: &'static str,
    en: &'static str,
}

/// A row read from the JSON table: `[code, kind, verdict, french, english]`, the kind and the
/// verdict by their variant names, the strings borrowed from the embedded text.
impl Deserialize<'static> for Row {
    fn deserialize<D: Deserializer<'static>>(d: D) -> Result<Self, D::Error> {
        let (code, kind, verdict, fr, en) = Deserialize::deserialize(d)?;
        Ok(Self {
            code,
            kind,
            verdict,
            fr,
            en,
        })
    }
}

impl TableRow for Row {
    fn code(&self) -> &'static str {
        self.code
    }
}

/// The table, `statusCode`s first in the order of the spec, then the `status` names (spec
/// §G.7, for the status read when no code is given) and a few API `errorCode`s (spec §G.3,
/// §G.10). Code 0 ("invalid or incomplete") is left out on purpose: an authentic 0 is
/// unclassified, and a status query decides. Its rows are data in `codes/status_codes.json`.
static TABLE: JsonTable<Row> = JsonTable::new(include_str!("codes/status_codes.json"));

/// Every code this provider knows.
pub fn known_codes() -> &'static [&'static str] {
    TABLE.codes()
}

fn find(code: &str) -> Option<&'static Row> {
    TABLE.find_lenient(code)
}

/// Classifies a code. Total: an unknown code keeps its raw value under
/// [`ReasonKind::UnknownCode`].
///
/// ```
/// use tpe_core::ReasonKind;
/// use tpe_worldline::classify;
/// assert_eq!(classify("2").kind(), ReasonKind::Declined);
/// assert_eq!(classify("777").kind(), ReasonKind::UnknownCode);
/// assert_eq!(classify("777").code(), "777");
/// ```
pub fn classify(code: &str) -> Reason {
    match find(code) {
        Some(r) => {
            let reason = Reason::new(r.kind, r.code).with_bank_text(r.fr, r.en);
            if r.code == "1409" {
                reason.with_advice(RetryAdvice::RetryLater)
            } else {
                reason
            }
        }
        None => Reason::unknown(code.trim().to_owned()),
    }
}

/// The verdict of a code of the table, `None` outside it.
///
/// ```
/// use tpe_worldline::{Verdict, verdict};
/// assert_eq!(verdict("9"), Some(Verdict::Paid));
/// assert_eq!(verdict("0"), None);
/// ```
pub fn verdict(code: &str) -> Option<Verdict> {
    find(code).map(|r| r.verdict)
}

/// The outcome a notification with `statusCode` `code` reports, `None` when it reports
/// nothing for the checkout (a refund or a refused operation); a code outside the table is
/// [`BankOutcome::Unclassified`].
pub(crate) fn outcome(code: &str) -> Option<BankOutcome> {
    Some(match verdict(code) {
        None => BankOutcome::unclassified(code),
        Some(Verdict::Paid) => BankOutcome::Accepted {
            authorization: None,
        },
        Some(Verdict::Pending) => BankOutcome::Pending,
        Some(Verdict::Refused) => BankOutcome::Refused {
            reason: classify(code),
        },
        Some(Verdict::Cancelled) => BankOutcome::Cancelled,
        Some(Verdict::Refund | Verdict::NoChange) => return None,
    })
}

#[cfg(test)]
mod tests {
    use tpe_core::OutcomeKind;

    use super::*;

    #[test]
    fn status_codes_map_as_the_spec_says() {
        let expect = [
            ("1", OutcomeKind::Cancelled),
            ("2", OutcomeKind::Refused),
            ("4", OutcomeKind::Pending),
            ("46", OutcomeKind::Pending),
            ("5", OutcomeKind::Accepted),
            ("52", OutcomeKind::Pending),
            ("56", OutcomeKind::Accepted),
            ("57", OutcomeKind::Refused),
            ("6", OutcomeKind::Cancelled),
            ("9", OutcomeKind::Accepted),
            ("91", OutcomeKind::Accepted),
            ("92", OutcomeKind::Pending),
            ("93", OutcomeKind::Refused),
            ("99", OutcomeKind::Pending),
            ("0", OutcomeKind::Unclassified),
            ("12345", OutcomeKind::Unclassified),
        ];
        for (code, kind) in expect {
            assert_eq!(outcome(code).map(|o| o.kind()), Some(kind), "{code}");
        }
        for code in ["8", "81", "83", "63", "73"] {
            assert_eq!(outcome(code), None, "{code}");
        }
        assert_eq!(classify("1409").retry_advice(), RetryAdvice::RetryLater);
        assert_eq!(TABLE.parse().map(|r| r.len()).ok(), Some(52));
    }

    #[test]
    fn unknown_codes_are_kept_raw_and_bounded() {
        assert_eq!(classify("rejected").kind(), ReasonKind::Declined);
        assert_eq!(classify(" 93 ").code(), "93");
        assert_eq!(classify("").kind(), ReasonKind::UnknownCode);
        assert!(classify(&"x".repeat(10_000)).code().len() <= Reason::MAX_CODE_LEN);
    }
}

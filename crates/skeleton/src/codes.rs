//! The bank's result codes (`result` of a notification) mapped to normalized [`Reason`]s, and
//! the [`BankOutcome`] each code means.
//!
//! `00` (accepted) is not a decline and is not in the table. Any code outside the table is
//! [`Reason::unknown`] for [`classify`] (total: nothing here panics) and
//! [`BankOutcome::unclassified`] for [`outcome`]: an authentic but unknown result is never a
//! verdict.

use tpe_core::{BankOutcome, Reason};

/// The code of an accepted payment.
pub const ACCEPTED: &str = "00";
/// The code of a payment the customer cancelled on the bank's page.
pub const CANCELLED: &str = "17";
/// The code of a payment not final yet.
pub const PENDING: &str = "P1";

pub use tpe_core::codes::CodeInfo;
use tpe_core::codes::JsonTable;

/// Every code of the table, in the bank's order. Its rows, `[code, kind, advice, french,
/// english]`, are data in `codes/results.json`.
pub static TABLE: JsonTable<CodeInfo> = JsonTable::new(include_str!("codes/results.json"));

/// Every code of the table, for `tpe codes` and the conformance suite.
pub fn known_codes() -> &'static [&'static str] {
    TABLE.codes()
}

/// The table row of `code`, if it has one.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    TABLE.get(code)
}

/// The bank's wording of a code outside its table (French, English).
const UNKNOWN: (&str, &str) = (
    "Code inconnu de la banque Skeleton",
    "Code unknown to the Skeleton bank",
);

/// Classifies any code. Total: a code outside the table gives
/// [`ReasonKind::UnknownCode`](tpe_core::ReasonKind::UnknownCode) with
/// the raw value kept (bounded by [`Reason`]).
///
/// ```
/// use tpe_core::ReasonKind;
/// assert_eq!(tpe_skeleton::codes::classify("51").kind(), ReasonKind::InsufficientFunds);
/// assert_eq!(tpe_skeleton::codes::classify("Z9").kind(), ReasonKind::UnknownCode);
/// ```
pub fn classify(code: &str) -> Reason {
    tpe_core::codes::classify(&TABLE, code, UNKNOWN)
}

/// The longest authorization number kept.
const MAX_AUTHORIZATION: usize = 16;

/// What the result `code` of an authentic notification means.
pub fn outcome(code: &str, authorization: Option<&str>) -> BankOutcome {
    match code {
        ACCEPTED => BankOutcome::Accepted {
            authorization: authorization.map(|a| {
                a.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_AUTHORIZATION)
                    .collect()
            }),
        },
        CANCELLED => BankOutcome::Cancelled,
        PENDING => BankOutcome::Pending,
        _ if lookup(code).is_some() => BankOutcome::Refused {
            reason: classify(code),
        },
        _ => BankOutcome::unclassified(code),
    }
}

//! The bank's result codes (`result` of a notification) mapped to normalized [`Reason`]s, and
//! the [`BankOutcome`] each code means.
//!
//! `00` (accepted) is not a decline and is not in the table. Any code outside the table is
//! [`Reason::unknown`] for [`classify`] (total: nothing here panics) and
//! [`BankOutcome::unclassified`] for [`outcome`]: an authentic but unknown result is never a
//! verdict.

use tpe_core::{BankOutcome, Reason, ReasonKind};

/// The code of an accepted payment.
pub const ACCEPTED: &str = "00";
/// The code of a payment the customer cancelled on the bank's page.
pub const CANCELLED: &str = "17";
/// The code of a payment not final yet.
pub const PENDING: &str = "P1";

pub use tpe_core::codes::CodeInfo;

/// Every code of the table, in the bank's order.
pub const TABLE: &[CodeInfo] = &[
    CodeInfo::of(
        "05",
        ReasonKind::Declined,
        "Refus de l'émetteur",
        "Declined by the issuer",
    ),
    CodeInfo::of(
        CANCELLED,
        ReasonKind::CancelledByCustomer,
        "Annulation du client",
        "Cancelled by the customer",
    ),
    CodeInfo::of(
        "41",
        ReasonKind::CardLostOrStolen,
        "Carte perdue",
        "Lost card",
    ),
    CodeInfo::of(
        "43",
        ReasonKind::CardLostOrStolen,
        "Carte volée",
        "Stolen card",
    ),
    CodeInfo::of(
        "51",
        ReasonKind::InsufficientFunds,
        "Provision insuffisante",
        "Insufficient funds",
    ),
    CodeInfo::of(
        "54",
        ReasonKind::CardExpired,
        "Carte expirée",
        "Expired card",
    ),
    CodeInfo::of(
        "59",
        ReasonKind::FraudSuspected,
        "Suspicion de fraude",
        "Suspected fraud",
    ),
    CodeInfo::of(
        "91",
        ReasonKind::IssuerUnavailable,
        "Émetteur indisponible",
        "Issuer unavailable",
    ),
    CodeInfo::of(
        "A1",
        ReasonKind::AuthenticationRequired,
        "Authentification forte requise",
        "Strong authentication required",
    ),
    CodeInfo::of(
        PENDING,
        ReasonKind::Pending,
        "En attente de l'émetteur",
        "Pending the issuer's decision",
    ),
];

// `known_codes` is the table's first column, computed once at compile time.
const CODES: [&str; TABLE.len()] = tpe_core::codes::codes_of(TABLE);

/// Every code of the table, for `tpe codes` and the conformance suite.
pub fn known_codes() -> &'static [&'static str] {
    &CODES
}

/// The table row of `code`, if it has one.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    tpe_core::codes::lookup(TABLE, code)
}

/// Classifies any code. Total: a code outside the table gives [`ReasonKind::UnknownCode`] with
/// the raw value kept (bounded by [`Reason`]).
///
/// ```
/// use tpe_core::ReasonKind;
/// assert_eq!(tpe_skeleton::codes::classify("51").kind(), ReasonKind::InsufficientFunds);
/// assert_eq!(tpe_skeleton::codes::classify("Z9").kind(), ReasonKind::UnknownCode);
/// ```
pub fn classify(code: &str) -> Reason {
    tpe_core::codes::classify(
        TABLE,
        code,
        (
            "Code inconnu de la banque Skeleton",
            "Code unknown to the Skeleton bank",
        ),
    )
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

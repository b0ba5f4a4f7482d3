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

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The code as the bank sends it.
    pub code: &'static str,
    /// Normalized kind.
    pub kind: ReasonKind,
    /// The bank's wording in French.
    pub text_fr: &'static str,
    /// The bank's wording in English.
    pub text_en: &'static str,
}

const fn row(
    code: &'static str,
    kind: ReasonKind,
    text_fr: &'static str,
    text_en: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        kind,
        text_fr,
        text_en,
    }
}

/// Every code of the table, in the bank's order.
pub const TABLE: &[CodeInfo] = &[
    row(
        "05",
        ReasonKind::Declined,
        "Refus de l'émetteur",
        "Declined by the issuer",
    ),
    row(
        CANCELLED,
        ReasonKind::CancelledByCustomer,
        "Annulation du client",
        "Cancelled by the customer",
    ),
    row(
        "41",
        ReasonKind::CardLostOrStolen,
        "Carte perdue",
        "Lost card",
    ),
    row(
        "43",
        ReasonKind::CardLostOrStolen,
        "Carte volée",
        "Stolen card",
    ),
    row(
        "51",
        ReasonKind::InsufficientFunds,
        "Provision insuffisante",
        "Insufficient funds",
    ),
    row(
        "54",
        ReasonKind::CardExpired,
        "Carte expirée",
        "Expired card",
    ),
    row(
        "59",
        ReasonKind::FraudSuspected,
        "Suspicion de fraude",
        "Suspected fraud",
    ),
    row(
        "91",
        ReasonKind::IssuerUnavailable,
        "Émetteur indisponible",
        "Issuer unavailable",
    ),
    row(
        "A1",
        ReasonKind::AuthenticationRequired,
        "Authentification forte requise",
        "Strong authentication required",
    ),
    row(
        PENDING,
        ReasonKind::Pending,
        "En attente de l'émetteur",
        "Pending the issuer's decision",
    ),
];

// `known_codes` is the table's first column, computed once at compile time.
const CODES: [&str; TABLE.len()] = {
    let mut codes = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        codes[i] = TABLE[i].code;
        i += 1;
    }
    codes
};

/// Every code of the table, for `tpe codes` and the conformance suite.
pub fn known_codes() -> &'static [&'static str] {
    &CODES
}

/// The table row of `code`, if it has one.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    TABLE.iter().find(|c| c.code == code)
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
    match lookup(code) {
        Some(info) => Reason::new(info.kind, info.code).with_bank_text(info.text_fr, info.text_en),
        None => Reason::unknown(code.to_owned()).with_bank_text(
            "Code inconnu de la banque Skeleton",
            "Code unknown to the Skeleton bank",
        ),
    }
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

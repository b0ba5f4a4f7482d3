//! Lyra's codes (spec B.6): `vads_auth_result` (the issuer's answer, CB / ISO 8583 codes) and
//! `vads_result` (the platform's overall result) mapped to normalized [`Reason`]s with the
//! wording in French and English and the retry advice; `vads_trans_status` mapped to the
//! [`BankOutcome`] of an authentic notification.
//!
//! `00` (approved) is not a decline and is not in the tables. Any code outside a table gives
//! [`Reason::unknown`] with the raw value kept, and a status or code outside the tables is
//! [`BankOutcome::unclassified`]: never a verdict.

use tpe_core::{BankOutcome, Reason, ReasonKind, RetryAdvice};

use ReasonKind as K;
use RetryAdvice as A;

use tpe_core::codes::JsonTable;
pub use tpe_core::codes::{CodeInfo, lookup};

/// `vads_auth_result`: the issuer's answer (spec B.6), in the guide's order. Its rows,
/// `[code, kind, advice, french, english]`, are data in `codes/auth_results.json`.
pub static AUTH_RESULTS: JsonTable<CodeInfo> =
    JsonTable::new(include_str!("codes/auth_results.json"));

/// `vads_result`: the platform's overall result (spec B.6), `00` excluded; data in
/// `codes/results.json`.
pub static RESULTS: JsonTable<CodeInfo> = JsonTable::new(include_str!("codes/results.json"));

/// The code of an approved authorization (and of a successful `vads_result`).
pub const APPROVED: &str = "00";

/// Every `vads_auth_result` code of the table, for `tpe codes` and the conformance suite.
pub fn known_codes() -> &'static [&'static str] {
    AUTH_RESULTS.codes()
}

/// Every `vads_result` code of its table.
pub fn known_results() -> &'static [&'static str] {
    RESULTS.codes()
}

/// The bank's wording of a code outside its table (French, English).
const UNKNOWN: (&str, &str) = (
    "Code inconnu de la table Lyra : voir le back-office",
    "Code outside the Lyra table: look it up in the back office",
);

fn reason(table: &'static [CodeInfo], code: &str) -> Reason {
    tpe_core::codes::classify(table, code, UNKNOWN)
}

/// Classifies a `vads_auth_result` code. Total: a code outside the table gives
/// [`ReasonKind::UnknownCode`] with the raw value kept.
///
/// ```
/// use tpe_core::{ReasonKind, RetryAdvice};
/// let r = tpe_lyra::codes::classify("51");
/// assert_eq!((r.kind(), r.retry_advice()), (ReasonKind::InsufficientFunds, RetryAdvice::UseAnotherCard));
/// assert_eq!(tpe_lyra::codes::classify("X7").kind(), ReasonKind::UnknownCode);
/// ```
pub fn classify(code: &str) -> Reason {
    reason(&AUTH_RESULTS, code)
}

/// Classifies a `vads_result` code, as [`classify`] does.
pub fn classify_result(code: &str) -> Reason {
    reason(&RESULTS, code)
}

/// What `vads_trans_status` says, before the codes are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusGroup {
    /// Authorized or captured: paid for the shop.
    Paid,
    /// Not final yet.
    Pending,
    /// Refused by the issuer or the platform.
    Refused,
    /// Abandoned, not created or cancelled.
    Cancelled,
    /// Final without payment (validation or authorization period elapsed).
    Expired,
    /// Captured failed.
    Failed,
}

/// The group of a `vads_trans_status` (spec B.6 table); `None` outside it.
pub fn status_group(status: &str) -> Option<StatusGroup> {
    use StatusGroup as G;
    Some(match status {
        "AUTHORISED" | "CAPTURED" | "ACCEPTED" | "AUTHORISED_TO_VALIDATE" => G::Paid,
        // A partial authorization is not the amount asked: the status query decides.
        "PARTIALLY_AUTHORISED"
        | "WAITING_AUTHORISATION"
        | "WAITING_AUTHORISATION_TO_VALIDATE"
        | "UNDER_VERIFICATION"
        | "INITIAL"
        | "PRE_AUTHORISED"
        | "WAITING_FOR_PAYMENT"
        | "SUSPENDED"
        | "PENDING"
        | "REFUND_TO_RETRY" => G::Pending,
        "REFUSED" => G::Refused,
        "ABANDONED" | "NOT_CREATED" | "CANCELLED" => G::Cancelled,
        "EXPIRED" => G::Expired,
        "CAPTURE_FAILED" => G::Failed,
        _ => return None,
    })
}

/// The longest authorization number kept.
const MAX_AUTHORIZATION: usize = 16;

/// The outcome of an authentic notification: `vads_trans_status`, with `vads_auth_result`
/// (or, when empty, `vads_result`) for a refusal.
///
/// ```
/// use tpe_core::OutcomeKind;
/// use tpe_lyra::codes::outcome;
/// assert_eq!(outcome("AUTHORISED", "00", "00", Some("3fb0de")).kind(), OutcomeKind::Accepted);
/// assert_eq!(outcome("REFUSED", "51", "05", None).kind(), OutcomeKind::Refused);
/// assert_eq!(outcome("REFUSED", "X7", "05", None).kind(), OutcomeKind::Unclassified);
/// assert_eq!(outcome("NEW_STATUS", "00", "00", None).kind(), OutcomeKind::Unclassified);
/// ```
pub fn outcome(
    status: &str,
    auth_result: &str,
    result: &str,
    authorization: Option<&str>,
) -> BankOutcome {
    let refusal = |code: &str, table: &'static [CodeInfo]| match lookup(table, code) {
        Some(_) => BankOutcome::Refused {
            reason: reason(table, code),
        },
        None => BankOutcome::unclassified(code),
    };
    match status_group(status) {
        Some(StatusGroup::Paid) => BankOutcome::Accepted {
            authorization: authorization.filter(|a| !a.is_empty()).map(|a| {
                a.chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(MAX_AUTHORIZATION)
                    .collect()
            }),
        },
        Some(StatusGroup::Pending) => BankOutcome::Pending,
        Some(StatusGroup::Cancelled) => BankOutcome::Cancelled,
        Some(StatusGroup::Refused) if !auth_result.is_empty() && auth_result != APPROVED => {
            refusal(auth_result, &AUTH_RESULTS)
        }
        Some(StatusGroup::Refused) => refusal(result, &RESULTS),
        Some(StatusGroup::Expired) => BankOutcome::Refused {
            reason: Reason::new(K::PageTimeout, "EXPIRED")
                .with_bank_text(
                    "Délai de validation ou d'autorisation dépassé",
                    "Validation or authorization period elapsed",
                )
                .with_advice(A::RetryNow),
        },
        Some(StatusGroup::Failed) => BankOutcome::Refused {
            reason: Reason::new(K::ProcessingError, "CAPTURE_FAILED")
                .with_bank_text("Échec de la remise", "Capture failed")
                .with_advice(A::FixConfiguration),
        },
        None => BankOutcome::unclassified(status),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn tables_are_unique_classified_and_worded() {
        assert_eq!(AUTH_RESULTS.parse().map(|r| r.len()).ok(), Some(46));
        assert_eq!(RESULTS.parse().map(|r| r.len()).ok(), Some(5));
        for table in [&AUTH_RESULTS, &RESULTS] {
            let mut seen = std::collections::HashSet::new();
            for info in table.iter() {
                assert!(seen.insert(info.code), "duplicate {}", info.code);
                let r = reason(table, info.code);
                assert_ne!(r.kind(), ReasonKind::UnknownCode, "{}", info.code);
                assert_eq!((r.code(), r.retry_advice()), (info.code, info.advice));
                assert!(!info.text_fr.is_empty() && !info.text_en.is_empty());
            }
        }
        assert_eq!(known_codes().len(), AUTH_RESULTS.len());
        assert_eq!(known_results().len(), RESULTS.len());
    }

    #[test]
    fn spec_codes_are_all_present() {
        // Spec B.6, written out independently of the table.
        let auth = [
            "02", "03", "04", "05", "07", "08", "12", "13", "14", "15", "17", "19", "20", "24",
            "25", "26", "27", "28", "29", "30", "31", "33", "34", "38", "41", "43", "51", "54",
            "55", "56", "57", "58", "59", "60", "61", "63", "68", "75", "76", "90", "91", "94",
            "96", "97", "98", "99",
        ];
        for code in auth {
            assert!(known_codes().contains(&code), "{code} missing");
        }
        for code in ["02", "05", "17", "30", "96"] {
            assert!(known_results().contains(&code), "{code} missing");
        }
    }

    #[test]
    fn suggested_mapping_of_the_spec() {
        let cases = [
            ("51", K::InsufficientFunds),
            ("33", K::CardExpired),
            ("54", K::CardExpired),
            ("14", K::InvalidCardData),
            ("41", K::CardLostOrStolen),
            ("43", K::CardLostOrStolen),
            ("34", K::FraudSuspected),
            ("63", K::FraudSuspected),
            ("05", K::Declined),
            ("91", K::IssuerUnavailable),
            ("17", K::CancelledByCustomer),
        ];
        for (code, kind) in cases {
            assert_eq!(classify(code).kind(), kind, "{code}");
        }
        assert_eq!(classify("91").retry_advice(), A::RetryLater);
        assert!(
            classify("51")
                .bank_text(tpe_core::Lang::Fr)
                .contains("Provision")
        );
    }

    #[test]
    fn statuses_map_per_the_spec() {
        use tpe_core::OutcomeKind as O;
        let cases = [
            ("AUTHORISED", O::Accepted),
            ("AUTHORISED_TO_VALIDATE", O::Accepted),
            ("CAPTURED", O::Accepted),
            ("WAITING_AUTHORISATION", O::Pending),
            ("UNDER_VERIFICATION", O::Pending),
            ("PARTIALLY_AUTHORISED", O::Pending),
            ("ABANDONED", O::Cancelled),
            ("CANCELLED", O::Cancelled),
            ("NOT_CREATED", O::Cancelled),
            ("EXPIRED", O::Refused),
            ("CAPTURE_FAILED", O::Refused),
            ("REFUSED", O::Refused),
            ("authorised", O::Unclassified),
            ("", O::Unclassified),
        ];
        for (status, kind) in cases {
            assert_eq!(outcome(status, "05", "05", None).kind(), kind, "{status}");
        }
        // A refusal without an issuer's answer keeps the platform's result.
        let BankOutcome::Refused { reason } = outcome("REFUSED", "", "05", None) else {
            panic!("refused expected");
        };
        assert_eq!(reason.code(), "05");
        let BankOutcome::Accepted { authorization } =
            outcome("AUTHORISED", "00", "00", Some("3fb0de"))
        else {
            panic!("accepted expected");
        };
        assert_eq!(authorization.as_deref(), Some("3fb0de"));
    }

    proptest! {
        #[test]
        fn classify_never_panics_and_keeps_unknown_codes(s in "\\PC{0,80}") {
            let r = classify(&s);
            prop_assert!(r.code().chars().count() <= Reason::MAX_CODE_LEN);
            if lookup(&AUTH_RESULTS, &s).is_none() {
                prop_assert_eq!(r.kind(), ReasonKind::UnknownCode);
            }
            let _ = outcome(&s, &s, &s, Some(&s));
        }
    }
}

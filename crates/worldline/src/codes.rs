//! Result codes (spec §G.7, §G.10): the numeric `statusOutput.statusCode` (the legacy
//! e-Commerce status), the `status` names, and a few API `errorCode`s, each with the platform's
//! meaning in French and English, a [`ReasonKind`], and what the lifecycle makes of it.

use tpe_core::{BankOutcome, Reason, ReasonKind, RetryAdvice};

/// What a `statusCode` means for the checkout (spec §G.7 "Normalized").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

const fn row(
    code: &'static str,
    kind: ReasonKind,
    verdict: Verdict,
    fr: &'static str,
    en: &'static str,
) -> Row {
    Row {
        code,
        kind,
        verdict,
        fr,
        en,
    }
}

use ReasonKind as K;
use Verdict as V;

/// The table, `statusCode`s first in the order of the spec. Code 0 ("invalid or incomplete")
/// is left out on purpose: an authentic 0 is unclassified, and a status query decides.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    row("1", K::CancelledByCustomer, V::Cancelled, "Annulé par le client.", "Cancelled by the customer."),
    row("2", K::Declined, V::Refused, "Autorisation refusée.", "Authorisation refused."),
    row("4", K::Pending, V::Pending, "Commande enregistrée, en attente.", "Order stored, waiting."),
    row("46", K::Pending, V::Pending, "En attente d'authentification 3-D Secure.", "Waiting for 3-D Secure authentication."),
    row("5", K::Pending, V::Paid, "Autorisé, à capturer.", "Authorised, to be captured."),
    row("50", K::Pending, V::Pending, "Autorisé, en attente d'un résultat externe.", "Authorised, waiting for an external result."),
    row("51", K::Pending, V::Pending, "Autorisation en attente.", "Authorisation waiting."),
    row("52", K::Pending, V::Pending, "Autorisation incertaine : interroger la plateforme.", "Authorisation not known (uncertain): ask the platform."),
    row("55", K::Pending, V::Pending, "En suspens (stand-by).", "Stand-by."),
    row("56", K::Pending, V::Paid, "Autorisé, avec échéancier.", "Authorised, with scheduled payments."),
    row("57", K::Declined, V::Refused, "Refusé, avec échéancier.", "Refused, with scheduled payments."),
    row("59", K::TransactionNotPermitted, V::Refused, "Autorisation à demander manuellement.", "Authorisation to be requested manually."),
    row("6", K::CancelledByCustomer, V::Cancelled, "Autorisé puis annulé.", "Authorised and cancelled."),
    row("61", K::CancelledByCustomer, V::Cancelled, "Annulation de l'autorisation en attente.", "Authorisation deletion waiting."),
    row("62", K::CancelledByCustomer, V::Cancelled, "Annulation de l'autorisation incertaine.", "Authorisation deletion uncertain."),
    row("63", K::ProcessingError, V::NoChange, "Annulation de l'autorisation refusée.", "Authorisation deletion refused."),
    row("64", K::CancelledByCustomer, V::Cancelled, "Autorisé puis annulé.", "Authorised and cancelled."),
    row("7", K::CancelledByCustomer, V::Cancelled, "Paiement annulé.", "Payment deleted."),
    row("71", K::CancelledByCustomer, V::Cancelled, "Annulation du paiement en attente.", "Payment deletion pending."),
    row("72", K::CancelledByCustomer, V::Cancelled, "Annulation du paiement incertaine.", "Payment deletion uncertain."),
    row("73", K::ProcessingError, V::NoChange, "Annulation du paiement refusée.", "Payment deletion refused."),
    row("74", K::CancelledByCustomer, V::Cancelled, "Paiement annulé.", "Payment deleted."),
    row("75", K::CancelledByCustomer, V::Cancelled, "Annulation traitée par le commerçant.", "Deletion processed by the merchant."),
    row("8", K::Pending, V::Refund, "Remboursé.", "Refunded."),
    row("81", K::Pending, V::Refund, "Remboursement en attente.", "Refund pending."),
    row("82", K::Pending, V::Refund, "Remboursement incertain.", "Refund uncertain."),
    row("83", K::ProcessingError, V::NoChange, "Remboursement refusé.", "Refund refused."),
    row("85", K::Pending, V::Refund, "Remboursement traité par le commerçant.", "Refund processed by the merchant."),
    row("9", K::Pending, V::Paid, "Paiement capturé.", "Payment captured."),
    row("91", K::Pending, V::Paid, "Capture en cours.", "Payment processing (capture in progress)."),
    row("92", K::Pending, V::Pending, "Paiement incertain : interroger la plateforme.", "Payment uncertain: ask the platform."),
    row("93", K::Declined, V::Refused, "Paiement refusé.", "Payment refused."),
    row("94", K::ProcessingError, V::NoChange, "Remboursement refusé par l'acquéreur.", "Refund declined by the acquirer."),
    row("95", K::Pending, V::Paid, "Paiement traité par le commerçant.", "Payment processed by the merchant."),
    row("96", K::ProcessingError, V::NoChange, "Remboursement annulé.", "Refund reversed."),
    row("99", K::Pending, V::Pending, "En cours de traitement.", "Being processed."),
    // `status` names (spec §G.7), for the status read when no code is given.
    row("CREATED", K::Pending, V::Pending, "Créé, en attente.", "Created, still pending."),
    row("REDIRECTED", K::Pending, V::Pending, "Client redirigé vers un tiers.", "Customer sent to a third party."),
    row("AUTHORIZATION_REQUESTED", K::Pending, V::Pending, "Autorisation demandée.", "Authorisation requested."),
    row("PENDING_COMPLETION", K::Pending, V::Pending, "En attente de finalisation.", "Waiting for completion."),
    row("PENDING_PAYMENT", K::Pending, V::Pending, "En attente de paiement.", "Waiting for payment."),
    row("PENDING_APPROVAL", K::Pending, V::Pending, "En attente d'approbation.", "Waiting for approval."),
    row("PENDING_CAPTURE", K::Pending, V::Paid, "Autorisé, à capturer.", "Authorised, waiting for capture."),
    row("CAPTURE_REQUESTED", K::Pending, V::Paid, "Capture demandée.", "Capture requested."),
    row("CAPTURED", K::Pending, V::Paid, "Capturé.", "Captured."),
    row("REJECTED", K::Declined, V::Refused, "Refusé.", "Rejected."),
    row("REJECTED_CAPTURE", K::Declined, V::Refused, "Capture refusée.", "Capture rejected."),
    row("CANCELLED", K::CancelledByCustomer, V::Cancelled, "Annulé par le client ou le commerçant.", "Cancelled by the customer or the merchant."),
    row("REFUND_REQUESTED", K::Pending, V::Refund, "Remboursement demandé.", "Refund requested."),
    row("REFUNDED", K::Pending, V::Refund, "Remboursé.", "Refunded."),
    // API `errorCode`s (spec §G.3, §G.10).
    row("1409", K::Duplicate, V::NoChange, "Requête identique en cours (clé d'idempotence) : réessayer plus tard.", "The same request is still running (idempotence key): retry later."),
    row("21000020", K::InvalidCardData, V::Refused, "Le numéro de carte ne passe pas le contrôle de Luhn.", "The card number failed the Luhn check."),
];

/// Every code of the table, in the table's order.
const CODES: &[&str] = &{
    let mut out = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = TABLE[i].code;
        i += 1;
    }
    out
};

/// Every code this provider knows.
pub fn known_codes() -> &'static [&'static str] {
    CODES
}

fn find(code: &str) -> Option<&'static Row> {
    let code = code.trim();
    TABLE
        .iter()
        .find(|r| r.code == code)
        .or_else(|| TABLE.iter().find(|r| r.code.eq_ignore_ascii_case(code)))
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
    }

    #[test]
    fn unknown_codes_are_kept_raw_and_bounded() {
        assert_eq!(classify("rejected").kind(), K::Declined);
        assert_eq!(classify(" 93 ").code(), "93");
        assert_eq!(classify("").kind(), K::UnknownCode);
        assert!(classify(&"x".repeat(10_000)).code().len() <= Reason::MAX_CODE_LEN);
    }
}

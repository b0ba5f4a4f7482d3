//! Decline codes (spec §A.8): the `decline_code` (or top-level `code`) of a card error mapped to
//! a normalized [`Reason`], with the PSP's meaning in French and English and the advice.

use tpe_core::{Reason, ReasonKind, RetryAdvice};

use tpe_core::codes::{CodeInfo, codes_of};

use ReasonKind as K;
use RetryAdvice as A;

/// The table, in the order of the spec. Codes marked UNSURE there are kept: an unknown code
/// would be classified anyway, and a wrong guess only changes the wording.
const TABLE: &[CodeInfo] = &[
    CodeInfo::of(
        "insufficient_funds",
        K::InsufficientFunds,
        "Fonds ou crédit insuffisants sur la carte.",
        "The card has insufficient funds or credit.",
    ),
    CodeInfo::of(
        "expired_card",
        K::CardExpired,
        "La carte est expirée.",
        "The card has expired.",
    ),
    CodeInfo::of(
        "incorrect_cvc",
        K::InvalidCardData,
        "Le cryptogramme visuel (CVC) est incorrect.",
        "The card's security code (CVC) is incorrect.",
    ),
    CodeInfo::of(
        "invalid_cvc",
        K::InvalidCardData,
        "Le cryptogramme visuel (CVC) est invalide.",
        "The card's security code (CVC) is invalid.",
    ),
    CodeInfo::of(
        "incorrect_number",
        K::InvalidCardData,
        "Le numéro de carte est incorrect.",
        "The card number is incorrect.",
    ),
    CodeInfo::of(
        "invalid_number",
        K::InvalidCardData,
        "Le numéro de carte est invalide.",
        "The card number is invalid.",
    ),
    CodeInfo::of(
        "lost_card",
        K::CardLostOrStolen,
        "Carte déclarée perdue (ne pas le révéler au client).",
        "Card reported lost (do not tell the customer).",
    ),
    CodeInfo::of(
        "stolen_card",
        K::CardLostOrStolen,
        "Carte déclarée volée (ne pas le révéler au client).",
        "Card reported stolen (do not tell the customer).",
    ),
    CodeInfo::of(
        "do_not_honor",
        K::Declined,
        "La banque du porteur refuse sans donner de motif.",
        "The issuer declined without giving a reason.",
    ),
    CodeInfo::of(
        "generic_decline",
        K::Declined,
        "Refus sans motif précis (banque du porteur ou blocage du PSP).",
        "Declined without a specific reason (issuer or a PSP-side block).",
    ),
    CodeInfo::of(
        "card_declined",
        K::Declined,
        "Carte refusée.",
        "The card was declined.",
    ),
    CodeInfo::of(
        "authentication_required",
        K::AuthenticationRequired,
        "La banque du porteur exige une authentification 3-D Secure.",
        "The issuer requires 3-D Secure authentication.",
    ),
    CodeInfo::new(
        "processing_error",
        K::ProcessingError,
        A::RetryNow,
        "Erreur pendant le traitement de la carte.",
        "An error occurred while processing the card.",
    ),
    CodeInfo::of(
        "fraudulent",
        K::FraudSuspected,
        "Paiement suspecté frauduleux (banque ou PSP) ; afficher un refus générique.",
        "Payment suspected fraudulent (issuer or PSP); show a generic decline.",
    ),
    CodeInfo::of(
        "card_not_supported",
        K::CardNotSupported,
        "La carte ne permet pas ce type d'achat.",
        "The card does not support this type of purchase.",
    ),
    CodeInfo::of(
        "currency_not_supported",
        K::CardNotSupported,
        "La carte ne permet pas de payer dans cette devise.",
        "The card does not support this currency.",
    ),
    CodeInfo::of(
        "transaction_not_allowed",
        K::TransactionNotPermitted,
        "Opération non autorisée pour cette carte.",
        "The transaction is not allowed for this card.",
    ),
    CodeInfo::new(
        "card_velocity_exceeded",
        K::LimitExceeded,
        A::RetryLater,
        "Plafond ou fréquence d'utilisation de la carte dépassé.",
        "The card's balance, credit or usage limit was exceeded.",
    ),
    CodeInfo::new(
        "withdrawal_count_limit_exceeded",
        K::LimitExceeded,
        A::RetryLater,
        "Nombre d'opérations autorisées de la carte dépassé.",
        "The card's transaction count limit was exceeded.",
    ),
    CodeInfo::of(
        "pickup_card",
        K::CardLostOrStolen,
        "La banque demande de retenir la carte (perdue, volée ou bloquée).",
        "The issuer asks to retain the card (lost, stolen or blocked).",
    ),
    CodeInfo::new(
        "restricted_card",
        K::TransactionNotPermitted,
        A::DoNotRetry,
        "Carte soumise à restriction par sa banque.",
        "The card is restricted by its issuer.",
    ),
    CodeInfo::of(
        "security_violation",
        K::FraudSuspected,
        "Refus pour raison de sécurité.",
        "Declined for a security violation.",
    ),
    CodeInfo::of(
        "try_again_later",
        K::IssuerUnavailable,
        "Refus temporaire ; réessayer plus tard.",
        "Temporary decline; try again later.",
    ),
    CodeInfo::of(
        "issuer_not_available",
        K::IssuerUnavailable,
        "La banque du porteur est injoignable.",
        "The issuer could not be reached.",
    ),
    CodeInfo::new(
        "reenter_transaction",
        K::ProcessingError,
        A::RetryNow,
        "La banque demande de ressaisir l'opération.",
        "The issuer asks to re-enter the transaction.",
    ),
];

/// Every code of the table, in the table's order.
const CODES: [&str; TABLE.len()] = codes_of(TABLE);

/// Every decline code this provider knows.
pub fn known_codes() -> &'static [&'static str] {
    &CODES
}

/// Classifies a decline code. Total: an unknown code keeps its raw value under
/// [`ReasonKind::UnknownCode`].
///
/// ```
/// use tpe_core::ReasonKind;
/// use tpe_stripe_like::classify;
/// assert_eq!(classify("insufficient_funds").kind(), ReasonKind::InsufficientFunds);
/// let unknown = classify("brand_new_code");
/// assert_eq!(unknown.kind(), ReasonKind::UnknownCode);
/// assert_eq!(unknown.code(), "brand_new_code");
/// ```
pub fn classify(code: &str) -> Reason {
    let code = code.trim();
    let found = TABLE
        .iter()
        .find(|r| r.code == code)
        .or_else(|| TABLE.iter().find(|r| r.code.eq_ignore_ascii_case(code)));
    match found {
        Some(r) => r.reason(),
        None => Reason::unknown(code.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_spec() {
        let expect = [
            ("insufficient_funds", K::InsufficientFunds),
            ("expired_card", K::CardExpired),
            ("incorrect_cvc", K::InvalidCardData),
            ("invalid_cvc", K::InvalidCardData),
            ("incorrect_number", K::InvalidCardData),
            ("invalid_number", K::InvalidCardData),
            ("lost_card", K::CardLostOrStolen),
            ("stolen_card", K::CardLostOrStolen),
            ("do_not_honor", K::Declined),
            ("generic_decline", K::Declined),
            ("authentication_required", K::AuthenticationRequired),
            ("processing_error", K::ProcessingError),
            ("fraudulent", K::FraudSuspected),
            ("card_not_supported", K::CardNotSupported),
            ("currency_not_supported", K::CardNotSupported),
            ("transaction_not_allowed", K::TransactionNotPermitted),
            ("card_velocity_exceeded", K::LimitExceeded),
            ("withdrawal_count_limit_exceeded", K::LimitExceeded),
            ("pickup_card", K::CardLostOrStolen),
            ("restricted_card", K::TransactionNotPermitted),
            ("security_violation", K::FraudSuspected),
            ("try_again_later", K::IssuerUnavailable),
            ("issuer_not_available", K::IssuerUnavailable),
            ("reenter_transaction", K::ProcessingError),
        ];
        for (code, kind) in expect {
            assert_eq!(classify(code).kind(), kind, "{code}");
            assert!(known_codes().contains(&code), "{code}");
        }
        assert_eq!(classify("processing_error").retry_advice(), A::RetryNow);
        assert_eq!(classify("lost_card").retry_advice(), A::DoNotRetry);
        assert_eq!(
            classify("authentication_required").retry_advice(),
            A::RetryWithAuthentication
        );
    }

    #[test]
    fn unknown_codes_are_kept_raw_and_bounded() {
        let r = classify("some_future_code");
        assert_eq!(r.kind(), K::UnknownCode);
        assert_eq!(r.code(), "some_future_code");
        assert_eq!(classify("INSUFFICIENT_FUNDS").kind(), K::InsufficientFunds);
        assert!(classify(&"x".repeat(10_000)).code().len() <= Reason::MAX_CODE_LEN);
        assert_eq!(classify("").kind(), K::UnknownCode);
    }
}

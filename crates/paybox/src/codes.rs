//! Paybox result codes (`E` of PBX_RETOUR, spec §5) and authorization-centre codes `001xx`
//! (spec §5.1) mapped to normalized [`Reason`]s.
//!
//! The table keeps the bank's wording in French and English and the advice for each precise
//! code. Any other input (another 5-character code, garbage, an empty string) gives
//! [`Reason::unknown`] with the raw value kept; nothing here can panic.
//!
//! `00000` (success) is not a decline and is not in the table: [`is_success`] tells it apart.

use tpe_core::Reason;

pub use tpe_core::codes::CodeInfo;

tpe_core::code_table! {
    /// Every code of the table, in the spec's order.
    pub TABLE, CODES;
    // §5: platform codes.
    "00001" => IssuerUnavailable, RetryLater, "Connexion au centre d'autorisation échouée ou erreur interne", "Authorization centre unreachable or internal error";
    "00003" => ProcessingError, RetryLater, "Erreur Paybox", "Paybox platform error";
    "00004" => InvalidCardData, RetryNow, "Numéro de porteur ou cryptogramme visuel invalide", "Invalid card number or security code";
    "00006" => MerchantConfiguration, FixConfiguration, "Accès refusé ou site/rang/identifiant incorrect (ou HMAC invalide)", "Access denied or wrong site/rank/identifier (or invalid HMAC)";
    "00008" => CardExpired, RetryNow, "Date de fin de validité incorrecte", "Invalid expiry date";
    "00009" => ProcessingError, DoNotRetry, "Erreur de création d'un abonnement", "Subscription creation error";
    "00010" => InvalidAmount, FixConfiguration, "Devise inconnue", "Unknown currency";
    "00011" => InvalidAmount, FixConfiguration, "Montant incorrect", "Invalid amount";
    "00015" => Duplicate, DoNotRetry, "Paiement déjà effectué", "Payment already done";
    "00016" => Duplicate, DoNotRetry, "Abonné déjà existant", "Subscriber already exists";
    "00021" => CardNotSupported, UseAnotherCard, "Carte non autorisée", "Card not allowed";
    "00022" => LimitExceeded, UseAnotherCard, "Plafond atteint", "Limit reached";
    "00029" => CardNotSupported, UseAnotherCard, "Carte non conforme", "Card not compliant";
    "00030" => PageTimeout, RetryNow, "Temps d'attente supérieur à 15 minutes sur la page de paiement", "More than 15 minutes on the payment page";
    "00031" => ProcessingError, RetryLater, "Réservé", "Reserved";
    "00032" => ProcessingError, RetryLater, "Réservé", "Reserved";
    "00033" => TransactionNotPermitted, DoNotRetry, "Code pays de l'adresse IP du navigateur non autorisé", "Country of the buyer's IP address not allowed";
    "00040" => AuthenticationRequired, RetryWithAuthentication, "Opération sans authentification 3-D Secure bloquée par le filtre", "Operation without 3-D Secure authentication blocked by the fraud filter";
    "00099" => Pending, Wait, "En attente de validation (code peu documenté, probablement 99999)", "Pending (little-documented code, probably 99999)";
    "99999" => Pending, Wait, "Opération en attente de validation par l'émetteur du moyen de paiement", "Operation pending the decision of the payment method's issuer";
    // §5.1: authorization-centre codes 001xx.
    "00101" => Declined, ContactIssuer, "Contacter l'émetteur de carte", "Refer to card issuer";
    "00102" => Declined, ContactIssuer, "Contacter l'émetteur de carte", "Refer to card issuer (special condition)";
    "00103" => MerchantConfiguration, FixConfiguration, "Commerçant invalide", "Invalid merchant";
    "00104" => CardLostOrStolen, DoNotRetry, "Conserver la carte", "Pick up card";
    "00105" => Declined, UseAnotherCard, "Ne pas honorer", "Do not honour";
    "00107" => CardLostOrStolen, DoNotRetry, "Conserver la carte, conditions spéciales", "Pick up card, special conditions";
    "00108" => Declined, ContactIssuer, "Approuver après identification du porteur", "Honour with identification";
    "00112" => Declined, DoNotRetry, "Transaction invalide", "Invalid transaction";
    "00113" => InvalidAmount, FixConfiguration, "Montant invalide", "Invalid amount";
    "00114" => InvalidCardData, RetryNow, "Numéro de porteur invalide", "Invalid card number";
    "00115" => CardNotSupported, UseAnotherCard, "Emetteur de carte inconnu", "Unknown issuer";
    "00117" => CancelledByCustomer, RetryNow, "Annulation client", "Customer cancellation";
    "00119" => IssuerUnavailable, RetryLater, "Répéter la transaction ultérieurement", "Re-enter transaction later";
    "00120" => ProcessingError, RetryLater, "Réponse erronée (erreur dans le domaine serveur)", "Invalid response (server domain error)";
    "00124" => ProcessingError, DoNotRetry, "Mise à jour de fichier non supportée", "File update not supported";
    "00125" => ProcessingError, DoNotRetry, "Impossible de localiser l'enregistrement dans le fichier", "Record not found";
    "00126" => ProcessingError, DoNotRetry, "Enregistrement dupliqué, ancien enregistrement remplacé", "Duplicate record, old one replaced";
    "00127" => ProcessingError, DoNotRetry, "Erreur en « edit » sur champ de mise à jour fichier", "File update edit error";
    "00128" => ProcessingError, DoNotRetry, "Accès interdit au fichier", "File access denied";
    "00129" => ProcessingError, DoNotRetry, "Mise à jour de fichier impossible", "File update impossible";
    "00130" => ProcessingError, DoNotRetry, "Erreur de format", "Format error";
    "00131" => MerchantConfiguration, FixConfiguration, "Identifiant de l'organisme acquéreur inconnu", "Unknown acquirer identifier";
    "00133" => CardExpired, UseAnotherCard, "Date de validité de la carte dépassée", "Expired card";
    "00134" => FraudSuspected, DoNotRetry, "Suspicion de fraude", "Suspected fraud";
    "00138" => Declined, DoNotRetry, "Nombre d'essais code confidentiel dépassé", "PIN tries exceeded";
    "00141" => CardLostOrStolen, DoNotRetry, "Carte perdue", "Lost card";
    "00143" => CardLostOrStolen, DoNotRetry, "Carte volée", "Stolen card";
    "00151" => InsufficientFunds, UseAnotherCard, "Provision insuffisante ou crédit dépassé", "Insufficient funds or credit limit exceeded";
    "00154" => CardExpired, UseAnotherCard, "Date de validité de la carte dépassée", "Expired card";
    "00155" => InvalidCardData, RetryNow, "Code confidentiel erroné", "Wrong PIN";
    "00156" => Declined, DoNotRetry, "Carte absente du fichier", "Card not on file";
    "00157" => TransactionNotPermitted, DoNotRetry, "Transaction non permise à ce porteur", "Transaction not permitted to cardholder";
    "00158" => TransactionNotPermitted, UseAnotherCard, "Transaction interdite au terminal", "Transaction not permitted to terminal";
    "00159" => FraudSuspected, DoNotRetry, "Suspicion de fraude", "Suspected fraud";
    "00160" => MerchantConfiguration, FixConfiguration, "L'accepteur de carte doit contacter l'acquéreur", "Card acceptor must contact acquirer";
    "00161" => LimitExceeded, UseAnotherCard, "Dépasse la limite du montant de retrait", "Exceeds amount limit";
    "00163" => FraudSuspected, DoNotRetry, "Règles de sécurité non respectées", "Security violation";
    "00168" => IssuerUnavailable, RetryLater, "Réponse non parvenue ou reçue trop tard", "Response not received or received too late";
    "00175" => Declined, DoNotRetry, "Nombre d'essais code confidentiel dépassé", "PIN tries exceeded";
    "00176" => CardLostOrStolen, DoNotRetry, "Porteur déjà en opposition, ancien enregistrement conservé", "Card already blocked";
    "00189" => AuthenticationFailed, RetryNow, "Echec de l'authentification", "Authentication failed";
    "00190" => IssuerUnavailable, RetryLater, "Arrêt momentané du système", "System temporarily down";
    "00191" => IssuerUnavailable, RetryLater, "Emetteur de cartes inaccessible", "Card issuer unavailable";
    "00194" => Duplicate, DoNotRetry, "Demande dupliquée", "Duplicate transmission";
    "00196" => ProcessingError, RetryLater, "Mauvais fonctionnement du système", "System malfunction";
    "00197" => IssuerUnavailable, RetryLater, "Echéance de la temporisation de surveillance globale", "Global surveillance timeout";
    "00198" => IssuerUnavailable, RetryLater, "Serveur inaccessible (positionné par le serveur)", "Server unavailable";
    "00199" => ProcessingError, RetryLater, "Incident domaine initiateur", "Initiator domain incident";
    "001A1" => AuthenticationRequired, RetryWithAuthentication, "Repli VADS (soft decline) : authentification forte requise", "Soft decline: strong customer authentication (3-D Secure) required";
    "001A4" => AuthenticationRequired, RetryWithAuthentication, "Utilisation incorrecte du TRA", "Transaction risk analysis exemption misused";
    "001R1" => RecurringRevoked, DoNotRetry, "Révocation paiement récurrent pour la carte chez le commerçant ou pour le MCC et la carte", "Recurring payments revoked for this card at this merchant or MCC";
    "001R3" => RecurringRevoked, DoNotRetry, "Révocation tous paiements récurrents pour la carte", "All recurring payments revoked for this card";
}

/// The code of an accepted payment.
pub const SUCCESS: &str = "00000";

/// The code of a payment pending the issuer's decision.
pub const PENDING: &str = "99999";

/// Every code of the table.
pub fn known_codes() -> &'static [&'static str] {
    CODES
}

/// Whether `code` means an accepted payment.
pub fn is_success(code: &str) -> bool {
    code == SUCCESS
}

/// The table row of `code`, if it has one. Lower-case letters in `001a1` are accepted.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    if code.len() != 5 || !code.is_ascii() {
        return None;
    }
    let mut upper = [0u8; 5];
    for (u, b) in upper.iter_mut().zip(code.bytes()) {
        *u = b.to_ascii_uppercase();
    }
    TABLE.iter().find(|c| c.code.as_bytes() == upper)
}

/// Classifies any code. Total: unknown codes give [`ReasonKind::UnknownCode`](tpe_core::ReasonKind::UnknownCode) with the raw value.
///
/// ```
/// use tpe_core::{ReasonKind, RetryAdvice};
/// let r = tpe_paybox::codes::classify("00151");
/// assert_eq!(r.kind(), ReasonKind::InsufficientFunds);
/// assert_eq!(tpe_paybox::codes::classify("001A1").retry_advice(),
///            RetryAdvice::RetryWithAuthentication);
/// let unknown = tpe_paybox::codes::classify("00777");
/// assert_eq!((unknown.kind(), unknown.code()), (ReasonKind::UnknownCode, "00777"));
/// ```
pub fn classify(code: &str) -> Reason {
    match lookup(code) {
        Some(info) => info.reason(),
        None if is_success(code) => Reason::unknown(SUCCESS).with_bank_text(
            "Opération réussie (pas un refus)",
            "Operation successful (not a decline)",
        ),
        None => Reason::unknown(code.to_owned()).with_bank_text(
            "Code bancaire inconnu : voir le back-office de la banque",
            "Unknown bank code: look it up in the bank's back office",
        ),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use tpe_core::{ReasonKind, RetryAdvice};

    use super::*;

    #[test]
    fn table_codes_are_five_characters_unique_and_classified() {
        let mut seen = std::collections::HashSet::new();
        for info in TABLE {
            assert_eq!(info.code.len(), 5, "{}", info.code);
            assert!(seen.insert(info.code), "duplicate {}", info.code);
            let r = classify(info.code);
            assert_ne!(r.kind(), ReasonKind::UnknownCode, "{}", info.code);
            assert_eq!(r.code(), info.code);
            assert_eq!(r.retry_advice(), info.advice);
            assert!(!info.text_fr.is_empty() && !info.text_en.is_empty());
        }
        assert_eq!(known_codes().len(), TABLE.len());
    }

    #[test]
    fn spec_codes_are_all_present() {
        // §5 and §5.1 of the spec, written out independently of the table.
        let platform = [
            "00001", "00003", "00004", "00006", "00008", "00009", "00010", "00011", "00015",
            "00016", "00021", "00022", "00029", "00030", "00031", "00032", "00033", "00040",
            "99999",
        ];
        let bank = [
            "01", "02", "03", "04", "05", "07", "08", "12", "13", "14", "15", "17", "19", "20",
            "24", "25", "26", "27", "28", "29", "30", "31", "33", "34", "38", "41", "43", "51",
            "54", "55", "56", "57", "58", "59", "60", "61", "63", "68", "75", "76", "89", "90",
            "91", "94", "96", "97", "98", "99", "A1", "A4", "R1", "R3",
        ];
        for code in platform
            .iter()
            .map(|c| (*c).to_owned())
            .chain(bank.iter().map(|xx| format!("001{xx}")))
        {
            assert!(known_codes().contains(&code.as_str()), "{code} missing");
        }
    }

    #[test]
    fn representative_mappings() {
        let cases = [
            (
                "00151",
                ReasonKind::InsufficientFunds,
                RetryAdvice::UseAnotherCard,
            ),
            (
                "00141",
                ReasonKind::CardLostOrStolen,
                RetryAdvice::DoNotRetry,
            ),
            (
                "00143",
                ReasonKind::CardLostOrStolen,
                RetryAdvice::DoNotRetry,
            ),
            (
                "001A1",
                ReasonKind::AuthenticationRequired,
                RetryAdvice::RetryWithAuthentication,
            ),
            (
                "001a1",
                ReasonKind::AuthenticationRequired,
                RetryAdvice::RetryWithAuthentication,
            ),
            (
                "001R3",
                ReasonKind::RecurringRevoked,
                RetryAdvice::DoNotRetry,
            ),
            (
                "00006",
                ReasonKind::MerchantConfiguration,
                RetryAdvice::FixConfiguration,
            ),
            ("00030", ReasonKind::PageTimeout, RetryAdvice::RetryNow),
            ("99999", ReasonKind::Pending, RetryAdvice::Wait),
            (
                "00117",
                ReasonKind::CancelledByCustomer,
                RetryAdvice::RetryNow,
            ),
            ("00004", ReasonKind::InvalidCardData, RetryAdvice::RetryNow),
        ];
        for (code, kind, advice) in cases {
            let r = classify(code);
            assert_eq!((r.kind(), r.retry_advice()), (kind, advice), "{code}");
        }
        assert!(
            classify("00151")
                .bank_text(tpe_core::Lang::Fr)
                .contains("Provision")
        );
    }

    #[test]
    fn unknown_codes_keep_their_raw_value() {
        for code in ["00777", "001ZZ", "00100", "12345", "", "x"] {
            let r = classify(code);
            assert_eq!(r.kind(), ReasonKind::UnknownCode, "{code}");
            assert_eq!(r.code(), code);
        }
        assert!(is_success("00000"));
        assert_eq!(classify("00000").kind(), ReasonKind::UnknownCode);
    }

    proptest! {
        #[test]
        fn classify_never_panics(s in "\\PC{0,80}") {
            let r = classify(&s);
            prop_assert!(r.code().chars().count() <= Reason::MAX_CODE_LEN);
        }

        #[test]
        fn any_five_char_code_is_total(s in "[0-9A-Za-z]{5}") {
            let r = classify(&s);
            if lookup(&s).is_none() {
                prop_assert_eq!(r.kind(), ReasonKind::UnknownCode);
                prop_assert_eq!(r.code(), s.as_str());
            }
        }
    }
}

//! The normalized decline vocabulary shared by every bank.
//!
//! Each provider maps its own codes (Paybox `00151`, Stripe `insufficient_funds`…) to a
//! [`Reason`]: a [`ReasonKind`] with advice and messages in French and English for the customer
//! and for the manager, plus the bank's raw code and its own wording.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A language of the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Lang {
    /// French.
    #[default]
    Fr,
    /// English.
    En,
}

/// What to do after a decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RetryAdvice {
    /// Try again now (a typo in the card data, a page timeout).
    RetryNow,
    /// Try again later (the issuer or the bank is unavailable).
    RetryLater,
    /// Try again with strong customer authentication (3-D Secure challenge).
    RetryWithAuthentication,
    /// Use another card.
    UseAnotherCard,
    /// The customer must contact their bank.
    ContactIssuer,
    /// Wait: the outcome is not final yet.
    Wait,
    /// Do not retry (lost or stolen card, fraud, duplicate).
    DoNotRetry,
    /// The merchant's configuration must be fixed; the customer cannot do anything.
    FixConfiguration,
}

impl RetryAdvice {
    /// A short explanation.
    pub fn describe(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::RetryNow, Lang::Fr) => "le client peut réessayer tout de suite",
            (Self::RetryNow, _) => "the customer can try again now",
            (Self::RetryLater, Lang::Fr) => "réessayer plus tard",
            (Self::RetryLater, _) => "try again later",
            (Self::RetryWithAuthentication, Lang::Fr) => {
                "réessayer avec authentification 3-D Secure"
            }
            (Self::RetryWithAuthentication, _) => "try again with 3-D Secure authentication",
            (Self::UseAnotherCard, Lang::Fr) => "payer avec une autre carte",
            (Self::UseAnotherCard, _) => "pay with another card",
            (Self::ContactIssuer, Lang::Fr) => "le client doit contacter sa banque",
            (Self::ContactIssuer, _) => "the customer must contact their bank",
            (Self::Wait, Lang::Fr) => "attendre le résultat définitif",
            (Self::Wait, _) => "wait for the final result",
            (Self::DoNotRetry, Lang::Fr) => "ne pas réessayer",
            (Self::DoNotRetry, _) => "do not retry",
            (Self::FixConfiguration, Lang::Fr) => "corriger la configuration du commerçant",
            (Self::FixConfiguration, _) => "fix the merchant configuration",
        }
    }
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $name:ident => $advice:ident,
        customer_fr: $cfr:literal, customer_en: $cen:literal,
        manager_fr: $mfr:literal, manager_en: $men:literal; )*) => {
        /// The normalized kind of a decline or non-payment.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum ReasonKind {
            $( $(#[$doc])* $name, )*
        }

        impl ReasonKind {
            /// Every kind, for tables and tests.
            pub const ALL: &'static [ReasonKind] = &[$(ReasonKind::$name),*];

            /// Default advice for this kind.
            pub const fn retry_advice(self) -> RetryAdvice {
                match self { $(Self::$name => RetryAdvice::$advice,)* }
            }

            /// Message for the customer (never reveals a lost/stolen card or a fraud suspicion).
            pub fn customer_message(self, lang: Lang) -> &'static str {
                match (self, lang) { $((Self::$name, Lang::Fr) => $cfr, (Self::$name, _) => $cen,)* }
            }

            /// Message for the shop's manager.
            pub fn manager_message(self, lang: Lang) -> &'static str {
                match (self, lang) { $((Self::$name, Lang::Fr) => $mfr, (Self::$name, _) => $men,)* }
            }

            /// Stable snake_case name, as stored and shown by `tpe codes`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$name => stringify!($name),)* }
            }
        }
    };
}

kinds! {
    /// 3-D Secure authentication failed or was refused.
    AuthenticationFailed => RetryNow,
        customer_fr: "L'authentification 3-D Secure a échoué. Vous pouvez réessayer.",
        customer_en: "3-D Secure authentication failed. You can try again.",
        manager_fr: "Échec de l'authentification 3-D Secure du porteur.",
        manager_en: "The cardholder failed 3-D Secure authentication.";
    /// The issuer requires strong authentication (soft decline).
    AuthenticationRequired => RetryWithAuthentication,
        customer_fr: "Votre banque demande une authentification forte. Réessayez le paiement.",
        customer_en: "Your bank requires strong authentication. Please try the payment again.",
        manager_fr: "Refus « soft decline » : la banque exige une authentification forte (3-D Secure).",
        manager_en: "Soft decline: the issuer requires strong customer authentication (3-D Secure).";
    /// The customer cancelled on the bank's page.
    CancelledByCustomer => RetryNow,
        customer_fr: "Vous avez annulé le paiement.",
        customer_en: "You cancelled the payment.",
        manager_fr: "Le client a annulé le paiement sur la page de la banque.",
        manager_en: "The customer cancelled on the bank's payment page.";
    /// The card is expired or the expiry date is wrong.
    CardExpired => UseAnotherCard,
        customer_fr: "Votre carte est expirée ou la date saisie est incorrecte.",
        customer_en: "Your card has expired or the expiry date is wrong.",
        manager_fr: "Carte expirée ou date de validité incorrecte.",
        manager_en: "Expired card or wrong expiry date.";
    /// The card was reported lost or stolen, or must be kept.
    CardLostOrStolen => DoNotRetry,
        customer_fr: "Le paiement a été refusé par votre banque.",
        customer_en: "The payment was declined by your bank.",
        manager_fr: "Carte déclarée perdue ou volée (ou à conserver) : ne pas accepter d'autre tentative avec cette carte.",
        manager_en: "Card reported lost or stolen (or to be retained): do not accept it again.";
    /// This card or card type cannot be used here.
    CardNotSupported => UseAnotherCard,
        customer_fr: "Cette carte n'est pas acceptée pour ce paiement. Essayez une autre carte.",
        customer_en: "This card cannot be used for this payment. Try another card.",
        manager_fr: "Carte ou type de carte non autorisé pour cette opération.",
        manager_en: "Card or card type not allowed for this operation.";
    /// Declined without a specific reason (do not honour, generic decline).
    Declined => ContactIssuer,
        customer_fr: "Le paiement a été refusé par votre banque. Contactez-la ou utilisez une autre carte.",
        customer_en: "The payment was declined by your bank. Contact it or use another card.",
        manager_fr: "Refus de la banque du porteur sans motif précis.",
        manager_en: "Declined by the issuer without a specific reason.";
    /// Duplicate request or payment already made.
    Duplicate => DoNotRetry,
        customer_fr: "Ce paiement a déjà été effectué.",
        customer_en: "This payment was already made.",
        manager_fr: "Demande en double ou paiement déjà effectué : vérifier avant toute action.",
        manager_en: "Duplicate request or payment already done: check before acting.";
    /// Suspected fraud or a security rule.
    FraudSuspected => DoNotRetry,
        customer_fr: "Le paiement a été refusé par votre banque.",
        customer_en: "The payment was declined by your bank.",
        manager_fr: "Suspicion de fraude ou règle de sécurité : ne pas relancer le client sur cette carte.",
        manager_en: "Suspected fraud or a security rule: do not push the customer to retry this card.";
    /// Not enough funds or credit limit reached.
    InsufficientFunds => UseAnotherCard,
        customer_fr: "Provision insuffisante ou plafond atteint. Essayez une autre carte ou plus tard.",
        customer_en: "Insufficient funds or limit reached. Try another card or later.",
        manager_fr: "Provision insuffisante ou plafond du porteur atteint.",
        manager_en: "Insufficient funds or the cardholder's limit was reached.";
    /// The amount or currency was refused.
    InvalidAmount => FixConfiguration,
        customer_fr: "Le montant n'a pas été accepté par la banque.",
        customer_en: "The bank did not accept the amount.",
        manager_fr: "Montant ou devise refusé par la banque : vérifier la commande et le contrat.",
        manager_en: "Amount or currency refused by the bank: check the order and the contract.";
    /// Wrong card number, CVV or card data.
    InvalidCardData => RetryNow,
        customer_fr: "Numéro de carte ou cryptogramme incorrect. Vérifiez et réessayez.",
        customer_en: "Wrong card number or security code. Check and try again.",
        manager_fr: "Numéro de carte ou cryptogramme visuel invalide.",
        manager_en: "Invalid card number or security code.";
    /// The issuer or the bank's systems are unavailable.
    IssuerUnavailable => RetryLater,
        customer_fr: "La banque est momentanément indisponible. Réessayez dans quelques minutes.",
        customer_en: "The bank is temporarily unavailable. Try again in a few minutes.",
        manager_fr: "Banque émettrice ou centre d'autorisation indisponible.",
        manager_en: "Issuer or authorization centre unavailable.";
    /// A spending or frequency limit was exceeded.
    LimitExceeded => UseAnotherCard,
        customer_fr: "Un plafond de votre carte est atteint. Essayez une autre carte.",
        customer_en: "A limit of your card was reached. Try another card.",
        manager_fr: "Plafond ou nombre d'opérations du porteur dépassé.",
        manager_en: "Cardholder limit or operation count exceeded.";
    /// The merchant's account or configuration is wrong (access refused, bad key, bad site).
    MerchantConfiguration => FixConfiguration,
        customer_fr: "Le paiement en ligne est momentanément indisponible. Contactez la boutique.",
        customer_en: "Online payment is temporarily unavailable. Please contact the shop.",
        manager_fr: "Configuration du commerçant incorrecte (accès refusé, clé, site, rang ou identifiant).",
        manager_en: "Merchant configuration error (access refused, key, site, rank or identifier).";
    /// The customer stayed too long on the payment page.
    PageTimeout => RetryNow,
        customer_fr: "Le délai de paiement est dépassé. Recommencez le paiement.",
        customer_en: "The payment page timed out. Please start again.",
        manager_fr: "Temps d'attente dépassé sur la page de paiement.",
        manager_en: "The customer timed out on the payment page.";
    /// The outcome is not final yet.
    Pending => Wait,
        customer_fr: "Votre paiement est en attente de validation par votre banque.",
        customer_en: "Your payment is waiting for your bank's approval.",
        manager_fr: "Paiement en attente de validation par l'émetteur.",
        manager_en: "Payment pending the issuer's decision.";
    /// A technical error at the bank or platform.
    ProcessingError => RetryLater,
        customer_fr: "Une erreur technique est survenue. Réessayez plus tard.",
        customer_en: "A technical error occurred. Try again later.",
        manager_fr: "Erreur technique de la plateforme de paiement.",
        manager_en: "Technical error at the payment platform.";
    /// Recurring payments were revoked by the cardholder.
    RecurringRevoked => DoNotRetry,
        customer_fr: "Votre banque a révoqué les paiements récurrents pour cette carte.",
        customer_en: "Your bank revoked recurring payments for this card.",
        manager_fr: "Paiements récurrents révoqués par le porteur : arrêter le mandat.",
        manager_en: "Recurring payments revoked by the cardholder: stop the mandate.";
    /// The operation is not permitted to this card or terminal.
    TransactionNotPermitted => UseAnotherCard,
        customer_fr: "Cette opération n'est pas autorisée pour votre carte.",
        customer_en: "This operation is not allowed for your card.",
        manager_fr: "Opération non permise au porteur ou au terminal.",
        manager_en: "Operation not permitted to the cardholder or the terminal.";
    /// A code this library does not know; the raw code is kept.
    UnknownCode => ContactIssuer,
        customer_fr: "Le paiement a été refusé. Essayez une autre carte ou contactez votre banque.",
        customer_en: "The payment was declined. Try another card or contact your bank.",
        manager_fr: "Refus avec un code bancaire inconnu : consulter le code brut dans le back-office de la banque.",
        manager_en: "Declined with an unknown bank code: look the raw code up in the bank's back office.";
}

impl fmt::Display for ReasonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified bank code: the normalized kind, the raw code as the bank sent it, the bank's
/// own wording in French and English, and the advice for this precise code.
///
/// ```
/// use tpe_core::{Lang, Reason, ReasonKind, RetryAdvice};
/// let r = Reason::new(ReasonKind::InsufficientFunds, "00151")
///     .with_bank_text("Provision insuffisante", "Insufficient funds");
/// assert_eq!(r.retry_advice(), RetryAdvice::UseAnotherCard);
/// assert_eq!(r.code(), "00151");
/// assert!(r.manager_message(Lang::En).contains("Insufficient funds"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    kind: ReasonKind,
    code: Cow<'static, str>,
    bank_fr: Cow<'static, str>,
    bank_en: Cow<'static, str>,
    advice: RetryAdvice,
}

impl Reason {
    /// The longest raw code kept; longer input is cut (it is outside input, bounded).
    pub const MAX_CODE_LEN: usize = 64;

    /// A reason of `kind` for the raw `code`, with the kind's default advice and wording.
    pub fn new(kind: ReasonKind, code: impl Into<Cow<'static, str>>) -> Self {
        let mut code = code.into();
        if code.len() > Self::MAX_CODE_LEN || code.chars().any(char::is_control) {
            code = Cow::Owned(
                code.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_CODE_LEN)
                    .collect(),
            );
        }
        Self {
            kind,
            code,
            bank_fr: Cow::Borrowed(kind.manager_message(Lang::Fr)),
            bank_en: Cow::Borrowed(kind.manager_message(Lang::En)),
            advice: kind.retry_advice(),
        }
    }

    /// An unknown code, kept raw.
    pub fn unknown(code: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ReasonKind::UnknownCode, code)
    }

    /// Sets the bank's own wording of this code.
    #[must_use]
    pub fn with_bank_text(
        mut self,
        fr: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.bank_fr = fr.into();
        self.bank_en = en.into();
        self
    }

    /// Overrides the advice for this precise code.
    #[must_use]
    pub fn with_advice(mut self, advice: RetryAdvice) -> Self {
        self.advice = advice;
        self
    }

    /// The normalized kind.
    pub fn kind(&self) -> ReasonKind {
        self.kind
    }

    /// The raw code as the bank sent it.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The bank's wording of the code.
    pub fn bank_text(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.bank_fr,
            _ => &self.bank_en,
        }
    }

    /// What to do next.
    pub fn retry_advice(&self) -> RetryAdvice {
        self.advice
    }

    /// The message for the customer.
    pub fn customer_message(&self, lang: Lang) -> &'static str {
        self.kind.customer_message(lang)
    }

    /// The lines `tpe codes` prints under a code's heading: the bank's wording in French and
    /// English, the advice and the customer's message, in both languages.
    ///
    /// ```
    /// use tpe_core::{Reason, ReasonKind};
    /// let text = Reason::new(ReasonKind::InsufficientFunds, "51").explanation();
    /// assert!(text.starts_with("  fr: ") && text.contains("\n  customer: "));
    /// ```
    pub fn explanation(&self) -> String {
        format!(
            "  fr: {}\n  en: {}\n  advice: {} / {}\n  customer: {} / {}\n",
            self.bank_text(Lang::Fr),
            self.bank_text(Lang::En),
            self.advice.describe(Lang::En),
            self.advice.describe(Lang::Fr),
            self.customer_message(Lang::En),
            self.customer_message(Lang::Fr),
        )
    }

    /// The heading `tpe codes` prints: `<title> <code>: <kind>`, then ` (<note>)` when there
    /// is a note (a code outside the bank's table, a checkout verdict).
    ///
    /// ```
    /// use tpe_core::{Reason, ReasonKind};
    /// let r = Reason::new(ReasonKind::InsufficientFunds, "51");
    /// assert_eq!(r.heading("lyra", None), "lyra 51: InsufficientFunds\n");
    /// assert!(r.heading("lyra", Some("x")).ends_with(" (x)\n"));
    /// ```
    pub fn heading(&self, title: &str, note: Option<&str>) -> String {
        let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
        format!("{title} {}: {}{note}\n", self.code, self.kind)
    }

    /// What `tpe codes` prints for a code of a bank's table: the [heading](Self::heading),
    /// noting `unknown` when the table does not have the code, and the
    /// [explanation](Self::explanation).
    ///
    /// ```
    /// use tpe_core::{Reason, ReasonKind};
    /// let r = Reason::new(ReasonKind::UnknownCode, "X1");
    /// assert!(r.explained("paybox", "not in the Paybox table").starts_with("paybox X1: UnknownCode (not in the Paybox table)\n  fr: "));
    /// ```
    pub fn explained(&self, title: &str, unknown: &str) -> String {
        let note = (self.kind == ReasonKind::UnknownCode).then_some(unknown);
        self.heading(title, note) + &self.explanation()
    }

    /// The message for the manager: the bank's wording, the code and the advice.
    pub fn manager_message(&self, lang: Lang) -> String {
        let label = match lang {
            Lang::Fr => "conseil",
            _ => "advice",
        };
        format!(
            "{} (code {}) — {label} : {}",
            self.bank_text(lang),
            self.code,
            self.advice.describe(lang)
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.code, self.bank_en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_messages_in_both_languages() {
        for k in ReasonKind::ALL {
            for lang in [Lang::Fr, Lang::En] {
                assert!(!k.customer_message(lang).is_empty());
                assert!(!k.manager_message(lang).is_empty());
                assert!(!k.retry_advice().describe(lang).is_empty());
            }
            assert_ne!(k.customer_message(Lang::Fr), k.customer_message(Lang::En));
        }
    }

    #[test]
    fn customer_is_never_told_of_lost_cards_or_fraud() {
        for k in [ReasonKind::CardLostOrStolen, ReasonKind::FraudSuspected] {
            let m = k.customer_message(Lang::Fr).to_lowercase();
            assert!(!m.contains("perdue") && !m.contains("vol") && !m.contains("fraude"));
        }
    }

    #[test]
    fn raw_codes_are_bounded() {
        let r = Reason::unknown("x".repeat(1000) + "\n");
        assert_eq!(r.code().len(), Reason::MAX_CODE_LEN);
        assert!(!Reason::unknown("a\r\nb").code().contains('\n'));
    }
}

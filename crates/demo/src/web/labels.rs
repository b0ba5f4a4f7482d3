//! French words for what the store keeps in English (outcomes, effects, events, sources), and
//! the manager's formats: "—" for nothing, amounts with thousands separators.

use tpe_core::OutcomeKind;
use tpe_core::lifecycle::ValidationSource;

/// Shown where there is nothing.
pub(super) const NONE: &str = "—";

/// A bank's verdict.
pub(super) fn outcome(o: OutcomeKind) -> &'static str {
    match o {
        OutcomeKind::Accepted => "Accepté",
        OutcomeKind::Refused => "Refusé",
        OutcomeKind::Pending => "En attente",
        OutcomeKind::Cancelled => "Annulé",
        _ => "Non reconnu",
    }
}

/// An effect of the outbox, by its stored kind.
pub(super) fn effect(kind: &str) -> &str {
    match kind {
        "record_payment" => "Versement en comptabilité",
        "confirm_customer" => "Confirmation au client",
        "notify_refusal" => "E-mail de refus au gestionnaire",
        "alert_manager" => "Alerte au gestionnaire",
        "quarantine" => "Mise de côté",
        "supersede_siblings" => "Remplacement des autres tentatives",
        "refund" => "Remboursement par la banque",
        other => other,
    }
}

/// An audit event, by its stored name.
pub(super) fn event(name: &str) -> &str {
    match name {
        "created" | "checkout_created" => "Paiement créé",
        "notification_accepted" => "Notification : paiement accepté",
        "notification_refused" => "Notification : paiement refusé",
        "notification_pending" => "Notification : en attente",
        "notification_cancelled" => "Notification : annulé",
        "notification_unclassified" => "Notification : résultat non reconnu",
        "reconciled_paid" => "Rapprochement : trouvé payé",
        "manual_validation" => "Validation manuelle",
        "retraction" => "Rétractation",
        "superseded" => "Remplacé par un autre paiement",
        "browser_return" => "Retour du client",
        "reinstated" => "Commande rétablie",
        "refund_requested" => "Remboursement demandé",
        "refunded" => "Remboursement effectué",
        "refund_failed" => "Remboursement refusé par la banque",
        other => other,
    }
}

/// Who validated, by the stored source (`bank`, `reconciliation`, `manual`).
pub(super) fn source(s: &ValidationSource) -> String {
    match s {
        ValidationSource::Bank => "Banque".into(),
        ValidationSource::Reconciliation => "Rapprochement bancaire".into(),
        ValidationSource::Manual { author, .. } => format!("Manuellement ({author})"),
        other => other.as_str().into(),
    }
}

/// An audit author: the stored word in French, a person's name as it is.
pub(super) fn author(a: Option<&str>) -> String {
    match a {
        None | Some("") => NONE.into(),
        Some("bank") => "Banque".into(),
        Some("reconciliation") => "Rapprochement bancaire".into(),
        Some("system" | "engine") => "Système".into(),
        Some(name) => name.into(),
    }
}

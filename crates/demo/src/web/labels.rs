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

/// `1 234 567,50` from `1234567,50`: groups of three digits joined by a narrow no-break
/// space, as French typography writes amounts.
pub(super) fn group_thousands(decimal: &str) -> String {
    let (int, frac) = decimal
        .split_once(',')
        .map_or((decimal, None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push(',');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands("0,50"), "0,50");
        assert_eq!(group_thousands("999,99"), "999,99");
        assert_eq!(group_thousands("1234,50"), "1\u{202f}234,50");
        assert_eq!(group_thousands("1234567"), "1\u{202f}234\u{202f}567");
        assert_eq!(group_thousands("-12345,6"), "-12\u{202f}345,6");
    }
}

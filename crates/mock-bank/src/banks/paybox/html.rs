//! The Paybox pages, rendered from the templates in `templates/`.

use axum::response::Html;
use minijinja::context;

use super::MAX_ATTEMPTS;
use super::state::PayboxSession;
use crate::amount::format_amount;
use crate::pages::{challenge, closed, render};

/// The Paybox templates, named `paybox/<file>` in the environment.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("index.html", include_str!("templates/index.html")),
    ("error.html", include_str!("templates/error.html")),
    ("payment.html", include_str!("templates/payment.html")),
    ("result.html", include_str!("templates/result.html")),
    ("load.html", include_str!("templates/load.html")),
];

/// The bank's error page: `Erreur <code> : <message>`.
pub(super) fn error_page(code: &str, message: &str) -> Html<String> {
    render("paybox/error.html", context! { code, message })
}

/// The card form of a page session, with the message of a failed try.
pub(super) fn payment_page(s: &PayboxSession, error: Option<&str>) -> Html<String> {
    render(
        "paybox/payment.html",
        context! {
            id => s.id.as_str(),
            site => s.site.as_str(),
            rang => s.rang.as_str(),
            reference => s.reference.as_str(),
            amount => format_amount(s.amount, &s.currency),
            remaining => MAX_ATTEMPTS.saturating_sub(s.attempts),
            error,
            schedule => crate::instalments::shown_rows(s.plan.as_ref()),
        },
    )
}

/// The 3-D Secure challenge of a page session.
pub(super) fn challenge_page(s: &PayboxSession) -> Html<String> {
    challenge(
        &format!("/paybox/page/{}/3ds", s.id),
        &format_amount(s.amount, &s.currency),
    )
}

/// The result shown when the shop gave no return URL for it.
pub(super) fn result_page(code: &str, reference: &str) -> Html<String> {
    render("paybox/result.html", context! { code, reference })
}

/// The page left by a customer who abandons (scripted).
pub(super) fn closed_page() -> Html<String> {
    closed("Paiement")
}

/// `load.html`: `OK` or `KO` in `<div id="server_status">`.
pub(super) fn load_page(ok: bool) -> Html<String> {
    render(
        "paybox/load.html",
        context! { status => if ok { "OK" } else { "KO" } },
    )
}

#[cfg(test)]
mod tests {
    use crate::pages::tests::render_strict;
    use minijinja::context;

    #[test]
    fn pages_keep_their_ids_and_wording() {
        let html = render_strict(
            "paybox/payment.html",
            context! {
                id => "abc", site => "1999888", rang => "32", reference => "A&B<\"x\">",
                amount => "43,21 €", remaining => 3, error => "Numéro invalide",
            },
        );
        assert!(html.contains("<strong id=\"reference\">A&amp;B&lt;\"x\"&gt;</strong>"), "{html}");
        assert!(html.contains("<strong id=\"amount\">43,21 €</strong>"));
        assert!(html.contains("<p class=\"error\" id=\"error\">Numéro invalide</p>"));
        assert!(html.contains("<p>Essais restants : 3</p>"), "{html}");
        assert!(html.contains("<button>Annuler</button>"), "{html}");
        assert!(html.contains("action=\"/paybox/page/abc\""));
        assert!(html.contains("<title>Paiement sécurisé</title>"));
        let html = render_strict("paybox/error.html", context! { code => "00006", message => "Accès refusé" });
        assert!(html.contains("<p class=\"error\">Erreur 00006 : Accès refusé</p>"));
        let html = render_strict("paybox/load.html", context! { status => "OK" });
        assert_eq!(
            html,
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Paybox</title></head><body><div id=\"server_status\">OK</div></body></html>"
        );
    }
}

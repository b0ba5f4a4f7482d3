//! The Lyra pages, rendered from the templates in `templates/`.

use axum::response::Html;
use minijinja::context;

use super::state::LyraSession;
use crate::amount::format_amount;
use crate::pages::{challenge, closed, render};

/// The Lyra templates, named `lyra/<file>` in the environment.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("index.html", include_str!("templates/index.html")),
    ("error.html", include_str!("templates/error.html")),
    ("payment.html", include_str!("templates/payment.html")),
    ("result.html", include_str!("templates/result.html")),
    ("post_return.html", include_str!("templates/post_return.html")),
];

/// The platform's error page: the code, and in TEST the faulty field.
pub(super) fn error_page(code: &str, field: &str, message: &str) -> Html<String> {
    render("lyra/error.html", context! { code, field, message })
}

/// The card form of a page session, with the message of a failed try.
pub(super) fn payment_page(s: &LyraSession, error: Option<&str>) -> Html<String> {
    render(
        "lyra/payment.html",
        context! {
            id => s.id.as_str(),
            site_id => s.site_id.as_str(),
            mode => if s.production { "PRODUCTION" } else { "TEST" },
            reference => s.reference.as_str(),
            order_id => s.field("vads_order_id"),
            amount => format_amount(s.amount, &s.currency),
            error,
            schedule => crate::instalments::shown_rows(s.plan.as_ref()),
        },
    )
}

/// The 3-D Secure challenge of a page session.
pub(super) fn challenge_page(s: &LyraSession) -> Html<String> {
    challenge(
        &format!("/lyra/page/{}/3ds", s.id),
        &format_amount(s.amount, &s.currency),
    )
}

/// The result shown when the shop gave no return URL.
pub(super) fn result_page(status: &str, reference: &str) -> Html<String> {
    render("lyra/result.html", context! { status, reference })
}

/// The page left by a customer who abandons (scripted).
pub(super) fn closed_page() -> Html<String> {
    closed("Paiement")
}

/// `vads_return_mode=POST`: a form the browser submits to the shop.
pub(super) fn post_return_page(url: &str, fields: &[(String, String)]) -> Html<String> {
    let fields: Vec<(String, String)> = fields.to_vec();
    render("lyra/post_return.html", context! { url, fields })
}

#[cfg(test)]
mod tests {
    use crate::pages::tests::render_strict;
    use minijinja::context;

    #[test]
    fn pages_keep_their_ids_and_wording() {
        let html = render_strict(
            "lyra/payment.html",
            context! {
                id => "abc", site_id => "12345678", mode => "TEST", reference => "20260101-000001",
                order_id => "A&B", amount => "43,21 €", error => "Numéro invalide",
            },
        );
        assert!(html.contains("<strong id=\"reference\">20260101-000001</strong>"), "{html}");
        assert!(html.contains("<strong id=\"order\">A&amp;B</strong>"), "{html}");
        assert!(html.contains("<strong id=\"amount\">43,21 €</strong>"));
        assert!(html.contains("action=\"/lyra/page/abc\""));
        assert!(html.contains("4970100000000000"));
        let html = render_strict(
            "lyra/error.html",
            context! { code => "00", field => "signature", message => "signature invalide" },
        );
        assert!(html.contains("<p class=\"error\">Erreur 00 (signature) : signature invalide</p>"), "{html}");
        let html = render_strict(
            "lyra/post_return.html",
            context! { url => "https://shop/x", fields => vec![("vads_a".to_owned(), "1\"".to_owned())] },
        );
        assert!(html.contains("name=\"vads_a\" value=\"1&quot;\""), "{html}");
    }
}

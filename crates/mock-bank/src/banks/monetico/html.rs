//! The Monetico pages, rendered from the templates in `templates/`.

use axum::response::Html;
use minijinja::context;

use super::state::MoneticoSession;
use crate::amount::{format_amount, numeric_currency};
use crate::pages::{closed, render};

/// The Monetico templates, named `monetico/<file>` in the environment.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("index.html", include_str!("templates/index.html")),
    ("error.html", include_str!("templates/error.html")),
    ("payment.html", include_str!("templates/payment.html")),
    ("result.html", include_str!("templates/result.html")),
];

/// The bank's error page.
pub(super) fn error_page(message: &str) -> Html<String> {
    render("monetico/error.html", context! { message })
}

/// The amount as the page shows it: `43,21 €`.
pub(super) fn shown_amount(s: &MoneticoSession) -> String {
    shown(s.amount, &s.currency)
}

/// `minor` units of the alphabetic `currency` as the page shows them.
pub(super) fn shown(minor: u64, currency: &str) -> String {
    let lower = currency.to_ascii_lowercase();
    format_amount(minor, numeric_currency(&lower).unwrap_or(currency))
}

/// The card form of a page, with the message of a failed try.
pub(super) fn payment_page(s: &MoneticoSession, error: Option<&str>) -> Html<String> {
    render(
        "monetico/payment.html",
        context! {
            id => s.id.as_str(),
            tpe => s.tpe.as_str(),
            reference => s.reference.as_str(),
            amount => shown_amount(s),
            test => s.test,
            error,
            schedule => crate::instalments::shown_rows(s.plan.as_ref()),
        },
    )
}

/// The result shown when the shop gave no return URL.
pub(super) fn result_page(accepted: bool, reference: &str) -> Html<String> {
    render("monetico/result.html", context! { accepted, reference })
}

/// The page left by a customer who abandons (scripted).
pub(super) fn closed_page() -> Html<String> {
    closed("Monetico Paiement")
}

#[cfg(test)]
mod tests {
    use crate::pages::tests::render_strict;
    use minijinja::context;

    #[test]
    fn pages_keep_their_ids_and_wording() {
        let html = render_strict(
            "monetico/payment.html",
            context! {
                id => "abc", tpe => "1234567", reference => "A<B", amount => "43,21 €",
                test => true, error => "Carte invalide",
            },
        );
        assert!(html.contains("<strong id=\"reference\">A&lt;B</strong>"), "{html}");
        assert!(html.contains("<strong id=\"amount\">43,21 €</strong>"));
        assert!(html.contains("action=\"/monetico/page/abc\""));
        assert!(html.contains("4970100000000007"));
        assert!(html.contains("<p class=\"error\" id=\"error\">Carte invalide</p>"));
        let html = render_strict("monetico/error.html", context! { message => "Sceau invalide" });
        assert!(html.contains("<p class=\"error\">Sceau invalide</p>"));
    }
}

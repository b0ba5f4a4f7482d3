//! The Worldline pages, in French, rendered from the templates in `templates/`.

use axum::response::Html;
use minijinja::context;

use super::state::Checkout;
use crate::amount::{format_amount, numeric_currency};
use crate::pages::{challenge, render};

/// The Worldline templates, named `worldline/<file>` in the environment.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("index.html", include_str!("templates/index.html")),
    ("payment.html", include_str!("templates/payment.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// An amount in minor units of an upper-case ISO currency, as the page shows it.
pub(super) fn shown_amount(amount: u64, currency: &str) -> String {
    match numeric_currency(&currency.to_ascii_lowercase()) {
        Some(code) => format_amount(amount, code),
        None => format!("{amount} {currency} (unités mineures)"),
    }
}

/// The payment page of an open checkout, with an error message.
pub(super) fn payment_page(c: &Checkout, error: Option<&str>) -> Html<String> {
    render(
        "worldline/payment.html",
        context! {
            id => c.id.as_str(),
            reference => c.merchant_reference.as_str(),
            amount => shown_amount(c.amount, &c.currency),
            locale => c.locale.as_str(),
            error,
        },
    )
}

/// The 3-D Secure challenge.
pub(super) fn challenge_page(c: &Checkout) -> Html<String> {
    challenge(
        &format!("/hostedcheckout/{}/3ds", c.id),
        &shown_amount(c.amount, &c.currency),
    )
}

/// A page that only says something.
pub(super) fn message_page(heading: &str, text: Option<&str>) -> Html<String> {
    render("worldline/message.html", context! { heading, text })
}

#[cfg(test)]
mod tests {
    use crate::pages::tests::render_strict;
    use minijinja::context;

    #[test]
    fn pages_keep_their_ids_and_list_the_test_cards() {
        let html = render_strict(
            "worldline/payment.html",
            context! { id => "4000001", reference => "20261129-000001", amount => "42,00 €", locale => "fr_FR", error => None::<&str> },
        );
        assert!(html.contains("<strong id=\"reference\">20261129-000001</strong>"), "{html}");
        assert!(html.contains("<strong id=\"amount\">42,00 €</strong>"));
        assert!(html.contains("action=\"/hostedcheckout/4000001\""));
        for card in [super::super::cards::ACCEPTED, super::super::cards::REFUSED, super::super::cards::THREE_DS, super::super::cards::PENDING] {
            assert!(html.contains(card), "{card}");
        }
        assert_eq!(super::shown_amount(500, "SEK"), "500 SEK (unités mineures)");
    }
}

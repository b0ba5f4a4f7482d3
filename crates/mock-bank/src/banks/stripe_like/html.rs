//! The Stripe-like hosted pages, rendered from the templates in `templates/`.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

use super::state::StripeSession;
use crate::amount::{format_amount, numeric_currency};
use crate::pages::render;

/// The Stripe-like templates, named `stripe_like/<file>` in the environment.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("index.html", include_str!("templates/index.html")),
    ("checkout.html", include_str!("templates/checkout.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// An amount in minor units of a lower-case ISO currency, as the page shows it.
fn shown_amount(amount: u64, currency: &str) -> String {
    match numeric_currency(currency) {
        Some(code) => format_amount(amount, code),
        None => format!("{amount} {} (minor units)", currency.to_uppercase()),
    }
}

/// The hosted page of an open session, with the message of a declined card.
pub(super) fn checkout_page(s: &StripeSession, error: Option<&str>) -> Html<String> {
    render(
        "stripe_like/checkout.html",
        context! {
            id => s.id.as_str(),
            reference => s.reference(),
            amount => shown_amount(s.amount_total, &s.currency),
            email => s.customer_email.as_deref().unwrap_or_default(),
            cancel => s.cancel_url.is_some(),
            phone => s.phone_number_collection,
            billing => s.billing_address_collection.as_deref() == Some("required"),
            fr => s.french(),
            error,
        },
    )
}

/// A page that only says something: a heading and maybe a paragraph.
pub(super) fn message_page(heading: &str, text: Option<&str>) -> Html<String> {
    render("stripe_like/message.html", context! { heading, text })
}

/// 404: no such session.
pub(super) fn unknown_session() -> Response {
    (
        StatusCode::NOT_FOUND,
        message_page("Unknown checkout session.", None),
    )
        .into_response()
}

/// 410: the session is complete or expired.
pub(super) fn closed_session(heading: &str) -> Response {
    (StatusCode::GONE, message_page(heading, None)).into_response()
}

#[cfg(test)]
mod tests {
    use crate::pages::tests::render_strict;
    use minijinja::context;

    #[test]
    fn pages_keep_their_ids() {
        let html = render_strict(
            "stripe_like/checkout.html",
            context! {
                id => "cs_test_1", reference => "order-1042", amount => "42,00 €",
                email => "a\"b@example.com", cancel => true, error => None::<&str>,
            },
        );
        assert!(html.contains("<strong id=\"reference\">order-1042</strong>"), "{html}");
        assert!(html.contains("<strong id=\"amount\">42,00 €</strong>"));
        assert!(html.contains("action=\"/c/pay/cs_test_1\""));
        assert!(html.contains("value=\"a&quot;b@example.com\""));
        assert!(html.contains("value=\"cancel\""));
        assert!(!html.contains("id=\"error\""));
        let html = render_strict("stripe_like/message.html", context! { heading => "Closed.", text => None::<&str> });
        assert!(html.contains("<h1>Closed.</h1>"));
        assert!(!html.contains("<p>"));
        assert_eq!(super::shown_amount(500, "sek"), "500 SEK (minor units)");
    }
}

//! HTML pages: minijinja templates, compiled once into one environment.
//!
//! The shared layout and the control index live in `src/templates/`; each bank brings its own
//! templates ([`crate::banks::Bank::templates`]), named `<bank>/<file>` here.

use std::sync::LazyLock;

use axum::response::Html;
use minijinja::{AutoEscape, Environment, Error, Output, State, Value};

use crate::banks;

/// What a payment page says when the card form is not filled in right.
pub(crate) const CARD_RETRY: &str =
    "Numéro de carte, date d'expiration ou cryptogramme invalide. Veuillez réessayer.";

/// Every template, compiled at first use.
static PAGES: LazyLock<Environment<'static>> = LazyLock::new(environment);

/// Shown if a template fails to render (a bug: every template is rendered by a unit test).
const FALLBACK: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Erreur</title></head><body><h1>Erreur interne de la banque simulée</h1></body></html>";

/// The templates every bank's pages build on: the layout, the control index, the 3-D Secure
/// challenge, the page left by a customer who abandons, the card form macro (`card.html`) and
/// the schedule of a payment in instalments (`schedule.html`).
const SHARED: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("control.html", include_str!("templates/control.html")),
    ("challenge.html", include_str!("templates/challenge.html")),
    ("closed.html", include_str!("templates/closed.html")),
    ("card.html", include_str!("templates/card.html")),
    ("schedule.html", include_str!("templates/schedule.html")),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_formatter(text_formatter);
    env.add_filter("attr", attr);
    for (name, source) in SHARED {
        add(&mut env, (*name).to_owned(), source);
    }
    for (bank, implementation) in banks::ALL {
        for (name, source) in implementation.templates() {
            add(&mut env, format!("{bank}/{name}"), source);
        }
    }
    env
}

fn add(env: &mut Environment<'static>, name: String, source: &'static str) {
    if let Err(e) = env.add_template_owned(name, source) {
        tracing::error!(error = %e, "a mock bank template does not compile");
    }
}

/// Text is escaped as the pages always were (`html_escape::encode_text`: `&`, `<`, `>`), so a
/// reference or an amount reads back byte for byte between tags; attribute values go through
/// the `attr` filter, which escapes `"` too.
fn text_formatter(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    match value.as_str() {
        Some(text) if *state.auto_escape() == AutoEscape::Html && !value.is_safe() => out
            .write_str(&html_escape::encode_text(text))
            .map_err(Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// `{{ value|attr }}`: a value escaped for a double-quoted attribute.
fn attr(value: &str) -> Value {
    Value::from_safe_string(html_escape::encode_double_quoted_attribute(value).into_owned())
}

/// Renders the template `name` with `context`.
pub(crate) fn render(name: &str, context: Value) -> Html<String> {
    match PAGES.get_template(name).and_then(|t| t.render(context)) {
        Ok(html) => Html(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a mock bank page failed to render");
            Html(FALLBACK.to_owned())
        }
    }
}

/// The 3-D Secure challenge: the amount, and the buttons posting `result=ok|fail` to `action`.
pub(crate) fn challenge(action: &str, amount: &str) -> Html<String> {
    render("challenge.html", minijinja::context! { action, amount })
}

/// The page left by a customer who abandons (scripted), titled as the bank's pages are.
pub(crate) fn closed(title: &str) -> Html<String> {
    render("closed.html", minijinja::context! { title })
}

/// The control index: links to every bank's routes and to the control API.
pub(crate) fn control_index() -> Html<String> {
    let names: Vec<&str> = banks::ALL.iter().map(|(name, _)| *name).collect();
    render("control.html", minijinja::context! { banks => names })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Renders `name` and fails on any template error (instead of the fallback page).
    pub(crate) fn render_strict(name: &str, context: Value) -> String {
        match PAGES.get_template(name).and_then(|t| t.render(context)) {
            Ok(html) => html,
            Err(e) => panic!("{name}: {e:#}"),
        }
    }

    #[test]
    fn every_template_compiles() {
        let count = PAGES.templates().count();
        let expected = SHARED.len()
            + banks::ALL
                .iter()
                .map(|(_, b)| b.templates().len())
                .sum::<usize>();
        assert_eq!(count, expected);
    }

    #[test]
    fn challenge_and_closed_pages() {
        let html = challenge("/paybox/page/a\"b/3ds", "43,21 €").0;
        assert!(
            html.contains("action=\"/paybox/page/a&quot;b/3ds\""),
            "{html}"
        );
        assert!(html.contains("<p>Montant : 43,21 €</p>"), "{html}");
        let html = closed("Monetico Paiement").0;
        assert!(html.contains("<title>Monetico Paiement</title>"), "{html}");
        assert!(html.contains("<h1>Page fermée</h1>"), "{html}");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let names: Vec<&str> = banks::ALL.iter().map(|(name, _)| *name).collect();
        let html = render_strict("control.html", minijinja::context! { banks => names });
        assert!(html.contains("<h1>tpe mock bank</h1>"), "{html}");
        let escaped = PAGES.render_named_str(
            "check.html",
            "{{ v }}|{{ v|attr }}",
            minijinja::context! { v => "a\"<b>&'/" },
        );
        assert_eq!(
            escaped.ok().as_deref(),
            Some("a\"&lt;b&gt;&amp;'/|a&quot;&lt;b&gt;&amp;'/")
        );
    }
}

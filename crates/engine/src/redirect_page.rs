//! The page that sends the customer's browser to the bank: the signed form, submitted at once.

use std::sync::OnceLock;

use minijinja::{Environment, context};
use tpe_core::{HttpMethod, Lang, Redirect};

/// A complete HTML page that submits `redirect` at once, with a visible button for browsers
/// without script. Every value is HTML-escaped by the template engine; the browser submits the
/// original bytes, so the bank sees exactly what was signed, fields in the signed order.
///
/// ```
/// use tpe_core::{HttpMethod, Lang, Redirect};
/// let r = Redirect {
///     method: HttpMethod::Post,
///     action: "https://bank.example/pay".parse().unwrap(),
///     fields: vec![("X".into(), "<\"a&b\">".into())],
/// };
/// let html = tpe_engine::redirect_page(&r, Lang::Fr);
/// assert!(html.contains(r#"value="&lt;&quot;a&amp;b&quot;&gt;""#));
/// assert!(html.contains("Continuer vers le paiement"));
/// ```
pub fn redirect_page(redirect: &Redirect, lang: Lang) -> String {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A `.html` name turns HTML escaping on.
        env.add_template("redirect.html", include_str!("../templates/redirect.html"))
            .unwrap_or_else(|e| unreachable!("the embedded template parses: {e}"));
        env
    });
    let (title, button, code) = match lang {
        Lang::Fr => (
            "Redirection vers la page de paiement",
            "Continuer vers le paiement",
            "fr",
        ),
        _ => (
            "Redirecting to the payment page",
            "Continue to payment",
            "en",
        ),
    };
    let method = match redirect.method {
        HttpMethod::Get => "get",
        _ => "post",
    };
    env.get_template("redirect.html")
        .and_then(|t| {
            t.render(context! {
                lang => code,
                title => title,
                button => button,
                method => method,
                action => redirect.action.as_str(),
                fields => &redirect.fields,
            })
        })
        .unwrap_or_else(|e| unreachable!("the embedded template renders: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_keeps_order() {
        let r = Redirect {
            method: HttpMethod::Post,
            action: "https://bank.example/p?a=1&b=2".parse().unwrap(),
            fields: vec![
                ("B".into(), "<?xml version=\"1.0\"?><x>é</x>".into()),
                ("A".into(), "\"><script>alert(1)</script>".into()),
            ],
        };
        let html = redirect_page(&r, Lang::Fr);
        assert!(!html.contains("<script>alert"));
        assert!(html.find("name=\"B\"").unwrap() < html.find("name=\"A\"").unwrap());
        assert!(html.contains("<button type=\"submit\">"));
        // The template engine escapes `/` too; the browser reads the same URL back.
        assert!(html.contains("p?a=1&amp;b=2\""), "{html}");
        assert!(!html.contains("a=1&b=2"));
        assert!(html.contains("method=\"post\""));
        assert!(redirect_page(&r, Lang::En).contains("Continue to payment"));
    }
}

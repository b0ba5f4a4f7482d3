//! Browsing the bank's pages: submit a redirect like a browser, read a value out of HTML.

use tpe_core::{HttpMethod, Redirect};

use crate::bank::Refusal;

/// Submits `redirect` as a browser would: POST the fields as a form, or GET the location.
/// Returns the final status and page text.
pub(crate) async fn submit(
    http: &reqwest::Client,
    redirect: &Redirect,
) -> Result<(u16, String), Refusal> {
    let request = match redirect.method {
        HttpMethod::Post => http.post(redirect.action.clone()).form(&redirect.fields),
        _ => http.get(redirect.location()),
    };
    let resp = request.send().await.map_err(|e| Refusal {
        status: 0,
        message: format!("the bank could not be reached: {e}"),
    })?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| Refusal {
        status,
        message: format!("unreadable page: {e}"),
    })?;
    Ok((status, text))
}

/// The text between the first `start` and the next `end`.
pub(crate) fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn between_finds_the_first_value() {
        let html = r#"<a id="x">one</a><a id="x">two</a>"#;
        assert_eq!(
            super::between(html, "<a id=\"x\">", "<").as_deref(),
            Some("one")
        );
        assert_eq!(super::between(html, "<b>", "<"), None);
    }
}

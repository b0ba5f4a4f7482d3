//! Browsing the bank's pages: submit a redirect like a browser, read a value out of HTML.

use tpe_core::{HttpMethod, Redirect};

use crate::bank::{BankError, Page, Refusal};

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

/// Submits a form bank's redirect and reads its card page: the card form's address under
/// `page_path` (`/paybox/page/`) is the page's handle; the reference and the amount are
/// shown in `<strong id="reference">` and `<strong id="amount">`. A page without the card form
/// is the bank's refusal, with the text of its `<p class="error">`.
pub(crate) async fn open_form_page(
    http: &reqwest::Client,
    redirect: &Redirect,
    page_path: &str,
) -> Result<Page, Refusal> {
    let (status, html) = submit(http, redirect).await?;
    let Some(handle) = between(&html, &format!("action=\"{page_path}"), "\"") else {
        let message = between(&html, "<p class=\"error\">", "</p>")
            .unwrap_or_else(|| html.chars().take(200).collect());
        return Err(Refusal { status, message });
    };
    let reference = between(&html, "<strong id=\"reference\">", "<").unwrap_or_default();
    let shown = between(&html, "<strong id=\"amount\">", "<").unwrap_or_default();
    let (amount_minor, currency) =
        crate::mock_paybox::parse_amount(&shown).ok_or_else(|| Refusal {
            status,
            message: format!("the page shows an unreadable amount {shown:?}"),
        })?;
    Ok(Page {
        handle,
        reference,
        amount_minor,
        currency,
    })
}

/// A page of a bank whose payment was created over its API: the handle and the reference the
/// page shows; the amount is read from the API.
pub(crate) struct ApiPage {
    status: u16,
    pub(crate) handle: String,
    reference: String,
}

impl ApiPage {
    /// The [`Page`] with the amount and currency `amount` finds in the API's `object` (a
    /// session, a checkout), named `what` in a refusal.
    pub(crate) fn read(
        self,
        what: &str,
        object: Result<serde_json::Value, String>,
        amount: impl FnOnce(&serde_json::Value) -> Option<(u64, tpe_core::Currency)>,
    ) -> Result<Page, Refusal> {
        let status = self.status;
        let object = object.map_err(|message| Refusal { status, message })?;
        let (amount_minor, currency) = amount(&object).ok_or_else(|| Refusal {
            status,
            message: format!("the {what} has no readable amount or currency"),
        })?;
        Ok(Page {
            handle: self.handle,
            reference: self.reference,
            amount_minor,
            currency,
        })
    }
}

/// Submits an API bank's redirect and reads its card page: the card form's address under
/// `page_path` is the page's handle, the reference is shown in `<strong id="reference">`. A
/// page without the card form is the bank's refusal, with the text of its `<h1>`.
pub(crate) async fn open_api_page(
    http: &reqwest::Client,
    redirect: &Redirect,
    page_path: &str,
) -> Result<ApiPage, Refusal> {
    let (status, html) = submit(http, redirect).await?;
    let Some(handle) = between(&html, &format!("action=\"{page_path}"), "\"") else {
        let message =
            between(&html, "<h1>", "</h1>").unwrap_or_else(|| html.chars().take(200).collect());
        return Err(Refusal { status, message });
    };
    let reference = between(&html, "<strong id=\"reference\">", "<").unwrap_or_default();
    Ok(ApiPage {
        status,
        handle,
        reference,
    })
}

/// The answer to registering the shop's notification URL, `what`, at the bank.
pub(crate) fn registered(accepted: bool, what: &str, url: &url::Url) -> Result<(), String> {
    if accepted {
        Ok(())
    } else {
        Err(format!("the bank refused the {what} {url}"))
    }
}

/// The names of the redirect's fields that `signed` keeps.
pub(crate) fn field_names(redirect: &Redirect, signed: impl Fn(&str) -> bool) -> Vec<String> {
    redirect
        .fields
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| signed(k))
        .collect()
}

/// The card form of a form bank's page: the test card `card`, paid.
pub(crate) fn card_form(card: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("numero", card),
        ("expiry", crate::TEST_CARD_EXPIRY),
        ("cvv", "123"),
        ("action", "pay"),
    ]
}

/// The text between the first `start` and the next `end`.
pub(crate) fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

/// Posts `form` to a bank page at `url`, as the customer's browser does; `expected` says
/// which answer means the page took it.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
    expected: impl FnOnce(http::StatusCode) -> bool,
) -> Result<(), BankError> {
    let resp = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| BankError::Failed(format!("page submit: {e}")))?;
    let status = resp.status();
    if expected(status) {
        Ok(())
    } else {
        Err(BankError::Failed(format!(
            "page submit answered HTTP {status}"
        )))
    }
}

/// The JSON a mock's API or control route answers to `request`; `what` names it in errors.
pub(crate) async fn read_json(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<serde_json::Value, String> {
    let resp = request
        .send()
        .await
        .map_err(|e| format!("{what} read: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{what} read answered HTTP {}", resp.status()));
    }
    resp.json().await.map_err(|e| format!("{what} JSON: {e}"))
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

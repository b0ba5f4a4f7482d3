//! A customer without a browser: submits the shop's redirect to the mock bank, types a test
//! card on the bank's page and follows the redirects back to the shop, over real HTTP.

use tpe_core::{HttpMethod, Redirect};
use url::Url;

pub(crate) use crate::banks::Card;
use crate::demo::DemoProvider;
use crate::error::DemoError;

/// The bank's payment page, as opened by the customer.
#[derive(Debug, Clone)]
pub(crate) struct BankPage {
    /// Where the card form posts.
    pub(crate) form: Url,
}

/// What the customer sees after submitting a card.
#[derive(Debug, Clone)]
pub(crate) struct Landing {
    pub(crate) status: u16,
    pub(crate) url: Url,
    pub(crate) html: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Browser {
    http: reqwest::Client,
}

fn failed(what: &str, e: impl std::fmt::Display) -> DemoError {
    DemoError::Tour(format!("{what}: {e}"))
}

impl Browser {
    pub(crate) fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Submits the shop's redirect like a browser (the auto-submitted form, or the link) and
    /// finds the card form of the bank's page.
    pub(crate) async fn open(&self, redirect: &Redirect) -> Result<BankPage, DemoError> {
        let req = match redirect.method {
            HttpMethod::Post => self
                .http
                .post(redirect.action.clone())
                .form(&redirect.fields),
            _ => self.http.get(redirect.location()),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| failed("open the bank page", e))?;
        let url = resp.url().clone();
        let status = resp.status().as_u16();
        let html = resp
            .text()
            .await
            .map_err(|e| failed("read the bank page", e))?;
        let action = DemoProvider::ALL
            .iter()
            .find_map(|p| p.card_form(&html))
            .ok_or_else(|| {
                DemoError::Tour(format!(
                    "the bank page (HTTP {status}) has no card form: {}",
                    html.chars().take(300).collect::<String>()
                ))
            })?;
        let form = url.join(&action).map_err(|e| failed("bank page URL", e))?;
        Ok(BankPage { form })
    }

    /// Types `card` on the page and follows the redirects (back to the shop's return page when
    /// the bank sends the customer there).
    pub(crate) async fn pay(
        &self,
        page: &BankPage,
        provider: DemoProvider,
        card: Card,
    ) -> Result<Landing, DemoError> {
        let bank = provider.bank();
        let number = bank.card(card);
        let form = bank.card_fields(number);
        let resp = self
            .http
            .post(page.form.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| failed("submit the card", e))?;
        let status = resp.status().as_u16();
        let url = resp.url().clone();
        let html = resp
            .text()
            .await
            .map_err(|e| failed("read the answer", e))?;
        Ok(Landing { status, url, html })
    }

    /// Reloads the page, as the return page "pas encore validé" does by itself.
    pub(crate) async fn reload(&self, landing: &Landing) -> Result<String, DemoError> {
        self.http
            .get(landing.url.clone())
            .send()
            .await
            .map_err(|e| failed("reload", e))?
            .text()
            .await
            .map_err(|e| failed("reload", e))
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

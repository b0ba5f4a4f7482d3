//! Worldline Direct / CAWL against the mock bank's test merchant.

use std::sync::Arc;

use tpe_core::{PaymentProvider, Redirect};
use tpe_mock_bank::{
    DEFAULT_WORLDLINE_API_KEY_ID, DEFAULT_WORLDLINE_API_SECRET, DEFAULT_WORLDLINE_MERCHANT_ID,
    DEFAULT_WORLDLINE_WEBHOOK_KEY_ID, DEFAULT_WORLDLINE_WEBHOOK_SECRET, RunningBank,
    worldline::cards,
};
use tpe_worldline::{AuthorizationMode, WebhookKey, WorldlineConfig};
use url::Url;

use super::{DemoBank, Fresh, psp_card_fields};
use crate::demo::base_url;
use crate::error::DemoError;

pub(super) struct Worldline;

fn tour_error(e: impl std::fmt::Display) -> DemoError {
    DemoError::Tour(format!("tampered hosted checkout: {e}"))
}

#[async_trait::async_trait]
impl DemoBank for Worldline {
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError> {
        let cfg = WorldlineConfig::new(
            DEFAULT_WORLDLINE_MERCHANT_ID,
            DEFAULT_WORLDLINE_API_KEY_ID,
            DEFAULT_WORLDLINE_API_SECRET,
            [WebhookKey::new(
                DEFAULT_WORLDLINE_WEBHOOK_KEY_ID,
                DEFAULT_WORLDLINE_WEBHOOK_SECRET,
            )],
        )
        .with_base_url(base_url(bank.base_url())?);
        Ok(Arc::new(tpe_worldline::Worldline::new(cfg)?))
    }

    /// The webhook endpoint is registered in the merchant portal; checkouts name it too.
    fn register(&self, bank: &RunningBank, notify: &str) -> Option<bool> {
        Some(bank.set_worldline_webhook_url(DEFAULT_WORLDLINE_MERCHANT_ID, notify))
    }

    super::test_cards! { cards::ACCEPTED, cards::REFUSED,
    cards::PENDING, cards::PENDING_REFUSED, cards::MISTYPED }

    fn card_fields<'a>(&self, number: &'a str) -> Vec<(&'static str, &'a str)> {
        psp_card_fields(number).to_vec()
    }

    /// A refused attempt keeps the customer on the hosted page for another card.
    fn refusal_stays_on_bank_page(&self) -> Option<u16> {
        Some(402)
    }

    /// A new hosted checkout under the checkout's own `merchantReference`, with its own
    /// idempotence key (the provider's would hand back the first session).
    async fn fresh_redirect(&self, fresh: Fresh<'_>) -> Result<Redirect, DemoError> {
        let Fresh {
            bank,
            http,
            request,
            now,
        } = fresh;
        let bank_reference = bank
            .worldline_reference_for(request.reference.as_str())
            .and_then(|r| tpe_core::BankReference::parse(&r).ok())
            .ok_or_else(|| tour_error("the checkout is unknown to the bank"))?;
        let request = request.clone().with_bank_reference(bank_reference);
        let body = tpe_worldline::hosted_checkout_body(&request, AuthorizationMode::Sale)?;
        let path = format!("/v2/{DEFAULT_WORLDLINE_MERCHANT_ID}/hostedcheckouts");
        let date = tpe_worldline::http_date(now);
        let key = format!("tampered-{}", request.reference);
        let headers = [
            ("Content-Type", tpe_worldline::JSON),
            ("Date", date.as_str()),
            (tpe_worldline::IDEMPOTENCE_HEADER, key.as_str()),
        ];
        let to_sign = tpe_worldline::string_to_sign("POST", &headers, &path).map_err(tour_error)?;
        let auth = tpe_worldline::authorization(
            DEFAULT_WORLDLINE_API_KEY_ID,
            DEFAULT_WORLDLINE_API_SECRET,
            &to_sign,
        )
        .map_err(tour_error)?;
        let resp = http
            .post(format!("{}{path}", bank.base_url()))
            .header("authorization", auth)
            .header("date", &date)
            .header("content-type", tpe_worldline::JSON)
            .header(tpe_worldline::IDEMPOTENCE_HEADER, &key)
            .body(body.to_string())
            .send()
            .await
            .map_err(tour_error)?;
        let v: serde_json::Value = resp.json().await.map_err(tour_error)?;
        let u = v["redirectUrl"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| tour_error(format!("no redirectUrl: {v}")))?;
        Ok(Redirect::get(u))
    }
}

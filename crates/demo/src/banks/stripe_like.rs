//! The Stripe-like PSP against the mock bank's test account.

use std::sync::Arc;

use tpe_core::{PaymentProvider, Redirect};
use tpe_mock_bank::{
    DEFAULT_STRIPE_SECRET_KEY, DEFAULT_STRIPE_WEBHOOK_SECRET, RunningBank, stripe_like::cards,
};
use tpe_stripe_like::{Mode, StripeLikeConfig};
use url::Url;

use super::{DemoBank, Fresh, psp_card_fields};
use crate::demo::base_url;
use crate::error::DemoError;

pub(super) struct StripeLike;

#[async_trait::async_trait]
impl DemoBank for StripeLike {
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError> {
        let cfg = StripeLikeConfig::new(
            Mode::Test,
            DEFAULT_STRIPE_SECRET_KEY,
            [DEFAULT_STRIPE_WEBHOOK_SECRET],
        )
        .with_api_base(base_url(bank.base_url())?);
        Ok(Arc::new(tpe_stripe_like::StripeLike::new(cfg)?))
    }

    /// The webhook endpoint is registered with the PSP, as on its dashboard.
    fn register(&self, bank: &RunningBank, notify: &str) -> Option<bool> {
        Some(bank.set_stripe_webhook_url(DEFAULT_STRIPE_SECRET_KEY, notify))
    }

    super::test_cards! { cards::ACCEPTED, cards::INSUFFICIENT_FUNDS,
    cards::DELAYED_SUCCEEDS, cards::DELAYED_FAILS, cards::INCORRECT_NUMBER }

    /// The PSP's page asks for the e-mail first.
    fn card_fields<'a>(&self, number: &'a str) -> Vec<(&'static str, &'a str)> {
        let mut fields = vec![("email", "jeanne.martin@example.fr")];
        fields.extend(psp_card_fields(number));
        fields
    }

    /// The page stays open and shows the decline, as a PSP's hosted checkout does.
    fn refusal_stays_on_bank_page(&self) -> Option<u16> {
        Some(402)
    }

    /// A new session: the provider's idempotency key would hand back the first one.
    async fn fresh_redirect(&self, fresh: Fresh<'_>) -> Result<Redirect, DemoError> {
        let Fresh {
            bank,
            http,
            request,
            ..
        } = fresh;
        let params = tpe_stripe_like::CheckoutSessionParams::for_request(request)?;
        let resp = http
            .post(format!("{}/v1/checkout/sessions", bank.base_url()))
            .bearer_auth(DEFAULT_STRIPE_SECRET_KEY)
            .header("idempotency-key", format!("tampered-{}", request.reference))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(params.encode())
            .send()
            .await
            .map_err(|e| DemoError::Tour(format!("tampered session: {e}")))?;
        let v: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| DemoError::Tour(format!("tampered session: {e}")))?;
        let u = v["url"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| DemoError::Tour(format!("tampered session without URL: {v}")))?;
        Ok(Redirect::get(u))
    }
}

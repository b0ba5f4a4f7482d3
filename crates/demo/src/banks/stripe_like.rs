//! The Stripe-like PSP against the mock bank's test account.

use std::sync::Arc;

use tpe_core::{PaymentProvider, PaymentRequest, ProviderId, Redirect, Timestamp};
use tpe_mock_bank::{
    DEFAULT_STRIPE_SECRET_KEY, DEFAULT_STRIPE_WEBHOOK_SECRET, RunningBank, stripe_like::cards,
};
use tpe_stripe_like::{Mode, StripeLikeConfig};
use url::Url;

use super::{registered, Card, DemoBank, form_action};
use crate::demo::base_url;
use crate::error::DemoError;

pub(super) struct StripeLike;

#[async_trait::async_trait]
impl DemoBank for StripeLike {
    fn id(&self) -> ProviderId {
        tpe_stripe_like::StripeLike::ID
    }

    fn label(&self) -> &'static str {
        "Stripe-like"
    }

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
    fn connect(&self, bank: &RunningBank, notify: &Url) -> Result<(), DemoError> {
        registered(bank.set_stripe_webhook_url(DEFAULT_STRIPE_SECRET_KEY, notify.as_str()), notify)
    }

    fn card(&self, card: Card) -> &'static str {
        match card {
            Card::Accepted => cards::ACCEPTED,
            Card::Refused => cards::INSUFFICIENT_FUNDS,
            Card::PendingThenAccepted => cards::DELAYED_SUCCEEDS,
            Card::PendingThenRefused => cards::DELAYED_FAILS,
            Card::Mistyped => cards::INCORRECT_NUMBER,
        }
    }

    fn card_form(&self, html: &str) -> Option<String> {
        form_action(html, "/c/pay/")
    }

    fn card_fields<'a>(&self, number: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            ("email", "jeanne.martin@example.fr"),
            ("card", number),
            ("exp", "12/99"),
            ("cvc", "123"),
            ("action", "pay"),
        ]
    }

    /// The page stays open and shows the decline, as a PSP's hosted checkout does.
    fn refusal_stays_on_bank_page(&self) -> Option<u16> {
        Some(402)
    }

    /// A new session: the provider's idempotency key would hand back the first one.
    async fn fresh_redirect(
        &self,
        bank: &RunningBank,
        http: &reqwest::Client,
        request: &PaymentRequest,
        _now: Timestamp,
    ) -> Result<Redirect, DemoError> {
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

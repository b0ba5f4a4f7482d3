//! Signed webhooks (spec §G.9): the event JSON, `X-GCS-Signature` (base64 HMAC-SHA256 of the
//! body under the merchant's webhook secret) and `X-GCS-KeyId`, sent to the checkout's
//! `feedbacks.webhooksUrls` (or the merchant's registered endpoint) and retried; and the
//! endpoint verification call.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::json;

use super::state::{Payment, status_of};
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::notify::{Ack, Delivery, JSON, dispatch};
use crate::state::{BankState, Store};

/// The endpoint verification header.
pub const VERIFICATION_HEADER: &str = "X-GCS-Webhooks-Endpoint-Verification";

/// `base64(HMAC-SHA256(secret as UTF-8, body))`.
#[must_use]
pub fn gcs_signature(secret: &str, body: &[u8]) -> String {
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => STANDARD.encode(mac.chain_update(body).finalize().into_bytes()),
        Err(_) => String::new(),
    }
}

/// Signs and sends the event of `payment`'s current status.
pub(super) async fn send_payment_event(state: &BankState, payment: &Payment, is_final: bool) {
    let Some(merchant) = state
        .config()
        .worldline_merchants
        .iter()
        .find(|m| m.merchant_id == payment.merchant_id)
        .cloned()
    else {
        return;
    };
    let url = state.worldline().with(|d| {
        d.checkouts
            .get(&payment.checkout_id)
            .and_then(|c| c.webhook_url.clone())
            .or_else(|| d.webhook_urls.get(&payment.merchant_id).cloned())
    });
    let reference = payment.merchant_reference.clone();
    let Some(url) = url else {
        state.record(
            JournalEntry::new(EntryKind::Withheld, Side::Worldline, "", "no_webhook_endpoint")
                .reference(Some(&reference)),
        );
        return;
    };
    let (status, _) = status_of(payment.status_code);
    let kind = format!("payment.{}", status.to_ascii_lowercase());
    let n = state.next_counter();
    let event = json!({
        "apiVersion": "v1",
        "id": format!("{}-{n:04x}-4000-8000-{}", crate::random_hex(4), crate::random_hex(6)),
        "created": state.now().strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
        "merchantId": payment.merchant_id,
        "type": kind,
        "payment": payment.to_json(),
    });
    let body = serde_json::to_string_pretty(&event).unwrap_or_default();
    let scenario = state.scenario_for(&reference);
    let secret = if scenario.wrong_signature {
        format!("{}_wrong", merchant.webhook_secret.expose())
    } else {
        merchant.webhook_secret.expose().to_owned()
    };
    let signature = gcs_signature(&secret, body.as_bytes());
    let mut delivery = Delivery::post(Side::Worldline, &reference, url, JSON, body, kind, Ack::Any2xx);
    delivery.headers = vec![
        ("X-GCS-Signature", signature),
        ("X-GCS-KeyId", merchant.webhook_key_id.clone()),
    ];
    dispatch(state, delivery, &scenario, is_final).await;
}

impl BankState {
    /// Calls `url` as the platform verifies a webhook endpoint: a `GET` with
    /// `X-GCS-Webhooks-Endpoint-Verification`; `true` when the endpoint answers 200 with that
    /// value as its body. Recorded in the journal.
    pub async fn verify_worldline_endpoint(&self, url: &str) -> bool {
        if crate::notify::check_callback_url(url).is_err() {
            return false;
        }
        let challenge = crate::random_hex(16);
        let result = self
            .http()
            .get(url)
            .header(VERIFICATION_HEADER, &challenge)
            .timeout(self.config().retry.attempt_timeout)
            .send()
            .await;
        let (ok, status) = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap_or_default();
                (status == 200 && body == challenge, Some(status))
            }
            Err(_) => (false, None),
        };
        let mut entry = JournalEntry::new(
            EntryKind::Notification,
            Side::Worldline,
            url,
            if ok { "endpoint_verified" } else { "endpoint_not_verified" },
        )
        .method("GET");
        entry.status = status;
        self.record(entry);
        ok
    }
}

//! Signed webhook events: the `Stripe-Signature` header and the delivery to the account's
//! endpoint.

use serde::Serialize;
use serde_json::Value;

use super::API_VERSION;
use super::state::StripeSession;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::notify::{Ack, Delivery, JSON, dispatch};
use crate::random_hex;
use crate::scenario::Scenario;
use crate::state::{BankState, Store};

/// `t=<t>,v1=<hex HMAC-SHA256(secret as UTF-8, "<t>.<payload>")>`.
#[must_use]
pub fn stripe_signature_header(secret: &str, t: i64, payload: &str) -> String {
    use hmac::{KeyInit, Mac};
    // HMAC accepts keys of any length, so this cannot fail; fall back to an unverifiable value.
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return format!("t={t},v1=");
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}


#[derive(Serialize)]
struct Event<'a> {
    id: String,
    object: &'static str,
    api_version: &'static str,
    created: i64,
    #[serde(rename = "type")]
    kind: &'a str,
    livemode: bool,
    pending_webhooks: u32,
    request: EventRequest,
    data: EventData,
}

#[derive(Serialize)]
struct EventRequest {
    id: Option<String>,
    idempotency_key: Option<String>,
}

#[derive(Serialize)]
struct EventData {
    object: Value,
}


/// Signs and sends an event about `session` whose `data.object` is `object`.
pub(super) async fn send_event(
    state: &BankState,
    session: &StripeSession,
    kind: &str,
    object: Value,
    scenario: &Scenario,
    is_final: bool,
) {
    let account = state
        .config()
        .stripe_accounts
        .iter()
        .find(|a| a.secret_key.matches(&session.account))
        .cloned();
    let registered = state
        .stripe()
        .with(|d| d.webhook_urls.get(&session.account).cloned());
    let Some((url, secret)) =
        account.and_then(|a| registered.or(a.webhook_url).map(|u| (u, a.webhook_secret)))
    else {
        state.record(
            JournalEntry::new(
                EntryKind::Withheld,
                Side::StripeLike,
                "",
                "no_webhook_endpoint",
            )
            .reference(Some(session.reference())),
        );
        return;
    };
    let now = state.now().as_second();
    let event = Event {
        id: format!("evt_test_{}", random_hex(12)),
        object: "event",
        api_version: API_VERSION,
        created: now,
        kind,
        livemode: false,
        pending_webhooks: 1,
        request: EventRequest {
            id: None,
            idempotency_key: None,
        },
        data: EventData { object },
    };
    let payload = serde_json::to_string(&event).unwrap_or_default();
    let signing = if scenario.wrong_signature {
        format!("{}_wrong", secret.expose())
    } else {
        secret.expose().to_owned()
    };
    let header_value = stripe_signature_header(&signing, now, &payload);
    let mut delivery = Delivery::post(
        Side::StripeLike,
        session.reference(),
        url,
        JSON,
        payload,
        kind,
        Ack::Any2xx,
    );
    delivery.signature_header = Some(header_value);
    dispatch(state, delivery, scenario, is_final).await;
}

//! The Stripe-like side's own state: Checkout Sessions, registered webhook endpoints and stored
//! idempotent answers; the Rust control API of the side.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::random_hex;
use crate::state::{BankState, Store, page_store};

/// The state the Stripe-like side keeps in the [`BankState`].
#[derive(Default)]
pub(crate) struct StripeState {
    data: Mutex<StripeData>,
}

/// Sessions, endpoints and idempotency records, behind one lock.
#[derive(Default)]
pub(crate) struct StripeData {
    pub(super) sessions: HashMap<String, StripeSession>,
    /// Webhook endpoints registered at run time, by account secret key.
    pub(super) webhook_urls: HashMap<String, String>,
    /// Stored answers, by account and `Idempotency-Key`.
    pub(super) idempotency: HashMap<(String, String), IdempotencyRecord>,
}

impl StripeState {
    /// Changes the session `id` while it is open; a copy of it afterwards.
    pub(super) fn update_open(
        &self,
        id: &str,
        f: impl FnOnce(&mut StripeSession),
    ) -> Option<StripeSession> {
        self.with(|d| {
            let s = d.sessions.get_mut(id).filter(|s| s.status == "open")?;
            f(s);
            Some(s.clone())
        })
    }
}

page_store!(StripeState { data: StripeData, sessions: StripeSession, order: created_order });

/// The Rust control API of the Stripe-like side.
impl BankState {
    pub(super) fn stripe(&self) -> &StripeState {
        self.bank::<StripeState>()
    }

    /// Registers (or replaces) the webhook endpoint of the Stripe-like account with this secret key.
    /// Returns `false` when the key is unknown or the URL is not an absolute http(s) URL.
    pub fn set_stripe_webhook_url(&self, secret_key: &str, url: &str) -> bool {
        if crate::notify::check_callback_url(url).is_err() {
            return false;
        }
        let known = self
            .config()
            .stripe_accounts
            .iter()
            .any(|a| a.secret_key.matches(secret_key));
        if known {
            self.stripe().with(|d| {
                d.webhook_urls
                    .insert(secret_key.to_owned(), url.to_owned())
            });
        }
        known
    }
}

/// A Checkout Session.
#[derive(Clone, Debug)]
pub(crate) struct StripeSession {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) amount_total: u64,
    pub(super) currency: String,
    pub(super) client_reference_id: Option<String>,
    pub(super) customer_email: Option<String>,
    pub(super) metadata: BTreeMap<String, String>,
    pub(super) success_url: String,
    pub(super) cancel_url: Option<String>,
    pub(super) status: &'static str,
    pub(super) payment_status: &'static str,
    pub(super) payment_intent: Option<String>,
    /// `payment_intent_data[metadata]`: the payment intent's own metadata.
    pub(super) intent_metadata: BTreeMap<String, String>,
    /// The payment intent's `status` once it exists.
    pub(super) intent_status: &'static str,
    /// The payment intent's `last_payment_error` after a decline.
    pub(super) last_payment_error: Option<PaymentError>,
    pub(super) created: i64,
    pub(super) expires_at: i64,
    pub(super) refunded: u64,
    pub(super) created_order: u64,
    /// `locale`: the language of the hosted page (`fr`, `fr-FR`; English otherwise).
    pub(super) locale: Option<String>,
}

impl StripeSession {
    /// Whether the hosted page speaks French.
    pub(super) fn french(&self) -> bool {
        self.locale.as_deref().is_some_and(|l| l == "fr" || l.starts_with("fr-"))
    }
}

/// A payment intent's `last_payment_error`.
#[derive(Clone, Debug)]
pub(super) struct PaymentError {
    pub(super) code: String,
    pub(super) decline_code: Option<String>,
    pub(super) message: String,
}

impl PaymentError {
    /// The error of a card declined with `reason`, shaped as the PSP shapes it: reasons that are
    /// also top-level codes keep their name as `code` (`incorrect_number` has no
    /// `decline_code`, being caught before the issuer); the others are `card_declined`.
    pub(super) fn declined(reason: &str) -> Self {
        let (code, decline_code) = match reason {
            "incorrect_number" | "invalid_number" => (reason, None),
            "expired_card" | "incorrect_cvc" | "processing_error" => (reason, Some(reason)),
            _ => ("card_declined", Some(reason)),
        };
        Self {
            code: code.to_owned(),
            decline_code: decline_code.map(str::to_owned),
            message: format!("Your card was declined ({reason})."),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "type": "card_error",
            "code": self.code,
            "decline_code": self.decline_code,
            "message": self.message,
        })
    }
}

impl StripeSession {
    pub(super) fn reference(&self) -> &str {
        self.client_reference_id.as_deref().unwrap_or(&self.id)
    }

    /// The payment intent object (the `expand[]=payment_intent` form), once there is one.
    pub(super) fn intent_json(&self) -> Option<Value> {
        let id = self.payment_intent.as_ref()?;
        Some(json!({
            "id": id,
            "object": "payment_intent",
            "amount": self.amount_total,
            "amount_received": if self.payment_status == "paid" { self.amount_total } else { 0 },
            "created": self.created,
            "currency": self.currency,
            "last_payment_error": self.last_payment_error.as_ref().map(PaymentError::to_json),
            "livemode": false,
            "metadata": self.intent_metadata,
            "status": self.intent_status,
        }))
    }

    /// Creates the payment intent at the first card submitted (as the PSP does for hosted
    /// Checkout); later tries on the same page reuse it.
    pub(super) fn ensure_intent(&mut self) {
        if self.payment_intent.is_none() {
            self.payment_intent = Some(format!("pi_test_{}", random_hex(12)));
        }
    }

    /// The session; `expand_intent` puts the payment intent object in place of its id.
    pub(super) fn to_json(&self, base_url: &str, expand_intent: bool) -> Value {
        let intent = if expand_intent {
            self.intent_json()
                .unwrap_or_else(|| json!(self.payment_intent))
        } else {
            json!(self.payment_intent)
        };
        json!({
            "id": self.id,
            "object": "checkout.session",
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "currency": self.currency,
            "customer_details": if self.status == "complete" {
                json!({"email": self.customer_email})
            } else {
                Value::Null
            },
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "livemode": false,
            "metadata": self.metadata,
            "mode": "payment",
            "payment_intent": intent,
            "payment_status": self.payment_status,
            "status": self.status,
            "success_url": self.success_url,
            "url": if self.status == "open" {
                Value::String(format!("{base_url}/c/pay/{}", self.id))
            } else {
                Value::Null
            },
        })
    }
}

/// A stored response for an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub(super) struct IdempotencyRecord {
    pub(super) fingerprint: String,
    pub(super) status: u16,
    pub(super) body: String,
}

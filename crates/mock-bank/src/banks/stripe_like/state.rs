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

/// Sessions, prices, refunds, endpoints and idempotency records, behind one lock.
#[derive(Default)]
pub(crate) struct StripeData {
    pub(super) sessions: HashMap<String, StripeSession>,
    /// Prices created by `POST /v1/prices`, by id.
    pub(super) prices: HashMap<String, Price>,
    /// Products created with a price (`product_data`): their names, by id.
    pub(super) products: HashMap<String, String>,
    /// Refunds, by id.
    pub(super) refunds: HashMap<String, Refund>,
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
    /// The line items, in the order of their `line_items[i]` index.
    pub(super) line_items: Vec<LineItem>,
    /// `payment_method_types[]` (`["card"]` when not given).
    pub(super) payment_method_types: Vec<String>,
    /// `billing_address_collection`: `auto` or `required`.
    pub(super) billing_address_collection: Option<String>,
    /// `phone_number_collection[enabled]`.
    pub(super) phone_number_collection: bool,
    /// `customer_creation`: `always` or `if_required`.
    pub(super) customer_creation: Option<String>,
    /// The customer created at payment when `customer_creation=always`.
    pub(super) customer: Option<String>,
    /// `submit_type`.
    pub(super) submit_type: Option<String>,
    /// What the customer typed on the page: phone, name, country (when collected).
    pub(super) collected: Collected,
    /// The payment intent's own fields from `payment_intent_data[…]`.
    pub(super) intent_data: IntentData,
    /// The payment intent's `client_secret` and creation time, once it exists.
    pub(super) intent_secret: String,
    pub(super) intent_created: i64,
    /// The charge of the last card submitted (`latest_charge`) and its payment method.
    pub(super) charge: Option<String>,
    pub(super) payment_method: Option<String>,
}

/// What the hosted page collected besides the card.
#[derive(Clone, Debug, Default)]
pub(super) struct Collected {
    pub(super) name: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) country: Option<String>,
}

/// `payment_intent_data[…]`: fields the session passes on to its payment intent.
#[derive(Clone, Debug, Default)]
pub(super) struct IntentData {
    pub(super) capture_method: Option<String>,
    pub(super) description: Option<String>,
    pub(super) receipt_email: Option<String>,
    pub(super) statement_descriptor_suffix: Option<String>,
}

/// A price: created by `POST /v1/prices`, or inline by a session's `price_data`.
#[derive(Clone, Debug)]
pub(crate) struct Price {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) active: bool,
    pub(super) currency: String,
    pub(super) unit_amount: u64,
    pub(super) product: String,
    /// The product's name (a line item's `description`).
    pub(super) product_name: String,
    pub(super) nickname: Option<String>,
    pub(super) lookup_key: Option<String>,
    pub(super) tax_behavior: Option<String>,
    pub(super) metadata: BTreeMap<String, String>,
    pub(super) created: i64,
    pub(super) created_order: u64,
}

/// A line item of a session.
#[derive(Clone, Debug)]
pub(crate) struct LineItem {
    pub(super) id: String,
    pub(super) quantity: u64,
    pub(super) price: Price,
}

/// A refund of a paid session's charge.
#[derive(Clone, Debug)]
pub(crate) struct Refund {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) amount: u64,
    pub(super) currency: String,
    pub(super) charge: String,
    pub(super) payment_intent: String,
    pub(super) payment_method: Option<String>,
    /// The paid session's customer, if one was created.
    pub(super) customer: Option<String>,
    pub(super) balance_transaction: String,
    pub(super) reason: Option<String>,
    pub(super) metadata: BTreeMap<String, String>,
    pub(super) created: i64,
    pub(super) created_order: u64,
}

/// A row an account owns, kept in creation order: lists show the newest first, a full ledger
/// forgets the oldest first.
pub(super) trait Ledgered {
    /// The account it belongs to.
    fn account(&self) -> &str;
    /// Its creation time and its place in creation order.
    fn created(&self) -> (i64, u64);
}

/// Sessions, prices and refunds all carry `account`, `created` and `created_order`.
macro_rules! ledgered {
    ($($row:ty),+) => {$(
        impl Ledgered for $row {
            fn account(&self) -> &str {
                &self.account
            }
            fn created(&self) -> (i64, u64) {
                (self.created, self.created_order)
            }
        }
    )+};
}

ledgered!(StripeSession, Price, Refund);

/// A row the API reads by id (`GET /v1/<objects>/{id}`): where it is kept and how it shows.
pub(super) trait Readable: Ledgered + Sized + 'static {
    /// Its object name (`price`), in notes and `resource_missing` errors.
    const KIND: &'static str;
    /// The parameter a `resource_missing` error names.
    const PARAM: &'static str;
    /// The ledger it is kept in.
    fn rows(data: &StripeData) -> &HashMap<String, Self>;
    /// Its API object.
    fn object(&self) -> Value;
}

impl Readable for Price {
    const KIND: &'static str = "price";
    const PARAM: &'static str = "price";
    fn rows(data: &StripeData) -> &HashMap<String, Self> {
        &data.prices
    }
    fn object(&self) -> Value {
        self.to_json()
    }
}

impl Readable for Refund {
    const KIND: &'static str = "refund";
    const PARAM: &'static str = "id";
    fn rows(data: &StripeData) -> &HashMap<String, Self> {
        &data.refunds
    }
    fn object(&self) -> Value {
        self.to_json()
    }
}

/// Inserts `row` under `id`, forgetting the oldest row first when the ledger holds
/// [`MAX_ROWS`](crate::state::MAX_ROWS), so a long-running mock cannot grow without bound.
pub(super) fn insert_capped<T: Ledgered>(rows: &mut HashMap<String, T>, id: String, row: T) {
    if rows.len() >= crate::state::MAX_ROWS
        && let Some(oldest) = rows
            .iter()
            .min_by_key(|(_, r)| r.created().1)
            .map(|(id, _)| id.clone())
    {
        rows.remove(&oldest);
    }
    rows.insert(id, row);
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

    pub(super) fn to_json(&self) -> Value {
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

    /// Creates the payment intent at the first card submitted (as the PSP does for hosted
    /// Checkout); later tries on the same page reuse it.
    pub(super) fn ensure_intent(&mut self, now: i64) {
        if self.payment_intent.is_none() {
            let id = format!("pi_test_{}", random_hex(12));
            self.intent_secret = format!("{id}_secret_{}", random_hex(12));
            self.intent_created = now;
            self.payment_intent = Some(id);
        }
    }

    /// A card submitted: a new charge (`latest_charge`), and its payment method.
    pub(super) fn new_charge(&mut self, now: i64) {
        self.ensure_intent(now);
        self.charge = Some(format!("ch_test_{}", random_hex(12)));
        self.payment_method = Some(format!("pm_test_{}", random_hex(12)));
    }
}

/// A stored response for an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub(super) struct IdempotencyRecord {
    pub(super) fingerprint: String,
    pub(super) status: u16,
    pub(super) body: String,
}

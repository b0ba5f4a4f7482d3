//! The API objects as the PSP shapes them: every field of its published fixtures
//! (`fixtures3.json` of its OpenAPI description), `null` where the mock has nothing to say, so
//! that a client reading any documented attribute finds it.

use serde_json::{Value, json};

use super::state::{LineItem, PaymentError, Price, Refund, StripeSession};

/// What a session's answer expands in place of ids (`expand[]=…`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Expand {
    /// `payment_intent`: the object instead of its id.
    pub(super) payment_intent: bool,
    /// `line_items`: the first page of the session's line items.
    pub(super) line_items: bool,
}

/// A list object: one page of `data`, and where the next pages are.
pub(super) fn list(data: Vec<Value>, has_more: bool, url: &str) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

/// The line items a session shows expanded (the PSP's default page of ten).
const EXPANDED_ITEMS: usize = 10;

impl StripeSession {
    /// The URL of the session's line items.
    pub(super) fn line_items_url(&self) -> String {
        format!("/v1/checkout/sessions/{}/line_items", self.id)
    }

    /// The session object; `expand` puts objects in place of ids.
    pub(super) fn to_json(&self, base_url: &str, expand: Expand) -> Value {
        let intent = match self.intent_json() {
            Some(pi) if expand.payment_intent => pi,
            _ => json!(self.payment_intent),
        };
        let complete = self.status == "complete";
        let customer_details = if complete {
            json!({
                "address": self.collected.country.as_ref().map(|c| json!({
                    "city": null, "country": c, "line1": null, "line2": null,
                    "postal_code": null, "state": null,
                })),
                "business_name": null,
                "email": self.customer_email,
                "individual_name": null,
                "name": self.collected.name,
                "phone": self.collected.phone,
                "tax_exempt": "none",
                "tax_ids": [],
            })
        } else {
            Value::Null
        };
        let collected_information = if complete {
            json!({"business_name": null, "individual_name": null, "shipping_details": null})
        } else {
            Value::Null
        };
        let mut session = json!({
            "id": self.id,
            "object": "checkout.session",
            "adaptive_pricing": null,
            "after_expiration": null,
            "allow_promotion_codes": null,
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
            "billing_address_collection": self.billing_address_collection,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "client_secret": null,
            "collected_information": collected_information,
            "consent": null,
            "consent_collection": null,
            "created": self.created,
            "currency": self.currency,
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {
                "after_submit": null, "shipping_address": null, "submit": null,
                "terms_of_service_acceptance": null,
            },
            "customer": self.customer,
            "customer_account": null,
            "customer_creation": self.customer_creation,
            "customer_details": customer_details,
            "customer_email": self.customer_email,
            "discounts": [],
            "expires_at": self.expires_at,
            "integration_identifier": null,
            "invoice": null,
            "invoice_creation": {
                "enabled": false,
                "invoice_data": {
                    "account_tax_ids": null, "custom_fields": null, "description": null,
                    "footer": null, "issuer": null, "metadata": {}, "rendering_options": null,
                },
            },
            "livemode": false,
            "locale": self.locale,
            "managed_payments": null,
            "metadata": self.metadata,
            "mode": "payment",
            "origin_context": null,
            "payment_intent": intent,
            "payment_link": null,
            "payment_method_collection": "if_required",
            "payment_method_configuration_details": null,
            "payment_method_options": {},
            "payment_method_types": self.payment_method_types,
            "payment_status": self.payment_status,
            "permissions": null,
            "phone_number_collection": {"enabled": self.phone_number_collection},
            "recovered_from": null,
            "saved_payment_method_options": null,
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": self.status,
            "submit_type": self.submit_type,
            "subscription": null,
            "success_url": self.success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": if self.status == "open" {
                Value::String(format!("{base_url}/c/pay/{}", self.id))
            } else {
                Value::Null
            },
            "wallet_options": null,
        });
        if expand.line_items
            && let Some(o) = session.as_object_mut()
        {
            let items: Vec<Value> = self
                .line_items
                .iter()
                .take(EXPANDED_ITEMS)
                .map(LineItem::to_json)
                .collect();
            let more = self.line_items.len() > EXPANDED_ITEMS;
            o.insert(
                "line_items".into(),
                list(items, more, &self.line_items_url()),
            );
        }
        session
    }

    /// The payment intent object, once there is one (created at the first card submitted).
    pub(super) fn intent_json(&self) -> Option<Value> {
        let id = self.payment_intent.as_ref()?;
        let d = &self.intent_data;
        Some(json!({
            "id": id,
            "object": "payment_intent",
            "amount": self.amount_total,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": if self.payment_status == "paid" { self.amount_total } else { 0 },
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": null,
            "canceled_at": null,
            "cancellation_reason": null,
            "capture_method": d.capture_method.as_deref().unwrap_or("automatic"),
            "client_secret": self.intent_secret,
            "confirmation_method": "automatic",
            "created": self.intent_created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": null,
            "description": d.description,
            "excluded_payment_method_types": null,
            "last_payment_error": self.last_payment_error.as_ref().map(PaymentError::to_json),
            "latest_charge": self.charge,
            "livemode": false,
            "managed_payments": null,
            "metadata": self.intent_metadata,
            "next_action": null,
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {},
            "payment_method_types": self.payment_method_types,
            "processing": null,
            "receipt_email": d.receipt_email,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": d.statement_descriptor_suffix,
            "status": self.intent_status,
            "transfer_data": null,
            "transfer_group": null,
        }))
    }
}

impl LineItem {
    /// The `item` object.
    pub(super) fn to_json(&self) -> Value {
        let total = self.quantity.saturating_mul(self.price.unit_amount);
        json!({
            "id": self.id,
            "object": "item",
            "adjustable_quantity": null,
            "amount_discount": 0,
            "amount_subtotal": total,
            "amount_tax": 0,
            "amount_total": total,
            "currency": self.price.currency,
            "description": self.price.product_name,
            "metadata": {},
            "price": self.price.to_json(),
            "quantity": self.quantity,
        })
    }
}

impl Price {
    /// The `price` object (one-time, per unit).
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "price",
            "active": self.active,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": self.currency,
            "custom_unit_amount": null,
            "livemode": false,
            "lookup_key": self.lookup_key,
            "metadata": self.metadata,
            "nickname": self.nickname,
            "product": self.product,
            "recurring": null,
            "tax_behavior": self.tax_behavior.as_deref().unwrap_or("unspecified"),
            "tiers_mode": null,
            "transform_quantity": null,
            "type": "one_time",
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": self.unit_amount.to_string(),
        })
    }
}

impl Refund {
    /// The `refund` object.
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": self.balance_transaction,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": null,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "reason": self.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": null,
        })
    }
}

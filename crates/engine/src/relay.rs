//! The effects relay: delivers outbox rows after commit, at least once, deduplicated by their
//! stable id (e-mail `Message-ID`, hook record id), so effectively once.

use std::sync::atomic::Ordering;

use serde_json::json;
use tpe_core::lifecycle::{Alert, Effect};
use tpe_core::{Lang, OutcomeKind, Timestamp};

use tpe_store::{
    BankTransactionRecord, CheckoutDetail, CheckoutRecord, OutboxEffect, Rescheduled, StoreError,
};

use crate::engine::Engine;
use crate::error::DeliveryError;
use crate::mailer::Email;
use crate::templates::TemplateName;

/// What one relay pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayReport {
    /// Rows delivered and marked.
    pub delivered: u32,
    /// Rows that failed and were rescheduled.
    pub failed: u32,
    /// Rows that failed for good (a permanent error or the last allowed attempt): given up,
    /// the manager alerted.
    pub given_up: u32,
    /// Rows held back on purpose (a refusal e-mail waiting in case the next try succeeds).
    pub postponed: u32,
}

/// What delivering one row came to.
enum Delivery {
    /// Done (sent, recorded, or found unnecessary): mark it delivered.
    Done,
    /// Not yet: due again at this time.
    Later(Timestamp),
}

/// The stable `Message-ID` (without angle brackets) of the e-mail of outbox row `id`.
pub fn message_id(id: i64, reference: &str, sender: &str) -> String {
    let domain = sender
        .rsplit_once('@')
        .map_or("tpe.invalid", |(_, d)| d.trim_end_matches('>'));
    format!("tpe-effect-{id}.{reference}@{domain}")
}

/// What an outbox effect of this kind ([`Effect::kind`]) is, for the manager.
pub fn effect_kind_text(kind: &str, lang: Lang) -> &'static str {
    let (fr, en) = match kind {
        "record_payment" => (
            "l'enregistrement du versement en comptabilité",
            "recording the payment in the accounts",
        ),
        "confirm_customer" => (
            "l'e-mail de confirmation au client",
            "the confirmation e-mail to the customer",
        ),
        "notify_refusal" => (
            "l'e-mail au gérant sur un paiement refusé",
            "the e-mail to the manager about a refused payment",
        ),
        "alert_manager" => ("une alerte au gérant", "an alert to the manager"),
        "refund" => (
            "la demande de remboursement à la banque",
            "the refund request to the bank",
        ),
        _ => ("une tâche", "a task"),
    };
    match lang {
        Lang::Fr => fr,
        _ => en,
    }
}

/// An amount as people read it in `lang`: `12,50 €` in French, `€12.50` in English, as on
/// the shop's pages.
fn show(amount: tpe_core::Amount, lang: Lang) -> String {
    amount.for_reader(lang)
}

impl Engine {
    /// Delivers the outbox rows due at `now` (one batch per call, until none is left).
    ///
    /// # Errors
    /// [`StoreError`] when the outbox cannot be read or marked.
    pub async fn run_relay_once(&self, now: Timestamp) -> Result<RelayReport, StoreError> {
        let t = self.inner.timings;
        // What a previous run under this (stable) worker id held when it stopped is due now,
        // not when its lease ends: released once, before this run claims anything.
        if !self.inner.claims_released.swap(true, Ordering::AcqRel) {
            match self.inner.store.release_claims(&self.inner.worker_id).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    worker = %self.inner.worker_id, released = n,
                    "claims of a previous run released"
                ),
                Err(e) => {
                    self.inner.claims_released.store(false, Ordering::Release);
                    return Err(e);
                }
            }
        }
        let mut report = RelayReport::default();
        loop {
            let items = self
                .inner
                .store
                .claim_effects(&self.inner.worker_id, now, t.batch, t.lease)
                .await?;
            if items.is_empty() {
                return Ok(report);
            }
            for item in items {
                match self.deliver(&item, now).await {
                    Ok(Delivery::Done) => {
                        self.inner.store.mark_delivered(item.id, now).await?;
                        report.delivered = report.delivered.saturating_add(1);
                    }
                    Ok(Delivery::Later(at)) => {
                        self.inner.store.postpone(item.id, at).await?;
                        report.postponed = report.postponed.saturating_add(1);
                    }
                    Err(e) => {
                        // The store backs off (doubling, with jitter) and releases the lease,
                        // or gives the effect up and writes the manager's alert.
                        let failure = e.failure();
                        let error = e.to_string();
                        match self
                            .inner
                            .store
                            .reschedule(item.id, now, &error, failure)
                            .await?
                        {
                            Rescheduled::Retry(next) => {
                                tracing::warn!(
                                    id = item.id, reference = %item.reference,
                                    kind = item.effect.kind(), attempts = item.attempts + 1,
                                    error, next = %next, "effect delivery failed, rescheduled"
                                );
                                report.failed = report.failed.saturating_add(1);
                            }
                            Rescheduled::GivenUp { attempts } => {
                                tracing::error!(
                                    id = item.id, reference = %item.reference,
                                    kind = item.effect.kind(), attempts, ?failure, error,
                                    "effect delivery given up: waiting for a retry in Gestion"
                                );
                                report.given_up = report.given_up.saturating_add(1);
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    async fn deliver(
        &self,
        item: &OutboxEffect,
        now: Timestamp,
    ) -> Result<Delivery, DeliveryError> {
        let inner = &self.inner;
        let checkout = || async { self.detail_of(item).await.map(|d| d.checkout) };
        let manager = inner.settings.language;
        match &item.effect {
            Effect::RecordPayment {
                amount,
                bank_transaction_id,
                source,
            } => {
                let c = checkout().await?;
                let view = crate::hook::PaymentRecordView {
                    id: item.id,
                    reference: item.reference.clone(),
                    shop_order_id: c.shop_order_id.clone(),
                    amount: *amount,
                    bank_transaction_id: bank_transaction_id.clone(),
                    source: source.clone(),
                    at: now,
                };
                inner.hook.record(&view).await?;
                Ok(Delivery::Done)
            }
            Effect::ConfirmToCustomer => {
                let c = checkout().await?;
                let to = c.customer_email.clone();
                let lang = c.language.unwrap_or(inner.settings.language);
                self.send(
                    item,
                    &c,
                    TemplateName::Confirmation,
                    lang,
                    to,
                    json!({}),
                    now,
                )
                .await?;
                Ok(Delivery::Done)
            }
            Effect::NotifyManagerOfRefusal {
                bank_transaction_id,
                ..
            } => self.refusal_email(item, bank_transaction_id, now).await,
            Effect::AlertManager(alert) => {
                let c = checkout().await?;
                let (name, extra) = match alert {
                    Alert::AmountMismatch {
                        expected,
                        received,
                        bank_transaction_id,
                    } => (
                        TemplateName::AlertAmountMismatch,
                        json!({"expected": show(*expected, manager), "received": show(*received, manager),
                               "bank_transaction_id": bank_transaction_id}),
                    ),
                    Alert::PaidAfterRetraction {
                        bank_transaction_id,
                    } => (
                        TemplateName::AlertPaidAfterRetraction,
                        json!({"bank_transaction_id": bank_transaction_id}),
                    ),
                    Alert::PaidTwice {
                        other,
                        bank_transaction_id,
                    } => (
                        TemplateName::AlertPaidTwice,
                        json!({"other_reference": other.as_ref().map(ToString::to_string),
                               "bank_transaction_id": bank_transaction_id}),
                    ),
                    Alert::UnclassifiedOutcome {
                        code,
                        bank_transaction_id,
                    } => (
                        TemplateName::AlertUnclassified,
                        json!({"code": code, "bank_transaction_id": bank_transaction_id}),
                    ),
                    Alert::InstalmentRefused {
                        number,
                        amount,
                        bank_transaction_id,
                        reason,
                    } => {
                        let mut extra = reason_context(reason, manager);
                        extra["number"] = json!(number);
                        extra["instalment_amount"] = json!(show(*amount, manager));
                        extra["bank_transaction_id"] = json!(bank_transaction_id);
                        (TemplateName::AlertInstalmentRefused, extra)
                    }
                    Alert::DeliveryGivenUp {
                        effect_id,
                        kind,
                        attempts,
                        error,
                        ..
                    } => (
                        TemplateName::AlertDeliveryGivenUp,
                        json!({"effect_id": effect_id, "what": effect_kind_text(kind, manager),
                               "attempts": attempts, "error": error}),
                    ),
                    _ => {
                        tracing::warn!(id = item.id, "alert of an unknown kind not sent");
                        return Ok(Delivery::Done);
                    }
                };
                let to = inner.settings.manager_email.clone();
                self.send(item, &c, name, manager, to, extra, now).await?;
                Ok(Delivery::Done)
            }
            Effect::Refund {
                bank_transaction_id,
                amount,
                attempt,
                back_to,
                instalment,
            } => {
                let refund = crate::refund::RefundEffect {
                    bank_transaction_id,
                    amount: *amount,
                    attempt: *attempt,
                    back_to: *back_to,
                    instalment: *instalment,
                };
                self.deliver_refund(item, refund, now).await?;
                Ok(Delivery::Done)
            }
            // Carried out by the store inside the transaction.
            Effect::Quarantine { .. } | Effect::SupersedeSiblings => Ok(Delivery::Done),
            other => {
                tracing::warn!(
                    id = item.id,
                    kind = other.kind(),
                    "effect of an unknown kind skipped"
                );
                Ok(Delivery::Done)
            }
        }
    }

    /// The manager's e-mail about refused tries, held back [`Timings::refusal_email_delay`]
    /// after the first refusal of a series: dropped if the checkout is paid meanwhile, and one
    /// e-mail for all the refusals of that window (the first refusal's row sends it, the
    /// others are covered by it).
    ///
    /// [`Timings::refusal_email_delay`]: crate::Timings::refusal_email_delay
    async fn refusal_email(
        &self,
        item: &OutboxEffect,
        bank_transaction_id: &str,
        now: Timestamp,
    ) -> Result<Delivery, DeliveryError> {
        let inner = &self.inner;
        let detail = self.detail_of(item).await?;
        let c = &detail.checkout;
        if tpe_core::lifecycle::PAID.contains(&c.status) {
            tracing::info!(reference = %item.reference, "refusal e-mail dropped: paid since");
            return Ok(Delivery::Done);
        }
        let window = jiff::SignedDuration::try_from(inner.timings.refusal_email_delay)
            .unwrap_or(jiff::SignedDuration::MAX);
        // Tries at the checkout's payment: a later instalment's refusal has its own alert.
        let mut refusals: Vec<&BankTransactionRecord> = detail
            .bank_transactions
            .iter()
            .filter(|t| t.outcome == OutcomeKind::Refused && t.instalment.is_none_or(|n| n <= 1))
            .collect();
        refusals.sort_by_key(|t| (t.received_at, t.id));
        // Series: a refusal starts one unless it comes within the window of the series' first.
        let mut series: Vec<Vec<&BankTransactionRecord>> = Vec::new();
        for t in refusals {
            match series.last_mut() {
                Some(last)
                    if t.received_at
                        < last[0]
                            .received_at
                            .saturating_add(window)
                            .unwrap_or(Timestamp::MAX) =>
                {
                    last.push(t);
                }
                _ => series.push(vec![t]),
            }
        }
        let mine = series.into_iter().find(|s| {
            s.iter()
                .any(|t| t.bank_transaction_id == bank_transaction_id)
        });
        let tries = match mine {
            Some(s) if s[0].bank_transaction_id != bank_transaction_id => {
                // Listed in the e-mail of its series' first refusal.
                return Ok(Delivery::Done);
            }
            Some(s) => {
                let due = s[0]
                    .received_at
                    .saturating_add(window)
                    .unwrap_or(Timestamp::MAX);
                if now < due {
                    return Ok(Delivery::Later(due));
                }
                s
            }
            None => Vec::new(),
        };
        let provider = self.provider(c.provider.as_str());
        let manager = inner.settings.language;
        let tz = inner.settings.time_zone.clone();
        let listed: Vec<_> = tries
            .iter()
            .map(|t| {
                let code = t.reason_code.clone().unwrap_or_default();
                let reason = provider.as_ref().map_or_else(
                    || tpe_core::Reason::unknown(code.clone()),
                    |p| p.classify(&code),
                );
                let mut listed = reason_context(&reason, manager);
                listed["bank_transaction_id"] = json!(t.bank_transaction_id);
                listed["at"] = json!(
                    t.received_at
                        .to_zoned_datetime(tz.clone())
                        .strftime("%d/%m/%Y %H:%M")
                        .to_string()
                );
                listed
            })
            .collect();
        let first = listed.first().cloned().unwrap_or_else(|| json!({}));
        let extra = json!({
            "tries": listed,
            "bank_transaction_id": first["bank_transaction_id"],
            "code": first["code"],
            "reason": first["reason"],
            "explanation_fr": first["explanation_fr"],
            "explanation_en": first["explanation_en"],
            "advice_fr": first["advice_fr"],
            "advice_en": first["advice_en"],
        });
        let to = inner.settings.manager_email.clone();
        self.send(item, c, TemplateName::Refusal, manager, to, extra, now)
            .await?;
        Ok(Delivery::Done)
    }

    /// The checkout of an outbox row, with everything written about it.
    pub(crate) async fn detail_of(
        &self,
        item: &OutboxEffect,
    ) -> Result<CheckoutDetail, DeliveryError> {
        Ok(self.inner.store.checkout(&item.reference).await?)
    }

    #[allow(clippy::too_many_arguments)] // one private call site shape, clearer than a struct
    async fn send(
        &self,
        item: &OutboxEffect,
        c: &CheckoutRecord,
        name: TemplateName,
        lang: Lang,
        to: String,
        extra: serde_json::Value,
        now: Timestamp,
    ) -> Result<(), DeliveryError> {
        let s = &self.inner.settings;
        let mut ctx = json!({
            "shop_name": s.shop_name,
            "reference": item.reference.as_str(),
            "customer_name": c.customer_name,
            "customer_email": c.customer_email,
            "amount": show(c.amount, lang),
            "description": c.description.as_deref().unwrap_or(""),
            "item_count": c.item_count,
            "shop_order_id": c.shop_order_id,
        });
        if let (Some(ctx), serde_json::Value::Object(extra)) = (ctx.as_object_mut(), extra) {
            ctx.extend(extra);
        }
        let rendered = self.inner.templates.render(name, lang, &ctx)?;
        let email = Email {
            message_id: message_id(item.id, item.reference.as_str(), &s.sender_email),
            from: s.sender_email.clone(),
            to,
            subject: rendered.subject,
            body: rendered.body,
            date: now,
        };
        Ok(self.inner.mailer.send(&email).await?)
    }
}

/// A refusal's code explained, for the manager's e-mails (Reason wording).
fn reason_context(reason: &tpe_core::Reason, manager: Lang) -> serde_json::Value {
    json!({
        "code": reason.code(),
        "reason": reason.kind().manager_message(manager),
        "explanation_fr": reason.bank_text(Lang::Fr),
        "explanation_en": reason.bank_text(Lang::En),
        "advice_fr": reason.retry_advice().describe(Lang::Fr),
        "advice_en": reason.retry_advice().describe(Lang::En),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_and_per_effect() {
        let a = message_id(7, "REF", "Boutique <shop@example.fr>");
        assert_eq!(a, "tpe-effect-7.REF@example.fr");
        assert_eq!(a, message_id(7, "REF", "Boutique <shop@example.fr>"));
        assert_ne!(a, message_id(8, "REF", "shop@example.fr"));
    }
}

//! The manager's decisions on money that should not have come: reinstate a checkout paid
//! after its retraction, or refund it — or the extra payment of an order paid twice — through
//! the provider's refund operation.
//!
//! A refund is an outbox effect per bank transaction paid: the request commits the checkout
//! as `Refunding` with an [`Effect::Refund`] for each (one for a single payment; the first
//! instalment's and each later versement's for a payment in instalments), and the relay asks
//! the bank, then records the answer, naming the transaction, as an event. A crash between
//! the bank's answer and that record loses nothing: the row is delivered again, the bank is
//! first asked whether the payment is already refunded, and the retried call carries the same
//! idempotency key; a second request is refused while one is under way, and a transaction
//! refunded is never asked again.

use tpe_core::lifecycle::{Effect, RefundState};
use tpe_core::{
    Amount, CheckoutStatus, PaymentReference, ProviderData, ProviderError, RefundRequest,
    RemoteStatus, Timestamp,
};
use tpe_store::{EventInput, OutboxEffect, StoreError};

use crate::engine::Engine;
use crate::error::{DeliveryError, EngineError};

/// Why the bank did not refund, in French for the manager; `None` when the outcome is unknown
/// (transport failure, bank busy) and the call must be tried again rather than given up.
fn refusal_fr(e: &ProviderError) -> Option<String> {
    let text = match e {
        ProviderError::Api {
            retryable: false,
            code,
            message,
            ..
        } => format!(
            "la banque a refusé le remboursement{} : {message}",
            code.as_deref()
                .map(|c| format!(" (code {c})"))
                .unwrap_or_default()
        ),
        ProviderError::Unsupported { .. } => "cette banque ne rembourse pas par son API : \
             remboursez depuis son back-office"
            .to_owned(),
        ProviderError::InvalidRequest { field, reason, .. } => {
            format!("demande de remboursement impossible pour cette banque ({field} : {reason})")
        }
        ProviderError::Config { .. } => {
            "la configuration de la banque ne permet pas le remboursement".to_owned()
        }
        _ => return None,
    };
    Some(text.chars().take(2000).collect())
}

/// The refund to deliver, as the outbox row carries it.
pub(crate) struct RefundEffect<'a> {
    pub(crate) bank_transaction_id: &'a str,
    pub(crate) amount: Amount,
    pub(crate) attempt: i64,
    pub(crate) back_to: CheckoutStatus,
    pub(crate) instalment: Option<u8>,
}

impl Engine {
    /// A manager keeps the money of a checkout paid after its retraction and delivers the
    /// order (event 14): valid, confirmation e-mail to the customer, the order's other
    /// checkouts superseded, audit row with the author and the note.
    ///
    /// # Errors
    /// [`EngineError::InvalidInput`] for an empty author or an overlong note;
    /// [`EngineError::Store`] when the checkout is unknown or not paid after retraction
    /// ([`crate::StoreError::Transition`]); nothing changes then.
    pub async fn reinstate(
        &self,
        reference: &PaymentReference,
        author: &str,
        note: &str,
    ) -> Result<CheckoutStatus, EngineError> {
        let input = |author, note| EventInput::Reinstate { author, note };
        let status = self.decide(reference, author, note, input).await?;
        tracing::info!(%reference, "checkout reinstated by the manager");
        Ok(status)
    }

    /// A manager asks for the full refund of a checkout paid after its retraction, or of the
    /// extra payment of an order paid twice (event 15): the checkout is `Refunding` and the
    /// relay ([`Engine::run_relay_once`]) asks the bank, once however many requests or
    /// retries; it ends `Refunded`, or back where it was with the bank's reason in the audit
    /// trail.
    ///
    /// A payment in instalments gives back every versement paid, each on its own bank
    /// transaction for its own amount; it is `Refunded` when the bank has taken them all. A
    /// refusal of one sends the checkout back where it was once the others are answered,
    /// those refunded staying refunded; a versement the bank charges after the refund is
    /// refunded by calling this again (docs/instalments.md, "Refunds").
    ///
    /// # Errors
    /// [`EngineError::InvalidInput`] for an empty author or an overlong note;
    /// [`EngineError::RefundUnsupported`] for a payment in instalments at a bank without
    /// refunds; [`EngineError::Store`] when the checkout is unknown, not refundable, has
    /// nothing paid left to refund, or has a refund under way
    /// ([`crate::StoreError::Transition`]); nothing changes then.
    pub async fn request_refund(
        &self,
        reference: &PaymentReference,
        author: &str,
        note: &str,
    ) -> Result<CheckoutStatus, EngineError> {
        if let Some(c) = self.checkout(reference).await?
            && c.schedule.is_some()
            && !self
                .provider(c.provider.as_str())
                .is_some_and(|p| p.profile().capabilities.refund)
        {
            return Err(EngineError::RefundUnsupported {
                provider: c.provider,
            });
        }
        let input = |author, note| EventInput::RequestRefund { author, note };
        let status = self.decide(reference, author, note, input).await?;
        tracing::info!(%reference, "refund requested by the manager");
        Ok(status)
    }

    /// Applies a manager's decision (manual validation, reinstatement, refund) after checking
    /// the name and the note; the new state.
    pub(crate) async fn decide(
        &self,
        reference: &PaymentReference,
        author: &str,
        note: &str,
        input: impl FnOnce(String, String) -> EventInput,
    ) -> Result<CheckoutStatus, EngineError> {
        let author = author.trim();
        if author.is_empty() || author.len() > 200 || author.chars().any(char::is_control) {
            return Err(EngineError::InvalidInput {
                field: "author",
                reason: "must have 1 to 200 bytes and no control character",
            });
        }
        if note.len() > 2000 {
            return Err(EngineError::InvalidInput {
                field: "note",
                reason: "must have at most 2000 bytes",
            });
        }
        let input = input(author.to_owned(), note.to_owned());
        let applied = self
            .inner
            .store
            .apply_event(reference, input, self.now())
            .await?;
        Ok(applied.status)
    }

    /// Delivers an [`Effect::Refund`] row: `Ok` when settled (refunded, refused, or found
    /// settled already), `Err` to try again later.
    pub(crate) async fn deliver_refund(
        &self,
        item: &OutboxEffect,
        refund: RefundEffect<'_>,
        now: Timestamp,
    ) -> Result<(), DeliveryError> {
        let inner = &self.inner;
        let detail = self.detail_of(item).await?;
        let c = &detail.checkout;
        let txn = refund.bank_transaction_id;
        // Only a refund still under way for this attempt goes to the bank: a row delivered
        // again after a crash, or of an older attempt, finds its outcome recorded.
        let current = match c.refunds.get(txn) {
            Some(RefundState::Underway { attempt }) => *attempt == refund.attempt,
            Some(_) => false,
            // Asked before refunds were kept per bank transaction: the latest refund row.
            None => {
                c.refunds.is_empty()
                    && detail
                        .effects
                        .iter()
                        .rfind(|e| matches!(e.effect, Effect::Refund { .. }))
                        .is_some_and(|e| e.id == item.id)
            }
        };
        if c.status != CheckoutStatus::Refunding || !current {
            return Ok(());
        }
        let provider = self
            .provider(c.provider.as_str())
            .cloned()
            .ok_or_else(|| DeliveryError::UnknownProvider(c.provider.to_string()))?;
        let settled = |input| async move {
            match inner.store.apply_event(&item.reference, input, now).await {
                // Settled meanwhile by another delivery: nothing left to do.
                Ok(_) | Err(StoreError::Transition(_)) => Ok(()),
                Err(e) => Err(DeliveryError::Store(e)),
            }
        };
        let named = || Some(txn.to_owned());
        // Refunded by an earlier delivery whose record was lost: record it, ask nothing. The
        // bank's status names one transaction: of a payment in instalments, it must be this
        // one.
        if provider.profile().capabilities.status_query
            && let Some(RemoteStatus::Refunded {
                bank_transaction_id,
            }) = self.remote_status(provider.as_ref(), c, now).await
            && (c.schedule.is_none() || bank_transaction_id == txn)
        {
            tracing::info!(reference = %item.reference, "refund found done at the bank");
            let refund_id = format!("{bank_transaction_id} (remboursée)");
            return settled(EventInput::RefundSucceeded {
                refund_id,
                bank_transaction_id: named(),
            })
            .await;
        }
        // One key per attempt and bank transaction: the same for every retry of it.
        let key = match refund.instalment {
            None => format!("tpe-refund-{}-{}", item.reference, refund.attempt),
            Some(n) => format!("tpe-refund-{}-{}-{n}", item.reference, refund.attempt),
        };
        let request = RefundRequest::new(item.reference.clone(), txn, refund.amount, key)
            .for_checkout(
                c.bank_reference.clone(),
                c.provider_data
                    .as_deref()
                    .and_then(|d| ProviderData::new(d).ok()),
            );
        match provider.refund(&request, now).await {
            Ok(receipt) => {
                tracing::info!(reference = %item.reference, refund_id = %receipt.refund_id, "refunded");
                settled(EventInput::RefundSucceeded {
                    refund_id: receipt.refund_id,
                    bank_transaction_id: named(),
                })
                .await
            }
            Err(e) => match refusal_fr(&e) {
                Some(reason) => {
                    tracing::warn!(reference = %item.reference, error = %e, "refund refused");
                    settled(EventInput::RefundFailed {
                        reason,
                        back_to: refund.back_to,
                        bank_transaction_id: named(),
                    })
                    .await
                }
                None => Err(DeliveryError::Refund(e)),
            },
        }
    }
}

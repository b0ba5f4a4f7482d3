//! Implements [`crate::PaymentStore`] for a type holding a `core: Core` field, and the
//! builder methods both stores' options share.

/// Delegates every [`crate::PaymentStore`] method to the shared [`crate::core::Core`].
macro_rules! delegate {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::PaymentStore for $store {
            async fn create_checkout(
                &self,
                new: crate::NewCheckout,
            ) -> Result<crate::CheckoutRecord, crate::StoreError> {
                self.core.create_checkout(new).await
            }

            async fn apply_event(
                &self,
                reference: &tpe_core::PaymentReference,
                input: crate::EventInput,
                now: tpe_core::Timestamp,
            ) -> Result<crate::Applied, crate::StoreError> {
                self.core.apply_event(reference, input, now).await
            }

            async fn apply_events(
                &self,
                batch: Vec<(tpe_core::PaymentReference, crate::EventInput)>,
                now: tpe_core::Timestamp,
            ) -> Vec<Result<crate::Applied, crate::StoreError>> {
                self.core.apply_events(batch, now).await
            }

            async fn apply_events_then_commit(
                &self,
                batch: Vec<(tpe_core::PaymentReference, crate::EventInput)>,
                now: tpe_core::Timestamp,
                writes_done: crate::WritesDone,
            ) -> Vec<Result<crate::Applied, crate::StoreError>> {
                self.core
                    .apply_events_then_commit(batch, now, writes_done)
                    .await
            }

            async fn apply_notifications(
                &self,
                batch: Vec<tpe_core::VerifiedNotification>,
                now: tpe_core::Timestamp,
                writes_done: crate::WritesDone,
            ) -> Vec<Result<crate::Applied, crate::StoreError>> {
                match self.core.apply_notifications(batch, now, writes_done).await {
                    Ok(results) => results,
                    Err((batch, writes_done)) => {
                        crate::store::resolve_then_apply(self, batch, now, writes_done).await
                    }
                }
            }

            fn concurrent_writers(&self) -> usize {
                self.core.concurrent_writers
            }

            async fn claim_retraction(
                &self,
                now: tpe_core::Timestamp,
                limit: u32,
                lease: jiff::SignedDuration,
            ) -> Result<Vec<crate::CheckoutRecord>, crate::StoreError> {
                self.core.claim_retraction(now, limit, lease).await
            }

            async fn quarantine(
                &self,
                input: crate::QuarantineInput,
                now: tpe_core::Timestamp,
            ) -> Result<crate::QuarantineRecord, crate::StoreError> {
                self.core.quarantine(input, now).await
            }

            async fn quarantined(
                &self,
                limit: u32,
            ) -> Result<Vec<crate::QuarantineRecord>, crate::StoreError> {
                self.core.quarantined(limit).await
            }

            async fn quarantine_entry(
                &self,
                id: i64,
            ) -> Result<Option<crate::QuarantineEntry>, crate::StoreError> {
                self.core.quarantine_entry(id).await
            }

            async fn list_checkouts(
                &self,
                query: crate::CheckoutQuery,
            ) -> Result<crate::Page, crate::StoreError> {
                self.core.list_checkouts(query).await
            }

            async fn resolve_bank_reference(
                &self,
                provider: &tpe_core::ProviderId,
                bank_reference: &tpe_core::BankReference,
            ) -> Result<Option<tpe_core::PaymentReference>, crate::StoreError> {
                let key = [(provider.clone(), bank_reference.clone())];
                Ok(self
                    .core
                    .resolve_bank_references(&key)
                    .await?
                    .pop()
                    .flatten())
            }

            async fn resolve_bank_references(
                &self,
                keys: &[(tpe_core::ProviderId, tpe_core::BankReference)],
            ) -> Result<Vec<Option<tpe_core::PaymentReference>>, crate::StoreError> {
                self.core.resolve_bank_references(keys).await
            }

            async fn next_bank_sequence(
                &self,
                provider: &tpe_core::ProviderId,
                day: jiff::civil::Date,
            ) -> Result<u64, crate::StoreError> {
                self.core.next_bank_sequence(provider, day).await
            }

            async fn checkout(
                &self,
                reference: &tpe_core::PaymentReference,
            ) -> Result<crate::CheckoutDetail, crate::StoreError> {
                self.core.checkout(reference).await
            }

            async fn payment_records(
                &self,
                from: tpe_core::Timestamp,
                to: tpe_core::Timestamp,
                limit: u32,
            ) -> Result<Vec<crate::PaymentRecord>, crate::StoreError> {
                self.core.payment_records(from, to, limit).await
            }

            async fn due_for_retraction(
                &self,
                now: tpe_core::Timestamp,
                limit: u32,
            ) -> Result<Vec<crate::CheckoutRecord>, crate::StoreError> {
                self.core.due_for_retraction(now, limit).await
            }

            async fn claim_reconciliation(
                &self,
                now: tpe_core::Timestamp,
                min_age: jiff::SignedDuration,
                limit: u32,
                lease: jiff::SignedDuration,
            ) -> Result<Vec<crate::CheckoutRecord>, crate::StoreError> {
                self.core
                    .claim_reconciliation(now, min_age, limit, lease)
                    .await
            }

            async fn reschedule_reconciliation(
                &self,
                reference: &tpe_core::PaymentReference,
                now: tpe_core::Timestamp,
            ) -> Result<tpe_core::Timestamp, crate::StoreError> {
                self.core.reschedule_reconciliation(reference, now).await
            }

            async fn claim_effects(
                &self,
                worker_id: &str,
                now: tpe_core::Timestamp,
                limit: u32,
                lease: jiff::SignedDuration,
            ) -> Result<Vec<crate::OutboxEffect>, crate::StoreError> {
                self.core.claim_effects(worker_id, now, limit, lease).await
            }

            async fn mark_delivered(
                &self,
                effect_id: i64,
                now: tpe_core::Timestamp,
            ) -> Result<bool, crate::StoreError> {
                self.core.mark_delivered(effect_id, now).await
            }

            async fn reschedule(
                &self,
                effect_id: i64,
                now: tpe_core::Timestamp,
                error: &str,
                failure: crate::Failure,
            ) -> Result<crate::Rescheduled, crate::StoreError> {
                self.core.reschedule(effect_id, now, error, failure).await
            }

            async fn retry_given_up(
                &self,
                effect_id: i64,
                now: tpe_core::Timestamp,
            ) -> Result<bool, crate::StoreError> {
                self.core.retry_given_up(effect_id, now).await
            }

            async fn given_up_effects(
                &self,
                limit: u32,
            ) -> Result<Vec<crate::OutboxEffect>, crate::StoreError> {
                self.core.given_up_effects(limit).await
            }

            async fn postpone(
                &self,
                effect_id: i64,
                until: tpe_core::Timestamp,
            ) -> Result<(), crate::StoreError> {
                self.core.postpone(effect_id, until).await
            }

            async fn release_claims(&self, worker_id: &str) -> Result<u64, crate::StoreError> {
                self.core.release_claims(worker_id).await
            }
        }
    };
}
pub(crate) use delegate;

/// The builder methods of the options both stores have (`max_connections`, the backoffs and
/// `outbox_attempts` fields).
macro_rules! shared_options {
    ($options:ty) => {
        impl $options {
            /// With another pool size.
            #[must_use]
            pub fn max_connections(mut self, n: u32) -> Self {
                self.max_connections = n.max(1);
                self
            }

            /// With other backoffs.
            #[must_use]
            pub fn backoff(mut self, outbox: crate::Backoff, reconcile: crate::Backoff) -> Self {
                self.outbox_backoff = outbox;
                self.reconcile_backoff = reconcile;
                self
            }

            /// With another number of failed deliveries after which an effect is given up
            /// (at least 1).
            #[must_use]
            pub fn outbox_attempts(mut self, attempts: u32) -> Self {
                self.outbox_attempts = attempts.max(1);
                self
            }
        }
    };
}
pub(crate) use shared_options;

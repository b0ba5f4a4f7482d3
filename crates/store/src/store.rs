//! The [`PaymentStore`] trait: what the engine, the relay and the jobs ask of storage.

use std::fmt::Debug;

use async_trait::async_trait;
use jiff::SignedDuration;
use tpe_core::{BankReference, PaymentReference, ProviderId, Timestamp, VerifiedNotification};

use crate::error::StoreError;
use crate::types::{
    Applied, CheckoutDetail, CheckoutQuery, CheckoutRecord, EventInput, Failure, NewCheckout,
    OutboxEffect, Page, PaymentRecord, QuarantineEntry, QuarantineInput, QuarantineRecord,
    Rescheduled, WritesDone,
};

/// Storage of checkouts, bank transactions, payment records, the outbox, the quarantine and the
/// audit trail. Implemented by [`crate::SqliteStore`] and [`crate::PostgresStore`], which pass
/// the same conformance suite (`tests/common/suite.rs`); held as `Arc<dyn PaymentStore>`.
///
/// Time is always passed in. Every write is one database transaction.
#[async_trait]
pub trait PaymentStore: Send + Sync + Debug + 'static {
    /// Creates a checkout in `AwaitingPayment` (event 1). Call it before returning the bank
    /// redirect, so a fast notification always finds it.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::Invalid`] (zero amount, fields out of
    /// bounds), or a database error.
    async fn create_checkout(&self, new: NewCheckout) -> Result<CheckoutRecord, StoreError>;

    /// Applies an event to a checkout in one transaction: locks the checkout, runs
    /// [`tpe_core::lifecycle::apply`], writes the new state, the bank transaction row, the
    /// payment record, one outbox row per effect, the sibling checkouts it supersedes, the
    /// quarantine row and an audit row, then commits. A replay of a bank transaction already
    /// applied writes nothing and returns `duplicate: true`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Transition`] (nothing written),
    /// [`StoreError::ProviderMismatch`], [`StoreError::Invalid`], or a database error
    /// ([`StoreError::is_unavailable`]: answer 503 so the bank retries).
    async fn apply_event(
        &self,
        reference: &PaymentReference,
        input: EventInput,
        now: Timestamp,
    ) -> Result<Applied, StoreError>;

    /// Applies several events in ONE database transaction and one commit (group commit: one
    /// disk sync for the whole batch), each under its own savepoint so that one failing event
    /// rolls back alone and the others are still written. Returns one result per event, in
    /// the order given, each exactly what [`PaymentStore::apply_event`] would have returned;
    /// an answer may be given to the bank for an event only once this call returned it `Ok`
    /// (the commit is done). If the commit fails, every event of the batch fails alike.
    ///
    /// Events are applied in reference order (one lock order for every instance); a
    /// PostgreSQL deadlock or serialization failure of one event re-runs that event alone.
    async fn apply_events(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
    ) -> Vec<Result<Applied, StoreError>>;

    /// [`PaymentStore::apply_events`], telling `writes_done` once the batch is written and
    /// only its commit is left (also when it ends early, and at the latest when it returns).
    ///
    /// A group committer holds its queue until then: the next committer takes everything
    /// that arrived meanwhile and writes it while this batch's commit waits for the disk, so
    /// batches stay large and commits overlap. The default tells after the whole call.
    async fn apply_events_then_commit(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
        writes_done: WritesDone,
    ) -> Vec<Result<Applied, StoreError>> {
        let results = self.apply_events(batch, now).await;
        drop(writes_done);
        results
    }

    /// Applies authentic bank notifications as one group commit, each to the checkout its
    /// bank reference names: one result per notification, in the order given,
    /// [`StoreError::NotFound`] for a bank reference no checkout has. `writes_done` is told
    /// as by [`PaymentStore::apply_events_then_commit`].
    ///
    /// The stores of this crate find the checkouts inside the batch's transaction, on its
    /// connection. The default finds them first ([`PaymentStore::resolve_bank_references`];
    /// when that fails, each alone, or every notification gets the same outage) and then
    /// applies the batch.
    async fn apply_notifications(
        &self,
        batch: Vec<VerifiedNotification>,
        now: Timestamp,
        writes_done: WritesDone,
    ) -> Vec<Result<Applied, StoreError>> {
        resolve_then_apply(self, batch, now, writes_done).await
    }

    /// How many writers may usefully run at once: 2 for a SQLite file (one transaction writes
    /// while the one before is synced to disk), `committers` of the options for PostgreSQL
    /// (1 by default). A caller running group-commit workers starts this many.
    fn concurrent_writers(&self) -> usize {
        1
    }

    /// Sets aside an authentic notification that cannot be applied (unknown reference,
    /// provider mismatch, undecodable). The same one again raises its `seen_count`.
    ///
    /// # Errors
    /// A database error.
    async fn quarantine(
        &self,
        input: QuarantineInput,
        now: Timestamp,
    ) -> Result<QuarantineRecord, StoreError>;

    /// Quarantined notifications, most recent first.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineRecord>, StoreError>;

    /// The quarantine entry `id` with the notification's bytes when they were kept
    /// ([`QuarantineInput::with_raw`]), to replay it; `None` when there is no such entry.
    ///
    /// # Errors
    /// A database error, or [`StoreError::Corrupt`] for bytes that cannot be read back.
    async fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineEntry>, StoreError>;

    /// A page of checkouts, newest first, optionally in one state.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn list_checkouts(&self, query: CheckoutQuery) -> Result<Page, StoreError>;

    /// The checkout of `provider` the bank knows as `bank_reference`, if any: the unique
    /// mapping through which an authentic notification finds its checkout and never another's.
    ///
    /// # Errors
    /// A database error.
    async fn resolve_bank_reference(
        &self,
        provider: &ProviderId,
        bank_reference: &BankReference,
    ) -> Result<Option<PaymentReference>, StoreError>;

    /// [`PaymentStore::resolve_bank_reference`] for several notifications at once, in the
    /// order given: the group commit resolves its whole batch with one statement rather than
    /// a round trip per notification.
    ///
    /// # Errors
    /// A database error.
    async fn resolve_bank_references(
        &self,
        keys: &[(ProviderId, BankReference)],
    ) -> Result<Vec<Option<PaymentReference>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for (provider, bank_reference) in keys {
            out.push(
                self.resolve_bank_reference(provider, bank_reference)
                    .await?,
            );
        }
        Ok(out)
    }

    /// The next number of `provider`'s sequence for the UTC day `day`: 1 for the day's first
    /// call, then 2, 3… One atomic upsert, so engines sharing a database never receive the same
    /// number ([`tpe_core::NonceSource::DailySequence`]).
    ///
    /// # Errors
    /// A database error.
    async fn next_bank_sequence(
        &self,
        provider: &ProviderId,
        day: jiff::civil::Date,
    ) -> Result<u64, StoreError>;

    /// One checkout with its bank transactions, payment records, effects and audit trail.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or a database error.
    async fn checkout(&self, reference: &PaymentReference) -> Result<CheckoutDetail, StoreError>;

    /// Payment records with `from <= recorded_at < to`, oldest first.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn payment_records(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError>;

    /// Checkouts awaiting payment whose `retract_at <= now`, earliest first.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn due_for_retraction(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckoutRecord>, StoreError>;

    /// Claims checkouts awaiting payment whose `retract_at <= now` for the retraction sweep,
    /// earliest first: each is leased until `now + lease` (`retract_lease_until`), so another
    /// instance neither queries the bank for it nor retracts it meanwhile (PostgreSQL: `FOR
    /// UPDATE SKIP LOCKED`). An item left alone (bank unreachable: postponed) is simply
    /// claimable again once the lease has expired.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn claim_retraction(
        &self,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError>;

    /// Claims checkouts awaiting payment, created at least `min_age` before `now`, whose next
    /// reconciliation is due: their `next_reconcile_at` moves to `now + lease`, so another
    /// instance does not query the bank for them meanwhile (PostgreSQL: `FOR UPDATE SKIP
    /// LOCKED`). After the status query, call [`PaymentStore::reschedule_reconciliation`]
    /// unless the checkout became paid.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn claim_reconciliation(
        &self,
        now: Timestamp,
        min_age: SignedDuration,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError>;

    /// Counts one more reconciliation attempt and schedules the next with backoff; returns
    /// when it is due.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or a database error.
    async fn reschedule_reconciliation(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError>;

    /// Leases up to `limit` due, undelivered effects to `worker_id` until `now + lease`, oldest
    /// due first. Two workers never hold the same row (PostgreSQL `FOR UPDATE SKIP LOCKED`,
    /// SQLite one writer at a time); a lease that expires makes the row claimable again.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn claim_effects(
        &self,
        worker_id: &str,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<OutboxEffect>, StoreError>;

    /// Marks an effect delivered; `false` when it already was.
    ///
    /// # Errors
    /// [`StoreError::EffectNotFound`] or a database error.
    async fn mark_delivered(&self, effect_id: i64, now: Timestamp) -> Result<bool, StoreError>;

    /// Records a failed delivery and releases the lease. A [`Failure::Transient`] failure
    /// makes the effect due again after an exponential backoff, until the store's allowed
    /// attempts (`outbox_attempts` in its options) are spent; a [`Failure::Permanent`] one,
    /// or the last allowed attempt, gives it up: never claimed again, listed by
    /// [`PaymentStore::given_up_effects`], and an
    /// [`Alert::DeliveryGivenUp`](tpe_core::lifecycle::Alert::DeliveryGivenUp) for the manager
    /// written in the same transaction (except for such an alert itself, so nothing loops).
    ///
    /// # Errors
    /// [`StoreError::EffectNotFound`] or a database error.
    async fn reschedule(
        &self,
        effect_id: i64,
        now: Timestamp,
        error: &str,
        failure: Failure,
    ) -> Result<Rescheduled, StoreError>;

    /// Puts a given-up effect back in the outbox, due at `now` with a fresh count of attempts
    /// (the manager fixed the cause); `false` when it was not given up (delivered, or already
    /// retried).
    ///
    /// # Errors
    /// [`StoreError::EffectNotFound`] or a database error.
    async fn retry_given_up(&self, effect_id: i64, now: Timestamp) -> Result<bool, StoreError>;

    /// Effects given up and not retried since, most recently given up first.
    ///
    /// # Errors
    /// A database error, or a limit outside 1 to [`crate::MAX_LIMIT`].
    async fn given_up_effects(&self, limit: u32) -> Result<Vec<OutboxEffect>, StoreError>;

    /// Releases every lease held by `worker_id` on undelivered effects; returns how many.
    /// An instance that restarts under the same id (a stable id per data folder) calls it
    /// before claiming, so what its previous run held is delivered at once instead of after
    /// the lease.
    ///
    /// # Errors
    /// A database error.
    async fn release_claims(&self, worker_id: &str) -> Result<u64, StoreError>;

    /// Releases the lease of an undelivered effect and makes it due at `until`, without
    /// counting an attempt: an effect that waits on purpose (a refusal e-mail held back in
    /// case the next try succeeds). Nothing happens to a delivered effect.
    ///
    /// # Errors
    /// [`StoreError::EffectNotFound`] or a database error.
    async fn postpone(&self, effect_id: i64, until: Timestamp) -> Result<(), StoreError>;
}

/// The default of [`PaymentStore::apply_notifications`], in two steps: the batch's checkouts
/// found first ([`PaymentStore::resolve_bank_references`]; when that fails, each alone, or
/// every notification gets the same outage), then the events of those found applied
/// together ([`PaymentStore::apply_events_then_commit`]). A store that overrides
/// `apply_notifications` can fall back on it.
///
/// # Errors
/// None of its own: one result per notification, in order, [`StoreError::NotFound`] for a
/// bank reference no checkout has.
pub async fn resolve_then_apply<S: PaymentStore + ?Sized>(
    store: &S,
    batch: Vec<VerifiedNotification>,
    now: Timestamp,
    writes_done: WritesDone,
) -> Vec<Result<Applied, StoreError>> {
    let keys: Vec<_> = batch
        .iter()
        .map(|n| (n.provider.clone(), n.bank_reference.clone()))
        .collect();
    let found: Vec<Result<Option<PaymentReference>, StoreError>> =
        match store.resolve_bank_references(&keys).await {
            Ok(found) => found.into_iter().map(Ok).collect(),
            // A store that cannot be reached answers every notification alike, without being
            // asked once more for each (each asking would wait its own connection timeout).
            Err(StoreError::Unavailable { op, source }) => {
                let reason = source.to_string();
                keys.iter()
                    .map(|_| {
                        Err(StoreError::Unavailable {
                            op,
                            source: reason.clone().into(),
                        })
                    })
                    .collect()
            }
            // Any other error may be one key's: each gets its own, looked up alone.
            Err(_) => {
                let mut found = Vec::with_capacity(keys.len());
                for (provider, bank_reference) in &keys {
                    found.push(store.resolve_bank_reference(provider, bank_reference).await);
                }
                found
            }
        };
    let (sorted, events) = Sorted::new(batch, found);
    let applied = if events.is_empty() {
        Vec::new()
    } else {
        store
            .apply_events_then_commit(events, now, writes_done)
            .await
    };
    sorted.finish(applied)
}

/// A batch of notifications sorted out by what the lookup of their bank references gave: the
/// answers of those not found, and where the events of the others stand in the batch.
pub(crate) struct Sorted {
    /// The answers known already (`None`: the notification's event is to be applied).
    results: Vec<Option<Result<Applied, StoreError>>>,
    /// Where each event's notification stands in the batch.
    at: Vec<usize>,
}

impl Sorted {
    /// `found` holds, for each notification of `batch` in order, its checkout, `None`
    /// ([`StoreError::NotFound`]) or the error that kept it from being looked up. Returns the
    /// events of the notifications whose checkout was found, in the batch's order, to be
    /// applied together and their results given to [`Sorted::finish`].
    pub(crate) fn new(
        batch: Vec<VerifiedNotification>,
        found: impl IntoIterator<Item = Result<Option<PaymentReference>, StoreError>>,
    ) -> (Self, Vec<(PaymentReference, EventInput)>) {
        let mut sorted = Self {
            results: Vec::with_capacity(batch.len()),
            at: Vec::with_capacity(batch.len()),
        };
        let mut events = Vec::with_capacity(batch.len());
        for (i, (notification, found)) in batch.into_iter().zip(found).enumerate() {
            match found {
                Ok(Some(reference)) => {
                    sorted.results.push(None);
                    sorted.at.push(i);
                    events.push((reference, EventInput::Notification(notification)));
                }
                Ok(None) => sorted.results.push(Some(Err(StoreError::NotFound {
                    reference: notification.bank_reference.to_string(),
                }))),
                Err(e) => sorted.results.push(Some(Err(e))),
            }
        }
        (sorted, events)
    }

    /// One result per notification, in the batch's order, given the results of the events
    /// (`applied`, in the order [`Sorted::new`] returned them).
    pub(crate) fn finish(
        mut self,
        applied: Vec<Result<Applied, StoreError>>,
    ) -> Vec<Result<Applied, StoreError>> {
        for (i, result) in self.at.into_iter().zip(applied) {
            self.results[i] = Some(result);
        }
        self.results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(StoreError::corrupt("notification left without a result")))
            })
            .collect()
    }
}

//! Work shared by the engine's jobs across instances: the outbox (claims, deliveries,
//! retries), the retraction and reconciliation claims, and the quarantine.

use jiff::SignedDuration;
use sqlx::query::QueryAs;
use tpe_core::lifecycle::{Alert, Effect};
use tpe_core::{PaymentReference, ProviderId, Timestamp};

use super::apply::Conn;
use super::rows::{CheckoutRow, OutboxRow, ReferenceRow, records};
use super::{Core, Fail, check_limit, clip, plus};
use crate::db::{Backend, Db, Dialect};
use crate::error::StoreError;
use crate::types::{
    CheckoutRecord, Failure, MAX_NOTE, OutboxEffect, QuarantineInput, QuarantineRecord,
    Rescheduled, bounded,
};

/// When a delivered effect was delivered.
#[derive(Debug, sqlx::FromRow)]
struct DeliveredRow {
    delivered_at: Option<i64>,
}

/// What giving an effect up needs to know of it.
#[derive(Debug, sqlx::FromRow)]
struct FailedRow {
    reference: String,
    kind: String,
    payload: String,
    attempts: i64,
    delivered_at: Option<i64>,
}

/// A checkout's reconciliation attempts.
#[derive(Debug, sqlx::FromRow)]
struct ReconcileRow {
    reconcile_attempts: i64,
}

/// The number a daily bank sequence just handed out.
#[derive(Debug, sqlx::FromRow)]
struct SequenceRow {
    issued: i64,
}

crate::db::sqlx_impl! {
impl<DB: Db, B: Backend<Db = DB>> Core<B> {
    /// A write transaction.
    async fn write_tx(&self, op: &'static str) -> Result<B::Tx, StoreError> {
        self.backend
            .begin(true)
            .await
            .map_err(|e| StoreError::from_db(op, e))
    }

    pub(crate) async fn next_bank_sequence(
        &self,
        provider: &ProviderId,
        day: jiff::civil::Date,
    ) -> Result<u64, StoreError> {
        let op = "next bank sequence";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        // One statement: the row lock of the upsert orders concurrent callers.
        let row = sqlx::query_as::<DB, SequenceRow>(
            "INSERT INTO bank_sequences (provider, day, issued) VALUES ($1, $2, 1) \
             ON CONFLICT (provider, day) DO UPDATE SET issued = bank_sequences.issued + 1 \
             RETURNING issued",
        )
        .bind(provider.as_str())
        .bind(day.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        B::commit(tx).await.map_err(db)?;
        u64::try_from(row.issued).map_err(|_| StoreError::Corrupt {
            what: format!("bank sequence {provider} {day}: {}", row.issued),
        })
    }

    pub(crate) async fn quarantine(
        &self,
        input: QuarantineInput,
        now: Timestamp,
    ) -> Result<QuarantineRecord, StoreError> {
        let op = "quarantine";
        let mut tx = self.write_tx(op).await?;
        let record = Conn::<DB>(&mut tx)
            .insert_quarantine(&input, now)
            .await
            .map_err(Fail::into_store)?;
        B::commit(tx)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        Ok(record)
    }

    pub(crate) async fn claim_retraction(
        &self,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let limit = check_limit(limit)?;
        let sql = match DB::DIALECT {
            Dialect::Sqlite => {
                "UPDATE checkouts SET retract_lease_until = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND retract_at <= $2 AND (retract_lease_until IS NULL OR retract_lease_until <= $2) \
                 ORDER BY retract_at, reference LIMIT $3) RETURNING *"
            }
            Dialect::Postgres => {
                "UPDATE checkouts SET retract_lease_until = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND retract_at <= $2 AND (retract_lease_until IS NULL OR retract_lease_until <= $2) \
                 ORDER BY retract_at, reference LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
        };
        let query = sqlx::query_as::<DB, CheckoutRow>(sql)
            .bind(plus(now, lease).as_millisecond())
            .bind(now.as_millisecond())
            .bind(limit);
        let mut out = self.claim_checkouts("claim retraction", query).await?;
        out.sort_by(|a, b| (a.retract_at, &a.reference).cmp(&(b.retract_at, &b.reference)));
        Ok(out)
    }

    pub(crate) async fn claim_reconciliation(
        &self,
        now: Timestamp,
        min_age: SignedDuration,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let limit = check_limit(limit)?;
        let created_before = now.checked_sub(min_age).unwrap_or(Timestamp::MIN);
        let sql = match DB::DIALECT {
            Dialect::Sqlite => {
                "UPDATE checkouts SET next_reconcile_at = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND created_at <= $2 AND (next_reconcile_at IS NULL OR next_reconcile_at <= $3) \
                 ORDER BY COALESCE(next_reconcile_at, created_at), reference LIMIT $4) \
                 RETURNING *"
            }
            Dialect::Postgres => {
                "UPDATE checkouts SET next_reconcile_at = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND created_at <= $2 AND (next_reconcile_at IS NULL OR next_reconcile_at <= $3) \
                 ORDER BY COALESCE(next_reconcile_at, created_at), reference LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
        };
        let query = sqlx::query_as::<DB, CheckoutRow>(sql)
            .bind(plus(now, lease).as_millisecond())
            .bind(created_before.as_millisecond())
            .bind(now.as_millisecond())
            .bind(limit);
        let mut out = self.claim_checkouts("claim reconciliation", query).await?;
        out.sort_by(|a, b| (a.created_at, &a.reference).cmp(&(b.created_at, &b.reference)));
        Ok(out)
    }

    /// Runs a leasing `UPDATE … RETURNING *` of checkouts in its own write transaction.
    async fn claim_checkouts(
        &self,
        op: &'static str,
        query: QueryAs<'_, DB, CheckoutRow, DB::Arguments>,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let mut tx = self.write_tx(op).await?;
        let rows = query
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        let out = records(rows)?;
        B::commit(tx)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        Ok(out)
    }

    pub(crate) async fn reschedule_reconciliation(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        let op = "reschedule reconciliation";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        let attempts = sqlx::query_as::<DB, ReconcileRow>(
            "SELECT reconcile_attempts FROM checkouts WHERE reference = $1",
        )
        .bind(reference.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| StoreError::NotFound {
            reference: reference.to_string(),
        })?
        .reconcile_attempts
        .saturating_add(1);
        let salt = reference.as_str().bytes().map(i64::from).sum::<i64>();
        let next = plus(
            now,
            self.reconcile_backoff
                .delay(u32::try_from(attempts).unwrap_or(u32::MAX), salt),
        );
        sqlx::query::<DB>(
            "UPDATE checkouts SET reconcile_attempts = $2, next_reconcile_at = $3 \
             WHERE reference = $1",
        )
        .bind(reference.as_str())
        .bind(attempts)
        .bind(next.as_millisecond())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        B::commit(tx).await.map_err(db)?;
        Ok(next)
    }

    pub(crate) async fn claim_effects(
        &self,
        worker_id: &str,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<OutboxEffect>, StoreError> {
        let limit = check_limit(limit)?;
        bounded("worker_id", worker_id, 1, 128)?;
        let op = "claim effects";
        let sql = match DB::DIALECT {
            Dialect::Sqlite => {
                "UPDATE outbox SET leased_by = $1, lease_until = $2 WHERE id IN (\
                 SELECT id FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL \
                 AND due_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
                 ORDER BY due_at, id LIMIT $4) RETURNING *"
            }
            Dialect::Postgres => {
                "UPDATE outbox SET leased_by = $1, lease_until = $2 WHERE id IN (\
                 SELECT id FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL \
                 AND due_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
                 ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
        };
        let mut tx = self.write_tx(op).await?;
        let rows = sqlx::query_as::<DB, OutboxRow>(sql)
            .bind(worker_id)
            .bind(plus(now, lease).as_millisecond())
            .bind(now.as_millisecond())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        let mut out: Vec<OutboxEffect> = records(rows)?;
        B::commit(tx)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        out.sort_by_key(|e| (e.due_at, e.id));
        Ok(out)
    }

    pub(crate) async fn release_claims(&self, worker_id: &str) -> Result<u64, StoreError> {
        bounded("worker_id", worker_id, 1, 128)?;
        let op = "release claims";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        let done = sqlx::query::<DB>(
            "UPDATE outbox SET leased_by = NULL, lease_until = NULL \
             WHERE leased_by = $1 AND delivered_at IS NULL",
        )
        .bind(worker_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let released = DB::rows_affected(&done);
        B::commit(tx).await.map_err(db)?;
        Ok(released)
    }

    pub(crate) async fn mark_delivered(
        &self,
        effect_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let op = "mark effect delivered";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        let done = sqlx::query::<DB>(
            "UPDATE outbox SET delivered_at = $2, leased_by = NULL, lease_until = NULL \
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(effect_id)
        .bind(now.as_millisecond())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let marked = DB::rows_affected(&done) > 0;
        if !marked {
            Self::effect_exists(&mut tx, effect_id, op).await?;
        }
        B::commit(tx).await.map_err(db)?;
        Ok(marked)
    }

    pub(crate) async fn reschedule(
        &self,
        effect_id: i64,
        now: Timestamp,
        error: &str,
        failure: Failure,
    ) -> Result<Rescheduled, StoreError> {
        let op = "reschedule effect";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        let row = sqlx::query_as::<DB, FailedRow>(
            "SELECT reference, kind, payload, attempts, delivered_at FROM outbox WHERE id = $1",
        )
        .bind(effect_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::EffectNotFound { id: effect_id })?;
        if row.delivered_at.is_some() {
            return Ok(Rescheduled::AlreadyDelivered);
        }
        let attempts = row.attempts.saturating_add(1);
        let counted = u32::try_from(attempts).unwrap_or(u32::MAX);
        let error = clip(error, MAX_NOTE);
        if failure == Failure::Permanent || counted >= self.outbox_attempts {
            sqlx::query::<DB>(
                "UPDATE outbox SET attempts = $2, given_up_at = $3, last_error = $4, \
                 leased_by = NULL, lease_until = NULL WHERE id = $1",
            )
            .bind(effect_id)
            .bind(attempts)
            .bind(now.as_millisecond())
            .bind(&error)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let effect: Effect = serde_json::from_str(&row.payload)
                .map_err(|e| StoreError::corrupt(format!("outbox row {effect_id} payload: {e}")))?;
            // The manager hears of it once per give-up; an alert that cannot be delivered
            // does not raise another one, so this never loops.
            if !matches!(effect, Effect::AlertManager(Alert::DeliveryGivenUp { .. })) {
                let alert = Effect::AlertManager(Alert::DeliveryGivenUp {
                    effect_id,
                    kind: row.kind,
                    attempts: counted,
                    error,
                    at: now,
                });
                let payload = serde_json::to_string(&alert)
                    .map_err(|e| StoreError::corrupt(format!("alert to write: {e}")))?;
                sqlx::query::<DB>(
                    "INSERT INTO outbox (reference, effect_key, kind, payload, created_at, due_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (reference, effect_key) DO NOTHING",
                )
                .bind(&row.reference)
                .bind(alert.key())
                .bind(alert.kind())
                .bind(payload)
                .bind(now.as_millisecond())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            B::commit(tx).await.map_err(db)?;
            return Ok(Rescheduled::GivenUp { attempts: counted });
        }
        let due = plus(now, self.outbox_backoff.delay(counted, effect_id));
        sqlx::query::<DB>(
            "UPDATE outbox SET attempts = $2, due_at = $3, last_error = $4, leased_by = NULL, \
             lease_until = NULL WHERE id = $1",
        )
        .bind(effect_id)
        .bind(attempts)
        .bind(due.as_millisecond())
        .bind(error)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        B::commit(tx).await.map_err(db)?;
        Ok(Rescheduled::Retry(due))
    }

    pub(crate) async fn retry_given_up(
        &self,
        effect_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let op = "retry given-up effect";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        let done = sqlx::query::<DB>(
            "UPDATE outbox SET given_up_at = NULL, attempts = 0, due_at = $2, leased_by = NULL, \
             lease_until = NULL WHERE id = $1 AND given_up_at IS NOT NULL AND delivered_at IS NULL",
        )
        .bind(effect_id)
        .bind(now.as_millisecond())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let retried = DB::rows_affected(&done) > 0;
        if !retried {
            Self::effect_exists(&mut tx, effect_id, op).await?;
        }
        B::commit(tx).await.map_err(db)?;
        Ok(retried)
    }

    /// [`StoreError::EffectNotFound`] unless outbox row `effect_id` exists (an update that
    /// touched nothing: unknown row, or one already in the wanted state).
    async fn effect_exists(
        tx: &mut B::Tx,
        effect_id: i64,
        op: &'static str,
    ) -> Result<(), StoreError> {
        let exists =
            sqlx::query_as::<DB, ReferenceRow>("SELECT reference FROM outbox WHERE id = $1")
                .bind(effect_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(|e| StoreError::from_db(op, e))?;
        match exists {
            Some(_) => Ok(()),
            None => Err(StoreError::EffectNotFound { id: effect_id }),
        }
    }

    pub(crate) async fn postpone(
        &self,
        effect_id: i64,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        let op = "postpone effect";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.write_tx(op).await?;
        let found =
            sqlx::query_as::<DB, DeliveredRow>("SELECT delivered_at FROM outbox WHERE id = $1")
                .bind(effect_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .ok_or(StoreError::EffectNotFound { id: effect_id })?;
        if found.delivered_at.is_none() {
            sqlx::query::<DB>(
                "UPDATE outbox SET due_at = $2, leased_by = NULL, lease_until = NULL WHERE id = $1",
            )
            .bind(effect_id)
            .bind(until.as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        B::commit(tx).await.map_err(db)?;
        Ok(())
    }
}
}

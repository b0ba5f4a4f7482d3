//! The group commit's fast path: a whole batch in a handful of set-based statements, the same
//! number whatever the batch's size.
//!
//! What the batch reads must not change under it. On SQLite its transaction holds the
//! database's only write lock (`BEGIN IMMEDIATE`); on PostgreSQL one statement first locks the
//! batch's checkouts (`FOR UPDATE`, in reference order, the lock order of every writer), and
//! the read that follows is a new statement, so under READ COMMITTED it sees everything
//! committed before the locks were granted. Then the checkouts and their seen bank
//! transactions and effect keys are read in ONE query, every event is planned in memory in the batch's order
//! (each sees the ones before it, exactly as one savepoint after another would), and the plans
//! go out through the same executor as a single event's, [`Conn::write`], in ONE call.
//!
//! Each event keeps the result the per-event path would give it: a refused transition or a
//! provider mismatch writes nothing and fails alone, a replay writes nothing. Only checkouts
//! without a shop order take this path (no order-level lock, no `order_paid_by`, no siblings
//! to supersede); the others, and unknown references, go through the per-event path. Any
//! database error, or a write that does not touch exactly the rows planned, makes the caller
//! roll the transaction back and apply the batch event by event in a new one: the per-event
//! path then decides, with its savepoint isolation.

use std::collections::{HashMap, HashSet};

use tpe_core::{PaymentReference, Timestamp};

use super::apply::Conn;
use super::plan::{Loaded, Plan, Step, plan};
use super::rows::{CheckoutRow, ReferenceRow, outcome_kind};
use super::{Fail, Op};
use crate::db::{Db, Dialect};
use crate::error::StoreError;
use crate::types::{Applied, CheckoutRecord, EventInput};

/// The batch's checkouts, each with its effect keys (a JSON array), once per seen bank
/// transaction; `$1` is the references ([`Db::texts`]).
const LOAD_SQLITE: &str = "SELECT c.*, (SELECT json_group_array(o.effect_key) FROM outbox AS o \
     WHERE o.reference = c.reference) AS effect_keys, b.bank_transaction_id, b.outcome \
     FROM (SELECT * FROM checkouts WHERE reference IN (SELECT value FROM json_each($1))) AS c \
     LEFT JOIN bank_transactions AS b ON b.reference = c.reference";

/// [`LOAD_SQLITE`] in PostgreSQL's words. The bank transactions come from a `LATERAL`
/// subquery kept apart from the join (`OFFSET 0`), so each is an index lookup by reference
/// whatever the table statistics say; a plain join was planned as a scan of the whole table
/// while the statistics were stale (2 ms at 15,000 rows, against 0.15 ms).
pub(super) const LOAD_POSTGRES: &str = "SELECT c.*, (SELECT COALESCE(json_agg(o.effect_key), '[]'::json)::text \
     FROM outbox AS o WHERE o.reference = c.reference) AS effect_keys, b.bank_transaction_id, \
     b.outcome FROM checkouts AS c LEFT JOIN LATERAL (SELECT t.bank_transaction_id, t.outcome \
     FROM bank_transactions AS t WHERE t.reference = c.reference OFFSET 0) AS b ON true \
     WHERE c.reference = ANY($1::text[])";

/// PostgreSQL: locks the batch's checkouts that belong to no order, in reference order (those
/// of an order take the per-event path, which locks the whole order in its own order). The
/// references go through `= ANY($1)`, which the planner looks up in the primary key;
/// `IN (SELECT jsonb_array_elements_text(…))` made it scan the whole table (3 ms at 20,000
/// checkouts, against 0.15 ms).
pub(super) const LOCK_POSTGRES: &str = "SELECT reference FROM checkouts \
     WHERE reference = ANY($1::text[]) \
     AND shop_order_id IS NULL ORDER BY reference FOR UPDATE";

/// A row of [`LOAD`].
#[derive(Debug, sqlx::FromRow)]
struct LoadRow {
    #[sqlx(flatten)]
    checkout: CheckoutRow,
    effect_keys: String,
    bank_transaction_id: Option<String>,
    outcome: Option<String>,
}

/// What the fast path decided: final results (to be confirmed by the commit when `Ok`) and
/// the events left to the per-event path.
#[derive(Debug)]
pub(crate) struct FastBatch {
    pub(crate) done: Vec<(usize, Result<Applied, StoreError>)>,
    pub(crate) slow: Vec<usize>,
}

crate::db::sqlx_impl! {
impl<DB: Db> Conn<'_, DB> {
    /// Applies `todo` (indices into `batch`, in lock order) inside the open write
    /// transaction. See the module documentation.
    pub(crate) async fn apply_batch(
        &mut self,
        batch: &[(PaymentReference, EventInput)],
        todo: &[usize],
        now: Timestamp,
    ) -> Result<FastBatch, Fail> {
        let mut references: Vec<&str> = todo.iter().map(|&i| batch[i].0.as_str()).collect();
        references.dedup(); // `todo` is sorted by reference
        let references = DB::texts(&references)?;
        let load = match DB::DIALECT {
            Dialect::Sqlite => LOAD_SQLITE,
            Dialect::Postgres => {
                sqlx::query_as::<DB, ReferenceRow>(LOCK_POSTGRES)
                    .bind(&references)
                    .fetch_all(&mut *self.0)
                    .await
                    .op("lock checkouts")?;
                LOAD_POSTGRES
            }
        };
        let rows = sqlx::query_as::<DB, LoadRow>(load)
            .bind(references)
            .fetch_all(&mut *self.0)
            .await
            .op("read checkouts")?;
        let mut working: HashMap<String, Loaded> = HashMap::with_capacity(todo.len());
        for row in rows {
            let seen = match (row.bank_transaction_id, row.outcome) {
                (Some(id), Some(outcome)) => Some((id, outcome_kind(&outcome)?)),
                _ => None,
            };
            let loaded = match working.get_mut(&row.checkout.reference) {
                Some(loaded) => loaded,
                None => {
                    let key = row.checkout.reference.clone();
                    let effect_keys: HashSet<String> =
                        serde_json::from_str(&row.effect_keys).map_err(|e| {
                            StoreError::corrupt(format!("effect keys {:?}: {e}", row.effect_keys))
                        })?;
                    let record = CheckoutRecord::try_from(row.checkout)?;
                    working
                        .entry(key)
                        .or_insert(Loaded::new(record, [], effect_keys))
                }
            };
            if let Some(seen) = seen {
                loaded.state.seen.insert(seen);
            }
        }

        let mut out = FastBatch {
            done: Vec::with_capacity(todo.len()),
            slow: Vec::new(),
        };
        let mut plans: Vec<(usize, Plan)> = Vec::with_capacity(todo.len());
        for &i in todo {
            let (reference, input) = &batch[i];
            let Some(loaded) = working
                .get_mut(reference.as_str())
                .filter(|l| l.record.shop_order_id.is_none())
            else {
                out.slow.push(i); // unknown, or part of an order: the per-event path
                continue;
            };
            match plan(loaded, input, None, now) {
                Ok(Step::Write(plan)) => plans.push((i, plan)),
                Ok(Step::Done(applied)) => out.done.push((i, Ok(applied))),
                Err(e) => out.done.push((i, Err(e))),
            }
        }
        if plans.is_empty() {
            return Ok(out); // replays, refusals, browser returns: nothing to write
        }
        let refs: Vec<&Plan> = plans.iter().map(|(_, p)| p).collect();
        // No shop order on this path: nothing is superseded.
        self.write(&refs, now).await?;
        out.done
            .extend(plans.into_iter().map(|(i, plan)| (i, Ok(plan.applied))));
        Ok(out)
    }
}
}

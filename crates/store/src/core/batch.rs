//! The SQLite group commit's fast path: a whole batch in a handful of set-based statements.
//!
//! On SQLite the batch's transaction holds the database's only write lock (`BEGIN IMMEDIATE`),
//! so what it reads cannot change under it: the checkouts and their seen bank transactions are
//! read in ONE query, every event's pure lifecycle step runs in memory in the batch's order
//! (each event sees the ones before it, exactly as one savepoint after another would), and
//! the writes go out in ONE call: one statement per table, the rows of each passed as one JSON
//! array (`json_each`), so the text is fixed and stays in the prepared statement cache. Which
//! rows each statement inserts is known beforehand (the seen bank transactions and the
//! existing effect keys are read with the checkouts); a count of rows written that differs
//! from the expectation declines the fast path.
//!
//! Each event keeps the result [`super::apply_in`] would give it: a refused transition or a
//! provider mismatch writes nothing and fails alone, a replay writes nothing. Only checkouts
//! without a shop order take this path (no order-level lock, no `order_paid_by`, no siblings
//! to supersede); the others, and unknown references, go through the per-event path. Any
//! database error, or a write that does not touch exactly the rows expected, makes the caller
//! roll the transaction back and apply the batch event by event in a new one: the per-event
//! path then decides, with its savepoint isolation.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;
use tpe_core::lifecycle::apply;
use tpe_core::{CheckoutState, Effect, PaymentReference, Timestamp};

use super::{
    Fail, Op, applied_in_store, audit_parts, bank_row_notification, bank_row_reconciled,
    checkout_from, event_for, insert_quarantine, minor, outcome_kind, source_cols, state_of,
    summarize,
};
use crate::error::StoreError;
use crate::sql::{Kind, Row, Tx, Val};
use crate::types::{Applied, CheckoutRecord, EventInput, QuarantineInput};

use Kind::{Int as I, Text as T};

/// The checkout columns, its effect keys (a JSON array), then one seen bank transaction
/// (id, outcome) per row.
const LOAD_KINDS: &[Kind] = &[
    T, T, I, T, T, T, I, T, T, T, T, T, T, T, I, T, I, I, I, I, I, T, T, I, I, T, T, T,
];

const LOAD: &str = concat!(
    "SELECT c.*, (SELECT json_group_array(o.effect_key) FROM outbox AS o \
     WHERE o.reference = c.reference), b.bank_transaction_id, b.outcome FROM (SELECT ",
    checkout_cols!(),
    " FROM checkouts WHERE reference IN (SELECT value FROM json_each($1))) AS c \
     LEFT JOIN bank_transactions AS b ON b.reference = c.reference"
);

/// Every write of a batch, one statement per table (`$1` bank transactions, `$2` checkout
/// updates, `$3` outbox effects, `$4` payment records, `$5` audit rows). None can write
/// more rows than it is given (the updates name distinct checkouts), so the total of rows
/// written equals the rows given only if every statement wrote all of its own.
const WRITE: &str = "INSERT INTO bank_transactions (provider, reference, \
     bank_transaction_id, outcome, amount_minor, currency, source, reason_kind, reason_code, \
     authorization_code, card, event_id, received_at) \
     SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, \
     j.value ->> 5, j.value ->> 6, j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, \
     j.value ->> 11, j.value ->> 12 FROM json_each($1) AS j WHERE true \
     ON CONFLICT (provider, reference, bank_transaction_id, outcome) DO NOTHING; \
     UPDATE checkouts SET status = j.value ->> 1, \
     amount_mismatch = j.value ->> 2, superseded_by = j.value ->> 3, validated_by = j.value ->> 4, \
     validated_author = j.value ->> 5, validated_note = j.value ->> 6, updated_at = j.value ->> 7, \
     version = version + (j.value ->> 8) FROM json_each($2) AS j \
     WHERE checkouts.reference = j.value ->> 0; \
     INSERT INTO outbox (reference, effect_key, kind, payload, created_at, due_at, delivered_at) \
     SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, \
     j.value ->> 4, j.value ->> 5 FROM json_each($3) AS j WHERE true \
     ON CONFLICT (reference, effect_key) DO NOTHING; \
     INSERT INTO payment_records (reference, record_key, amount_minor, currency, \
     bank_transaction_id, source, author, note, recorded_at) \
     SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, \
     j.value ->> 5, j.value ->> 6, j.value ->> 7, j.value ->> 8 FROM json_each($4) AS j \
    ; \
     INSERT INTO audit (reference, event, author, detail, status_before, status_after, at) \
     SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, \
     j.value ->> 5, j.value ->> 6 FROM json_each($5) AS j";

/// What the fast path decided: final results (to be confirmed by the commit when `Ok`) and
/// the events left to the per-event path.
pub(crate) struct FastBatch {
    pub(crate) done: Vec<(usize, Result<Applied, StoreError>)>,
    pub(crate) slow: Vec<usize>,
}

/// A checkout as the batch leaves it so far.
struct Working {
    record: CheckoutRecord,
    state: CheckoutState,
    /// Transitions written (each bumps `version`).
    writes: i64,
    /// Its effect keys in the outbox, with those this batch adds.
    effects: HashSet<String>,
}

fn json(v: Val) -> Value {
    match v {
        Val::Int(Some(i)) => Value::from(i),
        Val::Text(Some(s)) => Value::from(s),
        Val::Int(None) | Val::Text(None) => Value::Null,
    }
}

fn array(rows: Vec<Vec<Val>>) -> Val {
    Val::Text(Some(
        Value::Array(
            rows.into_iter()
                .map(|r| Value::Array(r.into_iter().map(json).collect()))
                .collect(),
        )
        .to_string(),
    ))
}

/// A write that did not touch the rows the in-memory step expected: let the per-event path
/// decide.
fn mismatch(expected: usize, got: u64) -> Fail {
    Fail::Store(StoreError::corrupt(format!(
        "batch write: {got} rows instead of {expected}"
    )))
}

/// Applies `todo` (indices into `batch`, in lock order) inside the open SQLite write
/// transaction. See the module documentation.
pub(crate) async fn apply_batch(
    tx: &mut dyn Tx,
    batch: &[(PaymentReference, EventInput)],
    todo: &[usize],
    now: Timestamp,
) -> Result<FastBatch, Fail> {
    let mut references: Vec<&str> = todo.iter().map(|&i| batch[i].0.as_str()).collect();
    references.dedup(); // `todo` is sorted by reference
    let refs = Value::from(references).to_string();
    let mut working: HashMap<String, Working> = HashMap::with_capacity(todo.len());
    for row in tx
        .rows(LOAD, vec![refs.into()], LOAD_KINDS)
        .await
        .op("read checkouts")?
    {
        let seen = match (row.opt_text(26)?, row.opt_text(27)?) {
            (Some(id), Some(outcome)) => Some((id, outcome_kind(&outcome)?)),
            _ => None,
        };
        let key = row.text(0)?;
        let w = match working.get_mut(&key) {
            Some(w) => w,
            None => {
                let record = checkout_from(&Row(row.0[..25].to_vec()))?;
                let state = state_of(&record, BTreeSet::new());
                let keys = row.text(25)?;
                let effects = serde_json::from_str(&keys)
                    .map_err(|e| StoreError::corrupt(format!("effect keys {keys:?}: {e}")))?;
                working.entry(key).or_insert(Working {
                    record,
                    state,
                    writes: 0,
                    effects,
                })
            }
        };
        if let Some(seen) = seen {
            w.state.seen.insert(seen);
        }
    }

    let mut out = FastBatch {
        done: Vec::with_capacity(todo.len()),
        slow: Vec::new(),
    };
    let (mut bank, mut outbox, mut payments, mut audit) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut quarantine = Vec::new();
    for &i in todo {
        let (reference, input) = &batch[i];
        let Some(w) = working
            .get_mut(reference.as_str())
            .filter(|w| w.record.shop_order_id.is_none())
        else {
            out.slow.push(i); // unknown, or part of an order: the per-event path
            continue;
        };
        if let EventInput::Notification(n) = input
            && n.provider != w.record.provider
        {
            out.done.push((
                i,
                Err(StoreError::ProviderMismatch {
                    reference: reference.clone(),
                    expected: w.record.provider.clone(),
                    received: n.provider.clone(),
                }),
            ));
            continue;
        }
        let event = event_for(input, now, None);
        let transition = match apply(&w.state, &event) {
            Ok(t) => t,
            Err(e) => {
                out.done.push((i, Err(StoreError::from(e))));
                continue;
            }
        };
        let unchanged = Applied {
            reference: reference.clone(),
            duplicate: true,
            previous: w.state.status,
            status: w.state.status,
            effects: Vec::new(),
            superseded: Vec::new(),
        };
        if transition.duplicate {
            out.done.push((i, Ok(unchanged)));
            continue;
        }
        if matches!(input, EventInput::BrowserReturn) {
            out.done.push((
                i,
                Ok(Applied {
                    duplicate: false,
                    ..unchanged
                }),
            ));
            continue;
        }
        let txn_row = match input {
            EventInput::Notification(n) => Some(bank_row_notification(n)),
            EventInput::ReconciledPaid {
                bank_transaction_id,
                amount,
            } => Some(bank_row_reconciled(
                &w.record.provider,
                reference,
                bank_transaction_id,
                *amount,
            )),
            _ => None,
        };
        if let Some(mut row) = txn_row {
            row.push(now.into());
            bank.push(row);
        }
        let previous = w.state.status;
        w.state = transition.state;
        w.writes += 1;
        let mut effects = Vec::new();
        for effect in transition.effects {
            // An effect that already exists for this checkout is skipped, as its
            // `ON CONFLICT DO NOTHING` insert would.
            if !w.effects.insert(effect.key()) {
                continue;
            }
            let payload = serde_json::to_string(&effect)
                .map_err(|e| StoreError::corrupt(format!("effect cannot be serialized: {e}")))?;
            let delivered = applied_in_store(&effect).then_some(now.as_millisecond());
            outbox.push(vec![
                reference.as_str().into(),
                effect.key().into(),
                effect.kind().into(),
                payload.into(),
                now.into(),
                delivered.into(),
            ]);
            match &effect {
                Effect::RecordPayment {
                    amount,
                    bank_transaction_id,
                    source,
                } => {
                    let (by, author, note) = source_cols(Some(source));
                    payments.push(vec![
                        reference.as_str().into(),
                        effect.key().into(),
                        minor(*amount).into(),
                        amount.currency().alpha().into(),
                        bank_transaction_id.clone().into(),
                        by.into(),
                        author.into(),
                        note.into(),
                        now.into(),
                    ]);
                }
                Effect::Quarantine {
                    bank_transaction_id,
                    why,
                } => {
                    let summary = match input {
                        EventInput::Notification(n) => summarize(n),
                        _ => event.name().to_owned(),
                    };
                    quarantine.push(QuarantineInput::new(
                        w.record.provider.clone(),
                        reference.as_str(),
                        Some(bank_transaction_id.clone()),
                        summary,
                        why.clone(),
                    ));
                }
                // No shop order on this path: no sibling to supersede.
                _ => {}
            }
            effects.push(effect);
        }
        let (author, detail) = audit_parts(input);
        audit.push(vec![
            reference.as_str().into(),
            event.name().into(),
            author.into(),
            detail.into(),
            previous.as_str().into(),
            w.state.status.as_str().into(),
            now.into(),
        ]);
        out.done.push((
            i,
            Ok(Applied {
                reference: reference.clone(),
                duplicate: false,
                previous,
                status: w.state.status,
                effects,
                superseded: Vec::new(),
            }),
        ));
    }

    let updates: Vec<Vec<Val>> = working
        .values()
        .filter(|w| w.writes > 0)
        .map(|w| {
            let next = &w.state;
            let (by, author, note) = source_cols(next.validated_by.as_ref());
            vec![
                next.reference.as_str().into(),
                next.status.as_str().into(),
                next.amount_mismatch.into(),
                next.superseded_by.as_ref().map(|r| r.as_str()).into(),
                by.into(),
                author.into(),
                note.into(),
                now.into(),
                w.writes.into(),
            ]
        })
        .collect();
    if updates.is_empty() {
        return Ok(out); // replays, refusals, browser returns: nothing to write
    }
    for q in &quarantine {
        insert_quarantine(tx, q, now).await?;
    }
    // Under the write lock, with `seen` and the effect keys read in this transaction, every
    // row is written as expected; if not, the per-event path decides.
    let expected = bank.len() + updates.len() + outbox.len() + payments.len() + audit.len();
    let written = tx
        .exec(
            WRITE,
            vec![
                array(bank),
                array(updates),
                array(outbox),
                array(payments),
                array(audit),
            ],
        )
        .await
        .op("write batch")?;
    if usize::try_from(written).ok() != Some(expected) {
        return Err(mismatch(expected, written));
    }
    Ok(out)
}

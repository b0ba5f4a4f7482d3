//! Applying events: alone ([`Core::apply_event`], its own transaction) or as a group commit
//! ([`Core::apply_events`], one transaction, a savepoint per event). Either way each event is
//! loaded, planned ([`super::plan::plan`]) and written by the one executor of plans,
//! [`Conn::write`], which the SQLite batch fast path ([`super::batch`]) uses too.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::Database;
use tpe_core::lifecycle::apply;
use tpe_core::{
    BankReference, CheckoutState, CheckoutStatus, Event, Lang, PaymentReference, Timestamp,
    VerifiedNotification,
};

use super::plan::{
    AuditRow, BankRow, CheckoutUpdate, Loaded, OutboxRow, PaymentRow, Plan, Step, json_text, minor,
    plan,
};
use super::rows::{
    CheckoutRow, EffectKeyRow, QuarantineRow, ReferenceRow, SeenRow, outcome_kind, parse_reference,
};
use super::{Core, Fail, Op, RETRIES, clip};
use crate::db::{Backend, Db, Dialect};
use crate::error::{StoreError, is_unique_violation};
use crate::store::Sorted;
use crate::types::{
    Applied, CheckoutRecord, EventInput, MAX_AUTHOR, MAX_NOTE, NewCheckout, QuarantineInput,
    QuarantineRecord, WritesDone, bounded,
};

/// SQLite: every row of the plans in ONE call, one statement per table, each table's rows
/// passed as one JSON array, so the text is fixed and stays in the prepared statement cache.
/// `jsonb_each` hands each row over as JSONB: its columns are read by binary lookup, where a
/// JSON text object would be parsed again for each column. None can write more rows than it
/// is given (the updates name distinct checkouts), so the total of rows written equals the
/// rows given only if every statement wrote all of its own.
#[cfg(feature = "sqlite")]
const WRITE_SQLITE: &str = "INSERT INTO bank_transactions (provider, reference, \
     bank_transaction_id, outcome, amount_minor, currency, source, reason_kind, reason_code, \
     authorization_code, card, event_id, instalment, received_at) \
     SELECT r ->> 'provider', r ->> 'reference', r ->> 'bank_transaction_id', r ->> 'outcome', \
     r ->> 'amount_minor', r ->> 'currency', r ->> 'source', r ->> 'reason_kind', \
     r ->> 'reason_code', r ->> 'authorization_code', r ->> 'card', r ->> 'event_id', \
     r ->> 'instalment', r ->> 'received_at' FROM (SELECT value AS r FROM jsonb_each($1)) WHERE true \
     ON CONFLICT (provider, reference, bank_transaction_id, outcome) DO NOTHING; \
     UPDATE checkouts SET status = r ->> 'status', amount_mismatch = r ->> 'amount_mismatch', \
     superseded_by = r ->> 'superseded_by', validated_by = r ->> 'validated_by', \
     validated_author = r ->> 'validated_author', validated_note = r ->> 'validated_note', \
     instalments = r ->> 'instalments', refunds = r ->> 'refunds', updated_at = r ->> 'updated_at', version = version + (r ->> 'version') \
     FROM (SELECT value AS r FROM jsonb_each($2)) WHERE checkouts.reference = r ->> 'reference'; \
     INSERT INTO outbox (reference, effect_key, kind, payload, created_at, due_at, delivered_at) \
     SELECT r ->> 'reference', r ->> 'effect_key', r ->> 'kind', r ->> 'payload', \
     r ->> 'created_at', r ->> 'created_at', r ->> 'delivered_at' \
     FROM (SELECT value AS r FROM jsonb_each($3)) WHERE true \
     ON CONFLICT (reference, effect_key) DO NOTHING; \
     INSERT INTO payment_records (reference, record_key, amount_minor, currency, \
     bank_transaction_id, source, author, note, recorded_at) \
     SELECT r ->> 'reference', r ->> 'record_key', r ->> 'amount_minor', r ->> 'currency', \
     r ->> 'bank_transaction_id', r ->> 'source', r ->> 'author', r ->> 'note', \
     r ->> 'recorded_at' FROM (SELECT value AS r FROM jsonb_each($4)); \
     INSERT INTO audit (reference, event, author, detail, status_before, status_after, at) \
     SELECT r ->> 'reference', r ->> 'event', r ->> 'author', r ->> 'detail', \
     r ->> 'status_before', r ->> 'status_after', r ->> 'at' \
     FROM (SELECT value AS r FROM jsonb_each($5))";

/// PostgreSQL: the same rows in ONE statement (data-modifying CTEs), each column of each table
/// passed as one array (`unnest`), bound in sqlx's binary format: the server reads each value
/// as it is, where a JSON parameter was parsed twice (by the `json` input function, then by
/// `json_populate_recordset`), 16 % of its CPU. The statement returns one row per row written.
/// The checkouts are named through `= ANY($15)`, which the planner looks up in the primary
/// key.
///
/// The other tables have no foreign key to `checkouts` on PostgreSQL (migration 0011): a row
/// is inserted only if the statement updated its checkout (`IN (SELECT reference FROM
/// checkout)`), so a row naming no checkout is left out, the count falls short, and the
/// transaction is rolled back.
///
/// Parameters, in [`WriteRows::postgres`]'s order: bank transactions `$1`–`$14`, checkouts
/// `$15`–`$25`, outbox `$26`–`$31`, payment records `$32`–`$40`, audit `$41`–`$47`.
#[cfg(feature = "postgres")]
pub(super) const WRITE_POSTGRES: &str = "WITH \
     checkout AS (UPDATE checkouts AS c SET status = r.status, \
     amount_mismatch = r.amount_mismatch, superseded_by = r.superseded_by, \
     validated_by = r.validated_by, validated_author = r.validated_author, \
     validated_note = r.validated_note, instalments = r.instalments, \
     refunds = r.refunds, updated_at = r.updated_at, \
     version = c.version + r.version \
     FROM unnest($15::text[], $16::text[], $17::int8[], $18::text[], $19::text[], \
     $20::text[], $21::text[], $22::text[], $23::text[], $24::int8[], $25::int8[]) \
     AS r(reference, status, amount_mismatch, superseded_by, validated_by, validated_author, \
     validated_note, instalments, refunds, updated_at, version) \
     WHERE c.reference = r.reference AND c.reference = ANY($15::text[]) \
     RETURNING c.reference), \
     bank AS (INSERT INTO bank_transactions (provider, reference, bank_transaction_id, outcome, \
     amount_minor, currency, source, reason_kind, reason_code, authorization_code, card, \
     event_id, instalment, received_at) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], \
     $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
     $13::int8[], $14::int8[]) AS r(provider, reference, bank_transaction_id, outcome, \
     amount_minor, currency, source, reason_kind, reason_code, authorization_code, card, \
     event_id, instalment, received_at) \
     WHERE r.reference IN (SELECT reference FROM checkout) \
     ON CONFLICT (provider, reference, bank_transaction_id, outcome) DO NOTHING RETURNING 1), \
     effect AS (INSERT INTO outbox (reference, effect_key, kind, payload, created_at, due_at, \
     delivered_at) \
     SELECT reference, effect_key, kind, payload, created_at, created_at, delivered_at \
     FROM unnest($26::text[], $27::text[], $28::text[], $29::text[], $30::int8[], $31::int8[]) \
     AS r(reference, effect_key, kind, payload, created_at, delivered_at) \
     WHERE r.reference IN (SELECT reference FROM checkout) \
     ON CONFLICT (reference, effect_key) DO NOTHING RETURNING 1), \
     payment AS (INSERT INTO payment_records (reference, record_key, amount_minor, currency, \
     bank_transaction_id, source, author, note, recorded_at) \
     SELECT * FROM unnest($32::text[], $33::text[], $34::int8[], $35::text[], $36::text[], \
     $37::text[], $38::text[], $39::text[], $40::int8[]) AS r(reference, record_key, \
     amount_minor, currency, bank_transaction_id, source, author, note, recorded_at) \
     WHERE r.reference IN (SELECT reference FROM checkout) RETURNING 1), \
     trail AS (INSERT INTO audit (reference, event, author, detail, status_before, \
     status_after, at) \
     SELECT * FROM unnest($41::text[], $42::text[], $43::text[], $44::text[], $45::text[], \
     $46::text[], $47::int8[]) AS r(reference, event, author, detail, status_before, \
     status_after, at) \
     WHERE r.reference IN (SELECT reference FROM checkout) RETURNING 1) \
     SELECT 1 FROM checkout UNION ALL SELECT 1 FROM bank UNION ALL SELECT 1 FROM effect \
     UNION ALL SELECT 1 FROM payment UNION ALL SELECT 1 FROM trail";

/// Binds, for each named field, the array of that field over `rows`, in the order named.
#[cfg(feature = "postgres")]
macro_rules! columns {
    ($query:expr, $rows:expr, [$($field:ident),+ $(,)?]) => {
        $query $(.bind($rows.iter().map(|r| Column::item(&r.$field)).collect::<Vec<_>>()))+
    };
}
/// The rows of some plans, table by table, as [`Conn::write`] writes them in one statement
/// ([`Db::write_rows`] binds them as its database takes them best).
pub(crate) struct WriteRows<'a> {
    pub(super) bank: Vec<&'a BankRow>,
    /// One per checkout: its last state, `version` raised once per transition.
    pub(super) updates: Vec<CheckoutUpdate>,
    pub(super) outbox: Vec<&'a OutboxRow>,
    pub(super) payments: Vec<&'a PaymentRow>,
    pub(super) audit: Vec<&'a AuditRow>,
}

impl<'a> WriteRows<'a> {
    fn new(plans: &[&'a Plan]) -> Self {
        let mut updates: Vec<CheckoutUpdate> = Vec::with_capacity(plans.len());
        let mut at: HashMap<&str, usize> = HashMap::with_capacity(plans.len());
        for p in plans {
            match at.get(p.checkout.reference.as_str()) {
                Some(&i) => {
                    let writes = updates[i].writes + p.checkout.writes;
                    updates[i] = p.checkout.clone();
                    updates[i].writes = writes;
                }
                None => {
                    at.insert(&p.checkout.reference, updates.len());
                    updates.push(p.checkout.clone());
                }
            }
        }
        Self {
            bank: plans.iter().filter_map(|p| p.bank.as_ref()).collect(),
            updates,
            outbox: plans.iter().flat_map(|p| &p.outbox).collect(),
            payments: plans.iter().flat_map(|p| &p.payments).collect(),
            audit: plans.iter().map(|p| &p.audit).collect(),
        }
    }

    /// Rows in all: what the statement must report written.
    fn len(&self) -> usize {
        self.bank.len()
            + self.updates.len()
            + self.outbox.len()
            + self.payments.len()
            + self.audit.len()
    }

    /// [`WRITE_SQLITE`], each table's rows as one JSON array.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(
        &self,
    ) -> Result<sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>, StoreError>
    {
        Ok(sqlx::query(WRITE_SQLITE)
            .bind(json(&self.bank)?)
            .bind(json(&self.updates)?)
            .bind(json(&self.outbox)?)
            .bind(json(&self.payments)?)
            .bind(json(&self.audit)?))
    }

    /// [`WRITE_POSTGRES`], each column as one array.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(
        &self,
    ) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
        let q = sqlx::query(WRITE_POSTGRES);
        let q = columns!(
            q,
            self.bank,
            [
                provider,
                reference,
                bank_transaction_id,
                outcome,
                amount_minor,
                currency,
                source,
                reason_kind,
                reason_code,
                authorization_code,
                card,
                event_id,
                instalment,
                received_at
            ]
        );
        let q = columns!(
            q,
            self.updates,
            [
                reference,
                status,
                amount_mismatch,
                superseded_by,
                validated_by,
                validated_author,
                validated_note,
                instalments,
                refunds,
                updated_at,
                writes
            ]
        );
        let q = columns!(
            q,
            self.outbox,
            [
                reference,
                effect_key,
                kind,
                payload,
                created_at,
                delivered_at
            ]
        );
        let q = columns!(
            q,
            self.payments,
            [
                reference,
                record_key,
                amount_minor,
                currency,
                bank_transaction_id,
                source,
                author,
                note,
                recorded_at
            ]
        );
        columns!(
            q,
            self.audit,
            [
                reference,
                event,
                author,
                detail,
                status_before,
                status_after,
                at
            ]
        )
    }
}

/// A field as an element of a PostgreSQL array parameter, borrowed where it can be.
#[cfg(feature = "postgres")]
trait Column<'a> {
    type Item: sqlx::Encode<'a, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + sqlx::postgres::PgHasArrayType;
    fn item(&'a self) -> Self::Item;
}

#[cfg(feature = "postgres")]
impl<'a> Column<'a> for String {
    type Item = &'a str;
    fn item(&'a self) -> &'a str {
        self
    }
}

#[cfg(feature = "postgres")]
impl<'a> Column<'a> for Option<String> {
    type Item = Option<&'a str>;
    fn item(&'a self) -> Option<&'a str> {
        self.as_deref()
    }
}

#[cfg(feature = "postgres")]
impl<'a> Column<'a> for &'static str {
    type Item = &'a str;
    fn item(&'a self) -> &'a str {
        self
    }
}

#[cfg(feature = "postgres")]
impl<'a> Column<'a> for Option<&'static str> {
    type Item = Option<&'a str>;
    fn item(&'a self) -> Option<&'a str> {
        *self
    }
}

#[cfg(feature = "postgres")]
impl<'a> Column<'a> for i64 {
    type Item = i64;
    fn item(&'a self) -> i64 {
        *self
    }
}

#[cfg(feature = "postgres")]
impl<'a> Column<'a> for Option<i64> {
    type Item = Option<i64>;
    fn item(&'a self) -> Option<i64> {
        *self
    }
}

/// A connection inside one of the store's transactions.
pub(crate) struct Conn<'a, DB: Database>(pub(crate) &'a mut DB::Connection);

fn json<T: Serialize>(rows: &[T]) -> Result<String, StoreError> {
    json_text(&rows, "rows to write")
}

crate::db::sqlx_impl! {
impl<DB: Db> Conn<'_, DB> {
    /// Writes `plans` (in order; several may be for one checkout): their quarantine rows, then
    /// every other row in one statement, then the siblings each supersedes. Returns the
    /// superseded checkouts of each plan.
    ///
    /// # Errors
    /// [`Fail::Raced`] when the rows written are not the rows planned (what the plans were
    /// made from changed meanwhile): the caller rolls back.
    pub(crate) async fn write(
        &mut self,
        plans: &[&Plan],
        now: Timestamp,
    ) -> Result<Vec<Vec<PaymentReference>>, Fail> {
        for q in plans.iter().flat_map(|p| &p.quarantine) {
            self.insert_quarantine(q, now).await?;
        }
        let rows = WriteRows::new(plans);
        let expected = rows.len();
        let done = DB::write_rows(&rows)?
            .execute(&mut *self.0)
            .await
            .op("write event")?;
        let written = DB::rows_affected(&done);
        if usize::try_from(written).ok() != Some(expected) {
            return Err(Fail::Raced { expected, written });
        }
        let mut superseded = Vec::with_capacity(plans.len());
        for p in plans {
            superseded.push(match &p.supersede {
                Some(by) => self.supersede_siblings(by, now).await?,
                None => Vec::new(),
            });
        }
        Ok(superseded)
    }

    /// Applies `Event::Superseded` to the other checkouts of the order still awaiting payment.
    async fn supersede_siblings(
        &mut self,
        by: &CheckoutState,
        now: Timestamp,
    ) -> Result<Vec<PaymentReference>, Fail> {
        let Some(order) = &by.shop_order_id else {
            return Ok(Vec::new());
        };
        let siblings: Vec<ReferenceRow> = sqlx::query_as::<DB, ReferenceRow>(
            "SELECT reference FROM checkouts WHERE shop_order_id = $1 AND reference <> $2 \
             AND status = 'awaiting_payment' ORDER BY reference",
        )
        .bind(order.as_str())
        .bind(by.reference.as_str())
        .fetch_all(&mut *self.0)
        .await
        .op("read sibling checkouts")?;
        let mut out = Vec::new();
        for row in siblings {
            let reference = parse_reference(&row.reference)?;
            let Some(sibling) = self.load_checkout(&reference).await? else {
                continue;
            };
            let state = Loaded::new(sibling, [], HashSet::new()).state;
            let event = Event::Superseded {
                by: by.reference.clone(),
            };
            let next = apply(&state, &event).map_err(StoreError::from)?.state;
            if next.superseded_by == state.superseded_by {
                continue;
            }
            sqlx::query::<DB>(
                "UPDATE checkouts SET superseded_by = $2, updated_at = $3, version = version + 1 \
                 WHERE reference = $1",
            )
            .bind(reference.as_str())
            .bind(next.superseded_by.as_ref().map(|r| r.as_str().to_owned()))
            .bind(now.as_millisecond())
            .execute(&mut *self.0)
            .await
            .op("supersede sibling")?;
            sqlx::query::<DB>(
                "INSERT INTO audit (reference, event, author, detail, status_before, \
                 status_after, at) VALUES ($1, $2, NULL, $3, $4, $5, $6)",
            )
            .bind(reference.as_str())
            .bind(event.name())
            .bind(format!("superseded by {}", by.reference))
            .bind(state.status.as_str())
            .bind(next.status.as_str())
            .bind(now.as_millisecond())
            .execute(&mut *self.0)
            .await
            .op("insert audit")?;
            out.push(reference);
        }
        Ok(out)
    }

    /// Inserts a quarantine row, or counts one more sighting of the same one.
    pub(crate) async fn insert_quarantine(
        &mut self,
        input: &QuarantineInput,
        now: Timestamp,
    ) -> Result<QuarantineRecord, Fail> {
        let raw = input.raw.as_ref();
        let headers = raw.map(|r| json(&r.headers)).transpose()?;
        let row = sqlx::query_as::<DB, QuarantineRow>(
            "INSERT INTO quarantine (provider, reference, bank_transaction_id, summary, why, \
             first_at, last_at, raw_method, raw_query, raw_body, raw_headers) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10) \
             ON CONFLICT (provider, reference, bank_transaction_id, why) DO UPDATE \
             SET last_at = excluded.last_at, seen_count = quarantine.seen_count + 1, \
             raw_method = COALESCE(excluded.raw_method, quarantine.raw_method), \
             raw_query = COALESCE(excluded.raw_query, quarantine.raw_query), \
             raw_body = COALESCE(excluded.raw_body, quarantine.raw_body), \
             raw_headers = COALESCE(excluded.raw_headers, quarantine.raw_headers) \
             RETURNING id, provider, reference, bank_transaction_id, summary, why, first_at, \
             last_at, seen_count",
        )
        .bind(input.provider.as_str())
        .bind(clip(&input.reference, 64))
        .bind(clip(
            input.bank_transaction_id.as_deref().unwrap_or(""),
            VerifiedNotification::MAX_TRANSACTION_ID,
        ))
        .bind(clip(&input.summary, MAX_NOTE))
        .bind(clip(&input.why, 500))
        .bind(now.as_millisecond())
        .bind(raw.map(|r| r.method_name().to_owned()))
        .bind(raw.map(|r| r.query.clone()))
        .bind(raw.map(|r| r.body.clone()))
        .bind(headers)
        .fetch_one(&mut *self.0)
        .await
        .op("insert quarantine")?;
        Ok(QuarantineRecord::try_from(row)?)
    }

    /// The checkout `reference`, if there is one.
    pub(crate) async fn load_checkout(
        &mut self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutRecord>, Fail> {
        let row = sqlx::query_as::<DB, CheckoutRow>("SELECT * FROM checkouts WHERE reference = $1")
            .bind(reference.as_str())
            .fetch_optional(&mut *self.0)
            .await
            .op("read checkout")?;
        Ok(row.map(CheckoutRecord::try_from).transpose()?)
    }

    /// Another checkout of `order`, valid and paid (its first payment record) before
    /// `reference`: `reference` is then the order's extra payment.
    pub(crate) async fn order_paid_before(
        &mut self,
        order: &str,
        reference: &PaymentReference,
    ) -> Result<Option<PaymentReference>, Fail> {
        sqlx::query_as::<DB, ReferenceRow>(
            "SELECT c.reference FROM checkouts AS c WHERE c.shop_order_id = $1 \
             AND c.reference <> $2 AND c.status = 'valid' \
             AND (SELECT MIN(p.id) FROM payment_records AS p WHERE p.reference = c.reference) \
             < COALESCE((SELECT MIN(p.id) FROM payment_records AS p WHERE p.reference = $2), \
             9223372036854775807) ORDER BY c.reference LIMIT 1",
        )
        .bind(order)
        .bind(reference.as_str())
        .fetch_optional(&mut *self.0)
        .await
        .op("read order")?
        .map(|r| parse_reference(&r.reference))
        .transpose()
        .map_err(Fail::from)
    }

    /// Locks what the event may write. SQLite: `BEGIN IMMEDIATE` already holds the write
    /// lock. PostgreSQL: the checkout row, and when it belongs to an order every checkout of
    /// that order in reference order (one lock order for everyone, so superseding siblings
    /// cannot deadlock and "another checkout of this order is valid" is read under lock).
    async fn lock_for_event(&mut self, reference: &PaymentReference) -> Result<(), Fail> {
        if DB::DIALECT == Dialect::Sqlite {
            return Ok(());
        }
        let op = "lock checkout";
        let order = sqlx::query_as::<DB, OrderRow>(
            "SELECT shop_order_id FROM checkouts WHERE reference = $1",
        )
        .bind(reference.as_str())
        .fetch_optional(&mut *self.0)
        .await
        .op(op)?
        .and_then(|r| r.shop_order_id);
        let locked = match order {
            Some(order) => {
                sqlx::query::<DB>(
                    "SELECT reference FROM checkouts WHERE shop_order_id = $1 \
                     ORDER BY reference FOR UPDATE",
                )
                .bind(order)
                .execute(&mut *self.0)
                .await
            }
            None => {
                sqlx::query::<DB>("SELECT reference FROM checkouts WHERE reference = $1 FOR UPDATE")
                    .bind(reference.as_str())
                    .execute(&mut *self.0)
                    .await
            }
        };
        locked.op(op)?;
        Ok(())
    }

    /// The checkout with the bank transactions it has seen and its effect keys.
    async fn load(&mut self, reference: &PaymentReference) -> Result<Loaded, Fail> {
        let op = "read checkout";
        let record = self
            .load_checkout(reference)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                reference: reference.to_string(),
            })?;
        let seen = sqlx::query_as::<DB, SeenRow>(
            "SELECT bank_transaction_id, outcome FROM bank_transactions WHERE reference = $1",
        )
        .bind(reference.as_str())
        .fetch_all(&mut *self.0)
        .await
        .op(op)?
        .into_iter()
        .map(|r| Ok((r.bank_transaction_id, outcome_kind(&r.outcome)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        let keys = sqlx::query_as::<DB, EffectKeyRow>(
            "SELECT effect_key FROM outbox WHERE reference = $1",
        )
        .bind(reference.as_str())
        .fetch_all(&mut *self.0)
        .await
        .op(op)?
        .into_iter()
        .map(|r| r.effect_key)
        .collect();
        Ok(Loaded::new(record, seen, keys))
    }

    /// Applies one event inside an open transaction (see [`Core::apply_event`]); the caller
    /// commits, or rolls back on error.
    async fn apply_in(
        &mut self,
        reference: &PaymentReference,
        input: &EventInput,
        now: Timestamp,
    ) -> Result<Applied, Fail> {
        self.lock_for_event(reference).await?;
        let mut loaded = self.load(reference).await?;
        let order_paid_by = match (input, &loaded.record.shop_order_id) {
            (EventInput::RequestRefund { .. }, Some(order)) => {
                self.order_paid_before(order, reference).await?
            }
            (EventInput::Notification(_) | EventInput::ReconciledPaid { .. }, Some(order)) => {
                sqlx::query_as::<DB, ReferenceRow>(
                    "SELECT reference FROM checkouts WHERE shop_order_id = $1 \
                     AND reference <> $2 AND status = 'valid' ORDER BY reference LIMIT 1",
                )
                .bind(order.as_str())
                .bind(reference.as_str())
                .fetch_optional(&mut *self.0)
                .await
                .op("read order")?
                .map(|r| parse_reference(&r.reference))
                .transpose()?
            }
            _ => None,
        };
        match plan(&mut loaded, input, order_paid_by, now)? {
            Step::Done(applied) => Ok(applied),
            Step::Write(plan) => {
                let superseded = self.write(&[&plan], now).await?;
                Ok(Applied {
                    superseded: superseded.into_iter().flatten().collect(),
                    ..plan.applied
                })
            }
        }
    }
}
}

/// A checkout's shop order.
#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    shop_order_id: Option<String>,
}

crate::db::sqlx_impl! {
impl<DB: Db, B: Backend<Db = DB>> Core<B> {
    pub(crate) async fn create_checkout(
        &self,
        new: NewCheckout,
    ) -> Result<CheckoutRecord, StoreError> {
        new.check()?;
        let schedule = new
            .schedule
            .as_ref()
            .map(|s| json_text(s, "schedule"))
            .transpose()?;
        let op = "create checkout";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.backend.begin(true).await.map_err(db)?;
        let inserted = sqlx::query::<DB>(
            "INSERT INTO checkouts (reference, provider, amount_minor, currency, shop_order_id, \
             status, customer_email, customer_name, delivery_date, retract_at, provider_data, \
             created_at, updated_at, language, description, item_count, bank_reference, \
             schedule) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, \
             $17)",
        )
        .bind(new.reference.as_str())
        .bind(new.provider.as_str())
        .bind(minor(new.amount))
        .bind(new.amount.currency().alpha())
        .bind(new.shop_order_id.clone())
        .bind(CheckoutStatus::AwaitingPayment.as_str())
        .bind(new.customer_email.as_str())
        .bind(new.customer_name.as_str())
        .bind(new.delivery_date.map(|d| d.to_string()))
        .bind(new.retract_at.as_millisecond())
        .bind(new.provider_data.clone())
        .bind(new.created_at.as_millisecond())
        .bind(new.language.map(|l| lang_str(l).to_owned()))
        .bind(new.description.clone())
        .bind(new.item_count.map(i64::from))
        .bind(
            new.bank_reference
                .as_ref()
                .map_or(new.reference.as_str(), BankReference::as_str),
        )
        .bind(schedule)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists {
                    reference: new.reference,
                });
            }
            Err(e) => return Err(db(e)),
            Ok(_) => {}
        }
        let record = Conn::<DB>(&mut tx)
            .load_checkout(&new.reference)
            .await
            .map_err(Fail::into_store)?
            .ok_or_else(|| StoreError::corrupt("created checkout vanished"))?;
        B::commit(tx).await.map_err(db)?;
        Ok(record)
    }

    pub(crate) async fn apply_event(
        &self,
        reference: &PaymentReference,
        input: EventInput,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        check_input(&input)?;
        let mut attempt = 0;
        loop {
            match self.try_apply(reference, &input, now).await {
                Ok(applied) => return Ok(applied),
                Err(f) if f.is_retryable() && attempt < RETRIES => attempt += 1,
                Err(f) => return Err(f.into_store()),
            }
        }
    }

    async fn try_apply(
        &self,
        reference: &PaymentReference,
        input: &EventInput,
        now: Timestamp,
    ) -> Result<Applied, Fail> {
        let mut tx = self.backend.begin(true).await.op("apply event")?;
        let applied = Conn::<DB>(&mut tx).apply_in(reference, input, now).await?;
        B::commit(tx).await.op("commit event")?;
        Ok(applied)
    }

    pub(crate) async fn apply_events(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
    ) -> Vec<Result<Applied, StoreError>> {
        self.apply_events_then_commit(batch, now, WritesDone::none())
            .await
    }

    /// [`Core::apply_events`], telling `writes_done` just before the commit.
    pub(crate) async fn apply_events_then_commit(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
        writes_done: WritesDone,
    ) -> Vec<Result<Applied, StoreError>> {
        self.apply_events_in(None, batch, now, writes_done).await
    }

    /// [`crate::PaymentStore::apply_notifications`], the checkouts found inside the batch's
    /// write transaction, on its connection: no other connection, no round trip of its own
    /// before the batch. When the transaction cannot start, every notification gets that
    /// error (asking again for each would wait out the same timeout each time). `Err` gives
    /// the batch back untouched when the lookup failed: the caller then finds the checkouts
    /// apart, each alone if need be.
    pub(crate) async fn apply_notifications(
        &self,
        notifications: Vec<VerifiedNotification>,
        now: Timestamp,
        mut writes_done: WritesDone,
    ) -> Result<Vec<Result<Applied, StoreError>>, (Vec<VerifiedNotification>, WritesDone)> {
        let keys: Vec<_> = notifications
            .iter()
            .map(|n| (&n.provider, &n.bank_reference))
            .collect();
        let mut tx = match self.backend.begin(true).await {
            Ok(tx) => tx,
            Err(e) => {
                return Ok(notifications
                    .iter()
                    .map(|_| Err(StoreError::from_db_ref("apply notifications", &e)))
                    .collect());
            }
        };
        let found = match Conn::<DB>(&mut tx).resolve_keys(&keys).await {
            Ok(found) => found,
            Err(_) => {
                let _ = B::rollback(tx).await;
                return Err((notifications, writes_done));
            }
        };
        let (sorted, events) = Sorted::new(notifications, found.into_iter().map(Ok));
        let applied = if events.is_empty() {
            let _ = B::rollback(tx).await; // nothing found: nothing to write
            writes_done.tell();
            Vec::new()
        } else {
            self.apply_events_in(Some(tx), events, now, writes_done)
                .await
        };
        Ok(sorted.finish(applied))
    }

    /// Applies `batch` in `tx` when given (a write transaction just begun), else in one of its
    /// own; tells `writes_done` just before the commit.
    async fn apply_events_in(
        &self,
        tx: Option<B::Tx>,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
        mut writes_done: WritesDone,
    ) -> Vec<Result<Applied, StoreError>> {
        let mut results: Vec<Option<Result<Applied, StoreError>>> = Vec::with_capacity(batch.len());
        // Inputs that fail their own checks never reach the transaction.
        let mut todo = Vec::with_capacity(batch.len());
        for (i, (_, input)) in batch.iter().enumerate() {
            match check_input(input) {
                Ok(()) => {
                    results.push(None);
                    todo.push(i);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // One lock order for every committer (PostgreSQL row locks): by reference.
        todo.sort_by(|&a, &b| batch[a].0.cmp(&batch[b].0));
        let retry_alone = if todo.is_empty() {
            if let Some(tx) = tx {
                let _ = B::rollback(tx).await; // nothing to write
            }
            Vec::new()
        } else {
            self.group_commit(tx, &batch, &todo, now, &mut results, &mut writes_done)
                .await
        };
        writes_done.tell();
        // A deadlock, a serialization failure or a race inside the batch: run that event on
        // its own, with the usual retries.
        for i in retry_alone {
            let (reference, input) = &batch[i];
            results[i] = Some(self.apply_event(reference, input.clone(), now).await);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::corrupt("event left without a result"))))
            .collect()
    }

    /// Applies `todo` (indices into `batch`, in lock order) in one transaction: the set-based
    /// fast path ([`super::batch`]), then a savepoint per event for the events it leaves (or
    /// for all of them when it declined). Fills `results`; returns the events to re-run alone.
    async fn group_commit(
        &self,
        tx: Option<B::Tx>,
        batch: &[(PaymentReference, EventInput)],
        todo: &[usize],
        now: Timestamp,
        results: &mut [Option<Result<Applied, StoreError>>],
        writes_done: &mut WritesDone,
    ) -> Vec<usize> {
        let op = "apply events";
        let fail_all = |results: &mut [Option<Result<Applied, StoreError>>], e: &sqlx::Error| {
            for &i in todo {
                results[i] = Some(Err(StoreError::from_db_ref(op, e)));
            }
        };
        let begun = match tx {
            Some(tx) => Ok(tx),
            None => self.backend.begin(true).await,
        };
        let mut tx = match begun {
            Ok(tx) => tx,
            Err(e) => {
                fail_all(results, &e);
                return Vec::new();
            }
        };
        let mut pending = Vec::new();
        let mut slow = todo.to_vec();
        match Conn::<DB>(&mut tx).apply_batch(batch, todo, now).await {
            Ok(fast) => {
                for (i, result) in fast.done {
                    match result {
                        Ok(applied) => pending.push((i, applied)),
                        Err(e) => results[i] = Some(Err(e)),
                    }
                }
                slow = fast.slow;
            }
            Err(_) => {
                // Declined (a database error, an unexpected row count): undo it all and let
                // the per-event path decide, savepoint by savepoint, in a new transaction.
                let restarted = match B::rollback(tx).await {
                    Ok(()) => self.backend.begin(true).await,
                    Err(e) => Err(e),
                };
                match restarted {
                    Ok(again) => tx = again,
                    Err(e) => {
                        fail_all(results, &e);
                        return Vec::new();
                    }
                }
            }
        }
        let mut retry_alone = Vec::new();
        for &i in &slow {
            let (reference, input) = &batch[i];
            // A savepoint per event: one failing event rolls back alone.
            let savepoint = |sql: &'static str| sqlx::query::<DB>(sql);
            if let Err(e) = savepoint("SAVEPOINT tpe_event").execute(&mut *tx).await {
                results[i] = Some(Err(StoreError::from_db(op, e)));
                continue;
            }
            let outcome = Conn::<DB>(&mut tx).apply_in(reference, input, now).await;
            let end = match &outcome {
                Ok(_) => {
                    savepoint("RELEASE SAVEPOINT tpe_event")
                        .execute(&mut *tx)
                        .await
                }
                Err(_) => match savepoint("ROLLBACK TO SAVEPOINT tpe_event")
                    .execute(&mut *tx)
                    .await
                {
                    Ok(_) => {
                        savepoint("RELEASE SAVEPOINT tpe_event")
                            .execute(&mut *tx)
                            .await
                    }
                    Err(e) => Err(e),
                },
            };
            match (outcome, end) {
                (_, Err(e)) => results[i] = Some(Err(StoreError::from_db(op, e))),
                (Ok(applied), Ok(_)) => pending.push((i, applied)),
                (Err(f), Ok(_)) if f.is_retryable() => retry_alone.push(i),
                (Err(f), Ok(_)) => results[i] = Some(Err(f.into_store())),
            }
        }
        writes_done.tell();
        match B::commit(tx).await {
            Ok(()) => {
                for (i, applied) in pending {
                    results[i] = Some(Ok(applied));
                }
            }
            Err(e) => {
                // Nothing of the batch was written: every event fails alike.
                for (i, _) in pending {
                    results[i] = Some(Err(StoreError::from_db_ref(op, &e)));
                }
            }
        }
        retry_alone
    }
}
}

/// Checks the parts of an event that come from outside before any transaction.
fn check_input(input: &EventInput) -> Result<(), StoreError> {
    match input {
        EventInput::Notification(n) => bounded(
            "bank_transaction_id",
            &n.bank_transaction_id,
            1,
            VerifiedNotification::MAX_TRANSACTION_ID,
        ),
        EventInput::ReconciledPaid {
            bank_transaction_id,
            ..
        } => bounded(
            "bank_transaction_id",
            bank_transaction_id,
            1,
            VerifiedNotification::MAX_TRANSACTION_ID,
        ),
        EventInput::ManualValidation { author, note }
        | EventInput::Reinstate { author, note }
        | EventInput::RequestRefund { author, note } => {
            bounded("author", author, 1, MAX_AUTHOR)?;
            bounded("note", note, 0, MAX_NOTE)
        }
        EventInput::RefundSucceeded {
            refund_id,
            bank_transaction_id,
        } => {
            bounded("refund_id", refund_id, 1, 255)?;
            refunded_transaction(bank_transaction_id.as_deref())
        }
        EventInput::RefundFailed {
            reason,
            bank_transaction_id,
            ..
        } => {
            bounded("reason", reason, 1, MAX_NOTE)?;
            refunded_transaction(bank_transaction_id.as_deref())
        }
        _ => Ok(()),
    }
}

/// A refund's bank transaction, when named: bounded as a notification's.
fn refunded_transaction(txn: Option<&str>) -> Result<(), StoreError> {
    txn.map_or(Ok(()), |t| {
        bounded(
            "bank_transaction_id",
            t,
            1,
            VerifiedNotification::MAX_TRANSACTION_ID,
        )
    })
}

fn lang_str(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        _ => "fr",
    }
}

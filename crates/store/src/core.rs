//! The store logic, written once over [`Backend`]: both databases run exactly this code.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use tpe_core::lifecycle::{BankVerdict, ValidationSource, apply};
use tpe_core::{
    Amount, BankOutcome, CheckoutState, CheckoutStatus, Currency, Effect, Event, Lang, OutcomeKind,
    PaymentReference, ProviderId, Timestamp, VerifiedNotification,
};

use crate::error::{StoreError, is_retryable, is_unique_violation};
use crate::sql::{Backend, Dialect, Kind, Row, Tx, Val};
use crate::types::{
    Applied, AuditRecord, Backoff, BankTransactionRecord, CheckoutDetail, CheckoutQuery,
    CheckoutRecord, Cursor, EventInput, MAX_AUTHOR, MAX_LIMIT, MAX_NOTE, NewCheckout, OutboxEffect,
    Page, PaymentRecord, QuarantineInput, QuarantineRecord, bounded,
};

/// How many times a transaction that PostgreSQL aborted for a deadlock or a serialization
/// failure is run again before giving up.
const RETRIES: u32 = 5;

macro_rules! checkout_cols {
    () => {
        "reference, provider, amount_minor, currency, shop_order_id, status, amount_mismatch, \
         superseded_by, validated_by, validated_author, validated_note, customer_email, \
         customer_name, delivery_date, retract_at, provider_data, created_at, updated_at, \
         reconcile_attempts, next_reconcile_at, version, language, description, item_count, \
         retract_lease_until"
    };
}
use Kind::{Int as I, Text as T};
const CHECKOUT_KINDS: &[Kind] = &[
    T, T, I, T, T, T, I, T, T, T, T, T, T, T, I, T, I, I, I, I, I, T, T, I, I,
];

macro_rules! outbox_cols {
    () => {
        "id, reference, effect_key, payload, created_at, due_at, attempts, last_error, \
         leased_by, lease_until, delivered_at"
    };
}
const OUTBOX_KINDS: &[Kind] = &[I, T, T, T, I, I, I, T, T, I, I];

macro_rules! quarantine_cols {
    () => {
        "id, provider, reference, bank_transaction_id, summary, why, first_at, last_at, seen_count"
    };
}
const QUARANTINE_KINDS: &[Kind] = &[I, T, T, T, T, T, I, I, I];

macro_rules! payment_cols {
    () => {
        "id, reference, amount_minor, currency, bank_transaction_id, source, author, note, \
         recorded_at"
    };
}
const PAYMENT_KINDS: &[Kind] = &[I, T, I, T, T, T, T, T, I];

mod batch;

/// The shared logic and its configuration.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) outbox_backoff: Backoff,
    pub(crate) reconcile_backoff: Backoff,
    /// Writers that may usefully run at once (1 for SQLite).
    pub(crate) concurrent_writers: usize,
}

/// A failure inside a transaction: a database error (maybe retryable) or a store error.
pub(crate) enum Fail {
    Db(&'static str, sqlx::Error),
    Store(StoreError),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Self::Db(op, e) => StoreError::from_db(op, e),
            Self::Store(e) => e,
        }
    }
}

/// Tags database errors with the operation.
pub(crate) trait Op<T> {
    fn op(self, op: &'static str) -> Result<T, Fail>;
}
impl<T> Op<T> for Result<T, sqlx::Error> {
    fn op(self, op: &'static str) -> Result<T, Fail> {
        self.map_err(|e| Fail::Db(op, e))
    }
}

fn check_limit(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(StoreError::invalid(
            "limit",
            format!("{limit} is outside 1 to {MAX_LIMIT}"),
        ));
    }
    Ok(i64::from(limit))
}

pub(crate) fn minor(amount: Amount) -> i64 {
    // Amount::MAX_MINOR is i64::MAX, so this never saturates.
    i64::try_from(amount.minor()).unwrap_or(i64::MAX)
}

fn plus(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

fn parse_reference(s: &str) -> Result<PaymentReference, StoreError> {
    PaymentReference::parse(s).map_err(|e| StoreError::corrupt(format!("reference {s:?}: {e}")))
}

fn parse_provider(s: &str) -> Result<ProviderId, StoreError> {
    ProviderId::parse(s).map_err(|e| StoreError::corrupt(format!("provider {s:?}: {e}")))
}

fn parse_amount(minor: i64, currency: &str) -> Result<Amount, StoreError> {
    let currency = Currency::from_alpha(currency)
        .map_err(|e| StoreError::corrupt(format!("currency {currency:?}: {e}")))?;
    let minor = u64::try_from(minor)
        .map_err(|_| StoreError::corrupt(format!("negative amount {minor}")))?;
    Amount::new(minor, currency).map_err(|e| StoreError::corrupt(format!("amount: {e}")))
}

fn lang_str(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        _ => "fr",
    }
}

fn parse_lang(s: &str) -> Result<Lang, StoreError> {
    match s {
        "fr" => Ok(Lang::Fr),
        "en" => Ok(Lang::En),
        other => Err(StoreError::corrupt(format!("language {other:?}"))),
    }
}

fn parse_status(s: &str) -> Result<CheckoutStatus, StoreError> {
    CheckoutStatus::parse(s).ok_or_else(|| StoreError::corrupt(format!("checkout status {s:?}")))
}

fn parse_source(
    by: &str,
    author: Option<String>,
    note: Option<String>,
) -> Result<ValidationSource, StoreError> {
    Ok(match by {
        "bank" => ValidationSource::Bank,
        "reconciliation" => ValidationSource::Reconciliation,
        "manual" => ValidationSource::Manual {
            author: author.unwrap_or_default(),
            note: note.unwrap_or_default(),
        },
        other => return Err(StoreError::corrupt(format!("validation source {other:?}"))),
    })
}

pub(crate) fn source_cols(
    s: Option<&ValidationSource>,
) -> (Option<&'static str>, Option<String>, Option<String>) {
    match s {
        None => (None, None, None),
        Some(ValidationSource::Manual { author, note }) => {
            (Some("manual"), Some(author.clone()), Some(note.clone()))
        }
        Some(other) => (Some(other.as_str()), None, None),
    }
}

/// A stored bank outcome, read back.
pub(crate) fn outcome_kind(outcome: &str) -> Result<OutcomeKind, StoreError> {
    OutcomeKind::parse(outcome)
        .ok_or_else(|| StoreError::corrupt(format!("bank outcome {outcome:?}")))
}

/// The lifecycle state of a stored checkout, given the bank transactions it has seen.
pub(crate) fn state_of(
    record: &CheckoutRecord,
    seen: BTreeSet<(String, OutcomeKind)>,
) -> CheckoutState {
    CheckoutState {
        reference: record.reference.clone(),
        provider: record.provider.clone(),
        amount: record.amount,
        shop_order_id: record.shop_order_id.clone(),
        status: record.status,
        amount_mismatch: record.amount_mismatch,
        superseded_by: record.superseded_by.clone(),
        validated_by: record.validated_by.clone(),
        retract_at: record.retract_at,
        seen,
    }
}

pub(crate) fn checkout_from(row: &Row) -> Result<CheckoutRecord, StoreError> {
    let validated_by = row
        .opt_text(8)?
        .map(|by| parse_source(&by, row.opt_text(9)?, row.opt_text(10)?))
        .transpose()?;
    let delivery_date = row
        .opt_text(13)?
        .map(|d| {
            d.parse::<jiff::civil::Date>()
                .map_err(|e| StoreError::corrupt(format!("delivery date {d:?}: {e}")))
        })
        .transpose()?;
    Ok(CheckoutRecord {
        reference: parse_reference(&row.text(0)?)?,
        provider: parse_provider(&row.text(1)?)?,
        amount: parse_amount(row.int(2)?, &row.text(3)?)?,
        shop_order_id: row.opt_text(4)?,
        status: parse_status(&row.text(5)?)?,
        amount_mismatch: row.int(6)? != 0,
        superseded_by: row.opt_text(7)?.map(|s| parse_reference(&s)).transpose()?,
        validated_by,
        customer_email: row.text(11)?,
        customer_name: row.text(12)?,
        delivery_date,
        retract_at: row.time(14)?,
        provider_data: row.opt_text(15)?,
        created_at: row.time(16)?,
        updated_at: row.time(17)?,
        reconcile_attempts: u32::try_from(row.int(18)?.max(0)).unwrap_or(u32::MAX),
        next_reconcile_at: row.opt_time(19)?,
        version: row.int(20)?,
        language: row.opt_text(21)?.map(|l| parse_lang(&l)).transpose()?,
        description: row.opt_text(22)?,
        item_count: row
            .opt_int(23)?
            .map(|n| u32::try_from(n).map_err(|_| StoreError::corrupt(format!("item count {n}"))))
            .transpose()?,
        retract_lease_until: row.opt_time(24)?,
    })
}

fn outbox_from(row: &Row) -> Result<OutboxEffect, StoreError> {
    let id = row.int(0)?;
    let payload = row.text(3)?;
    let effect: Effect = serde_json::from_str(&payload)
        .map_err(|e| StoreError::corrupt(format!("outbox row {id} payload: {e}")))?;
    Ok(OutboxEffect {
        id: row.int(0)?,
        reference: parse_reference(&row.text(1)?)?,
        key: row.text(2)?,
        effect,
        created_at: row.time(4)?,
        due_at: row.time(5)?,
        attempts: u32::try_from(row.int(6)?.max(0)).unwrap_or(u32::MAX),
        last_error: row.opt_text(7)?,
        leased_by: row.opt_text(8)?,
        lease_until: row.opt_time(9)?,
        delivered_at: row.opt_time(10)?,
    })
}

fn quarantine_from(row: &Row) -> Result<QuarantineRecord, StoreError> {
    Ok(QuarantineRecord {
        id: row.int(0)?,
        provider: parse_provider(&row.text(1)?)?,
        reference: row.text(2)?,
        bank_transaction_id: row.text(3)?,
        summary: row.text(4)?,
        why: row.text(5)?,
        first_at: row.time(6)?,
        last_at: row.time(7)?,
        seen_count: u32::try_from(row.int(8)?.max(0)).unwrap_or(u32::MAX),
    })
}

fn payment_from(row: &Row) -> Result<PaymentRecord, StoreError> {
    Ok(PaymentRecord {
        id: row.int(0)?,
        reference: parse_reference(&row.text(1)?)?,
        amount: parse_amount(row.int(2)?, &row.text(3)?)?,
        bank_transaction_id: row.opt_text(4)?,
        source: parse_source(&row.text(5)?, row.opt_text(6)?, row.opt_text(7)?)?,
        recorded_at: row.time(8)?,
    })
}

/// Keeps at most `max` characters, without control characters: quarantine input comes from
/// outside and must be stored whatever it is.
fn clip(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// Effects the store applies itself inside the transaction; their outbox rows are written
/// delivered so the relay never sees them.
pub(crate) fn applied_in_store(e: &Effect) -> bool {
    matches!(e, Effect::SupersedeSiblings | Effect::Quarantine { .. })
}

impl Core {
    fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    async fn begin(&self, write: bool, op: &'static str) -> Result<Box<dyn Tx>, StoreError> {
        self.backend
            .begin(write)
            .await
            .map_err(|e| StoreError::from_db(op, e))
    }

    pub(crate) async fn create_checkout(
        &self,
        new: NewCheckout,
    ) -> Result<CheckoutRecord, StoreError> {
        new.check()?;
        let op = "create checkout";
        let mut tx = self.begin(true, op).await?;
        let inserted = tx
            .exec(
                "INSERT INTO checkouts (reference, provider, amount_minor, currency, shop_order_id, \
                 status, customer_email, customer_name, delivery_date, retract_at, provider_data, \
                 created_at, updated_at, language, description, item_count) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15)",
                vec![
                    new.reference.as_str().into(),
                    new.provider.as_str().into(),
                    minor(new.amount).into(),
                    new.amount.currency().alpha().into(),
                    new.shop_order_id.clone().into(),
                    CheckoutStatus::AwaitingPayment.as_str().into(),
                    new.customer_email.clone().into(),
                    new.customer_name.clone().into(),
                    new.delivery_date.map(|d| d.to_string()).into(),
                    new.retract_at.into(),
                    new.provider_data.clone().into(),
                    new.created_at.into(),
                    new.language.map(lang_str).into(),
                    new.description.clone().into(),
                    new.item_count.map(i64::from).into(),
                ],
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists {
                    reference: new.reference,
                });
            }
            Err(e) => return Err(StoreError::from_db(op, e)),
            Ok(_) => {}
        }
        let record = load_checkout(tx.as_mut(), &new.reference)
            .await
            .map_err(Fail::into_store)?
            .ok_or_else(|| StoreError::corrupt("created checkout vanished"))?;
        tx.commit().await.map_err(|e| StoreError::from_db(op, e))?;
        Ok(record)
    }

    pub(crate) async fn apply_event(
        &self,
        reference: &PaymentReference,
        input: EventInput,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        check_input(reference, &input)?;
        let mut attempt = 0;
        loop {
            match self.try_apply(reference, &input, now).await {
                Ok(applied) => return Ok(applied),
                Err(Fail::Db(_, e)) if is_retryable(&e) && attempt < RETRIES => attempt += 1,
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
        let applied = apply_in(tx.as_mut(), self.dialect(), reference, input, now).await?;
        tx.commit().await.op("commit event")?;
        Ok(applied)
    }

    pub(crate) async fn apply_events(
        &self,
        batch: Vec<(PaymentReference, EventInput)>,
        now: Timestamp,
    ) -> Vec<Result<Applied, StoreError>> {
        let mut results: Vec<Option<Result<Applied, StoreError>>> = Vec::with_capacity(batch.len());
        // Inputs that fail their own checks never reach the transaction.
        let mut todo = Vec::with_capacity(batch.len());
        for (i, (reference, input)) in batch.iter().enumerate() {
            match check_input(reference, input) {
                Ok(()) => {
                    results.push(None);
                    todo.push(i);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // One lock order for every committer (PostgreSQL row locks): by reference.
        todo.sort_by(|&a, &b| batch[a].0.cmp(&batch[b].0));
        let mut retry_alone = Vec::new();
        if !todo.is_empty() {
            let op = "apply events";
            match self.backend.begin(true).await {
                Err(e) => {
                    for &i in &todo {
                        results[i] = Some(Err(StoreError::from_db_ref(op, &e)));
                    }
                    todo.clear();
                }
                Ok(mut tx) => {
                    let mut pending = Vec::new();
                    let mut slow = todo.clone();
                    if self.dialect() == Dialect::Sqlite {
                        match batch::apply_batch(tx.as_mut(), &batch, &todo, now).await {
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
                                // Declined (a database error, an unexpected row count): undo
                                // it all and let the per-event path decide, savepoint by
                                // savepoint, in a new transaction.
                                let restarted = match tx.rollback().await {
                                    Ok(()) => self.backend.begin(true).await,
                                    Err(e) => Err(e),
                                };
                                match restarted {
                                    Ok(again) => tx = again,
                                    Err(e) => {
                                        for &i in &todo {
                                            results[i] = Some(Err(StoreError::from_db_ref(op, &e)));
                                        }
                                        return results
                                            .into_iter()
                                            .map(|r| {
                                                r.unwrap_or_else(|| {
                                                    Err(StoreError::corrupt(
                                                        "event left without a result",
                                                    ))
                                                })
                                            })
                                            .collect();
                                    }
                                }
                            }
                        }
                    }
                    for &i in &slow {
                        let (reference, input) = &batch[i];
                        // A savepoint per event: one failing event rolls back alone.
                        if let Err(e) = tx.exec("SAVEPOINT tpe_event", Vec::new()).await {
                            results[i] = Some(Err(StoreError::from_db(op, e)));
                            continue;
                        }
                        let outcome =
                            apply_in(tx.as_mut(), self.dialect(), reference, input, now).await;
                        let end = match &outcome {
                            Ok(_) => tx.exec("RELEASE SAVEPOINT tpe_event", Vec::new()).await,
                            Err(_) => match tx
                                .exec("ROLLBACK TO SAVEPOINT tpe_event", Vec::new())
                                .await
                            {
                                Ok(_) => tx.exec("RELEASE SAVEPOINT tpe_event", Vec::new()).await,
                                Err(e) => Err(e),
                            },
                        };
                        match (outcome, end) {
                            (_, Err(e)) => results[i] = Some(Err(StoreError::from_db(op, e))),
                            (Ok(applied), Ok(_)) => pending.push((i, applied)),
                            (Err(Fail::Db(_, e)), Ok(_)) if is_retryable(&e) => {
                                retry_alone.push(i);
                            }
                            (Err(f), Ok(_)) => results[i] = Some(Err(f.into_store())),
                        }
                    }
                    match tx.commit().await {
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
                }
            }
        }
        // A deadlock or serialization failure inside the batch: run that event on its own,
        // with the usual retries.
        for i in retry_alone {
            let (reference, input) = &batch[i];
            results[i] = Some(self.apply_event(reference, input.clone(), now).await);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::corrupt("event left without a result"))))
            .collect()
    }
}

/// The lifecycle event an input stands for.
pub(crate) fn event_for(
    input: &EventInput,
    now: Timestamp,
    order_paid_by: Option<PaymentReference>,
) -> Event {
    match input {
        EventInput::Notification(n) => Event::Notification {
            verdict: BankVerdict {
                bank_transaction_id: n.bank_transaction_id.clone(),
                outcome: n.outcome.clone(),
                amount: n.amount,
            },
            order_paid_by,
        },
        EventInput::ReconciledPaid {
            bank_transaction_id,
            amount,
        } => Event::ReconciledPaid {
            bank_transaction_id: bank_transaction_id.clone(),
            amount: *amount,
            order_paid_by,
        },
        EventInput::ManualValidation { author, note } => Event::ManualValidation {
            author: author.clone(),
            note: note.clone(),
        },
        EventInput::Retract => Event::Retract { now },
        EventInput::BrowserReturn => Event::BrowserReturn,
    }
}

/// The audit row's author and detail for an input.
pub(crate) fn audit_parts(input: &EventInput) -> (Option<String>, Option<String>) {
    match input {
        EventInput::ManualValidation { author, note } => (Some(author.clone()), Some(note.clone())),
        EventInput::Notification(n) => (
            None,
            Some(format!("bank transaction {}", n.bank_transaction_id)),
        ),
        EventInput::ReconciledPaid {
            bank_transaction_id,
            ..
        } => (
            None,
            Some(format!("bank transaction {bank_transaction_id}")),
        ),
        _ => (None, None),
    }
}

/// Applies one event inside an open transaction (see [`Core::apply_event`]); the caller
/// commits, or rolls back on error.
async fn apply_in(
    tx: &mut dyn Tx,
    dialect: Dialect,
    reference: &PaymentReference,
    input: &EventInput,
    now: Timestamp,
) -> Result<Applied, Fail> {
    let op = "apply event";
    lock_for_event(tx, reference, dialect).await?;
    let record = load_checkout(tx, reference)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            reference: reference.to_string(),
        })?;
    if let EventInput::Notification(n) = input
        && n.provider != record.provider
    {
        return Err(StoreError::ProviderMismatch {
            reference: reference.clone(),
            expected: record.provider,
            received: n.provider.clone(),
        }
        .into());
    }
    let mut seen = BTreeSet::new();
    for row in tx
        .rows(
            "SELECT bank_transaction_id, outcome FROM bank_transactions WHERE reference = $1",
            vec![reference.as_str().into()],
            &[T, T],
        )
        .await
        .op(op)?
    {
        seen.insert((row.text(0)?, outcome_kind(&row.text(1)?)?));
    }
    let state = state_of(&record, seen);
    let order_paid_by = match (input, &record.shop_order_id) {
        (EventInput::Notification(_) | EventInput::ReconciledPaid { .. }, Some(order)) => tx
            .rows(
                "SELECT reference FROM checkouts WHERE shop_order_id = $1 AND reference <> $2 \
                     AND status = 'valid' ORDER BY reference LIMIT 1",
                vec![order.as_str().into(), reference.as_str().into()],
                &[T],
            )
            .await
            .op(op)?
            .first()
            .map(|r| r.text(0).and_then(|s| parse_reference(&s)))
            .transpose()?,
        _ => None,
    };
    let event = event_for(input, now, order_paid_by);
    let transition = apply(&state, &event).map_err(StoreError::from)?;
    let unchanged = Applied {
        reference: reference.clone(),
        duplicate: true,
        previous: state.status,
        status: state.status,
        effects: Vec::new(),
        superseded: Vec::new(),
    };
    if transition.duplicate {
        return Ok(unchanged); // dropped: rolled back, nothing written
    }
    if matches!(input, EventInput::BrowserReturn) {
        return Ok(Applied {
            duplicate: false,
            ..unchanged
        });
    }

    // The bank transaction row: its unique key makes a replay that raced past the
    // in-memory check a no-op too.
    let txn_row = match input {
        EventInput::Notification(n) => Some(bank_row_notification(n)),
        EventInput::ReconciledPaid {
            bank_transaction_id,
            amount,
        } => Some(bank_row_reconciled(
            &record.provider,
            reference,
            bank_transaction_id,
            *amount,
        )),
        _ => None,
    };
    if let Some(mut args) = txn_row {
        args.push(now.into());
        let n = tx
            .exec(
                "INSERT INTO bank_transactions (provider, reference, bank_transaction_id, \
                     outcome, amount_minor, currency, source, reason_kind, reason_code, \
                     authorization_code, card, event_id, received_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT (provider, reference, bank_transaction_id, outcome) DO NOTHING",
                args,
            )
            .await
            .op("insert bank transaction")?;
        if n == 0 {
            return Ok(unchanged);
        }
    }

    let next = &transition.state;
    let (by, author, note) = source_cols(next.validated_by.as_ref());
    tx.exec(
        "UPDATE checkouts SET status = $2, amount_mismatch = $3, superseded_by = $4, \
             validated_by = $5, validated_author = $6, validated_note = $7, updated_at = $8, \
             version = version + 1 WHERE reference = $1",
        vec![
            reference.as_str().into(),
            next.status.as_str().into(),
            next.amount_mismatch.into(),
            next.superseded_by.as_ref().map(|r| r.as_str()).into(),
            by.into(),
            author.into(),
            note.into(),
            now.into(),
        ],
    )
    .await
    .op("update checkout")?;

    let mut effects = Vec::new();
    let mut superseded = Vec::new();
    for effect in &transition.effects {
        let payload = serde_json::to_string(effect)
            .map_err(|e| StoreError::corrupt(format!("effect cannot be serialized: {e}")))?;
        let delivered = applied_in_store(effect).then_some(now.as_millisecond());
        let n = tx
            .exec(
                "INSERT INTO outbox (reference, effect_key, kind, payload, created_at, due_at, \
                     delivered_at) VALUES ($1, $2, $3, $4, $5, $5, $6) \
                     ON CONFLICT (reference, effect_key) DO NOTHING",
                vec![
                    reference.as_str().into(),
                    effect.key().into(),
                    effect.kind().into(),
                    payload.into(),
                    now.into(),
                    delivered.into(),
                ],
            )
            .await
            .op("insert outbox effect")?;
        if n == 0 {
            continue; // this effect already exists for this checkout
        }
        match effect {
            Effect::RecordPayment {
                amount,
                bank_transaction_id,
                source,
            } => {
                let (by, author, note) = source_cols(Some(source));
                tx.exec(
                    "INSERT INTO payment_records (reference, record_key, amount_minor, \
                         currency, bank_transaction_id, source, author, note, recorded_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    vec![
                        reference.as_str().into(),
                        effect.key().into(),
                        minor(*amount).into(),
                        amount.currency().alpha().into(),
                        bank_transaction_id.clone().into(),
                        by.into(),
                        author.into(),
                        note.into(),
                        now.into(),
                    ],
                )
                .await
                .op("insert payment record")?;
            }
            Effect::SupersedeSiblings => {
                superseded = supersede_siblings(tx, next, now).await?;
            }
            Effect::Quarantine {
                bank_transaction_id,
                why,
            } => {
                let summary = match input {
                    EventInput::Notification(n) => summarize(n),
                    _ => event.name().to_owned(),
                };
                insert_quarantine(
                    tx,
                    &QuarantineInput::new(
                        record.provider.clone(),
                        reference.as_str(),
                        Some(bank_transaction_id.clone()),
                        summary,
                        why.clone(),
                    ),
                    now,
                )
                .await?;
            }
            _ => {}
        }
        effects.push(effect.clone());
    }

    let (author, detail) = audit_parts(input);
    insert_audit(
        tx,
        reference,
        event.name(),
        author,
        detail,
        state.status,
        next.status,
        now,
    )
    .await?;
    Ok(Applied {
        reference: reference.clone(),
        duplicate: false,
        previous: state.status,
        status: next.status,
        effects,
        superseded,
    })
}

impl Core {
    pub(crate) async fn quarantine(
        &self,
        input: QuarantineInput,
        now: Timestamp,
    ) -> Result<QuarantineRecord, StoreError> {
        let op = "quarantine";
        let mut tx = self.begin(true, op).await?;
        let record = insert_quarantine(tx.as_mut(), &input, now)
            .await
            .map_err(Fail::into_store)?;
        tx.commit().await.map_err(|e| StoreError::from_db(op, e))?;
        Ok(record)
    }

    /// Runs one read-only query and decodes its rows.
    async fn read<R>(
        &self,
        op: &'static str,
        sql: &'static str,
        args: Vec<Val>,
        kinds: &[Kind],
        decode: fn(&Row) -> Result<R, StoreError>,
    ) -> Result<Vec<R>, StoreError> {
        let mut tx = self.begin(false, op).await?;
        let rows = tx
            .rows(sql, args, kinds)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        rows.iter().map(decode).collect()
    }

    pub(crate) async fn quarantined(
        &self,
        limit: u32,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        let limit = check_limit(limit)?;
        self.read(
            "list quarantine",
            concat!(
                "SELECT ",
                quarantine_cols!(),
                " FROM quarantine ORDER BY last_at DESC, id DESC LIMIT $1"
            ),
            vec![limit.into()],
            QUARANTINE_KINDS,
            quarantine_from,
        )
        .await
    }

    pub(crate) async fn list_checkouts(&self, query: CheckoutQuery) -> Result<Page, StoreError> {
        let limit = check_limit(query.limit)?;
        // No cursor: start above every row. Row-value comparison works in both databases.
        let (at, after) = query
            .cursor
            .as_ref()
            .map_or((i64::MAX, String::new()), |c| {
                (c.created_at, c.reference.as_str().to_owned())
            });
        let mut items = match query.status {
            Some(status) => {
                self.read(
                    "list checkouts",
                    concat!(
                        "SELECT ",
                        checkout_cols!(),
                        " FROM checkouts WHERE status = $1 AND (created_at, reference) < ($2, $3) \
                         ORDER BY created_at DESC, reference DESC LIMIT $4"
                    ),
                    vec![
                        status.as_str().into(),
                        at.into(),
                        after.into(),
                        (limit + 1).into(),
                    ],
                    CHECKOUT_KINDS,
                    checkout_from,
                )
                .await?
            }
            None => {
                self.read(
                    "list checkouts",
                    concat!(
                        "SELECT ",
                        checkout_cols!(),
                        " FROM checkouts WHERE (created_at, reference) < ($1, $2) \
                         ORDER BY created_at DESC, reference DESC LIMIT $3"
                    ),
                    vec![at.into(), after.into(), (limit + 1).into()],
                    CHECKOUT_KINDS,
                    checkout_from,
                )
                .await?
            }
        };
        let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = more.then(|| items.last()).flatten().map(|last| Cursor {
            created_at: last.created_at.as_millisecond(),
            reference: last.reference.clone(),
        });
        Ok(Page { items, next })
    }

    pub(crate) async fn checkout(
        &self,
        reference: &PaymentReference,
    ) -> Result<CheckoutDetail, StoreError> {
        let op = "read checkout";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.begin(false, op).await?;
        let tx = tx.as_mut();
        let checkout = load_checkout(tx, reference)
            .await
            .map_err(Fail::into_store)?
            .ok_or_else(|| StoreError::NotFound {
                reference: reference.to_string(),
            })?;
        let args = || vec![Val::from(reference.as_str())];
        let bank_transactions = tx
            .rows(
                "SELECT id, provider, bank_transaction_id, outcome, amount_minor, currency, source, \
                 reason_kind, reason_code, authorization_code, card, event_id, received_at \
                 FROM bank_transactions WHERE reference = $1 ORDER BY id",
                args(),
                &[I, T, T, T, I, T, T, T, T, T, T, T, I],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(BankTransactionRecord {
                    id: r.int(0)?,
                    provider: parse_provider(&r.text(1)?)?,
                    bank_transaction_id: r.text(2)?,
                    outcome: outcome_kind(&r.text(3)?)?,
                    amount: parse_amount(r.int(4)?, &r.text(5)?)?,
                    source: r.text(6)?,
                    reason_kind: r.opt_text(7)?,
                    reason_code: r.opt_text(8)?,
                    authorization: r.opt_text(9)?,
                    card: r.opt_text(10)?,
                    event_id: r.opt_text(11)?,
                    received_at: r.time(12)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let payments = tx
            .rows(
                concat!(
                    "SELECT ",
                    payment_cols!(),
                    " FROM payment_records WHERE reference = $1 ORDER BY id"
                ),
                args(),
                PAYMENT_KINDS,
            )
            .await
            .map_err(db)?
            .iter()
            .map(payment_from)
            .collect::<Result<_, _>>()?;
        let effects = tx
            .rows(
                concat!(
                    "SELECT ",
                    outbox_cols!(),
                    " FROM outbox WHERE reference = $1 ORDER BY id"
                ),
                args(),
                OUTBOX_KINDS,
            )
            .await
            .map_err(db)?
            .iter()
            .map(outbox_from)
            .collect::<Result<_, _>>()?;
        let audit = tx
            .rows(
                "SELECT id, reference, event, author, detail, status_before, status_after, at \
                 FROM audit WHERE reference = $1 ORDER BY id",
                args(),
                &[I, T, T, T, T, T, T, I],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(AuditRecord {
                    id: r.int(0)?,
                    reference: parse_reference(&r.text(1)?)?,
                    event: r.text(2)?,
                    author: r.opt_text(3)?,
                    detail: r.opt_text(4)?,
                    status_before: parse_status(&r.text(5)?)?,
                    status_after: parse_status(&r.text(6)?)?,
                    at: r.time(7)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(CheckoutDetail {
            checkout,
            bank_transactions,
            payments,
            effects,
            audit,
        })
    }

    pub(crate) async fn payment_records(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let limit = check_limit(limit)?;
        self.read(
            "list payment records",
            concat!(
                "SELECT ",
                payment_cols!(),
                " FROM payment_records WHERE recorded_at >= $1 AND recorded_at < $2 \
                 ORDER BY recorded_at, id LIMIT $3"
            ),
            vec![from.into(), to.into(), limit.into()],
            PAYMENT_KINDS,
            payment_from,
        )
        .await
    }

    pub(crate) async fn due_for_retraction(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let limit = check_limit(limit)?;
        self.read(
            "list due retractions",
            concat!(
                "SELECT ",
                checkout_cols!(),
                " FROM checkouts WHERE status = 'awaiting_payment' AND retract_at <= $1 \
                 ORDER BY retract_at, reference LIMIT $2"
            ),
            vec![now.into(), limit.into()],
            CHECKOUT_KINDS,
            checkout_from,
        )
        .await
    }

    pub(crate) async fn claim_retraction(
        &self,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let limit = check_limit(limit)?;
        let op = "claim retraction";
        let sql = match self.dialect() {
            Dialect::Sqlite => concat!(
                "UPDATE checkouts SET retract_lease_until = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND retract_at <= $2 AND (retract_lease_until IS NULL OR retract_lease_until <= $2) \
                 ORDER BY retract_at, reference LIMIT $3) RETURNING ",
                checkout_cols!()
            ),
            Dialect::Postgres => concat!(
                "UPDATE checkouts SET retract_lease_until = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND retract_at <= $2 AND (retract_lease_until IS NULL OR retract_lease_until <= $2) \
                 ORDER BY retract_at, reference LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
                checkout_cols!()
            ),
        };
        let params = vec![plus(now, lease).into(), now.into(), limit.into()];
        let mut out = self.claim_checkouts(op, sql, params).await?;
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
        let op = "claim reconciliation";
        let created_before = now.checked_sub(min_age).unwrap_or(Timestamp::MIN);
        let sql = match self.dialect() {
            Dialect::Sqlite => concat!(
                "UPDATE checkouts SET next_reconcile_at = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND created_at <= $2 AND (next_reconcile_at IS NULL OR next_reconcile_at <= $3) \
                 ORDER BY COALESCE(next_reconcile_at, created_at), reference LIMIT $4) \
                 RETURNING ",
                checkout_cols!()
            ),
            Dialect::Postgres => concat!(
                "UPDATE checkouts SET next_reconcile_at = $1 WHERE reference IN (\
                 SELECT reference FROM checkouts WHERE status = 'awaiting_payment' \
                 AND created_at <= $2 AND (next_reconcile_at IS NULL OR next_reconcile_at <= $3) \
                 ORDER BY COALESCE(next_reconcile_at, created_at), reference LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) RETURNING ",
                checkout_cols!()
            ),
        };
        let params = vec![
            plus(now, lease).into(),
            created_before.into(),
            now.into(),
            limit.into(),
        ];
        let mut out = self.claim_checkouts(op, sql, params).await?;
        out.sort_by(|a, b| (a.created_at, &a.reference).cmp(&(b.created_at, &b.reference)));
        Ok(out)
    }

    /// Runs a leasing `UPDATE … RETURNING` of checkouts in its own write transaction.
    async fn claim_checkouts(
        &self,
        op: &'static str,
        sql: &'static str,
        params: Vec<Val>,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let mut tx = self.begin(true, op).await?;
        let rows = tx
            .rows(sql, params, CHECKOUT_KINDS)
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        let out = rows
            .iter()
            .map(checkout_from)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(|e| StoreError::from_db(op, e))?;
        Ok(out)
    }

    pub(crate) async fn reschedule_reconciliation(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        let op = "reschedule reconciliation";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.begin(true, op).await?;
        let rows = tx
            .rows(
                "SELECT reconcile_attempts FROM checkouts WHERE reference = $1",
                vec![reference.as_str().into()],
                &[I],
            )
            .await
            .map_err(db)?;
        let attempts = rows
            .first()
            .ok_or_else(|| StoreError::NotFound {
                reference: reference.to_string(),
            })?
            .int(0)?
            .saturating_add(1);
        let salt = reference.as_str().bytes().map(i64::from).sum::<i64>();
        let next = plus(
            now,
            self.reconcile_backoff
                .delay(u32::try_from(attempts).unwrap_or(u32::MAX), salt),
        );
        tx.exec(
            "UPDATE checkouts SET reconcile_attempts = $2, next_reconcile_at = $3 \
             WHERE reference = $1",
            vec![reference.as_str().into(), attempts.into(), next.into()],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
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
        let sql = match self.dialect() {
            Dialect::Sqlite => concat!(
                "UPDATE outbox SET leased_by = $1, lease_until = $2 WHERE id IN (\
                 SELECT id FROM outbox WHERE delivered_at IS NULL AND due_at <= $3 \
                 AND (lease_until IS NULL OR lease_until <= $3) ORDER BY due_at, id LIMIT $4) \
                 RETURNING ",
                outbox_cols!()
            ),
            Dialect::Postgres => concat!(
                "UPDATE outbox SET leased_by = $1, lease_until = $2 WHERE id IN (\
                 SELECT id FROM outbox WHERE delivered_at IS NULL AND due_at <= $3 \
                 AND (lease_until IS NULL OR lease_until <= $3) ORDER BY due_at, id LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) RETURNING ",
                outbox_cols!()
            ),
        };
        let mut tx = self.begin(true, op).await?;
        let rows = tx
            .rows(
                sql,
                vec![
                    worker_id.into(),
                    plus(now, lease).into(),
                    now.into(),
                    limit.into(),
                ],
                OUTBOX_KINDS,
            )
            .await
            .map_err(|e| StoreError::from_db(op, e))?;
        let mut out = rows
            .iter()
            .map(outbox_from)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(|e| StoreError::from_db(op, e))?;
        out.sort_by_key(|e| (e.due_at, e.id));
        Ok(out)
    }

    pub(crate) async fn mark_delivered(
        &self,
        effect_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let op = "mark effect delivered";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.begin(true, op).await?;
        let n = tx
            .exec(
                "UPDATE outbox SET delivered_at = $2, leased_by = NULL, lease_until = NULL \
                 WHERE id = $1 AND delivered_at IS NULL",
                vec![effect_id.into(), now.into()],
            )
            .await
            .map_err(db)?;
        if n == 0 {
            let exists = tx
                .rows(
                    "SELECT id FROM outbox WHERE id = $1",
                    vec![effect_id.into()],
                    &[I],
                )
                .await
                .map_err(db)?;
            if exists.is_empty() {
                return Err(StoreError::EffectNotFound { id: effect_id });
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(n > 0)
    }

    pub(crate) async fn reschedule(
        &self,
        effect_id: i64,
        now: Timestamp,
        error: &str,
    ) -> Result<Timestamp, StoreError> {
        let op = "reschedule effect";
        let db = |e| StoreError::from_db(op, e);
        let mut tx = self.begin(true, op).await?;
        let rows = tx
            .rows(
                "SELECT attempts, delivered_at FROM outbox WHERE id = $1",
                vec![effect_id.into()],
                &[I, I],
            )
            .await
            .map_err(db)?;
        let row = rows
            .first()
            .ok_or(StoreError::EffectNotFound { id: effect_id })?;
        if let Some(at) = row.opt_time(1)? {
            return Ok(at); // delivered meanwhile (an expired lease taken over): keep it so
        }
        let attempts = row.int(0)?.saturating_add(1);
        let due = plus(
            now,
            self.outbox_backoff
                .delay(u32::try_from(attempts).unwrap_or(u32::MAX), effect_id),
        );
        tx.exec(
            "UPDATE outbox SET attempts = $2, due_at = $3, last_error = $4, leased_by = NULL, \
             lease_until = NULL WHERE id = $1",
            vec![
                effect_id.into(),
                attempts.into(),
                due.into(),
                clip(error, MAX_NOTE).into(),
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(due)
    }
}

/// Checks the parts of an event that come from outside before any transaction.
fn check_input(reference: &PaymentReference, input: &EventInput) -> Result<(), StoreError> {
    match input {
        EventInput::Notification(n) => {
            if n.reference != *reference {
                return Err(StoreError::invalid(
                    "notification",
                    format!("names {} but is applied to {reference}", n.reference),
                ));
            }
            bounded(
                "bank_transaction_id",
                &n.bank_transaction_id,
                1,
                VerifiedNotification::MAX_TRANSACTION_ID,
            )
        }
        EventInput::ReconciledPaid {
            bank_transaction_id,
            ..
        } => bounded(
            "bank_transaction_id",
            bank_transaction_id,
            1,
            VerifiedNotification::MAX_TRANSACTION_ID,
        ),
        EventInput::ManualValidation { author, note } => {
            bounded("author", author, 1, MAX_AUTHOR)?;
            bounded("note", note, 0, MAX_NOTE)
        }
        _ => Ok(()),
    }
}

/// Locks what the event may write. SQLite: `BEGIN IMMEDIATE` already holds the write lock.
/// PostgreSQL: the checkout row, and when it belongs to an order every checkout of that order
/// in reference order (one lock order for everyone, so superseding siblings cannot deadlock and
/// "another checkout of this order is valid" is read under lock).
async fn lock_for_event(
    tx: &mut dyn Tx,
    reference: &PaymentReference,
    dialect: Dialect,
) -> Result<(), Fail> {
    if dialect == Dialect::Sqlite {
        return Ok(());
    }
    let op = "lock checkout";
    let rows = tx
        .rows(
            "SELECT shop_order_id FROM checkouts WHERE reference = $1",
            vec![reference.as_str().into()],
            &[T],
        )
        .await
        .op(op)?;
    match rows.first().map(|r| r.opt_text(0)).transpose()?.flatten() {
        Some(order) => {
            tx.rows(
                "SELECT reference FROM checkouts WHERE shop_order_id = $1 ORDER BY reference \
                 FOR UPDATE",
                vec![order.into()],
                &[T],
            )
            .await
            .op(op)?;
        }
        None => {
            tx.rows(
                "SELECT reference FROM checkouts WHERE reference = $1 FOR UPDATE",
                vec![reference.as_str().into()],
                &[T],
            )
            .await
            .op(op)?;
        }
    }
    Ok(())
}

async fn load_checkout(
    tx: &mut dyn Tx,
    reference: &PaymentReference,
) -> Result<Option<CheckoutRecord>, Fail> {
    let rows = tx
        .rows(
            concat!(
                "SELECT ",
                checkout_cols!(),
                " FROM checkouts WHERE reference = $1"
            ),
            vec![reference.as_str().into()],
            CHECKOUT_KINDS,
        )
        .await
        .op("read checkout")?;
    Ok(rows.first().map(checkout_from).transpose()?)
}

pub(crate) fn bank_row_notification(n: &VerifiedNotification) -> Vec<Val> {
    let (reason_kind, reason_code, authorization) = match &n.outcome {
        BankOutcome::Refused { reason } => (
            Some(reason.kind().as_str().to_owned()),
            Some(reason.code().to_owned()),
            None,
        ),
        BankOutcome::Accepted { authorization } => {
            (None, None, authorization.as_deref().map(|a| clip(a, 64)))
        }
        _ => (None, None, None),
    };
    vec![
        n.provider.as_str().into(),
        n.reference.as_str().into(),
        n.bank_transaction_id.clone().into(),
        n.outcome.kind().as_str().into(),
        minor(n.amount).into(),
        n.amount.currency().alpha().into(),
        "notification".into(),
        reason_kind.into(),
        reason_code.into(),
        authorization.into(),
        n.card.as_ref().map(ToString::to_string).into(),
        n.event_id.clone().into(),
    ]
}

pub(crate) fn bank_row_reconciled(
    provider: &ProviderId,
    reference: &PaymentReference,
    bank_transaction_id: &str,
    amount: Amount,
) -> Vec<Val> {
    vec![
        provider.as_str().into(),
        reference.as_str().into(),
        bank_transaction_id.into(),
        OutcomeKind::Accepted.as_str().into(),
        minor(amount).into(),
        amount.currency().alpha().into(),
        "reconciliation".into(),
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
    ]
}

/// A notification's summary for the quarantine: no card number (only the masked summary).
pub(crate) fn summarize(n: &VerifiedNotification) -> String {
    format!(
        "{} {} for {}: {} announced{}",
        n.provider,
        n.outcome.kind().as_str(),
        n.reference,
        n.amount,
        n.card
            .as_ref()
            .map(|c| format!(", card {c}"))
            .unwrap_or_default()
    )
}

/// Applies `Event::Superseded` to the other checkouts of the order still awaiting payment.
async fn supersede_siblings(
    tx: &mut dyn Tx,
    by: &CheckoutState,
    now: Timestamp,
) -> Result<Vec<PaymentReference>, Fail> {
    let Some(order) = &by.shop_order_id else {
        return Ok(Vec::new());
    };
    let siblings = tx
        .rows(
            "SELECT reference FROM checkouts WHERE shop_order_id = $1 AND reference <> $2 \
             AND status = 'awaiting_payment' ORDER BY reference",
            vec![order.as_str().into(), by.reference.as_str().into()],
            &[T],
        )
        .await
        .op("read sibling checkouts")?;
    let mut out = Vec::new();
    for row in siblings {
        let reference = parse_reference(&row.text(0)?)?;
        let Some(sibling) = load_checkout(tx, &reference).await? else {
            continue;
        };
        let state = CheckoutState {
            reference: sibling.reference.clone(),
            provider: sibling.provider.clone(),
            amount: sibling.amount,
            shop_order_id: sibling.shop_order_id.clone(),
            status: sibling.status,
            amount_mismatch: sibling.amount_mismatch,
            superseded_by: sibling.superseded_by.clone(),
            validated_by: sibling.validated_by.clone(),
            retract_at: sibling.retract_at,
            seen: BTreeSet::new(),
        };
        let event = Event::Superseded {
            by: by.reference.clone(),
        };
        let next = apply(&state, &event).map_err(StoreError::from)?.state;
        if next.superseded_by == state.superseded_by {
            continue;
        }
        tx.exec(
            "UPDATE checkouts SET superseded_by = $2, updated_at = $3, version = version + 1 \
             WHERE reference = $1",
            vec![
                reference.as_str().into(),
                next.superseded_by.as_ref().map(|r| r.as_str()).into(),
                now.into(),
            ],
        )
        .await
        .op("supersede sibling")?;
        insert_audit(
            tx,
            &reference,
            event.name(),
            None,
            Some(format!("superseded by {}", by.reference)),
            state.status,
            next.status,
            now,
        )
        .await?;
        out.push(reference);
    }
    Ok(out)
}

pub(crate) async fn insert_quarantine(
    tx: &mut dyn Tx,
    input: &QuarantineInput,
    now: Timestamp,
) -> Result<QuarantineRecord, Fail> {
    let rows = tx
        .rows(
            concat!(
                "INSERT INTO quarantine (provider, reference, bank_transaction_id, summary, why, \
                 first_at, last_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (provider, reference, bank_transaction_id, why) DO UPDATE \
                 SET last_at = excluded.last_at, seen_count = quarantine.seen_count + 1 \
                 RETURNING ",
                quarantine_cols!()
            ),
            vec![
                input.provider.as_str().into(),
                clip(&input.reference, 64).into(),
                clip(
                    input.bank_transaction_id.as_deref().unwrap_or(""),
                    VerifiedNotification::MAX_TRANSACTION_ID,
                )
                .into(),
                clip(&input.summary, MAX_NOTE).into(),
                clip(&input.why, 500).into(),
                now.into(),
            ],
            QUARANTINE_KINDS,
        )
        .await
        .op("insert quarantine")?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::corrupt("quarantine insert returned no row"))?;
    Ok(quarantine_from(row)?)
}

#[allow(clippy::too_many_arguments)] // one audit row has that many columns
async fn insert_audit(
    tx: &mut dyn Tx,
    reference: &PaymentReference,
    event: &str,
    author: Option<String>,
    detail: Option<String>,
    before: CheckoutStatus,
    after: CheckoutStatus,
    now: Timestamp,
) -> Result<(), Fail> {
    tx.exec(
        "INSERT INTO audit (reference, event, author, detail, status_before, status_after, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            reference.as_str().into(),
            event.into(),
            author.into(),
            detail.into(),
            before.as_str().into(),
            after.as_str().into(),
            now.into(),
        ],
    )
    .await
    .op("insert audit")?;
    Ok(())
}

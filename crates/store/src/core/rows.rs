//! Rows as the database stores them, read by column name (`#[derive(sqlx::FromRow)]`), and
//! their conversion to the store's records: every stored value is checked on the way out, and
//! one that cannot be read back is [`StoreError::Corrupt`].

use tpe_core::lifecycle::ValidationSource;
use tpe_core::{
    Amount, BankReference, CheckoutStatus, Currency, Effect, Lang, OutcomeKind, PaymentReference,
    ProviderId, Timestamp,
};

use crate::error::StoreError;
use crate::raw::RawCopy;
use crate::types::{
    AuditRecord, BankTransactionRecord, CheckoutRecord, OutboxEffect, PaymentRecord,
    QuarantineEntry, QuarantineRecord,
};

/// A `checkouts` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CheckoutRow {
    pub(crate) reference: String,
    provider: String,
    amount_minor: i64,
    currency: String,
    shop_order_id: Option<String>,
    status: String,
    amount_mismatch: i64,
    superseded_by: Option<String>,
    validated_by: Option<String>,
    validated_author: Option<String>,
    validated_note: Option<String>,
    customer_email: String,
    customer_name: String,
    delivery_date: Option<String>,
    retract_at: i64,
    provider_data: Option<String>,
    bank_reference: Option<String>,
    created_at: i64,
    updated_at: i64,
    reconcile_attempts: i64,
    next_reconcile_at: Option<i64>,
    version: i64,
    language: Option<String>,
    description: Option<String>,
    item_count: Option<i64>,
    retract_lease_until: Option<i64>,
    schedule: Option<String>,
    instalments: Option<String>,
    refunds: Option<String>,
}

impl TryFrom<CheckoutRow> for CheckoutRecord {
    type Error = StoreError;
    fn try_from(row: CheckoutRow) -> Result<Self, StoreError> {
        let validated_by = row
            .validated_by
            .map(|by| parse_source(&by, row.validated_author, row.validated_note))
            .transpose()?;
        let delivery_date = row
            .delivery_date
            .map(|d| {
                d.parse::<jiff::civil::Date>()
                    .map_err(|e| StoreError::corrupt(format!("delivery date {d:?}: {e}")))
            })
            .transpose()?;
        Ok(Self {
            reference: parse_reference(&row.reference)?,
            provider: parse_provider(&row.provider)?,
            amount: parse_amount(row.amount_minor, &row.currency)?,
            shop_order_id: row.shop_order_id,
            status: parse_status(&row.status)?,
            amount_mismatch: row.amount_mismatch != 0,
            superseded_by: row.superseded_by.map(|s| parse_reference(&s)).transpose()?,
            validated_by,
            customer_email: row.customer_email,
            customer_name: row.customer_name,
            delivery_date,
            retract_at: millis(row.retract_at)?,
            provider_data: row.provider_data,
            bank_reference: match row.bank_reference {
                Some(b) => BankReference::parse(&b)
                    .map_err(|e| StoreError::corrupt(format!("bank reference {b:?}: {e}")))?,
                None => BankReference::parse(&row.reference).map_err(|e| {
                    StoreError::corrupt(format!("reference {:?}: {e}", row.reference))
                })?,
            },
            created_at: millis(row.created_at)?,
            updated_at: millis(row.updated_at)?,
            reconcile_attempts: count(row.reconcile_attempts),
            next_reconcile_at: row.next_reconcile_at.map(millis).transpose()?,
            version: row.version,
            language: row.language.map(|l| parse_lang(&l)).transpose()?,
            description: row.description,
            item_count: row
                .item_count
                .map(|n| {
                    u32::try_from(n).map_err(|_| StoreError::corrupt(format!("item count {n}")))
                })
                .transpose()?,
            retract_lease_until: row.retract_lease_until.map(millis).transpose()?,
            schedule: row
                .schedule
                .map(|s| from_json(&s, "schedule"))
                .transpose()?,
            instalments: row
                .instalments
                .map(|s| from_json(&s, "instalments"))
                .transpose()?
                .unwrap_or_default(),
            refunds: row
                .refunds
                .map(|s| from_json(&s, "refunds"))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// An `outbox` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    reference: String,
    effect_key: String,
    payload: String,
    created_at: i64,
    due_at: i64,
    attempts: i64,
    last_error: Option<String>,
    leased_by: Option<String>,
    lease_until: Option<i64>,
    delivered_at: Option<i64>,
    given_up_at: Option<i64>,
}

impl TryFrom<OutboxRow> for OutboxEffect {
    type Error = StoreError;
    fn try_from(row: OutboxRow) -> Result<Self, StoreError> {
        let effect: Effect = serde_json::from_str(&row.payload)
            .map_err(|e| StoreError::corrupt(format!("outbox row {} payload: {e}", row.id)))?;
        Ok(Self {
            id: row.id,
            reference: parse_reference(&row.reference)?,
            key: row.effect_key,
            effect,
            created_at: millis(row.created_at)?,
            due_at: millis(row.due_at)?,
            attempts: count(row.attempts),
            last_error: row.last_error,
            leased_by: row.leased_by,
            lease_until: row.lease_until.map(millis).transpose()?,
            delivered_at: row.delivered_at.map(millis).transpose()?,
            given_up_at: row.given_up_at.map(millis).transpose()?,
        })
    }
}

/// A `quarantine` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct QuarantineRow {
    id: i64,
    provider: String,
    reference: String,
    bank_transaction_id: String,
    summary: String,
    why: String,
    first_at: i64,
    last_at: i64,
    seen_count: i64,
}

impl TryFrom<QuarantineRow> for QuarantineRecord {
    type Error = StoreError;
    fn try_from(row: QuarantineRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            provider: parse_provider(&row.provider)?,
            reference: row.reference,
            bank_transaction_id: row.bank_transaction_id,
            summary: row.summary,
            why: row.why,
            first_at: millis(row.first_at)?,
            last_at: millis(row.last_at)?,
            seen_count: count(row.seen_count),
        })
    }
}

/// A `quarantine` row with the notification's bytes.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct QuarantineEntryRow {
    #[sqlx(flatten)]
    record: QuarantineRow,
    raw_method: Option<String>,
    raw_query: Option<Vec<u8>>,
    raw_body: Option<Vec<u8>>,
    raw_headers: Option<String>,
}

impl TryFrom<QuarantineEntryRow> for QuarantineEntry {
    type Error = StoreError;
    fn try_from(row: QuarantineEntryRow) -> Result<Self, StoreError> {
        let id = row.record.id;
        let raw = match (row.raw_method, row.raw_query, row.raw_body, row.raw_headers) {
            (Some(method), Some(query), Some(body), Some(headers)) => Some(RawCopy {
                method: RawCopy::parse_method(&method).ok_or_else(|| {
                    StoreError::corrupt(format!("quarantine {id}: method {method:?}"))
                })?,
                query,
                body,
                headers: serde_json::from_str(&headers)
                    .map_err(|e| StoreError::corrupt(format!("quarantine {id}: headers: {e}")))?,
            }),
            (None, None, None, None) => None,
            _ => {
                return Err(StoreError::corrupt(format!(
                    "quarantine {id}: partial bytes"
                )));
            }
        };
        Ok(Self {
            record: row.record.try_into()?,
            raw,
        })
    }
}

/// A `payment_records` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PaymentRow {
    id: i64,
    reference: String,
    amount_minor: i64,
    currency: String,
    bank_transaction_id: Option<String>,
    source: String,
    author: Option<String>,
    note: Option<String>,
    recorded_at: i64,
}

impl TryFrom<PaymentRow> for PaymentRecord {
    type Error = StoreError;
    fn try_from(row: PaymentRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            reference: parse_reference(&row.reference)?,
            amount: parse_amount(row.amount_minor, &row.currency)?,
            bank_transaction_id: row.bank_transaction_id,
            source: parse_source(&row.source, row.author, row.note)?,
            recorded_at: millis(row.recorded_at)?,
        })
    }
}

/// A `bank_transactions` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BankTransactionRow {
    id: i64,
    provider: String,
    bank_transaction_id: String,
    outcome: String,
    amount_minor: i64,
    currency: String,
    source: String,
    reason_kind: Option<String>,
    reason_code: Option<String>,
    authorization_code: Option<String>,
    card: Option<String>,
    event_id: Option<String>,
    instalment: Option<i64>,
    received_at: i64,
}

impl TryFrom<BankTransactionRow> for BankTransactionRecord {
    type Error = StoreError;
    fn try_from(row: BankTransactionRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            provider: parse_provider(&row.provider)?,
            bank_transaction_id: row.bank_transaction_id,
            outcome: outcome_kind(&row.outcome)?,
            amount: parse_amount(row.amount_minor, &row.currency)?,
            source: row.source,
            reason_kind: row.reason_kind,
            reason_code: row.reason_code,
            authorization: row.authorization_code,
            card: row.card,
            event_id: row.event_id,
            instalment: row
                .instalment
                .map(|n| {
                    u8::try_from(n).map_err(|_| StoreError::corrupt(format!("instalment {n}")))
                })
                .transpose()?,
            received_at: millis(row.received_at)?,
        })
    }
}

/// An `audit` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    reference: String,
    event: String,
    author: Option<String>,
    detail: Option<String>,
    status_before: String,
    status_after: String,
    at: i64,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;
    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            reference: parse_reference(&row.reference)?,
            event: row.event,
            author: row.author,
            detail: row.detail,
            status_before: parse_status(&row.status_before)?,
            status_after: parse_status(&row.status_after)?,
            at: millis(row.at)?,
        })
    }
}

/// A bank transaction a checkout has seen (its lifecycle's replay check).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SeenRow {
    pub(crate) bank_transaction_id: String,
    pub(crate) outcome: String,
}

/// An effect key already in a checkout's outbox.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EffectKeyRow {
    pub(crate) effect_key: String,
}

/// A checkout's reference.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReferenceRow {
    pub(crate) reference: String,
}

/// Converts rows to records, stopping at the first that cannot be read back.
pub(crate) fn records<R, T: TryFrom<R, Error = StoreError>>(
    rows: Vec<R>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}

/// A stored count, never negative.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|_| StoreError::corrupt(format!("timestamp {ms} ms is out of range")))
}

pub(crate) fn parse_reference(s: &str) -> Result<PaymentReference, StoreError> {
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

/// A stored bank outcome, read back.
pub(crate) fn outcome_kind(outcome: &str) -> Result<OutcomeKind, StoreError> {
    OutcomeKind::parse(outcome)
        .ok_or_else(|| StoreError::corrupt(format!("bank outcome {outcome:?}")))
}

/// A JSON column, checked on the way out (a schedule obeys its rules again).
fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("{what} {s:?}: {e}")))
}

//! One event, one plan: [`plan`] runs the lifecycle's pure state machine
//! ([`tpe_core::lifecycle::apply`]) on the checkout as the transaction read it and lists every
//! row the event writes. Applying an event alone, inside a batch's savepoint, or with the
//! SQLite batch fast path all write exactly these rows through one executor
//! ([`super::apply::write`]), so the paths cannot drift apart.

use std::collections::HashSet;

use serde::Serialize;
use tpe_core::lifecycle::{BankVerdict, ValidationSource, apply};
use tpe_core::{
    Amount, BankOutcome, CheckoutState, Effect, Event, OutcomeKind, PaymentReference, Timestamp,
    VerifiedNotification,
};

use super::clip;
use crate::error::StoreError;
use crate::types::{Applied, CheckoutRecord, EventInput, QuarantineInput};

/// A checkout as the transaction read it (and as the events planned so far leave it).
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) record: CheckoutRecord,
    /// Its lifecycle state, `seen` read from its bank transaction rows.
    pub(crate) state: CheckoutState,
    /// Keys of its effects already in the outbox.
    pub(crate) effect_keys: HashSet<String>,
}

impl Loaded {
    /// A stored checkout, with the bank transactions it has seen and its effect keys.
    pub(crate) fn new(
        record: CheckoutRecord,
        seen: impl IntoIterator<Item = (String, OutcomeKind)>,
        effect_keys: HashSet<String>,
    ) -> Self {
        let state = record.lifecycle_state(seen);
        Self {
            record,
            state,
            effect_keys,
        }
    }
}

/// What an event does.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made and taken apart once per event: boxing costs more
pub(crate) enum Step {
    /// Nothing to write: a replay (`duplicate`), or a browser return.
    Done(Applied),
    /// Rows to write.
    Write(Plan),
}

/// Every row one event writes. Each row serializes to a JSON object named like its columns:
/// the executor hands each table's rows to one statement as a JSON array.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The result, once written (`superseded` is filled by the executor).
    pub(crate) applied: Applied,
    /// The bank transaction: its unique key makes a replay that raced past the in-memory
    /// check write nothing, which the executor sees as a row count off the plan.
    pub(crate) bank: Option<BankRow>,
    pub(crate) checkout: CheckoutUpdate,
    /// New effects only (one already in the outbox for this checkout is not written again).
    pub(crate) outbox: Vec<OutboxRow>,
    pub(crate) payments: Vec<PaymentRow>,
    pub(crate) audit: AuditRow,
    pub(crate) quarantine: Vec<QuarantineInput>,
    /// `SupersedeSiblings`: the new state, whose order's other checkouts are superseded.
    pub(crate) supersede: Option<CheckoutState>,
}

#[derive(Debug, Serialize)]
pub(crate) struct BankRow {
    pub(super) provider: String,
    pub(super) reference: String,
    pub(super) bank_transaction_id: String,
    pub(super) outcome: &'static str,
    pub(super) amount_minor: i64,
    pub(super) currency: &'static str,
    pub(super) source: &'static str,
    pub(super) reason_kind: Option<&'static str>,
    pub(super) reason_code: Option<String>,
    pub(super) authorization_code: Option<String>,
    pub(super) card: Option<String>,
    pub(super) event_id: Option<String>,
    pub(super) instalment: Option<i64>,
    pub(super) received_at: i64,
}

/// The checkout's new state; `writes` transitions are added to its `version`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckoutUpdate {
    pub(crate) reference: String,
    pub(super) status: &'static str,
    pub(super) amount_mismatch: i64,
    pub(super) superseded_by: Option<String>,
    pub(super) validated_by: Option<&'static str>,
    pub(super) validated_author: Option<String>,
    pub(super) validated_note: Option<String>,
    /// The later instalments' verdicts (JSON), when there are some.
    pub(super) instalments: Option<String>,
    /// Each bank transaction's refund (JSON), when one was asked.
    pub(super) refunds: Option<String>,
    pub(super) updated_at: i64,
    /// Added to the stored `version`.
    #[serde(rename = "version")]
    pub(crate) writes: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct OutboxRow {
    pub(super) reference: String,
    pub(super) effect_key: String,
    pub(super) kind: &'static str,
    pub(super) payload: String,
    pub(super) created_at: i64,
    pub(super) delivered_at: Option<i64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PaymentRow {
    pub(super) reference: String,
    pub(super) record_key: String,
    pub(super) amount_minor: i64,
    pub(super) currency: &'static str,
    pub(super) bank_transaction_id: Option<String>,
    pub(super) source: &'static str,
    pub(super) author: Option<String>,
    pub(super) note: Option<String>,
    pub(super) recorded_at: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct AuditRow {
    pub(super) reference: String,
    pub(super) event: &'static str,
    pub(super) author: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) status_before: &'static str,
    pub(super) status_after: &'static str,
    pub(super) at: i64,
}

impl AuditRow {
    /// A transition's audit row.
    pub(crate) fn new(
        reference: &PaymentReference,
        event: &Event,
        (author, detail): (Option<String>, Option<String>),
        before: &CheckoutState,
        after: &CheckoutState,
        now: Timestamp,
    ) -> Self {
        Self {
            reference: reference.as_str().to_owned(),
            event: event.name(),
            author,
            detail,
            status_before: before.status.as_str(),
            status_after: after.status.as_str(),
            at: now.as_millisecond(),
        }
    }
}

impl CheckoutUpdate {
    /// The columns of `next` a transition may change.
    pub(crate) fn new(next: &CheckoutState, now: Timestamp) -> Result<Self, StoreError> {
        let (by, author, note) = source_cols(next.validated_by.as_ref());
        let instalments = if next.instalments.is_empty() {
            None
        } else {
            Some(json_text(&next.instalments, "instalments")?)
        };
        let refunds = if next.refunds.is_empty() {
            None
        } else {
            Some(json_text(&next.refunds, "refunds")?)
        };
        Ok(Self {
            reference: next.reference.as_str().to_owned(),
            status: next.status.as_str(),
            amount_mismatch: i64::from(next.amount_mismatch),
            superseded_by: next.superseded_by.as_ref().map(|r| r.as_str().to_owned()),
            validated_by: by,
            validated_author: author,
            validated_note: note,
            instalments,
            refunds,
            updated_at: now.as_millisecond(),
            writes: 1,
        })
    }
}

/// Plans `input` on `loaded`, and leaves `loaded` as the plan writes it (so the next event of
/// a batch for the same checkout sees this one). `order_paid_by`: another checkout of the
/// same shop order already valid (notifications and reconciliations), or valid and paid
/// before this one (refund requests).
///
/// # Errors
/// [`StoreError::ProviderMismatch`] and [`StoreError::Transition`]: nothing is to be written.
pub(crate) fn plan(
    loaded: &mut Loaded,
    input: &EventInput,
    order_paid_by: Option<PaymentReference>,
    now: Timestamp,
) -> Result<Step, StoreError> {
    let record = &loaded.record;
    let reference = &record.reference;
    if let EventInput::Notification(n) = input
        && n.provider != record.provider
    {
        return Err(StoreError::ProviderMismatch {
            reference: reference.clone(),
            expected: record.provider.clone(),
            received: n.provider.clone(),
        });
    }
    // Applied to the checkout its bank reference names, and to no other.
    if let EventInput::Notification(n) = input
        && n.bank_reference != record.bank_reference
    {
        return Err(StoreError::invalid(
            "notification",
            format!(
                "names bank reference {} but checkout {reference} is {}",
                n.bank_reference, record.bank_reference
            ),
        ));
    }
    let event = event_for(input, now, order_paid_by);
    let transition = apply(&loaded.state, &event)?;
    let unchanged = Applied {
        reference: reference.clone(),
        duplicate: true,
        previous: loaded.state.status,
        status: loaded.state.status,
        effects: Vec::new(),
        superseded: Vec::new(),
    };
    if transition.duplicate {
        return Ok(Step::Done(unchanged));
    }
    if matches!(input, EventInput::BrowserReturn) {
        return Ok(Step::Done(Applied {
            duplicate: false,
            ..unchanged
        }));
    }

    let ms = now.as_millisecond();
    let bank = match input {
        EventInput::Notification(n) => Some(bank_row_notification(reference, n, ms)),
        EventInput::ReconciledPaid {
            bank_transaction_id,
            amount,
        } => Some(BankRow {
            provider: record.provider.as_str().to_owned(),
            reference: reference.as_str().to_owned(),
            bank_transaction_id: bank_transaction_id.clone(),
            outcome: OutcomeKind::Accepted.as_str(),
            amount_minor: minor(*amount),
            currency: amount.currency().alpha(),
            source: "reconciliation",
            reason_kind: None,
            reason_code: None,
            authorization_code: None,
            card: None,
            event_id: None,
            instalment: None,
            received_at: ms,
        }),
        _ => None,
    };
    let next = transition.state;
    let mut plan = Plan {
        applied: Applied {
            duplicate: false,
            status: next.status,
            ..unchanged
        },
        bank,
        checkout: CheckoutUpdate::new(&next, now)?,
        outbox: Vec::new(),
        payments: Vec::new(),
        audit: AuditRow::new(
            reference,
            &event,
            audit_parts(input),
            &loaded.state,
            &next,
            now,
        ),
        quarantine: Vec::new(),
        supersede: None,
    };
    for effect in transition.effects {
        if !loaded.effect_keys.insert(effect.key()) {
            continue; // this effect already exists for this checkout
        }
        let payload = json_text(&effect, "effect")?;
        plan.outbox.push(OutboxRow {
            reference: reference.as_str().to_owned(),
            effect_key: effect.key(),
            kind: effect.kind(),
            payload,
            created_at: ms,
            // Applied by the store in this transaction: the relay never sees it.
            delivered_at: applied_in_store(&effect).then_some(ms),
        });
        match &effect {
            Effect::RecordPayment {
                amount,
                bank_transaction_id,
                source,
            } => {
                let (by, author, note) = source_cols(Some(source));
                plan.payments.push(PaymentRow {
                    reference: reference.as_str().to_owned(),
                    record_key: effect.key(),
                    amount_minor: minor(*amount),
                    currency: amount.currency().alpha(),
                    bank_transaction_id: bank_transaction_id.clone(),
                    source: by.unwrap_or("bank"),
                    author,
                    note,
                    recorded_at: ms,
                });
            }
            Effect::SupersedeSiblings => plan.supersede = Some(next.clone()),
            Effect::Quarantine {
                bank_transaction_id,
                why,
            } => {
                let summary = match input {
                    EventInput::Notification(n) => summarize(n),
                    _ => event.name().to_owned(),
                };
                plan.quarantine.push(QuarantineInput::new(
                    record.provider.clone(),
                    reference.as_str(),
                    Some(bank_transaction_id.clone()),
                    summary,
                    why.clone(),
                ));
            }
            _ => {}
        }
        plan.applied.effects.push(effect);
    }
    loaded.state = next;
    Ok(Step::Write(plan))
}

fn bank_row_notification(
    reference: &PaymentReference,
    n: &VerifiedNotification,
    ms: i64,
) -> BankRow {
    let (reason_kind, reason_code, authorization_code) = match &n.outcome {
        BankOutcome::Refused { reason } => (
            Some(reason.kind().as_str()),
            Some(reason.code().to_owned()),
            None,
        ),
        BankOutcome::Accepted { authorization } => {
            (None, None, authorization.as_deref().map(|a| clip(a, 64)))
        }
        _ => (None, None, None),
    };
    BankRow {
        provider: n.provider.as_str().to_owned(),
        reference: reference.as_str().to_owned(),
        bank_transaction_id: n.bank_transaction_id.clone(),
        outcome: n.outcome.kind().as_str(),
        amount_minor: minor(n.amount),
        currency: n.amount.currency().alpha(),
        source: "notification",
        reason_kind,
        reason_code,
        authorization_code,
        card: n.card.as_ref().map(ToString::to_string),
        event_id: n.event_id.clone(),
        instalment: n.instalment.map(i64::from),
        received_at: ms,
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
                instalment: n.instalment,
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
        EventInput::Reinstate { author, note } => Event::Reinstate {
            author: author.clone(),
            note: note.clone(),
        },
        EventInput::RequestRefund { author, note } => Event::RequestRefund {
            author: author.clone(),
            note: note.clone(),
            at: now,
            order_paid_by,
        },
        EventInput::RefundSucceeded {
            refund_id,
            bank_transaction_id,
        } => Event::RefundSucceeded {
            refund_id: refund_id.clone(),
            bank_transaction_id: bank_transaction_id.clone(),
        },
        EventInput::RefundFailed {
            reason,
            back_to,
            bank_transaction_id,
        } => Event::RefundFailed {
            reason: reason.clone(),
            back_to: *back_to,
            bank_transaction_id: bank_transaction_id.clone(),
        },
    }
}

/// The audit row's author and detail for an input.
fn audit_parts(input: &EventInput) -> (Option<String>, Option<String>) {
    match input {
        EventInput::ManualValidation { author, note }
        | EventInput::Reinstate { author, note }
        | EventInput::RequestRefund { author, note } => (Some(author.clone()), Some(note.clone())),
        EventInput::RefundSucceeded {
            refund_id,
            bank_transaction_id,
        } => (
            None,
            Some(match bank_transaction_id {
                Some(txn) => format!("bank refund {refund_id} of bank transaction {txn}"),
                None => format!("bank refund {refund_id}"),
            }),
        ),
        EventInput::RefundFailed {
            reason,
            bank_transaction_id: Some(txn),
            ..
        } => (None, Some(format!("{reason} (transaction {txn})"))),
        EventInput::RefundFailed { reason, .. } => (None, Some(reason.clone())),
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

/// The stored columns of a validation source: its name, and the author and note of a manual
/// validation.
fn source_cols(
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

/// A notification's summary for the quarantine: no card number (only the masked summary).
fn summarize(n: &VerifiedNotification) -> String {
    format!(
        "{} {} for {}: {} announced{}",
        n.provider,
        n.outcome.kind().as_str(),
        n.bank_reference,
        n.amount,
        n.card
            .as_ref()
            .map(|c| format!(", card {c}"))
            .unwrap_or_default()
    )
}

/// Effects the store applies itself inside the transaction; their outbox rows are written
/// delivered so the relay never sees them.
fn applied_in_store(e: &Effect) -> bool {
    matches!(e, Effect::SupersedeSiblings | Effect::Quarantine { .. })
}

pub(crate) fn minor(amount: Amount) -> i64 {
    // Amount::MAX_MINOR is i64::MAX, so this never saturates.
    i64::try_from(amount.minor()).unwrap_or(i64::MAX)
}

/// `value` as JSON text for a column.
pub(crate) fn json_text<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::corrupt(format!("{what} cannot be serialized: {e}")))
}

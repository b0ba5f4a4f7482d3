//! The order-payment lifecycle as a pure state machine: `apply(state, event) -> transition`.
//!
//! No I/O, no clock, no randomness: the store runs [`apply`] inside one database transaction and
//! writes the new state, the bank transaction row and the [`Effect`]s (to the outbox) together.
//! The rules are those of the shop's guide (LIFECYCLE): a success always wins over a refusal,
//! the same notification applied twice changes nothing, the browser return never changes state.
//! A payment in instalments follows the rules of [`instalment`]: the first instalment is the
//! checkout's payment, each later one its own bank transaction and payment record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::instalments::Schedule;
use crate::money::Amount;
use crate::provider::{BankOutcome, OutcomeKind, ProviderId};
use crate::reason::Reason;
use crate::reference::PaymentReference;

mod decision;
mod error;
pub mod instalment;
pub mod refund;

pub use error::TransitionError;
pub use instalment::{InstalmentVerdict, LaterInstalment, PAID};
pub use refund::RefundState;

/// The state of a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CheckoutStatus {
    /// Created, no verified bank verdict yet (guide: "Invalide", "En attente de paiement").
    /// Stays here after a refusal or an abandon.
    AwaitingPayment,
    /// Paid: bank acceptance, reconciliation, or manual validation (guide: "Valide").
    Valid,
    /// Still unpaid one day after the planned delivery date (guide: "Rétractée").
    Retracted,
    /// Money arrived for a retracted checkout: the manager must refund or reinstate.
    PaidAfterRetraction,
    /// The manager asked for a refund; the bank has not answered yet.
    Refunding,
    /// The bank refunded the payment in full.
    Refunded,
}

impl CheckoutStatus {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::AwaitingPayment,
        Self::Valid,
        Self::Retracted,
        Self::PaidAfterRetraction,
        Self::Refunding,
        Self::Refunded,
    ];

    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingPayment => "awaiting_payment",
            Self::Valid => "valid",
            Self::Retracted => "retracted",
            Self::PaidAfterRetraction => "paid_after_retraction",
            Self::Refunding => "refunding",
            Self::Refunded => "refunded",
        }
    }

    /// Parses [`CheckoutStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The guide's wording, in French.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::AwaitingPayment => "En attente de paiement",
            Self::Valid => "Valide",
            Self::Retracted => "Rétractée",
            Self::PaidAfterRetraction => "Payée après rétractation",
            Self::Refunding => "Remboursement en cours",
            Self::Refunded => "Remboursée",
        }
    }
}

impl fmt::Display for CheckoutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a checkout was validated (kept on the payment record).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValidationSource {
    /// A verified bank notification.
    Bank,
    /// A status query during reconciliation.
    Reconciliation,
    /// A manager.
    Manual {
        /// Who validated.
        author: String,
        /// Why.
        note: String,
    },
}

impl ValidationSource {
    /// Storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Bank => "bank",
            Self::Reconciliation => "reconciliation",
            Self::Manual { .. } => "manual",
        }
    }
}

/// The lifecycle state of one checkout: everything [`apply`] needs and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutState {
    /// Reference.
    pub reference: PaymentReference,
    /// Provider.
    pub provider: ProviderId,
    /// Amount expected.
    pub amount: Amount,
    /// The shop's order (cart) this checkout pays, if any; several checkouts may share one.
    pub shop_order_id: Option<String>,
    /// State.
    pub status: CheckoutStatus,
    /// An authentic notification announced another amount or currency.
    pub amount_mismatch: bool,
    /// Another checkout of the same order became valid.
    pub superseded_by: Option<PaymentReference>,
    /// How it was validated, once valid.
    pub validated_by: Option<ValidationSource>,
    /// Start of (planned delivery date + 1 day) in the shop's time zone.
    pub retract_at: Timestamp,
    /// Bank transactions and outcomes already applied (replays are no-ops).
    pub seen: BTreeSet<(String, OutcomeKind)>,
    /// Payment in instalments: the schedule asked at checkout (its first is paid at checkout).
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// The bank's verdicts on the later instalments (2 and up), by number.
    #[serde(default)]
    pub instalments: BTreeMap<u8, LaterInstalment>,
    /// The refund of each bank transaction asked of the bank, by bank transaction id.
    #[serde(default)]
    pub refunds: BTreeMap<String, RefundState>,
}

impl CheckoutState {
    /// The state of a new checkout (event 1: checkout started).
    pub fn new(
        reference: PaymentReference,
        provider: ProviderId,
        amount: Amount,
        shop_order_id: Option<String>,
        retract_at: Timestamp,
    ) -> Self {
        Self {
            reference,
            provider,
            amount,
            shop_order_id,
            status: CheckoutStatus::AwaitingPayment,
            amount_mismatch: false,
            superseded_by: None,
            validated_by: None,
            retract_at,
            seen: BTreeSet::new(),
            schedule: None,
            instalments: BTreeMap::new(),
            refunds: BTreeMap::new(),
        }
    }

    /// Paid in instalments following `schedule`.
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// What the customer pays at checkout: the first instalment of a schedule, else the
    /// whole amount. It is the amount of the checkout's payment record.
    pub fn paid_at_checkout(&self) -> Amount {
        self.schedule
            .as_ref()
            .map_or(self.amount, |s| s.first().amount)
    }
}

/// The start of the day after `delivery` in `tz`: when an unpaid checkout is retracted.
///
/// ```
/// use tpe_core::lifecycle::retraction_time;
/// let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
/// let at = retraction_time(jiff::civil::date(2026, 3, 28), &tz).unwrap();
/// assert_eq!(at.to_string(), "2026-03-28T23:00:00Z"); // 29 March 00:00 in Paris (UTC+1)
/// ```
///
/// # Errors
/// When the date is at the end of the supported range.
pub fn retraction_time(
    delivery: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
) -> Result<Timestamp, jiff::Error> {
    let next = delivery.tomorrow()?;
    Ok(next
        .to_zoned_datetime(tz.clone())?
        .start_of_day()?
        .timestamp())
}

/// A notification's content as the lifecycle sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankVerdict {
    /// The bank's id of the try.
    pub bank_transaction_id: String,
    /// Verdict.
    pub outcome: BankOutcome,
    /// Amount announced.
    pub amount: Amount,
    /// The instalment it is about, for a payment in instalments (1 or none: the first).
    #[serde(default)]
    pub instalment: Option<u8>,
}

/// Something that happens to a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Event {
    /// A verified bank notification (events 2–8, 13).
    Notification {
        /// The verdict.
        verdict: BankVerdict,
        /// Another checkout of the same shop order is already valid (event 13), if any.
        order_paid_by: Option<PaymentReference>,
    },
    /// Reconciliation: a status query found the checkout paid (event 11).
    ReconciledPaid {
        /// The bank's id of the paid try.
        bank_transaction_id: String,
        /// Amount the bank reports.
        amount: Amount,
        /// Another checkout of the same shop order is already valid, if any.
        order_paid_by: Option<PaymentReference>,
    },
    /// A manager validated by hand (event 9).
    ManualValidation {
        /// Who.
        author: String,
        /// Why.
        note: String,
    },
    /// The retraction sweep, at `now` (event 10).
    Retract {
        /// The sweep's time.
        now: Timestamp,
    },
    /// Another checkout of the same shop order became valid.
    Superseded {
        /// That checkout.
        by: PaymentReference,
    },
    /// The customer's browser came back (never changes state; event 6).
    BrowserReturn,
    /// A manager keeps the money of a checkout paid after its retraction and delivers: it
    /// becomes valid with the effects of a payment (event 14).
    Reinstate {
        /// Who.
        author: String,
        /// Why.
        note: String,
    },
    /// A manager asks for the full refund of a checkout paid after its retraction, or of the
    /// extra payment of an order paid twice (event 15): every bank transaction paid and not
    /// refunded yet, each for its own amount ([`refund`]).
    RequestRefund {
        /// Who.
        author: String,
        /// Why.
        note: String,
        /// When: names this refund attempt (its effect key and the bank's idempotency key).
        at: Timestamp,
        /// Another checkout of the same shop order, valid and paid before this one, if any.
        order_paid_by: Option<PaymentReference>,
    },
    /// The bank took the refund of a bank transaction (event 16).
    RefundSucceeded {
        /// The bank's refund id.
        refund_id: String,
        /// The bank transaction refunded ([`Effect::Refund::bank_transaction_id`]); `None`:
        /// every refund under way.
        #[serde(default)]
        bank_transaction_id: Option<String>,
    },
    /// The bank refused the refund of a bank transaction: once no other is under way, the
    /// checkout goes back to `back_to` (event 17).
    RefundFailed {
        /// Why, in French, for the manager.
        reason: String,
        /// The state the refund was asked from ([`Effect::Refund::back_to`]).
        back_to: CheckoutStatus,
        /// The bank transaction whose refund was refused; `None`: every refund under way.
        #[serde(default)]
        bank_transaction_id: Option<String>,
    },
}

impl Event {
    /// Short name for audit rows.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Notification { verdict, .. } => match verdict.outcome.kind() {
                OutcomeKind::Accepted => "notification_accepted",
                OutcomeKind::Refused => "notification_refused",
                OutcomeKind::Pending => "notification_pending",
                OutcomeKind::Unclassified => "notification_unclassified",
                _ => "notification_cancelled",
            },
            Self::ReconciledPaid { .. } => "reconciled_paid",
            Self::ManualValidation { .. } => "manual_validation",
            Self::Retract { .. } => "retraction",
            Self::Superseded { .. } => "superseded",
            Self::BrowserReturn => "browser_return",
            Self::Reinstate { .. } => "reinstated",
            Self::RequestRefund { .. } => "refund_requested",
            Self::RefundSucceeded { .. } => "refunded",
            Self::RefundFailed { .. } => "refund_failed",
        }
    }
}

/// Why the manager is alerted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Alert {
    /// An authentic notification carried a result the provider cannot classify: the checkout
    /// stays awaiting payment and the next reconciliation asks the bank.
    UnclassifiedOutcome {
        /// The bank's raw code.
        code: String,
        /// Bank transaction.
        bank_transaction_id: String,
    },
    /// An authentic acceptance announced another amount or currency (event 7).
    AmountMismatch {
        /// Expected.
        expected: Amount,
        /// Announced by the bank.
        received: Amount,
        /// Bank transaction.
        bank_transaction_id: String,
    },
    /// Money arrived for a retracted checkout (event 8).
    PaidAfterRetraction {
        /// Bank transaction.
        bank_transaction_id: String,
    },
    /// The customer paid twice: this order already had a valid checkout (event 13), or a second
    /// accepted try arrived for a checkout already paid.
    PaidTwice {
        /// The other valid checkout, when it is another one.
        other: Option<PaymentReference>,
        /// Bank transaction.
        bank_transaction_id: String,
    },
    /// The effects relay gave up delivering one of the checkout's effects (an error that
    /// retrying cannot fix, or its last allowed attempt): the effect waits in the back office
    /// until the manager fixes the cause and retries it. Written by the store, never by
    /// [`apply`].
    DeliveryGivenUp {
        /// The outbox row given up.
        effect_id: i64,
        /// Its kind ([`Effect::kind`]).
        kind: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: String,
        /// When it was given up (one alert per time it is given up).
        at: Timestamp,
    },
    /// The bank refused a later instalment of a valid checkout: the order stays valid, the
    /// manager collects the rest (one alert per instalment).
    InstalmentRefused {
        /// The instalment's number (2 and up).
        number: u8,
        /// Its amount.
        amount: Amount,
        /// Bank transaction.
        bank_transaction_id: String,
        /// The bank's code and its explanation.
        reason: Reason,
    },
}

/// What a transition asks the outside world to do, after commit, exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Effect {
    /// Create a payment record ("versement").
    RecordPayment {
        /// Amount.
        amount: Amount,
        /// Bank transaction, if known.
        bank_transaction_id: Option<String>,
        /// How the checkout was validated.
        source: ValidationSource,
    },
    /// Send the confirmation e-mail to the customer.
    ConfirmToCustomer,
    /// Send the failure e-mail to the manager (event 4).
    NotifyManagerOfRefusal {
        /// Bank transaction.
        bank_transaction_id: String,
        /// The bank's code and its explanation.
        reason: Reason,
    },
    /// Send an alert e-mail to the manager.
    AlertManager(Alert),
    /// Keep the notification aside for the manager (authentic but not applicable).
    Quarantine {
        /// Bank transaction.
        bank_transaction_id: String,
        /// Why.
        why: String,
    },
    /// Mark the other unpaid checkouts of the same shop order as superseded by this one.
    SupersedeSiblings,
    /// Ask the bank for the full refund of a bank transaction, then apply
    /// [`Event::RefundSucceeded`] or [`Event::RefundFailed`] naming it.
    Refund {
        /// The bank transaction to refund.
        bank_transaction_id: String,
        /// Amount: what that transaction paid (the checkout's payment, or an instalment's).
        amount: Amount,
        /// Names the attempt (milliseconds of the request): a new key for each attempt, the
        /// same one for every retry of one attempt.
        attempt: i64,
        /// The state to go back to if the bank refuses.
        back_to: CheckoutStatus,
        /// The later instalment (2 and up) whose versement it gives back; `None`: the
        /// checkout's own payment (the first instalment).
        #[serde(default)]
        instalment: Option<u8>,
    },
}

impl Effect {
    /// A key unique per checkout: the store's outbox refuses a second effect with the same key,
    /// so each effect happens at most once whatever the replays.
    pub fn key(&self) -> String {
        match self {
            Self::RecordPayment {
                bank_transaction_id,
                ..
            } => {
                format!("record:{}", bank_transaction_id.as_deref().unwrap_or("-"))
            }
            Self::ConfirmToCustomer => "confirm".to_owned(),
            Self::NotifyManagerOfRefusal {
                bank_transaction_id,
                ..
            } => {
                format!("refusal:{bank_transaction_id}")
            }
            Self::AlertManager(Alert::AmountMismatch {
                bank_transaction_id,
                ..
            }) => {
                format!("alert-mismatch:{bank_transaction_id}")
            }
            Self::AlertManager(Alert::UnclassifiedOutcome {
                bank_transaction_id,
                ..
            }) => format!("alert-unclassified:{bank_transaction_id}"),
            Self::AlertManager(Alert::PaidAfterRetraction {
                bank_transaction_id,
            }) => {
                format!("alert-after-retraction:{bank_transaction_id}")
            }
            Self::AlertManager(Alert::PaidTwice {
                bank_transaction_id,
                ..
            }) => {
                format!("alert-paid-twice:{bank_transaction_id}")
            }
            Self::AlertManager(Alert::InstalmentRefused { number, .. }) => {
                format!("alert-instalment-refused:{number}")
            }
            Self::AlertManager(Alert::DeliveryGivenUp { effect_id, at, .. }) => {
                format!("alert-given-up:{effect_id}:{}", at.as_millisecond())
            }
            Self::Quarantine {
                bank_transaction_id,
                ..
            } => format!("quarantine:{bank_transaction_id}"),
            Self::SupersedeSiblings => "supersede".to_owned(),
            Self::Refund {
                attempt,
                instalment: None,
                ..
            } => format!("refund:{attempt}"),
            Self::Refund {
                attempt,
                instalment: Some(n),
                ..
            } => format!("refund:{attempt}:{n}"),
        }
    }

    /// Storage name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RecordPayment { .. } => "record_payment",
            Self::ConfirmToCustomer => "confirm_customer",
            Self::NotifyManagerOfRefusal { .. } => "notify_refusal",
            Self::AlertManager(_) => "alert_manager",
            Self::Quarantine { .. } => "quarantine",
            Self::SupersedeSiblings => "supersede_siblings",
            Self::Refund { .. } => "refund",
        }
    }
}

/// The result of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The new state (equal to the old one for no-ops).
    pub state: CheckoutState,
    /// Effects to write to the outbox in the same database transaction.
    pub effects: Vec<Effect>,
    /// The event was a replay of one already applied: nothing to write.
    pub duplicate: bool,
}

/// Applies `event` to `state`.
///
/// # Errors
/// [`TransitionError`] for an event that does not apply in this state (manual validation of a
/// paid checkout, retraction too early); the state is then unchanged.
pub fn apply(state: &CheckoutState, event: &Event) -> Result<Transition, TransitionError> {
    use CheckoutStatus as S;
    let mut next = state.clone();
    let mut effects = Vec::new();
    match event {
        Event::Notification {
            verdict,
            order_paid_by,
        } => {
            let key = (verdict.bank_transaction_id.clone(), verdict.outcome.kind());
            if !next.seen.insert(key) {
                return Ok(Transition {
                    state: next,
                    effects,
                    duplicate: true,
                });
            }
            if let Some(number) = verdict.instalment.filter(|n| *n >= 2) {
                instalment::later(&mut next, &mut effects, number, verdict);
                return Ok(Transition {
                    state: next,
                    effects,
                    duplicate: false,
                });
            }
            match &verdict.outcome {
                BankOutcome::Accepted { .. } => accept(
                    &mut next,
                    &mut effects,
                    &verdict.bank_transaction_id,
                    verdict.amount,
                    ValidationSource::Bank,
                    order_paid_by.as_ref(),
                ),
                // A late refusal never downgrades a paid checkout (event 5).
                BankOutcome::Refused { reason } if next.status == S::AwaitingPayment => {
                    effects.push(Effect::NotifyManagerOfRefusal {
                        bank_transaction_id: verdict.bank_transaction_id.clone(),
                        reason: reason.clone(),
                    });
                }
                // Unknown is never a verdict: nothing changes, the manager is told, and the
                // reconciliation's status query decides.
                BankOutcome::Unclassified { code } => {
                    effects.push(Effect::AlertManager(Alert::UnclassifiedOutcome {
                        code: code.clone(),
                        bank_transaction_id: verdict.bank_transaction_id.clone(),
                    }));
                }
                // Pending, cancellations and late refusals change nothing; the bank
                // transaction row is kept.
                _ => {}
            }
        }
        Event::ReconciledPaid {
            bank_transaction_id,
            amount,
            order_paid_by,
        } => {
            let key = (bank_transaction_id.clone(), OutcomeKind::Accepted);
            if !next.seen.insert(key) {
                return Ok(Transition {
                    state: next,
                    effects,
                    duplicate: true,
                });
            }
            accept(
                &mut next,
                &mut effects,
                bank_transaction_id,
                *amount,
                ValidationSource::Reconciliation,
                order_paid_by.as_ref(),
            );
        }
        Event::ManualValidation { author, note } => {
            if next.status != S::AwaitingPayment {
                return Err(TransitionError::NotAwaitingPayment {
                    reference: state.reference.clone(),
                    status: state.status,
                });
            }
            let source = ValidationSource::Manual {
                author: author.clone(),
                note: note.clone(),
            };
            next.status = S::Valid;
            next.validated_by = Some(source.clone());
            effects.push(Effect::RecordPayment {
                amount: next.paid_at_checkout(),
                bank_transaction_id: None,
                source,
            });
            effects.push(Effect::ConfirmToCustomer);
            if next.shop_order_id.is_some() {
                effects.push(Effect::SupersedeSiblings);
            }
        }
        Event::Retract { now } => {
            if next.status != S::AwaitingPayment {
                return Err(TransitionError::NotRetractable {
                    reference: state.reference.clone(),
                    status: state.status,
                });
            }
            if *now < next.retract_at {
                return Err(TransitionError::RetractionTooEarly {
                    reference: state.reference.clone(),
                    due: next.retract_at,
                });
            }
            next.status = S::Retracted;
        }
        Event::Superseded { by } => {
            if next.status == S::AwaitingPayment
                && next.superseded_by.is_none()
                && *by != next.reference
            {
                next.superseded_by = Some(by.clone());
            }
        }
        Event::BrowserReturn => {}
        Event::Reinstate { .. }
        | Event::RequestRefund { .. }
        | Event::RefundSucceeded { .. }
        | Event::RefundFailed { .. } => decision::apply(&mut next, &mut effects, event)?,
    }
    if !instalment::is_paid(state.status) && instalment::is_paid(next.status) {
        instalment::release(&next, &mut effects);
    }
    Ok(Transition {
        state: next,
        effects,
        duplicate: false,
    })
}

fn accept(
    next: &mut CheckoutState,
    effects: &mut Vec<Effect>,
    bank_transaction_id: &str,
    amount: Amount,
    source: ValidationSource,
    order_paid_by: Option<&PaymentReference>,
) {
    use CheckoutStatus as S;
    let txn = bank_transaction_id.to_owned();
    // The first instalment of a schedule is announced alone or with the order's total,
    // depending on the bank.
    if amount != next.amount && amount != next.paid_at_checkout() {
        // Never validates; the manager decides (event 7).
        next.amount_mismatch = true;
        mismatch(effects, next.paid_at_checkout(), amount, txn);
        return;
    }
    let record = Effect::RecordPayment {
        amount: next.paid_at_checkout(),
        bank_transaction_id: Some(txn.clone()),
        source: source.clone(),
    };
    match next.status {
        S::AwaitingPayment => {
            next.status = S::Valid;
            next.validated_by = Some(source);
            effects.push(record);
            effects.push(Effect::ConfirmToCustomer);
            if next.shop_order_id.is_some() {
                effects.push(Effect::SupersedeSiblings);
            }
            if let Some(other) = order_paid_by.filter(|o| **o != next.reference) {
                effects.push(Effect::AlertManager(Alert::PaidTwice {
                    other: Some(other.clone()),
                    bank_transaction_id: txn,
                }));
            }
        }
        S::Retracted => {
            next.status = S::PaidAfterRetraction;
            next.validated_by = Some(source);
            effects.push(record);
            effects.push(Effect::AlertManager(Alert::PaidAfterRetraction {
                bank_transaction_id: txn,
            }));
        }
        S::Valid | S::PaidAfterRetraction | S::Refunding | S::Refunded => {
            // Already paid. A second accepted try of the bank is money received twice; a
            // manual or reconciled validation of the same money is not.
            let bank_paid = matches!(
                next.validated_by,
                Some(ValidationSource::Bank | ValidationSource::Reconciliation)
            );
            if bank_paid {
                effects.push(record);
                effects.push(Effect::AlertManager(Alert::PaidTwice {
                    other: None,
                    bank_transaction_id: txn,
                }));
            }
        }
    }
}

/// An authentic acceptance of another amount or currency than `expected`: the manager is
/// alerted and the notification kept aside.
fn mismatch(effects: &mut Vec<Effect>, expected: Amount, received: Amount, txn: String) {
    effects.push(Effect::AlertManager(Alert::AmountMismatch {
        expected,
        received,
        bank_transaction_id: txn.clone(),
    }));
    effects.push(Effect::Quarantine {
        bank_transaction_id: txn,
        why: format!("amount mismatch: expected {expected}, received {received}"),
    });
}

//! What the banks' sides share about a payment in instalments: the schedule a form asked for
//! (checked as the banks check it), its rows on the payment page, which instalments were
//! charged, and the control route that charges a later one on command.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, post};
use std::collections::HashMap;
use std::time::Duration;

use jiff::civil::Date;
use serde::Deserialize;
use tokio::time::Instant;

use crate::journal::Side;
use crate::state::{BankState, Store};

/// One instalment of a schedule: its day and its amount in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    /// Its number, 1 for the first (charged on the page).
    pub(crate) number: u8,
    pub(crate) due: Date,
    /// The day as the form wrote it and the page shows it (`DD/MM/YYYY`).
    pub(crate) day: String,
    pub(crate) amount: u64,
    /// The amount as the bank's form wrote it (echoed in its notifications).
    pub(crate) written: String,
    /// The amount as the page shows it (`33,34 €`).
    pub(crate) shown: String,
}

/// A schedule the bank took, and what became of each instalment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub(crate) rows: Vec<Row>,
    /// The later instalments already charged (accepted or refused).
    pub(crate) charged: Vec<u8>,
}

/// Why a schedule is refused, as the bank's error page says it.
pub(crate) type Refusal = (&'static str, &'static str);

impl Plan {
    /// Checks `rows` as the banks do: 2 to `max` instalments, each at least 1 minor unit, on
    /// strictly increasing days, summing to `total`.
    pub(crate) fn checked(rows: Vec<Row>, total: u64, max: usize) -> Result<Self, Refusal> {
        if !(2..=max).contains(&rows.len()) {
            return Err(("bad_schedule_count", "Nombre d'échéances invalide"));
        }
        if rows.iter().any(|r| r.amount == 0) {
            return Err(("bad_schedule_amount", "Montant d'échéance nul"));
        }
        if rows.windows(2).any(|w| w[0].due >= w[1].due) {
            return Err(("bad_schedule_dates", "Dates d'échéances non croissantes"));
        }
        let sum = rows
            .iter()
            .try_fold(0u64, |acc, r| acc.checked_add(r.amount));
        if sum != Some(total) {
            return Err((
                "bad_schedule_sum",
                "La somme des échéances n'est pas le montant total",
            ));
        }
        Ok(Self {
            rows,
            charged: Vec::new(),
        })
    }

    /// The row of instalment `number`.
    pub(crate) fn row(&self, number: u8) -> Option<&Row> {
        self.rows.iter().find(|r| r.number == number)
    }

    /// Marks later instalment `number` charged: refused for the first (charged on the page),
    /// one the schedule does not have, or one already charged.
    pub(crate) fn charge(&mut self, number: u8) -> Result<Row, InstalmentError> {
        let row = self
            .row(number)
            .filter(|_| number >= 2)
            .cloned()
            .ok_or(InstalmentError::NoSuchInstalment)?;
        if self.charged.contains(&number) {
            return Err(InstalmentError::AlreadyCharged);
        }
        self.charged.push(number);
        Ok(row)
    }
}

/// A payment page session that may carry a schedule.
pub(crate) trait Scheduled {
    /// The reference the shop gave.
    fn reference(&self) -> &str;
    /// Whether the page's payment (the first instalment) was accepted.
    fn paid(&self) -> bool;
    /// The schedule, for a payment in instalments.
    fn plan(&self) -> Option<&Plan>;
    /// The schedule, to mark an instalment charged.
    fn plan_mut(&mut self) -> Option<&mut Plan>;
}

/// Implements [`Scheduled`] for a session with the fields `reference`, `paid` and `plan`.
macro_rules! scheduled {
    ($session:ty) => {
        impl $crate::instalments::Scheduled for $session {
            fn reference(&self) -> &str {
                &self.reference
            }

            fn paid(&self) -> bool {
                self.paid
            }

            fn plan(&self) -> Option<&$crate::instalments::Plan> {
                self.plan.as_ref()
            }

            fn plan_mut(&mut self) -> Option<&mut $crate::instalments::Plan> {
                self.plan.as_mut()
            }
        }
    };
}
pub(crate) use scheduled;

/// Charges later instalment `number` of the paid payment in instalments `reference` among
/// `sessions`: the session and the instalment's row.
pub(crate) fn charge_later<'s, S: Scheduled + 's>(
    sessions: impl IntoIterator<Item = &'s mut S>,
    reference: &str,
    number: u8,
) -> Result<(&'s mut S, Row), InstalmentError> {
    let session = sessions
        .into_iter()
        .find(|s| s.reference() == reference && s.paid())
        .ok_or(InstalmentError::UnknownPayment)?;
    let row = session
        .plan_mut()
        .ok_or(InstalmentError::UnknownPayment)?
        .charge(number)?;
    Ok((session, row))
}

/// A later instalment to charge now, as the bank does on its due date: the payment in
/// instalments `reference` (the one the bank knows), its instalment `number`, and whether the
/// issuer accepts it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Charge<'a> {
    pub(crate) reference: &'a str,
    pub(crate) number: u8,
    pub(crate) accepted: bool,
}

/// A later instalment a bank has still to charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Due {
    /// The payment in instalments, as the bank knows it.
    pub(crate) reference: String,
    /// The instalment's number (2 and up).
    pub(crate) number: u8,
    /// Its day, counted from the first instalment's.
    pub(crate) days_after_first: i64,
}

/// The later instalments not yet charged of the paid payments in instalments of `store`.
pub(crate) fn uncharged<T: Store>(store: &T) -> Vec<Due>
where
    T::Page: Scheduled,
{
    store.with(|d| {
        T::pages(d)
            .values()
            .filter(|s| s.paid())
            .filter_map(|s| Some((s.reference(), s.plan()?)))
            .flat_map(|(reference, plan)| {
                let first = plan.rows.first().map(|r| r.due);
                plan.rows
                    .iter()
                    .filter(|r| r.number >= 2 && !plan.charged.contains(&r.number))
                    .filter_map(move |r| {
                        let days = r.due.since(first?).ok()?.get_days();
                        Some(Due {
                            reference: reference.to_owned(),
                            number: r.number,
                            days_after_first: i64::from(days),
                        })
                    })
            })
            .collect()
    })
}

/// The mock bank's own calendar for later instalments: every `day` of real time stands for a
/// day, counted from when the bank first sees the first instalment paid. Each instalment is
/// charged once, on its day, accepted unless the reference's script lists it in
/// `refuse_instalments`. Runs until the bank shuts down.
pub(crate) async fn run_clock(state: BankState, day: Duration) {
    let tick = (day / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut first_seen: HashMap<(&str, String), Instant> = HashMap::new();
    loop {
        let now = Instant::now();
        // Payments with nothing left to charge are forgotten: the map stays bounded by the
        // banks' own sessions.
        let mut live = HashMap::with_capacity(first_seen.len());
        for (name, bank) in crate::banks::ALL {
            let Some(ops) = bank.instalments() else {
                continue;
            };
            for due in (ops.uncharged)(&state) {
                let key = (*name, due.reference.clone());
                let seen = first_seen.get(&key).copied().unwrap_or(now);
                live.insert(key, seen);
                let days = u32::try_from(due.days_after_first.max(0)).unwrap_or(u32::MAX);
                if now.duration_since(seen) < day.saturating_mul(days) {
                    continue;
                }
                let refused = state
                    .scenario_for(&due.reference)
                    .refuse_instalments
                    .contains(&due.number);
                // Charged on command meanwhile: `AlreadyCharged`, nothing sent twice.
                let charge = Charge {
                    reference: &due.reference,
                    number: due.number,
                    accepted: !refused,
                };
                let _ = (ops.charge)(&state, charge);
            }
        }
        first_seen = live;
        if !state.sleep_or_shutdown(tick).await {
            return;
        }
    }
}

/// The rows of a schedule for the `schedule_table` macro of the pages (none for a payment in
/// one go).
pub(crate) fn shown_rows(plan: Option<&Plan>) -> Vec<minijinja::Value> {
    plan.map(|p| {
        p.rows
            .iter()
            .map(|r| minijinja::context! { number => r.number, due => r.day.as_str(), shown => r.shown.as_str() })
            .collect()
    })
    .unwrap_or_default()
}

/// A `DD/MM/YYYY` day.
pub(crate) fn day(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b'/',
            _ => c.is_ascii_digit(),
        });
    shape
        .then(|| Date::strptime("%d/%m/%Y", text).ok())
        .flatten()
}

/// Why a later instalment cannot be charged on command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstalmentError {
    /// No payment in instalments of that reference was paid on the page.
    #[error("no paid payment in instalments has this reference")]
    UnknownPayment,
    /// Not a later instalment of its schedule (the first is charged on the page).
    #[error("the schedule has no such later instalment")]
    NoSuchInstalment,
    /// That instalment was charged already.
    #[error("this instalment was charged already")]
    AlreadyCharged,
    /// This bank side offers no payment in instalments.
    #[error("this bank offers no payment in instalments")]
    NotOffered,
}

#[derive(Deserialize)]
struct Command {
    reference: String,
    number: u8,
    accepted: bool,
}

/// `POST /_mock/<bank>/instalments` with `{ "reference": "…", "number": 2, "accepted": false }`:
/// the bank of `side` charges that instalment now and notifies the shop. 202 once sent off,
/// 404 for an unknown payment, 409 for an instalment it cannot charge, 422 for another body.
pub(crate) fn instalment_route(side: Side) -> MethodRouter<BankState> {
    post(
        move |State(state): State<BankState>, Json(c): Json<Command>| async move {
            match state.charge_instalment(side, &c.reference, c.number, c.accepted) {
                Ok(()) => StatusCode::ACCEPTED,
                Err(InstalmentError::UnknownPayment) => StatusCode::NOT_FOUND,
                Err(_) => StatusCode::CONFLICT,
            }
        },
    )
}

/// The Rust control API shared by the banks that offer instalments.
impl BankState {
    /// Charges later instalment `number` of the payment in instalments `reference` paid on the
    /// page of the bank of `side`, now, as that bank does on its due date: a transaction of its
    /// own, notified to the shop like a payment, accepted or refused (Paybox `00151`, Lyra
    /// `51`, Monetico `Annulation_pfN` with `Refus`). `reference` is the one the bank knows:
    /// the shop's for Paybox and Monetico, `YYYYMMDD-<trans id>` for Lyra.
    ///
    /// # Errors
    /// [`InstalmentError`] when the bank offers no instalments, there is no such payment or
    /// instalment, or it was charged already.
    pub fn charge_instalment(
        &self,
        side: Side,
        reference: &str,
        number: u8,
        accepted: bool,
    ) -> Result<(), InstalmentError> {
        let ops = crate::banks::ALL
            .iter()
            .find(|(_, b)| b.side() == side)
            .and_then(|(_, b)| b.instalments())
            .ok_or(InstalmentError::NotOffered)?;
        let charge = Charge {
            reference,
            number,
            accepted,
        };
        (ops.charge)(self, charge)
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn row(number: u8, due: Date, amount: u64) -> Row {
        Row {
            number,
            due,
            day: String::new(),
            amount,
            written: amount.to_string(),
            shown: String::new(),
        }
    }

    #[test]
    fn schedules_are_checked_as_the_banks_do() {
        let (a, b) = (date(2026, 11, 29), date(2026, 12, 29));
        let ok = Plan::checked(vec![row(1, a, 50), row(2, b, 50)], 100, 4);
        assert_eq!(ok.map(|p| p.rows.len()), Ok(2));
        let code = |r: Result<Plan, Refusal>| r.err().map(|e| e.0);
        assert_eq!(
            code(Plan::checked(vec![row(1, a, 100)], 100, 4)),
            Some("bad_schedule_count")
        );
        assert_eq!(
            code(Plan::checked(vec![row(1, a, 50), row(2, a, 50)], 100, 4)),
            Some("bad_schedule_dates")
        );
        assert_eq!(
            code(Plan::checked(vec![row(1, a, 50), row(2, b, 49)], 100, 4)),
            Some("bad_schedule_sum")
        );
        assert_eq!(
            code(Plan::checked(vec![row(1, a, 100), row(2, b, 0)], 100, 4)),
            Some("bad_schedule_amount")
        );
        let mut plan = Plan::checked(vec![row(1, a, 50), row(2, b, 50)], 100, 4).unwrap();
        assert_eq!(plan.charge(1), Err(InstalmentError::NoSuchInstalment));
        assert_eq!(plan.charge(3), Err(InstalmentError::NoSuchInstalment));
        assert_eq!(plan.charge(2).map(|r| r.amount), Ok(50));
        assert_eq!(plan.charge(2), Err(InstalmentError::AlreadyCharged));
        assert_eq!(day("29/02/2027"), None);
        assert_eq!(day("28/02/2027"), Some(date(2027, 2, 28)));
    }
}

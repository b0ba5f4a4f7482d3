//! « Payer en 3 fois »: when the shop offers it, the schedule the customer sees before paying,
//! the French words for a schedule a bank refuses, and each instalment's state as the order
//! page and Gestion show it.

use minijinja::context;
use tpe_core::instalments::{Interval, Schedule, ScheduleError};
use tpe_core::{Amount, PaymentReference};

use super::{Shop, euros};
use crate::demo::DemoProvider;

/// How many instalments the shop offers.
pub(crate) const COUNT: u8 = 3;

/// What the shop offers in instalments: from which basket total, with which banks.
#[derive(Debug, Clone)]
pub(crate) struct Offer {
    /// The smallest basket total paid in instalments.
    pub(crate) minimum: Amount,
    /// The banks whose profile offers payment in instalments, in display order.
    pub(crate) banks: Vec<DemoProvider>,
}

impl Offer {
    /// Whether a basket of `total` may be paid in [`COUNT`] instalments.
    pub(crate) fn covers(&self, total: Amount) -> bool {
        !self.banks.is_empty()
            && total.currency() == self.minimum.currency()
            && total.minor() >= self.minimum.minor()
    }

    /// `Paybox, Lyra (Systempay) ou Monetico`.
    pub(crate) fn bank_names(&self) -> String {
        let names: Vec<&str> = self.banks.iter().map(|b| b.label()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} ou {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }

    /// Why `total` with `bank` cannot be paid in instalments, in French; `None` when it can.
    pub(crate) fn refusal(&self, total: Amount, bank: DemoProvider) -> Option<String> {
        if !self.covers(total) {
            return Some(format!(
                "Le paiement en {COUNT} fois est proposé à partir de {} d'achats.",
                euros(self.minimum)
            ));
        }
        (!self.banks.contains(&bank)).then(|| {
            format!(
                "Le paiement en {COUNT} fois n'est pas proposé avec {} : choisissez {}, ou payez \
                 en une fois.",
                bank.label(),
                self.bank_names()
            )
        })
    }
}

/// `total` in [`COUNT`] monthly instalments from `today`, the remainder on the first.
pub(crate) fn schedule(total: Amount, today: jiff::civil::Date) -> Option<Schedule> {
    Schedule::split(total, COUNT, today, Interval::Months(1)).ok()
}

/// The rows the customer sees before paying: number, day, amount.
pub(crate) fn rows(schedule: &Schedule) -> Vec<minijinja::Value> {
    schedule
        .instalments()
        .iter()
        .zip(1..)
        .map(|(i, number): (_, u8)| {
            let due = if number == 1 {
                "aujourd'hui".to_owned()
            } else {
                format!("le {}", i.due.strftime("%d/%m/%Y"))
            };
            context! { number => number, due => due, amount => euros(i.amount) }
        })
        .collect()
}

/// A schedule the bank refused (its limits), in French for the customer.
pub(crate) fn refused_fr(e: &ScheduleError, bank: DemoProvider) -> String {
    let why = match e {
        ScheduleError::BelowMinimum { min, .. } => format!(
            "chaque échéance doit être d'au moins {}",
            tpe_core::Amount::new(*min, tpe_core::Currency::EUR)
                .map(euros)
                .unwrap_or_else(|_| format!("{min} centimes"))
        ),
        ScheduleError::TooLate { max, .. } => {
            format!("la dernière échéance doit tomber dans les {max} jours")
        }
        ScheduleError::TooMany { max, .. } => format!("elle accepte au plus {max} échéances"),
        ScheduleError::Unsupported => "elle ne propose pas le paiement en plusieurs fois".into(),
        _ => "l'échéancier ne respecte pas ses règles".into(),
    };
    format!(
        "{} refuse ce paiement en {COUNT} fois : {why}. Payez en une fois ou choisissez une \
         autre banque.",
        bank.label()
    )
}

/// The checkout's schedule of instalments, each with its state in French: paid (with its
/// payment record), due, or refused (with the bank's reason).
pub(crate) fn states(d: &tpe_store::CheckoutDetail) -> Vec<minijinja::Value> {
    use tpe_store::InstalmentState as S;
    d.schedule()
        .iter()
        .map(|i| {
            let (state, detail) = match &i.state {
                S::Paid { record: Some(r) } => ("payée", format!("versement n°{}", r.id)),
                S::Paid { record: None } => (
                    "payée",
                    "versement écrit à la validation de la première échéance".to_owned(),
                ),
                S::Refused { reason } => (
                    "refusée",
                    format!("motif : {}", reason.manager_message(tpe_core::Lang::Fr)),
                ),
                _ => ("à venir", String::new()),
            };
            context! {
                number => i.number, amount => euros(i.instalment.amount),
                due => i.instalment.due.strftime("%d/%m/%Y").to_string(),
                state => state, detail => detail,
            }
        })
        .collect()
}

/// The customer's paid orders, newest first, each with its schedule when paid in instalments.
pub(crate) async fn paid_orders(
    shop: &Shop,
    paid: &[(String, PaymentReference)],
) -> Vec<minijinja::Value> {
    let mut orders = Vec::with_capacity(paid.len());
    for (order, reference) in paid.iter().rev() {
        let schedule = match shop.engine.checkout_detail(reference).await {
            Ok(Some(d)) => states(&d),
            _ => Vec::new(),
        };
        orders.push(context! {
            order => order, reference => reference.as_str(), schedule => schedule,
        });
    }
    orders
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use tpe_core::Currency;

    use super::*;

    fn eur(minor: u64) -> Amount {
        Amount::new(minor, Currency::EUR).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_offer_starts_at_its_minimum_and_names_its_banks() {
        let offer = Offer {
            minimum: eur(3_000),
            banks: vec![
                DemoProvider::Paybox,
                DemoProvider::Monetico,
                DemoProvider::Lyra,
            ],
        };
        assert!(!offer.covers(eur(2_999)));
        assert!(offer.covers(eur(3_000)));
        assert_eq!(offer.bank_names(), "Paybox, Monetico ou Lyra (Systempay)");
        assert!(
            offer
                .refusal(eur(2_999), DemoProvider::Paybox)
                .is_some_and(|m| m.contains("à partir de 30,00"))
        );
        assert!(
            offer
                .refusal(eur(3_000), DemoProvider::StripeLike)
                .is_some_and(|m| m.contains("pas proposé avec Stripe-like"))
        );
        assert_eq!(offer.refusal(eur(3_000), DemoProvider::Monetico), None);
        let none = Offer {
            minimum: eur(3_000),
            banks: Vec::new(),
        };
        assert!(!none.covers(eur(10_000)));
    }

    #[test]
    fn the_customer_sees_each_instalment_with_its_day() {
        let s = schedule(eur(10_000), date(2026, 3, 20)).unwrap_or_else(|| panic!("a schedule"));
        let shown: Vec<String> = rows(&s).iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3);
        assert!(
            shown[0].contains("aujourd'hui") && shown[0].contains("33,34"),
            "{shown:?}"
        );
        assert!(
            shown[2].contains("le 20/05/2026") && shown[2].contains("33,33"),
            "{shown:?}"
        );
    }
}

//! What LIFECYCLE.md says should happen, as a small model of its table of events, written
//! independently of `tpe_core::lifecycle` so that the tour checks the engine against the
//! document rather than against itself.

use tpe_core::CheckoutStatus;

/// An event of LIFECYCLE.md's table, as a story makes it happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    /// #2 (and #3 when already valid, #8 when retracted): a verified bank acceptance with the
    /// right amount.
    Accepted,
    /// #6: verified "pending" or a browser return without verdict.
    Pending,
    /// #4 / #5: a verified bank refusal.
    Refused,
    /// #7: a verified acceptance announcing another amount.
    AmountDiffers,
    /// #10: the retraction sweep after the delivery date.
    Retract,
    /// #9: manual validation by a manager.
    Manual,
    /// #11: reconciliation finds it paid (the effects of #2).
    ReconciledPaid,
    /// A later instalment accepted (docs/instalments.md): its own payment record once the
    /// order is paid.
    InstalmentPaid,
    /// A later instalment refused: one alert to the manager, the order stays as it is.
    InstalmentRefused,
}

/// The expected outcome of one checkout or of a whole story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Per checkout: state, `amount_mismatch`, superseded by a sibling.
    pub checkouts: Vec<(CheckoutStatus, bool, bool)>,
    /// Payment records ("versements").
    pub records: u32,
    /// E-mails to the customer.
    pub customer_mails: u32,
    /// E-mails to the manager.
    pub manager_mails: u32,
}

#[derive(Debug, Clone, Copy)]
struct One {
    state: CheckoutStatus,
    mismatch: bool,
    records: u32,
    customer: u32,
    manager: u32,
    /// A refusal's failure e-mail is waiting out the refusal window.
    refusal_held: bool,
}

impl One {
    fn step(&mut self, ev: Ev) {
        use CheckoutStatus as S;
        match (ev, self.state) {
            // #2: payment record, confirmation e-mail to the customer.
            (Ev::Accepted | Ev::ReconciledPaid, S::AwaitingPayment) => {
                self.state = S::Valid;
                self.records += 1;
                self.customer += 1;
            }
            // #8: payment record, alert e-mail to the manager.
            (Ev::Accepted | Ev::ReconciledPaid, S::Retracted) => {
                self.state = S::PaidAfterRetraction;
                self.records += 1;
                self.manager += 1;
            }
            // #4: failure e-mail to the manager after the refusal window, nothing to the
            // customer; the stories play within one window.
            (Ev::Refused, S::AwaitingPayment) => self.refusal_held = true,
            // #7: flag and alert, never validates.
            (Ev::AmountDiffers, _) => {
                self.mismatch = true;
                self.manager += 1;
            }
            // #9: payment record (manual), confirmation e-mail to the customer.
            (Ev::Manual, S::AwaitingPayment) => {
                self.state = S::Valid;
                self.records += 1;
                self.customer += 1;
            }
            // #10: no effect.
            (Ev::Retract, S::AwaitingPayment) => self.state = S::Retracted,
            // Later instalments of a paid order: a record, or an alert.
            (Ev::InstalmentPaid, S::Valid | S::PaidAfterRetraction) => self.records += 1,
            (Ev::InstalmentRefused, S::Valid | S::PaidAfterRetraction) => self.manager += 1,
            // #3, #5, #6 and anything else: unchanged, no effect.
            _ => {}
        }
    }
}

/// Plays `checkouts` (the events each checkout receives, in order). When `same_order`, a
/// checkout left awaiting payment is superseded once another of the same order is valid
/// (LIFECYCLE.md, "Several attempts").
pub fn expect(checkouts: &[Vec<Ev>], same_order: bool) -> Expected {
    let ones: Vec<One> = checkouts
        .iter()
        .map(|evs| {
            let mut one = One {
                state: CheckoutStatus::AwaitingPayment,
                mismatch: false,
                records: 0,
                customer: 0,
                manager: 0,
                refusal_held: false,
            };
            for ev in evs {
                one.step(*ev);
            }
            // The window ends: one e-mail for its refusals, none if paid meanwhile.
            if one.refusal_held && one.state == CheckoutStatus::AwaitingPayment {
                one.manager += 1;
            }
            one
        })
        .collect();
    let any_valid = ones.iter().any(|o| o.state == CheckoutStatus::Valid);
    Expected {
        checkouts: ones
            .iter()
            .map(|o| {
                let superseded =
                    same_order && any_valid && o.state == CheckoutStatus::AwaitingPayment;
                (o.state, o.mismatch, superseded)
            })
            .collect(),
        records: ones.iter().map(|o| o.records).sum(),
        customer_mails: ones.iter().map(|o| o.customer).sum(),
        manager_mails: ones.iter().map(|o| o.manager).sum(),
    }
}

/// `valid`, `awaiting_payment+mismatch`, `a / b` for several checkouts, `none created`.
pub fn describe(checkouts: &[(CheckoutStatus, bool, bool)]) -> String {
    if checkouts.is_empty() {
        return "none created".into();
    }
    checkouts
        .iter()
        .map(|(s, m, sup)| {
            let mut t = s.as_str().to_owned();
            if *m {
                t.push_str("+mismatch");
            }
            if *sup {
                t.push_str("+superseded");
            }
            t
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckoutStatus as S;

    /// State, records, customer e-mails, manager e-mails of a single checkout.
    fn counts(e: &Expected) -> (S, u32, u32, u32) {
        (
            e.checkouts[0].0,
            e.records,
            e.customer_mails,
            e.manager_mails,
        )
    }

    #[test]
    fn the_model_follows_the_table() {
        let e = expect(&[vec![Ev::Pending, Ev::Accepted, Ev::Accepted]], false);
        assert_eq!(counts(&e), (S::Valid, 1, 1, 0));
        let e = expect(&[vec![Ev::Retract, Ev::Accepted]], false);
        assert_eq!(counts(&e), (S::PaidAfterRetraction, 1, 0, 1));
        let e = expect(&[vec![Ev::Refused], vec![Ev::Accepted]], true);
        assert_eq!(
            describe(&e.checkouts),
            "awaiting_payment+superseded / valid"
        );
        assert_eq!(e.manager_mails, 1);
        let e = expect(
            &[vec![
                Ev::Accepted,
                Ev::InstalmentRefused,
                Ev::InstalmentPaid,
            ]],
            false,
        );
        assert_eq!(counts(&e), (S::Valid, 2, 1, 1));
        let e = expect(&[vec![Ev::Accepted, Ev::Refused]], false);
        assert_eq!((e.checkouts[0].0, e.manager_mails), (S::Valid, 0));
        assert_eq!(describe(&expect(&[], false).checkouts), "none created");
    }
}

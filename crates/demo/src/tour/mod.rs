//! `tpe demo --tour`: every story of LIFECYCLE.md played on every bank over real HTTP,
//! each against a fresh demo (its own SQLite file, mock bank and e-mail folder), each row
//! checked against what the lifecycle says.

mod browser;
pub mod model;
mod play;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tpe_core::{Amount, CheckoutStatus, Currency, Customer, CustomerField, Timestamp};
use tpe_engine::{CheckoutError, CheckoutRequest};
use tpe_mock_bank::{EntryKind, Scenario};

use self::browser::Card;
use self::model::{Ev, Expected, describe, expect};
use self::play::{Play, tampered_page};
use crate::demo::DemoProvider;
use crate::error::DemoError;

/// The stories of LIFECYCLE.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Story {
    /// Accepted at once.
    Accepted,
    /// Pending, then accepted.
    PendingThenAccepted,
    /// Pending, then refused.
    PendingThenRefused,
    /// Refused.
    Refused,
    /// The customer leaves the bank page; retracted the day after delivery.
    AbandonedThenRetracted,
    /// A mistyped card then a good one on the same bank page.
    TwoTriesSamePage,
    /// Left the bank page, came back later: a second checkout paid, the first superseded.
    LeftAndCameBack,
    /// Phone and address missing: nothing created, nothing sent.
    Psd2DataMissing,
    /// A manager validates by hand.
    ManualValidation,
    /// Paid after the retraction.
    PaidAfterRetraction,
    /// The bank confirms another amount than the checkout's.
    TamperedAmount,
    /// The same notification ten times.
    SameNotificationTenTimes,
    /// The notification is lost; reconciliation finds the payment.
    LostThenReconciled,
    /// Paid in three instalments, each accepted.
    InstalmentsAllPaid,
    /// Paid in three instalments, the second refused by the bank.
    SecondInstalmentRefused,
}

impl Story {
    /// Every story, in the order of the table.
    pub const ALL: [Self; 15] = [
        Self::Accepted,
        Self::PendingThenAccepted,
        Self::PendingThenRefused,
        Self::Refused,
        Self::AbandonedThenRetracted,
        Self::TwoTriesSamePage,
        Self::LeftAndCameBack,
        Self::Psd2DataMissing,
        Self::ManualValidation,
        Self::PaidAfterRetraction,
        Self::TamperedAmount,
        Self::SameNotificationTenTimes,
        Self::LostThenReconciled,
        Self::InstalmentsAllPaid,
        Self::SecondInstalmentRefused,
    ];

    /// The row's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::PendingThenAccepted => "pending then accepted",
            Self::PendingThenRefused => "pending then refused",
            Self::Refused => "refused",
            Self::AbandonedThenRetracted => "abandoned, retracted after delivery",
            Self::TwoTriesSamePage => "two tries on the same bank page",
            Self::LeftAndCameBack => "left and came back",
            Self::Psd2DataMissing => "PSD2 data missing",
            Self::ManualValidation => "manual validation",
            Self::PaidAfterRetraction => "paid after retraction",
            Self::TamperedAmount => "tampered amount",
            Self::SameNotificationTenTimes => "same notification ten times",
            Self::LostThenReconciled => "lost notification, reconciled",
            Self::InstalmentsAllPaid => "three instalments all paid",
            Self::SecondInstalmentRefused => "second instalment refused",
        }
    }

    /// Whether the story pays in instalments.
    pub fn in_instalments(self) -> bool {
        matches!(
            self,
            Self::InstalmentsAllPaid | Self::SecondInstalmentRefused
        )
    }

    fn slug(self) -> String {
        self.label()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }

    /// What the bank makes happen to each checkout of the story, per LIFECYCLE.md, and whether
    /// the checkouts share one shop order; the same on every provider.
    fn plan(self) -> (Vec<Vec<Ev>>, bool) {
        // Both providers play every story alike: a card declined on a Stripe-like hosted page
        // is notified (`payment_intent.payment_failed`) like a Paybox refusal, and the page
        // stays open for another card as Paybox's does after a mistyped number.
        match self {
            Self::Accepted => (vec![vec![Ev::Accepted]], false),
            Self::PendingThenAccepted => (vec![vec![Ev::Pending, Ev::Accepted]], false),
            Self::PendingThenRefused => (vec![vec![Ev::Pending, Ev::Refused]], false),
            Self::Refused => (vec![vec![Ev::Refused]], false),
            Self::AbandonedThenRetracted => (vec![vec![Ev::Retract]], false),
            // Each failed try is notified (Paybox 00004, Stripe-like incorrect_number).
            Self::TwoTriesSamePage => (vec![vec![Ev::Refused, Ev::Accepted]], false),
            Self::LeftAndCameBack => (vec![vec![], vec![Ev::Accepted]], true),
            Self::Psd2DataMissing => (vec![], false),
            Self::ManualValidation => (vec![vec![Ev::Manual]], false),
            Self::PaidAfterRetraction => (vec![vec![Ev::Retract, Ev::Accepted]], false),
            Self::TamperedAmount => (vec![vec![Ev::AmountDiffers]], false),
            Self::SameNotificationTenTimes => (vec![vec![Ev::Accepted; 10]], false),
            Self::LostThenReconciled => (vec![vec![Ev::ReconciledPaid]], false),
            Self::InstalmentsAllPaid => (
                vec![vec![Ev::Accepted, Ev::InstalmentPaid, Ev::InstalmentPaid]],
                false,
            ),
            Self::SecondInstalmentRefused => (
                vec![vec![
                    Ev::Accepted,
                    Ev::InstalmentRefused,
                    Ev::InstalmentPaid,
                ]],
                false,
            ),
        }
    }
}

/// What a row found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Per checkout: state, `amount_mismatch`, superseded.
    pub checkouts: Vec<(CheckoutStatus, bool, bool)>,
    /// Payment records.
    pub records: u32,
    /// E-mails to the customer.
    pub customer_mails: u32,
    /// E-mails to the manager.
    pub manager_mails: u32,
}

/// The verdict of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// As LIFECYCLE.md says.
    Ok,
    /// Something differs: what.
    Differs(Vec<String>),
    /// The story cannot be played by this provider on the mock bank: why.
    NotExpressible(String),
}

/// One row of the tour.
#[derive(Debug, Clone)]
pub struct Row {
    /// The story.
    pub story: Story,
    /// The provider.
    pub provider: DemoProvider,
    /// What happened (absent when the story could not be played).
    pub observed: Option<Observed>,
    /// What LIFECYCLE.md says.
    pub expected: Expected,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every row of a tour.
#[derive(Debug, Clone, Default)]
pub struct TourReport {
    /// The rows, story by story, bank by bank in `DemoProvider::ALL` order.
    pub rows: Vec<Row>,
}

impl TourReport {
    /// No row differs from LIFECYCLE.md (rows that cannot be expressed are not failures).
    pub fn all_ok(&self) -> bool {
        self.rows
            .iter()
            .all(|r| !matches!(r.verdict, Verdict::Differs(_)))
    }

    /// The table: story, provider, final state, payment records, customer e-mails, manager
    /// e-mails, expected, ok; then the details of each row that is not ok.
    pub fn table(&self) -> String {
        let mut lines = vec![[
            "story".to_owned(),
            "provider".to_owned(),
            "final state".to_owned(),
            "records".to_owned(),
            "customer mails".to_owned(),
            "manager mails".to_owned(),
            "expected".to_owned(),
            "ok".to_owned(),
        ]];
        for r in &self.rows {
            let exp = format!(
                "{} {}/{}/{}",
                describe(&r.expected.checkouts),
                r.expected.records,
                r.expected.customer_mails,
                r.expected.manager_mails
            );
            let (state, rec, cust, mgr) = match &r.observed {
                Some(o) => (
                    describe(&o.checkouts),
                    o.records.to_string(),
                    o.customer_mails.to_string(),
                    o.manager_mails.to_string(),
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            let ok = match &r.verdict {
                Verdict::Ok => "ok",
                Verdict::Differs(_) => "DIFFERS",
                Verdict::NotExpressible(_) => "n/a",
            };
            lines.push([
                r.story.label().to_owned(),
                r.provider.label().to_owned(),
                state,
                rec,
                cust,
                mgr,
                exp,
                ok.to_owned(),
            ]);
        }
        let widths: Vec<usize> = (0..8)
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (n, l) in lines.iter().enumerate() {
            let cells: Vec<String> = l
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}", w = *w))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
            if n == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
            }
        }
        out.push_str("\nexpected = final state, then records/customer e-mails/manager e-mails, from LIFECYCLE.md\n");
        for r in &self.rows {
            match &r.verdict {
                Verdict::Differs(why) => {
                    let _ = writeln!(
                        out,
                        "DIFFERS {} / {}: {}",
                        r.story.label(),
                        r.provider.label(),
                        why.join("; ")
                    );
                }
                Verdict::NotExpressible(why) => {
                    let _ = writeln!(
                        out,
                        "n/a {} / {}: {}",
                        r.story.label(),
                        r.provider.label(),
                        why
                    );
                }
                Verdict::Ok => {}
            }
        }
        out
    }
}

/// 2026-03-20 10:00 in Paris: the tour's clock starts here.
fn start_time() -> Timestamp {
    Timestamp::from_second(1_773_997_200).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The planned delivery date of the tour's checkouts.
fn delivery() -> jiff::civil::Date {
    jiff::civil::date(2026, 3, 23)
}

fn customer() -> Customer {
    crate::web::jeanne(true)
}

const AMOUNT: u64 = 2_770;

fn request(order: Option<&str>) -> Result<CheckoutRequest, DemoError> {
    Ok(CheckoutRequest {
        customer: customer(),
        amount: Amount::new(AMOUNT, Currency::EUR).map_err(|e| DemoError::Tour(e.to_string()))?,
        description: "Panier de légumes, œufs, miel".into(),
        item_count: 3,
        delivery: delivery(),
        shop_order_id: order.map(str::to_owned),
        language: None,
    })
}

async fn play_story(play: &mut Play, story: Story) -> Result<(), DemoError> {
    let p = play.provider;
    match story {
        Story::Accepted => {
            let c = play.checkout(None).await?;
            let page = play.browser.open(&c.redirect).await?;
            let landing = play.browser.pay(&page, p, Card::Accepted).await?;
            play.landing_says(&landing, "Paiement validé").await;
        }
        Story::PendingThenAccepted | Story::PendingThenRefused => {
            let card = if story == Story::PendingThenAccepted {
                Card::PendingThenAccepted
            } else {
                Card::PendingThenRefused
            };
            let c = play.checkout(None).await?;
            let page = play.browser.open(&c.redirect).await?;
            let landing = play.browser.pay(&page, p, card).await?;
            let pending = landing.html.contains("Paiement pas encore validé");
            play.check(
                pending,
                "the customer's page does not say \"Paiement pas encore validé\"",
            );
            let awaiting = play.status(&c.reference).await == Some(CheckoutStatus::AwaitingPayment);
            play.check(awaiting, "a pending payment changed the state");
            play.delivered(&c.reference, 2).await;
        }
        Story::Refused => {
            let c = play.checkout(None).await?;
            let page = play.browser.open(&c.redirect).await?;
            let landing = play.browser.pay(&page, p, Card::Refused).await?;
            match p.bank().refusal_stays_on_bank_page() {
                None => play.landing_says(&landing, "Paiement refusé").await,
                // The customer stays on the bank page, which shows the decline.
                Some(status) => play.check(
                    landing.status == status,
                    "the bank page did not show the decline",
                ),
            }
            play.delivered(&c.reference, 1).await;
        }
        Story::AbandonedThenRetracted => {
            let c = play.checkout(None).await?;
            play.browser.open(&c.redirect).await?;
            play.retract_at(jiff::SignedDuration::from_secs(-60))
                .await?;
            let before = play.status(&c.reference).await == Some(CheckoutStatus::AwaitingPayment);
            play.check(before, "retracted before the day after delivery");
            play.retract_at(jiff::SignedDuration::ZERO).await?;
        }
        Story::TwoTriesSamePage => {
            let c = play.checkout(None).await?;
            let page = play.browser.open(&c.redirect).await?;
            let first = play.browser.pay(&page, p, Card::Mistyped).await?;
            let again = first.html.contains(page.form.path());
            play.check(
                again,
                "the bank did not show its page again after a mistyped card",
            );
            play.delivered(&c.reference, 1).await;
            let landing = play.browser.pay(&page, p, Card::Accepted).await?;
            play.landing_says(&landing, "Paiement validé").await;
        }
        Story::LeftAndCameBack => {
            let first = play.checkout(Some("CMD-TOUR-7")).await?;
            play.browser.open(&first.redirect).await?;
            let second = play.checkout(Some("CMD-TOUR-7")).await?;
            let page = play.browser.open(&second.redirect).await?;
            play.browser.pay(&page, p, Card::Accepted).await?;
            let c = play
                .demo
                .engine()
                .checkout(&first.reference)
                .await
                .ok()
                .flatten();
            let by = c.and_then(|c| c.superseded_by);
            play.check(
                by.as_ref() == Some(&second.reference),
                "the first checkout is not marked superseded by the second",
            );
        }
        Story::Psd2DataMissing => {
            let mut req = request(None)?;
            req.customer.phone = None;
            req.customer.address = None;
            match play.demo.engine().start_checkout(&p.id(), req).await {
                Err(CheckoutError::IncompleteCustomer(e)) => {
                    let f = e.fields();
                    let listed = f.contains(&CustomerField::Phone)
                        && f.contains(&CustomerField::AddressLine1);
                    play.check(
                        listed,
                        format!("the error does not list phone and address: {f:?}"),
                    );
                    let msg = e.message_fr();
                    play.check(
                        msg.contains("téléphone"),
                        format!("message without the phone: {msg}"),
                    );
                }
                other => play.check(false, format!("the checkout was not stopped: {other:?}")),
            }
            let none = play
                .demo
                .engine()
                .checkouts_by_state(CheckoutStatus::AwaitingPayment, 10, None)
                .await
                .map(|p| p.items.is_empty())
                .unwrap_or(false);
            play.check(none, "a checkout was created");
            let sent = play
                .demo
                .bank()
                .journal()
                .iter()
                .any(|e| e.kind == EntryKind::Request && !e.target.starts_with("/_mock"));
            play.check(!sent, "something was sent to the bank");
        }
        Story::ManualValidation => {
            let c = play.checkout(None).await?;
            play.browser.open(&c.redirect).await?;
            play.demo
                .engine()
                .validate_manually(
                    &c.reference,
                    "Claire (gérante)",
                    "payé d'après le back-office de la banque",
                )
                .await
                .map_err(|e| DemoError::Tour(format!("manual validation: {e}")))?;
        }
        Story::PaidAfterRetraction => {
            let c = play.checkout(None).await?;
            let page = play.browser.open(&c.redirect).await?;
            play.retract_at(jiff::SignedDuration::ZERO).await?;
            let retracted = play.status(&c.reference).await == Some(CheckoutStatus::Retracted);
            play.check(retracted, "not retracted before the payment");
            play.browser.pay(&page, p, Card::Accepted).await?;
        }
        Story::TamperedAmount => {
            let c = play.checkout(None).await?;
            let redirect = tampered_page(play, &c).await?;
            let page = play.browser.open(&redirect).await?;
            play.browser.pay(&page, p, Card::Accepted).await?;
        }
        Story::SameNotificationTenTimes => {
            let c = play.checkout(None).await?;
            let bank_reference = play.bank_reference(&c.reference).await;
            play.demo.bank().script(
                bank_reference,
                Scenario {
                    duplicate: 9,
                    ..Scenario::default()
                },
            );
            let page = play.browser.open(&c.redirect).await?;
            play.browser.pay(&page, p, Card::Accepted).await?;
            play.delivered(&c.reference, 10).await;
        }
        Story::LostThenReconciled => {
            let c = play.checkout(None).await?;
            let bank_reference = play.bank_reference(&c.reference).await;
            play.demo.bank().script(
                bank_reference,
                Scenario {
                    drop: true,
                    ..Scenario::default()
                },
            );
            let page = play.browser.open(&c.redirect).await?;
            play.browser.pay(&page, p, Card::Accepted).await?;
            let still = play.status(&c.reference).await == Some(CheckoutStatus::AwaitingPayment);
            play.check(still, "the lost notification changed the state");
            play.clock.advance(jiff::SignedDuration::from_mins(16));
            play.demo
                .engine()
                .run_reconciliation(play.now())
                .await
                .map_err(|e| DemoError::Tour(format!("reconciliation: {e}")))?;
        }
        Story::InstalmentsAllPaid | Story::SecondInstalmentRefused => {
            let side = p
                .bank()
                .instalments()
                .ok_or_else(|| DemoError::Tour("no instalments at this bank".into()))?;
            let c = play.checkout_in_three().await?;
            let page = play.browser.open(&c.redirect).await?;
            let landing = play.browser.pay(&page, p, Card::Accepted).await?;
            play.landing_says(&landing, "Paiement validé").await;
            play.delivered(&c.reference, 1).await;
            // The bank charges the later instalments on their days, here on command.
            let bank_reference = play.bank_reference(&c.reference).await;
            let second = story == Story::InstalmentsAllPaid;
            for (number, accepted) in [(2, second), (3, true)] {
                play.demo
                    .bank()
                    .charge_instalment(side, &bank_reference, number, accepted)
                    .map_err(|e| DemoError::Tour(format!("instalment {number}: {e}")))?;
                play.delivered(&c.reference, usize::from(number)).await;
            }
        }
    }
    // Effects due now, then those held for the refusal window (LIFECYCLE.md, effects).
    play.relay().await?;
    play.clock.advance(
        jiff::SignedDuration::try_from(tpe_engine::Timings::default().refusal_email_delay)
            .unwrap_or(jiff::SignedDuration::ZERO),
    );
    play.relay().await
}

async fn play_row(dir: PathBuf, story: Story, provider: DemoProvider) -> Row {
    let (plan, same_order) = story.plan();
    let expected = expect(&plan, same_order);
    let no_instalments = (story.in_instalments() && provider.bank().instalments().is_none())
        .then_some("this bank offers no payment in instalments");
    if let Some(why) = provider.bank().cannot_play(story).or(no_instalments) {
        return Row {
            story,
            provider,
            observed: None,
            expected,
            verdict: Verdict::NotExpressible(why.to_owned()),
        };
    }
    let outcome = async {
        let mut play = Play::start(&dir, provider).await?;
        let r = play_story(&mut play, story).await;
        let observed = match r {
            Ok(()) => play.observe().await,
            Err(e) => Err(e),
        };
        let problems = std::mem::take(&mut play.problems);
        play.demo.shutdown().await;
        observed.map(|o| (o, problems))
    }
    .await;
    match outcome {
        Ok((observed, mut problems)) => {
            if observed.checkouts != expected.checkouts {
                problems.push(format!(
                    "state {} instead of {}",
                    describe(&observed.checkouts),
                    describe(&expected.checkouts)
                ));
            }
            for (what, got, want) in [
                ("payment records", observed.records, expected.records),
                (
                    "customer e-mails",
                    observed.customer_mails,
                    expected.customer_mails,
                ),
                (
                    "manager e-mails",
                    observed.manager_mails,
                    expected.manager_mails,
                ),
            ] {
                if got != want {
                    problems.push(format!("{got} {what} instead of {want}"));
                }
            }
            let verdict = if problems.is_empty() {
                Verdict::Ok
            } else {
                Verdict::Differs(problems)
            };
            Row {
                story,
                provider,
                observed: Some(observed),
                expected,
                verdict,
            }
        }
        Err(e) => Row {
            story,
            provider,
            observed: None,
            expected,
            verdict: Verdict::Differs(vec![e.to_string()]),
        },
    }
}

/// Rows played at once.
const ROWS_AT_ONCE: usize = 8;

/// Plays every story on every bank, each in its own demo under `data_dir` (created if
/// absent, each story's folder replaced).
///
/// # Errors
/// [`DemoError`] when the tour itself cannot run (no folder, no loopback port); a story that
/// goes wrong is a row that differs, not an error.
pub async fn run_tour(data_dir: &Path) -> Result<TourReport, DemoError> {
    std::fs::create_dir_all(data_dir).map_err(DemoError::io(data_dir))?;
    // Each row starts its own shop, bank and database: a few at a time, so that a small machine
    // (or one busy with other work) never times a row out while it opens its store.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(ROWS_AT_ONCE));
    let mut tasks = Vec::new();
    for story in Story::ALL {
        for provider in DemoProvider::ALL {
            let dir = data_dir.join(format!("{}-{}", story.slug(), provider.id()));
            let slots = slots.clone();
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                play_row(dir, story, provider).await
            }));
        }
    }
    let mut report = TourReport::default();
    for t in tasks {
        report.rows.push(
            t.await
                .map_err(|e| DemoError::Tour(format!("a story panicked: {e}")))?,
        );
    }
    Ok(report)
}

//! Payment in instalments through the engine's public API: a schedule refused by a bank that
//! does not offer it or by its limits (typed error, nothing stored), the stories "three
//! instalments all paid", "second instalment refused" and instalments told out of order and
//! twice, and the refund of every versement paid (once each, a versement after the refund,
//! a bank failing some refunds), end to end over HTTP on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::db::Db;
use common::*;
use jiff::civil::{Date, date};
use tpe_core::Clock as _;
use tpe_core::clock::ManualClock;
use tpe_core::instalments::{Interval, Schedule, ScheduleError};
use tpe_core::lifecycle::TransitionError;
use tpe_core::{Amount, CheckoutStatus, Currency, PaymentReference};
use tpe_engine::{CheckoutError, EngineError, MemoryMailer, StoreError};
use tpe_store::{CheckoutDetail, InstalmentState};

/// The shop's day at [`start_time`] (10:00 in Paris).
const TODAY: Date = date(2026, 3, 20);

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

fn monthly(minor: u64, count: u8, first: Date, months: u8) -> Schedule {
    Schedule::split(eur(minor), count, first, Interval::Months(months)).unwrap()
}

/// The test bank's notification about instalment `number` (`None`: the first, unnumbered),
/// its bank transaction `T<number>`.
fn instalment(r: &PaymentReference, number: Option<u8>, outcome: &str, minor: u64) -> String {
    let txn = format!("T{}", number.unwrap_or(1));
    notification(r, number, outcome, minor, &txn)
}

/// The same, for bank transaction `txn`.
fn notification(
    r: &PaymentReference,
    number: Option<u8>,
    outcome: &str,
    minor: u64,
    txn: &str,
) -> String {
    let inst = number.map(|n| format!("&inst={n}")).unwrap_or_default();
    sign(&format!(
        "ref={}&txn={txn}&outcome={outcome}&amount={minor}&cur=EUR{inst}",
        bank_reference(r.as_str())
    ))
}

/// A shop whose test bank offers payment in instalments, over `db`.
async fn shop(db: &Db) -> Shop {
    let bank = Arc::new(TestBank::default());
    bank.instalments.store(true, Ordering::SeqCst);
    let clock = ManualClock::new(start_time());
    Shop::start_shared(db.open().await, bank, clock, MemoryMailer::new()).await
}

/// 90.00 € in 3 monthly instalments of 30.00 €, started today.
async fn in_three(shop: &Shop) -> PaymentReference {
    let started = shop
        .engine
        .start_checkout_in_instalments(&PROVIDER, request(9000, None), monthly(9000, 3, TODAY, 1))
        .await
        .unwrap();
    // Handed to the bank in the payment request.
    assert!(
        started
            .redirect
            .action
            .query_pairs()
            .any(|(k, v)| k == "instalments" && v == "3"),
        "{}",
        started.redirect.action
    );
    started.reference
}

async fn notify_ok(shop: &Shop, body: String) {
    assert_eq!(shop.notify(body).await, (200, "OK-TESTBANK".into()));
}

async fn detail(shop: &Shop, r: &PaymentReference) -> CheckoutDetail {
    shop.engine.checkout_detail(r).await.unwrap().unwrap()
}

fn hook_records(shop: &Shop) -> Vec<(u64, Option<String>)> {
    let mut v: Vec<_> = shop
        .hook
        .records
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.amount.minor(), r.bank_transaction_id.clone()))
        .collect();
    v.sort();
    v
}

fn txn(n: u8) -> (u64, Option<String>) {
    (3000, Some(format!("T{n}")))
}

#[tokio::test]
async fn a_schedule_is_refused_by_a_bank_without_it_and_by_its_limits() {
    let shop = Shop::start().await;
    let refused = |schedule: Schedule, minor: u64| {
        let engine = &shop.engine;
        async move {
            match engine
                .start_checkout_in_instalments(&PROVIDER, request(minor, None), schedule)
                .await
            {
                Err(CheckoutError::Schedule(e)) => e,
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        refused(monthly(9000, 3, TODAY, 1), 9000).await,
        ScheduleError::Unsupported
    );
    shop.bank.instalments.store(true, Ordering::SeqCst);
    assert_eq!(
        refused(monthly(9000, 6, TODAY, 1), 9000).await,
        ScheduleError::TooMany { count: 6, max: 4 }
    );
    assert_eq!(
        refused(monthly(250, 3, TODAY, 1), 250).await,
        ScheduleError::BelowMinimum {
            index: 1,
            amount: 84,
            min: 100
        }
    );
    // 20 March to 20 September: 184 days.
    assert_eq!(
        refused(monthly(9000, 4, TODAY, 2), 9000).await,
        ScheduleError::TooLate {
            days: 184,
            max: 120
        }
    );
    let tomorrow = date(2026, 3, 21);
    assert_eq!(
        refused(monthly(9000, 3, tomorrow, 1), 9000).await,
        ScheduleError::FirstNotToday {
            due: tomorrow,
            today: TODAY
        }
    );
    assert_eq!(
        refused(monthly(9000, 3, TODAY, 1), 8000).await,
        ScheduleError::Sum {
            sum: 9000,
            total: 8000
        }
    );
    let all = shop
        .engine
        .checkouts_by_state(CheckoutStatus::AwaitingPayment, 50, None)
        .await
        .unwrap();
    assert!(all.items.is_empty(), "nothing stored: {:?}", all.items);
    // Within the limits it starts, and the schedule is kept with the checkout.
    let r = in_three(&shop).await;
    let c = detail(&shop, &r).await.checkout;
    assert_eq!(c.schedule, Some(monthly(9000, 3, TODAY, 1)));
    assert_eq!(c.amount, eur(9000));
}

async fn three_instalments_all_paid(db: Db) {
    let shop = shop(&db).await;
    let r = in_three(&shop).await;
    notify_ok(&shop, instalment(&r, None, "accepted", 3000)).await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    assert_eq!(shop.relay().await.delivered, 2, "record + confirmation");
    for n in [2, 3] {
        for _ in 0..3 {
            notify_ok(&shop, instalment(&r, Some(n), "accepted", 3000)).await;
        }
    }
    assert_eq!(shop.relay().await.delivered, 2, "one record per instalment");
    assert_eq!(shop.relay().await.delivered, 0);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    assert_eq!(hook_records(&shop), [txn(1), txn(2), txn(3)]);
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1, "confirmed once");
    assert!(shop.mails_to(MANAGER).is_empty());
    let d = detail(&shop, &r).await;
    assert_eq!(d.payments.len(), 3);
    let schedule = d.schedule();
    assert_eq!(schedule.len(), 3);
    for (i, s) in schedule.iter().enumerate() {
        assert_eq!(usize::from(s.number), i + 1);
        assert!(
            matches!(&s.state, InstalmentState::Paid { record: Some(p) }
                if p.bank_transaction_id == Some(format!("T{}", s.number))),
            "{s:?}"
        );
    }
    assert_eq!(schedule[2].instalment.due, date(2026, 5, 20));
}

async fn second_instalment_refused(db: Db) {
    let shop = shop(&db).await;
    let r = in_three(&shop).await;
    notify_ok(&shop, instalment(&r, None, "accepted", 3000)).await;
    for _ in 0..2 {
        notify_ok(&shop, instalment(&r, Some(2), "refused:51", 3000)).await;
    }
    notify_ok(&shop, instalment(&r, Some(3), "accepted", 3000)).await;
    assert_eq!(shop.relay().await.delivered, 4);
    assert_eq!(shop.relay().await.delivered, 0);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid, "stays valid");
    assert_eq!(hook_records(&shop), [txn(1), txn(3)]);
    let alerts = shop.mails_to(MANAGER);
    assert_eq!(alerts.len(), 1, "one alert: {alerts:?}");
    assert!(
        alerts[0].subject.contains(r.as_str()),
        "{}",
        alerts[0].subject
    );
    assert!(alerts[0].subject.contains('2'), "{}", alerts[0].subject);
    assert!(
        alerts[0].body.contains("Provision insuffisante"),
        "{}",
        alerts[0].body
    );
    assert!(alerts[0].body.contains("30,00"), "{}", alerts[0].body);
    let schedule = detail(&shop, &r).await.schedule();
    assert!(matches!(
        &schedule[1].state,
        InstalmentState::Refused { reason } if reason.code() == "51"
    ));
    assert!(matches!(
        schedule[2].state,
        InstalmentState::Paid { record: Some(_) }
    ));
}

async fn disorder_and_duplicates(db: Db) {
    let shop = shop(&db).await;
    let r = in_three(&shop).await;
    // Later instalments before the first: kept, nothing said yet.
    notify_ok(&shop, instalment(&r, Some(3), "accepted", 3000)).await;
    notify_ok(&shop, instalment(&r, Some(2), "refused:51", 3000)).await;
    notify_ok(&shop, instalment(&r, Some(2), "refused:51", 3000)).await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    assert_eq!(shop.relay().await.delivered, 0);
    let early = detail(&shop, &r).await.schedule();
    assert_eq!(early[0].state, InstalmentState::Due);
    assert_eq!(early[2].state, InstalmentState::Paid { record: None });
    // The first, numbered this time, then every notification again.
    notify_ok(&shop, instalment(&r, Some(1), "accepted", 3000)).await;
    for (n, outcome) in [(1, "accepted"), (2, "refused:51"), (3, "accepted")] {
        notify_ok(&shop, instalment(&r, Some(n), outcome, 3000)).await;
    }
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    assert_eq!(
        shop.relay().await.delivered,
        4,
        "2 records, confirmation, alert"
    );
    assert_eq!(shop.relay().await.delivered, 0);
    assert_eq!(hook_records(&shop), [txn(1), txn(3)]);
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    assert_eq!(shop.mails_to(MANAGER).len(), 1);
    let d = detail(&shop, &r).await;
    assert_eq!(d.payments.len(), 2);
    assert!(matches!(
        d.schedule()[1].state,
        InstalmentState::Refused { .. }
    ));
}

/// 90.00 € in three from today, retracted unpaid ten days later, then its first instalment
/// paid (bank transaction `<reference>-1`): paid after retraction.
async fn paid_after_retraction(shop: &Shop) -> PaymentReference {
    let today = tpe_core::instalments::french_day(shop.clock.now());
    let schedule = monthly(9000, 3, today, 1);
    let started = shop
        .engine
        .start_checkout_in_instalments(&PROVIDER, request(9000, None), schedule)
        .await;
    let r = started.unwrap().reference;
    shop.clock
        .set(shop.clock.now() + jiff::SignedDuration::from_hours(24 * 10));
    shop.engine.run_retraction(shop.clock.now()).await.unwrap();
    assert_eq!(shop.status(&r).await, CheckoutStatus::Retracted);
    notify_ok(shop, versement(&r, 1, "accepted")).await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::PaidAfterRetraction);
    r
}

/// Instalment `n` of 30.00 € of `r`, its bank transaction `<reference>-<n>`.
fn versement(r: &PaymentReference, n: u8, outcome: &str) -> String {
    notification(r, Some(n), outcome, 3000, &format!("{r}-{n}"))
}

/// Pays instalments 2 and 3 of `r` (`true`: accepted, `false`: refused).
async fn later_versements(shop: &Shop, r: &PaymentReference, second: bool, third: bool) {
    for (n, accepted) in [(2, second), (3, third)] {
        let outcome = if accepted { "accepted" } else { "refused:51" };
        notify_ok(shop, versement(r, n, outcome)).await;
    }
}

/// The refunds the test bank took from `count` on: bank transaction and amount.
fn refunds_from(shop: &Shop, count: usize) -> Vec<(String, u64)> {
    shop.bank.refunds.lock().unwrap()[count..].to_vec()
}

fn refused_by_name(result: Result<CheckoutStatus, EngineError>) {
    assert!(
        matches!(
            result,
            Err(EngineError::Store(StoreError::Transition(
                TransitionError::NotRefundable { .. }
            )))
        ),
        "{result:?}"
    );
}

/// A refund gives back everything paid, once: three versements paid, three bank refunds,
/// each on its own transaction for its own amount, however often the request and the relay
/// are repeated; the second refused, two; at a bank without refunds, a typed error and
/// nothing changes.
async fn refund_of_a_payment_in_instalments(db: Db) {
    let shop = shop(&db).await;
    shop.bank.refunding.store(true, Ordering::SeqCst);
    let r = paid_after_retraction(&shop).await;
    later_versements(&shop, &r, true, true).await;
    let asked = shop.engine.request_refund(&r, "Lucie", "commande annulée");
    assert_eq!(asked.await.unwrap(), CheckoutStatus::Refunding);
    refused_by_name(shop.engine.request_refund(&r, "Lucie", "").await);
    shop.relay().await;
    refused_by_name(shop.engine.request_refund(&r, "Lucie", "").await);
    shop.relay().await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Refunded);
    let each: Vec<_> = (1..=3).map(|n| (format!("{r}-{n}"), 3000)).collect();
    assert_eq!(refunds_from(&shop, 0), each);
    let keys = shop.bank.refund_keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert!(
        keys[1].ends_with("-2") && keys[2].ends_with("-3"),
        "{keys:?}"
    );
    let d = detail(&shop, &r).await;
    let refund_rows = d.effects.iter().filter(|e| e.effect.kind() == "refund");
    assert_eq!(refund_rows.count(), 3);

    // The second instalment refused: the first and the third are given back.
    let two = paid_after_retraction(&shop).await;
    later_versements(&shop, &two, false, true).await;
    let asked = shop.engine.request_refund(&two, "Lucie", "").await;
    assert_eq!(asked.unwrap(), CheckoutStatus::Refunding);
    shop.relay().await;
    assert_eq!(shop.status(&two).await, CheckoutStatus::Refunded);
    assert_eq!(
        refunds_from(&shop, 3),
        [(format!("{two}-1"), 3000), (format!("{two}-3"), 3000)]
    );

    // A bank without refunds: said before anything is written.
    shop.bank.refunding.store(false, Ordering::SeqCst);
    let three = paid_after_retraction(&shop).await;
    match shop.engine.request_refund(&three, "Lucie", "").await {
        Err(EngineError::RefundUnsupported { provider }) => assert_eq!(provider, PROVIDER),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        shop.status(&three).await,
        CheckoutStatus::PaidAfterRetraction
    );
    assert_eq!(shop.bank.refunds.lock().unwrap().len(), 5, "refunded once");
}

/// A later instalment the bank charges after the refund: recorded (money in), the order stays
/// refunded, and a second request gives that versement back alone.
async fn versement_after_the_refund(db: Db) {
    let shop = shop(&db).await;
    shop.bank.refunding.store(true, Ordering::SeqCst);
    let r = paid_after_retraction(&shop).await;
    shop.engine.request_refund(&r, "Lucie", "").await.unwrap();
    shop.relay().await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Refunded);
    notify_ok(&shop, versement(&r, 2, "accepted")).await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Refunded);
    assert_eq!(detail(&shop, &r).await.payments.len(), 2, "money in");
    let asked = shop.engine.request_refund(&r, "Lucie", "échéance prélevée");
    assert_eq!(asked.await.unwrap(), CheckoutStatus::Refunding);
    shop.relay().await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Refunded);
    assert_eq!(
        refunds_from(&shop, 0),
        [(format!("{r}-1"), 3000), (format!("{r}-2"), 3000)]
    );
    refused_by_name(shop.engine.request_refund(&r, "Lucie", "").await);
}

/// The bank fails some refunds: busy, its answer lost after refunding, refused. The failed
/// ones are retried with the same key (the bank refunds nothing twice) or asked again by the
/// manager, and no other versement is refunded twice.
async fn refund_failing_at_the_bank(db: Db) {
    use common::RefundFailure::{AnswerLost, Busy, Refused};
    let shop = shop(&db).await;
    shop.bank.refunding.store(true, Ordering::SeqCst);
    let r = paid_after_retraction(&shop).await;
    later_versements(&shop, &r, true, true).await;
    *shop.bank.refund_failures.lock().unwrap() =
        vec![(format!("{r}-2"), Busy), (format!("{r}-3"), AnswerLost)];
    shop.engine.request_refund(&r, "Lucie", "").await.unwrap();
    assert_eq!(
        shop.relay().await.failed,
        2,
        "the second busy, the third's answer lost"
    );
    assert_eq!(
        refunds_from(&shop, 0).len(),
        2,
        "the first and the third taken"
    );
    assert_eq!(shop.status(&r).await, CheckoutStatus::Refunding);
    shop.clock
        .set(shop.clock.now() + jiff::SignedDuration::from_hours(1));
    let retried = shop.relay().await;
    assert_eq!((retried.delivered, retried.failed), (2, 0), "both retried");
    assert_eq!(shop.status(&r).await, CheckoutStatus::Refunded);
    let each: Vec<_> = [1, 3, 2].map(|n| (format!("{r}-{n}"), 3000)).to_vec();
    assert_eq!(refunds_from(&shop, 0), each, "each once");

    // Refused for good: the others are refunded, the order goes back, the manager asks
    // again and only that versement goes to the bank.
    let two = paid_after_retraction(&shop).await;
    later_versements(&shop, &two, true, true).await;
    *shop.bank.refund_failures.lock().unwrap() = vec![(format!("{two}-2"), Refused)];
    shop.engine.request_refund(&two, "Lucie", "").await.unwrap();
    shop.relay().await;
    assert_eq!(shop.status(&two).await, CheckoutStatus::PaidAfterRetraction);
    let d = detail(&shop, &two).await;
    let failed = d
        .audit
        .iter()
        .rfind(|a| a.event == "refund_failed")
        .unwrap();
    let why = failed.detail.as_deref().unwrap_or_default();
    assert!(why.contains(&format!("transaction {two}-2")), "{why}");
    shop.engine.request_refund(&two, "Lucie", "").await.unwrap();
    shop.relay().await;
    assert_eq!(shop.status(&two).await, CheckoutStatus::Refunded);
    assert_eq!(
        refunds_from(&shop, 3),
        [
            (format!("{two}-1"), 3000),
            (format!("{two}-3"), 3000),
            (format!("{two}-2"), 3000)
        ]
    );
}

/// Runs `story` on SQLite (a WAL file), then on PostgreSQL.
async fn on_both<F: Future<Output = ()>>(story: impl Fn(Db) -> F) {
    story(Db::sqlite()).await;
    if let Some(db) = Db::postgres() {
        story(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_three_instalments_all_paid() {
    on_both(three_instalments_all_paid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_second_instalment_refused() {
    on_both(second_instalment_refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_refund_of_a_payment_in_instalments() {
    on_both(refund_of_a_payment_in_instalments).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_versement_after_the_refund() {
    on_both(versement_after_the_refund).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_refund_failing_at_the_bank() {
    on_both(refund_failing_at_the_bank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_disorder_and_duplicates() {
    on_both(disorder_and_duplicates).await;
}

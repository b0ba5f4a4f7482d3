//! Each row of LIFECYCLE.md, end to end over HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use tpe_core::{CheckoutStatus, CustomerField};
use tpe_engine::*;

#[tokio::test]
async fn row1_checkout_started_and_psd2_check_first() {
    let shop = Shop::start().await;
    let started = shop
        .engine
        .start_checkout(&PROVIDER, request(4321, None))
        .await
        .unwrap();
    let loc = started.redirect.location().to_string();
    assert!(loc.contains(started.reference.as_str()));
    assert!(loc.contains("tpe%2Fnotify%2Ftestbank"), "{loc}");
    let c = shop
        .engine
        .checkout(&started.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, CheckoutStatus::AwaitingPayment);
    // Delivery on 28 March → retracted at 29 March 00:00 in Paris.
    assert_eq!(c.retract_at.to_string(), "2026-03-28T23:00:00Z");

    let mut req = request(4321, None);
    req.customer.phone = None;
    req.customer.address = None;
    let err = shop
        .engine
        .start_checkout(&PROVIDER, req)
        .await
        .unwrap_err();
    let CheckoutError::IncompleteCustomer(e) = err else {
        panic!("{err:?}")
    };
    assert!(e.fields().contains(&CustomerField::Phone));
    assert!(e.fields().contains(&CustomerField::City));
    let zero = shop
        .engine
        .start_checkout(&PROVIDER, request(0, None))
        .await;
    assert!(matches!(zero, Err(CheckoutError::ZeroAmount)));
    let all = shop
        .engine
        .checkouts_by_state(CheckoutStatus::AwaitingPayment, 50, None)
        .await
        .unwrap();
    assert_eq!(
        all.items.len(),
        1,
        "nothing created by the refused checkouts"
    );
    assert_eq!(
        shop.relay().await,
        RelayReport::default(),
        "nothing to send"
    );
}

#[tokio::test]
async fn row2_and_row3_acceptance_validates_once_whatever_the_replays() {
    let shop = Shop::start().await;
    let r = shop.checkout(1250, None).await;
    let body = notification(r.as_str(), "T1", "accepted", 1250);
    for _ in 0..10 {
        assert_eq!(shop.notify(body.clone()).await, (200, "OK-TESTBANK".into()));
    }
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    let report = shop.relay().await;
    assert_eq!(report.delivered, 2, "payment record + confirmation");
    assert_eq!(shop.relay().await.delivered, 0);
    let mails = shop.mails_to(CUSTOMER);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains(r.as_str()));
    assert!(mails[0].body.contains("12,50"), "{}", mails[0].body);
    assert!(!mails[0].body.contains("sig="));
    assert!(shop.mails_to(MANAGER).is_empty());
    let records = shop.hook.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].bank_transaction_id.as_deref(), Some("T1"));
    let day = shop.clock.now_ts();
    let stored = shop
        .engine
        .payment_records(
            day,
            day.checked_add(jiff::SignedDuration::from_secs(1)).unwrap(),
            100,
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source.as_str(), "bank");
}

#[tokio::test]
async fn notification_delivered_ten_times_concurrently() {
    let shop = Arc::new(Shop::start().await);
    let r = shop.checkout(990, Some("CART-1")).await;
    let body = notification(r.as_str(), "T9", "accepted", 990);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, b) = (shop.clone(), body.clone());
        tasks.push(tokio::spawn(async move { s.notify(b).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (200, "OK-TESTBANK".into()));
    }
    shop.relay().await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
    let detail = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    assert_eq!(detail.bank_transactions.len(), 1);
    // Every delivery went through the group commit, in at most ten transactions.
    let stats = shop.engine.commit_stats();
    assert_eq!(stats.events, 10, "{stats:?}");
    assert!((1..=10).contains(&stats.batches), "{stats:?}");
    assert!(
        stats.largest >= stats.mean_batch() && stats.largest <= 10,
        "{stats:?}"
    );
}

/// Notifications for known and unknown checkouts arriving together: the committer finds
/// each one's checkout with one lookup for its batch, and each gets its own answer — the
/// known ones applied, the unknown ones quarantined — whatever it was batched with.
#[tokio::test]
async fn known_and_unknown_references_batched_together_each_get_their_own_answer() {
    let shop = Arc::new(Shop::start().await);
    let mut known = Vec::new();
    for i in 0..6 {
        known.push(shop.checkout(1000 + i, None).await);
    }
    let mut tasks = Vec::new();
    for (i, r) in (0..).zip(&known) {
        let body = notification(r.as_str(), &format!("T{i}"), "accepted", 1000 + i);
        let s = shop.clone();
        tasks.push(tokio::spawn(async move { s.notify(body).await.0 }));
        let ghost = notification(&format!("GHOST{i}"), &format!("G{i}"), "accepted", 500);
        let s = shop.clone();
        tasks.push(tokio::spawn(async move { s.notify(ghost).await.0 }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    // In the order sent: a known one, then an unknown one.
    for pair in answers.chunks(2) {
        assert_eq!(pair, [200, 404], "{answers:?}");
    }
    for r in &known {
        assert_eq!(shop.status(r).await, CheckoutStatus::Valid);
    }
    let quarantined = shop.engine.quarantined(20).await.unwrap();
    assert_eq!(quarantined.len(), 6, "{quarantined:?}");
    assert!(
        quarantined
            .iter()
            .all(|q| q.reference.starts_with("B-GHOST"))
    );
    // Only the known ones reached a transaction.
    assert_eq!(shop.engine.commit_stats().events, 6);
}

/// The group commit keeps its queue until its batch is written: what arrives meanwhile waits,
/// and the next committer takes it all at once (then writes it while the first batch's commit
/// syncs), rather than a batch of one for each arrival.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_arriving_during_a_batch_are_committed_together() {
    let dir = tempfile::tempdir().unwrap();
    let file = tpe_store::SqliteStore::open(dir.path().join("shop.db"), Default::default())
        .await
        .unwrap();
    assert_eq!(tpe_store::PaymentStore::concurrent_writers(&file), 2);
    let shop = Arc::new(Shop::start_with(Arc::new(file)).await);
    let references = [
        shop.checkout(1000, None).await,
        shop.checkout(1001, None).await,
        shop.checkout(1002, None).await,
    ];
    let (release, hold) = tokio::sync::oneshot::channel();
    *shop.store.hold.lock().unwrap() = Some(hold);
    let mut tasks = Vec::new();
    for (i, r) in (0..).zip(&references) {
        let body = notification(r.as_str(), &format!("T{i}"), "accepted", 1000 + i);
        let s = shop.clone();
        tasks.push(tokio::spawn(async move { s.notify(body).await.0 }));
        // The first is taken and held; the others reach the queue one after the other.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    assert_eq!(
        shop.engine.commit_stats().batches,
        0,
        "the first batch is held"
    );
    release.send(()).unwrap();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let stats = shop.engine.commit_stats();
    assert_eq!(
        (stats.events, stats.batches, stats.largest),
        (3, 2, 2),
        "{stats:?}"
    );
    for r in &references {
        assert_eq!(shop.status(r).await, CheckoutStatus::Valid);
    }
}

#[tokio::test]
async fn row4_refusal_mails_the_manager_once_with_the_code_and_explanations() {
    let shop = Shop::start().await;
    let r = shop.checkout(5000, None).await;
    let body = notification(r.as_str(), "T1", "refused:51", 5000);
    for _ in 0..10 {
        assert_eq!(shop.notify(body.clone()).await.0, 200);
    }
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    // Held back ten minutes, in case the customer's next try succeeds.
    assert_eq!(shop.relay().await.postponed, 1);
    assert!(shop.mails_to(MANAGER).is_empty());
    shop.clock.advance(jiff::SignedDuration::from_mins(10));
    shop.relay().await;
    let mails = shop.mails_to(MANAGER);
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert!(m.subject.contains(r.as_str()) && m.subject.contains("51"));
    for needle in [
        "Motif",
        "Provision insuffisante",
        "Insufficient funds",
        "Jeanne Martin",
        "50,00",
        "Que faire",
    ] {
        assert!(m.body.contains(needle), "{needle} missing in {}", m.body);
    }
    assert!(
        shop.mails_to(CUSTOMER).is_empty(),
        "nothing to the customer"
    );
    // The return page offers the way back to the order summary; no cache keeps it, no other
    // site frames it.
    let resp = shop
        .http
        .get(format!("{}tpe/return/{r}", shop.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Paiement refusé") && page.contains("<a href="),
        "{page}"
    );
    // A second refused try, then a success within ten minutes (case 32): the second
    // refusal's e-mail is dropped, the checkout is valid.
    shop.notify(notification(r.as_str(), "T2", "refused:05", 5000))
        .await;
    shop.relay().await;
    shop.notify(notification(r.as_str(), "T3", "accepted", 5000))
        .await;
    shop.clock.advance(jiff::SignedDuration::from_mins(10));
    shop.relay().await;
    assert_eq!(shop.mails_to(MANAGER).len(), 1);
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
}

/// Refusals within ten minutes of the first make one e-mail listing each try; a refusal after
/// the window starts another; with no delay each refusal is sent at once.
#[tokio::test]
async fn refusals_of_one_window_make_one_email() {
    let shop = Shop::start().await;
    let r = shop.checkout(5000, None).await;
    shop.notify(notification(r.as_str(), "T1", "refused:51", 5000))
        .await;
    shop.clock.advance(jiff::SignedDuration::from_mins(3));
    shop.notify(notification(r.as_str(), "T2", "refused:05", 5000))
        .await;
    shop.relay().await;
    assert!(shop.mails_to(MANAGER).is_empty());
    shop.clock.advance(jiff::SignedDuration::from_mins(7));
    shop.relay().await;
    let mails = shop.mails_to(MANAGER);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].subject.contains("2 essais"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].body.contains("Essai 1") && mails[0].body.contains("Essai 2"));
    assert!(mails[0].body.contains("T1") && mails[0].body.contains("T2"));
    // Later than the window: a new series, a new e-mail after its own wait.
    shop.clock.advance(jiff::SignedDuration::from_mins(1));
    shop.notify(notification(r.as_str(), "T3", "refused:51", 5000))
        .await;
    shop.relay().await;
    assert_eq!(shop.mails_to(MANAGER).len(), 1);
    shop.clock.advance(jiff::SignedDuration::from_mins(10));
    shop.relay().await;
    let mails = shop.mails_to(MANAGER);
    assert_eq!(mails.len(), 2);
    assert!(mails[1].body.contains("T3") && !mails[1].body.contains("Essai 2"));

    let mut timings = tpe_engine::Timings::default();
    timings.refusal_email_delay = std::time::Duration::ZERO;
    let shop = Shop::start_with_timings(timings).await;
    let r = shop.checkout(5000, None).await;
    shop.notify(notification(r.as_str(), "T1", "refused:51", 5000))
        .await;
    shop.relay().await;
    assert_eq!(shop.mails_to(MANAGER).len(), 1);
}

#[tokio::test]
async fn row5_late_refusal_never_downgrades_and_sends_nothing() {
    let shop = Shop::start().await;
    let r = shop.checkout(700, None).await;
    shop.notify(notification(r.as_str(), "T2", "accepted", 700))
        .await;
    assert_eq!(
        shop.notify(notification(r.as_str(), "T1", "refused:51", 700))
            .await
            .0,
        200
    );
    shop.relay().await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    assert!(shop.mails_to(MANAGER).is_empty());
    let d = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    assert_eq!(d.bank_transactions.len(), 2, "the refusal is kept as a row");
}

#[tokio::test]
async fn row6_pending_and_browser_return_change_nothing() {
    let shop = Shop::start().await;
    let r = shop.checkout(700, None).await;
    assert_eq!(
        shop.notify(notification(r.as_str(), "T1", "pending", 700))
            .await
            .0,
        200
    );
    for _ in 0..3 {
        let page = shop
            .http
            .post(format!("{}tpe/return/{r}?r=accepted", shop.base))
            .body(notification(r.as_str(), "T1", "accepted", 700))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("Paiement pas encore validé"), "{page}");
        assert!(page.contains("http-equiv=\"refresh\""));
    }
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    let json: serde_json::Value = shop
        .http
        .get(format!("{}tpe/status/{r}", shop.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["status"], "awaiting_payment");
    shop.notify(notification(r.as_str(), "T1", "accepted", 700))
        .await;
    let page = shop
        .http
        .get(format!("{}tpe/return/{r}", shop.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Paiement validé") && !page.contains("refresh"));
    assert_eq!(shop.relay().await.delivered, 2);
}

/// "Cancel" on the bank's page before the bank said anything: the page says cancelled and
/// leads back to the order and home; the state does not move, and a later payment still counts.
#[tokio::test]
async fn a_cancelled_return_leads_back_and_changes_nothing() {
    let shop = Shop::start().await;
    let r = shop.checkout(700, None).await;
    let get = |q: &'static str| {
        let (http, url) = (shop.http.clone(), format!("{}tpe/return/{r}{q}", shop.base));
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let page = get("?r=cancelled").await;
    assert!(
        page.contains("Paiement annulé") && !page.contains("refresh"),
        "{page}"
    );
    assert!(page.contains("Revenir à ma commande") && page.contains("Retour à la boutique"));
    // Waiting for the bank: the page refreshes, and still offers a way out.
    let page = get("").await;
    assert!(page.contains("Paiement pas encore validé") && page.contains("refresh"));
    assert!(page.contains("Retour à la boutique"), "{page}");
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    // Once the bank has spoken, the browser's word no longer changes the page.
    shop.notify(notification(r.as_str(), "T1", "accepted", 700))
        .await;
    let page = get("?r=cancelled").await;
    assert!(page.contains("Paiement validé"), "{page}");
}

#[tokio::test]
async fn row7_amount_mismatch_alerts_and_never_validates() {
    let shop = Shop::start().await;
    let r = shop.checkout(10000, None).await;
    assert_eq!(
        shop.notify(notification(r.as_str(), "T1", "accepted", 100))
            .await
            .0,
        200
    );
    let c = shop.engine.checkout(&r).await.unwrap().unwrap();
    assert_eq!(c.status, CheckoutStatus::AwaitingPayment);
    assert!(c.amount_mismatch);
    shop.relay().await;
    let m = shop.mails_to(MANAGER);
    assert_eq!(m.len(), 1);
    assert!(
        m[0].body.contains("100,00") && m[0].body.contains("1,00"),
        "{}",
        m[0].body
    );
    assert!(shop.mails_to(CUSTOMER).is_empty());
    assert!(shop.hook.records.lock().unwrap().is_empty());
}

#[tokio::test]
async fn row8_paid_after_retraction() {
    let shop = Shop::start().await;
    let r = shop.checkout(800, None).await;
    shop.clock.set("2026-03-29T08:00:00Z".parse().unwrap());
    let rep = shop
        .engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.retracted, 1);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Retracted);
    shop.notify(notification(r.as_str(), "T1", "accepted", 800))
        .await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::PaidAfterRetraction);
    shop.relay().await;
    assert_eq!(shop.mails_to(MANAGER).len(), 1);
    assert!(shop.mails_to(MANAGER)[0].subject.contains("rétractation"));
    assert!(shop.mails_to(CUSTOMER).is_empty());
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
}

/// A checkout paid after its retraction (row 8), as the manager finds it.
async fn paid_after_retraction(shop: &Shop, minor: u64) -> tpe_core::PaymentReference {
    let r = shop.checkout(minor, None).await;
    shop.clock.set("2026-03-29T08:00:00Z".parse().unwrap());
    shop.engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    shop.notify(notification(r.as_str(), "T1", "accepted", minor))
        .await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::PaidAfterRetraction);
    shop.relay().await;
    r
}

#[tokio::test]
async fn row14_reinstated_by_the_manager_confirms_the_order() {
    let shop = Shop::start().await;
    let r = paid_after_retraction(&shop, 900).await;
    assert!(shop.mails_to(CUSTOMER).is_empty());
    let s = shop.engine.reinstate(&r, "Paul (gérant)", "livrée").await;
    assert_eq!(s.unwrap(), CheckoutStatus::Valid);
    let again = shop.engine.reinstate(&r, "Paul", "").await;
    assert!(matches!(
        again,
        Err(EngineError::Store(StoreError::Transition(
            tpe_core::TransitionError::NotReinstatable { .. }
        )))
    ));
    assert!(matches!(
        shop.engine.reinstate(&r, "", "").await,
        Err(EngineError::InvalidInput { .. })
    ));
    shop.relay().await;
    // The confirmation a payment sends; the payment record was written when the money came.
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
    let d = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    let last = d.audit.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.author.as_deref()),
        ("reinstated", Some("Paul (gérant)"))
    );
}

#[tokio::test]
async fn row15_a_refund_the_bank_refuses_leaves_the_checkout_and_says_why() {
    let shop = Shop::start().await;
    let r = paid_after_retraction(&shop, 900).await;
    let s = shop
        .engine
        .request_refund(&r, "Paul", "client absent")
        .await;
    assert_eq!(s.unwrap(), CheckoutStatus::Refunding);
    // This bank has no refund operation: the relay records the refusal, in French.
    shop.relay().await;
    assert_eq!(shop.status(&r).await, CheckoutStatus::PaidAfterRetraction);
    let d = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    let last = d.audit.last().unwrap();
    assert_eq!(last.event, "refund_failed");
    assert!(
        last.detail
            .as_deref()
            .is_some_and(|t| t.contains("back-office")),
        "{last:?}"
    );
    // Not refundable from any other state: typed error, nothing written.
    let unpaid = shop.checkout(700, None).await;
    assert!(matches!(
        shop.engine.request_refund(&unpaid, "Paul", "").await,
        Err(EngineError::Store(StoreError::Transition(
            tpe_core::TransitionError::NotRefundable { .. }
        )))
    ));
    let d = shop.engine.checkout_detail(&unpaid).await.unwrap().unwrap();
    assert!(d.audit.is_empty() && d.effects.is_empty());
}

#[tokio::test]
async fn row9_manual_validation() {
    let shop = Shop::start().await;
    let r = shop.checkout(800, None).await;
    let s = shop
        .engine
        .validate_manually(&r, "Paul (gérant)", "payé par chèque")
        .await
        .unwrap();
    assert_eq!(s, CheckoutStatus::Valid);
    let again = shop.engine.validate_manually(&r, "Paul", "").await;
    assert!(matches!(
        again,
        Err(EngineError::Store(StoreError::Transition(_)))
    ));
    assert!(matches!(
        shop.engine.validate_manually(&r, " ", "").await,
        Err(EngineError::InvalidInput { .. })
    ));
    shop.relay().await;
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    let rec = shop.hook.records.lock().unwrap().clone();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].source.as_str(), "manual");
    let d = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    let audit = d
        .audit
        .iter()
        .find(|a| a.event == "manual_validation")
        .unwrap();
    assert_eq!(audit.author.as_deref(), Some("Paul (gérant)"));
    assert_eq!(audit.detail.as_deref(), Some("payé par chèque"));
}

#[tokio::test]
async fn row10_retracted_on_the_right_day_and_not_one_minute_early() {
    let shop = Shop::start().await;
    let r = shop.checkout(800, None).await;
    // 29 March 2026 00:00 in Paris is 28 March 23:00 UTC (before the DST change that night).
    shop.clock.set("2026-03-28T22:59:00Z".parse().unwrap());
    let early = shop
        .engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(early, RetractionReport::default());
    assert_eq!(shop.bank.queries.load(Ordering::SeqCst), 0);
    shop.clock.set("2026-03-28T23:00:00Z".parse().unwrap());
    // Bank unreachable: never retract on "unknown".
    shop.bank.set(&r, Remote::Unreachable);
    let rep = shop
        .engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.postponed, 1);
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    // The bank answers "not found" after the lease: retracted, exactly once.
    shop.bank.remote.lock().unwrap().clear();
    shop.clock.set("2026-03-28T23:10:00Z".parse().unwrap());
    let rep = shop
        .engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.retracted, 1);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Retracted);
    let rep = shop
        .engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep, RetractionReport::default());
    assert_eq!(
        shop.relay().await.delivered,
        0,
        "a retraction sends nothing"
    );
}

#[tokio::test]
async fn row10_bank_says_paid_at_retraction_time_validates_instead() {
    let shop = Shop::start().await;
    let r = shop.checkout(800, None).await;
    shop.bank.set(&r, Remote::Paid("T77".into(), 800));
    shop.clock.set("2026-03-29T10:00:00Z".parse().unwrap());
    let rep = shop
        .engine
        .run_retraction(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.paid, 1);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    shop.relay().await;
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
}

#[tokio::test]
async fn row11_lost_notification_recovered_by_reconciliation() {
    let shop = Shop::start().await;
    let r = shop.checkout(2500, None).await;
    shop.bank.set(&r, Remote::Paid("T5".into(), 2500));
    // Not before 15 minutes.
    shop.clock.advance(jiff::SignedDuration::from_mins(14));
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.queried, 0);
    shop.clock.advance(jiff::SignedDuration::from_mins(1));
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!((rep.queried, rep.paid), (1, 1));
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
    // The late notification of the same transaction is a no-op.
    assert_eq!(
        shop.notify(notification(r.as_str(), "T5", "accepted", 2500))
            .await,
        (200, "OK-TESTBANK".into())
    );
    shop.relay().await;
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
    let rec = shop.hook.records.lock().unwrap().clone();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].source.as_str(), "reconciliation");
}

#[tokio::test]
async fn reconciliation_backs_off_and_unknown_is_not_refused() {
    let shop = Shop::start().await;
    let r = shop.checkout(2500, None).await;
    shop.bank.set(&r, Remote::Unreachable);
    shop.clock.advance(jiff::SignedDuration::from_mins(15));
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.unreachable, 1);
    // Backoff: not asked again at once.
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.queried, 0);
    shop.clock.advance(jiff::SignedDuration::from_mins(15));
    shop.bank.set(&r, Remote::Pending);
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.queried, 1);
    // The store's backoff: 5 minutes doubling, plus a jitter of at most a tenth. The second
    // one is 10 to 11 minutes.
    shop.clock.advance(jiff::SignedDuration::from_mins(9));
    assert_eq!(
        shop.engine
            .run_reconciliation(shop.clock.now_ts())
            .await
            .unwrap()
            .queried,
        0
    );
    shop.clock.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(
        shop.engine
            .run_reconciliation(shop.clock.now_ts())
            .await
            .unwrap()
            .queried,
        1
    );
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
}

#[tokio::test]
async fn row12_forged_malformed_and_unknown_are_rejected_and_write_nothing() {
    let shop = Shop::start().await;
    let r = shop.checkout(1000, None).await;
    let good = notification(r.as_str(), "T1", "accepted", 1000);
    let forged = good.replace("amount=1000", "amount=1");
    assert_eq!(shop.notify(forged).await.0, 401);
    assert_eq!(shop.notify("ref=x&sig=zz".into()).await.0, 400);
    assert_eq!(shop.notify(String::new()).await.0, 400);
    let huge = "a".repeat(70 * 1024);
    assert_eq!(shop.notify(huge).await.0, 413);
    let unknown = notification("UNKNOWNREF1", "T1", "accepted", 1000);
    assert_eq!(shop.notify(unknown).await.0, 404);
    let other = shop
        .http
        .post(format!("{}tpe/notify/nobank", shop.base))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    assert_eq!(shop.engine.rejected_notifications(), 5);
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    let d = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    assert!(d.bank_transactions.is_empty() && d.audit.is_empty());
    assert_eq!(shop.relay().await, RelayReport::default());
    // GET with the notification in the query works too, byte for byte.
    let resp = shop
        .http
        .get(format!("{}tpe/notify/testbank?{good}", shop.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
}

#[tokio::test]
async fn unknown_reference_is_quarantined() {
    let shop = Shop::start().await;
    let unknown = notification("UNKNOWNREF2", "T8", "accepted", 1000);
    assert_eq!(shop.notify(unknown).await.0, 404);
    let q = shop.engine.quarantined(10).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].bank_transaction_id, "T8");
}

/// The shop's checkout was missing when the bank notified (a restored database, a checkout
/// created on another instance's store): once it exists, the kept bytes replay through the
/// live path and validate it exactly once.
#[tokio::test]
async fn quarantined_notification_replays_once_after_the_checkout_exists() {
    let shop = Shop::start().await;
    let reference = tpe_core::PaymentReference::parse("LATE1").unwrap();
    let body = notification(reference.as_str(), "T9", "accepted", 1250);
    assert_eq!(shop.notify(body).await.0, 404);
    let id = shop.engine.quarantined(10).await.unwrap()[0].id;
    // Still no checkout: quarantined again, nothing applied.
    let early = shop.engine.replay_quarantined(id).await.unwrap();
    assert_eq!(early.outcome, NotificationOutcome::UnknownReference);
    assert_eq!(shop.engine.quarantined(10).await.unwrap()[0].seen_count, 2);

    let now = shop.clock.now_ts();
    let missing = tpe_store::NewCheckout::new(
        reference.clone(),
        PROVIDER,
        tpe_core::Amount::new(1250, tpe_core::Currency::EUR).unwrap(),
        CUSTOMER,
        "Jeanne Martin",
        now + jiff::SignedDuration::from_hours(48),
        now,
    )
    .with_bank_reference(tpe_core::BankReference::parse(&bank_reference("LATE1")).unwrap());
    shop.store.create_checkout(missing).await.unwrap();
    let replayed = shop.engine.replay_quarantined(id).await.unwrap();
    assert_eq!(
        (replayed.status, replayed.outcome),
        (200, NotificationOutcome::Applied)
    );
    assert_eq!(shop.status(&reference).await, CheckoutStatus::Valid);
    let again = shop.engine.replay_quarantined(id).await.unwrap();
    assert_eq!(
        (again.status, again.outcome, again.body),
        (200, NotificationOutcome::Duplicate, replayed.body)
    );
    shop.relay().await;
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
    let d = shop
        .engine
        .checkout_detail(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.bank_transactions.len(), 1);

    assert!(matches!(
        shop.engine.replay_quarantined(i64::MAX).await,
        Err(ReplayError::NotFound { .. })
    ));
}

#[tokio::test]
async fn row13_paid_twice_for_one_order_and_sibling_superseded() {
    let shop = Shop::start().await;
    let first = shop.checkout(1500, Some("CART-7")).await;
    let second = shop.checkout(1500, Some("CART-7")).await;
    shop.notify(notification(second.as_str(), "T2", "accepted", 1500))
        .await;
    let f = shop.engine.checkout(&first).await.unwrap().unwrap();
    assert_eq!(f.superseded_by.as_ref(), Some(&second));
    assert_eq!(f.status, CheckoutStatus::AwaitingPayment);
    // The customer paid the first one too.
    shop.notify(notification(first.as_str(), "T1", "accepted", 1500))
        .await;
    assert_eq!(shop.status(&first).await, CheckoutStatus::Valid);
    shop.relay().await;
    let alerts = shop.mails_to(MANAGER);
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].body.contains(second.as_str()),
        "{}",
        alerts[0].body
    );
    assert_eq!(shop.hook.records.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn store_unavailable_gives_503_then_the_retry_succeeds() {
    let shop = Shop::start().await;
    let r = shop.checkout(1000, None).await;
    let body = notification(r.as_str(), "T1", "accepted", 1000);
    shop.store.down.store(true, Ordering::SeqCst);
    assert_eq!(shop.notify(body.clone()).await.0, 503);
    shop.store.down.store(false, Ordering::SeqCst);
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    assert_eq!(shop.notify(body).await, (200, "OK-TESTBANK".into()));
    shop.relay().await;
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
}

#[tokio::test]
async fn engine_stopped_after_commit_and_before_the_email_sends_it_once_at_restart() {
    let store: Arc<dyn PaymentStore> = Arc::new(tpe_store::SqliteStore::in_memory().await.unwrap());
    let bank = Arc::new(TestBank::default());
    let clock = tpe_core::clock::ManualClock::new(start_time());
    let mailer = MemoryMailer::new();
    let first =
        Shop::start_shared(store.clone(), bank.clone(), clock.clone(), mailer.clone()).await;
    let r = first.checkout(1000, None).await;
    assert_eq!(
        first
            .notify(notification(r.as_str(), "T1", "accepted", 1000))
            .await
            .0,
        200
    );
    // Stopped before its relay ran.
    first.server.abort();
    drop(first);
    let second = Shop::start_shared(store, bank, clock, mailer.clone()).await;
    assert_eq!(second.relay().await.delivered, 2);
    assert_eq!(second.relay().await.delivered, 0);
    assert_eq!(second.mails_to(CUSTOMER).len(), 1);
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff() {
    let shop = Shop::start().await;
    shop.accepted_checkout(1000).await;
    shop.hook.failing.store(true, Ordering::SeqCst);
    let rep = shop.relay().await;
    assert_eq!(
        (rep.delivered, rep.failed),
        (1, 1),
        "the e-mail goes, the record waits"
    );
    shop.hook.failing.store(false, Ordering::SeqCst);
    assert_eq!(
        shop.relay().await,
        RelayReport::default(),
        "backoff not elapsed"
    );
    // The store's outbox backoff: 30 s plus a jitter of at most 3 s.
    shop.clock.advance(jiff::SignedDuration::from_secs(33));
    assert_eq!(shop.relay().await.delivered, 1);
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
    assert_eq!(shop.mails_to(CUSTOMER).len(), 1);
}

#[tokio::test]
async fn a_permanent_failure_is_given_up_at_once_alerted_and_retried_by_hand() {
    let shop = Shop::start().await;
    shop.accepted_checkout(1000).await;
    shop.hook.refusing.store(true, Ordering::SeqCst);
    let rep = shop.relay().await;
    assert_eq!(
        (rep.delivered, rep.failed, rep.given_up),
        (2, 0, 1),
        "the e-mail and the alert go, the record is given up: {rep:?}"
    );
    let given_up = shop.engine.given_up_effects(10).await.unwrap();
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0].effect.kind(), "record_payment");
    assert!(
        given_up[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("unknown ledger account"),
        "{given_up:?}"
    );
    let alerts = shop.mails_to(MANAGER);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].subject.contains("tâche abandonnée"),
        "{}",
        alerts[0].subject
    );
    assert!(
        alerts[0].body.contains("comptabilité"),
        "{}",
        alerts[0].body
    );
    // Nothing more happens by itself, however long we wait.
    shop.clock.advance(jiff::SignedDuration::from_hours(48));
    assert_eq!(shop.relay().await, RelayReport::default());
    // The manager fixes the accounts and retries: delivered once.
    shop.hook.refusing.store(false, Ordering::SeqCst);
    let id = given_up[0].id;
    assert!(shop.engine.retry_given_up(id, "Gérante").await.unwrap());
    assert!(!shop.engine.retry_given_up(id, "Gérante").await.unwrap());
    assert!(matches!(
        shop.engine.retry_given_up(id, " ").await,
        Err(EngineError::InvalidInput {
            field: "author",
            ..
        })
    ));
    assert_eq!(shop.relay().await.delivered, 1);
    assert_eq!(shop.hook.records.lock().unwrap().len(), 1);
    assert!(shop.engine.given_up_effects(10).await.unwrap().is_empty());
    assert_eq!(shop.mails_to(MANAGER).len(), 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_then_given_up_never_forever() {
    let shop = Shop::start().await;
    shop.accepted_checkout(1000).await;
    shop.hook.failing.store(true, Ordering::SeqCst);
    let (mut failed, mut given_up, mut runs) = (0, 0, 0);
    // Backoff capped at one hour (plus a tenth of jitter): a run every 70 minutes sees each
    // retry; two days are far more than the allowed attempts need.
    while runs < 60 {
        let rep = shop.relay().await;
        failed += rep.failed;
        given_up += rep.given_up;
        runs += 1;
        shop.clock.advance(jiff::SignedDuration::from_mins(70));
    }
    assert_eq!(
        (failed, given_up),
        (tpe_store::DEFAULT_OUTBOX_ATTEMPTS - 1, 1),
        "retried {failed} times, given up {given_up} times"
    );
    let alerts = shop.mails_to(MANAGER);
    assert_eq!(alerts.len(), 1, "one alert: {alerts:?}");
    assert!(
        alerts[0].body.contains(&format!(
            "Tentatives : {}",
            tpe_store::DEFAULT_OUTBOX_ATTEMPTS
        )),
        "{}",
        alerts[0].body
    );
    assert!(shop.hook.records.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_outbox_is_polled_at_the_relay_interval_not_in_a_loop() {
    let shop = Shop::start().await;
    let before = shop.store.claims.load(Ordering::SeqCst);
    let background = shop.engine.spawn_background(
        std::time::Duration::from_millis(50),
        std::time::Duration::from_secs(3600),
    );
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    background.shutdown().await;
    let polls = shop.store.claims.load(Ordering::SeqCst) - before;
    // One claim per tick (1 s / 50 ms = 20, plus the first, immediate tick); a hot loop would
    // make thousands.
    assert!(
        (5..=25).contains(&polls),
        "{polls} outbox polls in one second"
    );
    // Work found is drained in the same pass: one tick delivers both effects of a payment.
    shop.accepted_checkout(1000).await;
    let before = shop.store.claims.load(Ordering::SeqCst);
    assert_eq!(shop.relay().await.delivered, 2);
    assert_eq!(
        shop.store.claims.load(Ordering::SeqCst) - before,
        2,
        "one claim that finds the work, one that finds none"
    );
}

#[tokio::test]
async fn file_outbox_writes_each_message_id_once() {
    let dir = std::env::temp_dir().join(format!("tpe-engine-outbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mailer = FileMailer::new(&dir).unwrap();
    let email = Email {
        message_id: message_id(42, "REF42", "boutique@ferme.example"),
        from: "boutique@ferme.example".into(),
        to: "jeanne@example.fr".into(),
        subject: "Paiement validé".into(),
        body: "Merci".into(),
        date: start_time(),
    };
    // A re-delivery after a crash between "sent" and "marked delivered".
    mailer.send(&email).await.unwrap();
    mailer.send(&email).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(mailer.path_for(&email.message_id)).unwrap();
    assert!(
        text.contains("Message-ID: <tpe-effect-42.REF42@ferme.example>"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A restarted instance (the same worker id) delivers at once what its previous run had
/// claimed when it stopped; what another instance holds still waits for its lease.
#[tokio::test]
async fn a_restart_under_the_same_worker_id_releases_its_claims_at_once() {
    use tpe_store::PaymentStore as _;
    let shop = Shop::start().await;
    let now = shop.clock.now_ts();
    let lease = jiff::SignedDuration::from_mins(30);
    // Paid: the previous run of this instance claimed the e-mail, then stopped.
    let mine = shop.checkout(4200, None).await;
    let body = notification(mine.as_str(), "T1", "accepted", 4200);
    assert_eq!(shop.notify(body).await.0, 200);
    let claimed = shop
        .store
        .claim_effects(shop.engine.worker_id(), now, 100, lease)
        .await
        .unwrap();
    assert!(!claimed.is_empty());
    // Paid too, but claimed by another instance, still running.
    let theirs = shop.checkout(1500, None).await;
    let body = notification(theirs.as_str(), "T2", "accepted", 1500);
    assert_eq!(shop.notify(body).await.0, 200);
    let other = shop
        .store
        .claim_effects("another-instance", now, 100, lease)
        .await
        .unwrap();
    assert!(!other.is_empty());
    shop.relay().await;
    let mails = shop.mails_to(CUSTOMER);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].subject.contains(mine.as_str()), "{mails:?}");
    // The other instance's claim is honoured until its lease ends.
    shop.clock.advance(lease);
    shop.relay().await;
    assert_eq!(shop.mails_to(CUSTOMER).len(), 2);
}

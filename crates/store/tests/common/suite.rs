//! The conformance suite: every check takes `Arc<dyn PaymentStore>` and is run against SQLite
//! (in memory and on a file) and PostgreSQL by `tests/sqlite.rs` and `tests/postgres.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::SignedDuration;
use tpe_core::lifecycle::{Alert, RefundState, ValidationSource};
use tpe_core::{
    Amount, BankOutcome, BankReference, CheckoutStatus, Currency, Effect, OutcomeKind,
    PaymentReference, ProviderId, Reason, ReasonKind, Timestamp, TransitionError,
    VerifiedNotification,
};
use tpe_store::{
    CheckoutQuery, Cursor, DEFAULT_OUTBOX_ATTEMPTS, EventInput, Failure, NewCheckout, PaymentStore,
    QuarantineInput, Rescheduled, StoreError,
};

/// The reference whose outbox inserts the harness makes fail (see the POISON constants).
pub const POISONED: &str = "POISONED";
/// SQLite trigger failing outbox inserts of [`POISONED`].
pub const SQLITE_POISON_OUTBOX: &str = "CREATE TRIGGER poison BEFORE INSERT ON outbox \
    WHEN NEW.reference = 'POISONED' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;";
/// PostgreSQL trigger failing outbox inserts of [`POISONED`].
pub const POSTGRES_POISON_OUTBOX: &str = "CREATE FUNCTION poison() RETURNS trigger AS $$ \
    BEGIN IF NEW.reference = 'POISONED' THEN RAISE EXCEPTION 'injected failure'; END IF; \
    RETURN NEW; END $$ LANGUAGE plpgsql; \
    CREATE TRIGGER poison BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION poison();";

pub use super::instalments::instalments;

pub type Store = Arc<dyn PaymentStore>;

pub fn t0() -> Timestamp {
    Timestamp::from_second(1_764_000_000).unwrap()
}
pub fn at(ms: i64) -> Timestamp {
    t0() + SignedDuration::from_millis(ms)
}
pub fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}
pub fn paybox() -> ProviderId {
    ProviderId::from_static("paybox")
}
pub fn r(s: &str) -> PaymentReference {
    PaymentReference::parse(s).unwrap()
}
pub const DAY: SignedDuration = SignedDuration::from_hours(24);

pub fn new_checkout(reference: &str, order: Option<&str>, created: Timestamp) -> NewCheckout {
    let c = NewCheckout::new(
        r(reference),
        paybox(),
        eur(4321),
        "jeanne@example.fr",
        "Jeanne Martin",
        created + DAY * 2,
        created,
    )
    .with_delivery_date(jiff::civil::date(2025, 11, 26))
    .with_provider_data("session-1");
    match order {
        Some(o) => c.with_shop_order(o),
        None => c,
    }
}

pub async fn create(store: &Store, reference: &str, order: Option<&str>) {
    store
        .create_checkout(new_checkout(reference, order, t0()))
        .await
        .unwrap();
}

pub fn notification(
    reference: &str,
    txn: &str,
    outcome: BankOutcome,
    amount: Amount,
) -> EventInput {
    EventInput::Notification(VerifiedNotification::new(
        paybox(),
        BankReference::parse(reference).unwrap(),
        txn,
        outcome,
        amount,
    ))
}
pub fn accepted(reference: &str, txn: &str) -> EventInput {
    notification(
        reference,
        txn,
        BankOutcome::Accepted {
            authorization: Some("XXXXXX".into()),
        },
        eur(4321),
    )
}
pub fn refused(reference: &str, txn: &str) -> EventInput {
    notification(
        reference,
        txn,
        BankOutcome::Refused {
            reason: Reason::new(ReasonKind::UnknownCode, "00151"),
        },
        eur(4321),
    )
}

pub async fn apply(store: &Store, reference: &str, input: EventInput) -> tpe_store::Applied {
    store
        .apply_event(&r(reference), input, at(1000))
        .await
        .unwrap()
}

/// Row counts of one checkout: bank transactions, payments, effects, audit.
pub async fn counts(store: &Store, reference: &str) -> (usize, usize, usize, usize) {
    let d = store.checkout(&r(reference)).await.unwrap();
    (
        d.bank_transactions.len(),
        d.payments.len(),
        d.effects.len(),
        d.audit.len(),
    )
}

fn kinds(effects: &[Effect]) -> Vec<&'static str> {
    effects.iter().map(Effect::kind).collect()
}

/// LIFECYCLE rows 1–13 through the store.
pub async fn lifecycle_table(store: Store) {
    // 1: checkout started.
    let c = store
        .create_checkout(new_checkout("L1", None, t0()))
        .await
        .unwrap();
    assert_eq!(c.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(c.amount, eur(4321));
    assert_eq!(c.provider_data.as_deref(), Some("session-1"));
    assert_eq!(c.delivery_date, Some(jiff::civil::date(2025, 11, 26)));
    assert!(matches!(
        store.create_checkout(new_checkout("L1", None, t0())).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let mut zero = new_checkout("L1ZERO", None, t0());
    zero.amount = eur(0);
    assert!(matches!(
        store.create_checkout(zero).await,
        Err(StoreError::Invalid {
            field: "amount",
            ..
        })
    ));
    assert!(matches!(
        store.checkout(&r("L1ZERO")).await,
        Err(StoreError::NotFound { .. })
    ));

    // 2: verified acceptance.
    let a = apply(&store, "L1", accepted("L1", "T1")).await;
    assert!(!a.duplicate);
    assert_eq!(
        (a.previous, a.status),
        (CheckoutStatus::AwaitingPayment, CheckoutStatus::Valid)
    );
    assert_eq!(kinds(&a.effects), ["record_payment", "confirm_customer"]);
    let d = store.checkout(&r("L1")).await.unwrap();
    assert_eq!(d.checkout.validated_by, Some(ValidationSource::Bank));
    assert_eq!(d.bank_transactions[0].outcome, OutcomeKind::Accepted);
    assert_eq!(
        d.bank_transactions[0].authorization.as_deref(),
        Some("XXXXXX")
    );
    assert_eq!(d.payments[0].bank_transaction_id.as_deref(), Some("T1"));
    assert_eq!(d.payments[0].amount, eur(4321));
    assert_eq!(d.audit[0].event, "notification_accepted");
    assert!(d.effects.iter().all(|e| e.delivered_at.is_none()));
    assert_eq!(counts(&store, "L1").await, (1, 1, 2, 1));

    // 3: the same bank transaction again.
    let a = apply(&store, "L1", accepted("L1", "T1")).await;
    assert!(a.duplicate && a.effects.is_empty());
    assert_eq!(counts(&store, "L1").await, (1, 1, 2, 1));

    // 4: refusal while awaiting: manager e-mail, nothing to the customer.
    create(&store, "L4", None).await;
    let a = apply(&store, "L4", refused("L4", "R1")).await;
    assert_eq!(a.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(kinds(&a.effects), ["notify_refusal"]);
    let d = store.checkout(&r("L4")).await.unwrap();
    assert_eq!(d.bank_transactions[0].reason_code.as_deref(), Some("00151"));
    assert!(d.payments.is_empty());
    // The same refusal again: one e-mail only (RELIABILITY 37).
    assert!(apply(&store, "L4", refused("L4", "R1")).await.duplicate);
    assert_eq!(counts(&store, "L4").await, (1, 0, 1, 1));

    // 5: refusal after validation.
    let a = apply(&store, "L1", refused("L1", "R2")).await;
    assert_eq!(a.status, CheckoutStatus::Valid);
    assert!(a.effects.is_empty());
    assert_eq!(counts(&store, "L1").await, (2, 1, 2, 2));

    // 6: pending, and the browser return.
    create(&store, "L6", None).await;
    let a = apply(
        &store,
        "L6",
        notification("L6", "P1", BankOutcome::Pending, eur(4321)),
    )
    .await;
    assert_eq!(a.status, CheckoutStatus::AwaitingPayment);
    assert!(a.effects.is_empty());
    let a = apply(&store, "L6", EventInput::BrowserReturn).await;
    assert_eq!(a.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(counts(&store, "L6").await, (1, 0, 0, 1));

    // 7: acceptance with another amount: flag, alert, quarantine.
    create(&store, "L7", None).await;
    let a = apply(
        &store,
        "L7",
        notification(
            "L7",
            "M1",
            BankOutcome::Accepted {
                authorization: None,
            },
            eur(1),
        ),
    )
    .await;
    assert_eq!(a.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(kinds(&a.effects), ["alert_manager", "quarantine"]);
    let d = store.checkout(&r("L7")).await.unwrap();
    assert!(d.checkout.amount_mismatch);
    assert!(d.payments.is_empty());
    let q = store.quarantined(10).await.unwrap();
    assert!(
        q.iter()
            .any(|q| q.reference == "L7" && q.bank_transaction_id == "M1")
    );
    // The quarantine effect is applied in the transaction: written delivered.
    assert!(
        d.effects
            .iter()
            .any(|e| e.key == "quarantine:M1" && e.delivered_at.is_some())
    );

    // 10 then 8: retraction, then money arrives.
    create(&store, "L8", None).await;
    let due = t0() + DAY * 2;
    let a = store
        .apply_event(&r("L8"), EventInput::Retract, due)
        .await
        .unwrap();
    assert_eq!(a.status, CheckoutStatus::Retracted);
    assert!(a.effects.is_empty());
    let a = apply(&store, "L8", accepted("L8", "T8")).await;
    assert_eq!(a.status, CheckoutStatus::PaidAfterRetraction);
    assert_eq!(kinds(&a.effects), ["record_payment", "alert_manager"]);
    assert!(matches!(
        &a.effects[1],
        Effect::AlertManager(Alert::PaidAfterRetraction { .. })
    ));

    // 9: manual validation, with its author in the audit.
    create(&store, "L9", None).await;
    let manual = || EventInput::ManualValidation {
        author: "gerante".into(),
        note: "virement reçu".into(),
    };
    let a = apply(&store, "L9", manual()).await;
    assert_eq!(a.status, CheckoutStatus::Valid);
    assert_eq!(kinds(&a.effects), ["record_payment", "confirm_customer"]);
    let d = store.checkout(&r("L9")).await.unwrap();
    assert!(
        matches!(&d.payments[0].source, ValidationSource::Manual { author, .. } if author == "gerante")
    );
    assert_eq!(d.audit[0].author.as_deref(), Some("gerante"));
    assert_eq!(d.audit[0].detail.as_deref(), Some("virement reçu"));
    // Again: refused, nothing written.
    let e = store
        .apply_event(&r("L9"), manual(), at(2000))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        StoreError::Transition(TransitionError::NotAwaitingPayment { .. })
    ));
    assert_eq!(e.refused_in(), Some(CheckoutStatus::Valid));
    assert_eq!(counts(&store, "L9").await, (0, 1, 2, 1));

    // 11: reconciliation finds it paid; the late notification is then a replay.
    create(&store, "L11", None).await;
    let a = apply(
        &store,
        "L11",
        EventInput::ReconciledPaid {
            bank_transaction_id: "T11".into(),
            amount: eur(4321),
        },
    )
    .await;
    assert_eq!(a.status, CheckoutStatus::Valid);
    assert_eq!(kinds(&a.effects), ["record_payment", "confirm_customer"]);
    assert!(apply(&store, "L11", accepted("L11", "T11")).await.duplicate);
    let d = store.checkout(&r("L11")).await.unwrap();
    assert_eq!(
        d.checkout.validated_by,
        Some(ValidationSource::Reconciliation)
    );
    assert_eq!(d.bank_transactions[0].source, "reconciliation");
    assert_eq!(counts(&store, "L11").await, (1, 1, 2, 1));

    // 12: unknown reference: not applied; quarantined by the caller, counted once per repeat.
    assert!(matches!(
        store
            .apply_event(&r("NOPE"), accepted("NOPE", "X"), at(0))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let q = QuarantineInput::new(
        paybox(),
        "NOPE",
        Some("X".into()),
        "accepted 43.21 EUR",
        "unknown reference",
    );
    assert_eq!(
        store.quarantine(q.clone(), at(0)).await.unwrap().seen_count,
        1
    );
    let again = store.quarantine(q, at(5)).await.unwrap();
    assert_eq!(
        (again.seen_count, again.first_at, again.last_at),
        (2, at(0), at(5))
    );
    // A notification of another provider for this checkout: refused, nothing written.
    create(&store, "L12", None).await;
    let other = EventInput::Notification(VerifiedNotification::new(
        ProviderId::from_static("stripe-like"),
        BankReference::parse("L12").unwrap(),
        "X",
        BankOutcome::Accepted {
            authorization: None,
        },
        eur(4321),
    ));
    assert!(matches!(
        store.apply_event(&r("L12"), other, at(0)).await,
        Err(StoreError::ProviderMismatch { .. })
    ));
    assert_eq!(counts(&store, "L12").await, (0, 0, 0, 0));

    // 13 and "several attempts": two checkouts of one order.
    create(&store, "L13A", Some("order-13")).await;
    create(&store, "L13B", Some("order-13")).await;
    let a = apply(&store, "L13A", accepted("L13A", "TA")).await;
    assert_eq!(
        kinds(&a.effects),
        ["record_payment", "confirm_customer", "supersede_siblings"]
    );
    assert_eq!(a.superseded, vec![r("L13B")]);
    let b = store.checkout(&r("L13B")).await.unwrap();
    assert_eq!(b.checkout.superseded_by, Some(r("L13A")));
    assert_eq!(b.checkout.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(b.audit[0].event, "superseded");
    // The customer paid the second one too: valid, plus the paid-twice alert.
    let a = apply(&store, "L13B", accepted("L13B", "TB")).await;
    assert_eq!(a.status, CheckoutStatus::Valid);
    assert!(a.effects.iter().any(|e| matches!(
        e,
        Effect::AlertManager(Alert::PaidTwice { other: Some(o), .. }) if *o == r("L13A")
    )));
}

/// The same notification 10 times from 10 tasks: one row, one record, one confirmation.
pub async fn concurrent_replays(store: Store) {
    create(&store, "CONC", None).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .apply_event(&r("CONC"), accepted("CONC", "T1"), at(1))
                    .await
            })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        let a = t.await.unwrap().unwrap();
        assert_eq!(a.status, CheckoutStatus::Valid);
        fresh += usize::from(!a.duplicate);
    }
    assert_eq!(fresh, 1);
    assert_exactly_once(&store, "CONC").await;
}

async fn assert_exactly_once(store: &Store, reference: &str) {
    let d = store.checkout(&r(reference)).await.unwrap();
    assert_eq!(d.checkout.status, CheckoutStatus::Valid);
    assert_eq!(d.bank_transactions.len(), 1);
    assert_eq!(d.payments.len(), 1);
    assert_eq!(
        d.effects
            .iter()
            .filter(|e| e.effect == Effect::ConfirmToCustomer)
            .count(),
        1
    );
    assert_eq!(d.effects.len(), 2);
    assert_eq!(d.audit.len(), 1);
}

/// Two store instances (two pools) on one database racing on one reference.
pub async fn racing_instances(a: Store, b: Store) {
    create(&a, "RACE", None).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                store
                    .apply_event(&r("RACE"), accepted("RACE", "T1"), at(1))
                    .await
            })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        fresh += usize::from(!t.await.unwrap().unwrap().duplicate);
    }
    assert_eq!(fresh, 1);
    assert_exactly_once(&a, "RACE").await;
    assert_exactly_once(&b, "RACE").await;
}

/// Two store instances applying overlapping batches of notifications, in opposite orders,
/// each batch found and locked by bank reference inside its transaction: every payment once,
/// no batch stuck on the other's locks.
pub async fn racing_notification_batches(a: Store, b: Store) {
    let references: Vec<String> = (0..12).map(|i| format!("RB{i:02}")).collect();
    for reference in &references {
        create(&a, reference, None).await;
    }
    let batch = |reversed: bool| {
        let mut batch: Vec<VerifiedNotification> = references
            .iter()
            .map(|reference| match accepted(reference, "T1") {
                EventInput::Notification(n) => n,
                _ => unreachable!("a notification"),
            })
            .collect();
        if reversed {
            batch.reverse();
        }
        batch
    };
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let batch = batch(i % 2 == 1);
            tokio::spawn(async move {
                store
                    .apply_notifications(batch, at(1), tpe_store::WritesDone::none())
                    .await
            })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        for result in t.await.unwrap() {
            fresh += usize::from(!result.unwrap().duplicate);
        }
    }
    assert_eq!(fresh, references.len());
    for reference in &references {
        assert_exactly_once(&a, reference).await;
    }
}

/// A success always wins over a refusal, in both orders.
pub async fn success_wins(store: Store) {
    create(&store, "SW1", None).await;
    apply(&store, "SW1", accepted("SW1", "T1")).await;
    let a = apply(&store, "SW1", refused("SW1", "T0")).await;
    assert_eq!(a.status, CheckoutStatus::Valid);
    assert!(
        a.effects.is_empty(),
        "no refusal e-mail for a paid checkout"
    );

    create(&store, "SW2", None).await;
    apply(&store, "SW2", refused("SW2", "T0")).await;
    let a = apply(&store, "SW2", accepted("SW2", "T1")).await;
    assert_eq!(a.status, CheckoutStatus::Valid);
    let d = store.checkout(&r("SW2")).await.unwrap();
    assert_eq!(
        kinds(
            &d.effects
                .iter()
                .map(|e| e.effect.clone())
                .collect::<Vec<_>>()
        ),
        ["notify_refusal", "record_payment", "confirm_customer"]
    );
}

/// A failure in the middle of the transaction (the harness made outbox inserts of
/// [`POISONED`] fail) leaves nothing half-written.
pub async fn failure_writes_nothing(store: Store) {
    create(&store, POISONED, Some("order-p")).await;
    create(&store, "POISONSIB", Some("order-p")).await;
    let e = store
        .apply_event(&r(POISONED), accepted(POISONED, "T1"), at(1))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Database { .. }), "{e:?}");
    let d = store.checkout(&r(POISONED)).await.unwrap();
    assert_eq!(d.checkout.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(d.checkout.version, 1);
    assert_eq!(counts(&store, POISONED).await, (0, 0, 0, 0));
    let sib = store.checkout(&r("POISONSIB")).await.unwrap();
    assert_eq!(sib.checkout.superseded_by, None);
    assert!(
        store
            .payment_records(at(-86_400_000), at(86_400_000), 100)
            .await
            .unwrap()
            .is_empty()
    );
    // The store still works afterwards.
    apply(&store, "POISONSIB", accepted("POISONSIB", "T2")).await;
}

/// Outbox: two concurrent workers never claim the same row; leases expire; reschedule backs off.
pub async fn outbox(store: Store) {
    for i in 0..20 {
        let reference = format!("OB{i}");
        create(&store, &reference, None).await;
        apply(&store, &reference, accepted(&reference, "T")).await;
    }
    let lease = SignedDuration::from_secs(60);
    let now = at(2000);
    let worker = |name: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_effects(name, now, 3, lease).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                for e in batch {
                    assert_eq!(e.leased_by.as_deref(), Some(name));
                    assert!(store.mark_delivered(e.id, now).await.unwrap());
                    mine.push(e.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        })
    };
    let (a, b) = (worker("w1"), worker("w2"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let sa: BTreeSet<_> = a.iter().copied().collect();
    let sb: BTreeSet<_> = b.iter().copied().collect();
    assert_eq!(sa.len(), a.len());
    assert!(
        sa.is_disjoint(&sb),
        "both workers claimed {:?}",
        sa.intersection(&sb).collect::<Vec<_>>()
    );
    assert_eq!(sa.len() + sb.len(), 40);
    assert!(!store.mark_delivered(a[0], now).await.unwrap());
    assert!(matches!(
        store.mark_delivered(999_999, now).await,
        Err(StoreError::EffectNotFound { id: 999_999 })
    ));

    // Lease expiry and backoff.
    create(&store, "OBX", None).await;
    apply(&store, "OBX", refused("OBX", "R")).await;
    let claimed = store.claim_effects("w1", now, 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    assert!(
        store
            .claim_effects(
                "w2",
                now + lease - SignedDuration::from_millis(1),
                10,
                lease
            )
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_effects("w2", now + lease, 10, lease)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    let t = now + lease;
    let retry = |r: Rescheduled| match r {
        Rescheduled::Retry(at) => at,
        other => panic!("expected a retry, got {other:?}"),
    };
    let due = retry(
        store
            .reschedule(id, t, "smtp down", Failure::Transient)
            .await
            .unwrap(),
    );
    assert!(due > t);
    assert!(
        store
            .claim_effects("w1", due - SignedDuration::from_millis(1), 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let back = store.claim_effects("w1", due, 10, lease).await.unwrap();
    assert_eq!(back[0].attempts, 1);
    assert_eq!(back[0].last_error.as_deref(), Some("smtp down"));
    let due2 = retry(
        store
            .reschedule(id, due, "still down", Failure::Transient)
            .await
            .unwrap(),
    );
    assert!(due2 - due > due - t, "backoff grows");
}

/// Checkouts by state, newest first, in pages.
pub async fn paging(store: Store) {
    let mut expected = Vec::new();
    for i in 0..25_i64 {
        let reference = format!("PG{i:02}");
        // Pairs share a creation time, so the reference breaks ties.
        store
            .create_checkout(new_checkout(&reference, None, at(i / 2)))
            .await
            .unwrap();
        if i % 5 == 0 {
            apply(&store, &reference, accepted(&reference, "T")).await;
        } else {
            expected.push(r(&reference));
        }
    }
    expected.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store
            .list_checkouts(
                CheckoutQuery::new(Some(CheckoutStatus::AwaitingPayment), 7).after(cursor),
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().map(|c| c.reference.clone()));
        match page.next {
            Some(next) => cursor = Some(next.to_string().parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let valid = store
        .list_checkouts(CheckoutQuery::new(Some(CheckoutStatus::Valid), 100))
        .await
        .unwrap();
    assert_eq!(valid.items.len(), 5);
    assert!(valid.next.is_none());
    let all = store
        .list_checkouts(CheckoutQuery::new(None, 100))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 25);
    assert!(
        store
            .list_checkouts(CheckoutQuery::new(None, 0))
            .await
            .is_err()
    );
}

/// Payment records by half-open date range.
pub async fn date_ranges(store: Store) {
    for (i, ms) in [0_i64, 1000, 2000, 3000].into_iter().enumerate() {
        let reference = format!("DR{i}");
        create(&store, &reference, None).await;
        store
            .apply_event(&r(&reference), accepted(&reference, "T"), at(ms))
            .await
            .unwrap();
    }
    let got = store
        .payment_records(at(1000), at(3000), 100)
        .await
        .unwrap();
    assert_eq!(
        got.iter()
            .map(|p| p.reference.to_string())
            .collect::<Vec<_>>(),
        ["DR1", "DR2"]
    );
    assert_eq!(got[0].recorded_at, at(1000));
    assert_eq!(
        store
            .payment_records(at(0), at(4000), 2)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .payment_records(at(3001), at(9000), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Retraction is due exactly at `retract_at`, not one millisecond earlier.
pub async fn retraction_boundary(store: Store) {
    create(&store, "RT", None).await;
    let due = t0() + DAY * 2;
    let early = due - SignedDuration::from_millis(1);
    assert!(
        store
            .due_for_retraction(early, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let e = store
        .apply_event(&r("RT"), EventInput::Retract, early)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        StoreError::Transition(TransitionError::RetractionTooEarly { .. })
    ));
    assert_eq!(counts(&store, "RT").await, (0, 0, 0, 0));
    let listed = store.due_for_retraction(due, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| c.reference.to_string())
            .collect::<Vec<_>>(),
        ["RT"]
    );
    let a = store
        .apply_event(&r("RT"), EventInput::Retract, due)
        .await
        .unwrap();
    assert_eq!(a.status, CheckoutStatus::Retracted);
    assert!(store.due_for_retraction(due, 10).await.unwrap().is_empty());
    // Re-running the sweep is refused, and writes nothing.
    assert!(
        store
            .apply_event(&r("RT"), EventInput::Retract, due)
            .await
            .is_err()
    );
    assert_eq!(counts(&store, "RT").await, (0, 0, 0, 1));
}

/// Reconciliation: due after `min_age`, claimed once per lease, rescheduled with backoff.
pub async fn reconciliation(store: Store) {
    create(&store, "RC", None).await;
    let min_age = SignedDuration::from_mins(15);
    let lease = SignedDuration::from_mins(2);
    let ready = t0() + min_age;
    let early = ready - SignedDuration::from_millis(1);
    assert!(
        store
            .claim_reconciliation(early, min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let got = store
        .claim_reconciliation(ready, min_age, 10, lease)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].next_reconcile_at, Some(ready + lease));
    assert!(
        store
            .claim_reconciliation(ready, min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let next = store
        .reschedule_reconciliation(&r("RC"), ready)
        .await
        .unwrap();
    assert!(next > ready);
    assert!(
        store
            .claim_reconciliation(next - SignedDuration::from_millis(1), min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let got = store
        .claim_reconciliation(next, min_age, 10, lease)
        .await
        .unwrap();
    assert_eq!(got[0].reconcile_attempts, 1);
    // Once paid it is no longer reconciled.
    apply(&store, "RC", accepted("RC", "T")).await;
    assert!(
        store
            .claim_reconciliation(next + DAY, min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Hostile text is stored verbatim through bound parameters.
pub async fn hostile_text(store: Store) {
    let mut c = new_checkout("HOSTILE", Some("'; DROP TABLE checkouts; --"), t0());
    c.customer_name = "Robert'); DROP TABLE audit;-- é 😀".into();
    store.create_checkout(c).await.unwrap();
    let d = store.checkout(&r("HOSTILE")).await.unwrap();
    assert_eq!(
        d.checkout.customer_name,
        "Robert'); DROP TABLE audit;-- é 😀"
    );
    assert_eq!(
        d.checkout.shop_order_id.as_deref(),
        Some("'; DROP TABLE checkouts; --")
    );
    let q = QuarantineInput::new(paybox(), "x\u{0}\n'y", None, "s\u{1b}[31m", "why");
    let q = store.quarantine(q, at(0)).await.unwrap();
    assert_eq!(q.reference, "x  'y");
}

/// The customer's language, the description and the item count are kept with the checkout.
pub async fn checkout_details(store: Store) {
    let c = new_checkout("DETAILS", None, t0())
        .with_language(tpe_core::Lang::En)
        .with_description("Panier de légumes")
        .with_item_count(3);
    let created = store.create_checkout(c).await.unwrap();
    assert_eq!(created.language, Some(tpe_core::Lang::En));
    assert_eq!(created.description.as_deref(), Some("Panier de légumes"));
    assert_eq!(created.item_count, Some(3));
    let read = store.checkout(&r("DETAILS")).await.unwrap().checkout;
    assert_eq!(read, created);
    // Without them: none.
    create(&store, "PLAIN", None).await;
    let plain = store.checkout(&r("PLAIN")).await.unwrap().checkout;
    assert_eq!(
        (plain.language, plain.description, plain.item_count),
        (None, None, None)
    );
    // Bounded.
    let long = new_checkout("LONG", None, t0()).with_description("x".repeat(201));
    assert!(matches!(
        store.create_checkout(long).await,
        Err(StoreError::Invalid {
            field: "description",
            ..
        })
    ));
}

/// `apply_events`: one transaction for the batch, each event with its own result; a failing
/// event (unknown reference, injected failure, transition refused) leaves the others written;
/// a replay inside the batch is a duplicate.
pub async fn group_commit(store: Store) {
    for reference in ["G1", "G2", "G3", POISONED] {
        create(&store, reference, None).await;
    }
    let batch = vec![
        (r("G1"), accepted("G1", "T1")),
        (r("UNKNOWN"), accepted("UNKNOWN", "T9")),
        (r(POISONED), accepted(POISONED, "T2")),
        (r("G2"), refused("G2", "T3")),
        (r("G1"), accepted("G1", "T1")),
        (r("G3"), EventInput::Retract),
        (r("G2"), refused("G2", "T3")),
    ];
    let results = store.apply_events(batch, at(1000)).await;
    assert_eq!(results.len(), 7);
    let first = results[0].as_ref().unwrap();
    assert_eq!(
        (first.status, first.duplicate),
        (CheckoutStatus::Valid, false)
    );
    assert!(matches!(results[1], Err(StoreError::NotFound { .. })));
    assert!(results[2].is_err(), "injected failure");
    let g2 = results[3].as_ref().unwrap();
    assert_eq!(
        (g2.status, g2.duplicate),
        (CheckoutStatus::AwaitingPayment, false)
    );
    assert!(results[4].as_ref().unwrap().duplicate, "replay of G1/T1");
    assert!(matches!(
        results[5],
        Err(StoreError::Transition(
            TransitionError::RetractionTooEarly { .. }
        ))
    ));
    assert!(results[6].as_ref().unwrap().duplicate, "replay of G2/T3");
    // Written once each; the failed ones wrote nothing.
    assert_exactly_once(&store, "G1").await;
    assert_eq!(counts(&store, "G2").await.0, 1);
    assert_eq!(counts(&store, POISONED).await, (0, 0, 0, 0));
    assert_eq!(counts(&store, "G3").await, (0, 0, 0, 0));
    let poisoned = store.checkout(&r(POISONED)).await.unwrap().checkout;
    assert_eq!(poisoned.status, CheckoutStatus::AwaitingPayment);
    // An empty batch is fine.
    assert!(store.apply_events(Vec::new(), at(1000)).await.is_empty());
    // The caller is told once the batch is written (so that its next batch may start while
    // this one commits), by the time the call returns at the latest.
    create(&store, "GW", None).await;
    let (writes_done, written) = tpe_store::WritesDone::channel();
    let results = store
        .apply_events_then_commit(vec![(r("GW"), accepted("GW", "T1"))], at(1000), writes_done)
        .await;
    assert_eq!(results[0].as_ref().unwrap().status, CheckoutStatus::Valid);
    assert!(written.await.is_ok(), "told, not only dropped");
    assert_exactly_once(&store, "GW").await;

    // Concurrent batches on overlapping references: each event once.
    for i in 0..20 {
        create(&store, &format!("GC{i}"), None).await;
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut batch: Vec<_> = (0..20)
                .map(|i| {
                    let reference = format!("GC{i}");
                    (r(&reference), accepted(&reference, "T1"))
                })
                .collect();
            if w % 2 == 1 {
                batch.reverse();
            }
            store.apply_events(batch, at(1000)).await
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        for result in t.await.unwrap() {
            if !result.unwrap().duplicate {
                fresh += 1;
            }
        }
    }
    assert_eq!(fresh, 20, "each notification applied by exactly one batch");
    for i in 0..20 {
        assert_exactly_once(&store, &format!("GC{i}")).await;
    }
}

/// `claim_retraction`: due items are leased to one sweeper; a postponed one comes back after
/// the lease; a retracted one never does.
pub async fn retraction_claims(store: Store) {
    create(&store, "RC1", None).await;
    create(&store, "RC2", None).await;
    let due = t0() + DAY * 2;
    let lease = SignedDuration::from_mins(5);
    let early = due - SignedDuration::from_millis(1);
    assert!(
        store
            .claim_retraction(early, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let (a, b) = tokio::join!(
        store.claim_retraction(due, 10, lease),
        store.claim_retraction(due, 10, lease)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut all: Vec<String> = a
        .iter()
        .chain(b.iter())
        .map(|c| c.reference.to_string())
        .collect();
    all.sort();
    assert_eq!(all, ["RC1", "RC2"], "each claimed once");
    assert!(
        a.iter()
            .chain(b.iter())
            .all(|c| c.retract_lease_until == Some(due + lease))
    );
    // Inside the lease: nothing to claim.
    let later = due + SignedDuration::from_mins(4);
    assert!(
        store
            .claim_retraction(later, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    // RC1 retracted; RC2 postponed (left alone): after the lease only RC2 comes back.
    store
        .apply_event(&r("RC1"), EventInput::Retract, due)
        .await
        .unwrap();
    let after = due + lease;
    let again = store.claim_retraction(after, 10, lease).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|c| c.reference.to_string())
            .collect::<Vec<_>>(),
        ["RC2"]
    );
    assert!(matches!(
        store.claim_retraction(due, 0, lease).await,
        Err(StoreError::Invalid { field: "limit", .. })
    ));
}

/// One event of [`batch_matches_one_by_one`]'s script, for the reference `<side><name>`.
fn scripted(side: &str, name: &str, event: &str) -> (PaymentReference, EventInput) {
    let reference = format!("{side}{name}");
    let input = match event {
        "accept1" => accepted(&reference, "T1"),
        "accept2" => accepted(&reference, "T2"),
        "refuse1" => refused(&reference, "T1"),
        "refuse3" => refused(&reference, "T3"),
        "short" => notification(
            &reference,
            "T4",
            BankOutcome::Accepted {
                authorization: None,
            },
            eur(1),
        ),
        "manual" => EventInput::ManualValidation {
            author: "manager".into(),
            note: "paid by cheque".into(),
        },
        "accept3" => accepted(&reference, "T3"),
        "retract" => EventInput::Retract,
        "return" => EventInput::BrowserReturn,
        "reinstate" => EventInput::Reinstate {
            author: "manager".into(),
            note: "delivered anyway".into(),
        },
        "refund" => EventInput::RequestRefund {
            author: "manager".into(),
            note: "money back".into(),
        },
        "refunded" => EventInput::RefundSucceeded {
            refund_id: "RF1".into(),
            bank_transaction_id: None,
        },
        other => panic!("no scripted event {other}"),
    };
    (r(&reference), input)
}

/// What a result and a checkout's rows look like, with the side's prefix removed.
async fn observed(
    store: &Store,
    side: &str,
    names: &[&str],
    results: &[Result<tpe_store::Applied, StoreError>],
) -> String {
    let mut out = String::new();
    for result in results {
        out += &match result {
            Ok(a) => format!(
                "ok {} {}->{} dup={} effects={:?} superseded={}\n",
                a.reference,
                a.previous,
                a.status,
                a.duplicate,
                a.effects.iter().map(Effect::key).collect::<Vec<_>>(),
                a.superseded.len()
            ),
            Err(e) => format!("err {:?}\n", std::mem::discriminant(e)),
        };
    }
    for name in names {
        let d = store.checkout(&r(&format!("{side}{name}"))).await.unwrap();
        let c = &d.checkout;
        out += &format!(
            "{name}: {} v{} mismatch={} by={:?} superseded={}\n",
            c.status,
            c.version,
            c.amount_mismatch,
            c.validated_by,
            c.superseded_by.is_some()
        );
        for b in &d.bank_transactions {
            out += &format!("  bank {} {}\n", b.bank_transaction_id, b.outcome.as_str());
        }
        for p in &d.payments {
            out += &format!("  payment {} {:?}\n", p.amount, p.bank_transaction_id);
        }
        for e in &d.effects {
            out += &format!(
                "  effect {} delivered={}\n",
                e.key,
                e.delivered_at.is_some()
            );
        }
        for a in &d.audit {
            out += &format!(
                "  audit {} {}->{} {:?} {:?}\n",
                a.event, a.status_before, a.status_after, a.author, a.detail
            );
        }
    }
    out.replace(side, "")
}

/// A batch gives each event exactly what applying the events one by one gives, and writes
/// exactly the same rows: replays, refusals, refused transitions, browser returns, a second
/// payment, an amount mismatch, a manual validation and checkouts of one shop order (the
/// order-level path) mixed in one batch, several events per checkout; and the manager's
/// decisions on a checkout paid after retraction (R, L) or paid twice (O2).
pub async fn batch_matches_one_by_one(store: Store) {
    let names = ["P", "Q", "S", "M", "V", "O1", "O2", "N", "R", "L"];
    let script = [
        ("P", "accept1"),
        ("Q", "refuse1"),
        ("P", "accept1"),
        ("S", "short"),
        ("Q", "accept2"),
        ("P", "accept2"),
        ("M", "retract"),
        ("M", "return"),
        ("V", "manual"),
        ("O1", "accept1"),
        ("O2", "accept1"),
        ("Q", "refuse1"),
        ("N", "refuse3"),
        ("P", "return"),
        ("V", "accept1"),
        ("O1", "accept1"),
        ("X", "accept1"),
        ("R", "retract"),
        ("R", "accept1"),
        ("R", "refund"),
        ("R", "refund"),
        ("R", "refunded"),
        ("R", "reinstate"),
        ("L", "reinstate"),
        ("L", "retract"),
        ("L", "accept1"),
        ("L", "reinstate"),
        ("L", "refund"),
        ("O1", "refund"),
        ("O2", "refund"),
        ("O2", "refunded"),
    ];
    for side in ["BA", "BB"] {
        for name in names {
            let order = name.starts_with('O').then(|| format!("{side}-order"));
            // R and L are due for retraction when the batch runs.
            let created = if matches!(name, "R" | "L") {
                t0() - DAY * 3
            } else {
                t0()
            };
            store
                .create_checkout(new_checkout(
                    &format!("{side}{name}"),
                    order.as_deref(),
                    created,
                ))
                .await
                .unwrap();
        }
    }
    let batch: Vec<_> = script
        .iter()
        .map(|(name, event)| scripted("BA", name, event))
        .collect();
    let batched = store.apply_events(batch, at(1000)).await;
    let mut single = Vec::new();
    for (name, event) in script {
        let (reference, input) = scripted("BB", name, event);
        single.push(store.apply_event(&reference, input, at(1000)).await);
    }
    assert!(batched[0].as_ref().is_ok_and(|a| !a.duplicate));
    assert!(batched[2].as_ref().is_ok_and(|a| a.duplicate));
    assert!(matches!(batched[16], Err(StoreError::NotFound { .. })));
    let a = observed(&store, "BA", &names, &batched).await;
    let b = observed(&store, "BB", &names, &single).await;
    assert_eq!(a, b);
}

/// The manager's decisions: a checkout paid after retraction refunded once however many
/// requests, or reinstated with the effects of a payment; the extra payment of an order paid
/// twice refunded (and only it), back to valid when the bank refuses, asked again later.
pub async fn manager_decisions(store: Store) {
    let refund = || EventInput::RequestRefund {
        author: "Lucie".into(),
        note: "rembourser".into(),
    };
    let due = t0() + DAY * 3;
    for name in ["DR", "DS"] {
        create(&store, name, None).await;
        store
            .apply_event(&r(name), EventInput::Retract, due)
            .await
            .unwrap();
        let paid = store
            .apply_event(&r(name), accepted(name, "T1"), due)
            .await
            .unwrap();
        assert_eq!(paid.status, CheckoutStatus::PaidAfterRetraction);
    }
    // Refund: one effect, whatever the clicks.
    let asked = store
        .apply_event(&r("DR"), refund(), due + DAY)
        .await
        .unwrap();
    assert_eq!(asked.status, CheckoutStatus::Refunding);
    let attempt = (due + DAY).as_millisecond();
    assert_eq!(
        asked.effects,
        [Effect::Refund {
            bank_transaction_id: "T1".into(),
            amount: eur(4321),
            attempt,
            back_to: CheckoutStatus::PaidAfterRetraction,
            instalment: None,
        }]
    );
    let again = store.apply_event(&r("DR"), refund(), due + DAY * 2).await;
    assert!(matches!(
        again,
        Err(StoreError::Transition(
            TransitionError::NotRefundable { .. }
        ))
    ));
    let done = store
        .apply_event(
            &r("DR"),
            EventInput::RefundSucceeded {
                refund_id: "RF-9".into(),
                bank_transaction_id: Some("T1".into()),
            },
            due + DAY,
        )
        .await
        .unwrap();
    assert_eq!(done.status, CheckoutStatus::Refunded);
    let d = store.checkout(&r("DR")).await.unwrap();
    assert_eq!(
        d.checkout.refunds.iter().collect::<Vec<_>>(),
        [(&"T1".to_owned(), &RefundState::Refunded)]
    );
    assert_eq!(
        d.effects
            .iter()
            .filter(|e| e.effect.kind() == "refund")
            .count(),
        1
    );
    let trail: Vec<_> = d
        .audit
        .iter()
        .map(|a| (a.event.as_str(), a.author.as_deref(), a.status_after))
        .collect();
    assert!(trail.contains(&("refund_requested", Some("Lucie"), CheckoutStatus::Refunding)));
    assert!(trail.contains(&("refunded", None, CheckoutStatus::Refunded)));
    // Reinstate: valid, the customer confirmed; never from another state.
    let kept = store
        .apply_event(
            &r("DS"),
            EventInput::Reinstate {
                author: "Lucie".into(),
                note: "livrée".into(),
            },
            due,
        )
        .await
        .unwrap();
    assert_eq!(kept.status, CheckoutStatus::Valid);
    assert_eq!(kept.effects, [Effect::ConfirmToCustomer]);
    let d = store.checkout(&r("DS")).await.unwrap();
    let last = d.audit.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.author.as_deref()),
        ("reinstated", Some("Lucie"))
    );
    let before = counts(&store, "DS").await;
    let twice = store
        .apply_event(
            &r("DS"),
            EventInput::Reinstate {
                author: "Lucie".into(),
                note: String::new(),
            },
            due,
        )
        .await;
    assert!(matches!(
        twice,
        Err(StoreError::Transition(
            TransitionError::NotReinstatable { .. }
        ))
    ));
    assert_eq!(counts(&store, "DS").await, before);
    // An order paid twice: the second payment only is refundable.
    create(&store, "DA", Some("ORDER-D")).await;
    create(&store, "DB", Some("ORDER-D")).await;
    apply(&store, "DA", accepted("DA", "T1")).await;
    apply(&store, "DB", accepted("DB", "T2")).await;
    let first = store.checkout(&r("DA")).await.unwrap();
    let second = store.checkout(&r("DB")).await.unwrap();
    assert_eq!(first.order_paid_before, None);
    assert_eq!(second.order_paid_before, Some(r("DA")));
    let wrong = store.apply_event(&r("DA"), refund(), due).await;
    assert!(matches!(
        wrong,
        Err(StoreError::Transition(
            TransitionError::NotRefundable { .. }
        ))
    ));
    let asked = store.apply_event(&r("DB"), refund(), due).await.unwrap();
    assert_eq!(asked.status, CheckoutStatus::Refunding);
    let Some(Effect::Refund {
        back_to,
        bank_transaction_id,
        ..
    }) = asked.effects.first().cloned()
    else {
        panic!("no refund effect: {asked:?}");
    };
    let refused = store
        .apply_event(
            &r("DB"),
            EventInput::RefundFailed {
                reason: "remboursement refusé par la banque".into(),
                back_to,
                bank_transaction_id: Some(bank_transaction_id),
            },
            due,
        )
        .await
        .unwrap();
    assert_eq!(refused.status, CheckoutStatus::Valid);
    let d = store.checkout(&r("DB")).await.unwrap();
    assert_eq!(
        d.audit.last().unwrap().detail.as_deref(),
        Some("remboursement refusé par la banque (transaction T2)")
    );
    // Asked again later: a new attempt, a new effect.
    let again = store
        .apply_event(&r("DB"), refund(), due + DAY)
        .await
        .unwrap();
    assert_eq!(again.effects.len(), 1);
    assert_ne!(again.effects[0].key(), asked.effects[0].key());
    // Nothing to refund without a checkout paid: typed error, nothing written.
    create(&store, "DN", None).await;
    let none = store.apply_event(&r("DN"), refund(), due).await;
    assert!(matches!(
        none,
        Err(StoreError::Transition(
            TransitionError::NotRefundable { .. }
        ))
    ));
    assert_eq!(counts(&store, "DN").await, (0, 0, 0, 0));
    let empty = store
        .apply_event(
            &r("DN"),
            EventInput::RefundSucceeded {
                refund_id: String::new(),
                bank_transaction_id: None,
            },
            due,
        )
        .await;
    assert!(matches!(empty, Err(StoreError::Invalid { .. })));
}

/// Bank references: unique per provider, resolved back to their checkout, and a notification
/// is applied only to the checkout its bank reference names.
/// `apply_notifications`: each notification finds its checkout by its bank reference (inside
/// the batch's transaction for these stores); one result each, in order: unknown ones
/// `NotFound`, a checkout of a shop order applied too, a replay inside the batch a duplicate.
/// The default two-step path (`resolve_then_apply`) gives the same results.
pub async fn notifications_by_bank_reference(store: Store) {
    let n = |input: EventInput| match input {
        EventInput::Notification(n) => n,
        _ => unreachable!("a notification"),
    };
    for (path, prefix) in [("in the transaction", "NA"), ("in two steps", "NB")] {
        let (free, ordered) = (format!("{prefix}1"), format!("{prefix}2"));
        create(&store, &free, None).await;
        create(&store, &ordered, Some(&format!("ORDER-{prefix}"))).await;
        let batch = vec![
            n(accepted(&free, "T1")),
            n(accepted("NOPE", "T2")),
            n(accepted(&ordered, "T3")),
            n(accepted(&free, "T1")),
        ];
        let (writes_done, written) = tpe_store::WritesDone::channel();
        let results = if prefix == "NA" {
            store
                .apply_notifications(batch, at(1000), writes_done)
                .await
        } else {
            tpe_store::resolve_then_apply(&*store, batch, at(1000), writes_done).await
        };
        assert_eq!(results.len(), 4, "{path}");
        assert_eq!(
            results[0].as_ref().unwrap().status,
            CheckoutStatus::Valid,
            "{path}"
        );
        assert!(
            matches!(&results[1], Err(StoreError::NotFound { reference }) if reference == "NOPE"),
            "{path}: {:?}",
            results[1]
        );
        assert_eq!(
            results[2].as_ref().unwrap().status,
            CheckoutStatus::Valid,
            "{path}"
        );
        assert!(results[3].as_ref().unwrap().duplicate, "{path}");
        assert!(written.await.is_ok(), "{path}: told");
        assert_exactly_once(&store, &free).await;
        let detail = store.checkout(&r(&ordered)).await.unwrap();
        assert_eq!(detail.bank_transactions.len(), 1, "{path}");
    }
    // Nothing found: nothing written, told all the same.
    let (writes_done, written) = tpe_store::WritesDone::channel();
    let results = store
        .apply_notifications(vec![n(accepted("GHOST", "T9"))], at(1000), writes_done)
        .await;
    assert!(matches!(results[0], Err(StoreError::NotFound { .. })));
    assert!(written.await.is_ok());
    // The store is still usable: the transaction left nothing open.
    create(&store, "NC1", None).await;
    let results = store
        .apply_notifications(
            vec![n(accepted("NC1", "T1"))],
            at(1000),
            tpe_store::WritesDone::none(),
        )
        .await;
    assert_eq!(results[0].as_ref().unwrap().status, CheckoutStatus::Valid);
}

pub async fn bank_references(store: Store) {
    let b = |s: &str| BankReference::parse(s).unwrap();
    store
        .create_checkout(new_checkout("BR1", None, t0()).with_bank_reference(b("20260101-000001")))
        .await
        .unwrap();
    // The same bank reference for the same provider is refused; nothing is written.
    let taken = store
        .create_checkout(new_checkout("BR2", None, t0()).with_bank_reference(b("20260101-000001")))
        .await;
    assert!(
        matches!(taken, Err(StoreError::AlreadyExists { .. })),
        "{taken:?}"
    );
    assert!(matches!(
        store.checkout(&r("BR2")).await,
        Err(StoreError::NotFound { .. })
    ));
    // Without one, a checkout is known by its own reference.
    create(&store, "BR3", None).await;
    let resolve = |p: ProviderId, s: &str| {
        let store = store.clone();
        let s = b(s);
        async move { store.resolve_bank_reference(&p, &s).await.unwrap() }
    };
    assert_eq!(resolve(paybox(), "20260101-000001").await, Some(r("BR1")));
    assert_eq!(resolve(paybox(), "BR3").await, Some(r("BR3")));
    assert_eq!(resolve(paybox(), "BR1").await, None);
    assert_eq!(
        resolve(ProviderId::from_static("stripe-like"), "20260101-000001").await,
        None
    );
    // Several at once, in the order given, each as alone: repeated, unknown, another
    // provider's.
    let stripe = ProviderId::from_static("stripe-like");
    let keys = [
        (paybox(), b("BR3")),
        (paybox(), b("BR1")),
        (stripe.clone(), b("20260101-000001")),
        (paybox(), b("20260101-000001")),
        (paybox(), b("BR3")),
    ];
    assert_eq!(
        store.resolve_bank_references(&keys).await.unwrap(),
        [Some(r("BR3")), None, None, Some(r("BR1")), Some(r("BR3"))]
    );
    assert_eq!(store.resolve_bank_references(&[]).await.unwrap(), []);
    let detail = store.checkout(&r("BR1")).await.unwrap();
    assert_eq!(detail.checkout.bank_reference, b("20260101-000001"));
    // A notification naming another bank reference is refused for this checkout.
    let wrong = store
        .apply_event(
            &r("BR1"),
            notification("BR3", "T1", BankOutcome::Pending, eur(4321)),
            t0(),
        )
        .await;
    assert!(
        matches!(wrong, Err(StoreError::Invalid { .. })),
        "{wrong:?}"
    );
    let right = EventInput::Notification(VerifiedNotification::new(
        paybox(),
        b("20260101-000001"),
        "T1",
        BankOutcome::Pending,
        eur(4321),
    ));
    store.apply_event(&r("BR1"), right, t0()).await.unwrap();
}

/// Daily bank sequences: 1, 2, 3… per provider and day, each number handed out once.
pub async fn bank_sequences(store: Store) {
    let day = jiff::civil::date(2026, 11, 29);
    let next = |p: ProviderId, d: jiff::civil::Date| {
        let store = store.clone();
        async move { store.next_bank_sequence(&p, d).await.unwrap() }
    };
    assert_eq!(next(paybox(), day).await, 1);
    assert_eq!(next(paybox(), day).await, 2);
    // Another day and another provider start their own count.
    assert_eq!(next(paybox(), day.tomorrow().unwrap()).await, 1);
    assert_eq!(next(ProviderId::from_static("lyra"), day).await, 1);
    assert_eq!(next(paybox(), day).await, 3);
    racing_sequences(store.clone(), store).await;
}

/// Ten concurrent allocations over two handles of one database get ten distinct numbers
/// following those already handed out.
pub async fn racing_sequences(a: Store, b: Store) {
    let day = jiff::civil::date(2026, 12, 24);
    let before = a.next_bank_sequence(&paybox(), day).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.next_bank_sequence(&paybox(), day).await.unwrap() })
        })
        .collect();
    let mut got = BTreeSet::new();
    for t in tasks {
        assert!(
            got.insert(t.await.unwrap()),
            "a number was handed out twice"
        );
    }
    let expected: BTreeSet<u64> = (before + 1..=before + 10).collect();
    assert_eq!(got, expected);
}

/// A postponed effect is not claimable before its new time, keeps its attempts, and a
/// delivered effect cannot be postponed back into the queue.
pub async fn postponed_effects(store: Store) {
    create(&store, "LATER", None).await;
    store
        .apply_event(&r("LATER"), refused("LATER", "T1"), at(0))
        .await
        .unwrap();
    let lease = SignedDuration::from_secs(30);
    let claimed = store.claim_effects("w1", at(0), 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let id = claimed[0].id;
    let until = at(600_000);
    store.postpone(id, until).await.unwrap();
    // Released at once, but not due before `until`.
    assert!(
        store
            .claim_effects("w2", at(1), 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_effects("w2", at(599_999), 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let back = store.claim_effects("w2", until, 10, lease).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].attempts, 0, "postponing is not a failed attempt");
    assert!(store.mark_delivered(id, until).await.unwrap());
    store.postpone(id, at(900_000)).await.unwrap();
    assert!(
        store
            .claim_effects("w3", at(900_000), 10, lease)
            .await
            .unwrap()
            .is_empty(),
        "a delivered effect came back"
    );
    assert!(matches!(
        store.postpone(999_999, until).await,
        Err(StoreError::EffectNotFound { .. })
    ));
}

/// Giving up: a permanent failure at once, a transient one at the last allowed attempt; the
/// manager's alert written with it (once, and never for the alert itself); a retry by hand
/// puts the effect back with a fresh count.
pub async fn given_up_effects(store: Store) {
    create(&store, "GIVEUP", None).await;
    store
        .apply_event(&r("GIVEUP"), refused("GIVEUP", "T1"), at(0))
        .await
        .unwrap();
    let lease = SignedDuration::from_secs(30);
    let claimed = store.claim_effects("w1", at(0), 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let id = claimed[0].id;
    assert_eq!(
        store
            .reschedule(id, at(1), "bad address", Failure::Permanent)
            .await
            .unwrap(),
        Rescheduled::GivenUp { attempts: 1 }
    );
    let listed = store.given_up_effects(10).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    assert_eq!(listed[0].given_up_at, Some(at(1)));
    assert_eq!(listed[0].last_error.as_deref(), Some("bad address"));
    // Never claimed again; the alert is due at once.
    let due = store
        .claim_effects("w1", at(86_400_000), 10, lease)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    let alert = &due[0];
    match &alert.effect {
        Effect::AlertManager(Alert::DeliveryGivenUp {
            effect_id,
            kind,
            attempts,
            error,
            ..
        }) => {
            assert_eq!(*effect_id, id);
            assert_eq!(kind, "notify_refusal");
            assert_eq!(*attempts, 1);
            assert_eq!(error, "bad address");
        }
        other => panic!("expected the give-up alert, got {other:?}"),
    }
    // An alert that cannot be delivered is given up without raising another one.
    store
        .reschedule(
            alert.id,
            at(2),
            "manager address broken",
            Failure::Permanent,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_effects("w1", at(86_400_000), 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.given_up_effects(10).await.unwrap().len(), 2);

    // Retried by hand: due now, with a fresh count; a second retry changes nothing.
    assert!(store.retry_given_up(id, at(10)).await.unwrap());
    assert!(!store.retry_given_up(id, at(10)).await.unwrap());
    assert!(matches!(
        store.retry_given_up(999_999, at(10)).await,
        Err(StoreError::EffectNotFound { id: 999_999 })
    ));
    let back = store.claim_effects("w2", at(10), 10, lease).await.unwrap();
    assert_eq!(back.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    assert_eq!(back[0].attempts, 0);
    assert_eq!(back[0].given_up_at, None);

    // Transient failures: retried until the allowed attempts are spent.
    let mut now = at(10);
    for n in 1..DEFAULT_OUTBOX_ATTEMPTS {
        match store
            .reschedule(id, now, "smtp down", Failure::Transient)
            .await
            .unwrap()
        {
            Rescheduled::Retry(next) => {
                assert!(next > now);
                now = next;
            }
            other => panic!("attempt {n}: expected a retry, got {other:?}"),
        }
    }
    assert_eq!(
        store
            .reschedule(id, now, "smtp down", Failure::Transient)
            .await
            .unwrap(),
        Rescheduled::GivenUp {
            attempts: DEFAULT_OUTBOX_ATTEMPTS
        }
    );
    // A second give-up raises a second alert (one per give-up).
    let alerts = store.claim_effects("w3", now, 10, lease).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(matches!(
        alerts[0].effect,
        Effect::AlertManager(Alert::DeliveryGivenUp { attempts, .. }) if attempts == DEFAULT_OUTBOX_ATTEMPTS
    ));
    // A delivered effect is never given up.
    assert!(store.mark_delivered(alerts[0].id, now).await.unwrap());
    assert_eq!(
        store
            .reschedule(alerts[0].id, now, "late", Failure::Permanent)
            .await
            .unwrap(),
        Rescheduled::AlreadyDelivered
    );
}

/// A quarantined notification keeps its bytes exactly (binary, up to the largest provider
/// limit), without cookies or credentials; a later sighting without bytes keeps them.
pub async fn quarantine_keeps_raw_bytes(store: Store) {
    use tpe_core::{HttpMethod, NotificationLimits, RawNotification};
    use tpe_store::RawCopy;

    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("x-gcs-signature", "c2lnbmF0dXJl".parse().unwrap());
    headers.insert("cookie", "session=do-not-keep".parse().unwrap());
    headers.insert("authorization", "Basic do-not-keep".parse().unwrap());
    // Every byte value, repeated up to the largest body any provider accepts.
    let body: Vec<u8> = (0..=255u8)
        .cycle()
        .take(RawNotification::MAX_BODY)
        .collect();
    let raw = RawNotification::new(
        HttpMethod::Post,
        "a=1&b=%C3%A9",
        body.clone(),
        headers,
        None,
    )
    .unwrap();
    let q = QuarantineInput::new(
        paybox(),
        "RAW1",
        Some("T1".into()),
        "accepted",
        "unknown reference",
    )
    .with_raw(RawCopy::of(&raw));
    let first = store.quarantine(q.clone(), at(0)).await.unwrap();
    let entry = store.quarantine_entry(first.id).await.unwrap().unwrap();
    assert_eq!(entry.record, first);
    let copy = entry.raw.clone().unwrap();
    let again = copy.to_notification(NotificationLimits::JSON).unwrap();
    assert_eq!(again.method(), HttpMethod::Post);
    assert_eq!(again.query(), b"a=1&b=%C3%A9");
    assert!(again.body() == body.as_slice(), "the body changed");
    assert_eq!(
        again.headers().get("x-gcs-signature").unwrap(),
        "c2lnbmF0dXJl"
    );
    assert_eq!(
        again.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert!(again.headers().get("cookie").is_none());
    assert!(again.headers().get("authorization").is_none());
    // Held to the provider's own limits when fed again: a form provider refuses 1 MiB.
    assert!(copy.to_notification(NotificationLimits::FORM).is_err());

    // Seen again without bytes (a transition's own quarantine): the bytes stay.
    let mut bare = q.clone();
    bare.raw = None;
    let seen = store.quarantine(bare, at(5)).await.unwrap();
    assert_eq!((seen.id, seen.seen_count), (first.id, 2));
    let kept = store.quarantine_entry(first.id).await.unwrap().unwrap();
    assert_eq!(kept.raw.as_ref(), Some(&copy));

    // An entry quarantined without bytes has none; an unknown id is no entry.
    let plain = QuarantineInput::new(paybox(), "RAW2", None, "accepted", "unknown reference");
    let plain = store.quarantine(plain, at(0)).await.unwrap();
    assert_eq!(
        store.quarantine_entry(plain.id).await.unwrap().unwrap().raw,
        None
    );
    assert!(store.quarantine_entry(i64::MAX).await.unwrap().is_none());
}

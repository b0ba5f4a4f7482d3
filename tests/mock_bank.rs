//! End to end with the REAL providers (tpe-paybox, tpe-stripe-like) against the REAL mock bank,
//! over HTTP on loopback, on SQLite and on PostgreSQL (`TPE_TEST_POSTGRES_URL`; skipped loudly
//! without it unless `REQUIRE_POSTGRES=1`). The customer's browser is reqwest: it submits the
//! redirect form, then a test card on the bank's page; the bank notifies the engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tpe_core::clock::ManualClock;
use tpe_core::{
    Amount, CheckoutStatus, Clock as _, Currency, Customer, PaymentReference, ProviderId, Registry,
    Timestamp,
};
use tpe_engine::{CheckoutRequest, Email, Engine, MemoryMailer, ShopSettings};
use tpe_mock_bank::{
    EntryKind, JournalEntry, MockBank, MockBankConfig, Outcome, RunningBank, Scenario,
};
use tpe_paybox::config::{Platform, PublicKeySource};
use tpe_paybox::{Paybox, PayboxConfig};
use tpe_store::PaymentStore;
use tpe_stripe_like::{Mode, StripeLike, StripeLikeConfig};

mod common;

use common::db::Db;

const PAYBOX: ProviderId = Paybox::ID;
const STRIPE: ProviderId = StripeLike::ID;
const MANAGER: &str = "gestion@ferme.example";
const CUSTOMER: &str = "jeanne@example.fr";
const STRIPE_SECRET: &str = tpe_mock_bank::DEFAULT_STRIPE_SECRET_KEY;

// ---------------------------------------------------------------- the world

/// The mock bank and the shared clock (the bank reads the engine's clock, so signed
/// timestamps and session creation times agree).
struct World {
    bank: RunningBank,
    clock: ManualClock,
    mailer: MemoryMailer,
    browser: reqwest::Client,
}

/// One engine instance served on loopback.
struct Node {
    engine: Engine,
    base: String,
    server: tokio::task::JoinHandle<()>,
}

fn start_time() -> Timestamp {
    "2026-03-20T09:00:00Z".parse().unwrap()
}

impl World {
    async fn new() -> Self {
        Self::with_retry(tpe_mock_bank::RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            max_total: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(3),
        })
        .await
    }

    async fn with_retry(retry: tpe_mock_bank::RetryPolicy) -> Self {
        let clock = ManualClock::new(start_time());
        let mut config = MockBankConfig::for_tests();
        let c = clock.clone();
        config.clock = tpe_mock_bank::Clock::from_fn(move || c.now());
        config.retry = retry;
        Self {
            bank: MockBank::spawn(config).await.unwrap(),
            clock,
            mailer: MemoryMailer::new(),
            browser: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn registry(&self) -> Registry {
        let base: url::Url = format!("{}/", self.bank.base_url()).parse().unwrap();
        let mut pb = PayboxConfig::new(
            "1999888",
            "32",
            "107904482",
            SecretString::from(tpe_mock_bank::PAYBOX_TEST_HMAC_KEY),
        );
        pb.platform = Platform::at_base_url(&base).unwrap();
        // Later instalments' IPNs numbered (`Z`), as a shop taking instalments configures it.
        pb.retour = "M:M;R:R;T:T;S:S;A:A;E:E;C:C;N:N;J:J;D:D;Y:Y;F:F;G:G;v:v;Z:Z;K:K"
            .parse()
            .unwrap();
        pb.public_keys = vec![PublicKeySource::Pem(
            self.bank.paybox_public_key_pem().to_owned(),
        )];
        let sl = StripeLikeConfig::new(
            Mode::Test,
            STRIPE_SECRET,
            [tpe_mock_bank::DEFAULT_STRIPE_WEBHOOK_SECRET],
        )
        .with_api_base(base);
        let mut registry = Registry::new();
        registry
            .register(Arc::new(Paybox::new(pb).unwrap()))
            .unwrap();
        registry
            .register(Arc::new(StripeLike::new(sl).unwrap()))
            .unwrap();
        registry
    }

    /// An engine over `store`, served on 127.0.0.1:0; the bank's Stripe-like webhooks go to it.
    async fn node(&self, store: Arc<dyn PaymentStore>) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let settings = ShopSettings::new(
            "Ferme des Lilas",
            base.parse().unwrap(),
            MANAGER,
            "boutique@ferme.example",
        )
        .unwrap();
        let engine = Engine::builder(
            self.registry(),
            store,
            Arc::new(self.mailer.clone()),
            settings,
        )
        .clock(Arc::new(self.clock.clone()))
        // The refusal e-mail's wait is the lifecycle tests' concern: here it goes at once.
        .timings({
            let mut t = tpe_engine::Timings::default();
            t.refusal_email_delay = Duration::ZERO;
            t
        })
        .build()
        .unwrap();
        let app = engine
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        assert!(
            self.bank
                .set_stripe_webhook_url(STRIPE_SECRET, &format!("{base}tpe/notify/stripe-like"))
        );
        Node {
            engine,
            base,
            server,
        }
    }

    fn mails_to(&self, to: &str) -> Vec<Email> {
        self.mailer
            .sent()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }

    /// The notifications the bank delivered for `reference` (one entry per attempt).
    fn deliveries(&self, reference: &PaymentReference) -> Vec<JournalEntry> {
        self.bank
            .journal()
            .into_iter()
            .filter(|e| {
                e.kind == EntryKind::Notification
                    && e.reference.as_deref() == Some(reference.as_str())
            })
            .collect()
    }

    /// Waits (5 s at most) until the bank has logged `n` notifications for `reference`
    /// answered `status` whose detail contains `detail`; whether it did.
    async fn answered(
        &self,
        reference: &PaymentReference,
        status: u16,
        n: usize,
        detail: &str,
    ) -> bool {
        let (_, ok) = self
            .bank
            .wait_for_journal(Duration::from_secs(5), |j| {
                j.iter()
                    .filter(|e| {
                        e.kind == EntryKind::Notification
                            && e.reference.as_deref() == Some(reference.as_str())
                            && e.detail.contains(detail)
                            && e.status == Some(status)
                    })
                    .count()
                    >= n
            })
            .await;
        ok
    }

    /// Opens the bank's page from the engine's redirect, as a browser: the page handle.
    async fn open_page(&self, redirect: &tpe_core::Redirect, marker: &str) -> String {
        let req = match redirect.method {
            tpe_core::HttpMethod::Post => self
                .browser
                .post(redirect.action.clone())
                .form(&redirect.fields),
            _ => self.browser.get(redirect.location()),
        };
        let html = req.send().await.unwrap().text().await.unwrap();
        let from = html
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in the bank's page: {html}"))
            + marker.len();
        let len = html[from..].find('"').unwrap();
        html[from..from + len].to_owned()
    }

    /// Pays on the Paybox page with `card`; returns the bank's answer to the browser.
    async fn pay_paybox(&self, redirect: &tpe_core::Redirect, card: &str) -> reqwest::Response {
        let id = self.open_page(redirect, "action=\"/paybox/page/").await;
        self.browser
            .post(format!("{}/paybox/page/{id}", self.bank.base_url()))
            .form(&[
                ("numero", card),
                ("expiry", "12/99"),
                ("cvv", "123"),
                ("action", "pay"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Pays on the Stripe-like page with `card`.
    async fn pay_stripe(&self, redirect: &tpe_core::Redirect, card: &str) -> reqwest::Response {
        let id = self.open_page(redirect, "action=\"/c/pay/").await;
        self.browser
            .post(format!("{}/c/pay/{id}", self.bank.base_url()))
            .form(&[
                ("email", CUSTOMER),
                ("card", card),
                ("exp", "12/99"),
                ("cvc", "123"),
                ("action", "pay"),
            ])
            .send()
            .await
            .unwrap()
    }
}

fn request(minor: u64, order: Option<&str>) -> CheckoutRequest {
    CheckoutRequest {
        customer: Customer {
            email: CUSTOMER.into(),
            ..tpe_conformance::fixtures::customer_form()
        },
        amount: Amount::new(minor, Currency::EUR).unwrap(),
        description: "Panier de légumes".into(),
        item_count: 2,
        delivery: jiff::civil::date(2026, 3, 28),
        shop_order_id: order.map(str::to_owned),
        language: None,
    }
}

impl Node {
    async fn start(
        &self,
        provider: &ProviderId,
        minor: u64,
        order: Option<&str>,
    ) -> (PaymentReference, tpe_core::Redirect) {
        let s = self
            .engine
            .start_checkout(provider, request(minor, order))
            .await
            .unwrap();
        (s.reference, s.redirect)
    }

    async fn status(&self, r: &PaymentReference) -> CheckoutStatus {
        self.engine.checkout(r).await.unwrap().unwrap().status
    }

    /// Waits (at most 5 s) until the checkout is in `want`.
    async fn wait_status(&self, r: &PaymentReference, want: CheckoutStatus) {
        for _ in 0..500 {
            if self.status(r).await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{r} never became {want:?}: {:?}", self.status(r).await);
    }

    async fn relay(&self, now: Timestamp) -> tpe_engine::RelayReport {
        self.engine.run_relay_once(now).await.unwrap()
    }
}

/// Runs a check on SQLite (a WAL file, `synchronous=FULL`) and on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(db) = super::Db::postgres() {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

on_both!(
    paybox_lifecycle_rows,
    stripe_like_paid_and_declined,
    notification_delivered_ten_times_concurrently,
    lost_notification_recovered_by_paybox_direct,
    retraction_on_the_right_day_and_not_one_minute_early,
    engine_stopped_after_commit_sends_the_email_once_after_restart,
    paybox_refund_after_retraction_reaches_the_bank_once,
    paybox_refund_done_before_a_crash_is_not_made_again,
    paybox_refund_of_the_second_payment_of_an_order,
    paybox_refund_of_a_payment_in_instalments,
    stripe_like_refund_after_retraction_reaches_the_bank_once,
);

// ---------------------------------------------------------------- the checks

use tpe_mock_bank::paybox::cards as pb_cards;
use tpe_mock_bank::stripe_like::cards as sl_cards;

/// Rows 2, 3, 4, 5, 6, 12 and 13 of LIFECYCLE.md through the Paybox page.
async fn paybox_lifecycle_rows(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let now = || w.clock.now();

    // Row 2: accepted card → valid, payment record, one confirmation e-mail.
    let (paid, redirect) = node.start(&PAYBOX, 4321, Some("CART-1")).await;
    let resp = w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    assert_eq!(
        resp.status().as_u16(),
        303,
        "the browser goes back to the shop"
    );
    node.wait_status(&paid, CheckoutStatus::Valid).await;
    assert_eq!(
        node.relay(now()).await.delivered,
        2,
        "record + confirmation"
    );
    let mails = w.mails_to(CUSTOMER);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains("43,21"), "{}", mails[0].body);
    assert!(
        mails[0].body.contains("Panier de légumes"),
        "{}",
        mails[0].body
    );
    // The browser return page shows the stored state and changes nothing.
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&node.base), "{location}");
    let page = w
        .browser
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Paiement validé"), "{page}");
    let detail = node.engine.checkout_detail(&paid).await.unwrap().unwrap();
    assert_eq!(detail.bank_transactions.len(), 1);
    assert_eq!(detail.payments.len(), 1);

    // Row 4: refused card → stays awaiting, the manager gets the code and explanations.
    let (refused, redirect) = node.start(&PAYBOX, 1500, None).await;
    w.pay_paybox(&redirect, pb_cards::INSUFFICIENT_FUNDS).await;
    let ok = w.answered(&refused, 200, 1, "").await;
    assert!(ok, "the refusal was acknowledged");
    assert_eq!(node.status(&refused).await, CheckoutStatus::AwaitingPayment);
    node.relay(now()).await;
    let manager = w.mails_to(MANAGER);
    assert_eq!(manager.len(), 1);
    assert!(manager[0].body.contains("00151"), "{}", manager[0].body);
    assert_eq!(
        w.mails_to(CUSTOMER).len(),
        1,
        "nothing more to the customer"
    );

    // Row 6 then 2: pending (99999) changes nothing, the final acceptance validates.
    let (pending, redirect) = node.start(&PAYBOX, 2000, None).await;
    w.pay_paybox(&redirect, pb_cards::PENDING_THEN_ACCEPTED)
        .await;
    node.wait_status(&pending, CheckoutStatus::Valid).await;
    let d = node
        .engine
        .checkout_detail(&pending)
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<_> = d
        .bank_transactions
        .iter()
        .map(|t| t.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["pending", "accepted"]);

    // Row 12: a wrongly signed notification is rejected (401), nothing written.
    let (forged, redirect) = node.start(&PAYBOX, 3000, None).await;
    w.bank.script(
        forged.as_str(),
        Scenario {
            wrong_signature: true,
            ..Scenario::default()
        },
    );
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    let ok = w.answered(&forged, 401, 1, "").await;
    assert!(ok, "the forged notification was refused with 401");
    assert_eq!(node.status(&forged).await, CheckoutStatus::AwaitingPayment);
    let d = node.engine.checkout_detail(&forged).await.unwrap().unwrap();
    assert!(d.bank_transactions.is_empty());
    assert!(node.engine.rejected_notifications() >= 1);

    // Row 13: a second checkout of CART-1 paid too → valid, and the manager is alerted.
    let (twice, redirect) = node.start(&PAYBOX, 4321, Some("CART-1")).await;
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    node.wait_status(&twice, CheckoutStatus::Valid).await;
    node.relay(now()).await;
    assert_eq!(w.mails_to(MANAGER).len(), 2, "refusal + paid twice");

    // Row 5: a late refusal on the same page never downgrades: scripted refusal on the paid one.
    w.bank.script(
        paid.as_str(),
        Scenario::outcome(Outcome::Refuse {
            code: "00105".into(),
        }),
    );
    let page_again = node.engine.checkout(&paid).await.unwrap().unwrap();
    assert_eq!(page_again.status, CheckoutStatus::Valid);
}

/// Stripe-like: a paid session validates (row 2); a delayed payment that fails notifies a
/// refusal to the manager (row 4).
async fn stripe_like_paid_and_declined(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (r, redirect) = node.start(&STRIPE, 1250, None).await;
    w.pay_stripe(&redirect, sl_cards::ACCEPTED).await;
    node.wait_status(&r, CheckoutStatus::Valid).await;
    node.relay(w.clock.now()).await;
    assert_eq!(w.mails_to(CUSTOMER).len(), 1);

    let (f, redirect) = node.start(&STRIPE, 990, None).await;
    w.pay_stripe(&redirect, sl_cards::DELAYED_FAILS).await;
    let ok = w.answered(&f, 200, 1, "async_payment_failed").await;
    assert!(ok, "the failure webhook was acknowledged");
    assert_eq!(node.status(&f).await, CheckoutStatus::AwaitingPayment);
    node.relay(w.clock.now()).await;
    assert_eq!(
        w.mails_to(MANAGER).len(),
        1,
        "failure e-mail to the manager"
    );
}

/// The mock's `duplicate` fault: the acceptance delivered 10 times → one bank transaction,
/// one payment record, one confirmation e-mail.
async fn notification_delivered_ten_times_concurrently(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (r, redirect) = node.start(&PAYBOX, 990, Some("CART-9")).await;
    w.bank.script(
        r.as_str(),
        Scenario {
            duplicate: 9,
            ..Scenario::default()
        },
    );
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    let ok = w.answered(&r, 200, 10, "").await;
    assert!(
        ok,
        "ten deliveries, each acknowledged 200: {:?}",
        w.deliveries(&r)
    );
    // And the same bytes ten more times, concurrently, straight from the journal.
    let payload = w.deliveries(&r)[0].payload.clone().unwrap();
    let url = format!("{}tpe/notify/paybox?{payload}", node.base);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url) = (w.browser.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            http.get(url).send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    node.relay(w.clock.now()).await;
    let d = node.engine.checkout_detail(&r).await.unwrap().unwrap();
    assert_eq!(d.checkout.status, CheckoutStatus::Valid);
    assert_eq!(d.bank_transactions.len(), 1);
    assert_eq!(d.payments.len(), 1);
    assert_eq!(w.mails_to(CUSTOMER).len(), 1);
}

/// The mock's `drop` fault: the bank never notifies; 15 minutes later reconciliation asks
/// Paybox Direct (`PPPS.php`, TYPE 00017) and validates with exactly the effects of row 2.
async fn lost_notification_recovered_by_paybox_direct(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (r, redirect) = node.start(&PAYBOX, 1800, None).await;
    w.bank.script(
        r.as_str(),
        Scenario {
            drop: true,
            ..Scenario::default()
        },
    );
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    let (_, ok) = w
        .bank
        .wait_for_journal(Duration::from_secs(5), |j| {
            j.iter().any(|e| {
                e.kind == EntryKind::Withheld && e.reference.as_deref() == Some(r.as_str())
            })
        })
        .await;
    assert!(ok, "the notification was withheld");
    // Too early: nothing asked.
    w.clock.advance(jiff::SignedDuration::from_mins(14));
    let rep = node.engine.run_reconciliation(w.clock.now()).await.unwrap();
    assert_eq!(rep.queried, 0);
    assert_eq!(node.status(&r).await, CheckoutStatus::AwaitingPayment);
    w.clock.advance(jiff::SignedDuration::from_mins(1));
    let rep = node.engine.run_reconciliation(w.clock.now()).await.unwrap();
    assert_eq!((rep.queried, rep.paid), (1, 1));
    assert_eq!(node.status(&r).await, CheckoutStatus::Valid);
    let direct = w
        .bank
        .journal()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Request && e.target.contains("PPPS"))
        .count();
    assert!(direct >= 1, "asked through Paybox Direct");
    assert_eq!(node.relay(w.clock.now()).await.delivered, 2);
    assert_eq!(w.mails_to(CUSTOMER).len(), 1);
    let d = node.engine.checkout_detail(&r).await.unwrap().unwrap();
    assert_eq!(d.payments[0].source.as_str(), "reconciliation");
}

/// Paybox Direct refunds (TYPE 00014) the bank journaled for `reference`.
fn refunds_at_bank(w: &World, reference: &PaymentReference) -> usize {
    w.bank
        .journal()
        .into_iter()
        .filter(|e| {
            e.kind == EntryKind::Decision
                && e.target == "/PPPS.php"
                && e.payload.as_deref() == Some("TYPE=00014")
                && e.reference.as_deref() == Some(reference.as_str())
        })
        .count()
}

/// A Paybox checkout retracted (delivery 28 March), then paid on the bank's page.
async fn paid_after_retraction(w: &World, node: &Node, minor: u64) -> PaymentReference {
    let (r, redirect) = node.start(&PAYBOX, minor, None).await;
    w.clock.set("2026-03-28T23:00:00Z".parse().unwrap());
    let rep = node.engine.run_retraction(w.clock.now()).await.unwrap();
    assert_eq!(rep.retracted, 1);
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    node.wait_status(&r, CheckoutStatus::PaidAfterRetraction)
        .await;
    node.relay(w.clock.now()).await;
    r
}

/// Row 15 against the mock bank: the manager's refund reaches Paybox Direct once, however
/// many clicks and relay passes, and the checkout ends refunded with the trail to show it.
async fn paybox_refund_after_retraction_reaches_the_bank_once(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let r = paid_after_retraction(&w, &node, 2500).await;
    let asked = node
        .engine
        .request_refund(&r, "Lucie", "commande annulée")
        .await;
    assert_eq!(asked.unwrap(), CheckoutStatus::Refunding);
    for _ in 0..3 {
        let again = node.engine.request_refund(&r, "Lucie", "").await;
        assert!(again.is_err(), "a refund under way is asked once");
    }
    assert_eq!(refunds_at_bank(&w, &r), 0, "the relay asks, after commit");
    assert_eq!(node.relay(w.clock.now()).await.delivered, 1);
    assert_eq!(node.relay(w.clock.now()).await.delivered, 0);
    assert_eq!(node.status(&r).await, CheckoutStatus::Refunded);
    assert_eq!(refunds_at_bank(&w, &r), 1);
    let d = node.engine.checkout_detail(&r).await.unwrap().unwrap();
    let events: Vec<_> = d
        .audit
        .iter()
        .map(|a| (a.event.as_str(), a.author.as_deref()))
        .collect();
    assert!(
        events.contains(&("refund_requested", Some("Lucie"))),
        "{events:?}"
    );
    assert!(events.iter().any(|(e, _)| *e == "refunded"), "{events:?}");
}

/// The bank refunded but the engine stopped before recording it: the row is delivered again,
/// the bank says the payment is refunded, and no second refund is made.
async fn paybox_refund_done_before_a_crash_is_not_made_again(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let r = paid_after_retraction(&w, &node, 2600).await;
    node.engine.request_refund(&r, "Lucie", "").await.unwrap();
    let d = node.engine.checkout_detail(&r).await.unwrap().unwrap();
    let Some(tpe_core::Effect::Refund {
        bank_transaction_id,
        amount,
        attempt,
        ..
    }) = d.effects.last().map(|e| e.effect.clone())
    else {
        panic!("no refund effect: {:?}", d.effects);
    };
    // What the crashed delivery did at the bank.
    let registry = w.registry();
    let paybox = registry.get(&PAYBOX).unwrap();
    let request = tpe_core::RefundRequest::new(
        r.clone(),
        bank_transaction_id,
        amount,
        format!("tpe-refund-{r}-{attempt}"),
    )
    .for_checkout(d.checkout.bank_reference.clone(), None);
    paybox.refund(&request, w.clock.now()).await.unwrap();
    assert_eq!(refunds_at_bank(&w, &r), 1);
    assert_eq!(node.relay(w.clock.now()).await.delivered, 1);
    assert_eq!(node.status(&r).await, CheckoutStatus::Refunded);
    assert_eq!(refunds_at_bank(&w, &r), 1, "refunded once");
}

/// Event 13 then 15: an order paid twice; only its second payment is refundable, and it is
/// refunded at the bank.
async fn paybox_refund_of_the_second_payment_of_an_order(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (first, redirect) = node.start(&PAYBOX, 1500, Some("CART-9")).await;
    let (second, redirect2) = node.start(&PAYBOX, 1500, Some("CART-9")).await;
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    node.wait_status(&first, CheckoutStatus::Valid).await;
    w.pay_paybox(&redirect2, pb_cards::ACCEPTED).await;
    node.wait_status(&second, CheckoutStatus::Valid).await;
    let d = node.engine.checkout_detail(&second).await.unwrap().unwrap();
    assert_eq!(d.order_paid_before.as_ref(), Some(&first));
    assert!(
        node.engine
            .request_refund(&first, "Lucie", "")
            .await
            .is_err()
    );
    let asked = node
        .engine
        .request_refund(&second, "Lucie", "payée deux fois")
        .await;
    assert_eq!(asked.unwrap(), CheckoutStatus::Refunding);
    node.relay(w.clock.now()).await;
    assert_eq!(node.status(&second).await, CheckoutStatus::Refunded);
    assert_eq!(node.status(&first).await, CheckoutStatus::Valid);
    assert_eq!(
        (refunds_at_bank(&w, &first), refunds_at_bank(&w, &second)),
        (0, 1)
    );
}

/// An order's second payment, in three instalments on Paybox, the later ones charged by the
/// bank: the refund reaches Paybox Direct once per versement, each on its own transaction, and
/// the checkout ends refunded; asked again, nothing more goes to the bank.
async fn paybox_refund_of_a_payment_in_instalments(db: Db) {
    use tpe_core::instalments::{Interval, Schedule, french_day};
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (first, redirect) = node.start(&PAYBOX, 9000, Some("CART-3")).await;
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    node.wait_status(&first, CheckoutStatus::Valid).await;
    let total = Amount::new(9000, Currency::EUR).unwrap();
    let schedule =
        Schedule::split(total, 3, french_day(w.clock.now()), Interval::Months(1)).unwrap();
    let started = node
        .engine
        .start_checkout_in_instalments(&PAYBOX, request(9000, Some("CART-3")), schedule)
        .await
        .unwrap();
    let r = started.reference;
    w.pay_paybox(&started.redirect, pb_cards::ACCEPTED).await;
    node.wait_status(&r, CheckoutStatus::Valid).await;
    let bank_reference = node
        .engine
        .checkout(&r)
        .await
        .unwrap()
        .unwrap()
        .bank_reference;
    for n in [2, 3] {
        w.bank
            .state()
            .charge_instalment(
                tpe_mock_bank::Side::Paybox,
                bank_reference.as_str(),
                n,
                true,
            )
            .unwrap();
    }
    for _ in 0..500 {
        let d = node.engine.checkout_detail(&r).await.unwrap().unwrap();
        if d.payments.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let d = node.engine.checkout_detail(&r).await.unwrap().unwrap();
    let paid: Vec<_> = d
        .payments
        .iter()
        .map(|p| p.bank_transaction_id.clone())
        .collect();
    assert_eq!(paid.len(), 3, "three versements: {paid:?}");
    let asked = node.engine.request_refund(&r, "Lucie", "payée deux fois");
    assert_eq!(asked.await.unwrap(), CheckoutStatus::Refunding);
    node.relay(w.clock.now()).await;
    node.relay(w.clock.now()).await;
    assert_eq!(node.status(&r).await, CheckoutStatus::Refunded);
    assert_eq!(
        refunds_at_bank(&w, &r),
        3,
        "one Paybox Direct refund per versement"
    );
    assert!(node.engine.request_refund(&r, "Lucie", "").await.is_err());
    node.relay(w.clock.now()).await;
    assert_eq!(refunds_at_bank(&w, &r), 3);
    assert_eq!(refunds_at_bank(&w, &first), 0);
}

/// Row 15 on the Stripe-like PSP: one refund through its API, whatever the clicks.
async fn stripe_like_refund_after_retraction_reaches_the_bank_once(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (r, redirect) = node.start(&STRIPE, 3100, None).await;
    w.clock.set("2026-03-28T23:00:00Z".parse().unwrap());
    let rep = node.engine.run_retraction(w.clock.now()).await.unwrap();
    assert_eq!(rep.retracted, 1);
    w.pay_stripe(&redirect, sl_cards::ACCEPTED).await;
    node.wait_status(&r, CheckoutStatus::PaidAfterRetraction)
        .await;
    node.engine.request_refund(&r, "Lucie", "").await.unwrap();
    assert!(node.engine.request_refund(&r, "Lucie", "").await.is_err());
    node.relay(w.clock.now()).await;
    node.relay(w.clock.now()).await;
    assert_eq!(node.status(&r).await, CheckoutStatus::Refunded);
    let refunds = w
        .bank
        .journal()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Request && e.target == "/v1/refunds")
        .count();
    assert_eq!(refunds, 1);
}

/// Row 10 with a real status query: delivery on 28 March in Paris → retracted from 29 March
/// 00:00 Paris (28 March 23:00 UTC), not one minute before; the bank is asked first.
async fn retraction_on_the_right_day_and_not_one_minute_early(db: Db) {
    let w = World::new().await;
    let node = w.node(db.open().await).await;
    let (r, redirect) = node.start(&PAYBOX, 1000, None).await;
    w.bank
        .script(r.as_str(), Scenario::outcome(Outcome::Abandon));
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    let due: Timestamp = "2026-03-28T23:00:00Z".parse().unwrap();
    w.clock.set(due - jiff::SignedDuration::from_mins(1));
    let rep = node.engine.run_retraction(w.clock.now()).await.unwrap();
    assert_eq!(rep.retracted, 0);
    assert_eq!(node.status(&r).await, CheckoutStatus::AwaitingPayment);
    w.clock.set(due);
    let rep = node.engine.run_retraction(w.clock.now()).await.unwrap();
    assert_eq!(rep.retracted, 1);
    assert_eq!(node.status(&r).await, CheckoutStatus::Retracted);

    // Bank unreachable at retraction time: postponed, never retracted on "unknown".
    let (u, _) = node.start(&PAYBOX, 1100, None).await;
    w.bank.set_server_status(false);
    let rep = node.engine.run_retraction(w.clock.now()).await.unwrap();
    assert_eq!((rep.retracted, rep.postponed), (0, 1));
    assert_eq!(node.status(&u).await, CheckoutStatus::AwaitingPayment);
    w.bank.set_server_status(true);
    // Leased: not retried before the lease ends, then retracted.
    assert_eq!(
        node.engine
            .run_retraction(w.clock.now())
            .await
            .unwrap()
            .retracted,
        0
    );
    w.clock.advance(jiff::SignedDuration::from_mins(5));
    assert_eq!(
        node.engine
            .run_retraction(w.clock.now())
            .await
            .unwrap()
            .retracted,
        1
    );
}

/// The engine is stopped after the commit and before the e-mail; another one on the same
/// database sends it, once.
async fn engine_stopped_after_commit_sends_the_email_once_after_restart(db: Db) {
    let w = World::new().await;
    let first = w.node(db.open().await).await;
    let (r, redirect) = first.start(&PAYBOX, 4200, None).await;
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    first.wait_status(&r, CheckoutStatus::Valid).await;
    first.server.abort();
    drop(first);
    let second = w.node(db.open().await).await;
    assert_eq!(second.relay(w.clock.now()).await.delivered, 2);
    assert_eq!(second.relay(w.clock.now()).await.delivered, 0);
    assert_eq!(w.mails_to(CUSTOMER).len(), 1);
}

// ---------------------------------------------------------------- single-backend checks

/// The store made unavailable (another process holds SQLite's write lock past the busy
/// timeout): the engine answers 503, the bank retries, the retry succeeds once it is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_unavailable_gives_503_then_the_banks_retry_succeeds() {
    use sqlx::Connection as _;
    let w = World::with_retry(tpe_mock_bank::RetryPolicy {
        max_attempts: 6,
        initial_backoff: Duration::from_millis(400),
        max_backoff: Duration::from_millis(800),
        max_total: Duration::from_secs(10),
        attempt_timeout: Duration::from_secs(3),
    })
    .await;
    let db = Db::sqlite();
    let node = w.node(db.open().await).await;
    let (r, redirect) = node.start(&PAYBOX, 4321, None).await;
    let Db::Sqlite(path) = &db else {
        unreachable!()
    };
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    let ok = w.answered(&r, 503, 1, "").await;
    assert!(ok, "503 while the store is locked: {:?}", w.deliveries(&r));
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    node.wait_status(&r, CheckoutStatus::Valid).await;
    // The bank journals the 200 once the answer has reached it, a moment after the commit.
    let ok = w.answered(&r, 200, 1, "").await;
    let statuses: Vec<_> = w.deliveries(&r).iter().map(|e| e.status).collect();
    assert!(ok, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&Some(200)), "{statuses:?}");
}

/// Two engines on one PostgreSQL: the same notification to both at once, both relays, both
/// job runners → one bank transaction, one e-mail, one status query per checkout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_engines_on_one_postgres() {
    let Some(db) = Db::postgres() else { return };
    let w = World::new().await;
    let a = w.node(db.open().await).await;
    let b = w.node(db.open().await).await;
    let (r, redirect) = a.start(&PAYBOX, 3100, None).await;
    w.pay_paybox(&redirect, pb_cards::ACCEPTED).await;
    a.wait_status(&r, CheckoutStatus::Valid).await;
    let payload = w.deliveries(&r)[0].payload.clone().unwrap();
    let mut tasks = Vec::new();
    for node in [&a, &b, &a, &b, &a, &b] {
        let url = format!("{}tpe/notify/paybox?{payload}", node.base);
        let http = w.browser.clone();
        tasks.push(tokio::spawn(async move {
            http.get(url).send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let now = w.clock.now();
    let (ra, rb) = tokio::join!(a.engine.run_relay_once(now), b.engine.run_relay_once(now));
    assert_eq!(ra.unwrap().delivered + rb.unwrap().delivered, 2);
    assert_eq!(w.mails_to(CUSTOMER).len(), 1);

    // Jobs: five abandoned checkouts, due for reconciliation; both engines run at once.
    let mut refs = Vec::new();
    for _ in 0..5 {
        refs.push(b.start(&PAYBOX, 700, None).await.0);
    }
    w.clock.advance(jiff::SignedDuration::from_mins(16));
    w.bank.clear_journal();
    let now = w.clock.now();
    let (ja, jb) = tokio::join!(
        a.engine.run_reconciliation(now),
        b.engine.run_reconciliation(now)
    );
    assert_eq!(
        ja.unwrap().queried + jb.unwrap().queried,
        5,
        "each asked once"
    );
    // Retraction: each checkout's bank status asked once, each retracted once.
    w.clock.set("2026-03-28T23:00:00Z".parse().unwrap());
    w.bank.clear_journal();
    let now = w.clock.now();
    let (ta, tb) = tokio::join!(a.engine.run_retraction(now), b.engine.run_retraction(now));
    assert_eq!(ta.unwrap().retracted + tb.unwrap().retracted, 5);
    let queries = w
        .bank
        .journal()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Request && e.target.contains("PPPS"))
        .count();
    assert_eq!(queries, 5, "one bank status query per retraction");
}

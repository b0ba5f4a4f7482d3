//! « Payer en 3 fois » in the shop: offered from the configured minimum with the banks that
//! offer it, the schedule shown before paying, refused in French otherwise (nothing created),
//! and, once paid, the later instalments charged by the mock bank on its compressed calendar
//! and shown on the customer's order page and in Gestion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Visitor, csrf, hidden, log_in, pay_paybox, ready_to_order};
use tpe_core::CheckoutStatus;
use tpe_demo::{DEFAULT_INSTALMENTS_MINIMUM, Demo, DemoOptions};
use tpe_mock_bank::EntryKind;

/// A demo whose mock bank runs a day of the calendar in `day`.
async fn start(name: &str, day: Duration) -> Demo {
    let dir = std::env::temp_dir().join(format!("tpe-demo-3x-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut options = DemoOptions::interactive(SocketAddr::from(([127, 0, 0, 1], 0)), &dir);
    options.background = false;
    options.bank.instalment_day = Some(day);
    assert_eq!(options.instalments_minimum, DEFAULT_INSTALMENTS_MINIMUM);
    Demo::start(options).await.unwrap()
}

/// Adds `qty` of `product` to the cart; the order summary.
async fn add(v: &mut Visitor, summary: &str, product: &str, qty: &str) -> String {
    let token = csrf(summary);
    let form = [("csrf", token.as_str()), ("product", product), ("qty", qty)];
    v.post("/panier", &form, None).await;
    v.get("/commande").await.1
}

/// Submits the order form with `provider`, in `versements`; the page that comes back.
async fn order(v: &mut Visitor, summary: &str, provider: &str, versements: &str) -> String {
    let (token, form_id) = (csrf(summary), hidden(summary, "form_id"));
    let form = [
        ("csrf", token.as_str()),
        ("form_id", form_id.as_str()),
        ("mode", "online"),
        ("provider", provider),
        ("versements", versements),
    ];
    v.post("/commande", &form, None).await.text().await.unwrap()
}

async fn awaiting(demo: &Demo) -> usize {
    demo.engine()
        .checkouts_by_state(CheckoutStatus::AwaitingPayment, 10, None)
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instalments_offered_shown_refused_in_french_and_paid_one_by_one() {
    let demo = start("paid", Duration::from_millis(20)).await;
    let mut v = Visitor::new(&demo);
    // 9,80 €: below the minimum, not offered, and refused if asked for anyway.
    let summary = ready_to_order(&mut v).await;
    assert!(!summary.contains("Payer en 3 fois"), "{summary}");
    let page = order(&mut v, &summary, "paybox", "3").await;
    assert!(page.contains("proposé à partir de 30,00"), "{page}");
    assert_eq!(awaiting(&demo).await, 0, "nothing created");

    // 39,80 €: offered, with its schedule before paying.
    let summary = add(&mut v, &page, "legumes", "2").await;
    assert!(summary.contains("Payer en 3 fois sans frais"), "{summary}");
    assert!(
        summary.contains("Paybox, Monetico ou Lyra (Systempay)"),
        "{summary}"
    );
    let schedule = summary
        .split("<table id=\"schedule\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no schedule: {summary}"))
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'");
    assert!(
        schedule.contains("aujourd'hui") && schedule.contains("13,28"),
        "{schedule}"
    );
    assert_eq!(schedule.matches("13,26").count(), 2, "{schedule}");

    // Not with a bank that does not offer it: said in French, nothing created.
    let page = order(&mut v, &summary, "stripe-like", "3").await;
    assert!(page.contains("pas proposé avec Stripe-like"), "{page}");
    assert_eq!(awaiting(&demo).await, 0, "nothing created");

    // With Paybox: the first instalment on the bank's page, the others by the bank itself.
    let redirect = order(&mut v, &page, "paybox", "3").await;
    assert!(redirect.contains("PBX_2MONT1"), "{redirect}");
    pay_paybox(&redirect).await;
    let (_, acknowledged) = demo
        .bank()
        .wait_for_journal(Duration::from_secs(20), |j| {
            j.iter()
                .filter(|e| {
                    e.kind == EntryKind::Notification
                        && e.status.is_some_and(|s| (200..300).contains(&s))
                })
                .count()
                >= 3
        })
        .await;
    assert!(acknowledged, "three instalments notified and acknowledged");
    let engine = demo.engine();
    engine.run_relay_once(engine.now()).await.unwrap();
    let records = engine
        .payment_records(
            tpe_core::Timestamp::UNIX_EPOCH,
            engine
                .now()
                .checked_add(jiff::SignedDuration::from_hours(1))
                .unwrap(),
            10,
        )
        .await
        .unwrap();
    let mut amounts: Vec<u64> = records.iter().map(|r| r.amount.minor()).collect();
    amounts.sort_unstable();
    assert_eq!(amounts, [1326, 1326, 1328], "one record per instalment");
    assert!(engine.quarantined(10).await.unwrap().is_empty());

    // The customer's order page.
    let (_, orders) = v.get("/commande").await;
    let paid = orders
        .split("<table id=\"paid-orders\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no paid orders: {orders}"));
    assert!(paid.contains("en 3 fois"), "{paid}");
    assert_eq!(paid.matches(": payée").count(), 3, "{paid}");

    // Gestion.
    let reference = records[0].reference.clone();
    log_in(&mut v, &demo).await;
    let (_, detail) = v.get(&format!("/gestion/paiement/{reference}")).await;
    assert!(detail.contains("Paiement en plusieurs fois"), "{detail}");
    assert_eq!(
        detail.matches("payée — versement n°").count(),
        3,
        "{detail}"
    );
    demo.shutdown().await;
}

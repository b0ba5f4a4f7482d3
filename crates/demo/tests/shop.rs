//! The shop's order form: a double click starts one checkout, a paid order is closed (cart
//! emptied, number never reused, listed as paid), a past delivery date is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Visitor, csrf, start};
use reqwest::StatusCode;
use tpe_core::CheckoutStatus;

/// The value of the hidden field `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + key.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// A visitor with a complete account and a jar of honey in the cart, on the order summary.
async fn ready_to_order(v: &mut Visitor) -> String {
    let (_, home) = v.get("/").await;
    let token = csrf(&home);
    let form = [
        ("csrf", token.as_str()),
        ("first_name", "Jeanne"),
        ("last_name", "Martin"),
        ("email", "jeanne.martin@example.fr"),
        ("phone", "06 12 34 56 78"),
        ("line1", "12 chemin des Lilas"),
        ("postcode", "69480"),
        ("city", "Anse"),
        ("country", "FR"),
    ];
    assert_eq!(
        v.post("/compte", &form, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let add = [("csrf", token.as_str()), ("product", "miel"), ("qty", "1")];
    assert_eq!(
        v.post("/panier", &add, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, summary) = v.get("/commande").await;
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_starts_one_checkout_and_a_paid_order_is_closed() {
    let demo = start("shop-once").await;
    let mut v = Visitor::new(&demo);
    let summary = ready_to_order(&mut v).await;
    let order = hidden(&summary, "form_id");
    let token = csrf(&summary);
    let form = [
        ("csrf", token.as_str()),
        ("form_id", order.as_str()),
        ("mode", "online"),
        ("provider", "paybox"),
    ];
    // Two submissions of the same form at once.
    let (a, b) = tokio::join!(
        v.clone_post("/commande", &form),
        v.clone_post("/commande", &form)
    );
    let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
    let (ra, rb) = (hidden(&a, "PBX_CMD"), hidden(&b, "PBX_CMD"));
    assert_eq!(ra, rb, "two checkouts for one click");
    let awaiting = demo
        .engine()
        .checkouts_by_state(CheckoutStatus::AwaitingPayment, 10, None)
        .await
        .unwrap();
    assert_eq!(awaiting.items.len(), 1);
    let reference = awaiting.items[0].reference.clone();

    // The bank's word arrives (here by hand); the order is closed at the next visit.
    demo.engine()
        .validate_manually(&reference, "Test", "payé par virement")
        .await
        .unwrap();
    let (_, summary) = v.get("/commande").await;
    assert!(summary.contains("Votre panier est vide"), "{summary}");
    assert!(summary.contains("Vos commandes payées") && summary.contains(reference.as_str()));
    // The old form, sent again, pays nothing twice.
    let again = v.post("/commande", &form, None).await.text().await.unwrap();
    assert!(!again.contains("PBX_CMD"), "{again}");
    let started = demo
        .engine()
        .checkouts_by_state(CheckoutStatus::AwaitingPayment, 10, None)
        .await
        .unwrap();
    assert!(
        started.items.is_empty(),
        "a paid order was checked out again"
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn a_past_delivery_date_is_refused() {
    let demo = start("shop-past").await;
    let mut v = Visitor::new(&demo);
    let summary = ready_to_order(&mut v).await;
    let yesterday = demo
        .engine()
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date()
        .yesterday()
        .unwrap()
        .to_string();
    let token = csrf(&summary);
    let order = hidden(&summary, "form_id");
    let form = [
        ("csrf", token.as_str()),
        ("form_id", order.as_str()),
        ("mode", "online"),
        ("provider", "paybox"),
        ("delivery", yesterday.as_str()),
    ];
    let page = v.post("/commande", &form, None).await.text().await.unwrap();
    assert!(page.contains("La date de livraison est passée"), "{page}");
    let started = demo
        .engine()
        .checkouts_by_state(CheckoutStatus::AwaitingPayment, 10, None)
        .await
        .unwrap();
    assert!(started.items.is_empty());
    demo.shutdown().await;
}

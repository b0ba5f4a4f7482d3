//! The shop's order form: a double click starts one checkout, a paid order is closed (cart
//! emptied, number never reused, listed as paid), a past delivery date is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Visitor, csrf, hidden, ready_to_order, start};
use tpe_core::CheckoutStatus;

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

#[tokio::test]
async fn an_unreadable_form_gets_the_french_error_page() {
    let demo = start("shop-bad-form").await;
    let mut v = Visitor::new(&demo);
    let (_, home) = v.get("/").await;
    let token = csrf(&home);
    for (path, form, back) in [
        (
            "/panier",
            vec![("product", "miel"), ("qty", "beaucoup")],
            "/",
        ),
        ("/gestion/connexion", vec![("motdepasse", "x")], "/gestion"),
    ] {
        let mut form = form;
        form.push(("csrf", token.as_str()));
        let resp = v.post(path, &form, None).await;
        let status = resp.status();
        let page = resp.text().await.unwrap();
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(page.contains("Formulaire illisible"), "{path}: {page}");
        assert!(page.contains(&format!("href=\"{back}\"")), "{path}: {page}");
        assert!(!page.contains("Failed to deserialize"), "{path}: {page}");
    }
    demo.shutdown().await;
}

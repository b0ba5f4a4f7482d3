//! Gestion as the manager reads it: French words, "—" for nothing, counts per state, lookup by
//! order number in any case, the payment records as CSV.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Visitor, csrf, hidden, log_in, ready_to_order, start};
use reqwest::StatusCode;

#[tokio::test]
async fn gestion_speaks_french_and_exports_the_records() {
    let demo = start("gestion").await;
    let mut v = Visitor::new(&demo);
    let summary = ready_to_order(&mut v).await;
    let order = summary
        .split("Commande ")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap()
        .trim()
        .to_owned();
    let form = [
        ("csrf", csrf(&summary)),
        ("form_id", hidden(&summary, "form_id")),
        ("mode", "online".into()),
        ("provider", "paybox".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = v.post("/commande", &form, None).await.text().await.unwrap();
    let reference = hidden(&page, "PBX_CMD");
    log_in(&mut v, &demo).await;

    // A job "as of" a date shows what it would do first, and does nothing until confirmed.
    let (_, list) = v.get("/gestion").await;
    let token = csrf(&list);
    let job = [
        ("csrf", token.as_str()),
        ("job", "retraction"),
        ("at", "2099-01-01T00:00"),
    ];
    let preview = v
        .post("/gestion/jobs", &job, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        preview.contains("Aperçu de la rétractation") && preview.contains(&reference),
        "{preview}"
    );
    assert!(preview.contains("Rien n'a encore été fait"));
    let status = |demo: &tpe_demo::Demo, r: &str| {
        let (engine, r) = (
            demo.engine().clone(),
            tpe_core::PaymentReference::parse(r).unwrap(),
        );
        async move { engine.checkout(&r).await.unwrap().unwrap().status }
    };
    assert_eq!(
        status(&demo, &reference).await,
        tpe_core::CheckoutStatus::AwaitingPayment
    );
    let preview = v
        .post(
            "/gestion/jobs",
            &[
                ("csrf", token.as_str()),
                ("job", "reconciliation"),
                ("at", "2099-01-01T00:00"),
            ],
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(preview.contains("Aperçu du rapprochement bancaire") && preview.contains(&reference));

    // Counted under its state, found by its order number typed in lower case.
    let (_, list) = v.get("/gestion").await;
    assert!(list.contains("En attente de paiement (1)"), "{list}");
    let (found, _) = v
        .get(&format!(
            "/gestion/paiement?reference={}",
            order.to_lowercase()
        ))
        .await;
    assert_eq!(found.status(), StatusCode::SEE_OTHER, "{order}");
    let (_, detail) = v.get(&format!("/gestion/paiement/{reference}")).await;
    for english in ["None", "record_payment", "Accepted", "manual_validation"] {
        assert!(!detail.contains(english), "{english} in {detail}");
    }

    // Validated by hand through the form: French words in the trail, a record to export.
    let (_, detail) = v.get(&format!("/gestion/paiement/{reference}")).await;
    let token = csrf(&detail);
    let done = v
        .post(
            &format!("/gestion/paiement/{reference}/valider"),
            &[
                ("csrf", &token),
                ("author", "Lucie"),
                ("note", "virement reçu"),
            ],
            None,
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, detail) = v.get(&format!("/gestion/paiement/{reference}")).await;
    assert!(detail.contains("Validation manuelle") && detail.contains("Manuellement (Lucie)"));
    assert!(
        !detail.contains("manual_validation") && !detail.contains("None"),
        "{detail}"
    );
    let (missing, page) = v.get("/gestion/paiement?reference=CMD-NULLE").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(page.contains("Aucun paiement ni aucune commande"), "{page}");

    let mut csv = None;
    for _ in 0..50 {
        let (resp, body) = v.get("/gestion/versements.csv").await;
        assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
        if body.lines().count() > 1 {
            csv = Some(body);
            break;
        }
        // The record is written by the relay, once per second in the interactive demo.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        demo.engine()
            .run_relay_once(demo.engine().now())
            .await
            .unwrap();
    }
    let csv = csv.expect("no payment record exported");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("Numéro;Type;Référence paiement en ligne;Montant")
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains(&reference)
            && row.contains("9,80;EUR")
            && row.contains("Manuellement (Lucie)"),
        "{row}"
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn a_confirmed_job_runs() {
    let demo = start("gestion-job").await;
    let mut v = Visitor::new(&demo);
    let summary = ready_to_order(&mut v).await;
    let form = [
        ("csrf", csrf(&summary)),
        ("form_id", hidden(&summary, "form_id")),
        ("mode", "online".into()),
        ("provider", "paybox".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = v.post("/commande", &form, None).await.text().await.unwrap();
    let reference = tpe_core::PaymentReference::parse(&hidden(&page, "PBX_CMD")).unwrap();
    log_in(&mut v, &demo).await;
    let (_, list) = v.get("/gestion").await;
    let token = csrf(&list);
    let job = [
        ("csrf", token.as_str()),
        ("job", "retraction"),
        ("at", "2099-01-01T00:00"),
        ("confirm", "1"),
    ];
    assert_eq!(
        v.post("/gestion/jobs", &job, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let c = demo.engine().checkout(&reference).await.unwrap().unwrap();
    assert_eq!(c.status, tpe_core::CheckoutStatus::Retracted);
    let (_, list) = v.get("/gestion").await;
    assert!(list.contains("1 rétractée(s)"), "{list}");
    demo.shutdown().await;
}

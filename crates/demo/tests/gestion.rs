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
    let reference = order_with_paybox(&mut v, &summary).await.0.to_string();
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
    let (reference, _) = order_with_paybox(&mut v, &summary).await;
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

/// Orders the honey with Paybox from `v`'s session: the payment reference and the redirect page.
async fn order_with_paybox(v: &mut Visitor, summary: &str) -> (tpe_core::PaymentReference, String) {
    let form = [
        ("csrf", csrf(summary)),
        ("form_id", hidden(summary, "form_id")),
        ("mode", "online".into()),
        ("provider", "paybox".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = v.post("/commande", &form, None).await.text().await.unwrap();
    let reference = tpe_core::PaymentReference::parse(&hidden(&page, "PBX_CMD")).unwrap();
    (reference, page)
}

/// Waits (10 s at most) for the bank's notification to bring the checkout to `want`.
async fn wait_status(
    demo: &tpe_demo::Demo,
    r: &tpe_core::PaymentReference,
    want: tpe_core::CheckoutStatus,
) {
    for _ in 0..200 {
        let c = demo.engine().checkout(r).await.unwrap().unwrap();
        if c.status == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{r} never became {want:?}");
}

/// A paybox order left unpaid, retracted by the manager's job, then paid at the bank: the
/// manager is logged in and the checkout paid after retraction.
async fn paid_after_retraction(
    demo: &tpe_demo::Demo,
    v: &mut Visitor,
) -> tpe_core::PaymentReference {
    let summary = ready_to_order(v).await;
    let (reference, page) = order_with_paybox(v, &summary).await;
    log_in(v, demo).await;
    let (_, list) = v.get("/gestion").await;
    let job = [
        ("csrf", csrf(&list)),
        ("job", "retraction".into()),
        ("at", "2099-01-01T00:00".into()),
        ("confirm", "1".into()),
    ];
    let job: Vec<(&str, &str)> = job.iter().map(|(k, v)| (*k, v.as_str())).collect();
    v.post("/gestion/jobs", &job, None).await;
    wait_status(demo, &reference, tpe_core::CheckoutStatus::Retracted).await;
    common::pay_paybox(&page).await;
    wait_status(
        demo,
        &reference,
        tpe_core::CheckoutStatus::PaidAfterRetraction,
    )
    .await;
    reference
}

/// Paybox Direct refunds the mock bank journaled for the checkout.
async fn refunds_at_bank(demo: &tpe_demo::Demo, r: &tpe_core::PaymentReference) -> usize {
    let c = demo.engine().checkout(r).await.unwrap().unwrap();
    demo.bank()
        .journal()
        .into_iter()
        .filter(|e| {
            e.kind == tpe_mock_bank::EntryKind::Decision
                && e.payload.as_deref() == Some("TYPE=00014")
                && e.reference.as_deref() == Some(c.bank_reference.as_str())
        })
        .count()
}

#[tokio::test]
async fn a_payment_after_retraction_is_refunded_once_after_confirmation() {
    let demo = start("gestion-refund").await;
    let mut v = Visitor::new(&demo);
    let reference = paid_after_retraction(&demo, &mut v).await;
    let path = format!("/gestion/paiement/{reference}");
    let (_, detail) = v.get(&path).await;
    assert!(
        detail.contains("Payée après rétractation")
            && detail.contains(">Rembourser</button>")
            && detail.contains(">Rétablir la commande</button>"),
        "{detail}"
    );
    let token = csrf(&detail);
    let ask = [
        ("csrf", token.as_str()),
        ("author", "Lucie"),
        ("note", "livraison impossible"),
    ];
    // First what will be done; nothing until confirmed.
    let confirm = v
        .post(&format!("{path}/rembourser"), &ask, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        confirm.contains("Confirmer le remboursement")
            && confirm.contains("9,80 €")
            && confirm.contains("Rien n'a encore été fait"),
        "{confirm}"
    );
    let confirmed = [
        ("csrf", token.as_str()),
        ("author", "Lucie"),
        ("note", "livraison impossible"),
        ("confirm", "1"),
    ];
    // From another site, or without the form's token: refused, nothing asked of the bank.
    let forged = v
        .post(
            &format!("{path}/rembourser"),
            &confirmed,
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let tokenless = v
        .post(&format!("{path}/rembourser"), &confirmed[1..], None)
        .await;
    assert_eq!(tokenless.status(), StatusCode::FORBIDDEN);
    let c = demo.engine().checkout(&reference).await.unwrap().unwrap();
    assert_eq!(c.status, tpe_core::CheckoutStatus::PaidAfterRetraction);
    assert_eq!(refunds_at_bank(&demo, &reference).await, 0);
    // Confirmed twice at once (a double click): one refund at the bank.
    let (a, b) = tokio::join!(
        v.clone_post(&format!("{path}/rembourser"), &confirmed),
        v.clone_post(&format!("{path}/rembourser"), &confirmed),
    );
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    let c = demo.engine().checkout(&reference).await.unwrap().unwrap();
    assert_eq!(c.status, tpe_core::CheckoutStatus::Refunded);
    assert_eq!(refunds_at_bank(&demo, &reference).await, 1);
    let (_, detail) = v.get(&path).await;
    assert!(detail.contains("Remboursée"), "{detail}");
    assert!(
        detail.contains("Remboursement demandé")
            && detail.contains("Lucie")
            && detail.contains("Remboursement effectué"),
        "{detail}"
    );
    assert!(!detail.contains(">Rembourser</button>"), "{detail}");
    for english in ["refund_requested", "refunded", "refunding", "None"] {
        assert!(!detail.contains(english), "{english} in {detail}");
    }
    // Once more, later: refused in French, nothing sent.
    let again = v
        .post(&format!("{path}/rembourser"), &confirmed, None)
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let (_, detail) = v.get(&path).await;
    assert!(
        detail.contains("ce paiement est déjà remboursé"),
        "{detail}"
    );
    assert_eq!(refunds_at_bank(&demo, &reference).await, 1);
    demo.shutdown().await;
}

#[tokio::test]
async fn a_payment_after_retraction_is_reinstated_after_confirmation() {
    let demo = start("gestion-reinstate").await;
    let mut v = Visitor::new(&demo);
    let reference = paid_after_retraction(&demo, &mut v).await;
    let path = format!("/gestion/paiement/{reference}");
    let (_, detail) = v.get(&path).await;
    let token = csrf(&detail);
    let confirm = v
        .post(
            &format!("{path}/retablir"),
            &[("csrf", token.as_str()), ("author", "Lucie"), ("note", "")],
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Confirmer le rétablissement"), "{confirm}");
    let c = demo.engine().checkout(&reference).await.unwrap().unwrap();
    assert_eq!(c.status, tpe_core::CheckoutStatus::PaidAfterRetraction);
    // Without a name: nothing done, the manager is told why.
    v.post(
        &format!("{path}/retablir"),
        &[("csrf", token.as_str()), ("author", " "), ("confirm", "1")],
        None,
    )
    .await;
    let (_, detail) = v.get(&path).await;
    assert!(detail.contains("Indiquez votre nom"), "{detail}");
    let done = v
        .post(
            &format!("{path}/retablir"),
            &[
                ("csrf", token.as_str()),
                ("author", "Lucie"),
                ("note", "livrée quand même"),
                ("confirm", "1"),
            ],
            None,
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let c = demo.engine().checkout(&reference).await.unwrap().unwrap();
    assert_eq!(c.status, tpe_core::CheckoutStatus::Valid);
    let (_, detail) = v.get(&path).await;
    assert!(
        detail.contains("Commande rétablie") && detail.contains("Lucie"),
        "{detail}"
    );
    assert!(!detail.contains(">Rembourser</button>"), "{detail}");
    assert_eq!(refunds_at_bank(&demo, &reference).await, 0);
    demo.shutdown().await;
}

#[tokio::test]
async fn the_extra_payment_of_an_order_paid_twice_is_refunded() {
    let demo = start("gestion-twice").await;
    let mut v = Visitor::new(&demo);
    let summary = ready_to_order(&mut v).await;
    let (first, page1) = order_with_paybox(&mut v, &summary).await;
    // Back to the order, paid again in another try.
    let (_, summary) = v.get("/commande").await;
    let (second, page2) = order_with_paybox(&mut v, &summary).await;
    assert_ne!(first, second);
    common::pay_paybox(&page1).await;
    wait_status(&demo, &first, tpe_core::CheckoutStatus::Valid).await;
    common::pay_paybox(&page2).await;
    wait_status(&demo, &second, tpe_core::CheckoutStatus::Valid).await;
    log_in(&mut v, &demo).await;
    let (_, detail) = v.get(&format!("/gestion/paiement/{first}")).await;
    assert!(!detail.contains(">Rembourser</button>"), "{detail}");
    let path = format!("/gestion/paiement/{second}");
    let (_, detail) = v.get(&path).await;
    assert!(
        detail.contains("Paiement en double")
            && detail.contains(first.as_str())
            && detail.contains(">Rembourser</button>")
            && !detail.contains(">Rétablir la commande</button>"),
        "{detail}"
    );
    let token = csrf(&detail);
    let confirmed = [
        ("csrf", token.as_str()),
        ("author", "Lucie"),
        ("note", "payée deux fois"),
        ("confirm", "1"),
    ];
    let (a, b) = tokio::join!(
        v.clone_post(&format!("{path}/rembourser"), &confirmed),
        v.clone_post(&format!("{path}/rembourser"), &confirmed),
    );
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    let status = |r| {
        let engine = demo.engine().clone();
        async move { engine.checkout(&r).await.unwrap().unwrap().status }
    };
    assert_eq!(
        status(second.clone()).await,
        tpe_core::CheckoutStatus::Refunded
    );
    assert_eq!(status(first.clone()).await, tpe_core::CheckoutStatus::Valid);
    assert_eq!(refunds_at_bank(&demo, &second).await, 1);
    assert_eq!(refunds_at_bank(&demo, &first).await, 0);
    let (_, detail) = v.get(&path).await;
    assert!(
        detail.contains("Remboursement effectué") && detail.contains("Lucie"),
        "{detail}"
    );
    demo.shutdown().await;
}

/// A task the relay gave up (here the payment record the accounts refused) is listed under
/// "Tâches abandonnées", counted in red on the main page, and done once by "Réessayer".
#[tokio::test]
async fn a_given_up_task_is_listed_and_retried_once() {
    use tpe_engine::tpe_store::{Failure, Rescheduled};
    let demo = start("gestion-given-up").await;
    let mut v = Visitor::new(&demo);
    let summary = ready_to_order(&mut v).await;
    let (reference, page) = order_with_paybox(&mut v, &summary).await;
    common::pay_paybox(&page).await;
    wait_status(&demo, &reference, tpe_core::CheckoutStatus::Valid).await;
    // The accounts refuse the record for good (what a hook's permanent error does).
    let engine = demo.engine();
    let store = engine.store();
    let now = engine.now();
    let claimed = store
        .claim_effects("test", now, 10, jiff::SignedDuration::from_secs(30))
        .await
        .unwrap();
    let record = claimed
        .iter()
        .find(|e| e.effect.kind() == "record_payment")
        .expect("a payment record to deliver");
    assert!(matches!(
        store
            .reschedule(
                record.id,
                now,
                "compte comptable 706 inconnu",
                Failure::Permanent
            )
            .await
            .unwrap(),
        Rescheduled::GivenUp { attempts: 1 }
    ));
    store.release_claims("test").await.unwrap();

    log_in(&mut v, &demo).await;
    let (_, list) = v.get("/gestion").await;
    assert!(
        list.contains("class=\"alert\">Tâches abandonnées (1)"),
        "{list}"
    );
    let (_, tasks) = v.get("/gestion/taches").await;
    assert!(
        tasks.contains(reference.as_str())
            && tasks.contains("l&#x27;enregistrement du versement en comptabilité")
            && tasks.contains("compte comptable 706 inconnu"),
        "{tasks}"
    );
    let path = format!("/gestion/taches/{}/reessayer", record.id);
    // Without the form's token nothing happens.
    let forged = v
        .post(&path, &[("csrf", "forged"), ("author", "Lucie")], None)
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(engine.given_up_effects(10).await.unwrap().len(), 1);
    let token = csrf(&tasks);
    let done = v
        .post(
            &path,
            &[("csrf", token.as_str()), ("author", "Lucie")],
            None,
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, tasks) = v.get("/gestion/taches").await;
    assert!(
        tasks.contains("remise en route") && tasks.contains("Aucune tâche abandonnée"),
        "{tasks}"
    );
    let again = v
        .post(
            &path,
            &[("csrf", token.as_str()), ("author", "Lucie")],
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let (_, tasks) = v.get("/gestion/taches").await;
    assert!(tasks.contains("n&#x27;est plus abandonnée"), "{tasks}");
    let detail = engine.checkout_detail(&reference).await.unwrap().unwrap();
    let delivered: Vec<_> = detail
        .effects
        .iter()
        .filter(|e| e.id == record.id)
        .map(|e| (e.delivered_at.is_some(), e.given_up_at))
        .collect();
    assert_eq!(
        delivered,
        [(true, None)],
        "delivered once, no longer given up"
    );
    // The manager heard of it by e-mail, once.
    let (_, mails) = v.get("/gestion/mails").await;
    assert_eq!(mails.matches("tâche abandonnée").count(), 1, "{mails}");
    let bad = v
        .post(
            "/gestion/taches/abc/reessayer",
            &[("csrf", token.as_str()), ("author", "Lucie")],
            None,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Aucune tâche de ce numéro")
    );
    demo.shutdown().await;
}

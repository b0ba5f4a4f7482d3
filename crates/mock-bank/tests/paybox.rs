//! The Paybox side through the public API and real HTTP on loopback.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions panic on purpose

mod common;

use std::time::Duration;

use common::*;
use tpe_mock_bank::paybox::{self, cards};
use tpe_mock_bank::{
    ApiFault, EntryKind, MockBank, MockBankConfig, Outcome, PayboxMerchant, RunningBank, Scenario,
    Secret,
};

const PAGE: &str = "/cgi/MYchoix_pagepaiement.cgi";

fn vectors() -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/paybox-vectors.json")).unwrap();
    v["hmac_request"].as_array().unwrap().clone()
}

fn vector_fields(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = v["fields_in_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fields.push((
        "PBX_HMAC".into(),
        v["expected_hmac_hex_upper"].as_str().unwrap().to_owned(),
    ));
    fields
}

/// Every field list with one byte changed somewhere (each value, and the MAC).
fn one_byte_changes(fields: &[(String, String)]) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for i in 0..fields.len() {
        let mut f = fields.to_vec();
        let v = &mut f[i].1;
        let last = v.pop().unwrap_or('0');
        v.push(if last == '0' { '1' } else { '0' });
        out.push(f);
    }
    out
}

#[test]
fn hmac_check_accepts_every_published_vector_and_refuses_one_byte_changes() {
    for v in vectors() {
        let key = v["key_hex"].as_str().unwrap();
        let fields = vector_fields(&v);
        assert_eq!(
            paybox::verify_request_hmac(&fields, key),
            Ok(()),
            "{}",
            v["name"]
        );
        // Lower-case MAC accepted too (the platform seems to compare case-insensitively).
        let mut lower = fields.clone();
        lower.last_mut().unwrap().1.make_ascii_lowercase();
        assert_eq!(paybox::verify_request_hmac(&lower, key), Ok(()));
        for changed in one_byte_changes(&fields) {
            assert!(
                paybox::verify_request_hmac(&changed, key).is_err(),
                "{}",
                v["name"]
            );
        }
    }
}

#[test]
fn direct_hmac_accepts_the_spec_example() {
    let raw = "VERSION=00104&TYPE=00014&SITE=1999888&RANG=032&IDENTIFIANT=107904482&NUMQUESTION=0000000001&MONTANT=0000001000&DEVISE=978&REFERENCE=ORDER-2025-0001&NUMAPPEL=0000123456&NUMTRANS=0000654321&DATEQ=15012025103000&HASH=SHA512&HMAC=8E6819A11CB4B2B5C96E6D15F307757FE02B9509DE77CD07586AB666804F1A4C5340A6A98BB12B5BAF41DFFF16BBDAC016CE0AA673F72566E3F6BF08E736ACDA";
    let fields = pairs(raw);
    let key = tpe_mock_bank::PAYBOX_TEST_HMAC_KEY;
    assert_eq!(
        paybox::verify_fields_hmac(&fields, "HMAC", "HASH", key),
        Ok(())
    );
    for changed in one_byte_changes(&fields) {
        assert!(paybox::verify_fields_hmac(&changed, "HMAC", "HASH", key).is_err());
    }
}

#[tokio::test]
async fn page_accepts_vector_forms_over_http_and_refuses_changed_ones() {
    let mut config = MockBankConfig::for_tests();
    config.require_3ds_xml = false;
    for v in vectors() {
        let f = vector_fields(&v);
        let get = |n: &str| f.iter().find(|(k, _)| k == n).unwrap().1.clone();
        config.paybox_merchants.push(PayboxMerchant {
            site: get("PBX_SITE"),
            rang: get("PBX_RANG"),
            identifiant: get("PBX_IDENTIFIANT"),
            hmac_key_hex: Secret::new(v["key_hex"].as_str().unwrap()),
            direct_cle: None,
            latin1: false,
        });
    }
    let bank = MockBank::spawn(config).await.unwrap();
    let http = client();
    for v in vectors() {
        let fields = vector_fields(&v);
        bank.clear_journal();
        let resp = http
            .post(format!("{}{PAGE}", bank.base_url()))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("Accès refusé"),
            "{} refused: {body}",
            v["name"]
        );
        let details: Vec<String> = bank.journal().into_iter().map(|e| e.detail).collect();
        assert!(
            !details.iter().any(|d| d == "hmac_refused"),
            "{}: {details:?}",
            v["name"]
        );
        for changed in one_byte_changes(&fields) {
            let body = http
                .post(format!("{}{PAGE}", bank.base_url()))
                .form(&changed)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(body.contains("Accès refusé"), "{}", v["name"]);
        }
    }
    let refused = bank
        .journal()
        .iter()
        .filter(|e| e.detail == "hmac_refused")
        .count();
    assert!(refused > 0);
}

struct Flow {
    bank: RunningBank,
    shop: Shop,
    shop_url: String,
    http: reqwest::Client,
}

async fn flow(config: MockBankConfig) -> Flow {
    let bank = MockBank::spawn(config).await.unwrap();
    let (shop, shop_url) = start_shop().await;
    Flow {
        bank,
        shop,
        shop_url,
        http: client(),
    }
}

impl Flow {
    /// Opens the payment page with the form; returns the page id and html.
    async fn open(&self, path: &str, form: &[(String, String)]) -> (String, String) {
        let resp = self
            .http
            .post(format!("{}{path}", self.bank.base_url()))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let html = resp.text().await.unwrap();
        let id = page_action(&html, "action=\"/paybox/page/");
        (id, html)
    }

    async fn pay(&self, id: &str, card: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/paybox/page/{id}", self.bank.base_url()))
            .form(&[
                ("numero", card),
                ("expiry", "12/39"),
                ("cvv", "123"),
                ("action", "pay"),
            ])
            .send()
            .await
            .unwrap()
    }

    fn pem(&self) -> String {
        self.bank.paybox_public_key_pem().to_owned()
    }
}

#[tokio::test]
async fn accepted_payment_notifies_by_get_and_redirects_with_signed_variables() {
    let f = flow(MockBankConfig::for_tests()).await;
    let form = test_form(&f.shop_url, "ORDER 42", "4321", &[]);
    let (id, html) = f.open(PAGE, &form).await;
    assert!(html.contains("43,21 €"), "{html}");
    assert!(html.contains("ORDER 42"));
    let resp = f.pay(&id, cards::ACCEPTED).await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!(
            "{}/ok?Mt=4321&Ref=ORDER%2042&Auto=XXXXXX&",
            f.shop_url
        )),
        "{location}"
    );
    let received = f.shop.wait_for(1, 2000).await;
    assert_eq!(received.len(), 1);
    let ipn = &received[0];
    assert_eq!(ipn.method, "GET");
    assert_eq!(ipn.path, "/ipn");
    assert!(verify_paybox(&ipn.query, "Sign", &f.pem()), "{}", ipn.query);
    assert_eq!(value(&ipn.query, "Erreur").as_deref(), Some("00000"));
    assert_eq!(value(&ipn.query, "Ref").as_deref(), Some("ORDER 42"));
    // The redirect carries the same signed variables.
    let query = location.split_once('?').unwrap().1;
    assert!(verify_paybox(query, "Sign", &f.pem()));
    // Any changed byte breaks the signature.
    assert!(!verify_paybox(
        &ipn.query.replacen("Mt=4321", "Mt=4322", 1),
        "Sign",
        &f.pem()
    ));
    // The served key is the shipped one.
    let served = f
        .http
        .get(format!("{}/_mock/keys/paybox.pem", f.bank.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served.trim(), paybox::SHIPPED_PUBLIC_KEY_PEM.trim());
    let j = f.bank.journal();
    let n = j
        .iter()
        .find(|e| e.kind == EntryKind::Notification)
        .unwrap();
    assert_eq!(
        (n.status, n.attempt, n.detail.as_str()),
        (Some(200), Some(1), "00000")
    );
    assert_eq!(n.reference.as_deref(), Some("ORDER 42"));
    assert!(
        j.iter()
            .any(|e| e.kind == EntryKind::Redirect && e.detail == "00000")
    );
}

/// As on the platform: a double click on "Payer" shows the first payment's result, and an
/// order already paid (the same form open in another tab, or sent again) gets 00015.
#[tokio::test]
async fn an_order_is_paid_once_whatever_the_tabs_and_clicks() {
    let f = flow(MockBankConfig::for_tests()).await;
    let form = test_form(&f.shop_url, "ONCE-1", "1500", &[]);
    let (tab_a, _) = f.open(PAGE, &form).await;
    let (tab_b, _) = f.open(PAGE, &form).await;
    assert_ne!(tab_a, tab_b);
    let first = f.pay(&tab_a, cards::ACCEPTED).await;
    assert_eq!(first.status(), 303);
    let again = f.pay(&tab_a, cards::ACCEPTED).await;
    assert_eq!(again.status(), 303, "a double click shows the first result");
    assert_eq!(first.headers()["location"], again.headers()["location"]);
    let other_tab = f.pay(&tab_b, cards::ACCEPTED).await.text().await.unwrap();
    assert!(other_tab.contains("00015"), "{other_tab}");
    let reopened = f
        .http
        .post(format!("{}{PAGE}", f.bank.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(reopened.contains("00015"), "{reopened}");
    let paid = f
        .bank
        .paybox_transactions()
        .iter()
        .filter(|t| t["reference"] == "ONCE-1" && t["code"] == "00000")
        .count();
    assert_eq!(paid, 1, "one payment in the ledger");
}

#[tokio::test]
async fn refused_payment_notifies_by_post_and_goes_to_refuse_url() {
    let f = flow(MockBankConfig::for_tests()).await;
    let form = test_form(&f.shop_url, "R-151", "1000", &[("PBX_RUF1", "POST")]);
    // PBX_RUF1 after PBX_REPONDRE_A: order is free as long as the MAC follows it.
    let (id, _) = f.open("/php/", &form).await;
    let resp = f.pay(&id, cards::INSUFFICIENT_FUNDS).await;
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{}/ko?", f.shop_url))
    );
    let received = f.shop.wait_for(1, 2000).await;
    let ipn = &received[0];
    assert_eq!(ipn.method, "POST");
    let body = String::from_utf8(ipn.body.clone()).unwrap();
    assert!(verify_paybox(&body, "Sign", &f.pem()));
    assert_eq!(value(&body, "Erreur").as_deref(), Some("00151"));
    // A refusal carries no authorization number at all (spec §4.5: `Mt=100&Id=45&Erreur=00114`).
    assert_eq!(value(&body, "Auto"), None);
}

#[tokio::test]
async fn invalid_card_allows_retry_on_the_same_page_with_several_transactions() {
    let f = flow(MockBankConfig::for_tests()).await;
    let form = test_form(&f.shop_url, "RETRY-1", "2500", &[]);
    let (id, _) = f.open("/cgi/FramepagepaiementRWD.cgi", &form).await;
    let resp = f.pay(&id, cards::INVALID_NUMBER).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("00004"), "{html}");
    let resp = f.pay(&id, cards::ACCEPTED).await;
    assert_eq!(resp.status(), 303);
    let paid_at = resp.headers()["location"].clone();
    let received = f.shop.wait_for(2, 2000).await;
    let codes: Vec<_> = received
        .iter()
        .map(|r| value(&r.query, "Erreur").unwrap())
        .collect();
    assert_eq!(codes, ["00004", "00000"]);
    let transactions: Vec<_> = received
        .iter()
        .map(|r| value(&r.query, "Trans").unwrap())
        .collect();
    assert_ne!(transactions[0], transactions[1]);
    let ledger = f.bank.paybox_transactions();
    assert_eq!(
        ledger
            .iter()
            .filter(|t| t["reference"] == "RETRY-1")
            .count(),
        2
    );
    // The page is finished: a third submit shows the payment's result again, pays nothing.
    let third = f.pay(&id, cards::ACCEPTED).await;
    assert_eq!(third.headers()["location"], paid_at);
    assert_eq!(f.bank.paybox_transactions().len(), ledger.len());
}

#[tokio::test]
async fn pending_card_notifies_99999_then_the_final_result() {
    let f = flow(MockBankConfig::for_tests()).await;
    let form = test_form(&f.shop_url, "PEND-1", "1000", &[]);
    let (id, _) = f.open(PAGE, &form).await;
    let resp = f.pay(&id, cards::PENDING_THEN_ACCEPTED).await;
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{}/wait?", f.shop_url))
    );
    let received = f.shop.wait_for(2, 3000).await;
    let codes: Vec<_> = received
        .iter()
        .map(|r| value(&r.query, "Erreur").unwrap())
        .collect();
    assert_eq!(codes, ["99999", "00000"]);
    assert!(
        received
            .iter()
            .all(|r| verify_paybox(&r.query, "Sign", &f.pem()))
    );
}

#[tokio::test]
async fn challenge_card_shows_3ds_step() {
    let f = flow(MockBankConfig::for_tests()).await;
    let form = test_form(
        &f.shop_url,
        "3DS-1",
        "1000",
        &[("PBX_RETOUR", "M:M;R:R;E:E;F:F;K:K")],
    );
    // PBX_RETOUR appears twice above; build the form properly instead.
    let form: Vec<(String, String)> = {
        let mut seen = false;
        let mut v: Vec<(String, String)> = form
            .into_iter()
            .filter(|(k, _)| k != "PBX_HMAC")
            .filter(|(k, _)| {
                if k == "PBX_RETOUR" {
                    let keep = seen;
                    seen = true;
                    keep
                } else {
                    true
                }
            })
            .collect();
        v.retain(|_| true);
        sign_fields(v, tpe_mock_bank::PAYBOX_TEST_HMAC_KEY)
    };
    let (id, _) = f.open(PAGE, &form).await;
    let html = f
        .pay(&id, cards::THREEDS_CHALLENGE)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("3-D Secure"));
    let resp = f
        .http
        .post(format!("{}/paybox/page/{id}/3ds", f.bank.base_url()))
        .form(&[("result", "ok")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let received = f.shop.wait_for(1, 2000).await;
    assert_eq!(value(&received[0].query, "E").as_deref(), Some("00000"));
    assert_eq!(value(&received[0].query, "F").as_deref(), Some("Y"));
    assert!(verify_paybox(&received[0].query, "K", &f.pem()));
}

#[tokio::test]
async fn bad_mac_unknown_merchant_and_missing_xml_are_refused_like_the_bank() {
    let f = flow(MockBankConfig::for_tests()).await;
    let mut form = test_form(&f.shop_url, "BAD-1", "1000", &[]);
    // Change the MAC's first hex digit (to one it is not: a `0` would sometimes change nothing).
    let mac = &mut form.last_mut().unwrap().1;
    let other = if mac.starts_with('0') { "1" } else { "0" };
    mac.replace_range(0..1, other);
    let body = f
        .http
        .post(format!("{}{PAGE}", f.bank.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Accès refusé"));
    // rang "032" is the same rang as "32".
    let mut fields = test_form(&f.shop_url, "RANG-032", "1000", &[]);
    fields.pop();
    fields[1].1 = "032".into();
    let fields = sign_fields(fields, tpe_mock_bank::PAYBOX_TEST_HMAC_KEY);
    let (_, html) = f.open(PAGE, &fields).await;
    assert!(html.contains("RANG-032"));
    // Missing 3-D Secure XML.
    let mut fields = test_form(&f.shop_url, "NOXML", "1000", &[]);
    fields.pop();
    fields.retain(|(k, _)| k != "PBX_BILLING");
    let fields = sign_fields(fields, tpe_mock_bank::PAYBOX_TEST_HMAC_KEY);
    let body = f
        .http
        .post(format!("{}{PAGE}", f.bank.base_url()))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("PBX_BILLING"), "{body}");
    let details: Vec<_> = f.bank.journal().into_iter().map(|e| e.detail).collect();
    assert!(details.contains(&"hmac_refused".to_owned()));
    assert!(details.contains(&"field_missing".to_owned()));
}

#[tokio::test]
async fn notification_retries_are_bounded() {
    let f = flow(MockBankConfig::for_tests()).await;
    f.shop.answer_with(&[500, 500, 500, 500]);
    let form = test_form(&f.shop_url, "RETRIES", "1000", &[]);
    let (id, _) = f.open(PAGE, &form).await;
    f.pay(&id, cards::ACCEPTED).await;
    let (journal, ok) = f
        .bank
        .wait_for_journal(Duration::from_secs(5), |j| {
            j.iter().any(|e| e.detail == "gave_up")
        })
        .await;
    assert!(ok);
    let attempts: Vec<_> = journal
        .iter()
        .filter(|e| e.kind == EntryKind::Notification)
        .map(|e| (e.attempt, e.status))
        .collect();
    assert_eq!(
        attempts,
        [
            (Some(1), Some(500)),
            (Some(2), Some(500)),
            (Some(3), Some(500))
        ]
    );
    assert_eq!(f.shop.received().len(), 3);
}

#[tokio::test]
async fn notification_retried_until_the_shop_answers_200() {
    let f = flow(MockBankConfig::for_tests()).await;
    f.shop.answer_with(&[503]);
    let form = test_form(&f.shop_url, "RETRY-OK", "1000", &[]);
    let (id, _) = f.open(PAGE, &form).await;
    f.pay(&id, cards::ACCEPTED).await;
    let received = f.shop.wait_for(2, 3000).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].query, received[1].query);
}

async fn scripted(f: &Flow, reference: &str, scenario: Scenario, card: &str) -> reqwest::Response {
    f.bank.script(reference, scenario);
    let form = test_form(&f.shop_url, reference, "1000", &[]);
    let (id, _) = f.open(PAGE, &form).await;
    f.pay(&id, card).await
}

#[tokio::test]
async fn scripted_outcomes_and_faults_produce_their_journal() {
    let f = flow(MockBankConfig::for_tests()).await;
    // Refuse with a chosen code whatever the card.
    scripted(
        &f,
        "S-REFUSE",
        Scenario::outcome(Outcome::Refuse {
            code: "00141".into(),
        }),
        cards::ACCEPTED,
    )
    .await;
    // Duplicate twice.
    scripted(
        &f,
        "S-DUP",
        Scenario {
            duplicate: 2,
            ..Scenario::default()
        },
        cards::ACCEPTED,
    )
    .await;
    // Drop.
    scripted(
        &f,
        "S-DROP",
        Scenario {
            drop: true,
            ..Scenario::default()
        },
        cards::ACCEPTED,
    )
    .await;
    // Abandon: no notification, no redirect.
    let resp = scripted(
        &f,
        "S-ABANDON",
        Scenario::outcome(Outcome::Abandon),
        cards::ACCEPTED,
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Wrong signature.
    scripted(
        &f,
        "S-WRONG",
        Scenario {
            wrong_signature: true,
            ..Scenario::default()
        },
        cards::ACCEPTED,
    )
    .await;
    // Pending then refused, out of order: the final one arrives first.
    scripted(
        &f,
        "S-ORDER",
        Scenario {
            outcome: Some(Outcome::PendingThenRefuse {
                code: "00105".into(),
            }),
            out_of_order: true,
            ..Scenario::default()
        },
        cards::ACCEPTED,
    )
    .await;
    // Delay.
    let started = tokio::time::Instant::now();
    scripted(
        &f,
        "S-DELAY",
        Scenario {
            delay_ms: 300,
            ..Scenario::default()
        },
        cards::ACCEPTED,
    )
    .await;
    let received = f.shop.wait_for(1 + 3 + 1 + 2 + 1, 4000).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let by_ref = |r: &str| -> Vec<String> {
        received
            .iter()
            .filter(|x| value(&x.query, "Ref").as_deref() == Some(r))
            .map(|x| value(&x.query, "Erreur").unwrap())
            .collect()
    };
    assert_eq!(by_ref("S-REFUSE"), ["00141"]);
    assert_eq!(by_ref("S-DUP"), ["00000", "00000", "00000"]);
    assert!(by_ref("S-DROP").is_empty());
    assert!(by_ref("S-ABANDON").is_empty());
    assert_eq!(by_ref("S-ORDER"), ["00105", "99999"]);
    assert_eq!(by_ref("S-DELAY"), ["00000"]);
    let wrong = received
        .iter()
        .find(|x| value(&x.query, "Ref").as_deref() == Some("S-WRONG"))
        .unwrap();
    assert!(!verify_paybox(&wrong.query, "Sign", &f.pem()));
    let dup = received
        .iter()
        .find(|x| value(&x.query, "Ref").as_deref() == Some("S-DUP"))
        .unwrap();
    assert!(verify_paybox(&dup.query, "Sign", &f.pem()));
    let j = f.bank.journal();
    let has = |r: &str, kind: EntryKind, detail: &str| {
        j.iter()
            .any(|e| e.reference.as_deref() == Some(r) && e.kind == kind && e.detail == detail)
    };
    assert!(has("S-DROP", EntryKind::Withheld, "dropped"));
    assert!(has("S-ABANDON", EntryKind::Decision, "abandoned"));
    assert!(
        !j.iter()
            .any(|e| e.reference.as_deref() == Some("S-ABANDON")
                && e.kind == EntryKind::Notification)
    );
    assert_eq!(j.iter().filter(|e| e.reference.as_deref() == Some("S-DUP") && e.kind == EntryKind::Notification).count(), 3);
}

#[tokio::test]
async fn control_api_scripts_status_page_and_journal() {
    let f = flow(MockBankConfig::for_tests()).await;
    let base = f.bank.base_url().to_owned();
    let load = f
        .http
        .get(format!("{base}/load.html"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(load.contains("<div id=\"server_status\">OK</div>"));
    let r = f
        .http
        .put(format!("{base}/_mock/server_status"))
        .json(&serde_json::json!({"ok": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let load = f
        .http
        .get(format!("{base}/load.html"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!load.contains(">OK<"));
    f.bank.set_server_status(true);
    let r = f
        .http
        .put(format!("{base}/_mock/scripts/HTTP-1"))
        .json(&serde_json::json!({"outcome": {"type": "refuse", "code": "00154"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let form = test_form(&f.shop_url, "HTTP-1", "1000", &[]);
    let (id, _) = f.open(PAGE, &form).await;
    f.pay(&id, cards::ACCEPTED).await;
    let received = f.shop.wait_for(1, 2000).await;
    assert_eq!(
        value(&received[0].query, "Erreur").as_deref(),
        Some("00154")
    );
    let journal: Vec<tpe_mock_bank::JournalEntry> = f
        .http
        .get(format!("{base}/_mock/journal"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(journal.iter().any(|e| e.kind == EntryKind::Notification
        && e.detail == "00154"
        && e.status == Some(200)));
    // No request body, card number or MAC is ever journaled.
    let text = serde_json::to_string(&journal).unwrap();
    assert!(!text.contains(cards::ACCEPTED));
    assert!(!text.contains(form.last().unwrap().1.as_str()));
}

async fn direct(http: &reqwest::Client, base: &str, fields: Vec<(&str, String)>) -> Vec<u8> {
    let fields: Vec<(String, String)> =
        fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let msg = fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mac = paybox::hmac_hex(
        "SHA512",
        tpe_mock_bank::PAYBOX_TEST_HMAC_KEY,
        msg.as_bytes(),
    )
    .unwrap();
    let mut fields = fields;
    fields.push(("HMAC".into(), mac));
    http.post(format!("{base}/PPPS.php"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

fn direct_fields(
    op: &str,
    numq: u32,
    trans: &str,
    appel: &str,
    amount: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("VERSION", "00104".into()),
        ("TYPE", op.into()),
        ("SITE", "1999888".into()),
        ("RANG", "032".into()),
        ("IDENTIFIANT", "107904482".into()),
        ("NUMQUESTION", format!("{numq:010}")),
        ("MONTANT", amount.into()),
        ("DEVISE", "978".into()),
        ("REFERENCE", "DIRECT-1".into()),
        ("NUMAPPEL", appel.into()),
        ("NUMTRANS", trans.into()),
        ("DATEQ", "15012025103000".into()),
        ("HASH", "SHA512".into()),
    ]
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

fn field(answer: &str, name: &str) -> String {
    answer
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn paybox_direct_status_capture_refund_cancel() {
    let f = flow(MockBankConfig::for_tests()).await;
    let base = f.bank.base_url().to_owned();
    let form = test_form(&f.shop_url, "DIRECT-1", "1000", &[("PBX_AUTOSEULE", "O")]);
    let (id, _) = f.open(PAGE, &form).await;
    f.pay(&id, cards::ACCEPTED).await;
    let ipn = f.shop.wait_for(1, 2000).await.remove(0);
    let trans = value(&ipn.query, "Trans").unwrap();
    let appel = value(&ipn.query, "Appel").unwrap();
    // Status: authorised, answered in Latin-1 with STATUS.
    let raw = direct(
        &f.http,
        &base,
        direct_fields("00017", 1, &trans, &appel, "0000001000"),
    )
    .await;
    assert!(
        raw.windows(9).any(|w| w == b"Autoris\xe9&") || raw.ends_with(b"Autoris\xe9"),
        "{}",
        latin1(&raw)
    );
    let answer = latin1(&raw);
    assert_eq!(field(&answer, "CODEREPONSE"), "00000");
    assert_eq!(field(&answer, "NUMQUESTION"), "0000000001");
    assert_eq!(field(&answer, "RANG"), "032");
    // Refund before capture is refused; capture, then refund twice (second is too much).
    let a = latin1(
        &direct(
            &f.http,
            &base,
            direct_fields("00014", 2, &trans, &appel, "0000001000"),
        )
        .await,
    );
    assert_ne!(field(&a, "CODEREPONSE"), "00000");
    let a = latin1(
        &direct(
            &f.http,
            &base,
            direct_fields("00002", 3, &trans, &appel, "0000001000"),
        )
        .await,
    );
    assert_eq!(field(&a, "CODEREPONSE"), "00000");
    let a = latin1(
        &direct(
            &f.http,
            &base,
            direct_fields("00014", 4, &trans, &appel, "0000000600"),
        )
        .await,
    );
    assert_eq!(field(&a, "CODEREPONSE"), "00000");
    let a = latin1(
        &direct(
            &f.http,
            &base,
            direct_fields("00014", 5, &trans, &appel, "0000000600"),
        )
        .await,
    );
    assert_eq!(field(&a, "CODEREPONSE"), "00011");
    let a = latin1(
        &direct(
            &f.http,
            &base,
            direct_fields("00017", 6, &trans, &appel, "0000001000"),
        )
        .await,
    );
    assert_eq!(field(&a, "STATUS"), "Remboursé");
    // Cancel of an unknown transaction.
    let a = latin1(
        &direct(
            &f.http,
            &base,
            direct_fields("00005", 7, "0000000001", &appel, "0000001000"),
        )
        .await,
    );
    assert_eq!(field(&a, "CODEREPONSE"), "00018");
    // A wrong MAC: access refused.
    let mut fields: Vec<(String, String)> = direct_fields("00017", 8, &trans, &appel, "0000001000")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    fields.push(("HMAC".into(), "00".repeat(64)));
    let raw = f
        .http
        .post(format!("{base}/PPPS.php"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(field(&latin1(&raw), "CODEREPONSE"), "00006");
    // The legacy CLE works for the Direct test merchant.
    let mut fields: Vec<(String, String)> = direct_fields("00017", 9, &trans, &appel, "0000001000")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    fields.retain(|(k, _)| k != "HASH");
    fields.push(("CLE".into(), "1999888I".into()));
    let raw = f
        .http
        .post(format!("{base}/PPPS.php"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(field(&latin1(&raw), "CODEREPONSE"), "00000");
}

#[tokio::test]
async fn paybox_direct_faults_500_and_timeout() {
    let f = flow(MockBankConfig::for_tests()).await;
    let base = f.bank.base_url().to_owned();
    f.bank.script(
        "DIRECT-1",
        Scenario {
            api_fault: Some(ApiFault::Error500),
            ..Scenario::default()
        },
    );
    let fields: Vec<(String, String)> = direct_fields("00017", 1, "1", "1", "1000")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let resp = f
        .http
        .post(format!("{base}/PPPS.php"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    f.bank.script(
        "DIRECT-1",
        Scenario {
            api_fault: Some(ApiFault::Timeout),
            ..Scenario::default()
        },
    );
    let err = f
        .http
        .post(format!("{base}/PPPS.php"))
        .form(&fields)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let (_, ok) = f
        .bank
        .wait_for_journal(Duration::from_secs(3), |j| {
            j.iter().any(|e| e.detail == "fault_timeout")
        })
        .await;
    assert!(ok);
    assert!(f.bank.journal().iter().any(|e| e.detail == "fault_500"));
}

#[test]
fn amounts_are_shown_the_french_way() {
    assert_eq!(paybox::format_amount(4321, "978"), "43,21 €");
    assert_eq!(paybox::format_amount(5, "978"), "0,05 €");
    assert_eq!(paybox::format_amount(1500, "392"), "1500 ¥");
}

#[test]
fn secrets_do_not_show_in_debug() {
    let config = MockBankConfig::default();
    let text = format!("{config:?}");
    assert!(!text.contains("0123456789ABCDEF"));
    assert!(!text.contains(tpe_mock_bank::DEFAULT_STRIPE_SECRET_KEY));
    assert!(!text.contains(tpe_mock_bank::DEFAULT_STRIPE_WEBHOOK_SECRET));
    assert!(!text.contains("1999888I"));
}

#[test]
fn toml_config_adds_merchants_and_short_delays() {
    let config = MockBankConfig::from_toml_str(
        r#"
pending_delay_ms = 50
[retry]
max_attempts = 2
initial_backoff_ms = 10
[[paybox_merchant]]
site = "1234567"
rang = "01"
identifiant = "42"
hmac_key = "00112233"
[[stripe_account]]
secret_key = "sk_test_x"
webhook_secret = "whsec_x"
webhook_url = "http://127.0.0.1:9/hook"
"#,
    )
    .unwrap();
    assert_eq!(config.paybox_merchants.len(), 3);
    assert_eq!(config.stripe_accounts.len(), 2);
    assert_eq!(config.retry.max_attempts, 2);
    assert_eq!(config.pending_delay, Duration::from_millis(50));
    assert!(
        MockBankConfig::from_toml_str(
            "[[paybox_merchant]]\nsite='1'\nrang='1'\nidentifiant='1'\nhmac_key='zz'\n"
        )
        .is_err()
    );
    assert!(MockBankConfig::from_toml_str("unknown = 1").is_err());
}

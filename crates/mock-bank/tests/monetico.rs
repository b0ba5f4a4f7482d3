//! The Monetico side through the public API and real HTTP on loopback: the MAC against the
//! spec's vectors, the page, the signed CGI2 return retried until `cdr=0`.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions panic on purpose

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use base64::Engine as _;
use tpe_mock_bank::monetico::{RECEIVED, cards, mac};
use tpe_mock_bank::{
    EntryKind, MONETICO_TEST_KEY, MONETICO_TEST_TPE, MockBank, MockBankConfig, Outcome,
    RunningBank, Scenario, Side,
};

fn vectors() -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/other-vectors.json")).unwrap();
    v["monetico"].as_array().unwrap().clone()
}

fn fields_of(v: &serde_json::Value) -> Vec<(String, String)> {
    v["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn key_of(v: &serde_json::Value) -> [u8; 20] {
    mac::usable_key(v["key_40hex"].as_str().or(v["key_40"].as_str()).unwrap()).unwrap()
}

#[test]
fn mac_of_every_vector_and_one_byte_changes_refused() {
    let mut n = 0;
    for v in vectors().iter().filter(|v| v["fields"].is_object()) {
        let name = v["name"].as_str().unwrap();
        let f = fields_of(v);
        let key = key_of(v);
        assert_eq!(
            mac::mac_string(&f),
            v["string_to_sign"].as_str().unwrap(),
            "{name}"
        );
        let expected = v["expected_mac"].as_str().unwrap();
        assert_eq!(mac::verify(&key, &f, expected), Ok(()), "{name}");
        for i in 0..f.len() {
            let mut changed = f.clone();
            changed[i].1.push('x');
            assert_eq!(
                mac::verify(&key, &changed, expected),
                Err(mac::MacError::Mismatch),
                "{name} field {i}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 5);
    for v in vectors() {
        if let Some(cases) = v["cases"].as_array() {
            for c in cases {
                let k = mac::usable_key(c["key_40"].as_str().unwrap()).unwrap();
                assert_eq!(hex::encode(k), c["usable_key_hex"].as_str().unwrap());
            }
        }
        if v["name"] == "kit_placeholder_key_transform" {
            assert_eq!(
                hex::encode(key_of(&v)),
                v["usable_key_hex"].as_str().unwrap()
            );
        }
    }
}

/// A shop that records the returns and answers each with the next queued body (then
/// `version=2\ncdr=0\n`).
#[derive(Clone, Default)]
struct Shop {
    received: Arc<Mutex<Vec<String>>>,
    answers: Arc<Mutex<VecDeque<&'static str>>>,
}

async fn capture(State(shop): State<Shop>, body: Bytes) -> &'static str {
    shop.received
        .lock()
        .unwrap()
        .push(String::from_utf8(body.to_vec()).unwrap());
    shop.answers.lock().unwrap().pop_front().unwrap_or(RECEIVED)
}

impl Shop {
    async fn start() -> (Self, String) {
        let shop = Self::default();
        let app = axum::Router::new()
            .fallback(capture)
            .with_state(shop.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (shop, format!("http://{addr}/cgi2"))
    }

    async fn wait_for(&self, n: usize) -> Vec<Vec<(String, String)>> {
        for _ in 0..300 {
            let r = self.received.lock().unwrap().clone();
            if r.len() >= n {
                return r
                    .iter()
                    .map(|b| serde_urlencoded::from_str(b).unwrap())
                    .collect();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("fewer than {n} returns")
    }
}

fn get<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A signed form of version 3.0 for the default TPE.
fn form(reference: &str, montant: &str) -> Vec<(String, String)> {
    let contexte = base64::engine::general_purpose::STANDARD.encode(
        r#"{"billing":{"addressLine1":"1 rue de la Paix","city":"Paris","postalCode":"75002","country":"FR"}}"#,
    );
    let mut f: Vec<(String, String)> = [
        ("TPE", MONETICO_TEST_TPE),
        ("contexte_commande", &contexte),
        ("date", "01/01/2025:12:00:00"),
        ("lgue", "FR"),
        ("mail", "buyer@example.com"),
        ("montant", montant),
        ("reference", reference),
        ("societe", "monsite"),
        ("texte-libre", "commande"),
        ("url_retour_ok", "https://shop.example.com/ok"),
        ("url_retour_err", "https://shop.example.com/err"),
        ("version", "3.0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let key = mac::usable_key(MONETICO_TEST_KEY).unwrap();
    let m = mac::mac_hex(&key, &f).to_ascii_uppercase();
    f.push(("MAC".into(), m));
    f
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start() -> (RunningBank, Shop) {
    let bank = MockBank::spawn(MockBankConfig::for_tests()).await.unwrap();
    let (shop, url) = Shop::start().await;
    assert!(bank.set_monetico_cgi2_url(MONETICO_TEST_TPE, &url));
    assert!(!bank.set_monetico_cgi2_url("0000000", &url));
    (bank, shop)
}

/// Opens the page and pays with `card`; the browser's answer.
async fn pay(bank: &RunningBank, path: &str, reference: &str, card: &str) -> reqwest::Response {
    pay_form(
        bank,
        path,
        &form(reference, "43.21EUR"),
        |page| {
            assert!(
                page.contains(&format!("<strong id=\"reference\">{reference}</strong>")),
                "{page}"
            );
            assert!(page.contains("<strong id=\"amount\">43,21 €</strong>"));
        },
        card,
    )
    .await
}

/// Opens the page of `fields`, checks it with `check`, pays with `card`; the browser's answer.
async fn pay_form(
    bank: &RunningBank,
    path: &str,
    fields: &[(String, String)],
    check: impl Fn(&str),
    card: &str,
) -> reqwest::Response {
    let page = http()
        .post(format!("{}{path}", bank.base_url()))
        .form(fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    check(&page);
    assert!(page.contains(cards::ACCEPTED), "test cards listed");
    let action = page
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let pay = [
        ("numero", card),
        ("expiry", "12/99"),
        ("cvv", "123"),
        ("action", "pay"),
    ];
    http()
        .post(format!("{}{action}", bank.base_url()))
        .form(&pay)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn accepted_payment_sends_a_signed_payetest_acknowledged_once() {
    let (bank, shop) = start().await;
    let resp = pay(&bank, "/test/paiement.cgi", "ORDER1", cards::ACCEPTED).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "https://shop.example.com/ok");
    let r = shop.wait_for(1).await;
    let f = &r[0];
    assert_eq!(get(f, "code-retour"), "payetest");
    assert_eq!(get(f, "montant"), "43.21EUR");
    assert_eq!(get(f, "reference"), "ORDER1");
    assert_eq!(get(f, "cbmasquee"), "49701000******07");
    assert!(
        !f.iter().any(|(_, v)| v.contains(cards::ACCEPTED)),
        "no card number"
    );
    let key = mac::usable_key(MONETICO_TEST_KEY).unwrap();
    assert_eq!(mac::verify(&key, f, get(f, "MAC")), Ok(()));
    let attempts: Vec<_> = bank
        .journal()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Notification)
        .collect();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, Some(200));
}

#[tokio::test]
async fn refusal_is_an_annulation_with_its_motif_and_production_says_paiement() {
    let (bank, shop) = start().await;
    let resp = pay(&bank, "/test/paiement.cgi", "ORDER2", cards::FORBIDDEN).await;
    assert_eq!(resp.headers()["location"], "https://shop.example.com/err");
    let r = shop.wait_for(1).await;
    assert_eq!(get(&r[0], "code-retour"), "Annulation");
    assert_eq!(get(&r[0], "motifrefus"), "Interdit");
    pay(&bank, "/paiement.cgi", "ORDER3", cards::ACCEPTED).await;
    let r = shop.wait_for(2).await;
    assert_eq!(get(&r[1], "code-retour"), "paiement");
}

#[tokio::test]
async fn annulation_then_a_later_authorization() {
    let (bank, shop) = start().await;
    pay(
        &bank,
        "/test/paiement.cgi",
        "ORDER4",
        cards::LATE_AUTHORIZATION,
    )
    .await;
    let r = shop.wait_for(2).await;
    assert_eq!(get(&r[0], "code-retour"), "Annulation");
    assert_eq!(get(&r[1], "code-retour"), "payetest");
}

#[tokio::test]
async fn returns_are_retried_until_cdr_0_and_scripts_override_cards() {
    let (bank, shop) = start().await;
    shop.answers
        .lock()
        .unwrap()
        .extend(["version=2\ncdr=1\n", "OK"]);
    bank.script(
        "ORDER5",
        Scenario::outcome(Outcome::Refuse {
            code: "scoring".into(),
        }),
    );
    pay(&bank, "/test/paiement.cgi", "ORDER5", cards::ACCEPTED).await;
    let r = shop.wait_for(3).await;
    assert_eq!(get(&r[2], "motifrefus"), "scoring");
    assert_eq!(r[0], r[2], "the same return each time");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        shop.received.lock().unwrap().len(),
        3,
        "no retry after cdr=0"
    );
    // Without the final line feed counts too (the 2014 kit's answer).
    shop.answers.lock().unwrap().push_back("version=2\ncdr=0");
    pay(&bank, "/test/paiement.cgi", "ORDER6", cards::ACCEPTED).await;
    shop.wait_for(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(shop.received.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn forms_with_a_bad_mac_or_bad_fields_are_refused() {
    let (bank, _shop) = start().await;
    let good = form("ORDER7", "43.21EUR");
    let mut cases = Vec::new();
    for i in 0..good.len() {
        let mut f = good.clone();
        f[i].1.push('0');
        cases.push(f);
    }
    let mut no_mac = good.clone();
    no_mac.pop();
    cases.push(no_mac);
    let mut twice = good.clone();
    twice.push(good[0].clone());
    cases.push(twice);
    cases.push(form("ORDER-8", "43.21EUR"));
    cases.push(form("ORDER9", "43.215EUR"));
    cases.push(form("ORDER10", "0EUR"));
    for f in cases {
        let resp = http()
            .post(format!("{}/test/paiement.cgi", bank.base_url()))
            .form(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let body = resp.text().await.unwrap();
        assert!(body.contains("demande refusée"), "{body}");
        assert!(!body.contains("id=\"reference\""));
    }
}

/// The form of `form` with a schedule's fields added, signed again.
fn with_schedule(reference: &str, schedule: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f = form(reference, "100.00EUR");
    f.retain(|(k, _)| k != "MAC");
    f.extend(
        schedule
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let key = mac::usable_key(MONETICO_TEST_KEY).unwrap();
    let m = mac::mac_hex(&key, &f);
    f.push(("MAC".into(), m));
    f
}

#[tokio::test]
async fn the_page_shows_the_schedule_and_refuses_one_that_does_not_add_up() {
    let (bank, _shop) = start().await;
    let url = format!("{}/test/paiement.cgi", bank.base_url());
    let mut schedule = vec![
        ("nbrech", "3"),
        ("dateech1", "01/01/2025"),
        ("montantech1", "33.34EUR"),
        ("dateech2", "01/02/2025"),
        ("montantech2", "33.33EUR"),
        ("dateech3", "01/03/2025"),
        ("montantech3", "33.33EUR"),
    ];
    let page = http()
        .post(&url)
        .form(&with_schedule("ORDER9", &schedule))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<table id=\"schedule\">"), "{html}");
    assert!(
        html.contains("<td>01/03/2025</td><td class=\"amount\">33,33 €</td>"),
        "{html}"
    );
    for (i, bad) in [
        ("montantech3", "33.32EUR"),
        ("dateech2", "01/01/2025"),
        ("nbrech", "5"),
    ]
    .into_iter()
    .enumerate()
    {
        let at = schedule.iter().position(|(k, _)| *k == bad.0).unwrap();
        let good = schedule[at];
        schedule[at] = bad;
        let resp = http()
            .post(&url)
            .form(&with_schedule(&format!("BAD{i}"), &schedule))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad:?}");
        schedule[at] = good;
    }
    // Nothing was paid: no instalment can be charged.
    assert_eq!(
        bank.charge_instalment(Side::Monetico, "ORDER9", 2, true),
        Err(tpe_mock_bank::InstalmentError::UnknownPayment)
    );
}

/// With a compressed calendar the bank charges the later instalments by itself, each on its
/// day and once, refusing those the reference's script lists.
#[tokio::test]
async fn a_compressed_day_charges_the_later_instalments_once_each() {
    let mut config = MockBankConfig::for_tests();
    config.instalment_day = Some(std::time::Duration::from_millis(40));
    let bank = MockBank::spawn(config).await.unwrap();
    let (shop, url) = Shop::start().await;
    assert!(bank.set_monetico_cgi2_url(MONETICO_TEST_TPE, &url));
    bank.script(
        "ORDER11",
        Scenario {
            refuse_instalments: vec![2],
            ..Scenario::default()
        },
    );
    // The second instalment 5 days after the first, the third 10 days after.
    let fields = with_schedule(
        "ORDER11",
        &[
            ("nbrech", "3"),
            ("dateech1", "01/01/2025"),
            ("montantech1", "33.34EUR"),
            ("dateech2", "06/01/2025"),
            ("montantech2", "33.33EUR"),
            ("dateech3", "11/01/2025"),
            ("montantech3", "33.33EUR"),
        ],
    );
    let started = std::time::Instant::now();
    let resp = pay_form(
        &bank,
        "/test/paiement.cgi",
        &fields,
        |_| {},
        cards::ACCEPTED,
    )
    .await;
    assert_eq!(resp.status(), 303);
    let returns = shop.wait_for(3).await;
    // Five compressed days at least between the page and the third instalment's day.
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    let codes: Vec<_> = returns.iter().map(|f| get(f, "code-retour")).collect();
    assert_eq!(codes, ["payetest", "Annulation_pf2", "paiement_pf3"]);
    assert_eq!(get(&returns[2], "montantech"), "33.33EUR");
    // Nothing more comes, and the bank has nothing left to charge.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        shop.received.lock().unwrap().len(),
        3,
        "each instalment once"
    );
    assert_eq!(
        bank.charge_instalment(Side::Monetico, "ORDER11", 3, true),
        Err(tpe_mock_bank::InstalmentError::AlreadyCharged)
    );
    assert_eq!(
        bank.charge_instalment(Side::StripeLike, "ORDER11", 2, true),
        Err(tpe_mock_bank::InstalmentError::NotOffered)
    );
}

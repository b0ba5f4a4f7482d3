//! The Lyra side against the vectors of `tests/data/other-vectors.json` and the spec: form
//! checks, page, test cards, signed IPN with retries, browser return.
#![allow(clippy::unwrap_used)]

mod common;

use common::{client, page_action, pairs, start_shop, value};
use tpe_mock_bank::lyra::{cards, signing};
use tpe_mock_bank::{LYRA_TEST_KEY, MockBank, MockBankConfig, Outcome, Scenario};

fn owned(f: &[(&str, &str)]) -> Vec<(String, String)> {
    f.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn every_lyra_vads_vector_signs_as_documented() {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("data/other-vectors.json")).unwrap();
    let list = all["lyra_vads"].as_array().unwrap();
    assert!(!list.is_empty());
    for v in list {
        let fields: Vec<(String, String)> = v["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let key = v["key"].as_str().unwrap();
        assert_eq!(
            signing::string_to_sign(&fields, key),
            v["string_to_sign"].as_str().unwrap()
        );
        assert_eq!(
            signing::signature(&fields, key, false),
            v["expected_signature_hmac_sha256_b64"].as_str().unwrap()
        );
        assert_eq!(
            signing::signature(&fields, key, true),
            v["expected_signature_sha1_hex"].as_str().unwrap()
        );
    }
}

struct Flow {
    bank: tpe_mock_bank::RunningBank,
    shop: common::Shop,
    shop_url: String,
    http: reqwest::Client,
}

async fn flow() -> Flow {
    let bank = MockBank::spawn(MockBankConfig::for_tests()).await.unwrap();
    let (shop, shop_url) = start_shop().await;
    Flow {
        bank,
        shop,
        shop_url,
        http: client(),
    }
}

impl Flow {
    fn form(&self, trans_id: &str, amount: &str) -> Vec<(String, String)> {
        let ipn = format!("{}/ipn", self.shop_url);
        let ok = format!("{}/ok", self.shop_url);
        let ko = format!("{}/ko", self.shop_url);
        let cancel = format!("{}/cancel", self.shop_url);
        let mut f = owned(&[
            ("vads_action_mode", "INTERACTIVE"),
            ("vads_amount", amount),
            ("vads_ctx_mode", "TEST"),
            ("vads_currency", "978"),
            ("vads_cust_first_name", "Zoé"),
            ("vads_order_id", "order-1042"),
            ("vads_page_action", "PAYMENT"),
            ("vads_payment_config", "SINGLE"),
            ("vads_return_mode", "GET"),
            ("vads_site_id", "12345678"),
            ("vads_trans_date", "20260101000000"),
            ("vads_trans_id", trans_id),
            ("vads_url_cancel", &cancel),
            ("vads_url_check", &ipn),
            ("vads_url_refused", &ko),
            ("vads_url_success", &ok),
            ("vads_version", "V2"),
        ]);
        let sig = signing::signature(&f, LYRA_TEST_KEY, false);
        f.push(("signature".into(), sig));
        f
    }

    async fn open(&self, form: &[(String, String)]) -> String {
        let resp = self
            .http
            .post(format!("{}/vads-payment/", self.bank.base_url()))
            .form(form)
            .send()
            .await
            .unwrap();
        resp.text().await.unwrap()
    }

    async fn pay(&self, id: &str, card: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/lyra/page/{id}", self.bank.base_url()))
            .form(&[
                ("numero", card),
                ("expiry", "12/30"),
                ("cvv", "123"),
                ("action", "pay"),
            ])
            .send()
            .await
            .unwrap()
    }
}

fn verifies(body: &str) -> bool {
    let mut f = pairs(body);
    let Some(pos) = f.iter().position(|(n, _)| n == "signature") else {
        return false;
    };
    let (_, sig) = f.remove(pos);
    sig == signing::signature(&f, LYRA_TEST_KEY, false)
}

#[tokio::test]
async fn accepted_payment_sends_a_signed_ipn_and_returns_the_browser() {
    let f = flow().await;
    let html = f.open(&f.form("000001", "4321")).await;
    assert!(
        html.contains("<strong id=\"reference\">20260101-000001</strong>"),
        "{html}"
    );
    assert!(html.contains("<strong id=\"amount\">43,21 €</strong>"));
    assert!(html.contains(cards::ACCEPTED), "test cards listed");
    let id = page_action(&html, "action=\"/lyra/page/");
    let resp = f.pay(&id, cards::ACCEPTED).await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/ok?", f.shop_url)),
        "{location}"
    );
    let query = location.split_once('?').unwrap().1;
    assert!(verifies(query), "the browser return is signed");
    assert_eq!(
        value(query, "vads_hash"),
        None,
        "no vads_hash on the browser return"
    );
    let got = f.shop.wait_for(1, 2000).await;
    let ipn = String::from_utf8(got[0].body.clone()).unwrap();
    assert_eq!(got[0].method, "POST");
    assert!(verifies(&ipn));
    assert_eq!(
        value(&ipn, "vads_trans_status").as_deref(),
        Some("AUTHORISED")
    );
    assert_eq!(value(&ipn, "vads_auth_result").as_deref(), Some("00"));
    assert_eq!(value(&ipn, "vads_amount").as_deref(), Some("4321"));
    assert_eq!(value(&ipn, "vads_cust_first_name").as_deref(), Some("Zoé"));
    assert_eq!(
        value(&ipn, "vads_card_number").as_deref(),
        Some("497010XXXXXX0000")
    );
    assert!(value(&ipn, "vads_hash").is_some());
    assert_eq!(value(&ipn, "vads_trans_uuid").unwrap().len(), 32);
    // The trans id is burnt for the day.
    let html = f.open(&f.form("000001", "4321")).await;
    assert!(html.contains("Erreur 03 (vads_trans_id)"), "{html}");
}

#[tokio::test]
async fn refusal_cards_carry_their_auth_result_and_pending_ends_final() {
    let f = flow().await;
    for (n, (card, code)) in [(cards::INSUFFICIENT_FUNDS, "51"), (cards::LOST, "41")]
        .into_iter()
        .enumerate()
    {
        let html = f.open(&f.form(&format!("00010{n}"), "100")).await;
        let id = page_action(&html, "action=\"/lyra/page/");
        let resp = f.pay(&id, card).await;
        assert!(
            resp.headers()["location"]
                .to_str()
                .unwrap()
                .contains("/ko?")
        );
        let got = f.shop.wait_for(n + 1, 2000).await;
        let ipn = String::from_utf8(got[n].body.clone()).unwrap();
        assert_eq!(value(&ipn, "vads_trans_status").as_deref(), Some("REFUSED"));
        assert_eq!(value(&ipn, "vads_auth_result").as_deref(), Some(code));
    }
    let html = f.open(&f.form("000200", "100")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    f.pay(&id, cards::PENDING_THEN_ACCEPTED).await;
    let got = f.shop.wait_for(4, 3000).await;
    let statuses: Vec<String> = got[2..]
        .iter()
        .map(|r| {
            value(
                &String::from_utf8(r.body.clone()).unwrap(),
                "vads_trans_status",
            )
            .unwrap()
        })
        .collect();
    assert_eq!(statuses, ["UNDER_VERIFICATION", "AUTHORISED"]);
}

#[tokio::test]
async fn scripts_challenge_and_cancel() {
    let f = flow().await;
    f.bank.script(
        "20260101-000300",
        Scenario::outcome(Outcome::Refuse { code: "X7".into() }),
    );
    let html = f.open(&f.form("000300", "100")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    f.pay(&id, cards::ACCEPTED).await;
    let got = f.shop.wait_for(1, 2000).await;
    assert_eq!(
        value(
            &String::from_utf8(got[0].body.clone()).unwrap(),
            "vads_auth_result"
        )
        .as_deref(),
        Some("X7")
    );

    let html = f.open(&f.form("000301", "100")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    let page = f
        .pay(&id, cards::THREEDS_CHALLENGE)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("3-D Secure"));
    let resp = f
        .http
        .post(format!("{}/lyra/page/{id}/3ds", f.bank.base_url()))
        .form(&[("result", "ok")])
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/ok?")
    );

    let html = f.open(&f.form("000302", "100")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    let resp = f
        .http
        .post(format!("{}/lyra/page/{id}", f.bank.base_url()))
        .form(&[("action", "cancel")])
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/cancel?")
    );
    let got = f.shop.wait_for(3, 2000).await;
    let ipn = String::from_utf8(got[2].body.clone()).unwrap();
    assert_eq!(
        value(&ipn, "vads_trans_status").as_deref(),
        Some("ABANDONED")
    );
    assert_eq!(value(&ipn, "vads_result").as_deref(), Some("17"));
}

#[tokio::test]
async fn bad_forms_are_refused_with_the_faulty_field() {
    let f = flow().await;
    let mut form = f.form("000400", "100");
    form[1].1 = "101".into();
    assert!(f.open(&form).await.contains("Erreur 00 (signature)"));
    let mut form = f.form("000401", "100");
    form.last_mut().unwrap().1.clear();
    assert!(f.open(&form).await.contains("Erreur 70 (signature)"));
    let form = f.form("900001", "100");
    assert!(f.open(&form).await.contains("Erreur 03 (vads_trans_id)"));
    let form = f.form("000402", "0");
    assert!(f.open(&form).await.contains("Erreur 09 (vads_amount)"));
    let mut form = f.form("000403", "100");
    form.push(("vads_amount".into(), "100".into()));
    assert!(f.open(&form).await.contains("Erreur 00 (signature)"));
}

#[tokio::test]
async fn ipn_retries_follow_the_schedule_and_accept_lyra_statuses() {
    let f = flow().await;
    f.shop.answer_with(&[500, 503, 302]);
    let html = f.open(&f.form("000500", "100")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    f.pay(&id, cards::ACCEPTED).await;
    let got = f.shop.wait_for(3, 3000).await;
    assert_eq!(got.len(), 3);
    // 302 counts as received (spec B.7): no fourth call.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(f.shop.received().len(), 3);
    f.shop.answer_with(&[500; 10]);
    let html = f.open(&f.form("000501", "100")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    f.pay(&id, cards::ACCEPTED).await;
    let got = f.shop.wait_for(8, 3000).await;
    assert_eq!(got.len(), 8, "the call and 4 retries");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(f.shop.received().len(), 8);
}

#[tokio::test]
async fn rest_api_reports_the_order_and_refunds_within_the_amount() {
    let f = flow().await;
    let html = f.open(&f.form("000600", "4321")).await;
    let id = page_action(&html, "action=\"/lyra/page/");
    f.pay(&id, cards::ACCEPTED).await;
    let api = |path: &str| format!("{}/api-payment/V4/{path}", f.bank.base_url());
    let call = |path: String, password: &'static str, body: serde_json::Value| {
        let http = f.http.clone();
        async move {
            let r = http
                .post(path)
                .basic_auth("12345678", Some(password))
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = call(
        api("Order/Get"),
        "wrong",
        serde_json::json!({"orderId": "order-1042"}),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (401, Some("ERROR")));
    let password = tpe_mock_bank::LYRA_REST_PASSWORD;
    let (_, body) = call(
        api("Order/Get"),
        password,
        serde_json::json!({"orderId": "order-1042"}),
    )
    .await;
    let tx = &body["answer"]["transactions"][0];
    assert_eq!(tx["detailedStatus"], "AUTHORISED");
    assert_eq!(tx["amount"], 4321);
    assert_eq!(tx["currency"], "EUR");
    let uuid = tx["uuid"].as_str().unwrap().to_owned();
    let refund = |amount: u64| {
        call(
            api("Transaction/CancelOrRefund"),
            password,
            serde_json::json!({"uuid": uuid, "amount": amount, "currency": "EUR"}),
        )
    };
    let (_, body) = refund(4000).await;
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(body["answer"]["operationType"], "CREDIT");
    let (_, body) = refund(322).await;
    assert_eq!(body["answer"]["errorCode"], "PSP_013");
    let (_, body) = refund(321).await;
    assert_eq!(body["status"], "SUCCESS");
    let (_, body) = call(
        api("Order/Get"),
        password,
        serde_json::json!({"orderId": "order-1042"}),
    )
    .await;
    assert_eq!(body["answer"]["transactions"].as_array().unwrap().len(), 2);
}

#[test]
fn lyra_shops_come_from_the_toml_file() {
    let shop = |extra: &str| {
        format!(
            "keep_default_merchants = false\n[[lyra_shop]]\nsite_id = \"87654321\"\ntest_key = \"t\"\nproduction_key = \"p\"\nrest_password = \"r\"\n{extra}"
        )
    };
    let config = MockBankConfig::from_toml_str(&shop("algorithm = \"sha1\"")).unwrap();
    assert_eq!(config.lyra_shops.len(), 1);
    assert_eq!(config.lyra_shops[0].site_id, "87654321");
    assert!(config.lyra_shops[0].sha1);
    assert!(MockBankConfig::from_toml_str(&shop("algorithm = \"md5\"")).is_err());
    let bad = shop("").replace("87654321", "8765");
    assert!(MockBankConfig::from_toml_str(&bad).is_err());
}

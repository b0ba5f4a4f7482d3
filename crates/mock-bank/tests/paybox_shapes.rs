//! The shape of Paybox answers (spec §4): cancellation, refusal and 3-D Secure failure
//! variables, browser returns signed over the shop's own URL parameters, ISO-8859-1 values.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tpe_mock_bank::paybox::cards;
use tpe_mock_bank::{MockBank, MockBankConfig, RunningBank};

const PAGE: &str = "/cgi/MYchoix_pagepaiement.cgi";
const RETOUR: &str = "Mt:M;Ref:R;Auto:A;Appel:T;Trans:S;Exp:D;Bin:N;Type:P;F:F;Erreur:E;Sign:K";

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
    /// A signed form with [`RETOUR`], `reference` and the return URLs `<shop><path>`.
    fn form(&self, reference: &str, urls: [&str; 5]) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = [
            ("PBX_SITE", "1999888"),
            ("PBX_RANG", "32"),
            ("PBX_IDENTIFIANT", "107904482"),
            ("PBX_TOTAL", "1000"),
            ("PBX_DEVISE", "978"),
            ("PBX_CMD", reference),
            ("PBX_PORTEUR", "jean.dupont@example.com"),
            ("PBX_RETOUR", RETOUR),
            ("PBX_HASH", "SHA512"),
            ("PBX_TIME", "2025-01-15T10:30:00+01:00"),
            ("PBX_SHOPPINGCART", CART),
            ("PBX_BILLING", BILLING),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let names = [
            "PBX_EFFECTUE",
            "PBX_REFUSE",
            "PBX_ANNULE",
            "PBX_ATTENTE",
            "PBX_REPONDRE_A",
        ];
        for (name, path) in names.into_iter().zip(urls) {
            f.push((name.to_owned(), format!("{}{path}", self.shop_url)));
        }
        sign_fields(f, tpe_mock_bank::PAYBOX_TEST_HMAC_KEY)
    }

    async fn open(&self, form: &[(String, String)]) -> String {
        let resp = self
            .http
            .post(format!("{}{PAGE}", self.bank.base_url()))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        page_action(&resp.text().await.unwrap(), "action=\"/paybox/page/")
    }

    async fn submit(&self, id: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/paybox/page/{id}", self.bank.base_url()))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn pay(&self, id: &str, card: &str) -> reqwest::Response {
        self.submit(
            id,
            &[
                ("numero", card),
                ("expiry", "12/39"),
                ("cvv", "123"),
                ("action", "pay"),
            ],
        )
        .await
    }

    /// The query of the browser return, from the redirect.
    fn returned(&self, resp: &reqwest::Response, path: &str) -> String {
        assert_eq!(resp.status(), 303);
        let location = resp.headers()["location"].to_str().unwrap();
        let prefix = format!("{}{path}?", self.shop_url);
        assert!(location.starts_with(&prefix), "{location}");
        location[prefix.len()..].to_owned()
    }

    fn pem(&self) -> String {
        self.bank.paybox_public_key_pem().to_owned()
    }
}

const URLS: [&str; 5] = ["/ok", "/ko", "/cancel", "/wait", "/ipn"];

#[tokio::test]
async fn a_cancellation_has_a_call_number_no_transaction_and_no_authorization_nor_expiry() {
    let f = flow(MockBankConfig::for_tests()).await;
    let id = f.open(&f.form("CANCEL-1", URLS)).await;
    let resp = f.submit(&id, &[("action", "cancel")]).await;
    let q = f.returned(&resp, "/cancel");
    assert!(verify_paybox(&q, "Sign", &f.pem()), "{q}");
    assert_eq!(value(&q, "Erreur").as_deref(), Some("00001"));
    let appel: u64 = value(&q, "Appel").unwrap().parse().unwrap();
    assert!(appel > 0, "{q}");
    assert_eq!(value(&q, "Trans").as_deref(), Some("0"));
    assert_eq!(value(&q, "Auto"), None, "{q}");
    assert_eq!(value(&q, "Exp"), None, "{q}");
    assert_eq!(value(&q, "Bin").as_deref(), Some(""));
    assert_eq!(value(&q, "Type").as_deref(), Some("3DSECURE"));
    // No notification by default.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(f.shop.received().is_empty());

    // Configured: the cancellation is notified too, in the same shape.
    let mut config = MockBankConfig::for_tests();
    config.paybox_shapes.cancel_ipn = true;
    let f = flow(config).await;
    let id = f.open(&f.form("CANCEL-2", URLS)).await;
    f.submit(&id, &[("action", "cancel")]).await;
    let received = f.shop.wait_for(1, 2000).await;
    assert_eq!(received[0].path, "/ipn");
    let ipn = &received[0].query;
    assert!(verify_paybox(ipn, "Sign", &f.pem()), "{ipn}");
    assert_eq!(value(ipn, "Erreur").as_deref(), Some("00001"));
    assert_eq!(value(ipn, "Trans").as_deref(), Some("0"));
    assert_eq!(value(ipn, "Auto"), None);
}

#[tokio::test]
async fn a_refusal_has_no_authorization_unless_configured_empty() {
    for empty in [false, true] {
        let mut config = MockBankConfig::for_tests();
        config.paybox_shapes.refusal_empty_authorization = empty;
        let f = flow(config).await;
        let id = f.open(&f.form("REFUSE-1", URLS)).await;
        let q = f.returned(&f.pay(&id, cards::DO_NOT_HONOUR).await, "/ko");
        assert!(verify_paybox(&q, "Sign", &f.pem()));
        let ipn = f.shop.wait_for(1, 2000).await[0].query.clone();
        for answer in [&q, &ipn] {
            assert_eq!(value(answer, "Erreur").as_deref(), Some("00105"));
            assert_eq!(value(answer, "Auto"), empty.then(String::new), "{answer}");
            assert_ne!(value(answer, "Trans").as_deref(), Some("0"));
            assert_eq!(value(answer, "Exp").as_deref(), Some("3912"));
        }
    }
}

#[tokio::test]
async fn a_three_ds_failure_is_a_refusal_with_f_n_and_a_configurable_transaction() {
    for with_transaction in [true, false] {
        let mut config = MockBankConfig::for_tests();
        config.paybox_shapes.three_ds_failure_transaction = with_transaction;
        let f = flow(config).await;
        let id = f.open(&f.form("3DS-FAIL", URLS)).await;
        let html = f
            .pay(&id, cards::THREEDS_FAILED)
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("3-D Secure"));
        let resp = f
            .http
            .post(format!("{}/paybox/page/{id}/3ds", f.bank.base_url()))
            .form(&[("result", "fail")])
            .send()
            .await
            .unwrap();
        let q = f.returned(&resp, "/ko");
        assert!(verify_paybox(&q, "Sign", &f.pem()));
        let ipn = f.shop.wait_for(1, 2000).await[0].query.clone();
        assert!(verify_paybox(&ipn, "Sign", &f.pem()));
        for answer in [&q, &ipn] {
            assert_eq!(value(answer, "Erreur").as_deref(), Some("00189"));
            assert_eq!(value(answer, "F").as_deref(), Some("N"));
            assert_eq!(value(answer, "Auto"), None);
            assert_eq!(
                value(answer, "Trans").as_deref() == Some("0"),
                !with_transaction,
                "{answer}"
            );
        }
    }
}

#[tokio::test]
async fn browser_returns_sign_the_shops_own_url_parameters_and_notifications_do_not() {
    for signs_params in [true, false] {
        let mut config = MockBankConfig::for_tests();
        config.paybox_shapes.return_signs_merchant_params = signs_params;
        let f = flow(config).await;
        let urls = [
            "/ok?order=12&lang=fr",
            "/ko",
            "/cancel",
            "/wait",
            "/ipn?source=paybox",
        ];
        let id = f.open(&f.form("PARAMS-1", urls)).await;
        let resp = f.pay(&id, cards::ACCEPTED).await;
        let q = f.returned(&resp, "/ok");
        let (own, variables) = q.split_at("order=12&lang=fr&".len());
        assert_eq!(own, "order=12&lang=fr&");
        assert_eq!(verify_paybox(&q, "Sign", &f.pem()), signs_params, "{q}");
        assert_eq!(verify_paybox(variables, "Sign", &f.pem()), !signs_params);
        let ipn = f.shop.wait_for(1, 2000).await[0].query.clone();
        let variables = ipn.strip_prefix("source=paybox&").unwrap();
        assert!(verify_paybox(variables, "Sign", &f.pem()), "{ipn}");
        assert!(!verify_paybox(&ipn, "Sign", &f.pem()));
    }
}

#[tokio::test]
async fn a_latin1_merchant_gets_iso_8859_1_values() {
    for latin1 in [false, true] {
        let mut config = MockBankConfig::for_tests();
        for m in &mut config.paybox_merchants {
            m.latin1 = latin1;
        }
        let f = flow(config).await;
        let id = f.open(&f.form("Café-Noël", URLS)).await;
        let q = f.returned(&f.pay(&id, cards::ACCEPTED).await, "/ok");
        assert!(verify_paybox(&q, "Sign", &f.pem()), "{q}");
        let expected = if latin1 {
            "Ref=Caf%E9-No%EBl&"
        } else {
            "Ref=Caf%C3%A9-No%C3%ABl&"
        };
        assert!(q.contains(expected), "{q}");
        let ipn = f.shop.wait_for(1, 2000).await[0].query.clone();
        assert!(ipn.contains(expected), "{ipn}");
        assert!(verify_paybox(&ipn, "Sign", &f.pem()));
    }
    // From the TOML file.
    let config = MockBankConfig::from_toml_str(
        "[[paybox_merchant]]\nsite='1999888'\nrang='77'\nidentifiant='1'\nhmac_key='00'\nencoding='iso-8859-1'\n[paybox]\ncancel_ipn = true\n",
    )
    .unwrap();
    assert!(config.paybox_merchants.last().unwrap().latin1);
    assert!(config.paybox_shapes.cancel_ipn);
    assert!(
        MockBankConfig::from_toml_str(
            "[[paybox_merchant]]\nsite='1'\nrang='1'\nidentifiant='1'\nhmac_key='00'\nencoding='cp1252'\n"
        )
        .is_err()
    );
}

//! Every bank side knows its spec's public test credentials by default and lists them at
//! `GET /_mock/merchants`, never showing another secret.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use tpe_mock_bank::{
    LYRA_TEST_KEY, MONETICO_KIT_KEY, MockBank, MockBankConfig, PAYBOX_TEST_HMAC_KEY,
    WORLDLINE_SDK_TEST_API_KEY_ID, WORLDLINE_SDK_TEST_API_SECRET,
};

fn find<'a>(side: &'a Value, id: &str, value: &str) -> &'a Value {
    side.as_array()
        .unwrap()
        .iter()
        .find(|m| m["ids"][id] == value)
        .unwrap_or_else(|| panic!("no {id} {value} in {side}"))
}

fn secret<'a>(merchant: &'a Value, name: &str) -> &'a Value {
    merchant["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn the_public_test_credentials_are_known_and_listed() {
    let bank = MockBank::spawn(MockBankConfig::for_tests()).await.unwrap();
    let list: Value = reqwest::get(format!("{}/_mock/merchants", bank.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let paybox = find(&list["paybox"], "identifiant", "107904482");
    assert_eq!(paybox["ids"]["site"], "1999888");
    assert_eq!(paybox["ids"]["rang"], "32");
    assert_eq!(paybox["test_secret"], "hmac_key");
    assert_eq!(secret(paybox, "hmac_key")["value"], PAYBOX_TEST_HMAC_KEY);
    assert_eq!(secret(paybox, "hmac_key")["public_test"], true);

    let lyra = find(&list["lyra"], "site_id", "12345678");
    assert_eq!(lyra["test_secret"], "test_key");
    assert_eq!(secret(lyra, "test_key")["value"], LYRA_TEST_KEY);
    // The PRODUCTION key is not a test value: never shown.
    assert_eq!(secret(lyra, "production_key")["value"], Value::Null);
    assert_eq!(secret(lyra, "production_key")["public_test"], false);

    let kit = find(&list["monetico"], "tpe", "0000001");
    assert_eq!(secret(kit, "key")["value"], MONETICO_KIT_KEY);
    find(&list["monetico"], "tpe", "1234567");

    let sdk = find(&list["worldline"], "merchant_id", "1");
    assert_eq!(sdk["ids"]["api_key_id"], WORLDLINE_SDK_TEST_API_KEY_ID);
    assert_eq!(
        secret(sdk, "api_secret")["value"],
        WORLDLINE_SDK_TEST_API_SECRET
    );

    let stripe = &list["stripe_like"][0];
    assert!(
        secret(stripe, "secret_key")["value"]
            .as_str()
            .unwrap()
            .starts_with("sk_test_")
    );

    let index = reqwest::get(format!("{}/_mock/", bank.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains("href=\"/_mock/merchants\""), "{index}");

    // The same listing from Rust.
    assert_eq!(serde_json::to_value(bank.merchants()).unwrap(), list);
}

#[tokio::test]
async fn a_configured_secret_is_never_listed() {
    let config = MockBankConfig::from_toml_str(
        r#"
keep_default_merchants = false
[[paybox_merchant]]
site = "1234567"
rang = "01"
identifiant = "42"
hmac_key = "00112233445566778899"
[[lyra_shop]]
site_id = "87654321"
test_key = "my-own-test-key"
production_key = "my-own-production-key"
rest_password = "my-own-password"
"#,
    )
    .unwrap();
    let bank = MockBank::spawn(config).await.unwrap();
    let text = reqwest::get(format!("{}/_mock/merchants", bank.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for hidden in ["00112233445566778899", "my-own"] {
        assert!(!text.contains(hidden), "{hidden} listed: {text}");
    }
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["paybox"][0]["ids"]["identifiant"], "42");
    assert_eq!(list["paybox"][0]["secrets"][0]["public_test"], false);
    assert_eq!(list["lyra"][0]["ids"]["site_id"], "87654321");
    assert_eq!(list["monetico"], serde_json::json!([]));
}

#[tokio::test]
async fn the_worldline_sdk_test_merchant_is_authenticated() {
    let bank = MockBank::spawn(MockBankConfig::for_tests()).await.unwrap();
    let path = "/v2/1/services/testconnection";
    let date = "Fri, 06 Jun 2014 13:39:43 GMT";
    let to_sign = format!("GET\n\n{date}\n{path}\n");
    let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WORLDLINE_SDK_TEST_API_SECRET.as_bytes())
        .unwrap();
    let tag = STANDARD.encode(mac.chain_update(to_sign.as_bytes()).finalize().into_bytes());
    let r = reqwest::Client::new()
        .get(format!("{}{path}", bank.base_url()))
        .header("Date", date)
        .header(
            "Authorization",
            format!("GCS v1HMAC:{WORLDLINE_SDK_TEST_API_KEY_ID}:{tag}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

//! Secrets never appear in `Debug`, `Display` or errors.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use secrecy::SecretString;
use tpe_core::{PaymentProvider, ProviderError};
use tpe_paybox::{Paybox, PayboxConfig};

/// A recognizable test-only key.
const SECRET: &str = "7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE7E57C0DE";

fn leaks(text: &str) -> bool {
    text.contains(SECRET) || text.contains(&SECRET.to_lowercase()) || text.contains("7E57C0DE")
}

#[tokio::test]
async fn no_secret_in_debug_display_or_errors() {
    let cfg = PayboxConfig::new("1999888", "32", "107904482", SecretString::from(SECRET))
        .with_public_keys(config().public_keys);
    assert!(!leaks(&format!("{cfg:?}")));
    let p = Paybox::new(cfg.clone()).unwrap();
    assert!(!leaks(&format!("{p:?}")));
    let r = p.prepare(&request(), now()).await.unwrap().redirect;
    assert!(!leaks(&format!("{r:?}")));
    // Errors: forged notification, bad request, bad config with a near-miss key.
    let e = p
        .verify_bytes(b"M=1&R=A&T=1&S=1&E=00000&K=AAAA")
        .unwrap_err();
    assert!(!leaks(&format!("{e} {e:?}")));
    let mut c = customer();
    c.first_name = "***".into();
    let e = p
        .prepare_redirect(&request_for(&c, 100, tpe_core::Currency::EUR), now())
        .unwrap_err();
    assert!(!leaks(&format!("{e} {e:?}")));
    for bad in [
        format!("{SECRET}0"),
        SECRET.replace('E', "G"),
        SECRET[..127].to_owned(),
    ] {
        let mut cfg = cfg.clone();
        cfg.hmac_key = SecretString::from(bad.clone());
        let e = Paybox::new(cfg).unwrap_err();
        assert!(matches!(e, ProviderError::Config { .. }));
        let text = format!("{e} {e:?}");
        assert!(!leaks(&text) && !text.contains(&bad[..20]), "{text}");
    }
    // From the environment and TOML too.
    let vars: std::collections::HashMap<String, String> = [
        ("TPE_PAYBOX_SITE", "1999888"),
        ("TPE_PAYBOX_RANG", "32"),
        ("TPE_PAYBOX_IDENTIFIANT", "1"),
        ("TPE_PAYBOX_HMAC_KEY", SECRET),
        ("TPE_PAYBOX_HASH", "MD5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let e = PayboxConfig::from_map(&vars).unwrap_err();
    assert!(!leaks(&format!("{e} {e:?}")));
    let e =
        PayboxConfig::from_toml_str(&format!("hmac_key = \"{SECRET}\"\nsite = 5\n")).unwrap_err();
    assert!(!leaks(&format!("{e} {e:?}")), "{e}");
}

//! What the two configuration targets share: seeds for the five providers and the judgement.
#![allow(dead_code, unreachable_pub)]

use tpe_core::ProviderError;
use tpe_fuzz::{Seed, Shape, Verdict};
use tpe_lyra::LyraConfig;
use tpe_monetico::{Monetico, MoneticoConfig};
use tpe_paybox::PayboxConfig;
use tpe_stripe_like::StripeLikeConfig;
use tpe_worldline::WorldlineConfig;

pub const TOML: &[(&str, &str)] = &[
    (
        "paybox",
        r#"site = "1999888"
rang = "43"
identifiant = "107975626"
hmac_key = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
hash = "SHA384"
public_keys = ["embedded"]
retour = "Mt:M;Ref:R;Appel:T;Trans:S;Erreur:E;Sign:K"
ipn_method = "POST"
authentication = "challenge"
low_value_exemption_max = 3000
language = "GBR"
source = "RWD"
capture = "manual"
platform = { kind = "e-transactions", environment = "pre-production" }
"#,
    ),
    (
        "lyra",
        r#"brand = "scellius"
site_id = "12345678"
test_key = "1122334455667788"
"#,
    ),
    (
        "monetico",
        r#"tpe = "1234567"
societe = "monsite"
key = "0123456789ABCDEF0123456789ABCDEF01234567"
environment = "production"
"#,
    ),
    (
        "stripe_like",
        r#"mode = "live"
secret_key = "sk_live_SECRETVALUE"
webhook_secrets = ["whsec_SECRETVALUE", "whsec_old"]
connect_timeout_ms = 250
request_timeout_ms = 4000
tolerance_secs = 60
api_version = "2024-06-20"
api_base = "http://127.0.0.1:8080"
"#,
    ),
    (
        "worldline",
        r#"merchant_id = "PSP1"
api_key_id = "k"
api_secret = "SECRETVALUE"
environment = "cawl-preprod"
request_timeout_ms = 4000
authorization_mode = "FINAL_AUTHORIZATION"
[[webhook_keys]]
key_id = "a"
secret = "x"
[[webhook_keys]]
key_id = "b"
secret = "y"
"#,
    ),
];

pub const ENV: &[(&str, &str)] = &[
    (
        "paybox",
        "TPE_PAYBOX_SITE=1999888\nTPE_PAYBOX_RANG=32\nTPE_PAYBOX_IDENTIFIANT=107904482\nTPE_PAYBOX_HMAC_KEY=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\nTPE_PAYBOX_HASH=SHA512\nTPE_PAYBOX_RETOUR=M:M;R:R;T:T;S:S;E:E;K:K\nTPE_PAYBOX_PLATFORM=e-transactions-preprod\nTPE_PAYBOX_CAPTURE=manual",
    ),
    (
        "lyra",
        "TPE_LYRA_BRAND=scellius\nTPE_LYRA_SITE_ID=12345678\nTPE_LYRA_TEST_KEY=1122334455667788\nTPE_LYRA_REST_PASSWORD=testpassword_SECRETVALUE",
    ),
    (
        "monetico",
        "TPE_MONETICO_TPE=1234567\nTPE_MONETICO_SOCIETE=monsite\nTPE_MONETICO_KEY=0123456789ABCDEF0123456789ABCDEF01234567\nTPE_MONETICO_ENVIRONMENT=production",
    ),
    (
        "stripe_like",
        "TPE_STRIPE_LIKE_MODE=test\nTPE_STRIPE_LIKE_SECRET_KEY=sk_test_SECRETVALUE\nTPE_STRIPE_LIKE_WEBHOOK_SECRETS=whsec_a,whsec_SECRETVALUE\nTPE_STRIPE_LIKE_API_BASE=http://127.0.0.1:8080\nTPE_STRIPE_LIKE_TOLERANCE_SECS=300",
    ),
    (
        "worldline",
        "TPE_WORLDLINE_MERCHANT_ID=PSP1\nTPE_WORLDLINE_API_KEY_ID=k\nTPE_WORLDLINE_API_SECRET=SECRETVALUE\nTPE_WORLDLINE_WEBHOOK_KEY_IDS=a,b\nTPE_WORLDLINE_WEBHOOK_SECRETS=x,y\nTPE_WORLDLINE_ENVIRONMENT=cawl-preprod",
    ),
];

/// Judges the five answers to one input: each a configuration or a `Config` error that quotes
/// no secret present in the input.
fn judge(answers: [(&str, Result<String, ProviderError>); 5]) -> Verdict {
    let mut read = Vec::new();
    for (provider, answer) in answers {
        match answer {
            Ok(config) => read.push(format!("{provider}: {config}")),
            Err(ProviderError::Config { .. }) => {}
            Err(e) => return Verdict::Broken(format!("{provider}: unexpected error {e:?}")),
        }
    }
    if read.is_empty() {
        Verdict::Refused
    } else {
        Verdict::Accepted(read.join("; "))
    }
}

fn debug<T: std::fmt::Debug>(r: Result<T, ProviderError>) -> Result<String, ProviderError> {
    r.map(|c| format!("{c:?}"))
}

/// Splits an input into its secret values (pieces of 8 bytes or more of the value of a key,
/// secret or password setting, not a key id nor a public key) and the rest of its text.
fn secrets_and_rest(input: &str) -> (Vec<&str>, String) {
    let mut secrets = Vec::new();
    let mut rest = String::new();
    for line in input.lines() {
        match line.split_once('=') {
            Some((name, value)) if is_secret(name) => {
                secrets.extend(
                    value
                        .split([',', '"', '[', ']', '{', '}', '\'', ' '])
                        .filter(|p| p.len() >= 8),
                );
                rest.push_str(name);
            }
            _ => rest.push_str(line),
        }
        rest.push('\n');
    }
    (secrets, rest)
}

fn is_secret(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    // A key id and a public key are not secrets.
    !name.contains("key_id")
        && !name.contains("public")
        && ["key", "secret", "password"]
            .iter()
            .any(|s| name.contains(s))
}

/// An error message quoting a secret of the input breaks the contract, unless the same text is
/// elsewhere in the input too (a mutation may copy a key into another setting, which an error
/// may then quote).
fn no_secret(provider: &str, r: &Result<String, ProviderError>, input: &str) -> Option<String> {
    let Err(e) = r else { return None };
    let message = e.to_string();
    let (secrets, rest) = secrets_and_rest(input);
    secrets
        .into_iter()
        .find(|s| message.contains(s) && !rest.contains(s))
        .map(|s| format!("{provider}: the error quotes the secret {s}: {message}"))
}

fn check_all(input: &[u8], answers: [(&'static str, Result<String, ProviderError>); 5]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    for (provider, answer) in &answers {
        if let Some(broken) = no_secret(provider, answer, &text) {
            return Verdict::Broken(broken);
        }
    }
    judge(answers)
}

pub fn toml(input: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(input) else {
        return Verdict::Refused; // a file that is not UTF-8 is refused before any parser
    };
    let monetico = MoneticoConfig::from_toml_str(text).and_then(Monetico::new);
    check_all(
        input,
        [
            ("paybox", debug(PayboxConfig::from_toml_str(text))),
            ("lyra", debug(LyraConfig::from_toml_str(text))),
            ("monetico", debug(monetico)),
            ("stripe_like", debug(StripeLikeConfig::from_toml_str(text))),
            ("worldline", debug(WorldlineConfig::from_toml_str(text))),
        ],
    )
}

pub fn env(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    let vars: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let monetico = MoneticoConfig::from_lookup(get).and_then(Monetico::new);
    check_all(
        input,
        [
            ("paybox", debug(PayboxConfig::from_lookup(get))),
            ("lyra", debug(LyraConfig::from_lookup(get))),
            ("monetico", debug(monetico)),
            ("stripe_like", debug(StripeLikeConfig::from_lookup(get))),
            ("worldline", debug(WorldlineConfig::from_lookup(get))),
        ],
    )
}

pub fn seeds(list: &[(&str, &str)]) -> Vec<Seed> {
    list.iter()
        .map(|(name, text)| Seed::new(*name, *text, Shape::Lines))
        .collect()
}

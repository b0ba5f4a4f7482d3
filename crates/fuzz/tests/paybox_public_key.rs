//! The bank's public keys in the Paybox configuration (PEM text, or a PEM or DER file), read by
//! `Paybox::new`: a provider or a typed `Config` error. An input is `PEM` or `DER`, a newline,
//! and the key (raw bytes are either); a `DER` key is written to a file first.

use std::io::Write as _;

use base64::Engine as _;
use secrecy::SecretString;
use tpe_core::ProviderError;
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_paybox::config::PublicKeySource;
use tpe_paybox::{Paybox, PayboxConfig};

const HMAC_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

const PEMS: &[(&str, &str)] = &[
    (
        "mock bank key",
        tpe_mock_bank::paybox::SHIPPED_PUBLIC_KEY_PEM,
    ),
    (
        "test key",
        include_str!("../../paybox/tests/data/test-public.pem"),
    ),
    (
        "published key",
        include_str!("../../paybox/src/paybox-pubkey.pem"),
    ),
];

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body")
}

fn check(input: &[u8]) -> Verdict {
    let (der, key) = match input.iter().position(|&b| b == b'\n') {
        Some(i) if &input[..i] == b"DER" => (true, &input[i + 1..]),
        Some(i) if &input[..i] == b"PEM" => (false, &input[i + 1..]),
        // Raw bytes: a DER file one time in two.
        _ => (input.first().is_some_and(|b| b % 2 == 1), input),
    };
    // Kept until the provider is built: the file is read then.
    let mut file = None;
    let source = if der {
        let Ok(mut f) = tempfile::NamedTempFile::new() else {
            return Verdict::Broken("no temporary file".to_owned());
        };
        if f.write_all(key).is_err() {
            return Verdict::Broken("temporary file not written".to_owned());
        }
        let path = f.path().to_owned();
        file = Some(f);
        PublicKeySource::File(path)
    } else {
        match std::str::from_utf8(key) {
            Ok(text) => PublicKeySource::Pem(text.to_owned()),
            Err(_) => return Verdict::Refused, // a configuration is text
        }
    };
    let cfg = PayboxConfig::new("1999888", "32", "107904482", SecretString::from(HMAC_KEY))
        .with_public_keys(vec![source]);
    let verdict = match Paybox::new(cfg) {
        Ok(_) => Verdict::Accepted("a provider".to_owned()),
        Err(ProviderError::Config { .. }) => Verdict::Refused,
        Err(e) => Verdict::Broken(format!("unexpected error {e:?}")),
    };
    drop(file);
    verdict
}

fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    for (name, pem) in PEMS {
        out.push(Seed::new(*name, format!("PEM\n{pem}"), Shape::Lines));
        let mut bytes = b"DER\n".to_vec();
        bytes.extend(der(pem));
        out.push(Seed::new(format!("{name} (DER)"), bytes, Shape::Lines));
    }
    out
}

// A provider that is built also builds its HTTP client (Paybox Direct): a fixed cost of a few
// hundred KiB.
tpe_fuzz::fuzz_target!(
    Target::new("paybox_public_key", Oracle::Unsigned, seeds(), check)
        .allocation_bound(32, 1024 * 1024)
);

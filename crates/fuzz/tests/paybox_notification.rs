//! Paybox notifications (`Paybox::verify_bytes`: the RSA signature over the raw bytes, then the
//! `PBX_RETOUR` variables), seeded with notifications signed by the mock bank's shipped test
//! key, and with the published RSA vectors verified with the platform's published key.

use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use secrecy::SecretString;
use sha1::Digest;
use tpe_core::ProviderError;
use tpe_fuzz::seeds::{self, PAYBOX_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_mock_bank::paybox::{SHIPPED_PRIVATE_KEY_PEM, SHIPPED_PUBLIC_KEY_PEM};
use tpe_paybox::config::PublicKeySource;
use tpe_paybox::{Paybox, PayboxConfig};

const HMAC_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

/// Signed parts as the platform sends them (the default `PBX_RETOUR`).
const NOTIFICATIONS: &[(&str, &str)] = &[
    (
        "accepted",
        "M=2550&R=ORDER-2025-0001&T=30378572&S=13989865&A=XXXXXX&E=00000&C=CB&N=497010&J=90&D=2712&Y=FRA&F=Y&G=O&v=2.2.0",
    ),
    (
        "refused",
        "M=2550&R=ORDER-2025-0001&T=30378573&S=13989866&E=00151&C=VISA&N=411111&J=11&D=2801&Y=FRA&F=N&G=N&v=2.2.0",
    ),
    (
        "cancelled",
        "M=999&R=ORDER-2025-0002&T=1&S=2&E=00001&v=2.2.0",
    ),
];

struct Bank {
    key: rsa::PrivateKey,
}

impl Bank {
    /// `data&K=<percent-encoded base64 RSA-SHA1 signature>`.
    fn signed(&self, data: &[u8]) -> Vec<u8> {
        let digest = sha1::Sha1::digest(data);
        let signature = self
            .key
            .sign(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &digest)
            .expect("signing with the test key");
        let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
        let mut out = data.to_vec();
        out.extend_from_slice(b"&K=");
        out.extend(
            percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
                .into_bytes(),
        );
        out
    }

    /// Signs again: the bytes before the last `&K=` (or all of them) with a fresh signature.
    fn resigned(&self, input: &[u8]) -> Vec<u8> {
        let data = input
            .windows(3)
            .rposition(|w| w == b"&K=")
            .map_or(input, |i| &input[..i]);
        self.signed(data)
    }
}

fn target() -> Target {
    let bank = Bank {
        key: rsa::PrivateKey::from_pkcs8_pem(SHIPPED_PRIVATE_KEY_PEM).expect("shipped key"),
    };
    let cfg = PayboxConfig::new("1999888", "32", "107904482", SecretString::from(HMAC_KEY))
        .with_public_keys(vec![PublicKeySource::Pem(
            SHIPPED_PUBLIC_KEY_PEM.to_owned(),
        )]);
    let paybox = Paybox::new(cfg).expect("test configuration");
    // The platform's own key and the layout of the published samples, so the samples signed by
    // the bank itself verify too.
    let real = Paybox::new(
        PayboxConfig::new("1999888", "32", "107904482", SecretString::from(HMAC_KEY))
            .with_public_keys(vec![PublicKeySource::Embedded])
            .with_retour(
                "Mt:M;Ref:R;Appel:T;Trans:S;Auto:A;Erreur:E;Sign:K"
                    .parse()
                    .expect("retour"),
            ),
    )
    .expect("configuration with the published key");
    let mut seeds: Vec<Seed> = NOTIFICATIONS
        .iter()
        .map(|(name, data)| Seed::new(*name, bank.signed(data.as_bytes()), Shape::Form))
        .collect();
    // Signed by the platform's key: those of the layout configured in `real` verify.
    for v in seeds::section(PAYBOX_VECTORS, "rsa_response") {
        let sig = seeds::text(&v, "signature_base64");
        let sig = percent_encoding::utf8_percent_encode(sig, percent_encoding::NON_ALPHANUMERIC);
        let body = format!("{}&Sign={sig}", seeds::text(&v, "signed_data"));
        seeds.push(Seed::new(seeds::text(&v, "name"), body, Shape::Form));
    }
    let check = move |input: &[u8]| {
        let typed = |e: &ProviderError| {
            matches!(
                e,
                ProviderError::BadSignature { .. } | ProviderError::Malformed { .. }
            )
        };
        match Verdict::of(paybox.verify_bytes(input), typed) {
            Verdict::Refused => Verdict::of(real.verify_bytes(input), typed),
            other => other,
        }
    };
    let target = Target::new("paybox_notification", Oracle::Signed, seeds, check)
        .resigning(move |input| bank.resigned(input));
    // The three signed here, and published ones of the layout `real` expects.
    assert!(
        target.accepted_seeds() > NOTIFICATIONS.len(),
        "every signed seed and a published one verify"
    );
    target
}

tpe_fuzz::fuzz_target!(target());

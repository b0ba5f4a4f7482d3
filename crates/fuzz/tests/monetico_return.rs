//! Monetico CGI2 returns (`Monetico::verify_bytes`: the MAC over the sorted fields, then the
//! fields), seeded with the published returns signed again by the mock bank's signer.

use secrecy::SecretString;
use tpe_core::ProviderError;
use tpe_fuzz::seeds::{self, OTHER_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_mock_bank::monetico::mac::{mac_hex, usable_key};
use tpe_monetico::{Monetico, MoneticoConfig};

const TPE: &str = "1234567";
const SOCIETE: &str = "monsite";
const KEY: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

fn target() -> Target {
    let monetico = Monetico::new(MoneticoConfig::new(TPE, SOCIETE, SecretString::from(KEY)))
        .expect("test configuration");
    let key = usable_key(KEY).expect("test key");
    let sign = move |fields: &[(String, String)]| {
        let mut fields: Vec<(String, String)> =
            fields.iter().filter(|(k, _)| k != "MAC").cloned().collect();
        fields.push(("MAC".to_owned(), mac_hex(&key, &fields).to_uppercase()));
        seeds::form_body(&fields)
    };
    let mut seeds = Vec::new();
    for v in seeds::section(OTHER_VECTORS, "monetico") {
        let mut fields = seeds::pairs(&v, "fields");
        if !fields.iter().any(|(k, _)| k == "code-retour") {
            continue; // a request, not a return
        }
        // Every return as this merchant's.
        for (k, value) in &mut fields {
            if k == "TPE" {
                *value = TPE.to_owned();
            }
        }
        seeds.push(Seed::new(
            seeds::text(&v, "name"),
            sign(&fields),
            Shape::Form,
        ));
    }
    let check = move |input: &[u8]| {
        Verdict::of(monetico.verify_bytes(input), |e| {
            matches!(
                e,
                ProviderError::BadSignature { .. } | ProviderError::Malformed { .. }
            )
        })
    };
    let target =
        Target::new("monetico_return", Oracle::Signed, seeds, check).resigning(move |input| {
            let fields: Vec<(String, String)> = form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            sign(&fields)
        });
    assert!(target.accepted_seeds() >= 1, "a signed return verifies");
    target
}

tpe_fuzz::fuzz_target!(target());

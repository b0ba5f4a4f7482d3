//! Lyra `vads_*` IPNs (`Lyra::verify_bytes`: the signature over the sorted `vads_*` values,
//! then the fields), seeded with the published vectors signed again by the mock bank's signer.

use secrecy::SecretString;
use tpe_core::ProviderError;
use tpe_fuzz::seeds::{self, OTHER_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_lyra::{Brand, Lyra, LyraConfig};
use tpe_mock_bank::lyra::signing::signed_body;

const KEY: &str = "1122334455667788";
const SITE_ID: &str = "12345678";

/// The fields of a form, decoded as a lenient receiver would, without the signature.
fn unsigned_fields(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input)
        .filter(|(k, _)| k != "signature")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn target() -> Target {
    let lyra = Lyra::new(LyraConfig::test(
        Brand::Systempay,
        SITE_ID,
        SecretString::from(KEY),
    ))
    .expect("test configuration");
    let sign = |fields: &[(String, String)]| signed_body(fields, KEY, false).into_bytes();
    let mut seeds = Vec::new();
    for v in seeds::section(OTHER_VECTORS, "lyra_vads") {
        let fields = seeds::pairs(&v, "fields");
        seeds.push(Seed::new(
            seeds::text(&v, "name"),
            sign(&fields),
            Shape::Form,
        ));
        // The IPN as other outcomes.
        if fields.iter().any(|(k, _)| k == "vads_trans_status") {
            for (status, result) in [
                ("REFUSED", "05"),
                ("CANCELLED", "17"),
                ("CAPTURED", "00"),
                ("AUTHORISED_TO_VALIDATE", "00"),
                ("EXPIRED", "00"),
            ] {
                let other: Vec<(String, String)> = fields
                    .iter()
                    .map(|(k, v)| match k.as_str() {
                        "vads_trans_status" => (k.clone(), status.to_owned()),
                        "vads_result" => (k.clone(), result.to_owned()),
                        _ => (k.clone(), v.clone()),
                    })
                    .collect();
                seeds.push(Seed::new(status, sign(&other), Shape::Form));
            }
        }
    }
    let check = move |input: &[u8]| {
        Verdict::of(lyra.verify_bytes(input), |e| {
            matches!(
                e,
                ProviderError::BadSignature { .. } | ProviderError::Malformed { .. }
            )
        })
    };
    let target = Target::new("lyra_vads", Oracle::Signed, seeds, check)
        .resigning(move |input| sign(&unsigned_fields(input)));
    assert!(target.accepted_seeds() >= 5, "the IPN seeds verify");
    target
}

tpe_fuzz::fuzz_target!(target());

//! What the mock bank reads from merchants: the hosted-page forms of Paybox, Lyra and Monetico
//! (signed by the providers' own `prepare`), the Stripe-like session form and a Paybox Direct
//! request, each posted to the in-process router. An input is the path, a newline, and the
//! body. The bank answers every input with a payment page, an error page or a 4xx, never a 5xx
//! or a panic; mutated forms are also signed again as the merchant would sign them.

use axum::body::Body;
use secrecy::SecretString;
use tower::ServiceExt as _;
use tpe_core::{Amount, Currency, PaymentProvider, ReturnUrls};
use tpe_fuzz::seeds::{self, OTHER_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_lyra::{Brand, Lyra, LyraConfig};
use tpe_mock_bank::{
    BankState, DEFAULT_STRIPE_SECRET_KEY, LYRA_TEST_KEY, LYRA_TEST_SITE_ID, MONETICO_TEST_KEY,
    MONETICO_TEST_SOCIETE, MONETICO_TEST_TPE, MockBankConfig, PAYBOX_TEST_HMAC_KEY,
};
use tpe_monetico::{Monetico, MoneticoConfig};
use tpe_paybox::{Paybox, PayboxConfig};

/// Paybox Direct's path.
const DIRECT_PATH: &str = "/PPPS.php";

fn seed(name: &str, path: &str, fields: &[(String, String)]) -> Seed {
    let mut bytes = format!("{path}\n").into_bytes();
    bytes.extend(seeds::form_body(fields));
    Seed::new(name, bytes, Shape::Form)
}

fn seeds() -> Vec<Seed> {
    let now = tpe_conformance::fixtures::now();
    let url = |p: &str| format!("https://shop.example/{p}").parse().expect("url");
    let urls = ReturnUrls {
        accepted: url("ok"),
        refused: url("ko"),
        cancelled: url("cancel"),
        pending: url("wait"),
        notify: url("notify"),
    };
    let amount = Amount::new(2550, Currency::EUR).expect("amount");
    let request_for = |provider: &dyn PaymentProvider| {
        tpe_conformance::fixtures::request_for(provider, amount, urls.clone()).expect("request")
    };
    let paybox = Paybox::new(PayboxConfig::new(
        "1999888",
        "32",
        "107904482",
        SecretString::from(PAYBOX_TEST_HMAC_KEY),
    ))
    .expect("paybox");
    let lyra = Lyra::new(LyraConfig::test(
        Brand::Systempay,
        LYRA_TEST_SITE_ID,
        SecretString::from(LYRA_TEST_KEY),
    ))
    .expect("lyra");
    let monetico = Monetico::new(MoneticoConfig::new(
        MONETICO_TEST_TPE,
        MONETICO_TEST_SOCIETE,
        SecretString::from(MONETICO_TEST_KEY),
    ))
    .expect("monetico");
    let mut out = Vec::new();
    let redirect = paybox
        .prepare_redirect(&request_for(&paybox), now)
        .expect("paybox form");
    out.push(seed(
        "paybox page",
        redirect.action.path(),
        &redirect.fields,
    ));
    let prepared = lyra
        .prepare_now(&request_for(&lyra), now)
        .expect("lyra form");
    out.push(seed(
        "lyra page",
        prepared.redirect.action.path(),
        &prepared.redirect.fields,
    ));
    let prepared = monetico
        .prepare_now(&request_for(&monetico), now)
        .expect("monetico form");
    out.push(seed(
        "monetico page",
        prepared.redirect.action.path(),
        &prepared.redirect.fields,
    ));
    let stripe = seeds::section(OTHER_VECTORS, "stripe")
        .into_iter()
        .find(|v| v["name"] == "checkout_session_create_form_pairs")
        .expect("stripe form vector");
    // A Paybox Direct refund as the provider sends it, signed as it signs it.
    let direct: Vec<(String, String)> = [
        ("VERSION", "00104"),
        ("TYPE", "00014"),
        ("SITE", "1999888"),
        ("RANG", "032"),
        ("IDENTIFIANT", "107904482"),
        ("NUMQUESTION", "0000000042"),
        ("MONTANT", "0000001000"),
        ("DEVISE", "978"),
        ("REFERENCE", "ORDER-2025-0001"),
        ("NUMAPPEL", "0030378572"),
        ("NUMTRANS", "0013989865"),
        ("DATEQ", "15012025103000"),
        ("HASH", "SHA512"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let unsigned = seed("paybox direct", DIRECT_PATH, &direct);
    out.push(Seed::new(
        "paybox direct",
        resigned(&unsigned.bytes),
        Shape::Form,
    ));
    out.push(seed(
        "stripe-like session",
        "/v1/checkout/sessions",
        &seeds::pairs(&stripe, "pairs"),
    ));
    out
}

/// Signs a merchant form again as the merchant would, for the bank its path names, so mutated
/// values (the billing XML, amounts, names) reach the bank's reading after its MAC check.
fn resigned(input: &[u8]) -> Vec<u8> {
    let Some(i) = input.iter().position(|&b| b == b'\n') else {
        return input.to_vec();
    };
    let (path, body) = (&input[..i], &input[i + 1..]);
    let fields: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path_text = String::from_utf8_lossy(path);
    let paybox_page = tpe_mock_bank::paybox::PAGE_PATHS.contains(&path_text.as_ref());
    let body = if paybox_page || path_text == DIRECT_PATH {
        // The page form signs with `PBX_HMAC` and names its hash `PBX_HASH`; Paybox Direct
        // drops the prefix.
        let (mac_name, hash_name) = if paybox_page {
            ("PBX_HMAC", "PBX_HASH")
        } else {
            ("HMAC", "HASH")
        };
        let mut fields: Vec<(String, String)> =
            fields.into_iter().filter(|(k, _)| k != mac_name).collect();
        let hash = fields
            .iter()
            .find(|(k, _)| k == hash_name)
            .map_or("SHA512", |(_, v)| v.as_str());
        let message = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mac = tpe_mock_bank::paybox::hmac_hex(hash, PAYBOX_TEST_HMAC_KEY, message.as_bytes())
            .unwrap_or_default();
        fields.push((mac_name.to_owned(), mac));
        seeds::form_body(&fields)
    } else if path_text.starts_with(tpe_mock_bank::lyra::PAGE_PATH) {
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .filter(|(k, _)| k != "signature")
            .collect();
        tpe_mock_bank::lyra::signing::signed_body(&fields, LYRA_TEST_KEY, false).into_bytes()
    } else if path_text.ends_with("paiement.cgi") {
        let mut fields: Vec<(String, String)> =
            fields.into_iter().filter(|(k, _)| k != "MAC").collect();
        let key = tpe_mock_bank::monetico::mac::usable_key(MONETICO_TEST_KEY).unwrap_or_default();
        let mac = tpe_mock_bank::monetico::mac::mac_hex(&key, &fields);
        fields.push(("MAC".to_owned(), mac));
        seeds::form_body(&fields)
    } else {
        return input.to_vec();
    };
    let mut out = path.to_vec();
    out.push(b'\n');
    out.extend(body);
    out
}

fn target() -> Target {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let state = BankState::new(MockBankConfig::for_tests()).expect("mock bank");
    let router = tpe_mock_bank::router(state);
    let bearer = format!("Bearer {DEFAULT_STRIPE_SECRET_KEY}");
    let seeds = seeds();
    let paths: Vec<String> = seeds
        .iter()
        .filter_map(|s| {
            let path = s.bytes.split(|&b| b == b'\n').next()?;
            Some(String::from_utf8_lossy(path).into_owned())
        })
        .collect();
    let check = move |input: &[u8]| {
        let (path, body) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (&input[..i], &input[i + 1..]),
            None => (input, &[][..]),
        };
        let post = |path: &[u8], body: &[u8]| {
            http::Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", &bearer)
                .body(Body::from(body.to_vec()))
        };
        // Not a path an HTTP server would hand over (raw bytes, mostly): the whole input is
        // the body of a form posted to one of the seeds' paths.
        let Ok(request) = post(path, body).or_else(|_| {
            let path = &paths[usize::from(input.first().copied().unwrap_or(0)) % paths.len()];
            post(path.as_bytes(), input)
        }) else {
            return Verdict::Refused;
        };
        let (status, body) = runtime.block_on(async {
            let Ok(response) = router.clone().oneshot(request).await;
            let status = response.status();
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, body)
        });
        // Like the real platforms, Paybox and Lyra answer a bad form with an error page in a
        // 200.
        let error_page = body.windows(13).any(|w| w == b"class=\"error\"");
        // Paybox Direct answers every request with a 200 and its code.
        let direct_error = body.windows(12).any(|w| w == b"CODEREPONSE=")
            && !body.windows(17).any(|w| w == b"CODEREPONSE=00000");
        if status.is_server_error() {
            Verdict::Broken(format!("answered {status}"))
        } else if status.is_client_error() || error_page || direct_error {
            Verdict::Refused
        } else {
            Verdict::Accepted(status.to_string())
        }
    };
    // A request goes through axum and renders an HTML page: a fixed cost well above 64 KiB.
    Target::new("mock_bank_forms", Oracle::Unsigned, seeds, check)
        .allocation_bound(32, 1024 * 1024)
        .resigning(resigned)
}

tpe_fuzz::fuzz_target!(target());

//! Helpers shared by the integration tests: a tiny shop receiver, form building, RSA verification.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine as _;

/// One request received by the shop.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
    pub stripe_signature: Option<String>,
    pub headers: HeaderMap,
}

#[derive(Clone, Default)]
pub struct Shop {
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once exhausted.
    pub answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Shop {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn answer_with(&self, statuses: &[u16]) {
        self.answers
            .lock()
            .unwrap()
            .extend(statuses.iter().copied());
    }

    pub async fn wait_for(&self, n: usize, ms: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
        loop {
            let r = self.received();
            if r.len() >= n || tokio::time::Instant::now() >= deadline {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

async fn capture(
    State(shop): State<Shop>,
    method: Method,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    shop.received.lock().unwrap().push(Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: q.unwrap_or_default(),
        body: body.to_vec(),
        stripe_signature: headers
            .get("Stripe-Signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        headers: headers.clone(),
    });
    let status = shop.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// Starts a shop on 127.0.0.1:0 that records everything and answers 200 (or the queued statuses).
pub async fn start_shop() -> (Shop, String) {
    let shop = Shop::default();
    let app = axum::Router::new()
        .fallback(capture)
        .with_state(shop.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (shop, format!("http://{addr}"))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Appends PBX_HMAC (SHA512 unless PBX_HASH says otherwise) to the ordered fields.
pub fn sign_fields(mut fields: Vec<(String, String)>, key_hex: &str) -> Vec<(String, String)> {
    let hash = fields
        .iter()
        .find(|(k, _)| k == "PBX_HASH")
        .map_or("SHA512".to_owned(), |(_, v)| v.clone());
    let msg = fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mac = tpe_mock_bank::paybox::hmac_hex(&hash, key_hex, msg.as_bytes()).unwrap();
    fields.push(("PBX_HMAC".into(), mac));
    fields
}

pub const CART: &str = r#"<?xml version="1.0" encoding="utf-8"?><shoppingcart><total><totalQuantity>1</totalQuantity></total></shoppingcart>"#;
pub const BILLING: &str = r#"<?xml version="1.0" encoding="utf-8"?><Billing><Address><FirstName>Jean</FirstName><LastName>Dupont</LastName><Address1>1 rue de Paris</Address1><ZipCode>75001</ZipCode><City>Paris</City><CountryCode>250</CountryCode></Address></Billing>"#;

/// A complete signed form for the public test merchant.
pub fn test_form(
    shop: &str,
    reference: &str,
    amount: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        ("PBX_SITE", "1999888"),
        ("PBX_RANG", "32"),
        ("PBX_IDENTIFIANT", "107904482"),
        ("PBX_TOTAL", amount),
        ("PBX_DEVISE", "978"),
        ("PBX_CMD", reference),
        ("PBX_PORTEUR", "jean.dupont@example.com"),
        (
            "PBX_RETOUR",
            "Mt:M;Ref:R;Auto:A;Appel:T;Trans:S;Erreur:E;Sign:K",
        ),
        ("PBX_HASH", "SHA512"),
        ("PBX_TIME", "2025-01-15T10:30:00+01:00"),
        ("PBX_SHOPPINGCART", CART),
        ("PBX_BILLING", BILLING),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (name, path) in [
        ("PBX_EFFECTUE", "/ok"),
        ("PBX_REFUSE", "/ko"),
        ("PBX_ANNULE", "/cancel"),
        ("PBX_ATTENTE", "/wait"),
        ("PBX_REPONDRE_A", "/ipn"),
    ] {
        f.push((name.to_owned(), format!("{shop}{path}")));
    }
    for (k, v) in extra {
        f.push(((*k).to_owned(), (*v).to_owned()));
    }
    sign_fields(f, tpe_mock_bank::PAYBOX_TEST_HMAC_KEY)
}

/// The DER SubjectPublicKeyInfo inside a PEM.
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// Verifies a Paybox response over the exact bytes received: data = raw[..last "&<sig>="],
/// signature = base64(percent-decoded rest); aws-lc-rs, RSA PKCS#1 v1.5 SHA-1.
pub fn verify_paybox(raw: &str, sig_name: &str, public_pem: &str) -> bool {
    let marker = format!("&{sig_name}=");
    let Some(pos) = raw.rfind(&marker) else {
        return false;
    };
    let data = &raw[..pos];
    let sig_enc = &raw[pos + marker.len()..];
    let sig_b64 = percent_encoding::percent_decode_str(sig_enc)
        .decode_utf8()
        .unwrap();
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig_b64.as_bytes()) else {
        return false;
    };
    let key = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        pem_to_der(public_pem),
    );
    key.verify(data.as_bytes(), &sig).is_ok()
}

/// `name=value` pairs of a raw query (decoded), for reading values after verification.
pub fn pairs(raw: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw).unwrap()
}

pub fn value(raw: &str, name: &str) -> Option<String> {
    pairs(raw)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The id in `action="/paybox/page/<id>"` of a payment page.
pub fn page_action(html: &str, prefix: &str) -> String {
    let start = html.find(prefix).expect("form action") + prefix.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

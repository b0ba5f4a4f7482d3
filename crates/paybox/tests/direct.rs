//! The Paybox Direct client against a local axum server written here (the bank side checks the
//! HMAC independently and answers in Latin-1).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use common::*;
use hmac::{KeyInit, Mac};
use tpe_core::{
    Amount, Currency, OperationRequest, PaymentProvider, PaymentReference, ProviderError,
    RefundRequest, RemoteStatus, StatusQuery,
};
use tpe_paybox::Paybox;
use tpe_paybox::config::Platform;

/// Every request received, as ordered fields.
type Journal = Arc<Mutex<Vec<Vec<(String, String)>>>>;

#[derive(Clone, Default)]
struct Bank {
    /// Answer code, or "bad-echo" / "sleep" / "500".
    mode: Arc<Mutex<String>>,
    status_text: Arc<Mutex<Vec<u8>>>,
    load_ok: Arc<Mutex<bool>>,
    requests: Journal,
}

async fn ppps(State(b): State<Bank>, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    b.requests.lock().unwrap().push(fields.clone());
    let (last, signed) = fields.split_last().unwrap();
    let msg = signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac =
        hmac::Hmac::<sha2::Sha512>::new_from_slice(&hex::decode(HMAC_KEY).unwrap()).unwrap();
    mac.update(msg.as_bytes());
    let good = last.0 == "HMAC" && last.1 == hex::encode_upper(mac.finalize().into_bytes());
    let get = |n: &str| {
        fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mode = b.mode.lock().unwrap().clone();
    match mode.as_str() {
        "sleep" => tokio::time::sleep(std::time::Duration::from_secs(3)).await,
        "500" => return (http::StatusCode::INTERNAL_SERVER_ERROR, "").into_response(),
        _ => {}
    }
    let code = if good {
        mode.clone()
    } else {
        "00006".to_owned()
    };
    let code = if code == "bad-echo" {
        "00000".to_owned()
    } else {
        code
    };
    let numq = if mode == "bad-echo" {
        "0000000001".to_owned()
    } else {
        get("NUMQUESTION")
    };
    let mut out = format!(
        "NUMTRANS=0013989865&NUMAPPEL=0030378572&NUMQUESTION={numq}&SITE={}&RANG=32&AUTORISATION=XXXXXX&CODEREPONSE={code}&COMMENTAIRE=Demande trait",
        get("SITE")
    )
    .into_bytes();
    out.push(0xE9); // é in ISO-8859-1
    out.extend_from_slice(b"e");
    if get("TYPE") == "00017" {
        out.extend_from_slice(b"&STATUS=");
        out.extend_from_slice(&b.status_text.lock().unwrap());
    }
    out.into_response()
}

async fn load(State(b): State<Bank>) -> String {
    let s = if *b.load_ok.lock().unwrap() {
        "OK"
    } else {
        "KO"
    };
    format!("<html><body><div id=\"server_status\">{s}</div></body></html>")
}

async fn spawn(mode: &str) -> (String, Bank) {
    let bank = Bank::default();
    *bank.mode.lock().unwrap() = mode.to_owned();
    *bank.load_ok.lock().unwrap() = true;
    *bank.status_text.lock().unwrap() = b"Captur\xe9".to_vec();
    let app = axum::Router::new()
        .route("/PPPS.php", post(ppps))
        .route("/load.html", get(load))
        .with_state(bank.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), bank)
}

fn paybox_at(primary: &str, backup: Option<&str>) -> Paybox {
    let mut cfg = config().with_platform(Platform::Custom {
        page_url: format!("{primary}/php/").parse().unwrap(),
        direct_url: format!("{primary}/PPPS.php").parse().unwrap(),
        backup_page_url: None,
        backup_direct_url: backup.map(|b| format!("{b}/PPPS.php").parse().unwrap()),
    });
    cfg.direct.timeout_secs = 1;
    cfg.direct.probe_timeout_secs = 1;
    Paybox::new(cfg).unwrap()
}

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

fn reference() -> PaymentReference {
    PaymentReference::parse("ORDER-2025-0001").unwrap()
}

fn field(req: &[(String, String)], name: &str) -> String {
    req.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

#[tokio::test]
async fn refund_is_signed_and_echo_checked() {
    let (url, bank) = spawn("00000").await;
    let p = paybox_at(&url, None);
    let receipt = p
        .refund(
            &RefundRequest::new(reference(), "30378572:13989865", eur(1000), "k1"),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(receipt.refund_id, "30378572:13989865");
    assert_eq!(receipt.amount, eur(1000));
    let reqs = bank.requests.lock().unwrap();
    let r = &reqs[0];
    let names: Vec<&str> = r.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "VERSION",
            "TYPE",
            "SITE",
            "RANG",
            "IDENTIFIANT",
            "NUMQUESTION",
            "MONTANT",
            "DEVISE",
            "REFERENCE",
            "NUMAPPEL",
            "NUMTRANS",
            "DATEQ",
            "HASH",
            "HMAC"
        ]
    );
    assert_eq!(field(r, "TYPE"), "00014");
    assert_eq!(field(r, "VERSION"), "00104");
    assert_eq!(field(r, "RANG"), "032");
    assert_eq!(field(r, "MONTANT"), "0000001000");
    assert_eq!(field(r, "NUMAPPEL"), "0030378572");
    assert_eq!(field(r, "NUMTRANS"), "0013989865");
    assert_eq!(field(r, "DATEQ"), "15012025103000"); // Paris time
    assert_eq!(field(r, "NUMQUESTION").len(), 10);
}

fn operation() -> OperationRequest {
    OperationRequest::new(reference(), "1:2", eur(100))
}

#[tokio::test]
async fn numquestion_is_unique() {
    let (url, bank) = spawn("00000").await;
    let p = paybox_at(&url, None);
    for _ in 0..5 {
        p.capture(&operation(), now()).await.unwrap();
    }
    let reqs = bank.requests.lock().unwrap();
    let mut q: Vec<String> = reqs.iter().map(|r| field(r, "NUMQUESTION")).collect();
    assert!(reqs.iter().all(|r| field(r, "TYPE") == "00002"));
    q.dedup();
    assert_eq!(q.len(), 5);
}

#[tokio::test]
async fn status_query_reads_latin1_status() {
    let (url, bank) = spawn("00000").await;
    let p = paybox_at(&url, None);
    let q = StatusQuery::new(reference(), eur(2550), now())
        .with_transactions(vec!["30378572:13989865".into()]);
    let report = p.query_status(&q, now()).await.unwrap();
    assert_eq!(
        report.status,
        RemoteStatus::Paid {
            bank_transaction_id: "30378572:13989865".into(),
            amount: eur(2550)
        }
    );
    *bank.status_text.lock().unwrap() = b"Rembours\xe9".to_vec();
    assert!(matches!(
        p.query_status(&q, now()).await.unwrap().status,
        RemoteStatus::Refunded { .. }
    ));
    *bank.status_text.lock().unwrap() = b"Annul\xe9".to_vec();
    assert_eq!(
        p.query_status(&q, now()).await.unwrap().status,
        RemoteStatus::Cancelled
    );
    *bank.status_text.lock().unwrap() = b"Refus\xe9".to_vec();
    assert!(matches!(
        p.query_status(&q, now()).await.unwrap().status,
        RemoteStatus::Refused { .. }
    ));
    *bank.status_text.lock().unwrap() = b"???".to_vec();
    assert!(p.query_status(&q, now()).await.unwrap_err().is_retryable());
    assert_eq!(field(&bank.requests.lock().unwrap()[0], "TYPE"), "00017");
}

#[tokio::test]
async fn not_found_and_api_errors() {
    let (url, bank) = spawn("00018").await;
    let p = paybox_at(&url, None);
    let q = StatusQuery::new(reference(), eur(2550), now());
    assert_eq!(
        p.query_status(&q, now()).await.unwrap().status,
        RemoteStatus::NotFound
    );
    assert!(
        !bank.requests.lock().unwrap()[0]
            .iter()
            .any(|(k, _)| k == "NUMTRANS")
    );
    *bank.mode.lock().unwrap() = "00006".into();
    let e = p.cancel(&operation(), now()).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Api {
                kind: tpe_core::ApiErrorKind::Authentication,
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("00006"), "{e}");
    *bank.mode.lock().unwrap() = "00003".into();
    assert!(
        p.cancel(&operation(), now())
            .await
            .unwrap_err()
            .is_retryable()
    );
    let e = p
        .refund(
            &RefundRequest::new(reference(), "garbage", eur(1), "k"),
            now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::InvalidRequest { .. }), "{e}");
}

#[tokio::test]
async fn bad_echo_slow_and_broken_servers_are_retryable_transport_errors() {
    for mode in ["bad-echo", "sleep", "500"] {
        let (url, _bank) = spawn(mode).await;
        let p = paybox_at(&url, None);
        let e = p.capture(&operation(), now()).await.unwrap_err();
        assert!(
            matches!(
                e,
                ProviderError::Transport {
                    retryable: true,
                    ..
                }
            ),
            "{mode}: {e}"
        );
    }
    // Nobody listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = paybox_at(&dead, None)
        .capture(&operation(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Transport {
                retryable: true,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn failover_to_the_backup_host() {
    let (backup, backup_bank) = spawn("00000").await;
    // Primary down (probe fails, connection refused).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    paybox_at(&dead, Some(&backup))
        .capture(&operation(), now())
        .await
        .unwrap();
    assert_eq!(backup_bank.requests.lock().unwrap().len(), 1);
    // Primary up but its load.html says KO: the backup goes first.
    let (primary, primary_bank) = spawn("00000").await;
    *primary_bank.load_ok.lock().unwrap() = false;
    paybox_at(&primary, Some(&backup))
        .capture(&operation(), now())
        .await
        .unwrap();
    assert_eq!(primary_bank.requests.lock().unwrap().len(), 0);
    assert_eq!(backup_bank.requests.lock().unwrap().len(), 2);
    // Primary answers 00003: the same question is asked to the backup.
    *primary_bank.load_ok.lock().unwrap() = true;
    *primary_bank.mode.lock().unwrap() = "00003".into();
    paybox_at(&primary, Some(&backup))
        .capture(&operation(), now())
        .await
        .unwrap();
    let q1 = field(&primary_bank.requests.lock().unwrap()[0], "NUMQUESTION");
    let q2 = field(&backup_bank.requests.lock().unwrap()[2], "NUMQUESTION");
    assert_eq!(q1, q2);
}

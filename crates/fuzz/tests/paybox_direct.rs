//! Paybox Direct answers (`KEY=value&…` in Latin-1, read by the provider's Direct client after a
//! status query), served by a loopback server that answers each fuzz input. `NUMQUESTION=ECHO`
//! in an input is replaced by the request's number, so the echo check passes and the reading
//! goes on; any other answer must end in a typed error.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use secrecy::SecretString;
use tpe_core::{
    Amount, Currency, PaymentProvider, PaymentReference, ProviderError, StatusQuery, Timestamp,
};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_paybox::config::Platform;
use tpe_paybox::{Paybox, PayboxConfig};

const HMAC_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

/// Answers as the platform gives them (`\xE9` is `é` in Latin-1).
const ANSWERS: &[(&str, &[u8])] = &[
    (
        "captured",
        b"NUMTRANS=0013989865&NUMAPPEL=0030378572&NUMQUESTION=ECHO&SITE=1999888&RANG=32&AUTORISATION=XXXXXX&CODEREPONSE=00000&COMMENTAIRE=Demande trait\xE9e avec succ\xE8s&STATUS=Captur\xE9",
    ),
    (
        "refused",
        b"NUMTRANS=0000000000&NUMAPPEL=0000000000&NUMQUESTION=ECHO&SITE=1999888&RANG=32&AUTORISATION=&CODEREPONSE=00004&COMMENTAIRE=PAYBOX : Num\xE9ro de porteur invalide",
    ),
    (
        "refunded",
        b"NUMTRANS=0013989865&NUMAPPEL=0030378572&NUMQUESTION=ECHO&SITE=1999888&RANG=032&AUTORISATION=XXXXXX&CODEREPONSE=00000&COMMENTAIRE=OK&STATUS=Rembours\xE9\r\n",
    ),
    ("no echo", b"CODEREPONSE=00003&COMMENTAIRE=Erreur Paybox"),
];

/// What the server answers next, and the `NUMQUESTION` of the last request.
type Answer = Arc<Mutex<Vec<u8>>>;

async fn ppps(State(answer): State<Answer>, body: String) -> Vec<u8> {
    let numquestion = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "NUMQUESTION")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let template = answer.lock().map(|a| a.clone()).unwrap_or_default();
    let mut out = Vec::with_capacity(template.len());
    let mut rest = &template[..];
    while let Some(i) = rest.windows(4).position(|w| w == b"ECHO") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(numquestion.as_bytes());
        rest = &rest[i + 4..];
    }
    out.extend_from_slice(rest);
    out
}

fn target() -> Target {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let answer: Answer = Arc::default();
    let app = axum::Router::new()
        .route("/PPPS.php", post(ppps))
        .with_state(answer.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    // The server runs on the same runtime, driven while the client waits for it.
    runtime.spawn(async move { axum::serve(listener, app).await });
    let mut cfg = PayboxConfig::new("1999888", "32", "107904482", SecretString::from(HMAC_KEY))
        .with_platform(Platform::Custom {
            page_url: format!("{base}/php/").parse().expect("url"),
            direct_url: format!("{base}/PPPS.php").parse().expect("url"),
            backup_page_url: None,
            backup_direct_url: None,
        });
    cfg.direct.timeout_secs = 5;
    let paybox = Paybox::new(cfg).expect("test configuration");
    let now: Timestamp = "2025-01-15T09:30:00Z".parse().expect("instant");
    let amount = Amount::new(2550, Currency::EUR).expect("amount");
    let query = StatusQuery::new(
        PaymentReference::parse("ORDER-2025-0001").expect("reference"),
        amount,
        now,
    )
    .with_transactions(vec!["30378572:13989865".into()]);
    let seeds = ANSWERS
        .iter()
        .map(|(name, bytes)| Seed::new(*name, *bytes, Shape::Form))
        .collect();
    let check = move |input: &[u8]| {
        if let Ok(mut a) = answer.lock() {
            a.clear();
            a.extend_from_slice(input);
        }
        let result = runtime.block_on(paybox.query_status(&query, now));
        Verdict::of(result, |e| {
            matches!(
                e,
                ProviderError::Transport { .. } | ProviderError::Api { .. }
            )
        })
    };
    // An HTTP exchange (client and server) costs a fixed few hundred KiB.
    Target::new("paybox_direct", Oracle::Unsigned, seeds, check).allocation_bound(32, 1024 * 1024)
}

tpe_fuzz::fuzz_target!(target());

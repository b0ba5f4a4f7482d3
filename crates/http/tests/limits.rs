//! A listener's bounds seen from clients: slow headers are cut off, other clients keep being
//! served, the connection limit holds, the peer address reaches handlers, shutdown ends it.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tpe_http::{Limits, serve};

const HEADER_TIMEOUT: Duration = Duration::from_millis(300);

async fn start(
    limits: Limits,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { format!("bonjour {peer}") }),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, app, limits, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop, server)
}

/// A client that sends half its headers and then nothing.
async fn slow_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: shop\r\nX-Slow: ")
        .await
        .unwrap();
    s
}

/// How long until the server closes `s` (reads until EOF; a 408 answer may come first).
async fn closed_after(mut s: TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => return Duration::from_secs(5),
        }
    }
}

fn limits() -> Limits {
    Limits::default()
        .header_read_timeout(HEADER_TIMEOUT)
        .shutdown_grace(Duration::from_secs(1))
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let (addr, _stop, _server) = start(limits()).await;
    let waited = closed_after(slow_client(addr).await).await;
    assert!(
        waited < Duration::from_secs(2),
        "still open after {waited:?}"
    );
}

#[tokio::test]
async fn other_clients_are_served_while_slow_ones_wait() {
    let (addr, _stop, _server) = start(limits().max_connections(8)).await;
    let mut slow = Vec::new();
    for _ in 0..5 {
        slow.push(slow_client(addr).await);
    }
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let body = http
            .get(format!("http://{addr}/"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The peer address reached the handler.
        assert!(body.starts_with("bonjour 127.0.0.1:"), "{body}");
    }
    for s in slow {
        assert!(closed_after(s).await < Duration::from_secs(2));
    }
}

#[tokio::test]
async fn past_the_connection_limit_a_client_waits_for_a_free_slot() {
    let (addr, _stop, _server) = start(limits().max_connections(2)).await;
    let a = slow_client(addr).await;
    let b = slow_client(addr).await;
    // Both slots are held: a normal request waits until the slow clients are cut off, then
    // is served.
    let start = Instant::now();
    let body = reqwest::Client::new()
        .get(format!("http://{addr}/"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.starts_with("bonjour"), "{body}");
    let waited = start.elapsed();
    assert!(
        waited >= HEADER_TIMEOUT / 2 && waited < Duration::from_secs(3),
        "served after {waited:?}"
    );
    drop((a, b));
}

#[tokio::test]
async fn shutdown_ends_the_server() {
    let (addr, stop, server) = start(limits()).await;
    let kept = TcpStream::connect(addr).await.unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    drop(kept);
}

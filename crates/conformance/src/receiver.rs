//! A tiny shop on `127.0.0.1:0` that records every request (notifications and browser
//! returns) and answers as it is told.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tpe_core::{HttpMethod, ReturnUrls};
use url::Url;

use crate::bank::Captured;

/// How the receiver answers a request: status, content type and body.
pub type Responder = Arc<dyn Fn(&Captured) -> (u16, &'static str, String) + Send + Sync>;

/// Path of the server-to-server notification URL.
pub const NOTIFY_PATH: &str = "/notify";

/// A running receiver; it stops when dropped.
pub struct Receiver {
    base: Url,
    captured: Arc<Mutex<Vec<Captured>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    captured: Arc<Mutex<Vec<Captured>>>,
    responder: Responder,
}

impl Receiver {
    /// Starts a receiver answering `200` with an empty body.
    ///
    /// # Panics
    /// When no loopback port can be bound (the test cannot run at all).
    pub async fn start() -> Self {
        Self::start_with(Arc::new(|_| (200, "text/plain", String::new()))).await
    }

    /// Starts a receiver answering with `responder`.
    ///
    /// # Panics
    /// When no loopback port can be bound (the test cannot run at all).
    pub async fn start_with(responder: Responder) -> Self {
        let captured = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            captured: captured.clone(),
            responder,
        };
        #[allow(clippy::expect_used)] // a test fixture: no loopback port means no test
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port for the shop receiver");
        #[allow(clippy::expect_used)]
        let addr = listener.local_addr().expect("local address");
        let app = axum::Router::new().fallback(capture).with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        #[allow(clippy::expect_used)] // `http://127.0.0.1:PORT/` always parses
        let base = Url::parse(&format!("http://{addr}/")).expect("loopback URL");
        Self {
            base,
            captured,
            task,
        }
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The notification URL.
    pub fn notify_url(&self) -> Url {
        self.url(NOTIFY_PATH)
    }

    /// The return and notification URLs of a checkout: `/return/<outcome>` and `/notify`.
    pub fn urls(&self) -> ReturnUrls {
        ReturnUrls {
            accepted: self.url("/return/accepted"),
            refused: self.url("/return/refused"),
            cancelled: self.url("/return/cancelled"),
            pending: self.url("/return/pending"),
            notify: self.notify_url(),
        }
    }

    fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u
    }

    /// Everything received so far.
    pub fn captured(&self) -> Vec<Captured> {
        self.captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `pred` finds a request (polling every 10 ms, at most `timeout`).
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Captured) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = 0;
        loop {
            let all = self.captured();
            for c in &all[seen..] {
                if let Some(t) = pred(c) {
                    return Some(t);
                }
            }
            seen = all.len();
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

async fn capture(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = Captured {
        method: if method == Method::POST {
            HttpMethod::Post
        } else {
            HttpMethod::Get
        },
        path: uri.path().to_owned(),
        query: Bytes::from(query.unwrap_or_default()),
        body,
        headers,
    };
    let (status, content_type, answer) = (shared.responder)(&c);
    shared
        .captured
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(c);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, content_type)],
        answer,
    )
        .into_response()
}

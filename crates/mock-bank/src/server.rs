//! Serving the mock bank on loopback: [`MockBank::spawn`] and the [`RunningBank`] handle.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::MockBankConfig;
use crate::state::BankState;
use crate::{Error, router};

/// Entry point of the library: starts a mock bank on loopback.
#[derive(Debug)]
pub struct MockBank;

impl MockBank {
    /// Starts a mock bank on `127.0.0.1:0` (a free port) in the current tokio runtime.
    ///
    /// # Errors
    /// A configuration, key or socket error.
    pub async fn spawn(config: MockBankConfig) -> Result<RunningBank, Error> {
        Self::spawn_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a mock bank on a given address.
    ///
    /// # Errors
    /// A configuration, key or socket error.
    pub async fn spawn_on(addr: SocketAddr, config: MockBankConfig) -> Result<RunningBank, Error> {
        let state = BankState::new(config)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(Error::Serve)?;
        let base_url = format!("http://{local}");
        if state.base_url().is_none() {
            state.set_base_url(base_url.clone());
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(state.clone());
        state.start_instalment_clock();
        let handle = tokio::spawn(async move {
            let _ = tpe_http::serve(listener, app, tpe_http::Limits::default(), async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(RunningBank {
            state,
            base_url,
            addr: local,
            shutdown: Some(tx),
            handle,
        })
    }
}

/// A mock bank serving in the background; it stops when dropped.
///
/// Dereferences to [`BankState`] for the Rust control API (`script`, `journal`, …).
#[derive(Debug)]
pub struct RunningBank {
    state: BankState,
    base_url: String,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningBank {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (the Rust control API).
    #[must_use]
    pub fn state(&self) -> &BankState {
        &self.state
    }

    /// Stops serving and waits (at most five seconds) for the server task to end.
    pub async fn shutdown(mut self) {
        self.stop();
        let handle = std::mem::replace(&mut self.handle, tokio::spawn(async {}));
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }

    fn stop(&mut self) {
        self.state.shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl std::ops::Deref for RunningBank {
    type Target = BankState;
    fn deref(&self) -> &BankState {
        &self.state
    }
}

impl Drop for RunningBank {
    fn drop(&mut self) {
        self.stop();
        // Graceful shutdown waits for open connections; abort so a dropped bank never lingers.
        self.handle.abort();
    }
}

//! Server-to-server notifications to the shop: faults, retries, journal.
//!
//! The mock only ever calls a URL it was given: `PBX_REPONDRE_A` of an authenticated Paybox
//! request, or the webhook endpoint registered for a Stripe-like account. Redirects are not
//! followed, so a shop cannot bounce the mock to another address.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::RetryPolicy;
use crate::journal::{EntryKind, JournalEntry, Side};
use crate::scenario::Scenario;
use crate::state::BankState;

/// Checks that a callback URL is an absolute `http`/`https` URL with a host.
pub(crate) fn check_callback_url(raw: &str) -> Result<url::Url, String> {
    if raw.len() > 2048 {
        return Err("URL longer than 2048 bytes".into());
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    Ok(url)
}

/// What counts as an acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ack {
    /// Paybox: HTTP 200 exactly.
    Exactly200,
    /// Stripe-like: any 2xx (3xx is a failure, as for Stripe).
    Any2xx,
    /// Lyra: 200 to 206, 301, 302, 303, 307 or 308 (spec B.7).
    Lyra,
    /// Monetico: HTTP 200 and this body (its final line feed optional, spec C.6).
    Exactly200WithBody(&'static str),
}

/// The content type of a form notification.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";
/// The content type of a JSON webhook.
pub(crate) const JSON: &str = "application/json";

/// One notification, ready to send.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) side: Side,
    pub(crate) reference: Option<String>,
    pub(crate) post: bool,
    /// Full URL (for GET, with the payload in the query string).
    pub(crate) url: String,
    pub(crate) body: Option<String>,
    pub(crate) content_type: &'static str,
    pub(crate) payload: String,
    pub(crate) signature_header: Option<String>,
    /// Headers sent as they are, for schemes whose signature is not one `Stripe-Signature`
    /// header (Worldline: `X-GCS-Signature` and `X-GCS-KeyId`).
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) detail: String,
    pub(crate) ack: Ack,
}

impl Delivery {
    /// A notification POSTed to `url` with `payload` as its body, of `content_type`.
    pub(crate) fn post(
        side: Side,
        reference: &str,
        url: String,
        content_type: &'static str,
        payload: String,
        detail: impl Into<String>,
        ack: Ack,
    ) -> Self {
        Self {
            side,
            reference: Some(reference.to_owned()),
            post: true,
            url,
            body: Some(payload.clone()),
            content_type,
            payload,
            signature_header: None,
            headers: Vec::new(),
            detail: detail.into(),
            ack,
        }
    }

    /// The same notification as a GET, the payload in the query string.
    pub(crate) fn into_get(mut self) -> Self {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        self.url = format!("{}{sep}{}", self.url, self.payload);
        self.body = None;
        self.post = false;
        self
    }

    fn entry(&self, kind: EntryKind, detail: &str) -> JournalEntry {
        let mut e = JournalEntry::new(kind, self.side, self.url.clone(), detail)
            .reference(self.reference.as_deref())
            .method(if self.post { "POST" } else { "GET" });
        e.payload = Some(self.payload.clone());
        e.signature_header.clone_from(&self.signature_header);
        e
    }
}

/// A bank's notification about one of its sessions, built and ready to sign and send: what the
/// background and delayed sends below share across banks.
pub(crate) trait Ipn: Send + 'static {
    /// The reference the notification is about; its script decides the faults.
    fn reference(&self) -> &str;

    /// Signs and sends it under `scenario`'s faults; `is_final` as for [`dispatch`].
    fn send(
        &self,
        state: &BankState,
        scenario: &Scenario,
        is_final: bool,
    ) -> impl Future<Output = ()> + Send;
}

/// Sends `ipn` in the background as the last notification of its reference, under the script
/// of that reference when it runs (a later instalment's IPN, for one).
pub(crate) fn spawn_ipn(state: &BankState, ipn: impl Ipn) {
    let reference = ipn.reference().to_owned();
    state.spawn_for(&reference, move |state, scenario| async move {
        ipn.send(&state, &scenario, true).await;
    });
}

/// After the configured pending delay, unless the bank shuts down first: `settle` gives the
/// pending payment its final answer in the ledger and the journal and returns the second
/// notification, sent at once as the last one.
pub(crate) fn settle_pending<I: Ipn>(
    state: &BankState,
    settle: impl FnOnce(&BankState) -> I + Send + 'static,
) {
    let task = state.clone();
    state.spawn(async move {
        if !task.sleep_or_shutdown(task.config().pending_delay).await {
            return;
        }
        let ipn = settle(&task);
        let scenario = task.scenario_for(ipn.reference());
        ipn.send(&task, &scenario, true).await;
    });
}

/// Sends `delivery` according to the faults of `scenario`.
///
/// `is_final` tells whether this is the last notification of the reference (used to release
/// notifications held for out-of-order delivery). When the scenario has no delay and no holding,
/// the first attempt is awaited (bounded by the attempt timeout) so that the shop has normally seen
/// the notification before the browser comes back, as with the real banks.
pub(crate) async fn dispatch(
    state: &BankState,
    delivery: Delivery,
    scenario: &Scenario,
    is_final: bool,
) {
    let policy = state.config().retry.clone();
    dispatch_with(state, delivery, scenario, is_final, policy).await;
}

/// [`dispatch`] under a bank's own retry schedule.
pub(crate) async fn dispatch_with(
    state: &BankState,
    delivery: Delivery,
    scenario: &Scenario,
    is_final: bool,
    policy: RetryPolicy,
) {
    if scenario.drop {
        state.record(delivery.entry(EntryKind::Withheld, "dropped"));
        return;
    }
    let batch = if scenario.out_of_order {
        let key = delivery.reference.clone().unwrap_or_default();
        let mut held = state.with_data(|d| {
            let list = d.held.entry(key.clone()).or_default();
            list.push(delivery);
            if is_final {
                d.held.remove(&key).unwrap_or_default()
            } else {
                Vec::new()
            }
        });
        if held.is_empty() {
            return;
        }
        held.reverse();
        held
    } else {
        vec![delivery]
    };
    let copies = scenario.duplicate.min(20);
    let delay = Duration::from_millis(scenario.delay_ms.min(600_000));
    let wait_first = delay.is_zero() && !scenario.out_of_order;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task_state = state.clone();
    let attempt_timeout = policy.attempt_timeout;
    let task = async move {
        let mut first_signal = Some(tx);
        for d in batch {
            for _ in 0..=copies {
                if !delay.is_zero() && !task_state.sleep_or_shutdown(delay).await {
                    return;
                }
                deliver_with_retries(&task_state, &d, &mut first_signal, &policy).await;
            }
        }
    };
    state.spawn(task);
    if wait_first {
        let bound = attempt_timeout + Duration::from_millis(500);
        let _ = tokio::time::timeout(bound, rx).await;
    }
}

async fn deliver_with_retries(
    state: &BankState,
    d: &Delivery,
    first: &mut Option<tokio::sync::oneshot::Sender<()>>,
    policy: &RetryPolicy,
) {
    let started = Instant::now();
    let mut backoff = policy.initial_backoff;
    for attempt in 1..=policy.max_attempts {
        let mut req = if d.post {
            state
                .http()
                .post(&d.url)
                .header(http::header::CONTENT_TYPE, d.content_type)
        } else {
            state.http().get(&d.url)
        };
        if let Some(body) = &d.body {
            req = req.body(body.clone());
        }
        if let Some(sig) = &d.signature_header {
            req = req.header("Stripe-Signature", sig);
        }
        for (name, value) in &d.headers {
            req = req.header(*name, value);
        }
        let result = req.timeout(policy.attempt_timeout).send().await;
        let mut entry = d.entry(EntryKind::Notification, &d.detail);
        entry.attempt = Some(attempt);
        let acked = match result {
            Ok(resp) => {
                let status = resp.status();
                entry.status = Some(status.as_u16());
                match d.ack {
                    Ack::Exactly200 => status == http::StatusCode::OK,
                    Ack::Any2xx => status.is_success(),
                    Ack::Lyra => matches!(status.as_u16(), 200..=206 | 301 | 302 | 303 | 307 | 308),
                    Ack::Exactly200WithBody(expected) => {
                        status == http::StatusCode::OK && body_is(resp, expected).await
                    }
                }
            }
            Err(e) => {
                entry.error = Some(describe(&e));
                false
            }
        };
        state.record(entry);
        if let Some(tx) = first.take() {
            let _ = tx.send(());
        }
        if acked {
            return;
        }
        if attempt == policy.max_attempts || started.elapsed() + backoff > policy.max_total {
            break;
        }
        if !state.sleep_or_shutdown(backoff).await {
            return;
        }
        backoff = (backoff * 2).min(policy.max_backoff);
    }
    state.record(d.entry(EntryKind::Withheld, "gave_up"));
}

/// Whether the answer's body is `expected`, with or without its final line feed (read up to
/// 1 KiB: an acknowledgement is a few bytes).
async fn body_is(mut resp: reqwest::Response, expected: &str) -> bool {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 1024 {
            return false;
        }
    }
    let expected = expected.as_bytes();
    body == expected || Some(body.as_slice()) == expected.strip_suffix(b"\n")
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "transport error".into()
    }
}

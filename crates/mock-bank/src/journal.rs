//! The journal: every request received and every notification sent, for assertions.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What a journal entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An HTTP request received by the mock (any route).
    Request,
    /// A decision of the bank (payment attempt, refusal, pending, abandon, API operation).
    Decision,
    /// One attempt to deliver a notification to the shop, with the shop's answer.
    Notification,
    /// A notification that a fault withheld (dropped, abandoned) — recorded, never sent.
    Withheld,
    /// A browser redirect back to the shop.
    Redirect,
}

/// Which protocol an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Paybox System pages and Paybox Direct (`PPPS.php`).
    Paybox,
    /// The Stripe-like PSP.
    StripeLike,
    /// Worldline Direct / CAWL.
    Worldline,
    /// The Lyra platform (Systempay, PayZen, Scellius, Sogecommerce).
    Lyra,
    /// Monetico Paiement (CIC / Crédit Mutuel).
    Monetico,
    /// The mock's own control API and status page.
    Control,
}

/// One line of the journal.
///
/// Card numbers, keys and MACs are never recorded; notification payloads are recorded exactly
/// as sent (they carry no secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Order of the entry, from 1.
    pub seq: u64,
    /// Unix time in milliseconds, from the configured clock.
    pub at_ms: i64,
    /// What happened.
    pub kind: EntryKind,
    /// Which protocol.
    pub side: Side,
    /// The payment reference concerned (`PBX_CMD`, `client_reference_id`, Direct `REFERENCE`).
    pub reference: Option<String>,
    /// HTTP method of the request or notification.
    pub method: Option<String>,
    /// Path of a request received, or full URL of a notification / redirect.
    pub target: String,
    /// A short machine-readable word: `accepted`, `refused`, `hmac_refused`, a Paybox code, an event type…
    pub detail: String,
    /// The notification payload exactly as sent (query string or body), when there is one.
    pub payload: Option<String>,
    /// Signature header sent with a Stripe-like webhook.
    pub signature_header: Option<String>,
    /// Attempt number of a notification delivery, from 1.
    pub attempt: Option<u32>,
    /// Status answered: by the mock for a request, by the shop for a notification.
    pub status: Option<u16>,
    /// Transport error of a delivery attempt (timeout, connection refused).
    pub error: Option<String>,
}

impl JournalEntry {
    pub(crate) fn new(
        kind: EntryKind,
        side: Side,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            seq: 0,
            at_ms: 0,
            kind,
            side,
            reference: None,
            method: None,
            target: target.into(),
            detail: detail.into(),
            payload: None,
            signature_header: None,
            attempt: None,
            status: None,
            error: None,
        }
    }

    /// A decision of a bank's page about `reference`, at attempt `attempt` when it counts them.
    pub(crate) fn decision(
        side: Side,
        page: &str,
        reference: &str,
        detail: &str,
        attempt: Option<u32>,
    ) -> Self {
        let mut entry =
            Self::new(EntryKind::Decision, side, page, detail).reference(Some(reference));
        entry.attempt = attempt;
        entry
    }

    pub(crate) fn reference(mut self, r: Option<&str>) -> Self {
        self.reference = r.map(str::to_owned);
        self
    }

    pub(crate) fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_owned());
        self
    }
}

/// Bounded in-memory journal; the oldest entries go first when full.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    inner: Mutex<JournalInner>,
}

#[derive(Debug, Default)]
struct JournalInner {
    next_seq: u64,
    entries: std::collections::VecDeque<JournalEntry>,
}

/// Enough for any test or demo session, small enough that a long-running mock cannot grow without bound.
const MAX_ENTRIES: usize = 20_000;

impl Journal {
    pub(crate) fn push(&self, mut entry: JournalEntry, at_ms: i64) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        entry.at_ms = at_ms;
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<JournalEntry> {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.entries.clear();
    }
}

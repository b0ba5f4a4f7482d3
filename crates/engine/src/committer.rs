//! Group commit: the notification path hands each verified notification to a committer, which
//! takes everything queued (up to [`MAX_BATCH`]) and applies it through
//! [`PaymentStore::apply_notifications`]: in ONE database transaction, the checkouts found by
//! bank reference in one statement on its connection, then a handful of set-based statements,
//! one commit, one disk sync. Only then is each waiting request answered with its own result.
//!
//! Several committers may share one queue ([`PaymentStore::concurrent_writers`]): two on a
//! SQLite file, one writing its batch while the other's commit is synced; one by default on
//! PostgreSQL, where larger batches share the server's work per transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, mpsc, oneshot};
use tpe_core::{Clock, VerifiedNotification};
use tpe_store::{Applied, PaymentStore, StoreError, WritesDone};

/// Most events committed together.
pub(crate) const MAX_BATCH: usize = 256;
/// Events waiting for a committer before senders wait (back-pressure on the HTTP side).
const QUEUE: usize = 4096;

struct Job {
    notification: VerifiedNotification,
    reply: Reply,
}

/// Where a job's result goes.
type Reply = oneshot::Sender<Result<Applied, StoreError>>;

/// The sending side, held by the engine; the committers stop when it is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    queue: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

/// What the committers did since start, counted as they go.
#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    events: AtomicU64,
    largest: AtomicU64,
}

/// How the group commit has gone since the engine started: with many notifications at once,
/// the mean batch is large and each commit (one disk sync) serves many of them.
///
/// ```
/// let stats = tpe_engine::CommitStats::default();
/// assert_eq!(stats.mean_batch(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitStats {
    /// Transactions committed (one per batch).
    pub batches: u64,
    /// Events in them.
    pub events: u64,
    /// The largest batch.
    pub largest: u64,
}

impl CommitStats {
    /// Events per batch on average, rounded down (0 before the first).
    pub fn mean_batch(&self) -> u64 {
        self.events.checked_div(self.batches).unwrap_or(0)
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("bank_reference", &self.notification.bank_reference)
            .finish_non_exhaustive()
    }
}

impl Committer {
    /// Spawns the committers on the current tokio runtime.
    pub(crate) fn spawn(store: Arc<dyn PaymentStore>, clock: Arc<dyn Clock>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let counters = Arc::new(Counters::default());
        for _ in 0..store.concurrent_writers().max(1) {
            tokio::spawn(run(
                store.clone(),
                clock.clone(),
                rx.clone(),
                counters.clone(),
            ));
        }
        Self { queue, counters }
    }

    /// What the committers did so far.
    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            events: self.counters.events.load(Ordering::Relaxed),
            largest: self.counters.largest.load(Ordering::Relaxed),
        }
    }

    /// Applies an authentic notification to the checkout its bank reference names, with the
    /// next group commit; returns once it is committed. [`StoreError::NotFound`] when no
    /// checkout has that bank reference.
    pub(crate) async fn apply(
        &self,
        notification: VerifiedNotification,
    ) -> Result<Applied, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            notification,
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// The committers are gone (runtime shutting down): nothing was written, the bank retries.
fn stopped() -> StoreError {
    StoreError::Unavailable {
        op: "group commit",
        source: "the committer stopped".into(),
    }
}

async fn run(
    store: Arc<dyn PaymentStore>,
    clock: Arc<dyn Clock>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    counters: Arc<Counters>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        // One committer takes the queue's head and everything behind it, and keeps the queue
        // until its batch is written: the next committer then takes all that arrived
        // meanwhile and writes it while this commit waits for the disk.
        let mut queue = rx.clone().lock_owned().await;
        if queue.recv_many(&mut jobs, MAX_BATCH).await == 0 {
            return; // the engine is gone
        }
        let (writes_done, written) = WritesDone::channel();
        tokio::spawn(async move {
            let _ = written.await; // told or dropped: either way the writes are over
            drop(queue);
        });
        let (notifications, replies): (Vec<_>, Vec<_>) =
            jobs.drain(..).map(|j| (j.notification, j.reply)).collect();
        let results = store
            .apply_notifications(notifications, clock.now(), writes_done)
            .await;
        // Events that reached a transaction: all but those naming no checkout.
        let size = results
            .iter()
            .filter(|r| !matches!(r, Err(StoreError::NotFound { .. })))
            .count();
        if size > 0 {
            let size = u64::try_from(size).unwrap_or(u64::MAX);
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.events.fetch_add(size, Ordering::Relaxed);
            counters.largest.fetch_max(size, Ordering::Relaxed);
        }
        for (reply, result) in replies.into_iter().zip(results) {
            // The request may have timed out meanwhile: its answer is simply dropped (the
            // event is committed; the bank's retry will be a duplicate).
            let _ = reply.send(result);
        }
    }
}

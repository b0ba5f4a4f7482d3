//! Group commit: the notification path hands each verified notification to a committer, which
//! takes everything queued (up to [`MAX_BATCH`]), finds their checkouts by bank reference in
//! one statement ([`PaymentStore::resolve_bank_references`]), applies them in ONE database
//! transaction through [`PaymentStore::apply_events`] (a handful of set-based statements, one
//! commit, one disk sync) and only then answers each waiting request with its own result.
//!
//! Several committers may share one queue ([`PaymentStore::concurrent_writers`]): two on a
//! SQLite file, one writing its batch while the other's commit is synced; one by default on
//! PostgreSQL, where larger batches share the server's work per transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, mpsc, oneshot};
use tpe_core::{Clock, PaymentReference, VerifiedNotification};
use tpe_store::{Applied, EventInput, PaymentStore, StoreError, WritesDone};

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
    let mut jobs = Vec::with_capacity(MAX_BATCH);
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
        let (batch, replies) = resolve(store.as_ref(), &mut jobs).await;
        if batch.is_empty() {
            continue; // `writes_done` dropped: the queue is free
        }
        let size = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        let results = store
            .apply_events_then_commit(batch, clock.now(), writes_done)
            .await;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.events.fetch_add(size, Ordering::Relaxed);
        counters.largest.fetch_max(size, Ordering::Relaxed);
        for (reply, result) in replies.into_iter().zip(results) {
            // The request may have timed out meanwhile: its answer is simply dropped (the
            // event is committed; the bank's retry will be a duplicate).
            let _ = reply.send(result);
        }
    }
}

/// Takes `jobs`: the events of those whose checkout was found, with the replies they owe in
/// the same order; every other job is answered here: [`StoreError::NotFound`] for a bank
/// reference no checkout has, or the error that kept it from being looked up.
async fn resolve(
    store: &dyn PaymentStore,
    jobs: &mut Vec<Job>,
) -> (Vec<(PaymentReference, EventInput)>, Vec<Reply>) {
    let keys: Vec<_> = jobs
        .iter()
        .map(|j| {
            let n = &j.notification;
            (n.provider.clone(), n.bank_reference.clone())
        })
        .collect();
    let found = match store.resolve_bank_references(&keys).await {
        Ok(found) => found.into_iter().map(Ok).collect(),
        // A store that cannot be reached answers every job alike, without being asked once
        // more per job (each asking would wait its own connection timeout).
        Err(StoreError::Unavailable { op, source }) => {
            let reason = source.to_string();
            keys.iter()
                .map(|_| {
                    Err(StoreError::Unavailable {
                        op,
                        source: reason.clone().into(),
                    })
                })
                .collect()
        }
        // Any other error may be one key's: each job gets its own, looked up alone.
        Err(_) => {
            let mut found = Vec::with_capacity(keys.len());
            for (provider, bank_reference) in &keys {
                found.push(store.resolve_bank_reference(provider, bank_reference).await);
            }
            found
        }
    };
    let mut batch = Vec::with_capacity(jobs.len());
    let mut replies = Vec::with_capacity(jobs.len());
    for (job, found) in jobs.drain(..).zip(found) {
        match found {
            Ok(Some(reference)) => {
                batch.push((reference, EventInput::Notification(job.notification)));
                replies.push(job.reply);
            }
            Ok(None) => {
                let _ = job.reply.send(Err(StoreError::NotFound {
                    reference: job.notification.bank_reference.to_string(),
                }));
            }
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }
    (batch, replies)
}

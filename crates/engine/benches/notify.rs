//! Bank notifications handled per second through HTTP, 50 concurrent connections, with the
//! real Paybox provider (RSA-SHA1 signatures verified on the raw bytes) and a durable commit
//! before each answer: SQLite `synchronous=FULL` (group commit) and, when
//! `TPE_TEST_POSTGRES_URL` is set, PostgreSQL. `TPE_BENCH_N` notifications per run (default
//! 10000), each for its own pre-created checkout, signed beforehand with the mock bank's key;
//! the first tenth warms up (connections, caches, write-ahead log) and is not measured. The
//! notifications are sent from a runtime of one thread of its own: "engine cpu" is the
//! process's CPU without that thread's (the HTTP server, verification, the committers and the
//! SQLite threads), "with the load generator" counts it too, "database server" is the CPU of
//! the machine's `postgres` processes, "machine" counts every process.
//!
//! `TPE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p tpe-engine --bench notify`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use rsa::pkcs8::DecodePrivateKey as _;
use secrecy::SecretString;
use sha1::Digest as _;
use tpe_core::{ReferenceGenerator, Registry, Timestamp};
use tpe_engine::{Engine, MemoryMailer, ShopSettings};
use tpe_paybox::config::{PublicKeySource, RetourSpec};
use tpe_paybox::{Paybox, PayboxConfig};
use tpe_store::{PaymentStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};

/// Connections sending to each engine: a scale-out run gives every engine the load one gets
/// alone, as a load balancer in front of a shop's instances would.
const CONNECTIONS: usize = 50;
const RETOUR: &str = "M:M;R:R;T:T;S:S;A:A;E:E;K:K";

fn now() -> Timestamp {
    "2026-03-20T09:00:00Z".parse().unwrap()
}

fn paybox() -> Paybox {
    let mut cfg = PayboxConfig::new(
        "1999888",
        "32",
        "107904482",
        SecretString::from(tpe_mock_bank::PAYBOX_TEST_HMAC_KEY),
    );
    cfg.public_keys = vec![PublicKeySource::Pem(
        tpe_mock_bank::paybox::SHIPPED_PUBLIC_KEY_PEM.to_owned(),
    )];
    Paybox::new(cfg.with_retour(RETOUR.parse::<RetourSpec>().unwrap())).unwrap()
}

/// `n` references and their signed notifications (query strings), as the bank sends them.
fn signed(n: usize) -> Vec<(String, String)> {
    let key =
        rsa::PrivateKey::from_pkcs8_pem(tpe_mock_bank::paybox::SHIPPED_PRIVATE_KEY_PEM).unwrap();
    let references = ReferenceGenerator::new();
    (0..n)
        .map(|i| {
            let reference = references.next(now()).to_string();
            let data = format!(
                "M=1000&R={reference}&T={}&S={}&A=XXXXXX&E=00000",
                7000 + i,
                9000 + i
            );
            let digest = sha1::Sha1::digest(data.as_bytes());
            let sig = key
                .sign(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &digest)
                .unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
            let query = format!("{data}&K={}", utf8_percent_encode(&b64, NON_ALPHANUMERIC));
            (reference, query)
        })
        .collect()
}

const INSERT: &str = "INSERT INTO checkouts (reference, bank_reference, provider, amount_minor, \
    currency, status, customer_email, customer_name, retract_at, created_at, updated_at) \
    VALUES ($1, $1, 'paybox', 1000, 'EUR', 'awaiting_payment', 'jeanne@example.fr', \
    'Jeanne Martin', $2, $3, $3)";

/// Creates one awaiting checkout per notification, in one transaction, on either backend.
macro_rules! seed {
    ($pool:expr, $notes:expr, $retract:expr, $created:expr) => {{
        let mut tx = $pool.begin().await.unwrap();
        for (reference, _) in $notes {
            sqlx::query(INSERT)
                .bind(reference)
                .bind($retract)
                .bind($created)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }};
}

/// Removes the SQLite bench database and its log files.
fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// User + system CPU time in a `/proc` `stat` file (a process's or one thread's).
fn stat_cpu(stat: &str) -> Duration {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th
    // and 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time used by this process so far (user + system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// Name of the load generator's threads: their CPU is not the engine's.
const CLIENT_THREAD: &str = "bench-client";

/// CPU time used so far by the load generator's threads (`/proc/self/task/*/stat`).
fn client_cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
        .filter(|stat| stat.contains(&format!("({CLIENT_THREAD}")))
        .map(|stat| stat_cpu(&stat))
        .sum()
}

/// CPU time used so far by the PostgreSQL server's processes on this machine (every process
/// named `postgres`: backends, WAL writer, checkpointer), zero when there are none.
fn postgres_cpu_time() -> Duration {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    procs
        .filter_map(|p| std::fs::read_to_string(p.ok()?.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| stat_cpu(&stat))
        .sum()
}

/// CPU time used by the whole machine so far (every process: the database server too), from
/// the first line of `/proc/stat`.
fn machine_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are work.
    let busy: u64 = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .take(6)
        .map(|(_, v)| v)
        .sum();
    Duration::from_millis(busy * 10)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Sends `urls[from..to]` over `connections` connections from the load generator's own
/// runtime (its threads apart from the engine's, so that their CPU can be told apart); the
/// latency of each answer.
async fn send_all(
    client: &tokio::runtime::Handle,
    http: &reqwest::Client,
    urls: Arc<Vec<String>>,
    connections: usize,
    from: usize,
    to: usize,
) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(from));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (http, urls, next) = (http.clone(), urls.clone(), next.clone());
        tasks.push(client.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    return lat;
                }
                let t = Instant::now();
                let resp = http.get(&urls[i]).send().await.unwrap();
                let status = resp.status().as_u16();
                let _ = resp.bytes().await;
                assert_eq!(status, 200, "notification {i} answered {status}");
                lat.push(t.elapsed());
            }
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat
}

/// One engine serving notifications over HTTP on a free port.
struct Server {
    engine: Engine,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(store: Arc<dyn PaymentStore>, worker: &str) -> Server {
    let mut registry = Registry::new();
    registry.register(Arc::new(paybox())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let settings = ShopSettings::new(
        "Bench",
        base.parse().unwrap(),
        "gestion@bench.example",
        "boutique@bench.example",
    )
    .unwrap();
    let engine = Engine::builder(registry, store, Arc::new(MemoryMailer::new()), settings)
        .clock(Arc::new(tpe_core::clock::ManualClock::new(now())))
        .worker_id(worker)
        .build()
        .unwrap();
    let app = engine.router();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { engine, base, task }
}

/// Runs the notifications against `stores` (one engine each, the notifications dealt to them
/// in turn, [`CONNECTIONS`] connections for each) and prints throughput, latency, CPU and the
/// batches committed.
async fn run(
    client: &tokio::runtime::Handle,
    label: &str,
    stores: &[Arc<dyn PaymentStore>],
    notes: &[(String, String)],
) {
    let mut servers = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        servers.push(serve(store.clone(), &format!("bench-{i}")).await);
    }
    let connections = CONNECTIONS * servers.len();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let urls: Arc<Vec<String>> = Arc::new(
        notes
            .iter()
            .enumerate()
            .map(|(i, (_, q))| format!("{}tpe/notify/paybox?{q}", servers[i % servers.len()].base))
            .collect(),
    );
    // Warm-up: the first tenth opens the connections, fills the caches and grows the
    // write-ahead log to its working size; only the rest is measured.
    let warm = urls.len() / 10;
    send_all(client, &http, urls.clone(), connections, 0, warm).await;
    let stats_before: Vec<_> = servers.iter().map(|s| s.engine.commit_stats()).collect();
    let load_before = loadavg();
    let cpu_before = cpu_time();
    let client_before = client_cpu_time();
    let machine_before = machine_cpu_time();
    let postgres_before = postgres_cpu_time();
    let started = Instant::now();
    let mut lat = send_all(client, &http, urls.clone(), connections, warm, urls.len()).await;
    let elapsed = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let client_cpu = client_cpu_time().saturating_sub(client_before);
    let engine_cpu = cpu.saturating_sub(client_cpu);
    let machine = machine_cpu_time().saturating_sub(machine_before);
    let postgres = postgres_cpu_time().saturating_sub(postgres_before);
    let (mut batches, mut events, mut largest) = (0, 0, 0);
    for (s, before) in servers.iter().zip(stats_before) {
        let after = s.engine.commit_stats();
        batches += after.batches - before.batches;
        events += after.events - before.events;
        largest = largest.max(after.largest);
        s.task.abort();
    }
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    let per_sec = u128::try_from(lat.len()).unwrap() * 1_000_000 / elapsed.as_micros().max(1);
    // Every notification validated its checkout, durably.
    let store = &stores[0];
    for (reference, _) in notes.iter().step_by(notes.len() / 10 + 1) {
        let r = tpe_core::PaymentReference::parse(reference).unwrap();
        let c = store.checkout(&r).await.unwrap();
        assert_eq!(c.checkout.status, tpe_core::CheckoutStatus::Valid);
    }
    let n = u128::try_from(lat.len()).unwrap().max(1);
    println!(
        "{label:<28} {count:>6} notifications over {connections:>3} connections  {per_sec:>6}/s  p50 {p50:>6.1?}  p99 {p99:>6.1?}  max {max:>6.1?}  engine cpu {engine_per:>4}µs each ({busy}% of one core), with the load generator {cpu_per:>4}µs, database server {postgres_per:>4}µs, machine {machine_per:>4}µs each  batches {batches} (mean {mean}.{mean_tenth}, largest {largest})  load {load_before} -> {load_after}",
        count = lat.len(),
        engine_per = engine_cpu.as_micros() / n,
        cpu_per = cpu.as_micros() / n,
        machine_per = machine.as_micros() / n,
        postgres_per = postgres.as_micros() / n,
        busy = engine_cpu.as_micros() * 100 / elapsed.as_micros().max(1),
        mean = events.checked_div(batches).unwrap_or(0),
        mean_tenth = (events * 10).checked_div(batches).unwrap_or(0) % 10,
        p50 = pct(50),
        p99 = pct(99),
        max = lat[lat.len() - 1],
        load_after = loadavg(),
    );
}

fn main() {
    let n: usize = std::env::var("TPE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("engine")
        .build()
        .unwrap();
    // The bank's side: one thread of its own, so that the engine's CPU is measured alone.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name(CLIENT_THREAD)
        .build()
        .unwrap();
    let client = client_rt.handle();
    rt.block_on(async {
        println!("signing {n} notifications with the mock bank's key…");
        let notes = signed(n);
        let retract = (now() + jiff::SignedDuration::from_hours(240)).as_millisecond();
        let created = now().as_millisecond();

        let path = std::env::temp_dir().join("tpe-engine-bench-notify.db");
        remove_db(&path);
        let sqlite = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        seed!(sqlite.pool(), &notes, retract, created);
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(sqlite.pool())
            .await
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        run(
            client,
            "sqlite (synchronous=FULL)",
            &[Arc::new(sqlite)],
            &notes,
        )
        .await;
        remove_db(&path);

        match std::env::var("TPE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => {
                let schema = "bench_notify";
                let admin = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&admin)
                .await
                .unwrap();
                let committers: u32 = std::env::var("TPE_BENCH_PG_COMMITTERS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(PostgresOptions::default().committers);
                let connect = || async {
                    let store: Arc<dyn PaymentStore> = Arc::new(
                        PostgresStore::connect_with(
                            &url,
                            PostgresOptions::default()
                                .schema(schema)
                                .max_connections(16)
                                .committers(committers),
                        )
                        .await
                        .unwrap(),
                    );
                    store
                };
                let pg = PostgresStore::connect_with(
                    &url,
                    PostgresOptions::default()
                        .schema(schema)
                        .max_connections(16),
                )
                .await
                .unwrap();
                seed!(pg.pool(), &notes, retract, created);
                pg.close().await;
                run(client, "postgresql (pool 16)", &[connect().await], &notes).await;
                // Two engines on one database, as two instances of a shop: fresh checkouts.
                let notes = signed(n);
                let pg =
                    PostgresStore::connect_with(&url, PostgresOptions::default().schema(schema))
                        .await
                        .unwrap();
                seed!(pg.pool(), &notes, retract, created);
                pg.close().await;
                run(
                    client,
                    "postgresql, two engines",
                    &[connect().await, connect().await],
                    &notes,
                )
                .await;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&admin)
                .await
                .unwrap();
            }
            _ => eprintln!("\n*** SKIPPED: TPE_TEST_POSTGRES_URL unset: no PostgreSQL run ***\n"),
        }
    });
}

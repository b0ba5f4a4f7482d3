//! `tpe replay`: feeds a quarantined notification to the engine again once its cause is fixed
//! (the checkout it names now exists, a key corrected), through the live path: verified again
//! with today's configuration, applied exactly once.
//!
//! Exit codes: 0 when every notification was applied (or had been already), 1 when one was
//! refused again or is still set aside, 2 for a usage error or an unreadable configuration or
//! store.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tpe_engine::{Engine, MemoryMailer, NotificationOutcome};
use tpe_mock_bank::RunningBank;
use tpe_store::{
    MAX_LIMIT, PaymentStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore,
};

use crate::shop_config::ShopConfig;

/// Arguments of `tpe replay`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["reference", "quarantine", "list"]))]
pub struct ReplayArgs {
    /// The shop's configuration file (see `tpe doctor`): its banks verify the notification,
    /// its `[store]` holds the quarantine.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A demo data folder (`tpe demo --data`): its store, and the demo's banks unless
    /// `--config` names others.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The store's PostgreSQL URL (instead of `[store]`).
    #[arg(long, conflicts_with = "data")]
    pub database_url: Option<String>,
    /// Replay the quarantine entry with this id (`--list` shows them).
    #[arg(long)]
    pub quarantine: Option<i64>,
    /// List the quarantine, most recent first, and replay nothing.
    #[arg(long)]
    pub list: bool,
    /// Replay every kept notification naming this reference: the bank's reference as the
    /// quarantine shows it, or the shop's checkout reference.
    pub reference: Option<String>,
}

/// Usage or setup error: exit 2.
fn usage(out: &mut dyn Write, message: &str) -> ExitCode {
    let _ = writeln!(out, "tpe replay: {message}");
    ExitCode::from(2)
}

/// Runs `tpe replay`, writing one line per notification to `out`.
pub async fn run(args: ReplayArgs, out: &mut dyn Write) -> ExitCode {
    // The demo's mock bank lives as long as the engine verifying with its keys.
    let (engine, _bank) = match open(&args).await {
        Ok(opened) => opened,
        Err(e) => return usage(out, &e),
    };
    if args.list {
        return list(&engine, out).await;
    }
    let ids = match entries(&args, &engine).await {
        Ok(ids) if ids.is_empty() => {
            return usage(out, "no quarantined notification matches");
        }
        Ok(ids) => ids,
        Err(e) => return usage(out, &e),
    };
    let mut all_done = true;
    for id in ids {
        let (done, line) = match engine.replay_quarantined(id).await {
            Ok(r) => describe(r.outcome, r.status),
            Err(e) => (false, e.to_string()),
        };
        all_done &= done;
        let _ = writeln!(out, "quarantine #{id}: {line}");
    }
    if all_done {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The engine replaying: a demo data folder alone opens the demo's; otherwise the banks of
/// `--config` over the store of `--database-url`, `--data` or `[store]`.
async fn open(args: &ReplayArgs) -> Result<(Engine, Option<RunningBank>), String> {
    let Some(config_path) = &args.config else {
        let Some(dir) = &args.data else {
            return Err(
                "give --config FILE (the shop's banks) or --data DIR (a demo folder)".into(),
            );
        };
        let (engine, bank) = tpe_demo::replay::open_engine(dir)
            .await
            .map_err(|e| e.to_string())?;
        return Ok((engine, Some(bank)));
    };
    let config = ShopConfig::load(config_path).map_err(|e| e.to_string())?;
    let registry = config.registry()?;
    let store = open_store(args, &config).await?;
    // Replaying sends nothing: effects go to the outbox, which the shop's running engine
    // delivers.
    let engine = Engine::builder(
        registry,
        store,
        Arc::new(MemoryMailer::new()),
        config.settings()?,
    )
    .worker_id("tpe-replay")
    .build()
    .map_err(|e| e.to_string())?;
    Ok((engine, None))
}

/// Prints the quarantine, most recent first: id, bank, the reference it names, why.
async fn list(engine: &Engine, out: &mut dyn Write) -> ExitCode {
    let entries = match engine.quarantined(MAX_LIMIT).await {
        Ok(e) => e,
        Err(e) => return usage(out, &format!("cannot read the quarantine: {e}")),
    };
    for q in &entries {
        let _ = writeln!(
            out,
            "#{} {} {} ({}, seen {} time(s), last at {}): {}",
            q.id, q.provider, q.reference, q.why, q.seen_count, q.last_at, q.summary
        );
    }
    let _ = writeln!(out, "{} quarantined notification(s)", entries.len());
    ExitCode::SUCCESS
}

/// Whether the outcome means "applied, now or before", and the line that says what happened.
fn describe(outcome: NotificationOutcome, status: u16) -> (bool, String) {
    use NotificationOutcome as O;
    match outcome {
        O::Applied => (true, "applied".into()),
        O::Duplicate => (true, "already applied: nothing changed".into()),
        O::UnknownReference => (
            false,
            "still names no checkout: kept in quarantine (create the checkout first)".into(),
        ),
        O::Rejected => (
            false,
            format!(
                "refused again (HTTP {status}): the signature does not verify with this \
                 configuration, or its timestamp is past the bank's tolerance"
            ),
        ),
        O::Unavailable => (false, "the store is busy: run the replay again".into()),
        O::Ignored | O::Handshake => (true, "not a payment event: nothing to apply".into()),
        other => (false, format!("not applied ({other:?}, HTTP {status})")),
    }
}

/// The store: `--database-url`, the demo folder of `--data`, or the configuration's `[store]`.
async fn open_store(
    args: &ReplayArgs,
    config: &ShopConfig,
) -> Result<Arc<dyn PaymentStore>, String> {
    if let Some(url) = args
        .database_url
        .as_deref()
        .or(config.store.postgres.as_deref())
    {
        let mut options = PostgresOptions::default();
        if let Some(schema) = &config.store.postgres_schema {
            options = options.schema(schema);
        }
        let store = PostgresStore::connect_with(url, options)
            .await
            .map_err(|e| format!("cannot open the PostgreSQL store: {e}"))?;
        return Ok(Arc::new(store));
    }
    let path = match &args.data {
        Some(dir) => dir.join(tpe_demo::replay::DATABASE_FILE),
        None => config
            .sqlite_path()
            .ok_or("no store: give --data DIR, --database-url or [store] in the configuration")?,
    };
    // Opening creates a missing file: a typo would replay against an empty store.
    if !path.is_file() {
        return Err(format!("no database at {}", path.display()));
    }
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(Arc::new(store))
}

/// The quarantine ids to replay: the one asked for, or those naming the reference (the bank's,
/// or the one a checkout maps to), oldest first, among the most recent entries.
async fn entries(args: &ReplayArgs, engine: &Engine) -> Result<Vec<i64>, String> {
    if let Some(id) = args.quarantine {
        return Ok(vec![id]);
    }
    let Some(reference) = args.reference.as_deref() else {
        return Ok(Vec::new());
    };
    let mut names = vec![reference.to_owned()];
    if let Ok(r) = tpe_core::PaymentReference::parse(reference)
        && let Ok(Some(checkout)) = engine.checkout(&r).await
    {
        names.push(checkout.bank_reference.as_str().to_owned());
    }
    let listed = engine
        .quarantined(MAX_LIMIT)
        .await
        .map_err(|e| format!("cannot read the quarantine: {e}"))?;
    let mut ids: Vec<i64> = listed
        .into_iter()
        .filter(|q| names.contains(&q.reference))
        .map(|q| q.id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

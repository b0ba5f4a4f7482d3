//! The background loop: relay every second, retraction and reconciliation every minute.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;

/// Running background work; dropping it does not stop it, [`Background::shutdown`] does.
#[derive(Debug)]
pub struct Background {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Background {
    /// Stops after the current item (each step is idempotent if cut short) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Engine {
    /// Spawns the background loop on the current tokio runtime: the relay every
    /// `relay_every` (bounded poll, no hot loop), the retraction and reconciliation jobs every
    /// `jobs_every`. Errors are logged and retried at the next tick.
    pub fn spawn_background(&self, relay_every: Duration, jobs_every: Duration) -> Background {
        let (stop, mut stopped) = watch::channel(false);
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let mut relay = tokio::time::interval(relay_every);
            let mut jobs = tokio::time::interval(jobs_every);
            relay.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            jobs.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = relay.tick() => {
                        if let Err(e) = engine.run_relay_once(engine.now()).await {
                            tracing::warn!(error = %e, "relay pass failed");
                        }
                    }
                    _ = jobs.tick() => {
                        let now = engine.now();
                        if let Err(e) = engine.run_retraction(now).await {
                            tracing::warn!(error = %e, "retraction run failed");
                        }
                        if let Err(e) = engine.run_reconciliation(now).await {
                            tracing::warn!(error = %e, "reconciliation run failed");
                        }
                    }
                }
            }
        });
        Background { stop, task }
    }
}

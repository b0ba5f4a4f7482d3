//! Replaying a quarantined notification once its cause is fixed (the checkout it names now
//! exists, the provider's configuration corrected): the bytes kept with the quarantine entry go
//! through the live path again — verified again, applied exactly once, answered the same way.

use tpe_core::{NotificationTooLarge, ProviderId};
use tpe_store::StoreError;

use crate::engine::Engine;
use crate::notify::NotificationResponse;

/// Why a quarantined notification could not be fed again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// No quarantine entry has this id.
    #[error("no quarantined notification has id {id}")]
    NotFound {
        /// The id asked for.
        id: i64,
    },
    /// The entry was set aside without its bytes (an amount mismatch found inside a
    /// transition, or an entry written before the bytes were kept).
    #[error(
        "quarantined notification {id} was kept without its bytes: ask the bank to send it again"
    )]
    NoBytes {
        /// The entry.
        id: i64,
    },
    /// The provider that received it is not configured in this engine.
    #[error("quarantined notification {id} is for provider {provider}, which is not configured")]
    UnknownProvider {
        /// The entry.
        id: i64,
        /// Its provider.
        provider: ProviderId,
    },
    /// The kept bytes exceed the provider's notification limits.
    #[error("quarantined notification {id}: {source}")]
    TooLarge {
        /// The entry.
        id: i64,
        /// The limit exceeded.
        #[source]
        source: NotificationTooLarge,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Feeds the quarantined notification `id` to [`Engine::handle_notification`] again, with
    /// the bytes it arrived with: its signature is verified again (with today's keys and
    /// clock, so a bank whose signature carries a short-lived timestamp refuses an old one),
    /// and it is applied exactly once — a second replay, or the bank's own retry, is a
    /// duplicate that changes nothing. Still naming no checkout, it stays quarantined (one
    /// more sighting).
    ///
    /// # Errors
    /// [`ReplayError`]: no such entry, no bytes kept, its provider not configured, or the
    /// store unreadable. What the live path answers (refused, duplicate, store busy) is in the
    /// returned response's [`outcome`](NotificationResponse::outcome).
    pub async fn replay_quarantined(&self, id: i64) -> Result<NotificationResponse, ReplayError> {
        let entry = self
            .inner
            .store
            .quarantine_entry(id)
            .await?
            .ok_or(ReplayError::NotFound { id })?;
        let raw = entry.raw.ok_or(ReplayError::NoBytes { id })?;
        let provider = entry.record.provider;
        let Some(p) = self.provider(provider.as_str()) else {
            return Err(ReplayError::UnknownProvider { id, provider });
        };
        let notification = raw
            .to_notification(p.profile().limits)
            .map_err(|source| ReplayError::TooLarge { id, source })?;
        let response = self
            .handle_notification(provider.as_str(), &notification)
            .await;
        tracing::info!(
            quarantine_id = id,
            %provider,
            outcome = ?response.outcome,
            "quarantined notification replayed"
        );
        Ok(response)
    }
}

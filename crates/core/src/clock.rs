//! The one place that reads the system clock.
//!
//! Everything else receives `now` as a [`Timestamp`] argument, so tests, the demo's "as of" jobs
//! and replays are deterministic. Clippy's `disallowed-methods` enforces this for the workspace.

use std::sync::{Arc, Mutex};

pub use jiff::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the single sanctioned read of the clock
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to: for tests and for running jobs "as of" a date.
///
/// ```
/// use tpe_core::clock::{Clock, ManualClock, Timestamp};
/// let clock = ManualClock::new(Timestamp::from_second(1_700_000_000)?);
/// clock.advance(jiff::SignedDuration::from_secs(60));
/// assert_eq!(clock.now().as_second(), 1_700_000_060);
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Sets the time.
    pub fn set(&self, at: Timestamp) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Moves the time forward (or back, with a negative duration). Saturates at the limits.
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *t = t.checked_add(by).unwrap_or(*t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

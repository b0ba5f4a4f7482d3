//! [`StoreError`]: what went wrong in the store, and whether the caller should retry.

use tpe_core::{CheckoutStatus, PaymentReference, ProviderId, TransitionError};

/// A boxed database error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error of the payment store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No checkout has this reference.
    #[error("no checkout has reference {reference}")]
    NotFound {
        /// The reference asked for.
        reference: String,
    },
    /// A checkout with this reference already exists.
    #[error("a checkout with reference {reference} already exists")]
    AlreadyExists {
        /// The reference.
        reference: PaymentReference,
    },
    /// The event does not apply to the checkout in its state; nothing was written.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A notification verified by one provider names a checkout created for another; nothing
    /// was written (the caller quarantines it).
    #[error(
        "checkout {reference} belongs to provider {expected}, the notification came from {received}"
    )]
    ProviderMismatch {
        /// The checkout.
        reference: PaymentReference,
        /// Its provider.
        expected: ProviderId,
        /// The provider that verified the notification.
        received: ProviderId,
    },
    /// An input is out of bounds; nothing was written.
    #[error("invalid {field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// No outbox row has this id.
    #[error("no outbox effect has id {id}")]
    EffectNotFound {
        /// The id.
        id: i64,
    },
    /// The database cannot be reached or cannot write now (connection refused or dropped, pool
    /// exhausted, file locked past the busy timeout, disk full, read-only). Nothing was
    /// written; the engine answers 503 so the bank retries.
    #[error("payment store unavailable during {op}: {source}")]
    Unavailable {
        /// The operation.
        op: &'static str,
        /// The database error.
        #[source]
        source: BoxError,
    },
    /// Any other database error; the transaction was rolled back.
    #[error("database error during {op}: {source}")]
    Database {
        /// The operation.
        op: &'static str,
        /// The database error.
        #[source]
        source: BoxError,
    },
    /// A stored value cannot be read back (edited by hand, or written by a newer version).
    #[error("corrupt stored value: {what}")]
    Corrupt {
        /// What could not be read, and where.
        what: String,
    },
}

impl StoreError {
    /// The database is unavailable and the operation may succeed later: answer 503, retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The status a checkout was in when a transition was refused, if that is the error.
    pub fn refused_in(&self) -> Option<CheckoutStatus> {
        match self {
            Self::Transition(
                TransitionError::NotAwaitingPayment { status, .. }
                | TransitionError::NotRetractable { status, .. },
            ) => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt { what: what.into() }
    }

    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            why: why.into(),
        }
    }

    /// The same classification as [`StoreError::from_db`] for an error shared by several
    /// operations (a batch's failed commit): sqlx errors cannot be cloned, so the source is
    /// the error's message.
    pub(crate) fn from_db_ref(op: &'static str, e: &sqlx::Error) -> Self {
        let source: BoxError = e.to_string().into();
        if is_unavailable(e) {
            Self::Unavailable { op, source }
        } else {
            Self::Database { op, source }
        }
    }

    /// Classifies a database error raised during `op`.
    pub(crate) fn from_db(op: &'static str, e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable {
                op,
                source: Box::new(e),
            }
        } else {
            Self::Database {
                op,
                source: Box::new(e),
            }
        }
    }
}

/// Connection, pool and I/O failures, SQLite busy/locked/full/read-only and PostgreSQL
/// connection, resource and shutdown classes.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if let Ok(n) = code.parse::<i64>() {
                // SQLite: primary code is the low byte of the extended code.
                // BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
                matches!(n & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14)
            } else {
                // PostgreSQL SQLSTATE: 08 connection, 53 resources, 57P0x shutdown, 58 system.
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code.starts_with("58")
            }
        }
        _ => false,
    }
}

/// A PostgreSQL serialization failure or deadlock: the transaction may simply be run again.
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// A unique constraint refused the row.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

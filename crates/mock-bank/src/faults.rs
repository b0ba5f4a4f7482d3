//! The scripted API faults ([`ApiFault`]) of the banks' server APIs (Paybox Direct, Stripe-like REST).

use axum::http::StatusCode;
use axum::response::Response;

use crate::journal::{EntryKind, JournalEntry, Side};
use crate::layer::Note;
use crate::scenario::ApiFault;
use crate::state::BankState;

/// Answers as `fault` says: a 500 at once, or a 504 after hanging `api_hang`.
pub(crate) async fn api_fault(
    state: &BankState,
    fault: ApiFault,
    reference: Option<&str>,
) -> Response {
    // Recorded before hanging: a client that gives up closes the connection, which cancels this
    // handler, and the journal must still show the fault.
    let detail = match fault {
        ApiFault::Error500 => "fault_500",
        ApiFault::Timeout => "fault_timeout",
    };
    state.record(
        JournalEntry::new(EntryKind::Decision, Side::Control, "api_fault", detail)
            .reference(reference),
    );
    match fault {
        ApiFault::Error500 => Note::new(reference, detail)
            .attach((StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        ApiFault::Timeout => {
            let hang = state.config().api_hang;
            state.sleep_or_shutdown(hang).await;
            Note::new(reference, detail).attach((StatusCode::GATEWAY_TIMEOUT, "timeout"))
        }
    }
}

//! The journal layer: every request served is recorded, with what its handler said about it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::journal::{EntryKind, JournalEntry, Side};
use crate::state::BankState;

/// What a handler tells the journal about the request it served.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    reference: Option<String>,
    detail: String,
}

impl Note {
    pub(crate) fn new(reference: Option<&str>, detail: &str) -> Self {
        Self {
            reference: reference.map(str::to_owned),
            detail: detail.to_owned(),
        }
    }

    /// The response, carrying this note to the journal layer.
    pub(crate) fn attach(self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Marks `response` as served on `side`, unless its handler already chose a side.
pub(crate) fn tag_side(side: Side, mut response: Response) -> Response {
    if response.extensions().get::<Side>().is_none() {
        response.extensions_mut().insert(side);
    }
    response
}

/// Records each request (except reads of the journal itself) once it is answered: the side is
/// the control side under `/_mock/`, else the side the serving bank tagged (control when no
/// route served the request).
pub(crate) async fn journal_layer(
    State(state): State<BankState>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    if path == "/_mock/journal" && method == "GET" {
        return response;
    }
    let side = if path.starts_with("/_mock") {
        Side::Control
    } else {
        response
            .extensions()
            .get::<Side>()
            .copied()
            .unwrap_or(Side::Control)
    };
    let note = response.extensions().get::<Note>().cloned();
    let mut entry = JournalEntry::new(
        EntryKind::Request,
        side,
        path.chars().take(512).collect::<String>(),
        note.as_ref().map_or("", |n| n.detail.as_str()),
    )
    .reference(note.as_ref().and_then(|n| n.reference.as_deref()))
    .method(&method);
    entry.status = Some(response.status().as_u16());
    state.record(entry);
    response
}

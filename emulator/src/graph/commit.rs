//! Turning received bytes into a file: drive commits (with conflict behaviour), the answers of
//! finished print documents and mail attachments, and the record in `/_emulator/files`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::drive::{CommitOutcome, ConflictBehavior};
use super::path::DriveTarget;
use super::session::{Content, GraphSession, Variant, lock};
use crate::answer::{Style, graph_error, json_answer};
use crate::app::AppState;
use crate::clock::wall_now;
use crate::exchange::FaultApplied;
use crate::faults::Fault;
use crate::storage::{Finished, Protocol, StoredFile};

/// Keeps the part file under its final name (unless content is discarded) and lists the file.
pub(crate) async fn finish_file(
    state: &AppState,
    finished: Finished,
    part: Option<PathBuf>,
    path: String,
    protocol: Protocol,
) -> std::io::Result<()> {
    let disk_path = match part {
        Some(part) => Some(state.storage.keep(&part, &path).await?),
        None => None,
    };
    state
        .storage
        .record(StoredFile::new(path, &finished.hashes, protocol, disk_path));
    state.stats.file_completed();
    Ok(())
}

/// Commits a drive session whose bytes have all arrived, under its own target and conflict
/// behaviour or under `place` (an explicit commit). Answers `201` (created), `200` (replaced) or
/// `409` (name taken under `fail`; the session stays alive for another commit). With `lie`
/// (`wrong-size`, `wrong-hash`) the commit is made truthfully and the item answered is doctored.
///
/// The check that the session is still live and the change to the drive happen under the
/// session's lock, so a commit and a `DELETE` (or a second commit) cannot both succeed: whichever
/// comes second finds the session ended and answers `404`. While the last fragment's bytes are
/// still being finished, a commit answers [`commit_busy`].
pub(crate) async fn commit_drive(
    state: &Arc<AppState>,
    session: &Arc<Mutex<GraphSession>>,
    place: Option<(DriveTarget, ConflictBehavior)>,
    lie: Option<Fault>,
) -> Response {
    let committed = {
        let mut guard = lock(session);
        if guard.ended {
            return Style::Graph.expired();
        }
        let Variant::Drive {
            target, conflict, ..
        } = guard.variant.clone()
        else {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "invalidRequest",
                "Only drive item uploads are committed.",
            );
        };
        let finished = match &guard.content {
            Content::Complete(finished) => finished.clone(),
            _ if guard.finishing() => return commit_busy(),
            _ => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "Not every byte of the upload has been received.",
                );
            }
        };
        let (target, conflict) = place.unwrap_or((target, conflict));
        let outcome =
            state
                .drive
                .commit(&target, conflict, &finished.hashes, &state.ids, wall_now());
        let (status, item) = match outcome {
            CommitOutcome::Conflict => {
                return graph_error(
                    StatusCode::CONFLICT,
                    "nameAlreadyExists",
                    "An item with the same name already exists under the parent.",
                );
            }
            CommitOutcome::Created(item) => (StatusCode::CREATED, item),
            CommitOutcome::Replaced(item) => (StatusCode::OK, item),
        };
        guard.ended = true;
        (status, item, finished, guard.part.clone())
    };
    let (status, item, finished, part) = committed;
    state.graph.complete(session, finished.size());
    if let Err(error) = finish_file(
        state,
        finished,
        part,
        item.target.display(),
        Protocol::GraphDrive,
    )
    .await
    {
        return super::create::storage_failure(&error);
    }
    let reported = state.config.graph.drive_hashes;
    let mut json = item.json(reported);
    let lied = match lie {
        Some(fault) => {
            super::misbehave::doctor_item(&mut json, fault, &item.hashes, reported).await
        }
        None => false,
    };
    let answer = json_answer(status, json);
    if lied {
        FaultApplied::mark(answer)
    } else {
        answer
    }
}

/// `503` with `Retry-After: 1`: the upload's last bytes are still being finished, so it cannot
/// be committed yet. A status that says "busy, retry" rather than `409`, which clients read as
/// a name conflict.
pub(crate) fn commit_busy() -> Response {
    let mut answer = graph_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
        "The upload's last fragment is still being stored; retry the commit.",
    );
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    answer
}

/// The answer to a finished mail attachment: `201 Created`, no body, `Location` naming it.
pub(super) fn attachment_created(state: &AppState, message: &str) -> Response {
    let attachment = state.ids.item_id();
    let location = format!("{}/v1.0/{message}/attachments/{attachment}", state.base_url);
    let mut answer = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        answer.headers_mut().insert(header::LOCATION, value);
    }
    answer
}

/// The print document a finished upload answers with.
pub(super) fn print_document_json(
    document: &str,
    name: &Option<String>,
    content_type: &Option<String>,
    size: u64,
) -> serde_json::Value {
    let doc_id = document.rsplit('/').next().unwrap_or_default();
    serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.printDocument",
        "id": doc_id,
        "documentName": name,
        "contentType": content_type,
        "size": size,
    })
}

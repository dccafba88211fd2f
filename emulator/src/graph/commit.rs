//! Turning received bytes into a file: drive commits (with conflict behaviour) and the record in
//! `/_emulator/files`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::Response;

use super::drive::{CommitOutcome, ConflictBehavior};
use super::path::DriveTarget;
use super::session::{Content, GraphSession, Variant, lock};
use crate::answer::{graph_error, json_answer};
use crate::app::AppState;
use crate::clock::wall_now;
use crate::storage::{Finished, Protocol, StoredFile, completed_at};

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
    state.storage.record(StoredFile {
        path,
        size: finished.size,
        sha256: finished.sha256,
        protocol,
        completed_at: completed_at(wall_now()),
        disk_path,
    });
    state.stats.file_completed();
    Ok(())
}

/// Commits a drive session whose bytes have all arrived, under its own target and conflict
/// behaviour or under `place` (an explicit commit). Answers `201` (created), `200` (replaced) or
/// `409` (name taken under `fail`; the session stays alive for another commit).
pub(crate) async fn commit_drive(
    state: &Arc<AppState>,
    session: &Arc<Mutex<GraphSession>>,
    place: Option<(DriveTarget, ConflictBehavior)>,
) -> Response {
    let taken = {
        let mut guard = lock(session);
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
        match &mut guard.content {
            Content::Complete(slot) => slot.take().map(|content| {
                (
                    content,
                    place.unwrap_or((target, conflict)),
                    guard.id.clone(),
                )
            }),
            _ => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "Not every byte of the upload has been received.",
                );
            }
        }
    };
    let Some(((finished, part), (target, conflict), id)) = taken else {
        return graph_error(
            StatusCode::CONFLICT,
            "conflict",
            "A commit of this upload is in progress.",
        );
    };
    let outcome = state.drive.commit(
        &target,
        conflict,
        finished.size,
        &finished.sha256,
        &state.ids,
        wall_now(),
    );
    let (status, item) = match outcome {
        CommitOutcome::Conflict => {
            if let Content::Complete(slot) = &mut lock(session).content {
                *slot = Some((finished, part));
            }
            return graph_error(
                StatusCode::CONFLICT,
                "nameAlreadyExists",
                "An item with the same name already exists under the parent.",
            );
        }
        CommitOutcome::Created(item) => (StatusCode::CREATED, item),
        CommitOutcome::Replaced(item) => (StatusCode::OK, item),
    };
    lock(session).ended = true;
    state.graph.remove(&id);
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
    json_answer(status, item.json())
}

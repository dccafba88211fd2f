//! The simple upload: `PUT …/{parent}:/{name}:/content` (or `PUT …/items/{id}/content`, new
//! content for an existing item) carrying the whole file in one request, no session (what
//! clients use below an upload cutoff, and the only way to store an empty file).
//!
//! Strict as the service: the caller's bearer token (`401`, checked before the fault plan),
//! `Content-Length` (`411`), a body no larger than
//! [`Limits::simple_upload_max`](crate::Limits::simple_upload_max) (`413`, before a byte is
//! read) nor than the quota (`507`), a body that ends where it said (`400`), `if-match` /
//! `if-none-match` (`412`), and `?@microsoft.graph.conflictBehavior=fail|replace|rename`
//! (`400` for anything else; without it the service replaces, as a `PUT` does). The bytes are
//! stored as they arrive and committed only once the whole body is in, so a connection cut
//! mid-body leaves nothing behind. The answer is the drive item JSON: `201` when it was
//! created, `200` when it replaced a file, `409 nameAlreadyExists` under `fail`.
//!
//! Faults: the generic ones (`status`, `throttle`, `drop-*`, `lose-answer`, which stores the
//! file and drops the answer), and the lies `wrong-size` and `wrong-hash`, which store the file
//! truthfully and doctor the item answered.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

use super::commit::finish_file;
use super::create::{check_drive_size, check_preconditions, storage_failure};
use super::drive::{CommitOutcome, ConflictBehavior};
use super::path::DriveTarget;
use super::query_value;
use crate::answer::{graph_error, json_answer};
use crate::app::AppState;
use crate::body::BodyReader;
use crate::clock::wall_now;
use crate::exchange::{FaultApplied, HandlerFault, content_length};
use crate::storage::{Protocol, remove_part};

/// The query parameter naming the conflict behaviour.
const CONFLICT_PARAMETER: &str = "@microsoft.graph.conflictBehavior";

/// What a simple upload writes.
pub(crate) enum Place {
    /// The item at this path (`…:/content`), new or existing.
    Path(DriveTarget),
    /// The existing item with this id (`…/items/{id}/content`): its content is replaced.
    Id(String),
}

/// `PUT …:/content` or `PUT …/items/{id}/content`: stores the body as the item.
pub(crate) async fn put(
    state: Arc<AppState>,
    request: Request,
    place: Place,
    fault: HandlerFault,
) -> Response {
    let query = request.uri().query().unwrap_or("").to_owned();
    let headers = request.headers().clone();
    let refuse = |status: StatusCode, code: &str, message: &str| graph_error(status, code, message);
    let (target, by_id) = match place {
        Place::Path(target) => (target, false),
        Place::Id(id) => match state.drive.by_id(&id) {
            Some(item) => (item.target, true),
            None => {
                return refuse(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    "The resource could not be found.",
                );
            }
        },
    };
    let conflict = match query_value(&query, CONFLICT_PARAMETER) {
        // New content for an item named by id replaces it, whatever the query says.
        _ if by_id => ConflictBehavior::Replace,
        // A PUT replaces what is there unless told otherwise.
        None => ConflictBehavior::Replace,
        Some(text) => match text.parse::<ConflictBehavior>() {
            Ok(behavior) => behavior,
            Err(()) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "conflictBehavior must be fail, replace or rename",
                );
            }
        },
    };
    let Some(declared) = content_length(&headers) else {
        return refuse(
            StatusCode::LENGTH_REQUIRED,
            "lengthRequired",
            "A simple upload must carry Content-Length.",
        );
    };
    let max = state.config.limits.simple_upload_max;
    if declared > max {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requestTooLarge",
            &format!(
                "A simple upload carries at most {max} bytes; use an upload session for larger files."
            ),
        );
    }
    if let Err(refusal) = check_drive_size(&state, declared) {
        return refusal;
    }
    if let Err(refusal) = check_preconditions(&headers, state.drive.at(&target).as_ref()) {
        return refusal;
    }
    let mut sink = state.storage.sequential();
    let mut body = BodyReader::new(request, &state.stats, true);
    let whole = loop {
        match body.next().await {
            Ok(Some(data)) => {
                if sink.len() + data.len() as u64 > declared {
                    break false;
                }
                if let Err(error) = sink.write(&data).await {
                    discard(sink);
                    return storage_failure(&error);
                }
            }
            Ok(None) => break sink.len() == declared,
            Err(_) => break false,
        }
    };
    if !whole {
        discard(sink);
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "The body does not have the length Content-Length declared.",
        );
    }
    let (finished, part) = match sink.finish().await {
        Ok(done) => done,
        Err(error) => return storage_failure(&error),
    };
    let outcome = state
        .drive
        .commit(&target, conflict, &finished.hashes, &state.ids, wall_now());
    let (status, item) = match outcome {
        CommitOutcome::Conflict => {
            if let Some(part) = part {
                remove_part(&part);
            }
            return refuse(
                StatusCode::CONFLICT,
                "nameAlreadyExists",
                "An item with the same name already exists under the parent.",
            );
        }
        CommitOutcome::Created(item) => (StatusCode::CREATED, item),
        CommitOutcome::Replaced(item) => (StatusCode::OK, item),
    };
    let display = item.target.display();
    if let Err(error) = finish_file(&state, finished, part, display, Protocol::GraphDrive).await {
        return storage_failure(&error);
    }
    let reported = state.config.graph.drive_hashes;
    let mut json = item.json(reported);
    let lied = match fault.misbehaviour() {
        Some(lie) => super::misbehave::doctor_item(&mut json, lie, &item.hashes, reported).await,
        None => false,
    };
    let answer = json_answer(status, json);
    if lied {
        FaultApplied::mark(answer)
    } else {
        answer
    }
}

/// Drops a stream that will not become a file, with its part file.
fn discard(sink: crate::storage::SequentialSink) {
    if let Some(part) = sink.part_path() {
        remove_part(part);
    }
}

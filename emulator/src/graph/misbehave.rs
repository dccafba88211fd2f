//! The lies of a hostile Graph server, told on requests that passed every rule.
//!
//! Each is a fault a script places (see [`Fault`]: `premature-item`, `skip-ahead`, `regress`,
//! `empty-accept`, `wrong-size`, `wrong-hash`, `old-item`); each is what an independent server
//! answered a real client. The server's own state stays truthful unless the lie is about that
//! state (`regress` forgets the bytes, `old-item` ends the session and replaces the item), so
//! a client that asks again (`GET {uploadUrl}`, a lookup by path) can find the truth where the
//! real server would have told it. A function here answers `None` or leaves the answer unmarked
//! when the request gives nothing to lie about; the fault is then not counted.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use resumable_core::digest::SourceHashes;
use resumable_core::time::UnixTime;
use serde_json::Value;

use super::commit::{attachment_created, print_document_json};
use super::drive::{DriveItem, hashes_json};
use super::fragment::{ended_meanwhile, in_progress_status};
use super::session::{Content, GraphSession, Variant, lock};
use crate::answer::json_answer;
use crate::app::AppState;
use crate::clock::wall_now;
use crate::config::DriveHashes;
use crate::exchange::FaultApplied;
use crate::faults::Fault;
use crate::storage::{ContentDigest, SequentialSink};

/// How much older than the session the item `old-item` plants is.
const OLD_ITEM_AGE: Duration = Duration::from_secs(24 * 3600);

/// The lie told instead of an in-progress answer, if `lie` is one and the fragment gives it
/// something to lie about: `premature-item` (every variant) and `skip-ahead` (drive items and
/// mail attachments, unless a single byte is missing).
pub(super) fn in_progress(
    state: &AppState,
    session: &GraphSession,
    lie: Fault,
) -> Option<Response> {
    let total = session.total?;
    let drive_form = state.config.graph.drive_range_form;
    let answer = match (lie, &session.variant) {
        (Fault::PrematureItem, Variant::Drive { target, .. }) => {
            // The bytes stored so far, described as the whole file.
            let Content::Sequential(Some(sink)) = &session.content else {
                return None;
            };
            let now = wall_now();
            let item = DriveItem {
                id: state.ids.item_id(),
                target: target.clone(),
                size: total,
                hashes: sink.hashes(),
                version: 1,
                created: now,
                modified: now,
            };
            json_answer(
                StatusCode::CREATED,
                item.json(state.config.graph.drive_hashes),
            )
        }
        (
            Fault::PrematureItem,
            Variant::Print {
                document,
                name,
                content_type,
            },
        ) => json_answer(
            StatusCode::CREATED,
            print_document_json(document, name, content_type, total),
        ),
        (Fault::PrematureItem, Variant::Mail { message, .. }) => attachment_created(state, message),
        (Fault::SkipAhead { bytes }, Variant::Drive { .. } | Variant::Mail { .. }) => {
            let claimed = session
                .position
                .saturating_add(bytes)
                .min(total.saturating_sub(1));
            if claimed <= session.position {
                return None;
            }
            json_answer(
                in_progress_status(&session.variant),
                session.status_json_claiming(claimed, drive_form),
            )
        }
        _ => return None,
    };
    Some(FaultApplied::mark(answer))
}

/// `regress`: the fragment was stored into `sink`; now every byte of the session is forgotten
/// and the answer asks for the upload from its first byte.
pub(super) async fn regress(
    state: &AppState,
    session: &Arc<Mutex<GraphSession>>,
    mut sink: SequentialSink,
    total: u64,
) -> Response {
    let emptied = sink.reset().await;
    let mut guard = lock(session);
    if guard.ended {
        drop(guard);
        return ended_meanwhile(session);
    }
    guard.content = Content::Sequential(Some(sink));
    if let Err(error) = emptied {
        return super::create::storage_failure(&error);
    }
    guard.total.get_or_insert(total);
    guard.position = 0;
    guard.extend();
    let answer = json_answer(
        in_progress_status(&guard.variant),
        guard.status_json(state.config.graph.drive_range_form),
    );
    FaultApplied::mark(answer)
}

/// `old-item`: the last fragment was read and nothing kept; the session ends (every request on
/// it answers `404` from now on) and someone else's older file of `total` bytes takes the
/// item's path. The answer is never delivered: the connection is dropped after it.
pub(super) async fn old_item(
    state: &AppState,
    session: &Arc<Mutex<GraphSession>>,
    total: u64,
) -> Response {
    let (target, created) = {
        let guard = lock(session);
        let Variant::Drive { target, .. } = &guard.variant else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        (target.clone(), guard.created_wall)
    };
    state.graph.retire(session);
    let hashes = match other_content_hashes(total, None).await {
        Ok(hashes) => hashes,
        Err(error) => return super::create::storage_failure(&error),
    };
    let age = i64::try_from(OLD_ITEM_AGE.as_millis()).unwrap_or(i64::MAX);
    let when = UnixTime::from_millis(created.as_millis().saturating_sub(age));
    state.drive.plant(&target, &hashes, &state.ids, when);
    FaultApplied::mark(StatusCode::OK.into_response())
}

/// Doctors a finished item's JSON (drive item or print document, describing content with
/// `hashes`) as `lie` says; answers whether it changed anything. `wrong-size` changes `size`;
/// `wrong-hash` replaces `file.hashes` (an item without them, a print document, is left
/// alone).
pub(crate) async fn doctor_item(
    item: &mut Value,
    lie: Fault,
    hashes: &SourceHashes,
    reported: DriveHashes,
) -> bool {
    match lie {
        Fault::WrongSize { reported: claim } => {
            item["size"] = Value::from(wrong_size(hashes.size, claim));
            true
        }
        Fault::WrongHash => {
            if item.pointer("/file/hashes").is_none() {
                return false;
            }
            let Ok(other) = other_content_hashes(hashes.size, Some(*hashes)).await else {
                return false;
            };
            item["file"]["hashes"] = hashes_json(&other, reported);
            true
        }
        _ => false,
    }
}

/// The size `wrong-size` reports for a file of `size` bytes: the claim, unless it is the truth.
fn wrong_size(size: u64, claim: Option<u64>) -> u64 {
    match claim {
        Some(claim) if claim != size => claim,
        _ => size.checked_add(1).unwrap_or(size - 1),
    }
}

/// The hashes of other content of `size` bytes: `size` zero bytes, or `0xFF` bytes when that
/// would be `content` itself. Computed on a blocking thread (a pass over `size` bytes).
async fn other_content_hashes(
    size: u64,
    content: Option<SourceHashes>,
) -> io::Result<SourceHashes> {
    tokio::task::spawn_blocking(move || {
        let zeros = repeated_byte_hashes(0, size);
        if content == Some(zeros) {
            repeated_byte_hashes(0xFF, size)
        } else {
            zeros
        }
    })
    .await
    .map_err(io::Error::other)
}

fn repeated_byte_hashes(byte: u8, size: u64) -> SourceHashes {
    let block = vec![byte; 1 << 20];
    let mut digest = ContentDigest::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        digest.update(&block[..n]);
        left -= n as u64;
    }
    digest.hashes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_size_is_never_the_true_one() {
        assert_eq!(wrong_size(10, None), 11);
        assert_eq!(wrong_size(10, Some(0)), 0);
        assert_eq!(wrong_size(10, Some(10)), 11);
        assert_eq!(wrong_size(u64::MAX, None), u64::MAX - 1);
    }

    #[tokio::test]
    async fn other_content_is_never_the_content() {
        let content = SourceHashes::of(b"abcd");
        let other = other_content_hashes(4, Some(content)).await.unwrap();
        assert_eq!(other, SourceHashes::of(&[0; 4]));
        let zeros = SourceHashes::of(&[0; 4]);
        let other = other_content_hashes(4, Some(zeros)).await.unwrap();
        assert_eq!(other, SourceHashes::of(&[0xFF; 4]));
        let big = other_content_hashes(3 << 20, None).await.unwrap();
        assert_eq!(big, SourceHashes::of(&vec![0; 3 << 20]));
    }

    #[tokio::test]
    async fn doctoring_changes_only_what_the_lie_is_about() {
        let hashes = SourceHashes::of(b"abc");
        let mut document = serde_json::json!({"id": "d", "size": 3});
        let size = Fault::WrongSize { reported: None };
        assert!(doctor_item(&mut document, size, &hashes, DriveHashes::Business).await);
        assert_eq!(document["size"], 4);
        assert!(
            !doctor_item(
                &mut document,
                Fault::WrongHash,
                &hashes,
                DriveHashes::Business
            )
            .await
        );
        let mut item = serde_json::json!({"size": 3, "file": {"hashes": {}}});
        assert!(doctor_item(&mut item, Fault::WrongHash, &hashes, DriveHashes::Personal).await);
        let zeros = SourceHashes::of(&[0; 3]);
        assert_eq!(
            item["file"]["hashes"],
            hashes_json(&zeros, DriveHashes::Personal)
        );
        assert_eq!(item["size"], 3);
    }
}

//! The commit's answers: 412 under each policy, 409, 413, the 501 fallback, chunks the host
//! holds, and a commit whose answer was lost.

use alloc::format;
use alloc::string::ToString;
use alloc::vec;

use crate::http::{RequestKind, Response, TransportError};
use crate::secret::Secret;
use crate::session::StateMachine;
use crate::wopi::{BodyKind, ChunkId, DecoderConfig, decode_put_chunked_file};

use super::super::*;
use super::{Drive, LEN, bytes_of, config, source};

#[test]
fn a_412_follows_the_policy() {
    let conflict = || Response::new(412).with_header("X-WOPI-SequenceNumber", "12");
    // Fail: the error carries both numbers.
    let mut drive = Drive::new(config());
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive.answer(&commit, conflict());
    assert_eq!(
        drive.events().last(),
        Some(&WopiEvent::Failed(WopiError::SequenceMismatch {
            sent: 1,
            host: Some(12),
            maybe_own_commit: false,
            host_reason: None
        }))
    );
    // Adopt: commit again with the host's number, once.
    let mut config = config();
    config.on_sequence_conflict = SequenceConflictPolicy::Adopt { max: 1 };
    let mut drive = Drive::new(config);
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive.answer(&commit, conflict());
    let again = drive.request();
    assert_eq!(again.header("X-WOPI-SequenceNumber"), Some("12"));
    drive.answer(&again, conflict());
    let events = drive.events();
    assert!(events.contains(&WopiEvent::SequenceConflict {
        sent: 1,
        host: Some(12),
        retrying: true,
        maybe_own_commit: false
    }));
    assert!(matches!(
        events.last(),
        Some(WopiEvent::Failed(WopiError::SequenceMismatch {
            sent: 12,
            ..
        }))
    ));
}

#[test]
fn a_409_is_fatal_and_carries_the_lock_redacted() {
    let mut drive = Drive::new(config());
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive.answer(
        &commit,
        Response::new(409)
            .with_header("X-WOPI-Lock", "their-lock")
            .with_header("X-WOPI-ConflictingMechanism", "WOPI-CoauthExclusiveLock")
            .with_header("X-WOPI-FailureReason", "locked by Ada"),
    );
    let Some(WopiEvent::Failed(error)) = drive.events().pop() else {
        panic!("not failed")
    };
    let WopiError::LockMismatch {
        lock,
        mechanism,
        host_reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(lock.as_ref().map(Secret::expose), Some("their-lock"));
    assert_eq!(mechanism.as_deref(), Some("WOPI-CoauthExclusiveLock"));
    assert_eq!(host_reason.as_deref(), Some("locked by Ada"));
    let printed = format!("{error} {error:?}");
    assert!(!printed.contains("their-lock"), "{printed}");
    assert!(printed.contains("WOPI-CoauthExclusiveLock"));
}

#[test]
fn a_413_on_the_commit_is_fatal() {
    let mut drive = Drive::new(config());
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive.answer(&commit, Response::new(413));
    assert_eq!(
        drive.events().last(),
        Some(&WopiEvent::Failed(WopiError::Rejected {
            during: RequestKind::Commit,
            status: 413,
            host_reason: None
        }))
    );
}

#[test]
fn a_501_falls_back_to_one_put_chunked_file_with_the_chunk_inline() {
    let mut drive = Drive::new(config());
    let create = drive.request();
    drive.answer(&create, Response::new(501));
    assert_eq!(drive.events(), vec![WopiEvent::FallingBack]);
    let commit = drive.request();
    assert_eq!(commit.kind, RequestKind::Commit);
    let body = bytes::Bytes::from(bytes_of(&commit.body));
    let decoded =
        decode_put_chunked_file(&body, DecoderConfig::new(BodyKind::PutChunkedFile)).unwrap();
    assert_eq!(decoded.message.upload_session_token_to_commit, None);
    assert_eq!(decoded.chunks.len(), 1);
    assert_eq!(&decoded.chunks[0].1[..], &source()[..]);
    drive.answer(&commit, Response::new(200));
    // A host without CheckFileInfo: the commit's answer is the only word, and says so.
    let info = drive.request();
    drive.answer(&info, Response::new(501));
    let Some(WopiEvent::Completed(done)) = drive.events().pop() else {
        panic!("not completed");
    };
    assert!(done.inline && done.sessions == 0);
    assert_eq!(done.verification.to_string(), "nothing returned to check");
}

#[test]
fn a_stored_file_of_another_size_or_hash_is_not_completed() {
    for (size, content) in [(LEN + 1, source()), (LEN, vec![0u8; LEN as usize])] {
        let mut drive = Drive::new(config());
        drive
            .up
            .set_source_hashes(drive.now, crate::digest::SourceHashes::of(&source()));
        drive.start();
        drive.upload_all();
        let commit = drive.request();
        drive.answer(&commit, Response::new(200));
        let info = drive.request();
        drive.answer(&info, super::file_info(size, &content));
        let Some(WopiEvent::Failed(error)) = drive.events().pop() else {
            panic!("completed with another file");
        };
        assert!(
            matches!(error, WopiError::StoredFileDiffers(_)),
            "{error:?}"
        );
        assert!(error.to_string().contains("NOT complete"), "{error}");
    }
}

#[test]
fn chunks_the_host_holds_are_never_uploaded_and_an_empty_file_commits_at_once() {
    let mut config = config();
    config.host_chunks = vec![ChunkId::of(&source())];
    let mut drive = Drive::new(config);
    assert_eq!(drive.up.stream_len(), 0);
    let commit = drive.request();
    assert_eq!(commit.kind, RequestKind::Commit);
    let body = bytes::Bytes::from(bytes_of(&commit.body));
    let decoded =
        decode_put_chunked_file(&body, DecoderConfig::new(BodyKind::PutChunkedFile)).unwrap();
    assert!(decoded.chunks.is_empty());
    assert_eq!(decoded.message.main_content().unwrap().len(), LEN);

    let empty = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(b""), 0)]);
    let mut drive = Drive::new(empty);
    let commit = drive.request();
    let body = bytes::Bytes::from(bytes_of(&commit.body));
    let decoded =
        decode_put_chunked_file(&body, DecoderConfig::new(BodyKind::PutChunkedFile)).unwrap();
    assert!(decoded.message.main_content().unwrap().is_empty());
}

#[test]
fn a_lost_commit_answer_then_410_uploads_again_and_a_412_says_it_may_be_our_own() {
    let mut config = config();
    config.on_sequence_conflict = SequenceConflictPolicy::Ask;
    let mut drive = Drive::new(config);
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive
        .up
        .handle_transport_error(drive.now, commit.id, TransportError::Timeout);
    let wait = drive.up.poll_timeout().unwrap();
    drive.jump(wait);
    let again = drive.request();
    assert_eq!(again.kind, RequestKind::Commit);
    drive.answer(&again, Response::new(410));
    drive.start();
    drive.upload_all();
    let third = drive.request();
    drive.answer(
        &third,
        Response::new(412).with_header("X-WOPI-SequenceNumber", "2"),
    );
    assert!(drive.events().contains(&WopiEvent::SequenceConflict {
        sent: 1,
        host: Some(2),
        retrying: false,
        maybe_own_commit: true
    }));
    // CheckFileInfo is asked whether the host's version is this file; it holds other bytes,
    // so the conflict stands and waits for the caller.
    assert_eq!(drive.up.state(), WopiState::CheckingFile);
    let info = drive.request();
    drive.answer(&info, super::file_info(LEN, &[7u8; LEN as usize]));
    drive
        .up
        .set_source_hashes(drive.now, crate::digest::SourceHashes::of(&source()));
    assert!(matches!(
        drive.events().last(),
        Some(WopiEvent::Failed(WopiError::SequenceMismatch {
            host: Some(2),
            ..
        }))
    ));
}

#[test]
fn a_412_after_a_lost_commit_is_our_own_file_when_check_file_info_shows_it() {
    let mut drive = Drive::new(config());
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive
        .up
        .handle_transport_error(drive.now, commit.id, TransportError::Timeout);
    let wait = drive.up.poll_timeout().unwrap();
    drive.jump(wait);
    let again = drive.request();
    drive.answer(
        &again,
        Response::new(412).with_header("X-WOPI-SequenceNumber", "2"),
    );
    let info = drive.request();
    drive.answer(&info, super::file_info(LEN, &source()));
    drive
        .up
        .set_source_hashes(drive.now, crate::digest::SourceHashes::of(&source()));
    let Some(WopiEvent::Completed(done)) = drive.events().pop() else {
        panic!("not completed");
    };
    assert_eq!(done.sequence_number, Some(2));
    assert_eq!(done.verification.to_string(), "size and sha256Hash checked");
}

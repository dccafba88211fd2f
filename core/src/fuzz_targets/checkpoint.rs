//! The checkpoint decoders of the Graph and WOPI upload machines.

use alloc::format;
use alloc::vec::Vec;

use crate::graph::{Checkpoint, Upload};
use crate::http::Response;
use crate::session::CHECKPOINT_VERSION;
use crate::session::StateMachine;
use crate::time::Instant;
use crate::wopi::{WopiCheckpoint, WopiUpload};

use super::Choices;

/// [`Checkpoint::from_bytes`] and [`WopiCheckpoint::from_bytes`] on the input, raw or (mostly)
/// as the JSON inside an envelope whose header and CRC are right, so the decoders' JSON and
/// consistency checks are what gets fuzzed. Never a panic, only a typed error; a checkpoint that
/// decodes encodes to bytes that decode to an equal value; resuming from it never panics, nor do
/// a few rounds of the resumed machine; and the resumed machine's own checkpoint decodes.
pub fn checkpoint_decode(data: &[u8]) {
    let mut choices = Choices(data);
    let raw = choices.byte() % 4 == 0;
    let at = Instant::from_millis(u64::from(choices.u16()) * 1000);
    let bytes = if raw {
        choices.0.to_vec()
    } else {
        framed(choices.0)
    };
    graph(&bytes, at);
    wopi(&bytes, at);
}

/// `json` in a checkpoint envelope with the right version and CRC.
pub(crate) fn framed(json: &[u8]) -> Vec<u8> {
    let crc = crc32fast::hash(json);
    let mut bytes = format!("resumable-checkpoint {CHECKPOINT_VERSION} {crc:08x}\n").into_bytes();
    bytes.extend_from_slice(json);
    bytes
}

fn graph(bytes: &[u8], now: Instant) {
    let checkpoint = match Checkpoint::from_bytes(bytes) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            let _ = format!("{error} {error:?}");
            return;
        }
    };
    let again = checkpoint.to_bytes();
    assert_eq!(Checkpoint::from_bytes(&again), Ok(checkpoint.clone()));
    let _ = format!("{checkpoint:?}");
    let Ok(mut upload) = Upload::resume(checkpoint, now) else {
        return;
    };
    let mut now = now;
    for round in 0..8u64 {
        if let Some(request) = upload.poll_request(now) {
            let body = format!("{{\"nextExpectedRanges\":[\"{}-\"]}}", round * 1000);
            upload.handle_response(now, request.id, Response::new(200).with_body(body));
        } else if let Some(deadline) = upload.poll_timeout() {
            now = now.max(deadline);
            upload.handle_timeout(now);
        }
        while upload.poll_event().is_some() {}
        let own = upload.checkpoint();
        assert_eq!(Checkpoint::from_bytes(&own.to_bytes()), Ok(own));
    }
}

fn wopi(bytes: &[u8], now: Instant) {
    let checkpoint = match WopiCheckpoint::from_bytes(bytes) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            let _ = format!("{error} {error:?}");
            return;
        }
    };
    let again = checkpoint.to_bytes();
    assert_eq!(WopiCheckpoint::from_bytes(&again), Ok(checkpoint.clone()));
    let _ = format!("{checkpoint:?}");
    let Ok(mut upload) = WopiUpload::resume(checkpoint, now) else {
        return;
    };
    let mut now = now;
    for round in 0..8u64 {
        if let Some(request) = upload.poll_request(now) {
            let answer = Response::new(200)
                .with_body(r#"{"UploadSessionToken":"ST-1"}"#)
                .with_header(
                    "X-WOPI-UploadSessionCurrentOffset",
                    format!("{}", round * 1000),
                );
            upload.handle_response(now, request.id, answer);
        } else if let Some(deadline) = upload.poll_timeout() {
            now = now.max(deadline);
            upload.handle_timeout(now);
        }
        while upload.poll_event().is_some() {}
        let own = upload.checkpoint();
        assert_eq!(WopiCheckpoint::from_bytes(&own.to_bytes()), Ok(own));
    }
}

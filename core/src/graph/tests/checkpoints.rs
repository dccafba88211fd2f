//! Checkpoints: what they keep, what they refuse, what they verify.

use super::*;
use crate::session::{CheckpointError, Protocol};

#[test]
fn checkpoints_keep_confirmed_fragments_and_hide_the_url_when_printed() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(put.id, 0xDEAD_BEEF);
    answer(
        &mut up,
        &put,
        202,
        r#"{"expirationDateTime":"2026-01-29T09:21:55Z","nextExpectedRanges":["327680-"]}"#,
    );
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.confirmed(), [ByteRange::new(0, CHUNK).unwrap()]);
    assert_eq!(
        checkpoint.fingerprint().fragments,
        [FragmentCrc {
            range: ByteRange::new(0, CHUNK).unwrap(),
            crc32: 0xDEAD_BEEF
        }]
    );
    assert_eq!(
        checkpoint.expires().unwrap().to_string(),
        "2026-01-29T09:21:55.000Z"
    );
    assert!(!format!("{checkpoint:?}").contains("tempauth"));
    let bytes = checkpoint.to_bytes();
    assert!(
        core::str::from_utf8(&bytes)
            .unwrap()
            .contains("tempauth=secret"),
        "resuming needs it"
    );
    let resumed = Upload::resume(
        Checkpoint::from_bytes(&bytes).unwrap(),
        Instant::from_millis(7),
    )
    .unwrap();
    assert_eq!(resumed.state(), State::Resynchronising);
    assert_eq!(resumed.checkpoint(), checkpoint);
}

#[test]
fn a_partly_stored_fragment_leaves_no_fingerprint() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(put.id, 1);
    up.handle_transport_error(Instant::ZERO, put.id, TransportError::ConnectionLost);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    let status = up.poll_request(at).unwrap();
    answer(&mut up, &status, 200, r#"{"nextExpectedRanges":["1000-"]}"#);
    assert!(up.checkpoint().fingerprint().fragments.is_empty());
    assert_eq!(up.confirmed(), 1_000);
    let next = up.poll_request(at).unwrap();
    assert_eq!(
        next.body,
        Body::Source(ByteRange::new(1_000, CHUNK).unwrap())
    );
}

#[test]
fn verification_says_how_many_bytes_it_could_check() {
    let mut up = created(3 * CHUNK);
    let first = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(first.id, crc32fast::hash(&[7; CHUNK as usize]));
    answer(
        &mut up,
        &first,
        202,
        r#"{"nextExpectedRanges":["327680-"]}"#,
    );
    // The transport forgets to report the second fragment's CRC.
    let second = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &second,
        202,
        r#"{"nextExpectedRanges":["655360-"]}"#,
    );
    let crc_of = |r: ByteRange| Ok::<_, ()>(crc32fast::hash(&alloc::vec![7; r.len() as usize]));
    let verified = up.checkpoint().verify(3 * CHUNK, crc_of).unwrap();
    assert_eq!(
        verified,
        Verified {
            checked_bytes: CHUNK,
            confirmed_bytes: 2 * CHUNK
        }
    );
    assert!(!verified.is_complete());
    assert_eq!(verified.unchecked_bytes(), CHUNK);
}

/// Encodes `json` as a checkpoint file with a correct CRC, as a tampering tool would.
fn encode(json: &str) -> Vec<u8> {
    let mut out = format!(
        "resumable-checkpoint 1 {:08x}\n",
        crc32fast::hash(json.as_bytes())
    )
    .into_bytes();
    out.extend_from_slice(json.as_bytes());
    out
}

#[test]
fn an_inconsistent_checkpoint_is_malformed() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(put.id, 1);
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":["327680-"]}"#);
    let bytes = up.checkpoint().to_bytes();
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
    let json = core::str::from_utf8(&bytes[newline + 1..]).unwrap();
    assert!(
        Checkpoint::from_bytes(&encode(json)).is_ok(),
        "the encoding round-trips"
    );
    let total = 3 * CHUNK;
    let cases = [
        // The fingerprint's size is not the file's.
        json.replacen(&format!(r#""size":{total}"#), r#""size":5"#, 1),
        // A confirmed range past the end of the file.
        json.replacen(
            r#""confirmed":[[0,327680]]"#,
            r#""confirmed":[[0,9999999]]"#,
            1,
        ),
        // A fingerprinted fragment past the end of the file.
        json.replacen(r#""range":[0,327680]"#, r#""range":[0,9999999]"#, 1),
    ];
    for case in cases {
        assert_ne!(case, json, "the case edits the checkpoint");
        assert_eq!(
            Checkpoint::from_bytes(&encode(&case)),
            Err(CheckpointError::Malformed),
            "{case}"
        );
    }
}

#[test]
fn a_name_conflict_survives_a_resume() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &put,
        409,
        r#"{"error":{"code":"nameAlreadyExists"}}"#,
    );
    // The item holding the name is read first: another file (another size).
    let check = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(check.kind, crate::http::RequestKind::FetchResource);
    answer(&mut up, &check, 200, r#"{"id":"old","size":1}"#);
    assert_eq!(up.state(), State::NameConflict);
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.stage(), &Stage::NameConflict);
    assert_eq!(checkpoint.protocol(), Protocol::GraphUploadSession);
    let mut resumed = Upload::resume(checkpoint, Instant::ZERO).unwrap();
    let status = resumed.poll_request(Instant::ZERO).unwrap();
    answer(&mut resumed, &status, 200, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(
        resumed.state(),
        State::NameConflict,
        "not mistaken for a finished upload"
    );
    assert_eq!(events(&mut resumed).pop(), Some(Event::NameConflict));
}

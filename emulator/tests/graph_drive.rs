//! Drive-item upload sessions through real HTTP: every rule refuses the wrong request with the
//! right status and accepts the right one; what is stored is what was sent.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use resumable_core::time::UnixTime;
use resumable_emulator::{EmulatorConfig, Limits, Protocol};
use serde_json::json;

#[tokio::test]
async fn create_needs_a_bearer_token_and_answers_a_session() {
    let emulator = start(EmulatorConfig::default().with_bearer_token("test-token")).await;
    let client = client();
    let url = emulator.drive_upload_session_url("docs/a.bin");
    let missing = client.post(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let (_, body) = json(missing).await;
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let wrong = client
        .post(&url)
        .header("authorization", "Bearer other")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, session) = post_json(&client, &url, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["nextExpectedRanges"], json!(["0-"]));
    let expiry = UnixTime::parse_rfc3339(session["expirationDateTime"].as_str().unwrap()).unwrap();
    let now = UnixTime::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    assert!(expiry > now);
    let upload_url = session["uploadUrl"].as_str().unwrap();
    assert!(upload_url.starts_with(emulator.base_url()));
    assert!(upload_url.contains("tempauth="));
}

#[tokio::test]
async fn a_two_fragment_upload_stores_exactly_what_was_sent() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(KIB320 + 1000, 1);
    let url = drive_session(&emulator, &client, "docs/two.bin", json!({})).await;
    let first = put_range(&client, &url, &file[..KIB320], 0, file.len())
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let (_, progress) = json(first).await;
    assert_eq!(progress["nextExpectedRanges"], json!(["327680-"]));
    let last = put_range(&client, &url, &file[KIB320..], KIB320, file.len())
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    let (_, item) = json(last).await;
    assert_eq!(item["name"], "two.bin");
    assert_eq!(item["size"], file.len());
    // OneDrive for Business reports the QuickXorHash only (the default drive kind).
    assert_eq!(
        item["file"]["hashes"],
        json!({"quickXorHash": quick_xor(&file)})
    );
    let files = emulator.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "me/drive/root:/docs/two.bin");
    assert_eq!(files[0].sha256, sha256(&file));
    assert_eq!(files[0].quick_xor_hash, quick_xor(&file));
    assert_eq!(files[0].protocol, Protocol::GraphDrive);
    let on_disk = std::fs::read(files[0].disk_path.as_ref().unwrap()).unwrap();
    assert_eq!(on_disk, file);
    // Done: the session is gone.
    let after = call(&client, Method::GET, &url).await.unwrap();
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn edge_sizes_complete_with_one_put_each() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    for (i, size) in [1, KIB320 - 1, KIB320, KIB320 + 1, 3 * KIB320 + 1]
        .into_iter()
        .enumerate()
    {
        let file = data(size, i as u8);
        let url = drive_session(&emulator, &client, &format!("edge/{size}.bin"), json!({})).await;
        let mut sent = 0;
        while sent < size {
            let len = (size - sent).min(2 * KIB320);
            let answer = put_range(&client, &url, &file[sent..sent + len], sent, size)
                .await
                .unwrap();
            sent += len;
            let want = if sent == size {
                StatusCode::CREATED
            } else {
                StatusCode::ACCEPTED
            };
            assert_eq!(answer.status(), want, "size {size}");
        }
        let stored = emulator.files().pop().unwrap();
        assert_eq!((stored.size, stored.sha256), (size as u64, sha256(&file)));
    }
}

#[tokio::test]
async fn the_upload_url_refuses_authorization_and_wrong_tokens() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = drive_session(&emulator, &client, "a.bin", json!({})).await;
    let file = data(10, 2);
    let with_bearer = client
        .put(&url)
        .header("authorization", TOKEN)
        .header("content-range", "bytes 0-9/10")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), StatusCode::UNAUTHORIZED);
    let get_with_bearer = client
        .get(&url)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(get_with_bearer.status(), StatusCode::UNAUTHORIZED);
    let (base, _) = url.split_once('?').unwrap();
    for bad in [
        base.to_owned(),
        format!("{base}?tempauth=nope"),
        format!(
            "{base}?authtoken={}",
            url.split_once("tempauth=").unwrap().1
        ),
    ] {
        let answer = put_range(&client, &bad, &file, 0, 10).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    let unknown = format!("{}/_up/unknown?tempauth=x", emulator.base_url());
    assert_eq!(
        put_range(&client, &unknown, &file, 0, 10)
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Nothing above was stored; the right request still goes through.
    assert_eq!(
        put_range(&client, &url, &file, 0, 10)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn content_range_must_be_well_formed_and_match_the_body() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = drive_session(
        &emulator,
        &client,
        "cr.bin",
        json!({"item": {"fileSize": 20}}),
    )
    .await;
    let body = data(10, 3);
    for header in [
        None,
        Some("bytes=0-9/20"),
        Some("bytes 0-9"),
        Some("bytes */20"),
        Some("bytes 0-9/*"),
        Some("bytes 0-10/20"),
        Some("bytes 0-8/20"),
        Some("bytes 0-9/30"),
        Some("bytes 0-29/20"),
    ] {
        let mut request = client.put(&url).body(body.clone());
        if let Some(header) = header {
            request = request.header("content-range", header);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{header:?}");
        let (_, error) = json(answer).await;
        assert_eq!(error["error"]["code"], "invalidRequest");
    }
    let empty = client
        .put(&url)
        .header("content-range", "bytes 0-9/20")
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let whole = data(20, 3);
    let accepted = put_range(&client, &url, &whole, 0, 20).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    // Without a declared size the first fragment fixes the total; it cannot change afterwards.
    let url = drive_session(&emulator, &client, "cr2.bin", json!({})).await;
    let file = data(2 * KIB320, 3);
    let first = put_range(&client, &url, &file[..KIB320], 0, 2 * KIB320)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let other_total = put_range(&client, &url, &file[KIB320..], KIB320, 2 * KIB320 + 1)
        .await
        .unwrap();
    assert_eq!(other_total.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_fragment_without_content_length_is_refused() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = drive_session(&emulator, &client, "chunked.bin", json!({})).await;
    let head = format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes 0-4/5\r\ntransfer-encoding: chunked",
        path_of(&url)
    );
    let raw = RawRequest::send(&emulator, &head, b"5\r\nhello\r\n0\r\n\r\n").await;
    let answer = raw.answer().await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    assert_eq!(
        put_range(&client, &url, b"hello", 0, 5)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn fragments_align_to_320_kib_or_realign_on_the_grid() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 3 * KIB320;
    let file = data(total, 4);
    let url = drive_session(&emulator, &client, "align.bin", json!({})).await;
    let unaligned = put_range(&client, &url, &file[..100_000], 0, total)
        .await
        .unwrap();
    assert_eq!(unaligned.status(), StatusCode::BAD_REQUEST);
    // A 200 000-byte fragment is refused...
    assert_eq!(
        put_range(&client, &url, &file[..KIB320 + 5], 0, total)
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    // ... an aligned one accepted; then a fragment that is not a multiple but ends on the grid.
    assert_eq!(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let realigned = put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, total)
        .await
        .unwrap();
    assert_eq!(realigned.status(), StatusCode::ACCEPTED);
    // The last fragment may have any length.
    let last = put_range(&client, &url, &file[2 * KIB320..], 2 * KIB320, total)
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn a_fragment_may_realign_after_a_partial_receipt() {
    let script = "fragment#1=partial-store:100000".parse().unwrap();
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let total = 2 * KIB320 + 7;
    let file = data(total, 5);
    let url = drive_session(&emulator, &client, "realign.bin", json!({})).await;
    let (status, progress) = json(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(progress["nextExpectedRanges"], json!(["100000-"]));
    // 227 680 bytes: not a multiple of 320 KiB, but ends on the boundary.
    let realign = put_range(&client, &url, &file[100_000..KIB320], 100_000, total)
        .await
        .unwrap();
    assert_eq!(realign.status(), StatusCode::ACCEPTED);
    let rest = put_range(&client, &url, &file[KIB320..], KIB320, total)
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    assert_eq!(emulator.stats().faults["partial-store"], 1);
}

#[tokio::test]
async fn overlap_and_skipping_ahead_answer_416() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 3 * KIB320;
    let file = data(total, 6);
    let url = drive_session(&emulator, &client, "order.bin", json!({})).await;
    let skip = put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, total)
        .await
        .unwrap();
    assert_eq!(skip.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let again = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let (_, error) = json(again).await;
    assert_eq!(error["error"]["code"], "invalidRange");
    assert_eq!(emulator.stats().bytes_received_twice, KIB320 as u64);
    let (status, position) = json(call(&client, Method::GET, &url).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(position["nextExpectedRanges"], json!(["327680-"]));
    assert_eq!(emulator.stats().refusals["416"], 2);
}

#[tokio::test]
async fn a_second_fragment_while_one_is_in_flight_answers_416() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 2 * KIB320;
    let file = data(total, 7);
    let url = drive_session(&emulator, &client, "busy.bin", json!({})).await;
    let head = format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes 0-{}/{total}\r\ncontent-length: {KIB320}",
        path_of(&url),
        KIB320 - 1
    );
    let before = emulator.stats().bytes_received;
    let mut held = RawRequest::send(&emulator, &head, &file[..1000]).await;
    // In flight: the emulator is reading its body.
    eventually("the held fragment is being read", || {
        emulator.stats().bytes_received >= before + 1000
    })
    .await;
    let concurrent = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(concurrent.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    held.write(&file[1000..KIB320]).await;
    let answer = held.answer().await;
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let last = put_range(&client, &url, &file[KIB320..], KIB320, total)
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn requests_must_stay_under_the_size_limit() {
    let limits = Limits {
        drive_request_limit: 2 * KIB320 as u64,
        ..Limits::default()
    };
    let emulator = start(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    })
    .await;
    let client = client();
    let total = 4 * KIB320;
    let file = data(total, 8);
    let url = drive_session(&emulator, &client, "big.bin", json!({})).await;
    let at_limit = put_range(&client, &url, &file[..2 * KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(at_limit.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(Limits::default().drive_request_limit, 60 * 1024 * 1024);
}

#[tokio::test]
async fn empty_files_are_refused() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let (status, error) = post_json(
        &client,
        &emulator.drive_upload_session_url("empty.bin"),
        json!({"item": {"fileSize": 0}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "invalidRequest");
    let (status, _) = post_json(
        &client,
        &emulator.drive_upload_session_url("bad.bin"),
        json!({"item": {"@microsoft.graph.conflictBehavior": "overwrite"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let garbage = client
        .post(emulator.drive_upload_session_url("bad.bin"))
        .header("authorization", TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn quota_and_preconditions() {
    let limits = Limits {
        drive_quota: 1000,
        ..Limits::default()
    };
    let emulator = start(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    })
    .await;
    let client = client();
    let (status, error) = post_json(
        &client,
        &emulator.drive_upload_session_url("q.bin"),
        json!({"item": {"fileSize": 1001}}),
    )
    .await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(error["error"]["code"], "quotaLimitReached");
    let url = drive_session(
        &emulator,
        &client,
        "q.bin",
        json!({"item": {"fileSize": 1000}}),
    )
    .await;
    let (_, item) = json(
        put_range(&client, &url, &data(1000, 9), 0, 1000)
            .await
            .unwrap(),
    )
    .await;
    let create = emulator.drive_upload_session_url("q.bin");
    let if_none_match = client
        .post(&create)
        .header("authorization", TOKEN)
        .header("if-none-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(if_none_match.status(), StatusCode::PRECONDITION_FAILED);
    let stale = client
        .post(&create)
        .header("authorization", TOKEN)
        .header("if-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let current = client
        .post(&create)
        .header("authorization", TOKEN)
        .header("if-match", item["eTag"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_fragment_with_a_body_encoding_is_refused() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(1000, 12);
    let url = drive_session(&emulator, &client, "enc.bin", json!({})).await;
    for encoding in ["gzip", "deflate", "br", "gzip, identity"] {
        let (status, error) = json(
            client
                .put(&url)
                .header("content-range", "bytes 0-999/1000")
                .header("content-encoding", encoding)
                .body(file.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{encoding}");
        assert_eq!(error["error"]["code"], "invalidRequest");
    }
    let identity = client
        .put(&url)
        .header("content-range", "bytes 0-999/1000")
        .header("content-encoding", "identity")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(identity.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

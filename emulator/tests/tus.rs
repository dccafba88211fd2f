//! The tus 1.0 and IETF draft endpoints, driven by a plain HTTP client: every strict rule a
//! client meets (version headers, offsets, checksums, lengths, completion, deletion) and the
//! faults of the shared fault plan on tus requests.

mod common;

use std::time::Duration;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, Response, StatusCode};
use resumable_core::digest::{BodyDigest, DigestAlgorithm};
use resumable_core::time::UnixTime;
use resumable_emulator::{
    EmulatorConfig, EmulatorHandle, Fault, FaultScript, Protocol, RequestKind, TimeScale,
};

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OCTETS: &str = "application/offset+octet-stream";
const PARTIAL: &str = "application/partial-upload";

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn offset_of(answer: &Response) -> Option<u64> {
    text(answer.headers(), "upload-offset").and_then(|v| v.parse().ok())
}

/// The absolute URL of a tus upload from its creation answer (its `Location` is relative).
fn upload_url(emulator: &EmulatorHandle, answer: &Response) -> String {
    let location = text(answer.headers(), "location").expect("a Location");
    assert!(
        location.starts_with("/tus/files/"),
        "a relative Location: {location}"
    );
    format!("{}{location}", emulator.base_url())
}

/// `POST` creating a tus upload of `length` bytes.
async fn tus_create(emulator: &EmulatorHandle, client: &Client, length: usize) -> String {
    let answer = client
        .post(emulator.tus_endpoint())
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    upload_url(emulator, &answer)
}

/// `PATCH` of `bytes` at `offset` with `extra` headers.
async fn tus_patch(
    client: &Client,
    url: &str,
    offset: usize,
    bytes: &[u8],
    extra: &[(&str, &str)],
) -> reqwest::Result<Response> {
    let mut request = client
        .patch(url)
        .header(TUS.0, TUS.1)
        .header("content-type", OCTETS)
        .header("upload-offset", offset.to_string());
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.body(bytes.to_vec()).send().await
}

async fn tus_head(client: &Client, url: &str) -> Response {
    client.head(url).header(TUS.0, TUS.1).send().await.unwrap()
}

async fn tus_offset(client: &Client, url: &str) -> u64 {
    let answer = tus_head(client, url).await;
    assert_eq!(answer.status(), StatusCode::OK);
    offset_of(&answer).expect("HEAD answers Upload-Offset")
}

/// `Upload-Checksum` for `bytes`, as a client computes it.
fn checksum(algorithm: DigestAlgorithm, bytes: &[u8]) -> String {
    let mut digester = BodyDigest {
        algorithm,
        header: "Upload-Checksum",
    }
    .start();
    digester.update(bytes);
    digester.finish().value
}

#[tokio::test]
async fn options_advertise_the_extensions_algorithms_and_size_limit() {
    let mut config = EmulatorConfig::default();
    config.tus.max_size = 123_456;
    let emulator = start(config).await;
    // No Tus-Resumable: OPTIONS needs none.
    let answer = client()
        .request(Method::OPTIONS, emulator.tus_endpoint())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    let headers = answer.headers();
    assert_eq!(text(headers, "tus-version"), Some("1.0.0"));
    assert_eq!(
        text(headers, "tus-extension"),
        Some("creation,creation-with-upload,creation-defer-length,termination,expiration,checksum")
    );
    assert_eq!(text(headers, "tus-checksum-algorithm"), Some("crc32,sha1"));
    assert_eq!(text(headers, "tus-max-size"), Some("123456"));
    assert_eq!(emulator.stats().requests["tus-options"], 1);
}

#[tokio::test]
async fn requests_without_tus_resumable_get_412_and_change_nothing() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let create = client
        .post(emulator.tus_endpoint())
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(text(create.headers(), "tus-version"), Some("1.0.0"));
    assert_eq!(emulator.stats().sessions_created, 0);

    let url = tus_create(&emulator, &client, 10).await;
    for version in [None, Some("0.2.2")] {
        let mut request = client
            .patch(&url)
            .header("content-type", OCTETS)
            .header("upload-offset", "0");
        if let Some(version) = version {
            request = request.header("tus-resumable", version);
        }
        let answer = request.body(vec![1u8; 10]).send().await.unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::PRECONDITION_FAILED,
            "{version:?}"
        );
        assert_eq!(text(answer.headers(), "tus-version"), Some("1.0.0"));
    }
    assert_eq!(tus_offset(&client, &url).await, 0, "nothing was stored");
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn a_creation_answers_a_relative_location_an_expiry_and_a_head_that_echoes_it() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let metadata = "filename d29ybGQudHh0,empty";
    let answer = client
        .post(emulator.tus_endpoint())
        .header(TUS.0, TUS.1)
        .header("upload-length", "5")
        .header("upload-metadata", metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert_eq!(text(answer.headers(), "tus-resumable"), Some("1.0.0"));
    let expires = text(answer.headers(), "upload-expires").unwrap();
    let expires = UnixTime::parse_http_date(expires).unwrap();
    let now = UnixTime::from_system_time(std::time::SystemTime::now());
    assert!(expires.saturating_duration_since(now) > Duration::from_secs(23 * 3600));
    let url = upload_url(&emulator, &answer);

    let head = tus_head(&client, &url).await;
    assert_eq!(head.status(), StatusCode::OK);
    let headers = head.headers();
    assert_eq!(text(headers, "upload-offset"), Some("0"));
    assert_eq!(text(headers, "upload-length"), Some("5"));
    assert_eq!(text(headers, "upload-metadata"), Some(metadata));
    assert_eq!(text(headers, "cache-control"), Some("no-store"));
    assert_eq!(emulator.stats().requests["tus-create"], 1);
}

#[tokio::test]
async fn malformed_creations_are_refused() {
    let mut config = EmulatorConfig::default();
    config.tus.max_size = 1000;
    let emulator = start(config).await;
    let client = client();
    let cases: [(&[(&str, &str)], StatusCode); 7] = [
        (&[], StatusCode::BAD_REQUEST),
        (&[("upload-defer-length", "2")], StatusCode::BAD_REQUEST),
        (
            &[("upload-length", "5"), ("upload-defer-length", "1")],
            StatusCode::BAD_REQUEST,
        ),
        (&[("upload-length", "-5")], StatusCode::BAD_REQUEST),
        (&[("upload-length", "1001")], StatusCode::PAYLOAD_TOO_LARGE),
        (
            &[("upload-length", "5"), ("upload-metadata", "name !!!")],
            StatusCode::BAD_REQUEST,
        ),
        (
            &[("upload-length", "5"), ("upload-metadata", "a Zg==,a Zg==")],
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (headers, status) in cases {
        let mut request = client.post(emulator.tus_endpoint()).header(TUS.0, TUS.1);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), status, "{headers:?}");
    }
    assert_eq!(emulator.stats().sessions_created, 0);
}

#[tokio::test]
async fn a_patch_at_another_offset_is_refused_with_409_and_changes_nothing() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(100, 1);
    let url = tus_create(&emulator, &client, 100).await;
    let first = tus_patch(&client, &url, 0, &file[..40], &[]).await.unwrap();
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&first), Some(40));
    assert!(text(first.headers(), "upload-expires").is_some());
    for wrong in [0, 39, 41] {
        let answer = tus_patch(&client, &url, wrong, &file[wrong..wrong + 10], &[])
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::CONFLICT, "offset {wrong}");
    }
    assert_eq!(tus_offset(&client, &url).await, 40);
    let rest = tus_patch(&client, &url, 40, &file[40..], &[])
        .await
        .unwrap();
    assert_eq!(offset_of(&rest), Some(100));
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn a_patch_of_another_type_or_past_the_length_is_refused() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = tus_create(&emulator, &client, 10).await;
    let answer = client
        .patch(&url)
        .header(TUS.0, TUS.1)
        .header("content-type", "application/octet-stream")
        .header("upload-offset", "0")
        .body(vec![0u8; 4])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let past = tus_patch(&client, &url, 0, &[7u8; 11], &[]).await.unwrap();
    assert_eq!(past.status(), StatusCode::BAD_REQUEST);
    let missing = client
        .patch(&url)
        .header(TUS.0, TUS.1)
        .header("content-type", OCTETS)
        .body(vec![0u8; 4])
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        StatusCode::BAD_REQUEST,
        "no Upload-Offset"
    );
    assert_eq!(tus_offset(&client, &url).await, 0);
}

#[tokio::test]
async fn checksum_mismatches_answer_460_and_leave_the_offset() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(3000, 2);
    let url = tus_create(&emulator, &client, 3000).await;
    let mut at = 0;
    for algorithm in [DigestAlgorithm::Crc32, DigestAlgorithm::Sha1] {
        let chunk = &file[at..at + 1000];
        let mut corrupted = chunk.to_vec();
        corrupted[500] ^= 0x40;
        let sum = checksum(algorithm, chunk);
        let answer = tus_patch(&client, &url, at, &corrupted, &[("upload-checksum", &sum)])
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 460, "{algorithm}");
        assert_eq!(tus_offset(&client, &url).await, at as u64, "{algorithm}");
        let right = tus_patch(&client, &url, at, chunk, &[("upload-checksum", &sum)])
            .await
            .unwrap();
        assert_eq!(right.status(), StatusCode::NO_CONTENT, "{algorithm}");
        at += 1000;
        assert_eq!(offset_of(&right), Some(at as u64));
    }
    let unknown = tus_patch(
        &client,
        &url,
        at,
        &file[at..],
        &[("upload-checksum", "md5 XUFAKrxLKna5cZ2REBfFkg==")],
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(tus_offset(&client, &url).await, 2000);
    let last = tus_patch(&client, &url, at, &file[at..], &[])
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    assert_eq!(emulator.stats().refusals["460"], 2);
}

/// `PATCH` head for `len` bytes at `offset`, written by hand.
fn raw_patch(url: &str, offset: usize, len: usize, extra: &str) -> String {
    format!(
        "PATCH {} HTTP/1.1\r\ntus-resumable: 1.0.0\r\ncontent-type: {OCTETS}\r\n\
         upload-offset: {offset}\r\ncontent-length: {len}{extra}",
        path_of(url)
    )
}

#[tokio::test]
async fn an_interrupted_patch_keeps_the_bytes_that_arrived_unless_it_had_a_checksum() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(10_000, 3);
    let url = tus_create(&emulator, &client, 10_000).await;
    let raw = RawRequest::send(&emulator, &raw_patch(&url, 0, 10_000, ""), &file[..4000]).await;
    eventually("the first 4000 bytes are read", || {
        emulator.stats().bytes_received >= 4000
    })
    .await;
    drop(raw);
    let mut offset = 0;
    for _ in 0..500 {
        offset = tus_offset(&client, &url).await;
        if offset == 4000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(offset, 4000, "the prefix that arrived is kept");

    // With a checksum the prefix cannot be checked: nothing is kept.
    let sum = checksum(DigestAlgorithm::Crc32, &file[4000..]);
    let head = raw_patch(&url, 4000, 6000, &format!("\r\nupload-checksum: {sum}"));
    let before = emulator.stats().bytes_received;
    let raw = RawRequest::send(&emulator, &head, &file[4000..7000]).await;
    eventually("the 3000 bytes are read", || {
        emulator.stats().bytes_received >= before + 3000
    })
    .await;
    drop(raw);
    // Once the cut request is done the upload takes a PATCH at 4000 again (423 until then).
    let mut status = StatusCode::LOCKED;
    for _ in 0..500 {
        status = tus_patch(&client, &url, 4000, &file[4000..], &[])
            .await
            .unwrap()
            .status();
        if status != StatusCode::LOCKED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, StatusCode::NO_CONTENT, "the offset stayed at 4000");
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn a_deferred_length_is_given_once_and_completes_the_upload() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(500, 4);
    let bad = client
        .post(emulator.tus_endpoint())
        .header(TUS.0, TUS.1)
        .header("upload-defer-length", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let answer = client
        .post(emulator.tus_endpoint())
        .header(TUS.0, TUS.1)
        .header("upload-defer-length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let url = upload_url(&emulator, &answer);
    let head = tus_head(&client, &url).await;
    assert_eq!(text(head.headers(), "upload-defer-length"), Some("1"));
    assert!(text(head.headers(), "upload-length").is_none());

    let first = tus_patch(&client, &url, 0, &file[..200], &[])
        .await
        .unwrap();
    assert_eq!(offset_of(&first), Some(200));
    let second = tus_patch(
        &client,
        &url,
        200,
        &file[200..300],
        &[("upload-length", "500")],
    )
    .await
    .unwrap();
    assert_eq!(second.status(), StatusCode::NO_CONTENT);
    let head = tus_head(&client, &url).await;
    assert_eq!(text(head.headers(), "upload-length"), Some("500"));
    assert!(text(head.headers(), "upload-defer-length").is_none());
    let changed = tus_patch(
        &client,
        &url,
        300,
        &file[300..],
        &[("upload-length", "501")],
    )
    .await
    .unwrap();
    assert_eq!(
        changed.status(),
        StatusCode::BAD_REQUEST,
        "the length cannot change"
    );
    assert!(emulator.files().is_empty());
    let last = tus_patch(
        &client,
        &url,
        300,
        &file[300..],
        &[("upload-length", "500")],
    )
    .await
    .unwrap();
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn creation_with_upload_stores_the_first_bytes_and_a_completed_upload_answers_head() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(1000, 5);
    let answer = client
        .post(emulator.tus_endpoint())
        .header(TUS.0, TUS.1)
        .header("upload-length", "1000")
        .header("content-type", OCTETS)
        .header(
            "upload-checksum",
            checksum(DigestAlgorithm::Sha1, &file[..600]),
        )
        .body(file[..600].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert_eq!(offset_of(&answer), Some(600));
    let url = upload_url(&emulator, &answer);
    let last = tus_patch(&client, &url, 600, &file[600..], &[])
        .await
        .unwrap();
    assert_eq!(offset_of(&last), Some(1000));

    let files = emulator.files();
    assert_eq!(files.len(), 1);
    let id = url.rsplit('/').next().unwrap();
    assert_eq!(files[0].path, format!("tus/{id}"));
    assert_eq!(files[0].protocol, Protocol::Tus);
    assert_eq!(files[0].size, 1000);
    assert_eq!(files[0].sha256, sha256(&file));
    assert_eq!(
        std::fs::read(files[0].disk_path.as_ref().unwrap()).unwrap(),
        file
    );
    let head = tus_head(&client, &url).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(text(head.headers(), "upload-offset"), Some("1000"));
    assert_eq!(text(head.headers(), "upload-length"), Some("1000"));
    let more = tus_patch(&client, &url, 1000, b"x", &[]).await.unwrap();
    assert_eq!(
        more.status(),
        StatusCode::BAD_REQUEST,
        "bytes past the length"
    );
    let empty = tus_patch(&client, &url, 1000, b"", &[]).await.unwrap();
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    let stats = emulator.stats();
    assert_eq!((stats.files_completed, stats.sessions_live), (1, 0));

    // An upload of length 0 is complete when it is created.
    let _ = tus_create(&emulator, &client, 0).await;
    assert_eq!(emulator.files()[1].size, 0);
}

#[tokio::test]
async fn a_deleted_upload_answers_410_and_an_unknown_one_404() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = tus_create(&emulator, &client, 100).await;
    let _ = tus_patch(&client, &url, 0, &[1u8; 50], &[]).await.unwrap();
    let deleted = client
        .delete(&url)
        .header(TUS.0, TUS.1)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(tus_head(&client, &url).await.status(), StatusCode::GONE);
    let patch = tus_patch(&client, &url, 50, &[1u8; 50], &[]).await.unwrap();
    assert_eq!(patch.status(), StatusCode::GONE);
    let unknown = format!("{}nope", emulator.tus_endpoint());
    assert_eq!(
        tus_head(&client, &unknown).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(emulator.files().is_empty());
    assert_eq!(emulator.stats().sessions_live, 0);
    // A tus upload is not reachable through the draft's endpoint.
    let id = url.rsplit('/').next().unwrap();
    let other = client
        .head(format!("{}{id}", emulator.ietf_endpoint()))
        .header("upload-draft-interop-version", "8")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_expires_on_the_scaled_clock() {
    let mut config = EmulatorConfig::default().with_time_scale(TimeScale::new(600.0).unwrap());
    config.tus.upload_lifetime = Duration::from_secs(60);
    let emulator = start(config).await;
    let client = client();
    let url = tus_create(&emulator, &client, 100).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(tus_head(&client, &url).await.status(), StatusCode::GONE);
    assert_eq!(emulator.stats().sessions_live, 0);
}

async fn ietf_post(
    emulator: &EmulatorHandle,
    client: &Client,
    version: &str,
    complete: bool,
    body: &[u8],
) -> Response {
    client
        .post(emulator.ietf_endpoint())
        .header("upload-draft-interop-version", version)
        .header("upload-complete", if complete { "?1" } else { "?0" })
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn ietf_patch(
    client: &Client,
    url: &str,
    offset: usize,
    complete: bool,
    body: &[u8],
) -> Response {
    client
        .patch(url)
        .header("upload-draft-interop-version", "8")
        .header("content-type", PARTIAL)
        .header("upload-offset", offset.to_string())
        .header("upload-complete", if complete { "?1" } else { "?0" })
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn ietf_head(client: &Client, url: &str) -> Response {
    client
        .head(url)
        .header("upload-draft-interop-version", "8")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ietf_draft_requires_its_interop_version() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let missing = client
        .post(emulator.ietf_endpoint())
        .header("upload-complete", "?0")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let reason = missing.text().await.unwrap();
    assert!(reason.contains("Upload-Draft-Interop-Version"), "{reason}");
    let other = ietf_post(&emulator, &client, "7", false, b"").await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert_eq!(emulator.stats().sessions_created, 0);
    for version in ["6", "8"] {
        let answer = ietf_post(&emulator, &client, version, false, b"").await;
        assert_eq!(answer.status(), StatusCode::CREATED, "{version}");
        assert_eq!(
            text(answer.headers(), "upload-draft-interop-version"),
            Some(version)
        );
        let url = text(answer.headers(), "location").unwrap().to_owned();
        let head = client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::BAD_REQUEST, "HEAD needs it too");
    }
}

#[tokio::test]
async fn an_ietf_offset_mismatch_answers_409_with_the_upload_offset() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(1000, 6);
    let created = ietf_post(&emulator, &client, "8", false, &file[..300]).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(offset_of(&created), Some(300));
    assert_eq!(text(created.headers(), "upload-complete"), Some("?0"));
    let limit = text(created.headers(), "upload-limit").unwrap().to_owned();
    assert!(
        limit.starts_with("max-size=250000000000, max-age="),
        "{limit}"
    );
    let url = text(created.headers(), "location").unwrap().to_owned();
    assert!(
        url.starts_with(&emulator.ietf_endpoint()),
        "absolute: {url}"
    );
    let conflict = ietf_patch(&client, &url, 200, false, &file[200..400]).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(offset_of(&conflict), Some(300), "the 409 tells where it is");
    let wrong_type = client
        .patch(&url)
        .header("upload-draft-interop-version", "8")
        .header("content-type", OCTETS)
        .header("upload-offset", "300")
        .header("upload-complete", "?0")
        .body(file[300..400].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let head = ietf_head(&client, &url).await;
    assert_eq!(head.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&head), Some(300));
}

#[tokio::test]
async fn ietf_upload_complete_fixes_the_length_and_completes_the_upload() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(1000, 7);
    let created = ietf_post(&emulator, &client, "6", false, b"").await;
    let url = text(created.headers(), "location").unwrap().to_owned();
    let middle = ietf_patch(&client, &url, 0, false, &file[..600]).await;
    assert_eq!(middle.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(middle.headers(), "upload-complete"), Some("?0"));
    let head = ietf_head(&client, &url).await;
    assert!(text(head.headers(), "upload-length").is_none());
    assert_eq!(text(head.headers(), "upload-complete"), Some("?0"));
    assert_eq!(text(head.headers(), "cache-control"), Some("no-store"));
    let last = ietf_patch(&client, &url, 600, true, &file[600..]).await;
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(last.headers(), "upload-complete"), Some("?1"));
    assert_eq!(offset_of(&last), Some(1000));
    let head = ietf_head(&client, &url).await;
    assert_eq!(text(head.headers(), "upload-complete"), Some("?1"));
    assert_eq!(text(head.headers(), "upload-length"), Some("1000"));
    assert!(text(head.headers(), "upload-limit").is_some());
    let files = emulator.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].protocol, Protocol::IetfDraft);
    assert!(files[0].path.starts_with("ietf/"));
    assert_eq!(files[0].sha256, sha256(&file));
    // Appending to a completed upload: 400 with bytes, 404 without.
    assert_eq!(
        ietf_patch(&client, &url, 1000, false, b"more")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ietf_patch(&client, &url, 1000, true, b"").await.status(),
        StatusCode::NOT_FOUND
    );

    // A length given at creation must agree with the end ?1 implies.
    let fixed = client
        .post(emulator.ietf_endpoint())
        .header("upload-draft-interop-version", "8")
        .header("upload-complete", "?0")
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    let url = text(fixed.headers(), "location").unwrap().to_owned();
    assert_eq!(
        ietf_patch(&client, &url, 0, true, &[1u8; 9]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ietf_patch(&client, &url, 0, true, &[1u8; 10])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    // A creation with ?1 and its whole body is complete at once.
    let whole = ietf_post(&emulator, &client, "8", true, b"all at once").await;
    assert_eq!(text(whole.headers(), "upload-complete"), Some("?1"));
    assert_eq!(emulator.files().len(), 3);
    let deleted = client
        .delete(&url)
        .header("upload-draft-interop-version", "8")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(ietf_head(&client, &url).await.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_scripted_lost_answer_on_the_second_append_leaves_the_bytes_stored() {
    let script = FaultScript::default().on(RequestKind::TusAppend, 2, Fault::LoseAnswer);
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let file = data(300, 8);
    let url = tus_create(&emulator, &client, 300).await;
    assert!(tus_patch(&client, &url, 0, &file[..100], &[]).await.is_ok());
    let lost = tus_patch(&client, &url, 100, &file[100..200], &[]).await;
    assert!(lost.is_err(), "the answer is lost");
    assert_eq!(
        tus_offset(&client, &url).await,
        200,
        "the bytes were stored"
    );
    let last = tus_patch(&client, &url, 200, &file[200..], &[])
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    let stats = emulator.stats();
    assert_eq!(stats.faults["lose-answer"], 1);
    assert_eq!(stats.recent_faults[0].kind, RequestKind::TusAppend);
    assert_eq!(stats.requests["tus-append"], 3);
}

#[tokio::test]
async fn scripted_faults_strike_tus_requests_by_name() {
    let script = "tus-create#1=status:503, tus-head#1=throttle:429:seconds:1, \
                  tus-append#1=partial-store:30, tus-append#2=drop-mid-body:10, \
                  tus-append#3=regress, tus-head#2=expire-session"
        .parse()
        .unwrap();
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let file = data(100, 9);
    let refused = client
        .post(emulator.tus_endpoint())
        .header(TUS.0, TUS.1)
        .header("upload-length", "100")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(text(refused.headers(), "tus-resumable"), Some("1.0.0"));
    let url = tus_create(&emulator, &client, 100).await;
    let throttled = tus_head(&client, &url).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(text(throttled.headers(), "retry-after"), Some("1"));
    // A partial store answers the true offset.
    let partial = tus_patch(&client, &url, 0, &file, &[]).await.unwrap();
    assert_eq!(offset_of(&partial), Some(30));
    // A drop mid-body stores nothing.
    assert!(
        tus_patch(&client, &url, 30, &file[30..], &[])
            .await
            .is_err()
    );
    // A regress forgets every byte.
    let regressed = tus_patch(&client, &url, 30, &file[30..], &[])
        .await
        .unwrap();
    assert_eq!(offset_of(&regressed), Some(0));
    // An early expiry: the upload is gone.
    assert_eq!(tus_head(&client, &url).await.status(), StatusCode::GONE);
    let stats = emulator.stats();
    for name in [
        "status-503",
        "throttle-429-seconds",
        "partial-store",
        "drop-mid-body",
        "regress",
        "expire-session",
    ] {
        assert_eq!(
            stats.faults.get(name),
            Some(&1),
            "{name}: {:?}",
            stats.faults
        );
    }
    assert_eq!(stats.sessions_live, 0);
}

#[tokio::test]
async fn an_ietf_append_is_faulted_like_a_tus_one() {
    let script = "tus-append#1=skip-ahead:100, tus-create#2=malformed-create:no-url"
        .parse()
        .unwrap();
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let file = data(1000, 10);
    let created = ietf_post(&emulator, &client, "8", false, b"").await;
    let url = text(created.headers(), "location").unwrap().to_owned();
    let lie = ietf_patch(&client, &url, 0, false, &file[..200]).await;
    assert_eq!(offset_of(&lie), Some(300), "the lie");
    let truth = ietf_head(&client, &url).await;
    assert_eq!(offset_of(&truth), Some(200), "the truth");
    let malformed = ietf_post(&emulator, &client, "8", false, b"").await;
    assert_eq!(malformed.status(), StatusCode::CREATED);
    assert!(text(malformed.headers(), "location").is_none());
    let stats = emulator.stats();
    assert_eq!(stats.faults["skip-ahead"], 1);
    assert_eq!(stats.faults["malformed-create-no-url"], 1);
    assert_eq!(stats.sessions_created, 1);
}

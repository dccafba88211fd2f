//! The request sequences of SPEC.md section 1, sent by the real `curl` binary: what a correct
//! client sends is accepted, what SPEC says the service refuses is refused with its status and
//! error body, and `/_emulator/files` reports the SHA-256 of exactly the bytes curl sent.

mod common;
mod curl_client;

use common::{KIB320, data, quick_xor, sha256};
use curl_client::{Curl, CurlRequest, EMPTY_REPLY, RECV_ERROR, SEND_ERROR};
use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::{Value, json};

const TOKEN: &str = "curl-token";

async fn start(script: &str) -> EmulatorHandle {
    let config = EmulatorConfig::default()
        .with_bearer_token(TOKEN)
        .with_script(script.parse().expect("a valid fault script"));
    Emulator::start(config).await.expect("emulator starts")
}

/// The one stored file at `path`, as `/_emulator/files` lists it.
async fn stored(curl: &Curl, emulator: &EmulatorHandle, path: &str) -> Value {
    let files = curl.files(emulator.base_url()).await;
    let mut matching = files.iter().filter(|file| file["path"] == path);
    let file = matching
        .next()
        .unwrap_or_else(|| panic!("{path} not in {files:?}"));
    assert!(matching.next().is_none(), "{path} stored twice: {files:?}");
    file.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_item_resumes_after_a_lost_answer_and_stores_what_was_sent() {
    // Fragments refused for a protocol rule count in the script (the misaligned one and the
    // short body are the first two), those refused for credentials do not: the fourth
    // fragment request is the second well-formed one.
    let emulator = start("fragment#4=lose-answer").await;
    let curl = Curl::new();
    let create_url = emulator.drive_upload_session_url("docs/curl.bin");
    let total = 3 * KIB320 + 1000;
    let file = data(total, 41);
    let body = json!({"item": {"@microsoft.graph.conflictBehavior": "rename", "name": "curl.bin",
                               "fileSize": total}});

    // Create: the bearer token is required, and must be the right one.
    let no_token = curl
        .send(CurlRequest::new("POST", &create_url).body(body.to_string().as_bytes()))
        .await;
    assert_eq!(no_token.status, 401);
    assert_eq!(
        no_token.json()["error"]["code"],
        "InvalidAuthenticationToken"
    );
    let wrong_token = curl
        .send(CurlRequest::create(&create_url, "other", &body))
        .await;
    assert_eq!(wrong_token.status, 401);
    let created = curl
        .send(CurlRequest::create(&create_url, TOKEN, &body))
        .await;
    assert_eq!(created.status, 200, "{created:?}");
    let session = created.json();
    assert_eq!(session["nextExpectedRanges"], json!(["0-"]));
    assert!(
        session["expirationDateTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let url = session["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(emulator.base_url()) && url.contains("tempauth="));

    // SPEC 5.2: a bearer header on the upload URL is refused.
    let with_bearer = curl
        .send(
            CurlRequest::fragment(&url, &file[..KIB320], 0, total)
                .header("Authorization", &format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(with_bearer.status, 401);
    assert_eq!(with_bearer.json()["error"]["code"], "unauthenticated");
    // Not the last fragment and not a multiple of 320 KiB.
    let misaligned = curl
        .send(CurlRequest::fragment(&url, &file[..1000], 0, total))
        .await;
    assert_eq!(misaligned.status, 400);
    assert_eq!(misaligned.json()["error"]["code"], "invalidRequest");
    // Content-Range says 320 KiB, the body is one byte shorter.
    let short_body = curl
        .send(
            CurlRequest::new("PUT", &url)
                .header("Content-Range", &format!("bytes 0-{}/{total}", KIB320 - 1))
                .body(&file[..KIB320 - 1]),
        )
        .await;
    assert_eq!(short_body.status, 400);

    let first = curl
        .send(CurlRequest::fragment(&url, &file[..KIB320], 0, total))
        .await;
    assert_eq!(first.status, 202);
    assert_eq!(first.json()["nextExpectedRanges"], json!(["327680-"]));
    assert!(first.json()["expirationDateTime"].is_string());

    // The second fragment is stored, but its answer is lost: curl sees an empty reply.
    let lost = curl
        .send(CurlRequest::fragment(
            &url,
            &file[KIB320..2 * KIB320],
            KIB320,
            total,
        ))
        .await;
    assert_eq!((lost.exit, lost.status), (EMPTY_REPLY, 0), "{lost:?}");
    // SPEC 5.1: ask where the server is before sending more.
    let position = curl.get(&url).await;
    assert_eq!(position.status, 200);
    assert_eq!(position.json()["nextExpectedRanges"], json!(["655360-"]));
    // A client that resends blindly overlaps what the server has: 416, not fatal.
    let resent = curl
        .send(CurlRequest::fragment(
            &url,
            &file[KIB320..2 * KIB320],
            KIB320,
            total,
        ))
        .await;
    assert_eq!(resent.status, 416);
    assert_eq!(resent.json()["error"]["code"], "invalidRange");
    // Skipping ahead of the server's position is refused the same way.
    let skipped = curl
        .send(CurlRequest::fragment(
            &url,
            &file[3 * KIB320..],
            3 * KIB320,
            total,
        ))
        .await;
    assert_eq!(skipped.status, 416);

    let third = curl
        .send(CurlRequest::fragment(
            &url,
            &file[2 * KIB320..3 * KIB320],
            2 * KIB320,
            total,
        ))
        .await;
    assert_eq!(third.status, 202);
    assert_eq!(third.json()["nextExpectedRanges"], json!(["983040-"]));
    let last = curl
        .send(CurlRequest::fragment(
            &url,
            &file[3 * KIB320..],
            3 * KIB320,
            total,
        ))
        .await;
    assert_eq!(last.status, 201, "{last:?}");
    let item = last.json();
    assert_eq!(
        (item["name"].as_str(), item["size"].as_u64()),
        (Some("curl.bin"), Some(total as u64))
    );
    assert_eq!(item["file"]["hashes"]["quickXorHash"], quick_xor(&file));
    assert!(item["file"]["hashes"].get("sha256Hash").is_none());
    // SPEC 5.13: after completion the upload URL answers 404.
    let after = curl.get(&url).await;
    assert_eq!(after.status, 404);
    assert_eq!(after.json()["error"]["code"], "itemNotFound");

    let stored = stored(&curl, &emulator, "me/drive/root:/docs/curl.bin").await;
    assert_eq!(stored["sha256"], sha256(&file));
    assert_eq!(stored["quick_xor_hash"], quick_xor(&file));
    assert_eq!(
        (stored["size"].as_u64(), stored["protocol"].as_str()),
        (Some(total as u64), Some("graph-drive"))
    );
    let stats = curl.stats(emulator.base_url()).await;
    assert_eq!(stats["faults"], json!({"lose-answer": 1}));
    assert_eq!(stats["refusals"]["416"], 2);
    assert_eq!(stats["refusals"]["400"], 2);
    assert_eq!(stats["bytes_received_twice"], KIB320);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_drive_session_is_gone_and_stores_nothing() {
    let emulator = start("").await;
    let curl = Curl::new();
    let total = 2 * KIB320;
    let file = data(total, 42);
    let created = curl
        .send(CurlRequest::create(
            &emulator.drive_upload_session_url("gone.bin"),
            TOKEN,
            &json!({}),
        ))
        .await;
    assert_eq!(created.status, 200);
    let url = created.json()["uploadUrl"].as_str().unwrap().to_owned();
    let first = curl
        .send(CurlRequest::fragment(&url, &file[..KIB320], 0, total))
        .await;
    assert_eq!(first.status, 202);
    // DELETE with a bearer header is refused like any other upload-URL request.
    let bearer_delete = curl
        .send(CurlRequest::new("DELETE", &url).header("Authorization", &format!("Bearer {TOKEN}")))
        .await;
    assert_eq!(bearer_delete.status, 401);
    let deleted = curl.send(CurlRequest::new("DELETE", &url)).await;
    assert_eq!((deleted.status, deleted.body.len()), (204, 0));
    assert_eq!(curl.get(&url).await.status, 404);
    let late = curl
        .send(CurlRequest::fragment(&url, &file[KIB320..], KIB320, total))
        .await;
    assert_eq!(late.status, 404);
    assert!(curl.files(emulator.base_url()).await.is_empty());
    let stats = curl.stats(emulator.base_url()).await;
    assert_eq!(
        (
            stats["sessions_created"].as_u64(),
            stats["files_completed"].as_u64()
        ),
        (Some(1), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_print_document_goes_in_any_order_under_10_mb_per_request() {
    let emulator = start("").await;
    let curl = Curl::new();
    let total = 10_000_050;
    let file = data(total, 43);
    let body = json!({"properties": {"documentName": "curl.pdf", "contentType": "application/pdf",
                                     "size": total}});
    let create_url = emulator.print_upload_session_url("p1", "j1", "d1");
    let created = curl
        .send(CurlRequest::create(&create_url, TOKEN, &body))
        .await;
    assert_eq!(created.status, 200, "{created:?}");
    let session = created.json();
    assert_eq!(
        session["nextExpectedRanges"],
        json!([format!("0-{}", total - 1)])
    );
    let url = session["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("tempauthtoken="));

    // Each request is under 10 MB: exactly 10 000 000 bytes is over the maximum.
    let too_big = curl
        .send(CurlRequest::fragment(&url, &file[..10_000_000], 0, total))
        .await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.json()["error"]["code"], "requestEntityTooLarge");
    // The second half first: print segments may come in any order.
    let second = curl
        .send(CurlRequest::fragment(
            &url,
            &file[5_000_000..],
            5_000_000,
            total,
        ))
        .await;
    assert_eq!(second.status, 202);
    assert_eq!(second.json()["nextExpectedRanges"], json!(["0-4999999"]));
    let overlap = curl
        .send(CurlRequest::fragment(
            &url,
            &file[4_000_000..6_000_000],
            4_000_000,
            total,
        ))
        .await;
    assert_eq!(overlap.status, 416);
    let position = curl.get(&url).await;
    assert_eq!(position.status, 200);
    assert_eq!(position.json()["nextExpectedRanges"], json!(["0-4999999"]));
    let first = curl
        .send(CurlRequest::fragment(&url, &file[..5_000_000], 0, total))
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    let document = first.json();
    assert_eq!(
        (document["id"].as_str(), document["size"].as_u64()),
        (Some("d1"), Some(total as u64))
    );

    let stored = stored(&curl, &emulator, "print/printers/p1/jobs/j1/documents/d1").await;
    assert_eq!(stored["sha256"], sha256(&file));
    assert_eq!(stored["protocol"], "graph-print");
    let stats = curl.stats(emulator.base_url()).await;
    assert_eq!(stats["refusals"], json!({"413": 1, "416": 1}));
    assert_eq!(stats["bytes_received_twice"], 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_attachment_answers_200_in_pascal_case_and_201_with_a_location() {
    let emulator = start("").await;
    let curl = Curl::new();
    let total = 4_000_010;
    let file = data(total, 44);
    let body =
        json!({"AttachmentItem": {"attachmentType": "file", "name": "curl.pdf", "size": total}});
    let created = curl
        .send(CurlRequest::create(
            &emulator.mail_upload_session_url("AAMkAD"),
            TOKEN,
            &body,
        ))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let url = created.json()["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("authtoken="));

    // At most 4 MB per request.
    let too_big = curl
        .send(CurlRequest::fragment(&url, &file[..4_000_001], 0, total))
        .await;
    assert_eq!(too_big.status, 413);
    let first = curl
        .send(CurlRequest::fragment(&url, &file[..4_000_000], 0, total))
        .await;
    assert_eq!(first.status, 200);
    let progress = first.json();
    assert_eq!(progress["NextExpectedRanges"], json!(["4000000"]));
    assert!(progress["ExpirationDateTime"].is_string());
    assert_eq!(first.next_start(), Some(4_000_000));
    let position = curl.get(&url).await;
    assert_eq!(
        (
            position.status,
            position.json()["NextExpectedRanges"].clone()
        ),
        (200, json!(["4000000"]))
    );
    let with_bearer = curl
        .send(
            CurlRequest::fragment(&url, &file[4_000_000..], 4_000_000, total)
                .header("Authorization", &format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(with_bearer.status, 401);
    let done = curl
        .send(CurlRequest::fragment(
            &url,
            &file[4_000_000..],
            4_000_000,
            total,
        ))
        .await;
    assert_eq!(done.status, 201, "{done:?}");
    assert!(done.body.is_empty());
    let location = done.header("location").expect("a Location header");
    assert!(location.starts_with(&format!(
        "{}/v1.0/me/messages/AAMkAD/attachments/",
        emulator.base_url()
    )));

    let stored = stored(&curl, &emulator, "me/messages/AAMkAD/attachments/curl.pdf").await;
    assert_eq!(stored["sha256"], sha256(&file));
    assert_eq!(stored["protocol"], "graph-mail");
}

/// What a curl-driven client saw, named as the emulator names the faults that cause it.
#[derive(Default)]
struct Observed {
    /// Fault counter name → times the client saw its effect.
    faults: std::collections::BTreeMap<String, u64>,
    /// Connections that closed without an answer and stored nothing (curl exit 52, 55 or 56,
    /// then a status query showing no progress): `drop-*` faults, which a client cannot tell
    /// apart.
    dropped_nothing_stored: u64,
    fragments: u64,
    status_queries: u64,
}

impl Observed {
    fn saw(&mut self, counter: &str) {
        *self.faults.entry(counter.to_owned()).or_default() += 1;
    }

    /// `GET {url}` until it answers 200 (a 5xx is counted and asked again); the server's
    /// position.
    async fn position(&mut self, curl: &Curl, url: &str) -> usize {
        loop {
            let answer = curl.get(url).await;
            self.status_queries += 1;
            match (answer.exit, answer.status) {
                (0, 200) => return answer.next_start().expect("a position"),
                (0, status @ 500..=504) => self.saw(&format!("status-{status}")),
                other => panic!("status query answered {other:?}: {answer:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_counters_equal_what_curl_observed() {
    let script = "fragment#1=status:503, fragment#3=lose-answer, status#2=status:500, \
                  fragment#5=partial-store:1000, fragment#7=throttle:429:seconds:1, \
                  fragment#8=drop-before-body, fragment#9=drop-mid-body:1000";
    let emulator = start(script).await;
    let curl = Curl::new();
    let total = 6 * KIB320 + 12_345;
    let file = data(total, 45);
    let created = curl
        .send(CurlRequest::create(
            &emulator.drive_upload_session_url("faults.bin"),
            TOKEN,
            &json!({}),
        ))
        .await;
    assert_eq!(created.status, 200);
    let url = created.json()["uploadUrl"].as_str().unwrap().to_owned();

    // A client that follows SPEC 1.1 and 4: fragments end on the 320 KiB grid; after a 5xx or a
    // broken connection it asks where the server is; after a 429 it waits as told.
    let mut seen = Observed::default();
    let mut next = 0;
    loop {
        let end = ((next / KIB320 + 1) * KIB320).min(total);
        let answer = curl
            .send(CurlRequest::fragment(&url, &file[next..end], next, total))
            .await;
        seen.fragments += 1;
        match (answer.exit, answer.status) {
            (0, 201) => break,
            (0, 202) => {
                let position = answer.next_start().expect("a position");
                if position < end {
                    seen.saw("partial-store");
                }
                next = position;
            }
            (0, 429) => {
                seen.saw("throttle-429-seconds");
                let wait: u64 = answer.header("retry-after").unwrap().parse().unwrap();
                // The client under test is curl, another process on real time (and this
                // runtime has worker threads, which a paused clock cannot have): waiting as
                // told is its behaviour, so it stays a real wait.
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
            (0, status @ 500..=504) => {
                seen.saw(&format!("status-{status}"));
                next = seen.position(&curl, &url).await;
            }
            (exit, 0) if [EMPTY_REPLY, SEND_ERROR, RECV_ERROR].contains(&exit) => {
                let position = seen.position(&curl, &url).await;
                if position == end {
                    seen.saw("lose-answer");
                } else {
                    assert_eq!(position, next, "a drop stored part of a fragment");
                    seen.dropped_nothing_stored += 1;
                }
                next = position;
            }
            other => panic!("unexpected {other:?}: {answer:?}"),
        }
    }

    let stats = curl.stats(emulator.base_url()).await;
    let mut counted: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(stats["faults"].clone()).unwrap();
    let drops: u64 = ["drop-before-body", "drop-mid-body", "drop-after-body"]
        .iter()
        .filter_map(|name| counted.remove(*name))
        .sum();
    assert_eq!(counted, seen.faults);
    assert_eq!(drops, seen.dropped_nothing_stored);
    // Every fault of the script struck, and each was seen once.
    assert_eq!(stats["faults_total"], 7);
    assert_eq!(seen.faults.values().sum::<u64>() + drops, 7);
    assert_eq!(stats["requests"]["fragment"], seen.fragments);
    assert_eq!(stats["requests"]["status"], seen.status_queries);
    // The client never resent what the server had, and nothing was refused.
    assert_eq!(stats["bytes_received_twice"], 0);
    assert_eq!(stats["refusals"], json!({}));
    let stored = stored(&curl, &emulator, "me/drive/root:/faults.bin").await;
    assert_eq!(stored["sha256"], sha256(&file));
}

//! Whole uploads over real HTTP on loopback, through the strict emulator: every Graph variant,
//! sizes around fragment boundaries, commits, cancellation, many files at once, and the
//! `Authorization` header that must never reach an upload URL.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use resumable_core::graph::Destination;
use resumable_core::graph::{DriveItem, Event, MailAttachment, PrintDocument, Target, UploadError};
use resumable_core::http::TransportError;
use resumable_core::session::Failure;
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{FailureCause, UploadJob, Uploader};

use common::*;

#[tokio::test]
async fn every_graph_variant_stores_the_exact_bytes() {
    let emulator = emulator("").await;
    let uploader = uploader();
    let drive_bytes = data(3 * KIB320 as usize + 12_345, 1);
    let print_bytes = data(1_000_001, 2);
    let mail_bytes = data(700_000, 3);
    let jobs = vec![
        drive_job(&emulator, "docs/a.bin", drive_bytes.clone(), KIB320),
        job(
            emulator.print_upload_session_url("p", "j", "d"),
            Arc::new(BytesSource::new(print_bytes.clone())),
            Target::PrintDocument(PrintDocument::new("d.pdf", "application/pdf")),
            200_000,
        ),
        job(
            emulator.mail_upload_session_url("m1"),
            Arc::new(BytesSource::new(mail_bytes.clone())),
            Target::MailAttachment(MailAttachment::new("x.bin")),
            150_000,
        ),
    ];
    let outcomes = uploader.upload_many(jobs, 3).await;
    for outcome in &outcomes {
        let summary = outcome.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(summary.stats.confirmed, summary.stats.total);
        assert_eq!(summary.stats.sessions, 1);
    }
    // The drive item and print document come back as JSON; the attachment as a Location.
    let drive = outcomes[0].as_ref().unwrap();
    assert!(
        drive
            .completion
            .item
            .as_deref()
            .unwrap()
            .contains("\"a.bin\"")
    );
    let mail = outcomes[2].as_ref().unwrap();
    assert!(mail.completion.location.is_some(), "{:?}", mail.completion);
    assert_eq!(
        stored(&emulator, "me/drive/root:/docs/a.bin").sha256,
        sha256(&drive_bytes)
    );
    let print = emulator
        .files()
        .into_iter()
        .find(|f| f.path.starts_with("print/"))
        .unwrap();
    assert_eq!(print.sha256, sha256(&print_bytes));
    let attachment = emulator
        .files()
        .into_iter()
        .find(|f| f.path.contains("messages"))
        .unwrap();
    assert_eq!(attachment.sha256, sha256(&mail_bytes));
    let stats = emulator.stats();
    assert!(
        stats.refusals.is_empty(),
        "protocol violations: {:?}",
        stats.refusals
    );
    assert_eq!(
        stats.bytes_received,
        (drive_bytes.len() + print_bytes.len() + mail_bytes.len()) as u64
    );
}

#[tokio::test]
async fn sizes_around_fragment_boundaries_take_exactly_the_fragments_they_need() {
    let chunk = KIB320;
    let sizes = [1, chunk - 1, chunk, chunk + 1, 3 * chunk + 1];
    let uploads = sizes.iter().map(|&size| async move {
        let emulator = emulator("").await;
        let bytes = data(size as usize, size as u8);
        let summary = uploader()
            .upload(drive_job(&emulator, "f.bin", bytes.clone(), chunk))
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: {e}"));
        assert_eq!(summary.stats.confirmed, size);
        assert_eq!(
            stored(&emulator, "me/drive/root:/f.bin").sha256,
            sha256(&bytes),
            "{size}"
        );
        // One PUT per fragment: a file smaller than a fragment takes one, the last byte is sent.
        assert_eq!(
            requests(&emulator, "fragment"),
            size.div_ceil(chunk),
            "{size} bytes"
        );
        assert!(
            emulator.stats().refusals.is_empty(),
            "{size}: {:?}",
            emulator.stats().refusals
        );
    });
    futures::future::join_all(uploads).await;
}

#[tokio::test]
async fn the_callers_authorization_default_never_reaches_the_upload_url() {
    // The emulator answers 401 to any request on an upload URL that carries Authorization.
    let emulator = emulator("").await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        "Bearer callers-default".parse().unwrap(),
    );
    let callers_client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let uploader = Uploader::builder()
        .api_client(callers_client)
        .token(resumable_core::secret::Secret::new("test-token"))
        .build()
        .unwrap();
    let bytes = data(2 * KIB320 as usize + 5, 4);
    uploader
        .upload(drive_job(&emulator, "auth.bin", bytes.clone(), KIB320))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stored(&emulator, "me/drive/root:/auth.bin").sha256,
        sha256(&bytes)
    );
    assert!(
        emulator.stats().refusals.is_empty(),
        "{:?}",
        emulator.stats().refusals
    );
    assert_eq!(requests(&emulator, "fragment"), 3);
}

#[tokio::test]
async fn events_stream_in_order_and_reach_the_callback() {
    let emulator = emulator("").await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let job = drive_job(&emulator, "ev.bin", data(3 * KIB320 as usize, 5), KIB320)
        .on_event(move |event| log.lock().unwrap().push(event.clone()));
    let mut task = uploader().start(job).await.unwrap();
    let mut streamed = Vec::new();
    while let Some(event) = task.next().await {
        streamed.push(event);
    }
    let summary = task.finish().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), streamed);
    assert!(matches!(
        streamed[0],
        Event::SessionCreated { number: 1, .. }
    ));
    let confirmed: Vec<u64> = streamed
        .iter()
        .filter_map(|e| match e {
            Event::Acknowledged { confirmed, .. } => Some(*confirmed),
            _ => None,
        })
        .collect();
    assert_eq!(confirmed, [KIB320, 2 * KIB320]);
    assert!(matches!(streamed.last(), Some(Event::Completed(_))));
    assert_eq!(summary.stats.bytes_sent, 3 * KIB320);
}

#[tokio::test]
async fn a_deferred_upload_waits_for_the_commit() {
    let emulator = emulator("").await;
    let bytes = data(2 * KIB320 as usize + 1, 6);
    let job = UploadJob::new(
        BytesSource::new(bytes.clone()),
        Destination::new_session(emulator.drive_upload_session_url("deferred.bin")),
        Target::DriveItem(DriveItem::new().deferred()),
    )
    .configure(|c| quick(c, KIB320));
    let mut task = uploader().start(job).await.unwrap();
    while let Some(event) = task.next().await {
        if let Event::CommitPending { .. } = event {
            assert!(emulator.files().is_empty(), "committed before the commit");
            task.commit();
        }
    }
    task.finish().await.unwrap();
    assert_eq!(
        stored(&emulator, "me/drive/root:/deferred.bin").sha256,
        sha256(&bytes)
    );
    assert_eq!(requests(&emulator, "commit"), 1);
}

#[tokio::test]
async fn cancel_deletes_the_session_and_dropping_the_task_does_too() {
    let emulator = emulator("fragment#2=slow:300, fragment#5=slow:300").await;
    let bytes = data(6 * KIB320 as usize, 7);
    let mut task = uploader()
        .start(drive_job(&emulator, "c1.bin", bytes.clone(), KIB320))
        .await
        .unwrap();
    while let Some(event) = task.next().await {
        if let Event::Acknowledged { .. } = event {
            task.cancel();
        }
    }
    let failure = task.finish().await.unwrap_err();
    assert!(
        matches!(failure.cause, FailureCause::Cancelled),
        "{failure}"
    );
    assert_eq!(requests(&emulator, "cancel"), 1);

    let mut task = uploader()
        .start(drive_job(&emulator, "c2.bin", bytes, KIB320))
        .await
        .unwrap();
    while let Some(event) = task.next().await {
        if let Event::Acknowledged { .. } = event {
            break;
        }
    }
    drop(task);
    // The delete goes out from the task's own winding down, after the drop returns.
    eventually("dropping the task deletes the session", || {
        requests(&emulator, "cancel") >= 2
    })
    .await;
    assert_eq!(requests(&emulator, "cancel"), 2);
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn upload_many_keeps_to_its_concurrency_bound() {
    let emulator = emulator("").await;
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let files: Vec<Vec<u8>> = (0..6)
        .map(|i| data(KIB320 as usize * 2 + i, i as u8))
        .collect();
    let jobs = files.iter().enumerate().map(|(i, bytes)| {
        let (active, peak) = (active.clone(), peak.clone());
        drive_job(&emulator, &format!("many/{i}.bin"), bytes.clone(), KIB320).on_event(
            move |event| match event {
                Event::SessionCreated { .. } => {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                }
                Event::Completed(_) | Event::Failed(_) => {
                    active.fetch_sub(1, Ordering::SeqCst);
                }
                _ => {}
            },
        )
    });
    let outcomes = uploader().upload_many(jobs, 2).await;
    assert_eq!(outcomes.len(), 6);
    for (i, outcome) in outcomes.iter().enumerate() {
        outcome.as_ref().unwrap_or_else(|e| panic!("{i}: {e}"));
        let path = format!("me/drive/root:/many/{i}.bin");
        assert_eq!(stored(&emulator, &path).sha256, sha256(&files[i]));
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 2,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(emulator.stats().sessions_created, 6);
}

#[tokio::test]
async fn a_server_that_stays_down_fails_cleanly() {
    // Nothing listens on this port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/v1.0/me/drive/root:/x.bin:/createUploadSession");
    let job = UploadJob::new(
        BytesSource::new(data(1000, 8)),
        Destination::new_session(url),
        Target::DriveItem(DriveItem::new()),
    )
    .configure(|c| {
        quick(c, KIB320);
        c.retry.max_attempts = 3;
    });
    let started = std::time::Instant::now();
    let failure = uploader().upload(job).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &failure.cause {
        FailureCause::Upload(UploadError::GaveUp { last, .. }) => {
            assert_eq!(*last, Failure::Transport(TransportError::Connect))
        }
        other => panic!("{other:?}"),
    }
    let text = failure.to_string();
    assert!(text.contains("could not connect"), "{text}");
    assert!(text.contains("resume"), "{text}");
    assert_eq!(failure.stats.retries, 3);
}

#[tokio::test]
async fn creating_a_session_without_a_token_is_refused_before_sending() {
    let emulator = emulator("").await;
    let error = Uploader::new()
        .unwrap()
        .start(drive_job(&emulator, "t.bin", data(10, 1), KIB320))
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("access token"), "{error}");
    assert_eq!(emulator.stats().requests_total, 0);
}

#[tokio::test]
async fn a_session_created_elsewhere_is_continued_without_a_token() {
    let emulator = emulator("").await;
    let bytes = data(2 * KIB320 as usize + 3, 9);
    let session: serde_json::Value = reqwest::Client::new()
        .post(emulator.drive_upload_session_url("elsewhere.bin"))
        .bearer_auth("someone-else")
        .header("content-type", "application/json")
        .body(format!(r#"{{"item":{{"fileSize":{}}}}}"#, bytes.len()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload_url = session["uploadUrl"].as_str().unwrap();
    let job = UploadJob::new(
        BytesSource::new(bytes.clone()),
        Destination::existing_session(resumable_core::secret::SecretUrl::new(upload_url)),
        Target::DriveItem(DriveItem::new()),
    )
    .configure(|c| quick(c, KIB320));
    // No token: nothing here needs one.
    let summary = Uploader::new().unwrap().upload(job).await.unwrap();
    assert_eq!(summary.stats.sessions, 1);
    assert_eq!(
        stored(&emulator, "me/drive/root:/elsewhere.bin").sha256,
        sha256(&bytes)
    );
    assert_eq!(
        requests(&emulator, "status"),
        1,
        "it asks the session where it is first"
    );
}

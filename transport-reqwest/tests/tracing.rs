//! What the transport tells `tracing` during a real upload with a retry: spans and events carry
//! the fields a log reader needs (the upload's protocol and destination host, each request's
//! range and status, the retry's cause), and never the token or the session URL's secret part.
//!
//! A subscriber of its own collects the text of every span and event of this crate; it is the
//! global one, so this file holds a single test.

mod common;

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use resumable_core::graph::Checkpoint;
use resumable_core::secret::Secret;
use resumable_reqwest::{CheckpointStore, FileCheckpointStore, Uploader};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use common::*;

/// Every line the transport traced: "span NAME k=v ...", "record k=v ...", "event LEVEL k=v ...".
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Collector {
    next_id: AtomicU64,
}

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Collector {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // The emulator and the HTTP stack are not under test.
        metadata.target().starts_with("resumable_reqwest")
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        span.record(&mut fields);
        let line = format!("span {}{}", span.metadata().name(), fields.0);
        LINES.lock().unwrap().push(line);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, values: &Record<'_>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        LINES.lock().unwrap().push(format!("record{}", fields.0));
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = format!("event {}{}", event.metadata().level(), fields.0);
        LINES.lock().unwrap().push(line);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

const TOKEN: &str = "bearer-token-that-must-never-be-logged";

#[tokio::test]
async fn traces_say_what_happened_and_never_a_secret() {
    tracing::subscriber::set_global_default(Collector {
        next_id: AtomicU64::new(1),
    })
    .expect("the only subscriber of this test binary");

    let emulator = emulator("fragment#2=status:503").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("traced.checkpoint"));
    let bytes = data(3 * KIB320 as usize + 10, 4);
    let uploader = Uploader::builder()
        .token(Secret::new(TOKEN))
        .build()
        .unwrap();
    let job = drive_job(&emulator, "traced.bin", bytes.clone(), KIB320)
        .checkpoint(store.clone())
        .keep_completed_checkpoint();
    let summary = uploader.upload(job).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.stats.retries, 1);
    assert_eq!(
        stored(&emulator, "me/drive/root:/traced.bin").sha256,
        sha256(&bytes)
    );

    let checkpoint = Checkpoint::from_bytes(&store.load().unwrap().unwrap()).unwrap();
    let session_url = checkpoint
        .upload_url()
        .expect("a session URL")
        .expose()
        .to_owned();
    let (before_query, query) = session_url
        .split_once('?')
        .expect("a query with the credential");
    let secret = query.split_once('=').map_or(query, |(_, value)| value);
    assert!(secret.len() >= 8, "a real credential: {session_url}");
    let path = &before_query[before_query
        .find("/_up/")
        .expect("the emulator's session path")..];
    let create_url = emulator.drive_upload_session_url("traced.bin");
    let origin = &create_url[..create_url[7..].find('/').unwrap() + 7];

    let text = LINES.lock().unwrap().join("\n");
    for secret_part in [TOKEN, secret, path, "createUploadSession", "traced.bin"] {
        assert!(
            !text.contains(secret_part),
            "{secret_part:?} traced:\n{text}"
        );
    }
    let expected = [
        format!(
            "span upload protocol=graph total={} destination={origin}",
            bytes.len()
        ),
        "span request method=POST kind=CreateSession".to_owned(),
        format!("span request method=PUT kind=Fragment len={KIB320}"),
        format!("content_range=bytes 0-{}/{}", KIB320 - 1, bytes.len()),
        "status=503".to_owned(),
        "event DEBUG message=answer status=503".to_owned(),
        "event INFO message=retry scheduled attempt=1 cause=HTTP 503 (service unavailable)"
            .to_owned(),
        "status=201".to_owned(),
        format!("event INFO message=upload completed total={}", bytes.len()),
    ];
    for wanted in expected {
        assert!(text.contains(&wanted), "{wanted:?} missing from:\n{text}");
    }

    // A failure is a warning that says why.
    LINES.lock().unwrap().clear();
    let failing = common::emulator("fragment#1=status:500").await;
    let job = drive_job(&failing, "refused.bin", bytes, KIB320).should_retry(|_| false);
    uploader.upload(job).await.unwrap_err();
    let text = LINES.lock().unwrap().join("\n");
    assert!(
        text.contains("event WARN message=upload failed cause=")
            && text.contains("the retry hook declined retry 1"),
        "{text}"
    );
    assert!(!text.contains(TOKEN) && !text.contains("/_up/"), "{text}");
}

//! Two transport promises checked at a scripted HTTP server on a real socket: a rejected bearer
//! token is refreshed once and only once, and `upload_many` really runs its bound's worth of
//! uploads at the same time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::Destination;
use resumable_core::graph::{DriveItem, Target, UploadError};
use resumable_core::http::{Auth, Body, Method, Request, RequestId, RequestKind};
use resumable_core::secret::{Secret, SecretUrl};
use resumable_reqwest::TimeoutPolicy;
use resumable_reqwest::driver::{Exchange, HttpClients};
use resumable_reqwest::source::{BytesSource, Source};
use resumable_reqwest::token::{TokenError, TokenProvider};
use resumable_reqwest::{FailureCause, UploadJob, Uploader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Barrier;

/// One request as the server read it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    body_len: usize,
}

/// A canned answer: status and JSON body (empty for none).
type Answer = (u16, String);

/// Decides the answer to each request; may wait before answering.
type Script = Arc<dyn Fn(Seen) -> BoxFuture<'static, Answer> + Send + Sync>;

/// A server that reads each request whole, records it and answers it as `script` says, one
/// request per connection, for as many connections as come.
async fn scripted_server(script: Script) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let (script, log) = (script.clone(), log.clone());
            tokio::spawn(async move {
                if let Some(request) = read_request(socket).await {
                    let (socket, request) = request;
                    log.lock().unwrap().push(request.clone());
                    let (status, body) = script(request).await;
                    answer(socket, status, &body).await;
                }
            });
        }
    });
    (base, seen)
}

/// Reads a request head and its `Content-Length` body; `None` if the client went away first.
async fn read_request(mut socket: TcpStream) -> Option<(TcpStream, Seen)> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let mut authorization = None;
    let mut len = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            len = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.trim().to_owned());
        }
    }
    let mut body_len = buf.len() - head_end;
    while body_len < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body_len += n;
    }
    let seen = Seen {
        method,
        path,
        authorization,
        body_len,
    };
    Some((socket, seen))
}

async fn answer(mut socket: TcpStream, status: u16, body: &str) {
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    let text = format!(
        "HTTP/1.1 {status} X\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The client may have gone (a test that failed); nothing to do about it here.
    let _ = socket.write_all(text.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Hands out `token-1`, then `token-2` after a refresh, and so on; records every call's
/// `refresh` flag.
#[derive(Default)]
struct CountingTokens(Mutex<Vec<bool>>);

impl TokenProvider for CountingTokens {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
        let mut calls = self.0.lock().unwrap();
        calls.push(refresh);
        let issued = 1 + calls.iter().filter(|&&r| r).count();
        let token = Secret::new(format!("token-{issued}"));
        Box::pin(async move { Ok(token) })
    }
}

fn always(status: u16) -> Script {
    Arc::new(move |_| Box::pin(async move { (status, String::new()) }))
}

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_second_401_after_the_refresh_is_returned_without_another_refresh() {
    let (base, seen) = scripted_server(always(401)).await;
    let tokens = Arc::new(CountingTokens::default());
    let timeouts = TimeoutPolicy::default();
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(Bytes::new()));
    let exchange = Exchange::new(
        HttpClients::new(&timeouts).unwrap(),
        Some(tokens.clone()),
        source,
        timeouts,
    );
    let create = Request {
        id: RequestId(1),
        kind: RequestKind::CreateSession,
        method: Method::Post,
        url: SecretUrl::new(format!("{base}/create")),
        headers: Vec::new(),
        auth: Auth::Bearer,
        body: Body::Json(Bytes::from_static(b"{}")),
    };
    let delivery = exchange.send(&create, LIMIT).await;
    // The caller (the state machine) gets the 401 itself, to turn into its own error.
    let response = delivery.result.expect("an answer, not a transport error");
    assert_eq!(response.status, 401);
    // Give a (wrong) third request time to arrive before counting. A check that something
    // does not happen: no event marks the absence of a request, so this stays a grace period.
    // It cannot fail a right client, however slow the machine; the token calls above are
    // counted exactly, without it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = seen.lock().unwrap();
    let authorizations: Vec<_> = seen.iter().map(|s| s.authorization.as_deref()).collect();
    assert_eq!(
        authorizations,
        [Some("Bearer token-1"), Some("Bearer token-2")]
    );
    assert_eq!(*tokens.0.lock().unwrap(), [false, true]);
}

#[tokio::test]
async fn an_upload_whose_refreshed_token_is_refused_fails_with_a_clear_401() {
    let (base, seen) = scripted_server(always(401)).await;
    let tokens = Arc::new(CountingTokens::default());
    let uploader = Uploader::builder()
        .token_provider(tokens.clone())
        .build()
        .unwrap();
    let job = UploadJob::new(
        BytesSource::new(vec![5u8; 1000]),
        Destination::new_session(format!(
            "{base}/v1.0/me/drive/root:/a.bin:/createUploadSession"
        )),
        Target::DriveItem(DriveItem::new()),
    );
    let failure = uploader
        .upload(job)
        .await
        .expect_err("the token is refused");
    let FailureCause::Upload(UploadError::Rejected { during, status, .. }) = &failure.cause else {
        panic!("not a rejection: {failure:?}");
    };
    assert_eq!((*during, *status), (RequestKind::CreateSession, 401));
    let message = failure.to_string();
    assert!(message.contains("get a new token"), "{message}");
    assert!(!message.contains("token-1") && !message.contains("token-2"));
    // A grace period for a (wrong) retry to arrive: a check that something does not happen,
    // which no event can mark. It cannot fail a right client, however slow the machine.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one refresh, no retry loop: {seen:?}");
    assert!(seen.iter().all(|s| s.method == "POST"));
    assert_eq!(*tokens.0.lock().unwrap(), [false, true]);
}

/// A drive service that creates sessions at once and holds every fragment until `bound`
/// fragments are open together (or `patience` passes, so a serial uploader fails instead of
/// hanging), then completes the upload. Counts the fragments open at once.
struct HoldingService {
    open: AtomicUsize,
    peak: AtomicUsize,
    gathered: Barrier,
    patience: Duration,
    sessions: AtomicUsize,
}

impl HoldingService {
    async fn answer(self: Arc<Self>, base: String, request: Seen) -> Answer {
        if request.method == "POST" {
            let n = self.sessions.fetch_add(1, Ordering::SeqCst);
            let session = format!(
                r#"{{"uploadUrl":"{base}/up/{n}?tempauth=t{n}","expirationDateTime":"2099-01-01T00:00:00Z","nextExpectedRanges":["0-"]}}"#
            );
            return (200, session);
        }
        assert!(request.authorization.is_none(), "a bearer on an upload URL");
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let gathered = tokio::time::timeout(self.patience, self.gathered.wait()).await;
        // Closed before answering: the client starts its next upload only after an answer,
        // so a client that keeps to its bound never counts above it.
        self.open.fetch_sub(1, Ordering::SeqCst);
        if gathered.is_err() {
            return (503, String::new());
        }
        let item = format!(
            r#"{{"id":"item{}","name":"f.bin","size":{}}}"#,
            request.path.len(),
            request.body_len
        );
        (201, item)
    }
}

#[tokio::test]
async fn upload_many_keeps_its_bound_of_uploads_in_flight_at_once() {
    const BOUND: usize = 3;
    const FILES: usize = 2 * BOUND;
    let service = Arc::new(HoldingService {
        open: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        gathered: Barrier::new(BOUND),
        patience: Duration::from_secs(5),
        sessions: AtomicUsize::new(0),
    });
    let base = Arc::new(Mutex::new(String::new()));
    let script: Script = {
        let (service, base) = (service.clone(), base.clone());
        Arc::new(move |request| {
            let base = base.lock().unwrap().clone();
            Box::pin(service.clone().answer(base, request))
        })
    };
    let (url, seen) = scripted_server(script).await;
    *base.lock().unwrap() = url.clone();
    let jobs: Vec<UploadJob> = (0..FILES)
        .map(|i| {
            let create = format!("{url}/v1.0/me/drive/root:/many/{i}.bin:/createUploadSession");
            UploadJob::new(
                BytesSource::new(vec![i as u8; 1000 + i]),
                Destination::new_session(create),
                Target::DriveItem(DriveItem::new()),
            )
            .configure(|config| {
                config.fragment_size = FragmentSizing::Fixed(327_680);
                // A fragment held past the patience (a serial uploader) fails the test soon
                // rather than after a long run of retries.
                config.retry.max_attempts = 1;
                config.retry.initial_backoff = Duration::from_millis(10);
            })
        })
        .collect();
    let uploader = Uploader::builder().token(Secret::new("t")).build().unwrap();
    let outcomes = uploader.upload_many(jobs, BOUND).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        let summary = outcome.as_ref().unwrap_or_else(|e| panic!("{i}: {e}"));
        assert_eq!(summary.stats.confirmed, 1000 + i as u64);
    }
    assert_eq!(service.peak.load(Ordering::SeqCst), BOUND);
    let fragments = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "PUT")
        .count();
    assert_eq!(fragments, FILES, "one fragment per file, none retried");
}

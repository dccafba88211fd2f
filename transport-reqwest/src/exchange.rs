//! Sending one request the core described, and bringing back its answer.
//!
//! Requests marked [`Auth::None`] (everything sent to an upload URL or a WOPI host) go through a
//! client this crate builds itself: no default headers, so no `Authorization` can leak onto them
//! whatever the caller configured elsewhere; no compression or other transform; no redirects
//! (a redirected PUT would have to replay its body, and a redirect may cross to another host).
//! Requests marked [`Auth::Bearer`] go through the caller's client if one was given, with a token
//! from the [`TokenProvider`].
//!
//! Bodies that name source ranges are read just in time, a block at a time, by a task that stays
//! a couple of blocks ahead of the socket: the read of the next block overlaps the sending of the
//! current one, the first blocks of the next fragment are read while this one finishes, memory
//! stays at a few blocks per request, and a retry simply reads the
//! range again.
//!
//! Each request runs under the time limit its state machine computed (it scales with the body
//! size and the measured throughput), and under the idle limit of the [`TimeoutPolicy`]: a body
//! that stops moving, or an answer that stops arriving, ends the request as
//! [`TransportError::Timeout`] long before the overall limit.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use resumable_core::http::{
    Auth, Body, Method, Request, RequestId, Response, Segment, TransportError,
};
use resumable_core::range::ByteRange;

use crate::prefetch::{Prefetcher, spawn_read};
use crate::source::{BLOCK_SIZE, Source};
use crate::timeouts::TimeoutPolicy;
use crate::token::TokenProvider;

/// Blocks read ahead of the socket per request.
const READ_AHEAD_BLOCKS: usize = 2;

/// Bodies are handed to the connection in pieces of this size, so the idle watchdog sees
/// movement even on slow links.
const PIECE_SIZE: usize = 64 * 1024;

/// Answers longer than this are cut: every answer the protocols define is a small JSON document,
/// and a hostile server must not make the client buffer gigabytes.
const MAX_ANSWER_LEN: usize = 4 << 20;

/// What this crate's clients call themselves (Microsoft asks clients to identify themselves).
const USER_AGENT: &str = concat!("resumable-reqwest/", env!("CARGO_PKG_VERSION"));

/// The two HTTP clients: one for the service API, one for upload URLs.
#[derive(Clone, Debug)]
pub struct HttpClients {
    api: reqwest::Client,
    upload: reqwest::Client,
}

impl HttpClients {
    /// Clients built by this crate for both kinds of request.
    ///
    /// ```
    /// use resumable_reqwest::exchange::HttpClients;
    /// use resumable_reqwest::timeouts::TimeoutPolicy;
    /// let clients = HttpClients::new(&TimeoutPolicy::default()).unwrap();
    /// # drop(clients);
    /// ```
    pub fn new(timeouts: &TimeoutPolicy) -> Result<Self, reqwest::Error> {
        let upload = upload_client(timeouts)?;
        Ok(HttpClients {
            api: upload.clone(),
            upload,
        })
    }

    /// Uses the caller's `api` client for API requests (those carrying a bearer token). Upload
    /// URL requests still use this crate's own client, so defaults on `api` (an `Authorization`
    /// header, compression, proxies with credentials) never reach them.
    pub fn with_api_client(
        api: reqwest::Client,
        timeouts: &TimeoutPolicy,
    ) -> Result<Self, reqwest::Error> {
        Ok(HttpClients {
            api,
            upload: upload_client(timeouts)?,
        })
    }

    fn for_auth(&self, auth: Auth) -> &reqwest::Client {
        match auth {
            Auth::Bearer => &self.api,
            Auth::None => &self.upload,
        }
    }
}

/// The client for upload URLs. No read timeout: reqwest's counts from the start of the request,
/// body upload included, which would kill large fragments on slow links; the exchange watches
/// for stalls itself.
fn upload_client(timeouts: &TimeoutPolicy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .default_headers(reqwest::header::HeaderMap::new())
        .user_agent(USER_AGENT)
        .connect_timeout(timeouts.connect)
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
}

/// What became of one request.
#[derive(Debug)]
pub struct Delivery {
    /// The request's id.
    pub id: RequestId,
    /// The answer, or why there was none.
    pub result: Result<Response, TransportError>,
    /// CRC32 of the source bytes the body carried, when the whole body went out.
    pub source_crc: Option<u32>,
    /// Source bytes the body carried.
    pub source_len: u64,
    /// When the first body byte was handed to the connection (after connecting), if it was.
    pub body_started: Option<tokio::time::Instant>,
    /// From the start of sending to the end of the answer.
    pub elapsed: Duration,
    /// What went wrong, for a log line; never contains the URL.
    pub detail: Option<String>,
}

/// Sends requests for one upload.
pub struct Exchange {
    clients: HttpClients,
    tokens: Option<Arc<dyn TokenProvider>>,
    source: Arc<dyn Source>,
    timeouts: TimeoutPolicy,
    sent: Arc<AtomicU64>,
    prefetcher: Arc<Prefetcher>,
}

impl Exchange {
    /// An exchange reading bodies from `source`.
    pub fn new(
        clients: HttpClients,
        tokens: Option<Arc<dyn TokenProvider>>,
        source: Arc<dyn Source>,
        timeouts: TimeoutPolicy,
    ) -> Self {
        Exchange {
            clients,
            tokens,
            source,
            timeouts,
            sent: Arc::new(AtomicU64::new(0)),
            prefetcher: Arc::new(Prefetcher::default()),
        }
    }

    /// The source bodies are read from.
    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    /// Source bytes handed to connections so far, retries included (a progress indicator that
    /// moves while a fragment is on its way; the server's confirmations are the real progress).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// A shared handle on [`Exchange::bytes_sent`], for a progress display on another task.
    pub fn bytes_sent_counter(&self) -> Arc<AtomicU64> {
        self.sent.clone()
    }

    /// Sends `request` and waits for its answer, for at most `limit` (the machine's time limit
    /// for it). A 401 on a bearer request is retried once with a refreshed token before it is
    /// reported.
    pub async fn send(&self, request: &Request, limit: Duration) -> Delivery {
        let mut delivery = self.send_within(request, limit, false).await;
        let unauthorized = matches!(&delivery.result, Ok(r) if r.status == 401);
        if unauthorized && request.auth == Auth::Bearer && self.tokens.is_some() {
            delivery = self.send_within(request, limit, true).await;
        }
        delivery
    }

    async fn send_within(&self, request: &Request, limit: Duration, refresh: bool) -> Delivery {
        let started = tokio::time::Instant::now();
        let progress = Arc::new(BodyProgress::new(self.sent.clone()));
        let mut delivery = Delivery {
            id: request.id,
            result: Err(TransportError::Timeout),
            source_crc: None,
            source_len: source_bytes(&request.body),
            body_started: None,
            elapsed: Duration::ZERO,
            detail: Some(format!("no answer within {} s", limit.as_secs())),
        };
        let exchange = self.send_once(request, refresh, &progress);
        if let Ok((result, detail)) = tokio::time::timeout(limit, exchange).await {
            delivery.result = result;
            delivery.detail = detail;
        }
        if delivery.result.is_ok() && progress.finished() {
            delivery.source_crc = progress.crc();
        }
        delivery.body_started = progress.first_byte();
        delivery.elapsed = started.elapsed();
        delivery
    }

    async fn send_once(
        &self,
        request: &Request,
        refresh_token: bool,
        progress: &Arc<BodyProgress>,
    ) -> (Result<Response, TransportError>, Option<String>) {
        let builder = match self.build(request, refresh_token, progress).await {
            Ok(builder) => builder,
            Err((error, detail)) => return (Err(error), Some(detail)),
        };
        let idle = self.timeouts.idle;
        let sent = tokio::select! {
            sent = builder.send() => sent,
            () = progress.stalled(idle) => {
                let detail = format!("the body stopped moving for {} s", idle.as_secs());
                return (Err(TransportError::Timeout), Some(detail));
            }
        };
        match sent {
            Ok(answer) => match read_answer(answer, idle).await {
                Ok(response) => (Ok(response), None),
                Err((error, detail)) => (Err(error), Some(detail)),
            },
            Err(e) => match progress.source_error() {
                Some(read_error) => (Err(TransportError::SourceRead), Some(read_error)),
                None => (Err(classify(&e)), Some(describe(&e))),
            },
        }
    }

    async fn build(
        &self,
        request: &Request,
        refresh_token: bool,
        progress: &Arc<BodyProgress>,
    ) -> Result<reqwest::RequestBuilder, (TransportError, String)> {
        let client = self.clients.for_auth(request.auth);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Put => reqwest::Method::PUT,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
        };
        let body_len = request.body.len();
        let mut builder = client.request(method, request.url.expose());
        for header in &request.headers {
            builder = builder.header(header.name, header.value.as_str());
        }
        if request.auth == Auth::Bearer {
            let tokens = self.tokens.as_ref().ok_or_else(|| {
                (
                    TransportError::Connect,
                    "this request needs an access token and none was configured".to_owned(),
                )
            })?;
            let token = tokens
                .token(refresh_token)
                .await
                .map_err(|e| (TransportError::Connect, e.to_string()))?;
            builder = builder.bearer_auth(token.expose());
        }
        let body = match &request.body {
            Body::Empty if matches!(request.method, Method::Get | Method::Delete) => {
                // A GET or DELETE without content carries no body and no Content-Length.
                progress.finish();
                return Ok(builder);
            }
            Body::Empty => {
                progress.finish();
                reqwest::Body::from(Bytes::new())
            }
            Body::Json(json) => {
                progress.finish();
                if request.header("content-type").is_none() {
                    builder = builder.header("Content-Type", "application/json");
                }
                reqwest::Body::from(json.clone())
            }
            Body::Source(range) => self.stream_body(&[Segment::Source(*range)], progress),
            Body::Segments(segments) => self.stream_body(segments, progress),
        };
        // Content-Length is always sent with PUT and POST (`Content-Length: 0` for a commit
        // included): the protocols require it, and it keeps hyper from choosing chunked
        // encoding for streamed bodies.
        Ok(builder
            .header(reqwest::header::CONTENT_LENGTH, body_len)
            .body(body))
    }

    fn stream_body(&self, segments: &[Segment], progress: &Arc<BodyProgress>) -> reqwest::Body {
        let len = segments.iter().map(Segment::len).sum();
        let blocks = read_ahead(
            self.source.clone(),
            segments.to_vec(),
            self.prefetcher.clone(),
        );
        reqwest::Body::wrap_stream(observe(blocks, len, progress.clone()))
    }
}

/// Bytes of the body that come from the source.
fn source_bytes(body: &Body) -> u64 {
    match body {
        Body::Source(range) => range.len(),
        Body::Segments(segments) => segments
            .iter()
            .map(|s| match s {
                Segment::Source(range) => range.len(),
                Segment::Inline(_) => 0,
            })
            .sum(),
        Body::Empty | Body::Json(_) => 0,
    }
}

/// Reads the segments' bytes in order on a background task, staying a few blocks ahead of the
/// consumer, taking blocks the prefetcher read ahead where it has them, and starting the
/// prefetch of what follows once the last source block is read. Source blocks carry a flag so
/// the CRC covers source bytes only.
fn read_ahead(
    source: Arc<dyn Source>,
    segments: Vec<Segment>,
    prefetcher: Arc<Prefetcher>,
) -> tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD_BLOCKS);
    tokio::spawn(async move {
        let mut source_end = None;
        for segment in segments {
            let range = match segment {
                Segment::Inline(bytes) => {
                    if tx.send(Ok((bytes, false))).await.is_err() {
                        return;
                    }
                    continue;
                }
                Segment::Source(range) => range,
            };
            if let Some(bytes) = source.slice(range) {
                if tx.send(Ok((bytes, true))).await.is_err() {
                    return;
                }
                continue;
            }
            let mut offset = range.start();
            while offset < range.end() {
                let len = (range.end() - offset).min(BLOCK_SIZE as u64);
                let block = ByteRange::with_len(offset, len).expect("len > 0 inside the range");
                let read = match prefetcher.take(block).await {
                    Some(read) => read,
                    None => spawn_read(source.clone(), block)
                        .await
                        .map_err(io::Error::other),
                };
                let failed = read.is_err();
                if tx.send(read.map(|b| (b, true))).await.is_err() || failed {
                    return;
                }
                offset += len;
            }
            source_end = Some(range.end());
        }
        if let Some(end) = source_end {
            prefetcher.start(&source, end);
        }
    });
    rx
}

/// Passes blocks on to the socket in pieces, keeping the CRC, the time of the last movement, and
/// any read error (so a failed request can be told apart from a network failure). The body counts
/// as finished when its last byte has been handed over: hyper stops polling once it has
/// `Content-Length` bytes, so the end of the stream may never be observed.
fn observe(
    rx: tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>>,
    len: u64,
    progress: Arc<BodyProgress>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    progress.touch();
    let state = ObservedBody {
        rx,
        progress,
        handed: 0,
        len,
        pending: Bytes::new(),
        pending_from_source: false,
    };
    futures::stream::unfold(state, |mut body| async move {
        if body.pending.is_empty() {
            match body.rx.recv().await {
                None => {
                    body.progress.finish();
                    return None;
                }
                Some(Ok((bytes, from_source))) => {
                    body.pending = bytes;
                    body.pending_from_source = from_source;
                }
                Some(Err(e)) => {
                    body.progress.fail(&e);
                    return Some((Err(e), body));
                }
            }
        }
        let piece = body.pending.split_to(body.pending.len().min(PIECE_SIZE));
        body.progress.hand_over(&piece, body.pending_from_source);
        body.handed += piece.len() as u64;
        if body.handed >= body.len {
            body.progress.finish();
        }
        Some((Ok(piece), body))
    })
}

/// The state of a body being handed to the connection.
struct ObservedBody {
    rx: tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>>,
    progress: Arc<BodyProgress>,
    handed: u64,
    len: u64,
    pending: Bytes,
    pending_from_source: bool,
}

/// Shared between the body stream and the request: how far the body got.
struct BodyProgress {
    base: tokio::time::Instant,
    last_movement_ms: AtomicU64,
    first_byte_ms: AtomicU64,
    finished: AtomicBool,
    crc: Mutex<crc32fast::Hasher>,
    source_error: Mutex<Option<String>>,
    sent: Arc<AtomicU64>,
}

impl BodyProgress {
    fn new(sent: Arc<AtomicU64>) -> Self {
        BodyProgress {
            base: tokio::time::Instant::now(),
            last_movement_ms: AtomicU64::new(0),
            first_byte_ms: AtomicU64::new(u64::MAX),
            finished: AtomicBool::new(false),
            crc: Mutex::new(crc32fast::Hasher::new()),
            source_error: Mutex::new(None),
            sent,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_movement_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    /// A piece goes to the connection: it moved, and source bytes count toward the CRC.
    fn hand_over(&self, piece: &[u8], from_source: bool) {
        let now = self.elapsed_ms();
        self.last_movement_ms.store(now, Ordering::Relaxed);
        let _ = self.first_byte_ms.compare_exchange(
            u64::MAX,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if from_source {
            if let Ok(mut crc) = self.crc.lock() {
                crc.update(piece);
            }
            self.sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
        }
    }

    fn first_byte(&self) -> Option<tokio::time::Instant> {
        match self.first_byte_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(self.base + Duration::from_millis(ms)),
        }
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
    }

    fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn crc(&self) -> Option<u32> {
        self.crc.lock().ok().map(|crc| crc.clone().finalize())
    }

    fn fail(&self, error: &io::Error) {
        if let Ok(mut slot) = self.source_error.lock() {
            *slot = Some(error.to_string());
        }
    }

    fn source_error(&self) -> Option<String> {
        self.source_error.lock().ok().and_then(|e| e.clone())
    }

    /// Resolves when the body has not moved for `idle` while still being sent. Once the body is
    /// out, the wait for the answer is bounded by the request's own time limit.
    async fn stalled(&self, idle: Duration) {
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        loop {
            tokio::time::sleep(idle / 4).await;
            let quiet = self
                .elapsed_ms()
                .saturating_sub(self.last_movement_ms.load(Ordering::Relaxed));
            if !self.finished() && quiet >= idle_ms {
                return;
            }
        }
    }
}

/// Reads the whole answer (cut at [`MAX_ANSWER_LEN`]); each piece must arrive within `idle`.
async fn read_answer(
    mut answer: reqwest::Response,
    idle: Duration,
) -> Result<Response, (TransportError, String)> {
    let status = answer.status().as_u16();
    let headers = answer
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(idle, answer.chunk()).await {
            Err(_) => {
                let detail = format!("the answer stopped arriving for {} s", idle.as_secs());
                return Err((TransportError::Timeout, detail));
            }
            Ok(Err(e)) => return Err((classify(&e), describe(&e))),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        let room = MAX_ANSWER_LEN - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ANSWER_LEN {
            break;
        }
    }
    Ok(Response {
        status,
        headers,
        body: body.freeze(),
    })
}

fn classify(error: &reqwest::Error) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout
    } else if error.is_connect() {
        TransportError::Connect
    } else {
        TransportError::ConnectionLost
    }
}

/// The error's text with its causes, without the URL (reqwest's own `Display` appends the URL,
/// credentials included).
fn describe(error: &reqwest::Error) -> String {
    let mut text = DisplayWithoutUrl(error).to_string();
    let mut current = std::error::Error::source(error);
    while let Some(e) = current {
        text.push_str(": ");
        text.push_str(&e.to_string());
        current = e.source();
    }
    text
}

/// reqwest's own description of an error kind, without the URL it appends.
struct DisplayWithoutUrl<'a>(&'a reqwest::Error);

impl std::fmt::Display for DisplayWithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.0;
        let kind = if e.is_timeout() {
            "operation timed out"
        } else if e.is_connect() {
            "error connecting"
        } else if e.is_body() {
            "error sending request body"
        } else if e.is_decode() {
            "error decoding answer"
        } else if e.is_request() {
            "error sending request"
        } else {
            "HTTP error"
        };
        f.write_str(kind)
    }
}

//! Sending one request the core described, and bringing back its answer.
//!
//! Requests marked [`Auth::None`] (everything sent to an upload URL or a WOPI host) go through a
//! client this crate builds itself: no default headers, so no `Authorization` can leak onto them
//! whatever the caller configured elsewhere, and no compression or other body transform.
//! Requests marked [`Auth::Bearer`] go through the caller's client if one was given, with a token
//! from the [`TokenProvider`].
//!
//! Bodies that name source ranges are read just in time, a block at a time, by a task that stays
//! a couple of blocks ahead of the socket: the read of the next block overlaps the sending of the
//! current one, memory stays at a few blocks per request, and a retry simply reads the range
//! again.

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

use crate::source::{BLOCK_SIZE, Source};
use crate::timeouts::{ThroughputMeter, TimeoutPolicy};
use crate::token::TokenProvider;

/// Blocks read ahead of the socket per request.
const READ_AHEAD_BLOCKS: usize = 2;

/// Answers longer than this are cut: every answer the protocols define is a small JSON document,
/// and a hostile server must not make the client buffer gigabytes.
const MAX_ANSWER_LEN: usize = 4 << 20;

/// The two HTTP clients: one for the service API, one for upload URLs.
#[derive(Clone, Debug)]
pub struct HttpClients {
    api: reqwest::Client,
    upload: reqwest::Client,
}

impl HttpClients {
    /// Clients built by this crate for both kinds of request.
    pub fn new(timeouts: &TimeoutPolicy) -> Result<Self, reqwest::Error> {
        let upload = upload_client(timeouts)?;
        Ok(HttpClients {
            api: upload.clone(),
            upload,
        })
    }

    /// Uses the caller's `api` client for API requests (those carrying a bearer token). Upload
    /// URL requests still use this crate's own client, so defaults on `api` (an `Authorization`
    /// header, compression) never reach them.
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

fn upload_client(timeouts: &TimeoutPolicy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .default_headers(reqwest::header::HeaderMap::new())
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(timeouts.idle)
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
    /// From the start of sending to the answer's headers.
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
    meter: Mutex<ThroughputMeter>,
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
            meter: Mutex::new(ThroughputMeter::default()),
        }
    }

    /// The source bodies are read from.
    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    /// The throughput measured so far, in bytes per second.
    pub fn throughput(&self) -> Option<f64> {
        self.meter.lock().map(|m| m.bytes_per_sec()).unwrap_or(None)
    }

    /// Sends `request` and waits for its answer. A 401 on a bearer request is retried once with
    /// a refreshed token before it is reported.
    pub async fn send(&self, request: &Request) -> Delivery {
        let mut delivery = self.send_once(request, false).await;
        let unauthorized = matches!(&delivery.result, Ok(r) if r.status == 401);
        if unauthorized && request.auth == Auth::Bearer && self.tokens.is_some() {
            delivery = self.send_once(request, true).await;
        }
        delivery
    }

    async fn send_once(&self, request: &Request, refresh_token: bool) -> Delivery {
        let started = tokio::time::Instant::now();
        let progress = Arc::new(BodyProgress::new());
        let source_len = source_bytes(&request.body);
        let mut delivery = Delivery {
            id: request.id,
            result: Err(TransportError::ConnectionLost),
            source_crc: None,
            source_len,
            elapsed: Duration::ZERO,
            detail: None,
        };
        let builder = match self.build(request, refresh_token, &progress).await {
            Ok(builder) => builder,
            Err((error, detail)) => {
                delivery.result = Err(error);
                delivery.detail = Some(detail);
                return delivery;
            }
        };
        let sent = tokio::select! {
            sent = builder.send() => sent,
            () = progress.stalled(self.timeouts.idle) => {
                delivery.result = Err(TransportError::Timeout);
                delivery.detail = Some(format!("no bytes moved for {} s", self.timeouts.idle.as_secs()));
                delivery.elapsed = started.elapsed();
                return delivery;
            }
        };
        delivery.elapsed = started.elapsed();
        match sent {
            Ok(answer) => match read_answer(answer).await {
                Ok(response) => {
                    if progress.finished() {
                        delivery.source_crc = progress.crc();
                    }
                    if (200..300).contains(&response.status)
                        && source_len > 0
                        && let Ok(mut meter) = self.meter.lock()
                    {
                        meter.record(source_len, delivery.elapsed);
                    }
                    delivery.result = Ok(response);
                }
                Err(e) => {
                    delivery.detail = Some(describe(&e));
                    delivery.result = Err(classify(&e));
                }
            },
            Err(e) => {
                if let Some(read_error) = progress.source_error() {
                    delivery.result = Err(TransportError::SourceRead);
                    delivery.detail = Some(read_error);
                } else {
                    delivery.detail = Some(describe(&e));
                    delivery.result = Err(classify(&e));
                }
            }
        }
        delivery
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
        let limit = {
            let meter = self.meter.lock().map(|m| *m).unwrap_or_default();
            self.timeouts.limit(body_len, &meter)
        };
        let mut builder = client.request(method, request.url.expose()).timeout(limit);
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
        // Content-Length is always sent: the protocols require it, and it keeps hyper from
        // choosing chunked encoding for streamed bodies.
        Ok(builder
            .header(reqwest::header::CONTENT_LENGTH, body_len)
            .body(body))
    }

    fn stream_body(&self, segments: &[Segment], progress: &Arc<BodyProgress>) -> reqwest::Body {
        let len = segments.iter().map(Segment::len).sum();
        let blocks = read_ahead(self.source.clone(), segments.to_vec());
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
/// consumer. Source blocks carry a flag so the CRC covers source bytes only.
fn read_ahead(
    source: Arc<dyn Source>,
    segments: Vec<Segment>,
) -> tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD_BLOCKS);
    tokio::spawn(async move {
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
                let read = read_block(source.clone(), block).await;
                let failed = read.is_err();
                if tx.send(read.map(|b| (b, true))).await.is_err() || failed {
                    return;
                }
                offset += len;
            }
        }
    });
    rx
}

async fn read_block(source: Arc<dyn Source>, block: ByteRange) -> io::Result<Bytes> {
    tokio::task::spawn_blocking(move || {
        let mut buf = BytesMut::zeroed(block.len() as usize);
        source.read_exact_at(block.start(), &mut buf)?;
        Ok(buf.freeze())
    })
    .await
    .map_err(io::Error::other)?
}

/// Passes blocks on to the socket, keeping the CRC, the time of the last movement, and any read
/// error (so a failed request can be told apart from a network failure). The body counts as
/// finished when its last byte has been handed over: hyper stops polling once it has
/// `Content-Length` bytes, so the end of the stream may never be observed.
fn observe(
    rx: tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>>,
    len: u64,
    progress: Arc<BodyProgress>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    progress.touch();
    let state = (rx, progress, 0u64);
    futures::stream::unfold(state, move |(mut rx, progress, sent)| async move {
        match rx.recv().await {
            None => {
                progress.finish();
                None
            }
            Some(Ok((bytes, from_source))) => {
                progress.touch();
                if from_source {
                    progress.update_crc(&bytes);
                }
                let sent = sent + bytes.len() as u64;
                if sent >= len {
                    progress.finish();
                }
                Some((Ok(bytes), (rx, progress, sent)))
            }
            Some(Err(e)) => {
                progress.fail(&e);
                Some((Err(e), (rx, progress, sent)))
            }
        }
    })
}

/// Shared between the body stream and the request: how far the body got.
struct BodyProgress {
    base: tokio::time::Instant,
    last_movement_ms: AtomicU64,
    finished: AtomicBool,
    crc: Mutex<crc32fast::Hasher>,
    source_error: Mutex<Option<String>>,
}

impl BodyProgress {
    fn new() -> Self {
        BodyProgress {
            base: tokio::time::Instant::now(),
            last_movement_ms: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            crc: Mutex::new(crc32fast::Hasher::new()),
            source_error: Mutex::new(None),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_movement_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
    }

    fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn update_crc(&self, bytes: &[u8]) {
        if let Ok(mut crc) = self.crc.lock() {
            crc.update(bytes);
        }
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
    /// out, waiting for the answer is the client's read timeout's business.
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

async fn read_answer(mut answer: reqwest::Response) -> Result<Response, reqwest::Error> {
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
    while let Some(chunk) = answer.chunk().await? {
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

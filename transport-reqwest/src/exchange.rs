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
//! stays at a few blocks per request, and a retry simply reads the range again (see
//! `body_stream`).
//!
//! Each request runs under the time limit its state machine computed (it scales with the body
//! size and the measured throughput), and under the idle limit of the [`TimeoutPolicy`]: a body
//! that stops moving, or an answer that stops arriving, ends the request as
//! [`TransportError::Timeout`] long before the overall limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use resumable_core::digest::{BodyDigest, HashKinds, SourceHashes};
use resumable_core::http::{
    Auth, Body, Method, Request, RequestId, Response, Segment, TransportError,
};

use crate::body_stream::{BodyProgress, observe, read_ahead};
use crate::prefetch::Prefetcher;
use crate::rate_limit::RateLimit;
use crate::source_digest::DigestingSource;
use crate::timeouts::TimeoutPolicy;
use crate::token::TokenProvider;
use crate::trace;
use resumable_core::range::ByteRange;
use resumable_io::source::{BLOCK_SIZE, Source, for_each_block};
use tracing::Instrument;

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
    /// use resumable_reqwest::TimeoutPolicy;
    /// use resumable_reqwest::driver::HttpClients;
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

    /// The client for API requests (the caller's, or this crate's own).
    pub(crate) fn api(&self) -> &reqwest::Client {
        &self.api
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

/// The longest body whose bytes are read once for both its checksum header and sending: a few
/// tus requests of the default size; held in memory between the two.
const HELD_BODY: u64 = 16 << 20;

/// Sends requests for one upload.
pub struct Exchange {
    clients: HttpClients,
    tokens: Option<Arc<dyn TokenProvider>>,
    source: Arc<dyn Source>,
    digest: Arc<DigestingSource>,
    timeouts: TimeoutPolicy,
    sent: Arc<AtomicU64>,
    prefetcher: Arc<Prefetcher>,
    rate_limit: Option<RateLimit>,
}

impl Exchange {
    /// An exchange reading bodies from `source`. Every block read passes through a
    /// digesting wrapper, so the source's hashes come from the reads that send it.
    pub fn new(
        clients: HttpClients,
        tokens: Option<Arc<dyn TokenProvider>>,
        source: Arc<dyn Source>,
        timeouts: TimeoutPolicy,
    ) -> Self {
        let digest = Arc::new(DigestingSource::new(source));
        Exchange {
            clients,
            tokens,
            source: digest.clone(),
            digest,
            timeouts,
            sent: Arc::new(AtomicU64::new(0)),
            prefetcher: Arc::new(Prefetcher::default()),
            rate_limit: None,
        }
    }

    /// The same exchange, its request bodies sent no faster than `limit` allows (shared with
    /// every other exchange holding a clone of it).
    pub fn with_rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// The source bodies are read from (reads through it feed the source's hashes).
    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    /// The source without the digest: reads through it compute none of the source's hashes
    /// (for a pass that needs other hashes first, such as a WOPI ChunkId).
    pub(crate) fn unhashed_source(&self) -> Arc<dyn Source> {
        self.digest.inner()
    }

    /// The source's hashes, if the reads so far covered every byte (no read of its own).
    pub fn source_hashes_so_far(&self) -> Option<SourceHashes> {
        self.digest.hashes_so_far()
    }

    /// The source's hashes including `kinds`: those the reads so far computed, completed by
    /// reading what they did not (off the executor).
    pub async fn source_hashes(&self, kinds: HashKinds) -> std::io::Result<SourceHashes> {
        let digest = self.digest.clone();
        tokio::task::spawn_blocking(move || digest.hashes_with(kinds))
            .await
            .map_err(std::io::Error::other)?
    }

    /// The same exchange, its reads computing also the costly hashes `kinds` names (SHA-256
    /// for a WOPI host's `CheckFileInfo`). Call it before anything is read.
    pub fn with_hash_kinds(mut self, kinds: HashKinds) -> Self {
        let inner = self.digest.inner();
        self.digest = Arc::new(DigestingSource::with_kinds(inner, kinds));
        self.source = self.digest.clone();
        self
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

    /// Sends `request` with the header `digest` names (tus `Upload-Checksum`), computed first
    /// from the body's source bytes. The header must precede the body, so the bytes are read
    /// before the request goes out; up to 16 MiB of them are read once, held, and sent
    /// from memory (a longer body is read twice, once for the checksum, to keep memory flat).
    /// A body that cannot be read is reported as [`TransportError::SourceRead`] without sending
    /// anything.
    pub async fn send_digested(
        &self,
        mut request: Request,
        digest: BodyDigest,
        limit: Duration,
    ) -> Delivery {
        let segments = request.body.segments();
        let header = if request.body.len() <= HELD_BODY {
            self.digest_held(segments, digest).await
        } else {
            let source = self.digest.inner();
            tokio::task::spawn_blocking(move || {
                let mut digester = digest.start();
                for segment in segments {
                    match segment {
                        Segment::Inline(bytes) => digester.update(&bytes),
                        Segment::Source(range) => {
                            for_each_block(&*source, range, &mut |block| {
                                digester.update(block);
                            })?;
                        }
                    }
                }
                Ok::<_, std::io::Error>(digester.finish())
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|read| read)
        };
        match header {
            Ok(header) => {
                request.headers.push(header);
                self.send(&request, limit).await
            }
            Err(error) => Delivery {
                id: request.id,
                result: Err(TransportError::SourceRead),
                source_crc: None,
                source_len: source_bytes(&request.body),
                body_started: None,
                elapsed: Duration::ZERO,
                detail: Some(format!(
                    "could not read the source for the body's checksum: {error}"
                )),
            },
        }
    }

    async fn send_within(&self, request: &Request, limit: Duration, refresh: bool) -> Delivery {
        let span = trace::request_span(request);
        let delivery = self
            .send_within_span(request, limit, refresh)
            .instrument(span.clone())
            .await;
        trace::answered(
            &span,
            &delivery.result,
            delivery.detail.as_deref(),
            delivery.elapsed,
        );
        delivery
    }

    async fn send_within_span(
        &self,
        request: &Request,
        limit: Duration,
        refresh: bool,
    ) -> Delivery {
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
            Method::Head => reqwest::Method::HEAD,
            Method::Options => reqwest::Method::OPTIONS,
            Method::Patch => reqwest::Method::PATCH,
        };
        let body_len = request.body.len();
        let url =
            without_user_info(&request.url).map_err(|detail| (TransportError::Connect, detail))?;
        let mut builder = client.request(method, url);
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
            Body::Empty
                if matches!(
                    request.method,
                    Method::Get | Method::Delete | Method::Head | Method::Options
                ) =>
            {
                // A GET, DELETE, HEAD or OPTIONS without content carries no body and no
                // Content-Length.
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

    /// The checksum header of `segments`, their source bytes then held for the body that sends
    /// them: the blocks the prefetcher read ahead where it has them, the rest read in blocks
    /// on one blocking task, each hashed as soon as it is read (while still in the cache).
    async fn digest_held(
        &self,
        segments: Vec<Segment>,
        digest: BodyDigest,
    ) -> std::io::Result<resumable_core::http::Header> {
        /// Bytes in hand (with their source range, if from the source), or a range to read.
        enum Part {
            Ready(Bytes, Option<ByteRange>),
            Read(ByteRange),
        }
        let mut parts = Vec::new();
        for segment in segments {
            let range = match segment {
                Segment::Inline(bytes) => {
                    parts.push(Part::Ready(bytes, None));
                    continue;
                }
                Segment::Source(range) => range,
            };
            let mut offset = range.start();
            while let Some(rest) = ByteRange::new(offset, range.end()) {
                let Some(read) = self.prefetcher.take(offset, range.end()).await else {
                    parts.push(Part::Read(rest));
                    break;
                };
                let bytes = read?;
                let block = ByteRange::with_len(offset, bytes.len() as u64)
                    .ok_or_else(|| std::io::Error::other("an empty read ahead"))?;
                offset = block.end();
                parts.push(Part::Ready(bytes, Some(block)));
            }
        }
        let source = self.source.clone();
        let (header, held) = tokio::task::spawn_blocking(move || {
            let mut digester = digest.start();
            let mut held = Vec::new();
            for part in parts {
                match part {
                    Part::Ready(bytes, range) => {
                        digester.update(&bytes);
                        held.extend(range.map(|range| (range, bytes)));
                    }
                    Part::Read(range) => {
                        let mut offset = range.start();
                        while offset < range.end() {
                            let len = (range.end() - offset).min(BLOCK_SIZE as u64);
                            let block =
                                ByteRange::with_len(offset, len).expect("len > 0 inside the range");
                            let bytes = source.read_range(block)?;
                            digester.update(&bytes);
                            held.push((block, bytes));
                            offset = block.end();
                        }
                    }
                }
            }
            Ok::<_, std::io::Error>((digester.finish(), held))
        })
        .await
        .map_err(std::io::Error::other)??;
        self.prefetcher.hold(held);
        Ok(header)
    }

    fn stream_body(&self, segments: &[Segment], progress: &Arc<BodyProgress>) -> reqwest::Body {
        let len = segments.iter().map(Segment::len).sum();
        let blocks = read_ahead(
            self.source.clone(),
            segments.to_vec(),
            self.prefetcher.clone(),
        );
        reqwest::Body::wrap_stream(observe(
            blocks,
            len,
            progress.clone(),
            self.rate_limit.clone(),
        ))
    }
}

/// The URL to send to, with any user information (`user:password@`) taken out: reqwest would
/// turn it into an `Authorization: Basic` header, and no request of these protocols may carry
/// one it was not given (upload URLs carry their own credential; API requests carry the bearer
/// token). A URL that does not parse is an error whose text never repeats it.
fn without_user_info(url: &resumable_core::secret::SecretUrl) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(&url.without_user_info())
        .map_err(|e| format!("the request's URL cannot be used ({e})"))
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

pub(crate) fn classify(error: &reqwest::Error) -> TransportError {
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
pub(crate) fn describe(error: &reqwest::Error) -> String {
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

#[cfg(test)]
mod user_info_tests {
    use super::without_user_info;
    use resumable_core::secret::SecretUrl;

    fn strip(url: &str) -> Result<reqwest::Url, String> {
        without_user_info(&SecretUrl::new(url))
    }

    #[test]
    fn user_information_never_reaches_the_request() {
        let url = strip("https://user:secret@up.example/s?tempauth=t").unwrap();
        assert_eq!(url.as_str(), "https://up.example/s?tempauth=t");
        let plain = strip("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(plain.as_str(), "http://127.0.0.1:8080/x");
        let error = strip("not a url ?tempauth=secret").unwrap_err();
        assert!(!error.contains("secret"), "{error}");
    }
}

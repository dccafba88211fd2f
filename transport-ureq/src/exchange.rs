//! Sending one request the core described over ureq, and bringing back its answer.
//!
//! The request goes out as the machine wrote it: its method, URL (any `user:password@` taken
//! out, so it can never become a header), headers and body, plus `Content-Length` for every
//! `PUT` and `POST` and `Authorization: Bearer` only when the request says
//! [`Auth::Bearer`]. The agent has no default headers beyond `User-Agent` and `Accept`, follows
//! no redirect (a redirected `PUT` would replay its body, perhaps to another host) and asks for
//! no compression. Source ranges are read a block at a time while ureq writes them, so memory
//! stays flat; their CRC-32 is taken from the bytes handed over, and every block feeds the
//! source's [`Digest`].
//!
//! Each request runs under the time limit its machine computed, and under the idle limit of
//! [`Timeouts`]: a connection that stops taking body bytes for that long, or an answer body
//! that does not arrive within it, ends the request as [`TransportError::Timeout`].

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use resumable_core::digest::{BodyDigest, HashKinds, SourceHashes};
use resumable_core::http::{
    Auth, Body, Method, Request, RequestId, Response, Segment, TransportError,
};
use resumable_core::range::ByteRange;
use resumable_core::secret::Secret;
use ureq::http;

use crate::digest::Digest;
use crate::trace;
use resumable_io::source::{BLOCK_SIZE, Source, for_each_block};

/// Answers longer than this are cut: every answer the protocols define is a small JSON
/// document, and a hostile server must not make the client buffer gigabytes.
const MAX_ANSWER_LEN: u64 = 4 << 20;

/// What this crate calls itself (Microsoft asks clients to identify themselves).
const USER_AGENT: &str = concat!("resumable-ureq/", env!("CARGO_PKG_VERSION"));

/// How long the transport waits for a connection, and for a connection that stopped moving.
///
/// ```
/// use std::time::Duration;
/// use resumable_ureq::Timeouts;
/// let timeouts = Timeouts::default().with_idle(Duration::from_secs(20));
/// assert_eq!((timeouts.connect, timeouts.idle), (Duration::from_secs(30), Duration::from_secs(20)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// A body whose bytes the connection stops taking for this long, or an answer whose body
    /// does not arrive whole within it, ends the request. The wait for the answer once the body
    /// is out is bounded by the request's own limit: the machine's, which scales with the body
    /// and the throughput.
    pub idle: Duration,
}

impl Default for Timeouts {
    /// 30 s to connect, 60 s without movement.
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// The same limits with another idle limit.
    pub fn with_idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The same limits with another connect limit.
    pub fn with_connect(mut self, connect: Duration) -> Self {
        self.connect = connect;
        self
    }
}

/// The agent every request of one uploader or session goes through.
pub(crate) fn agent(timeouts: Timeouts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(USER_AGENT)
        .accept_encoding("")
        .no_delay(true)
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_write(Some(timeouts.idle))
        .timeout_recv_body(Some(timeouts.idle))
        .build()
        .new_agent()
}

/// What became of one request.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// The request's id.
    pub(crate) id: RequestId,
    /// The answer, or why there was none.
    pub(crate) result: Result<Response, TransportError>,
    /// CRC-32 of the source bytes the body carried, when the whole body went out and an answer
    /// came.
    pub(crate) source_crc: Option<u32>,
    /// When the first body byte was handed to the connection, if one was.
    pub(crate) body_started: Option<std::time::Instant>,
}

impl Delivery {
    /// No answer: the body's source bytes could not be read.
    pub(crate) fn unread(id: RequestId) -> Self {
        Delivery {
            id,
            result: Err(TransportError::SourceRead),
            source_crc: None,
            body_started: None,
        }
    }
}

/// Sends the requests of one upload or session, reading bodies from its source.
pub(crate) struct Exchange {
    agent: ureq::Agent,
    token: Option<Secret>,
    source: Arc<dyn Source>,
    digest: Digest,
    /// The buffer source blocks are read into, kept across requests: allocated (and zeroed)
    /// once per upload, not once per fragment.
    block: Vec<u8>,
    sent: Arc<AtomicU64>,
}

impl Exchange {
    /// An exchange reading bodies from `source`, its reads computing also the costly hashes
    /// `kinds` names.
    pub(crate) fn new(
        agent: ureq::Agent,
        token: Option<Secret>,
        source: Arc<dyn Source>,
        kinds: HashKinds,
    ) -> Self {
        let digest = Digest::new(source.len(), kinds);
        Exchange {
            agent,
            token,
            source,
            digest,
            block: Vec::new(),
            sent: Arc::default(),
        }
    }

    /// The source bodies are read from.
    pub(crate) fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    /// Source bytes handed to connections so far, retries included.
    pub(crate) fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// A shared reading of [`Exchange::bytes_sent`], for a progress report while the exchange
    /// is busy.
    pub(crate) fn sent_counter(&self) -> Arc<AtomicU64> {
        self.sent.clone()
    }

    /// Reads `range` of the source a block at a time (for a ChunkId or a checkpoint's
    /// fingerprint), feeding the digest on the way.
    pub(crate) fn read(&mut self, range: ByteRange, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        let digest = &mut self.digest;
        let mut offset = range.start();
        for_each_block(&*self.source, range, &mut |block| {
            digest.take(offset, block);
            offset += block.len() as u64;
            each(block);
        })
    }

    /// The source's hashes, if the reads so far covered every byte.
    pub(crate) fn hashes_so_far(&self) -> Option<SourceHashes> {
        self.digest.so_far()
    }

    /// The source's hashes including `kinds`, reading only what the sending did not.
    pub(crate) fn source_hashes(&mut self, kinds: HashKinds) -> io::Result<SourceHashes> {
        self.digest.hashes(&*self.source, kinds)
    }

    /// The header `digest` names (tus `Upload-Checksum`), computed from the source bytes of
    /// `request`'s body.
    pub(crate) fn body_digest(
        &mut self,
        request: &Request,
        digest: BodyDigest,
    ) -> io::Result<resumable_core::http::Header> {
        let mut digester = digest.start();
        for segment in request.body.segments() {
            match segment {
                Segment::Inline(bytes) => digester.update(&bytes),
                Segment::Source(range) => {
                    for_each_block(&*self.source, range, &mut |block| digester.update(block))?;
                }
            }
        }
        Ok(digester.finish())
    }

    /// Sends `request` and waits for its whole answer, for at most `limit`.
    pub(crate) fn send(&mut self, request: &Request, limit: Duration) -> Delivery {
        let span = trace::request_span(request);
        let started = std::time::Instant::now();
        let delivery = span.in_scope(|| self.send_untraced(request, limit));
        trace::answered(&span, &delivery.result, None, started.elapsed());
        delivery
    }

    fn send_untraced(&mut self, request: &Request, limit: Duration) -> Delivery {
        let mut delivery = Delivery {
            id: request.id,
            result: Err(TransportError::Connect),
            source_crc: None,
            body_started: None,
        };
        let Ok(prepared) = self.prepare(request) else {
            // A bearer request without a token: the uploader refuses to start without one, so
            // this is a machine asking for what it was not meant to; it sees a refusal to
            // connect.
            return delivery;
        };
        let segments = request.body.segments();
        let mut body = BodyReader::new(&segments, &*self.source, &mut self.digest, &mut self.block);
        let agent = &self.agent;
        let outcome = match &request.body {
            Body::Empty
                if matches!(
                    request.method,
                    Method::Get | Method::Delete | Method::Head | Method::Options
                ) =>
            {
                run(agent, prepared.body(()), limit, MAX_ANSWER_LEN)
            }
            Body::Empty => run(agent, prepared.body(&[][..]), limit, MAX_ANSWER_LEN),
            Body::Json(json) => run(agent, prepared.body(&json[..]), limit, MAX_ANSWER_LEN),
            Body::Source(_) | Body::Segments(_) => {
                let streamed = ureq::SendBody::from_reader(&mut body);
                run(agent, prepared.body(streamed), limit, MAX_ANSWER_LEN)
            }
        };
        self.sent.fetch_add(body.source_bytes, Ordering::Relaxed);
        delivery.body_started = body.first_byte;
        match outcome {
            Ok(response) => {
                delivery.result = Ok(response);
                if body.finished() {
                    delivery.source_crc = Some(body.crc.clone().finalize());
                }
            }
            Err(error) => {
                delivery.result = Err(match body.error {
                    Some(_) => TransportError::SourceRead,
                    None => classify(&error, limit).0,
                });
            }
        }
        delivery
    }

    /// The request without its body: method, URL, headers, length and credential.
    fn prepare(&self, request: &Request) -> Result<http::request::Builder, NoToken> {
        let method = match request.method {
            Method::Get => http::Method::GET,
            Method::Put => http::Method::PUT,
            Method::Post => http::Method::POST,
            Method::Delete => http::Method::DELETE,
            Method::Head => http::Method::HEAD,
            Method::Options => http::Method::OPTIONS,
            Method::Patch => http::Method::PATCH,
        };
        let mut builder = http::Request::builder()
            .method(method)
            .uri(request.url.without_user_info());
        for header in &request.headers {
            builder = builder.header(header.name, header.value.as_str());
        }
        if let Body::Json(_) = request.body
            && request.header("content-type").is_none()
        {
            builder = builder.header("Content-Type", "application/json");
        }
        // The protocols require a length on every PUT, POST and PATCH, `Content-Length: 0` for a
        // commit included; it also keeps ureq from choosing chunked encoding for a streamed
        // body.
        if matches!(request.method, Method::Put | Method::Post | Method::Patch) {
            builder = builder.header("Content-Length", request.body.len());
        }
        if request.auth == Auth::Bearer {
            let token = self.token.as_ref().ok_or(NoToken)?;
            builder = builder.header("Authorization", format!("Bearer {}", token.expose()));
        }
        Ok(builder)
    }
}

/// A bearer request and no token to put on it.
#[derive(Debug)]
struct NoToken;

/// Runs the built request under `limit` and reads the whole answer, cut at `max_len` bytes.
pub(crate) fn run<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: Result<http::Request<S>, http::Error>,
    limit: Duration,
    max_len: u64,
) -> Result<Response, ureq::Error> {
    let request = agent
        .configure_request(request?)
        .timeout_global(Some(limit))
        .build();
    let mut answer = agent.run(request)?;
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
    let mut body = Vec::new();
    answer
        .body_mut()
        .as_reader()
        .take(max_len)
        .read_to_end(&mut body)?;
    Ok(Response {
        status,
        headers,
        body: body.into(),
    })
}

/// A body made of inline pieces and source ranges, read a block at a time as ureq writes it.
struct BodyReader<'a> {
    segments: &'a [Segment],
    /// The segment being read, and how far into it.
    index: usize,
    offset: u64,
    source: &'a dyn Source,
    digest: &'a mut Digest,
    block: &'a mut Vec<u8>,
    /// The part of `block` not handed over yet, and whether it came from the source.
    pending: std::ops::Range<usize>,
    pending_from_source: bool,
    crc: crc32fast::Hasher,
    len: u64,
    handed: u64,
    source_bytes: u64,
    first_byte: Option<std::time::Instant>,
    error: Option<String>,
}

impl<'a> BodyReader<'a> {
    fn new(
        segments: &'a [Segment],
        source: &'a dyn Source,
        digest: &'a mut Digest,
        block: &'a mut Vec<u8>,
    ) -> Self {
        BodyReader {
            segments,
            index: 0,
            offset: 0,
            source,
            digest,
            block,
            pending: 0..0,
            pending_from_source: false,
            crc: crc32fast::Hasher::new(),
            len: segments.iter().map(Segment::len).sum(),
            handed: 0,
            source_bytes: 0,
            first_byte: None,
            error: None,
        }
    }

    /// Whether every byte of the body was handed over.
    fn finished(&self) -> bool {
        self.handed == self.len
    }

    /// Loads the next piece of the body into `block`; `false` at the end.
    fn refill(&mut self) -> io::Result<bool> {
        let Some(segment) = self.segments.get(self.index) else {
            return Ok(false);
        };
        match segment {
            Segment::Inline(bytes) => {
                self.block.clear();
                self.block.extend_from_slice(bytes);
                self.pending_from_source = false;
                self.index += 1;
            }
            Segment::Source(range) => {
                let at = range.start() + self.offset;
                let n = (range.end() - at).min(BLOCK_SIZE as u64) as usize;
                self.block.resize(n, 0);
                if let Err(error) = self.source.read_exact_at(at, self.block) {
                    self.error = Some(format!("could not read the source: {error}"));
                    return Err(error);
                }
                self.digest.take(at, self.block);
                self.pending_from_source = true;
                self.offset += n as u64;
                if self.offset >= range.len() {
                    self.index += 1;
                    self.offset = 0;
                }
            }
        }
        self.pending = 0..self.block.len();
        Ok(true)
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.pending.len());
        let piece = &self.block[self.pending.start..self.pending.start + n];
        out[..n].copy_from_slice(piece);
        if self.pending_from_source {
            self.crc.update(piece);
            self.source_bytes += n as u64;
        }
        self.pending.start += n;
        self.handed += n as u64;
        self.first_byte.get_or_insert_with(std::time::Instant::now);
        Ok(n)
    }
}

/// What kind of failure `error` is for the machine, and a description without the URL.
pub(crate) fn classify(error: &ureq::Error, limit: Duration) -> (TransportError, String) {
    use ureq::Timeout as T;
    match error {
        ureq::Error::Timeout(T::Connect | T::Resolve) => (
            TransportError::Connect,
            "could not connect in time".to_owned(),
        ),
        ureq::Error::Timeout(T::PerWrite) => (
            TransportError::Timeout,
            "the body stopped moving".to_owned(),
        ),
        ureq::Error::Timeout(T::RecvBody) => (
            TransportError::Timeout,
            "the answer stopped arriving".to_owned(),
        ),
        ureq::Error::Timeout(_) => (
            TransportError::Timeout,
            format!("no answer within {} s", limit.as_secs_f64()),
        ),
        ureq::Error::HostNotFound => (TransportError::Connect, "host not found".to_owned()),
        ureq::Error::ConnectionFailed => (
            TransportError::Connect,
            "the connection could not be made".to_owned(),
        ),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            (TransportError::Connect, format!("could not connect: {e}"))
        }
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => (
            TransportError::Timeout,
            "the connection stopped moving".to_owned(),
        ),
        ureq::Error::Io(e) => (TransportError::ConnectionLost, e.to_string()),
        // Refused before anything was sent: the URL, a header value, TLS.
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => (
            TransportError::Connect,
            "the request's URL or a header cannot be sent".to_owned(),
        ),
        ureq::Error::Tls(_) | ureq::Error::TlsRequired | ureq::Error::RequireHttpsOnly(_) => (
            TransportError::Connect,
            "TLS is not available: build resumable-ureq with its `rustls` feature for https URLs"
                .to_owned(),
        ),
        other => (
            TransportError::ConnectionLost,
            // ureq's own texts do not repeat the URL, except for the variants above.
            other.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use resumable_core::secret::SecretUrl;
    use resumable_io::source::BytesSource;

    #[test]
    fn user_information_never_reaches_the_request() {
        assert_eq!(
            SecretUrl::new("https://user:secret@up.example/s?tempauth=t").without_user_info(),
            "https://up.example/s?tempauth=t"
        );
        assert_eq!(
            SecretUrl::new("http://127.0.0.1:8080/x?a=b@c").without_user_info(),
            "http://127.0.0.1:8080/x?a=b@c"
        );
    }

    #[test]
    fn a_body_reads_its_segments_in_order_with_the_crc_of_the_source_bytes_only() {
        let data: Vec<u8> = (0..(BLOCK_SIZE + 100)).map(|i| (i % 253) as u8).collect();
        let source = BytesSource::new(data.clone());
        let mut digest = Digest::new(data.len() as u64, HashKinds::CHEAP);
        let range = ByteRange::new(10, data.len() as u64).unwrap();
        let segments = [
            Segment::Inline(Bytes::from_static(b"head")),
            Segment::Source(range),
        ];
        let mut block = Vec::new();
        let mut body = BodyReader::new(&segments, &source, &mut digest, &mut block);
        let mut out = Vec::new();
        body.read_to_end(&mut out).unwrap();
        assert!(body.finished());
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..], &data[10..]);
        assert_eq!(body.crc.clone().finalize(), crc32fast::hash(&data[10..]));
        assert_eq!(body.source_bytes, data.len() as u64 - 10);
    }

    #[test]
    fn a_short_source_is_a_read_error_not_zeros() {
        let source = BytesSource::new(vec![1u8; 10]);
        let mut digest = Digest::new(10, HashKinds::CHEAP);
        let segments = [Segment::Source(ByteRange::new(0, 20).unwrap())];
        let mut block = Vec::new();
        let mut body = BodyReader::new(&segments, &source, &mut digest, &mut block);
        let mut out = Vec::new();
        assert!(body.read_to_end(&mut out).is_err());
        assert!(body.error.is_some());
        assert!(!body.finished());
    }
}

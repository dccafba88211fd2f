//! The HTTP exchanges the state machines describe and the answers they are fed.
//!
//! The core never performs HTTP. A state machine hands out [`Request`]s, descriptions of what to
//! send, and takes back a [`Response`] or a [`TransportError`] for each. A request body is
//! described, not held: [`Body::Source`] names a byte range of the caller's source and
//! [`Body::Segments`] a list of small inline pieces (WOPI frame headers) and source ranges. The
//! transport reads those bytes when it sends them, so memory stays flat whatever the file size.
//!
//! ## With the `http` crate (feature `http`)
//!
//! Conversions to and from the [`http`](https://docs.rs/http) crate's types, for transports and
//! middleware built on them (hyper, tower, any client that takes `http::Request`).
//!
//! | from | to | how |
//! |---|---|---|
//! | `&`[`Request`] | `http::Request<()>` | `TryFrom`: method, URL, headers (credentials marked sensitive), `Content-Length` for `PUT` and `POST`, `Content-Type: application/json` for a JSON body without one; the [`RequestId`], [`RequestKind`], [`Auth`] and [`Body`] ride along as extensions |
//! | `http::Request<()>` | [`Request`] | `TryFrom`: the way back, for a request that came from the core (its extensions are needed) and went through middleware |
//! | `http::Response<Bytes>` | [`Response`] | `From`: status, headers (a value that is not UTF-8 is read lossily), body |
//! | [`Response`] | `http::Response<Bytes>` | `TryFrom`: for servers and tests that answer with the core's type |
//!
//! The body of a request stays *described* (`()`, with the [`Body`] as an extension): the
//! transport reads the source range it names when it sends it. `Authorization` is not added:
//! for [`Auth::Bearer`] the transport attaches the caller's token.
//!
//! No `http_convert::HttpConversionError` (with the `http` feature) holds a URL, a header value or a body: they can be credentials.
//!
//! ```
//! # #[cfg(feature = "http")] {
//! use bytes::Bytes;
//! use resumable_core::graph::{DriveItem, Target, Upload, UploadConfig};
//! use resumable_core::http::{Auth, Body, Response};
//! use resumable_core::session::StateMachine;
//! use resumable_core::time::Instant;
//!
//! let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 1_000);
//! let create = "https://graph.microsoft.com/v1.0/me/drive/root:/a.bin:/createUploadSession";
//! let mut upload = Upload::create(create, config, Instant::ZERO)?;
//! let request = upload.poll_request(Instant::ZERO).unwrap();
//!
//! // What a hyper or tower based transport sends (its body described, not held).
//! let outgoing = http::Request::try_from(&request)?;
//! assert_eq!(outgoing.method(), http::Method::POST);
//! assert_eq!(outgoing.uri().host(), Some("graph.microsoft.com"));
//! assert_eq!(outgoing.extensions().get::<Auth>(), Some(&Auth::Bearer));
//! assert!(matches!(outgoing.extensions().get::<Body>(), Some(Body::Json(_))));
//!
//! // What it received, fed back to the machine.
//! let answer = http::Response::builder()
//!     .status(200)
//!     .header("Content-Type", "application/json")
//!     .body(Bytes::from_static(
//!         br#"{"uploadUrl":"https://up.example/s1?tempauth=t","nextExpectedRanges":["0-"]}"#,
//!     ))?;
//! upload.handle_response(Instant::ZERO, request.id, Response::from(answer));
//! assert_eq!(upload.poll_request(Instant::ZERO).unwrap().auth, Auth::None);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::range::ByteRange;
use crate::secret::SecretUrl;

/// Identifies one request so its answer can be matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// The HTTP methods the protocols use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
    /// `HEAD` (tus: where the upload is)
    Head,
    /// `OPTIONS` (tus: what the server offers)
    Options,
    /// `PATCH` (tus: append bytes)
    Patch,
}

impl Method {
    /// The method's name as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which credential the transport attaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// None. Every request to an `uploadUrl` or a WOPI URL is sent like this: those URLs carry
    /// their own token, and an `Authorization` header there causes intermittent 401s.
    None,
    /// `Authorization: Bearer {token}` with the caller's token for the service API.
    Bearer,
}

/// What a request is for: lets a transport pick timeouts and count requests by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// Creates an upload or workbook session.
    CreateSession,
    /// Carries bytes of the file (a Graph fragment, a WOPI `UpdateUploadSession`).
    Fragment,
    /// Asks the server where it is.
    Status,
    /// Commits uploaded bytes as a file.
    Commit,
    /// Cancels a session.
    Cancel,
    /// Polls a long-running operation.
    PollOperation,
    /// Fetches a resource a finished operation names.
    FetchResource,
    /// Keeps a session alive.
    Refresh,
    /// Closes a session.
    Close,
    /// Asks what the server offers (tus `OPTIONS`).
    Discover,
    /// Carries the whole file in one request, no session (a Graph simple upload,
    /// `PUT …:/content`).
    SimpleUpload,
}

/// One request header. Sensitive values (session tokens, locks) print redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// The header name, as the protocol spells it.
    pub name: &'static str,
    /// The header value.
    pub value: String,
    /// Whether the value is a credential that must not be printed.
    pub sensitive: bool,
}

impl Header {
    /// A header whose value may be printed.
    pub fn new(name: &'static str, value: impl Into<String>) -> Self {
        Header {
            name,
            value: value.into(),
            sensitive: false,
        }
    }

    /// A header whose value is a credential.
    pub fn sensitive(name: &'static str, value: impl Into<String>) -> Self {
        Header {
            name,
            value: value.into(),
            sensitive: true,
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sensitive {
            write!(f, "{}: [redacted]", self.name)
        } else {
            write!(f, "{}: {}", self.name, self.value)
        }
    }
}

/// A piece of a request body: inline bytes (a frame header, a JSON message) or a range of the
/// caller's source.
#[derive(Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes to send as they are.
    Inline(Bytes),
    /// These bytes of the source, read by the transport.
    Source(ByteRange),
}

impl Segment {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Segment::Inline(bytes) => bytes.len() as u64,
            Segment::Source(range) => range.len(),
        }
    }

    /// Whether the segment carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Inline(bytes) => write!(f, "Inline({} bytes)", bytes.len()),
            Segment::Source(range) => write!(f, "Source({range:?})"),
        }
    }
}

/// A request body, described.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// No body (`Content-Length: 0` where a length is sent).
    Empty,
    /// A JSON document (the request carries `Content-Type: application/json`).
    Json(Bytes),
    /// These bytes of the source, sent as they are: no compression, no transform.
    Source(ByteRange),
    /// The concatenation of these segments.
    Segments(Vec<Segment>),
}

impl Body {
    /// The body's bytes as segments, in order (none for an empty or JSON body).
    pub fn segments(&self) -> Vec<Segment> {
        match self {
            Body::Source(range) => alloc::vec![Segment::Source(*range)],
            Body::Segments(segments) => segments.clone(),
            Body::Empty | Body::Json(_) => Vec::new(),
        }
    }

    /// The body length in bytes (the `Content-Length` to send).
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Json(bytes) => bytes.len() as u64,
            Body::Source(range) => range.len(),
            Body::Segments(segments) => segments.iter().map(Segment::len).sum(),
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            // JSON bodies can hold a `sourceUrl` or a session token: print only the size.
            Body::Json(bytes) => write!(f, "Json({} bytes)", bytes.len()),
            Body::Source(range) => write!(f, "Source({range:?})"),
            Body::Segments(segments) => f.debug_list().entries(segments).finish(),
        }
    }
}

/// An HTTP request for the transport to send.
#[derive(Clone, Debug)]
pub struct Request {
    /// Matches the answer to the request.
    pub id: RequestId,
    /// What the request is for.
    pub kind: RequestKind,
    /// The method.
    pub method: Method,
    /// The URL, credentials included; prints redacted.
    pub url: SecretUrl,
    /// Headers to send besides `Content-Length` (which the transport derives from the body) and
    /// `Authorization` (which [`Request::auth`] governs).
    pub headers: Vec<Header>,
    /// Which credential to attach.
    pub auth: Auth,
    /// The body.
    pub body: Body,
}

impl Request {
    /// The value of the first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// An HTTP answer, as the transport received it.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names as received.
    pub headers: Vec<(String, String)>,
    /// The body, whole.
    pub body: Bytes,
}

impl Response {
    /// An answer with `status`, no headers and no body.
    ///
    /// ```
    /// use resumable_core::http::Response;
    /// let answer = Response::new(202)
    ///     .with_header("Retry-After", "5")
    ///     .with_body(r#"{"nextExpectedRanges":["26-"]}"#);
    /// assert_eq!(answer.header("retry-after"), Some("5"));
    /// ```
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of the first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Answers can carry an uploadUrl or a session token in their body or a Location header:
        // show the status, header names and body size only.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why no answer arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection could not be made; the request was not sent.
    Connect,
    /// No answer within the request's time limit; the request may have taken effect.
    Timeout,
    /// The connection broke while sending or before the answer; the request may have taken
    /// effect.
    ConnectionLost,
    /// The transport could not read the body's bytes from the source. Not the server's fault and
    /// not retried: the caller must fix the source.
    SourceRead,
}

impl TransportError {
    /// Whether the request may have reached the server and taken effect.
    pub const fn is_ambiguous(self) -> bool {
        matches!(
            self,
            TransportError::Timeout | TransportError::ConnectionLost
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::Connect => "could not connect",
            TransportError::Timeout => "timed out waiting for the answer",
            TransportError::ConnectionLost => "connection lost before the answer",
            TransportError::SourceRead => "could not read the source",
        })
    }
}

impl core::error::Error for TransportError {}

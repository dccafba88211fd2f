//! A strict in-memory WOPI host (SPEC 2): upload sessions and `PutChunkedFile` commits.
//!
//! It decodes every session stream with the project's frame decoder as the ranges arrive
//! (ChunkIds verified against SpookyHash), enforces offsets, body lengths, the sliding expiry on
//! the virtual clock, sequence numbers and locks, and records every client mistake as a
//! violation: an update past its offset, a body whose length is not its header's, a frame that
//! does not decode, a commit of a stream cut inside a frame, an inline chunk the host already
//! had, a missing or zero sequence number, both lock headers, an `Authorization` header.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use resumable_core::http::{Auth, Request, Response};
use resumable_core::time::{Duration, Instant};
use resumable_core::wopi::{
    BodyKind, BufferedDecoder, ChunkId, DecoderConfig, FrameKind, decode_put_chunked_file,
};

pub const FILE_URL: &str = "https://wopi.sim.example/wopi/files/doc-1?access_token=AT-sim-secret";
const ACCESS_TOKEN: &str = "access_token=AT-sim-secret";

/// Payloads up to this many bytes are accepted (the simulated files are smaller).
const MAX_PAYLOAD: u64 = 1 << 30;

struct Session {
    decoder: BufferedDecoder,
    offset: u64,
    expires: Instant,
    /// Whole chunks decoded from the stream so far.
    chunks: HashMap<ChunkId, Bytes>,
}

/// An update the host saw at an offset below its own: a resend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleUpdate {
    pub offset: u64,
    pub len: u64,
    pub host_offset: u64,
}

/// The simulated host, holding one file.
pub struct WopiHost {
    /// How long a session lives after its creation or last accepted update.
    pub lifetime: Duration,
    /// Whether `CREATE_UPLOAD_SESSION` is supported (else `501`).
    pub supports_sessions: bool,
    /// Whether a `400` for an offset mismatch carries `X-WOPI-UploadSessionCurrentOffset`.
    pub offset_on_refusal: bool,
    /// The file's sequence number: 0 until first committed, then what a commit must carry.
    pub sequence: u64,
    /// The file's WOPI lock, if locked.
    pub lock: Option<String>,
    /// The largest `MainContent` the host stores (else `413`).
    pub max_file_len: Option<u64>,
    /// The stored file's streams by name, once committed.
    pub streams: BTreeMap<String, Vec<u8>>,
    /// The chunks of the stored version (a new upload need not send them again).
    pub chunks: HashMap<ChunkId, Bytes>,
    /// Client mistakes, in order.
    pub violations: Vec<String>,
    /// Updates at an offset below the host's.
    pub stale_updates: Vec<StaleUpdate>,
    /// Successful commits.
    pub commits: usize,
    /// Sessions created.
    pub sessions_created: usize,
    /// Bytes of updates the host accepted.
    pub accepted_bytes: u64,
    sessions: BTreeMap<String, Session>,
    next_session: u64,
    version: u64,
}

fn failure(status: u16, reason: &str) -> Response {
    Response::new(status).with_header("X-WOPI-FailureReason", reason)
}

fn with_offset(response: Response, offset: u64) -> Response {
    response.with_header("X-WOPI-UploadSessionCurrentOffset", offset.to_string())
}

impl WopiHost {
    pub fn new() -> Self {
        WopiHost {
            lifetime: Duration::from_secs(30 * 60),
            supports_sessions: true,
            offset_on_refusal: true,
            sequence: 0,
            lock: None,
            max_file_len: None,
            streams: BTreeMap::new(),
            chunks: HashMap::new(),
            violations: Vec::new(),
            stale_updates: Vec::new(),
            commits: 0,
            sessions_created: 0,
            accepted_bytes: 0,
            sessions: BTreeMap::new(),
            next_session: 1,
            version: 0,
        }
    }

    /// The current offset of the session named by `request`, if it is alive at `now`.
    pub fn offset_of(&self, request: &Request, now: Instant) -> Option<u64> {
        let token = request.header("X-WOPI-UploadSessionToken")?;
        let session = self.sessions.get(token)?;
        (session.expires > now).then_some(session.offset)
    }

    /// The offset and expiry of a session alive at `now`, if any.
    pub fn live_session(&self, now: Instant) -> Option<(u64, Instant)> {
        self.sessions
            .values()
            .find(|s| s.expires > now)
            .map(|s| (s.offset, s.expires))
    }

    /// Kills every session (as if they had expired).
    pub fn expire_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Serves `request` with `body` at `now`. `store_limit` makes the host keep only that many
    /// bytes of an update's body (a partial store; it still answers with its offset).
    pub fn serve(
        &mut self,
        now: Instant,
        request: &Request,
        body: &[u8],
        store_limit: Option<usize>,
    ) -> Response {
        if request.auth != Auth::None {
            self.violations
                .push(format!("Authorization asked for on {:?}", request.kind));
        }
        if !request.url.expose().contains(ACCESS_TOKEN) {
            return failure(401, "no access token");
        }
        let path_end = request.url.expose().find('?').unwrap();
        let commit = request.url.expose()[..path_end].ends_with("/contents");
        match (request.header("X-WOPI-Override"), commit) {
            (None, false) if request.method == resumable_core::http::Method::Get => {
                self.check_file_info()
            }
            (Some("CREATE_UPLOAD_SESSION"), false) => self.create(now),
            (Some("UPDATE_UPLOAD_SESSION"), false) => self.update(now, request, body, store_limit),
            (Some("PUT_CHUNKED_FILE"), true) => self.commit(now, request, body),
            (other, _) => {
                self.violations.push(format!(
                    "unknown operation {other:?} (commit URL: {commit})"
                ));
                failure(400, "unknown operation")
            }
        }
    }

    /// `CheckFileInfo`: the committed `MainContent`'s size and SHA-256 (base64).
    fn check_file_info(&self) -> Response {
        let content = self.streams.get("MainContent").cloned().unwrap_or_default();
        let sha = resumable_core::digest::SourceHashes::of(&content)
            .sha256
            .unwrap_or_default();
        let sha = resumable_core::digest::Base64::<44>::encode(&sha);
        Response::new(200).with_body(format!(
            r#"{{"BaseFileName":"f.docx","Size":{},"SHA256":"{sha}","Version":"{}"}}"#,
            content.len(),
            self.sequence
        ))
    }

    fn create(&mut self, now: Instant) -> Response {
        if !self.supports_sessions {
            return failure(501, "upload sessions are not supported");
        }
        let token = format!("session-{}-secret", self.next_session);
        self.next_session += 1;
        self.sessions_created += 1;
        let config =
            DecoderConfig::new(BodyKind::UploadSessionStream).with_max_payload_len(MAX_PAYLOAD);
        self.sessions.insert(
            token.clone(),
            Session {
                decoder: BufferedDecoder::new(config),
                offset: 0,
                expires: now + self.lifetime,
                chunks: HashMap::new(),
            },
        );
        Response::new(200).with_body(format!(r#"{{"UploadSessionToken":"{token}"}}"#))
    }

    fn update(
        &mut self,
        now: Instant,
        request: &Request,
        body: &[u8],
        store_limit: Option<usize>,
    ) -> Response {
        let Some(token) = request.header("X-WOPI-UploadSessionToken") else {
            self.violations
                .push("update without a session token".into());
            return failure(400, "X-WOPI-UploadSessionToken is required");
        };
        let number = |name| request.header(name).and_then(|v| v.parse::<i64>().ok());
        let (Some(offset), Some(length)) = (
            number("X-WOPI-ContentRangeOffset"),
            number("X-WOPI-ContentRangeLength"),
        ) else {
            self.violations
                .push("update without offset or length".into());
            return failure(400, "offset and length are required");
        };
        let (Ok(offset), Ok(length)) = (u64::try_from(offset), u64::try_from(length)) else {
            self.violations.push("negative offset or length".into());
            return failure(400, "negative offset or length");
        };
        if body.len() as u64 != length {
            self.violations.push(format!(
                "body of {} bytes, header says {length}",
                body.len()
            ));
            return failure(
                400,
                "the body length differs from X-WOPI-ContentRangeLength",
            );
        }
        let offset_on_refusal = self.offset_on_refusal;
        let Some(session) = self.sessions.get_mut(token).filter(|s| s.expires > now) else {
            self.sessions.remove(token);
            return failure(410, "the upload session is unknown or has expired");
        };
        if offset != session.offset {
            if offset > session.offset {
                self.violations.push(format!(
                    "update at {offset} skips ahead of the host's offset {}",
                    session.offset
                ));
            } else {
                self.stale_updates.push(StaleUpdate {
                    offset,
                    len: length,
                    host_offset: session.offset,
                });
            }
            let refusal = failure(400, "the offset is not the session's current offset");
            return if offset_on_refusal {
                with_offset(refusal, session.offset)
            } else {
                refusal
            };
        }
        let keep = store_limit.map_or(body.len(), |limit| limit.min(body.len()));
        session.decoder.push(Bytes::copy_from_slice(&body[..keep]));
        loop {
            match session.decoder.next_frame() {
                Ok(Some(frame)) => match frame.kind {
                    FrameKind::Chunk(id) => {
                        session.chunks.insert(id, frame.payload);
                    }
                    other => {
                        self.violations
                            .push(format!("frame {other:?} in a session stream"));
                    }
                },
                Ok(None) => break,
                Err(error) => {
                    self.violations
                        .push(format!("session stream does not decode: {error}"));
                    self.sessions.remove(token);
                    return failure(400, "malformed frames");
                }
            }
        }
        session.offset += keep as u64;
        session.expires = now + self.lifetime;
        self.accepted_bytes += keep as u64;
        with_offset(Response::new(200), session.offset)
    }

    fn commit(&mut self, now: Instant, request: &Request, body: &[u8]) -> Response {
        let sequence = match request
            .header("X-WOPI-SequenceNumber")
            .and_then(|v| v.parse::<u64>().ok())
        {
            Some(n) if n > 0 => n,
            _ => {
                self.violations
                    .push("commit without a sequence number above 0".into());
                return failure(400, "X-WOPI-SequenceNumber must be a number above 0");
            }
        };
        let lock = request.header("X-WOPI-Lock");
        if lock.is_some() && request.header("X-WOPI-CoauthLockId").is_some() {
            self.violations.push("both lock headers on a commit".into());
            return failure(400, "X-WOPI-Lock and X-WOPI-CoauthLockId are exclusive");
        }
        if lock.map(str::to_owned) != self.lock {
            return failure(409, "lock mismatch")
                .with_header("X-WOPI-Lock", self.lock.clone().unwrap_or_default())
                .with_header("X-WOPI-ConflictingMechanism", "WOPI-Lock");
        }
        if self.sequence != 0 && sequence != self.sequence {
            return failure(412, "the file changed")
                .with_header("X-WOPI-SequenceNumber", self.sequence.to_string());
        }
        let config = DecoderConfig::new(BodyKind::PutChunkedFile).with_max_payload_len(MAX_PAYLOAD);
        let decoded = match decode_put_chunked_file(&Bytes::copy_from_slice(body), config) {
            Ok(decoded) => decoded,
            Err(error) => {
                self.violations
                    .push(format!("PutChunkedFile body refused: {error}"));
                return failure(400, "malformed PutChunkedFile body");
            }
        };
        let token = decoded
            .message
            .upload_session_token_to_commit
            .as_ref()
            .map(|token| token.expose().to_owned());
        let mut in_session: HashMap<ChunkId, Bytes> = HashMap::new();
        if let Some(token) = &token {
            let Some(session) = self.sessions.get(token).filter(|s| s.expires > now) else {
                return failure(410, "the upload session is unknown or has expired");
            };
            let finished = session.decoder.finish();
            in_session = session.chunks.clone();
            if let Err(error) = finished {
                self.violations.push(format!(
                    "committed a session stream cut inside a frame: {error}"
                ));
                return failure(400, "the session stream ends inside a frame");
            }
        }
        for (id, _) in &decoded.chunks {
            if in_session.contains_key(id) || self.chunks.contains_key(id) {
                self.violations
                    .push(format!("commit re-sent chunk {id} the host already had"));
            }
        }
        let mut available: HashMap<ChunkId, Bytes> = self.chunks.clone();
        available.extend(in_session);
        available.extend(decoded.chunks.iter().cloned());
        let mut streams = BTreeMap::new();
        let mut used = HashMap::new();
        for signature in &decoded.message.signatures {
            let mut bytes = Vec::new();
            for chunk in &signature.chunk_signatures {
                match available.get(&chunk.chunk_id) {
                    Some(payload) if payload.len() as u64 == chunk.length => {
                        bytes.extend_from_slice(payload);
                        used.insert(chunk.chunk_id, payload.clone());
                    }
                    _ => {
                        self.violations.push(format!(
                            "commit names chunk {} the host lacks",
                            chunk.chunk_id
                        ));
                        return failure(400, "a chunk of the signature is missing");
                    }
                }
            }
            streams.insert(signature.stream_id.clone(), bytes);
        }
        let main_len = streams.get("MainContent").map_or(0, Vec::len) as u64;
        if self.max_file_len.is_some_and(|max| main_len > max) {
            return failure(413, "the file is too large");
        }
        if let Some(token) = token {
            self.sessions.remove(&token);
        }
        self.streams = streams;
        self.chunks = used;
        self.sequence = self.sequence.max(sequence) + 1;
        self.version += 1;
        self.commits += 1;
        Response::new(200)
            .with_header("X-WOPI-SequenceNumber", self.sequence.to_string())
            .with_header("X-WOPI-ItemVersion", format!("v{}", self.version))
    }
}

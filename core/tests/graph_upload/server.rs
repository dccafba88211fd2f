//! A strict in-memory Microsoft Graph upload-session service (SPEC section 1).
//!
//! It refuses what the real services refuse and records every client mistake as a violation:
//! an `Authorization` header on the upload URL, a `Content-Range` whose length differs from the
//! body, a changing total, an unaligned non-final drive fragment, a request of 60 MiB or more,
//! more fragments in flight than the target allows. Overlaps and skips answer 416, a gone or
//! expired session answers 404, a finished one too.

use resumable_core::digest::SourceHashes;
use std::collections::BTreeMap;

use resumable_core::http::{Auth, Body, Method, Request, Response};
use resumable_core::range::{ByteRange, ContentRange};
use resumable_core::time::{Duration, Instant, UnixTime};

/// Which service the server plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Drive,
    Print,
    Mail,
}

pub const UPLOAD_HOST: &str = "https://up.sim.example";
pub const GRAPH_HOST: &str = "https://graph.sim.example";
const DRIVE_ALIGNMENT: u64 = 327_680;
const DRIVE_LIMIT: u64 = 60 * 1024 * 1024;

#[derive(Debug)]
struct Session {
    total: u64,
    data: Vec<u8>,
    /// Received ranges, sorted and disjoint.
    received: Vec<ByteRange>,
    expires: Instant,
    defer_commit: bool,
    conflict: String,
    item_key: String,
    name: String,
}

impl Session {
    fn held(&self) -> u64 {
        self.received.iter().map(ByteRange::len).sum()
    }

    fn position(&self) -> u64 {
        match self.received.first() {
            Some(first) if first.start() == 0 => first.end(),
            _ => 0,
        }
    }

    /// Whether byte `offset` is stored.
    fn holds(&self, offset: u64) -> bool {
        self.received
            .iter()
            .any(|r| r.start() <= offset && offset < r.end())
    }

    fn overlaps(&self, range: ByteRange) -> bool {
        self.received
            .iter()
            .any(|r| r.intersection(&range).is_some())
    }

    fn store(&mut self, range: ByteRange, bytes: &[u8]) {
        self.data[range.start() as usize..range.end() as usize].copy_from_slice(bytes);
        self.received.push(range);
        self.received.sort();
        let mut merged: Vec<ByteRange> = Vec::new();
        for r in self.received.drain(..) {
            match merged.last_mut() {
                Some(last) if last.end() >= r.start() => {
                    *last = ByteRange::new(last.start(), last.end().max(r.end())).unwrap();
                }
                _ => merged.push(r),
            }
        }
        self.received = merged;
    }

    fn gaps(&self) -> Vec<ByteRange> {
        let mut gaps = Vec::new();
        let mut offset = 0;
        for r in &self.received {
            gaps.extend(ByteRange::new(offset, r.start()));
            offset = r.end();
        }
        gaps.extend(ByteRange::new(offset, self.total));
        gaps
    }

    fn is_complete(&self) -> bool {
        self.held() == self.total
    }
}

/// The simulated service.
#[derive(Debug)]
pub struct GraphServer {
    pub service: Service,
    /// How long a session lives after creation or after each accepted fragment.
    pub lifetime: Duration,
    /// Names already taken in the drive (a final fragment under `fail` answers 409).
    pub existing: Vec<String>,
    /// Drive sessions list every gap (`["327680-655359","983040-"]`) instead of only the open
    /// range from the first missing byte (`["327680-"]`), as some SharePoint sites do.
    pub list_every_gap: bool,
    /// Items read by URL report `sha1Hash` too, as personal OneDrive does.
    pub sha1_on_items: bool,
    /// Client mistakes, in order.
    pub violations: Vec<String>,
    /// Finished files by key (item URL, attachment location, document id).
    pub files: BTreeMap<String, Vec<u8>>,
    sessions: BTreeMap<String, Session>,
    next_session: u64,
    /// Fragments in flight (sent, not yet answered) per session URL, counted by the harness.
    pub in_flight_fragments: BTreeMap<String, usize>,
    /// The largest number of fragments in flight seen at once.
    pub max_in_flight_seen: usize,
    /// Fragment PUTs received.
    pub fragment_puts: usize,
    /// Uploads turned into files (a file stored twice counts twice).
    pub completions: usize,
    /// Expiry times are written this far in the past (a server whose clock is wrong): the
    /// sessions live on regardless.
    pub expiry_skew: Duration,
}

impl GraphServer {
    pub fn new(service: Service) -> Self {
        GraphServer {
            service,
            lifetime: Duration::from_secs(15 * 60),
            existing: Vec::new(),
            sha1_on_items: false,
            list_every_gap: false,
            violations: Vec::new(),
            files: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_session: 1,
            in_flight_fragments: BTreeMap::new(),
            max_in_flight_seen: 0,
            fragment_puts: 0,
            completions: 0,
            expiry_skew: Duration::ZERO,
        }
    }

    /// An expiry as the server writes it, with its skew.
    fn written_expiry(&self, at: Instant) -> UnixTime {
        let skew = i64::try_from(self.expiry_skew.as_millis()).unwrap_or(i64::MAX);
        UnixTime::from_millis(Self::wall(at).as_millis().saturating_sub(skew))
    }

    /// The server's wall clock at `now`.
    pub fn wall(now: Instant) -> UnixTime {
        UnixTime::from_secs(1_780_000_000).saturating_add(Duration::from_millis(now.as_millis()))
    }

    fn answer(&self, now: Instant, status: u16) -> Response {
        Response::new(status).with_header("Date", Self::wall(now).http_date().to_string())
    }

    fn violation(&mut self, text: String) -> Response {
        self.violations.push(text);
        Response::new(400)
    }

    /// Expires sessions whose time has passed.
    fn expire(&mut self, now: Instant) {
        self.sessions.retain(|_, s| s.expires > now);
    }

    /// Ends the session behind `url` at once (an injected early expiry).
    pub fn kill_session(&mut self, url: &str) {
        self.sessions.remove(url);
    }

    /// The first byte the session lacks, if it is alive.
    pub fn position(&self, url: &str) -> Option<u64> {
        self.sessions.get(url).map(Session::position)
    }

    /// Stores `bytes` at `range` of the session behind `url` directly, as if another client had
    /// uploaded them (the way a session comes to hold several separate ranges).
    pub fn store_directly(&mut self, url: &str, range: ByteRange, bytes: &[u8]) {
        let session = self.sessions.get_mut(url).expect("a live session");
        session.store(range, bytes);
    }

    /// Whether the session behind `url` holds byte `offset`.
    pub fn holds(&self, url: &str, offset: u64) -> bool {
        self.sessions.get(url).is_some_and(|s| s.holds(offset))
    }

    /// Whether the live session behind `url` lacks bytes, and only bytes inside `ranges`: then
    /// those requests could finish it.
    pub fn lacks_only(&self, url: &str, ranges: &[ByteRange]) -> bool {
        self.sessions.get(url).is_some_and(|s| {
            s.gaps().iter().all(|gap| {
                let mut covered = gap.start();
                let mut sorted = ranges.to_vec();
                sorted.sort();
                for range in sorted {
                    if range.start() <= covered && range.end() > covered {
                        covered = range.end();
                    }
                }
                covered >= gap.end()
            })
        })
    }

    /// Whether the session behind `url` is alive and still lacks bytes.
    pub fn is_incomplete(&self, url: &str) -> bool {
        self.sessions.get(url).is_some_and(|s| !s.is_complete())
    }

    /// Whether a session is alive.
    pub fn has_session(&self, url: &str) -> bool {
        self.sessions.contains_key(url)
    }

    /// A sent fragment starts occupying the session (for the concurrency rule).
    pub fn fragment_sent(&mut self, url: &str) {
        let count = self.in_flight_fragments.entry(url.to_owned()).or_default();
        *count += 1;
        let count = *count;
        self.max_in_flight_seen = self.max_in_flight_seen.max(count);
        let limit = if self.service == Service::Print { 4 } else { 1 };
        if count > limit {
            self.violations.push(format!(
                "{count} fragments in flight at once in one session, the limit is {limit}"
            ));
        }
    }

    pub fn fragment_done(&mut self, url: &str) {
        if let Some(count) = self.in_flight_fragments.get_mut(url) {
            *count -= 1;
        }
    }

    /// Serves one request whose body is `body` (as `Content-Length` announced it). With
    /// `cut_after`, the connection broke after that many body bytes: the server keeps what
    /// arrived (partial storage) and nobody reads its answer.
    pub fn serve(
        &mut self,
        now: Instant,
        request: &Request,
        body: &[u8],
        cut_after: Option<usize>,
    ) -> Response {
        self.expire(now);
        let url = request.url.expose().to_owned();
        if url.starts_with(UPLOAD_HOST) {
            if request.auth != Auth::None {
                return self
                    .violation(format!(
                        "{} {} with an Authorization header on the upload URL",
                        request.method, request.url
                    ))
                    .with_status(401);
            }
            return match request.method {
                Method::Put => self.put_fragment(now, &url, request, body, cut_after),
                Method::Get => self.status(now, &url),
                Method::Delete => match self.sessions.remove(&url) {
                    Some(_) => self.answer(now, 204),
                    None => self.answer(now, 404),
                },
                Method::Post => self.commit(now, &url),
                Method::Head | Method::Options | Method::Patch => self
                    .violation(format!(
                        "{} {}: not a Graph method",
                        request.method, request.url
                    ))
                    .with_status(405),
            };
        }
        if request.auth != Auth::Bearer {
            return self.answer(now, 401);
        }
        match request.method {
            Method::Post if url.ends_with("/createUploadSession") => {
                self.create(now, &url, request)
            }
            Method::Put => self.explicit_commit(now, &url, request),
            Method::Get => match self.files.get(&url) {
                Some(file) => {
                    let hashes = SourceHashes::of(file);
                    let sha1 = match (self.sha1_on_items, hashes.sha1) {
                        (true, Some(sha1)) => format!(
                            r#","sha1Hash":"{}""#,
                            resumable_core::digest::stored::hex(&sha1)
                        ),
                        _ => String::new(),
                    };
                    self.answer(now, 200).with_body(format!(
                        r#"{{"id":"item","name":"x","size":{},"file":{{"hashes":{{"quickXorHash":"{}"{sha1}}}}}}}"#,
                        file.len(),
                        hashes.quick_xor_base64()
                    ))
                }
                None => self.answer(now, 404),
            },
            _ => self.answer(now, 405),
        }
    }

    fn create(&mut self, now: Instant, url: &str, request: &Request) -> Response {
        let Body::Json(json) = &request.body else {
            return self.violation("createUploadSession without a JSON body".into());
        };
        let value: serde_json::Value = match serde_json::from_slice(json) {
            Ok(v) => v,
            Err(_) => return self.violation("createUploadSession body is not JSON".into()),
        };
        let (total, defer_commit, conflict, name) = match self.service {
            Service::Drive => (
                value["item"]["fileSize"].as_u64(),
                value["deferCommit"].as_bool().unwrap_or(false),
                value["item"]["@microsoft.graph.conflictBehavior"]
                    .as_str()
                    .unwrap_or("fail")
                    .to_owned(),
                value["item"]["name"].as_str().unwrap_or("").to_owned(),
            ),
            Service::Print => (
                value["properties"]["size"].as_u64(),
                false,
                "fail".into(),
                value["properties"]["documentName"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            ),
            Service::Mail => {
                if value["AttachmentItem"]["attachmentType"] != "file" {
                    return self.violation("AttachmentItem.attachmentType is not file".into());
                }
                (
                    value["AttachmentItem"]["size"].as_u64(),
                    false,
                    "fail".into(),
                    value["AttachmentItem"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )
            }
        };
        let Some(total) = total.filter(|&t| t > 0) else {
            return self.violation("createUploadSession without a positive size".into());
        };
        let id = self.next_session;
        self.next_session += 1;
        let upload_url = format!("{UPLOAD_HOST}/session/{id}?tempauth=secret-{id}");
        let item_key = url.trim_end_matches("/createUploadSession").to_owned();
        self.sessions.insert(
            upload_url.clone(),
            Session {
                total,
                data: vec![0; total as usize],
                received: Vec::new(),
                expires: now + self.lifetime,
                defer_commit,
                conflict,
                item_key,
                name,
            },
        );
        let expires = self.written_expiry(now + self.lifetime);
        let (status, first) = match self.service {
            Service::Drive => (200, "\"0-\"".to_owned()),
            Service::Print => (200, format!("\"0-{}\"", total - 1)),
            Service::Mail => (201, "\"0\"".to_owned()),
        };
        self.answer(now, status).with_body(format!(
            r#"{{"uploadUrl":"{upload_url}","expirationDateTime":"{expires}","nextExpectedRanges":[{first}]}}"#
        ))
    }

    fn session_body(&self, now: Instant, session: &Session) -> String {
        let expires = self.written_expiry(session.expires);
        let _ = now;
        let gaps: Vec<String> = match self.service {
            Service::Drive if self.list_every_gap => {
                let gaps = session.gaps();
                gaps.iter()
                    .map(|g| match g.end() == session.total {
                        true => format!("\"{}-\"", g.start()),
                        false => format!("\"{}-{}\"", g.start(), g.last()),
                    })
                    .collect()
            }
            Service::Drive => (session.position() < session.total)
                .then(|| format!("\"{}-\"", session.position()))
                .into_iter()
                .collect(),
            Service::Print => session
                .gaps()
                .iter()
                .map(|g| format!("\"{}-{}\"", g.start(), g.last()))
                .collect(),
            Service::Mail => (session.position() < session.total)
                .then(|| format!("\"{}\"", session.position()))
                .into_iter()
                .collect(),
        };
        if self.service == Service::Mail {
            format!(
                r#"{{"ExpirationDateTime":"{expires}","NextExpectedRanges":[{}]}}"#,
                gaps.join(",")
            )
        } else {
            format!(
                r#"{{"expirationDateTime":"{expires}","nextExpectedRanges":[{}]}}"#,
                gaps.join(",")
            )
        }
    }

    fn status(&mut self, now: Instant, url: &str) -> Response {
        match self.sessions.get(url) {
            Some(session) => {
                let body = self.session_body(now, session);
                self.answer(now, 200).with_body(body)
            }
            None => self.answer(now, 404),
        }
    }

    fn put_fragment(
        &mut self,
        now: Instant,
        url: &str,
        request: &Request,
        body: &[u8],
        cut_after: Option<usize>,
    ) -> Response {
        self.fragment_puts += 1;
        let Some(header) = request.header("content-range") else {
            return self.violation("fragment without Content-Range".into());
        };
        let parsed: ContentRange = match header.parse() {
            Ok(p) => p,
            Err(_) => return self.violation(format!("bad Content-Range {header:?}")),
        };
        let (Some(range), Some(total)) = (parsed.range(), parsed.total()) else {
            return self.violation(format!("Content-Range {header:?} lacks a range or total"));
        };
        if body.len() as u64 != range.len() || request.body.len() != range.len() {
            return self.violation(format!(
                "Content-Range {header} names {} bytes but the body has {}",
                range.len(),
                body.len()
            ));
        }
        if self.service == Service::Mail
            && request.header("content-type") != Some("application/octet-stream")
        {
            return self
                .violation("mail fragment without Content-Type: application/octet-stream".into());
        }
        let limit = match self.service {
            Service::Drive => DRIVE_LIMIT,
            Service::Print => 10_000_000,
            Service::Mail => 4 * 1024 * 1024,
        };
        if range.len() >= limit {
            return self.violation(format!("fragment of {} bytes, over the limit", range.len()));
        }
        let service = self.service;
        let Some(session) = self.sessions.get_mut(url) else {
            return self.answer(now, 404);
        };
        if total != session.total {
            let t = session.total;
            return self.violation(format!("total changed from {t} to {total}"));
        }
        // A fragment that fills a gap up to bytes the session already holds may end off the grid.
        if service == Service::Drive
            && range.end() != total
            && range.len() % DRIVE_ALIGNMENT != 0
            && range.end() % DRIVE_ALIGNMENT != 0
            && !session.holds(range.end())
        {
            return self.violation(format!("unaligned non-final drive fragment {range}"));
        }
        let in_order = service != Service::Print;
        if session.overlaps(range) || (in_order && range.start() != session.position()) {
            return self.answer(now, 416).with_body(
                r#"{"error":{"code":"invalidRange","message":"The uploaded fragment overlaps or skips"}}"#,
            );
        }
        let arrived = &body[..cut_after.unwrap_or(body.len()).min(body.len())];
        if let Some(stored) = ByteRange::with_len(range.start(), arrived.len() as u64) {
            session.store(stored, arrived);
        }
        if (arrived.len() as u64) < range.len() {
            // Cut off mid-body: what arrived is kept; nobody reads this answer.
            return Response::new(400);
        }
        session.expires = now + self.lifetime;
        if !session.is_complete() {
            let status = if service == Service::Mail { 200 } else { 202 };
            let body = self.session_body(now, &self.sessions[url]);
            return self.answer(now, status).with_body(body);
        }
        if session.defer_commit {
            let body = self.session_body(now, &self.sessions[url]);
            return self.answer(now, 202).with_body(body);
        }
        self.finish(now, url, None)
    }

    /// Turns a complete session into a file, or answers 409 on a name conflict. An explicit
    /// commit gives the item URL, name and conflict behaviour.
    fn finish(
        &mut self,
        now: Instant,
        url: &str,
        commit: Option<(String, String, String)>,
    ) -> Response {
        let session = &self.sessions[url];
        let (key, name, conflict) = commit.unwrap_or_else(|| {
            let key = session.item_key.clone();
            (key, session.name.clone(), session.conflict.clone())
        });
        let taken = self.existing.contains(&name);
        if self.service == Service::Drive && taken && conflict == "fail" {
            return self.answer(now, 409).with_body(
                r#"{"error":{"code":"nameAlreadyExists","message":"The name is taken"}}"#,
            );
        }
        let session = self.sessions.remove(url).expect("session checked above");
        self.completions += 1;
        let size = session.total;
        match self.service {
            Service::Drive => {
                let quick_xor = SourceHashes::of(&session.data).quick_xor_base64();
                self.files.insert(key, session.data);
                self.existing.push(name.clone());
                self.answer(now, 201).with_body(format!(
                    r#"{{"id":"01ABC","name":"{name}","size":{size},"file":{{"hashes":{{"quickXorHash":"{quick_xor}"}}}}}}"#
                ))
            }
            Service::Print => {
                self.files.insert(format!("document:{name}"), session.data);
                self.answer(now, 201).with_body(format!(
                    r#"{{"id":"doc-1","documentName":"{name}","size":{size}}}"#
                ))
            }
            Service::Mail => {
                let location = format!("{GRAPH_HOST}/me/messages/m1/attachments/{name}");
                self.files.insert(location.clone(), session.data);
                self.answer(now, 201).with_header("Location", location)
            }
        }
    }

    fn commit(&mut self, now: Instant, url: &str) -> Response {
        match self.sessions.get(url) {
            None => self.answer(now, 404),
            Some(s) if !s.defer_commit || !s.is_complete() => self
                .violation("POST uploadUrl on a session that is not waiting for a commit".into()),
            Some(_) => self.finish(now, url, None),
        }
    }

    fn explicit_commit(&mut self, now: Instant, item_url: &str, request: &Request) -> Response {
        let Body::Json(json) = &request.body else {
            return self.violation("explicit commit without a JSON body".into());
        };
        let value: serde_json::Value = serde_json::from_slice(json).unwrap_or_default();
        let source = value["@microsoft.graph.sourceUrl"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let name = value["name"].as_str().unwrap_or("").to_owned();
        let conflict = value["@microsoft.graph.conflictBehavior"]
            .as_str()
            .unwrap_or("fail")
            .to_owned();
        match self.sessions.get(&source) {
            Some(s) if s.is_complete() => {
                self.finish(now, &source, Some((item_url.to_owned(), name, conflict)))
            }
            Some(_) => self.answer(now, 400),
            None => self.answer(now, 404),
        }
    }
}

trait WithStatus {
    fn with_status(self, status: u16) -> Self;
}

impl WithStatus for Response {
    fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

//! The exchange against a raw HTTP/1.1 server on a real socket: what goes on the wire.
//!
//! The tests about idle limits and time limits run on tokio's paused clock: the servers here
//! stall on tokio timers, so the clock only ever jumps to a stalled server's next read or to
//! the client's own limit, and minutes of stalling pass at once.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use resumable_core::digest::{BodyDigest, DigestAlgorithm};
use resumable_core::http::{
    Auth, Body, Header, Method, Request, RequestId, RequestKind, TransportError,
};
use resumable_core::range::ByteRange;
use resumable_core::secret::{Secret, SecretUrl};
use resumable_reqwest::TimeoutPolicy;
use resumable_reqwest::driver::{Exchange, HttpClients};
use resumable_reqwest::source::{BytesSource, FileSource, Source};
use resumable_reqwest::token::{TokenError, TokenProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use common::clock::PATIENCE;
use common::eventually;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one canned answer per connection (status, extra headers, body) and records requests.
async fn server(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, answer_body) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let head_end = loop {
                let mut chunk = [0u8; 4096];
                let n = socket.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client closed early");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let mut first = lines.next().unwrap().split(' ');
            let method = first.next().unwrap().to_owned();
            let path = first.next().unwrap().to_owned();
            let headers: Vec<(String, String)> = lines
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (n, v) = l.split_once(':').unwrap();
                    (n.trim().to_owned(), v.trim().to_owned())
                })
                .collect();
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = buf[head_end..].to_vec();
            while body.len() < len {
                let mut chunk = vec![0u8; 65536];
                let n = socket.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            log.lock().unwrap().push(Seen {
                method,
                path,
                headers,
                body,
            });
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer_body}",
                answer_body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        }
    });
    (base, seen)
}

fn request(id: u64, url: &str, auth: Auth, body: Body) -> Request {
    Request {
        id: RequestId(id),
        kind: RequestKind::Fragment,
        method: Method::Put,
        url: SecretUrl::new(url),
        headers: vec![Header::new("Content-Range", "bytes 10-19/100")],
        auth,
        body,
    }
}

/// Hands out "token-1", then "token-2" after a refresh; counts calls.
struct RotatingToken(Mutex<u32>);

impl TokenProvider for RotatingToken {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
        let mut n = self.0.lock().unwrap();
        if refresh || *n == 0 {
            *n += 1;
        }
        let token = Secret::new(format!("token-{n}"));
        Box::pin(async move { Ok(token) })
    }
}

/// A time limit no test reaches.
const LIMIT: Duration = Duration::from_secs(60);

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 256) as u8).collect()
}

#[tokio::test]
async fn upload_url_requests_never_carry_the_callers_authorization() {
    let (base, seen) = server(vec![(202, "{}")]).await;
    let mut defaults = reqwest::header::HeaderMap::new();
    defaults.insert(
        "authorization",
        "Bearer from-the-callers-client".parse().unwrap(),
    );
    let callers = reqwest::Client::builder()
        .default_headers(defaults)
        .build()
        .unwrap();
    let timeouts = TimeoutPolicy::default();
    let clients = HttpClients::with_api_client(callers, &timeouts).unwrap();
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(data(100)));
    let exchange = Exchange::new(
        clients,
        Some(Arc::new(RotatingToken(Mutex::new(0)))),
        source,
        timeouts,
    );
    let body = Body::Source(ByteRange::new(10, 20).unwrap());
    let delivery = exchange
        .send(
            &request(1, &format!("{base}/up/s1?tempauth=x"), Auth::None, body),
            LIMIT,
        )
        .await;
    assert_eq!(delivery.result.unwrap().status, 202);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].header("content-length"), Some("10"));
    assert_eq!(seen[0].header("content-range"), Some("bytes 10-19/100"));
    assert_eq!(seen[0].header("content-encoding"), None);
    assert_eq!(
        seen[0].header("accept-encoding"),
        None,
        "no compression negotiated"
    );
    assert_eq!(seen[0].header("transfer-encoding"), None);
    assert!(
        seen[0]
            .header("user-agent")
            .unwrap()
            .starts_with("resumable-reqwest/")
    );
    assert_eq!(seen[0].body, data(100)[10..20]);
    assert_eq!(
        delivery.source_crc,
        Some(crc32fast::hash(&data(100)[10..20]))
    );
}

#[tokio::test]
async fn file_bodies_stream_in_blocks_and_arrive_whole() {
    let (base, seen) = server(vec![(200, "")]).await;
    let content = data(5 * 1024 * 1024 + 123);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&content).unwrap();
    let source: Arc<dyn Source> = Arc::new(FileSource::open(file.path()).unwrap());
    let timeouts = TimeoutPolicy::default();
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let range = ByteRange::new(7, content.len() as u64).unwrap();
    let delivery = exchange
        .send(
            &request(1, &format!("{base}/up"), Auth::None, Body::Source(range)),
            LIMIT,
        )
        .await;
    assert_eq!(delivery.result.unwrap().status, 200);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].path, "/up");
    assert_eq!(seen[0].body.len(), content.len() - 7);
    assert!(seen[0].body == content[7..], "body differs from the file");
    assert_eq!(delivery.source_crc, Some(crc32fast::hash(&content[7..])));
}

#[tokio::test]
async fn bearer_requests_refresh_the_token_once_on_401() {
    let (base, seen) = server(vec![(401, ""), (200, "{}")]).await;
    let timeouts = TimeoutPolicy::default();
    let tokens = Arc::new(RotatingToken(Mutex::new(0)));
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(Bytes::new()));
    let exchange = Exchange::new(
        HttpClients::new(&timeouts).unwrap(),
        Some(tokens),
        source,
        timeouts,
    );
    let mut create = request(
        1,
        &format!("{base}/create"),
        Auth::Bearer,
        Body::Json(Bytes::from_static(b"{}")),
    );
    create.method = Method::Post;
    let delivery = exchange.send(&create, LIMIT).await;
    assert_eq!(delivery.result.unwrap().status, 200);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].header("authorization"), Some("Bearer token-1"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer token-2"));
    assert_eq!(seen[1].header("content-type"), Some("application/json"));
    assert_eq!(seen[1].body, b"{}");
}

#[tokio::test]
async fn a_shrunk_file_fails_as_a_source_error_and_sends_no_zeros() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    // Reads until the client closes the connection: when it ends, it has all that was sent.
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = socket.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&vec![0xAB; 3 << 20]).unwrap();
    let source: Arc<dyn Source> = Arc::new(FileSource::open(file.path()).unwrap());
    file.as_file().set_len(1 << 20).unwrap();
    let timeouts = TimeoutPolicy::default();
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let range = ByteRange::new(0, 3 << 20).unwrap();
    let delivery = exchange
        .send(
            &request(1, &format!("{base}/up"), Auth::None, Body::Source(range)),
            LIMIT,
        )
        .await;
    assert_eq!(delivery.result.unwrap_err(), TransportError::SourceRead);
    assert!(
        delivery
            .detail
            .unwrap()
            .contains("changed since the upload started")
    );
    // The failed body closes its connection: everything that went on the wire has arrived.
    tokio::time::timeout(PATIENCE, server)
        .await
        .expect("the connection of the failed body was closed")
        .unwrap();
    let received = received.lock().unwrap();
    let body_start = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        received[body_start..].iter().all(|&b| b == 0xAB),
        "zeros were sent"
    );
    assert!(received.len() - body_start <= 1 << 20);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_stops_reading_is_caught_by_the_idle_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        // Accept, never read: the socket buffers fill and the body stops moving. The socket
        // stays open until the test ends.
        std::future::pending::<()>().await;
        drop(socket);
    });
    let idle = Duration::from_millis(800);
    let timeouts = TimeoutPolicy {
        idle,
        ..TimeoutPolicy::default()
    };
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(vec![1u8; 64 << 20]));
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let range = ByteRange::new(0, 64 << 20).unwrap();
    let started = tokio::time::Instant::now();
    let delivery = exchange
        .send(
            &request(
                1,
                &format!("{base}/up?token=secret"),
                Auth::None,
                Body::Source(range),
            ),
            LIMIT,
        )
        .await;
    assert_eq!(delivery.result.unwrap_err(), TransportError::Timeout);
    // The idle limit, not the request's time limit, and not before the body had been still
    // for that long.
    let detail = delivery.detail.unwrap();
    assert!(detail.contains("stopped moving"), "{detail}");
    assert!(started.elapsed() >= idle, "{:?}", started.elapsed());
    assert!(started.elapsed() < LIMIT, "{:?}", started.elapsed());
}

#[tokio::test]
async fn errors_never_show_the_url() {
    // Nothing listens on this port: a connection error whose text must not hold the token.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let timeouts = TimeoutPolicy::default();
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(vec![1u8; 10]));
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let url = format!("http://{addr}/up?tempauth=SECRET-TOKEN");
    let delivery = exchange
        .send(&request(1, &url, Auth::None, Body::Empty), LIMIT)
        .await;
    assert_eq!(delivery.result.unwrap_err(), TransportError::Connect);
    let detail = delivery.detail.unwrap();
    assert!(!detail.contains("SECRET-TOKEN"), "{detail}");
    assert!(!detail.contains("tempauth"), "{detail}");
}

/// Accepts one request, reads its body slowly (`piece` bytes every `pause`), then answers 202.
async fn slow_reader(piece: usize, pause: Duration) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut all = Vec::new();
        let mut buf = vec![0u8; piece];
        let body_len = loop {
            let n = socket.read(&mut buf).await.unwrap();
            all.extend_from_slice(&buf[..n]);
            if let Some(end) = all.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&all[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                all.drain(..end + 4);
                break len;
            }
        };
        while all.len() < body_len {
            // The slowness under test: on the paused clock of these tests, it costs no time.
            tokio::time::sleep(pause).await;
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0);
            all.extend_from_slice(&buf[..n]);
        }
        *sink.lock().unwrap() = all;
        let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        socket.write_all(answer.as_bytes()).await.unwrap();
    });
    (base, received)
}

#[tokio::test(start_paused = true)]
async fn a_slow_but_moving_body_outlives_the_idle_limit() {
    // The body takes several idle limits to arrive, but never stops moving: no timeout. (A
    // limit counted from the start of the request, as reqwest's read timeout is, would kill it.)
    let (base, received) = slow_reader(64 * 1024, Duration::from_millis(40)).await;
    let timeouts = TimeoutPolicy::default().with_idle(Duration::from_millis(400));
    let content = data(3 << 20);
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(content.clone()));
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let range = ByteRange::new(0, content.len() as u64).unwrap();
    let started = tokio::time::Instant::now();
    let delivery = exchange
        .send(
            &request(1, &format!("{base}/up"), Auth::None, Body::Source(range)),
            LIMIT,
        )
        .await;
    assert!(
        started.elapsed() > Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(delivery.result.unwrap().status, 202);
    assert!(*received.lock().unwrap() == content);
    assert_eq!(delivery.source_crc, Some(crc32fast::hash(&content)));
    assert!(delivery.body_started.is_some());
    assert_eq!(exchange.bytes_sent(), content.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn the_machines_time_limit_ends_a_request_that_takes_too_long() {
    let (base, _) = slow_reader(64 * 1024, Duration::from_millis(40)).await;
    let timeouts = TimeoutPolicy::default();
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(data(3 << 20)));
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let range = ByteRange::new(0, 3 << 20).unwrap();
    let started = tokio::time::Instant::now();
    let delivery = exchange
        .send(
            &request(
                1,
                &format!("{base}/up?tempauth=SECRET"),
                Auth::None,
                Body::Source(range),
            ),
            Duration::from_millis(300),
        )
        .await;
    assert!(
        (Duration::from_millis(300)..Duration::from_secs(2)).contains(&started.elapsed()),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(delivery.result.unwrap_err(), TransportError::Timeout);
    let detail = delivery.detail.unwrap();
    assert!(detail.contains("no answer within"), "{detail}");
    assert!(!detail.contains("SECRET"), "{detail}");
    assert_eq!(delivery.source_crc, None, "an unfinished body has no CRC");
}

/// A source that records the offset of every read.
struct Recorded {
    bytes: Vec<u8>,
    reads: Mutex<Vec<u64>>,
}

impl Source for Recorded {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.reads.lock().unwrap().push(offset);
        let start = offset as usize;
        buf.copy_from_slice(&self.bytes[start..start + buf.len()]);
        Ok(())
    }

    fn describe(&self) -> String {
        "recorded".into()
    }
}

#[tokio::test]
async fn the_next_fragment_is_read_while_the_current_one_finishes() {
    const MIB: u64 = 1 << 20;
    let (base, seen) = server(vec![(202, "{}"), (202, "{}")]).await;
    let content = data(6 * MIB as usize);
    let recorded = Arc::new(Recorded {
        bytes: content.clone(),
        reads: Mutex::new(Vec::new()),
    });
    let source: Arc<dyn Source> = recorded.clone();
    let timeouts = TimeoutPolicy::default();
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let first = ByteRange::new(0, 3 * MIB / 2).unwrap();
    let second = ByteRange::new(3 * MIB / 2, 3 * MIB).unwrap();
    let url = format!("{base}/up");
    let delivery = exchange
        .send(&request(1, &url, Auth::None, Body::Source(first)), LIMIT)
        .await;
    assert_eq!(delivery.result.unwrap().status, 202);
    // The first fragment read its two blocks; the two after it are being read already.
    eventually("the next fragment's blocks are read", || {
        recorded.reads.lock().unwrap().len() >= 4
    })
    .await;
    // The two blocks read ahead are read at the same time, on the blocking pool: in either
    // order.
    let mut reads = recorded.reads.lock().unwrap().clone();
    reads[2..].sort_unstable();
    assert_eq!(reads, [0, MIB, 3 * MIB / 2, 5 * MIB / 2]);
    let delivery = exchange
        .send(&request(2, &url, Auth::None, Body::Source(second)), LIMIT)
        .await;
    assert_eq!(delivery.result.unwrap().status, 202);
    assert_eq!(
        delivery.source_crc,
        Some(crc32fast::hash(
            &content[second.start() as usize..second.end() as usize]
        ))
    );
    let reads = recorded.reads.lock().unwrap().clone();
    let second_reads = reads.iter().filter(|&&o| second.contains(o)).count();
    assert_eq!(
        second_reads, 2,
        "the second fragment was not read twice: {reads:?}"
    );
    let seen = seen.lock().unwrap();
    assert!(seen[1].body == content[second.start() as usize..second.end() as usize]);
}

/// Sends `range` of `content` as a checksummed request (tus `Upload-Checksum: crc32`) and
/// checks what arrived: the header of those bytes, the bytes, their CRC for the checkpoint.
/// Returns the offsets the source was read at.
async fn send_checksummed(content: &[u8], range: ByteRange) -> Vec<u64> {
    let (base, seen) = server(vec![(204, "")]).await;
    let recorded = Arc::new(Recorded {
        bytes: content.to_vec(),
        reads: Mutex::new(Vec::new()),
    });
    let source: Arc<dyn Source> = recorded.clone();
    let timeouts = TimeoutPolicy::default();
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    let digest = BodyDigest {
        algorithm: DigestAlgorithm::Crc32,
        header: "Upload-Checksum",
    };
    let mut patch = request(1, &format!("{base}/up"), Auth::None, Body::Source(range));
    patch.method = Method::Patch;
    let delivery = exchange.send_digested(patch, digest, LIMIT).await;
    assert_eq!(delivery.result.unwrap().status, 204);
    let sent = &content[range.start() as usize..range.end() as usize];
    let seen = seen.lock().unwrap();
    assert!(
        seen[0].body == sent,
        "the body differs from the source's bytes"
    );
    let crc = crc32fast::hash(sent).to_be_bytes();
    let expected = format!("crc32 {}", base64_of(&crc));
    assert_eq!(seen[0].header("upload-checksum"), Some(expected.as_str()));
    assert_eq!(delivery.source_crc, Some(crc32fast::hash(sent)));
    recorded.reads.lock().unwrap().clone()
}

/// Standard base64 with padding, written out here so the test does not share the code under
/// test.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_checksummed_body_is_read_once_for_its_header_and_its_sending() {
    const MIB: u64 = 1 << 20;
    let content = data(3 * MIB as usize + 500);
    let range = ByteRange::new(100, 3 * MIB + 400).unwrap();
    let mut reads = send_checksummed(&content, range).await;
    // What follows the body is read ahead for the next request; the body's blocks once each.
    reads.retain(|&at| range.contains(at));
    reads.sort_unstable();
    assert_eq!(reads, [100, 100 + MIB, 100 + 2 * MIB, 100 + 3 * MIB]);
}

#[tokio::test]
async fn a_checksummed_body_too_long_to_hold_is_read_for_its_header_and_again_to_send() {
    const MIB: u64 = 1 << 20;
    let content = data(17 * MIB as usize);
    let range = ByteRange::new(0, 17 * MIB).unwrap();
    let reads = send_checksummed(&content, range).await;
    assert_eq!(
        reads.iter().filter(|&&at| at == 16 * MIB).count(),
        2,
        "{reads:?}"
    );
}

#[tokio::test]
async fn bodiless_requests_carry_no_length_but_an_empty_commit_does() {
    let (base, seen) = server(vec![(200, "{}"), (204, ""), (201, "{}")]).await;
    let timeouts = TimeoutPolicy::default();
    let source: Arc<dyn Source> = Arc::new(BytesSource::new(Bytes::new()));
    let exchange = Exchange::new(HttpClients::new(&timeouts).unwrap(), None, source, timeouts);
    for (id, method) in [(1, Method::Get), (2, Method::Delete), (3, Method::Post)] {
        let mut bodiless = request(
            id,
            &format!("{base}/up?tempauth=x"),
            Auth::None,
            Body::Empty,
        );
        bodiless.method = method;
        bodiless.headers.clear();
        assert!(exchange.send(&bodiless, LIMIT).await.result.is_ok());
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].header("content-length"), None);
    assert_eq!(seen[1].method, "DELETE");
    assert_eq!(seen[1].header("content-length"), None);
    assert_eq!(seen[2].method, "POST");
    assert_eq!(seen[2].header("content-length"), Some("0"));
    assert!(seen.iter().all(|s| s.header("authorization").is_none()));
}

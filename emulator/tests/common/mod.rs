//! Helpers shared by the integration tests: a plain HTTP client, test data, hashes and a raw
//! TCP client for requests `reqwest` cannot send (held-open bodies, chunked bodies).

#![allow(dead_code, unreachable_pub)]

pub mod clock;

#[allow(unused_imports)]
pub use clock::eventually;

use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const KIB320: usize = 327_680;
pub const TOKEN: &str = "Bearer test-token";

pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(config).await.expect("emulator starts")
}

/// A client that opens a new connection per request, so a connection the emulator drops never
/// turns into a silent retry on a pooled one.
pub fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Deterministic test bytes.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed) % 31) as u8
                ^ seed
        })
        .collect()
}

pub fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The QuickXorHash of `data` in base64, as a drive item reports `quickXorHash`.
pub fn quick_xor(data: &[u8]) -> String {
    resumable_core::digest::SourceHashes::of(data)
        .quick_xor_base64()
        .to_string()
}

pub async fn json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, value)
}

/// `POST url` with the bearer token and a JSON body; answers status and JSON.
pub async fn post_json(client: &Client, url: &str, body: Value) -> (StatusCode, Value) {
    let response = client
        .post(url)
        .header("authorization", TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    json(response).await
}

/// Creates a drive upload session for `path`; returns the upload URL.
pub async fn drive_session(
    emulator: &EmulatorHandle,
    client: &Client,
    path: &str,
    body: Value,
) -> String {
    let (status, session) = post_json(client, &emulator.drive_upload_session_url(path), body).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["uploadUrl"].as_str().unwrap().to_owned()
}

/// `PUT` bytes `first..first + chunk.len()` of a `total`-byte file.
pub async fn put_range(
    client: &Client,
    url: &str,
    chunk: &[u8],
    first: usize,
    total: usize,
) -> reqwest::Result<Response> {
    let last = first + chunk.len() - 1;
    client
        .put(url)
        .header("content-range", format!("bytes {first}-{last}/{total}"))
        .body(chunk.to_vec())
        .send()
        .await
}

/// `GET`/`DELETE`/`POST` on an upload URL without a body.
pub async fn call(client: &Client, method: Method, url: &str) -> reqwest::Result<Response> {
    let mut request = client.request(method.clone(), url);
    if method == Method::POST {
        request = request.header("content-length", "0");
    }
    request.send().await
}

/// The first `nextExpectedRanges` start the server reports (any casing).
pub fn next_start(status: &Value) -> Option<u64> {
    let ranges = status
        .get("nextExpectedRanges")
        .or_else(|| status.get("NextExpectedRanges"))?;
    let first = ranges.as_array()?.first()?.as_str()?;
    first.split('-').next()?.parse().ok()
}

/// A request written by hand on a fresh connection: `head` is the request line and headers
/// (without the blank line), then `body` is written, and the connection is left open.
pub struct RawRequest {
    stream: TcpStream,
}

impl RawRequest {
    pub async fn send(emulator: &EmulatorHandle, head: &str, body: &[u8]) -> RawRequest {
        let mut stream = TcpStream::connect(emulator.addr()).await.unwrap();
        let head = format!("{head}\r\nhost: {}\r\n\r\n", emulator.addr());
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        stream.flush().await.unwrap();
        RawRequest { stream }
    }

    pub async fn write(&mut self, body: &[u8]) {
        self.stream.write_all(body).await.unwrap();
    }

    /// Reads the answer's status line and headers and what follows: its `content-length` worth
    /// of body, or up to the connection's end or a short pause for an answer without one.
    pub async fn answer(mut self) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !whole_answer(&buf) {
            match tokio::time::timeout(Duration::from_millis(500), self.stream.read(&mut chunk))
                .await
            {
                Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Whether `buf` holds an answer's head and the whole body its `content-length` announces.
fn whole_answer(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|len| len.trim().parse::<usize>().ok())
        .is_some_and(|len| buf.len() >= end + 4 + len)
}

/// The path and query of an absolute URL on the emulator.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").unwrap().1;
    &after_scheme[after_scheme.find('/').unwrap()..]
}

/// `CREATE_UPLOAD_SESSION` on WOPI file `file` with access token `t`; the session token, or the
/// answer's status when it is refused.
pub async fn wopi_create(
    emulator: &EmulatorHandle,
    client: &Client,
    file: &str,
) -> Result<String, StatusCode> {
    let answer = client
        .post(format!("{}?access_token=t", emulator.wopi_file_url(file)))
        .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
        .send()
        .await
        .unwrap();
    let (status, body) = json(answer).await;
    if status != StatusCode::OK {
        return Err(status);
    }
    Ok(body["UploadSessionToken"].as_str().unwrap().to_owned())
}

/// `UPDATE_UPLOAD_SESSION` with `body` at `offset`, access token `t`.
pub async fn wopi_update(
    emulator: &EmulatorHandle,
    client: &Client,
    file: &str,
    token: &str,
    offset: u64,
    body: &[u8],
) -> Response {
    client
        .post(format!("{}?access_token=t", emulator.wopi_file_url(file)))
        .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
        .header("x-wopi-uploadsessiontoken", token)
        .header("x-wopi-contentrangeoffset", offset.to_string())
        .header("x-wopi-contentrangelength", body.len().to_string())
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// The framed upload-session stream of `source` as one `FullFile` chunk.
pub fn full_file_stream(source: &[u8]) -> (resumable_core::wopi::StreamChunk, Vec<u8>) {
    use resumable_core::wopi::{ChunkId, StreamChunk, UploadStream};
    let chunk = StreamChunk {
        id: ChunkId::of(source),
        source_offset: 0,
        len: source.len() as u64,
    };
    let stream = UploadStream::from_chunks([chunk])
        .unwrap()
        .materialise(source)
        .unwrap();
    (chunk, stream)
}

/// Creates a mail attachment session for a `size`-byte file; returns the upload URL.
pub async fn mail_session(emulator: &EmulatorHandle, client: &Client, size: usize) -> String {
    let body = serde_json::json!({"AttachmentItem": {"attachmentType": "file", "name": "a.pdf", "size": size}});
    let (status, session) = post_json(client, &emulator.mail_upload_session_url("m1"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    session["uploadUrl"].as_str().unwrap().to_owned()
}

/// Creates a print document session for a `size`-byte document; returns the upload URL.
pub async fn print_session(emulator: &EmulatorHandle, client: &Client, size: usize) -> String {
    let body = serde_json::json!({"properties": {"documentName": "t.pdf", "size": size}});
    let url = emulator.print_upload_session_url("p1", "j1", "d1");
    let (status, session) = post_json(client, &url, body).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["uploadUrl"].as_str().unwrap().to_owned()
}

/// The files in the storage directory's part-file folder.
pub fn part_files(emulator: &EmulatorHandle) -> Vec<std::path::PathBuf> {
    let dir = emulator.storage_dir().unwrap().join(".partial");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect()
}

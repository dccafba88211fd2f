//! Runs the real `curl` binary against the emulator, one process per request, and reads back
//! what curl saw: its exit code, the status line, the headers and the body.
//!
//! curl runs on a blocking thread so the emulator, in the same process, keeps serving.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// curl's exit code for "the server closed the connection without an answer".
pub const EMPTY_REPLY: i32 = 52;
/// curl's exit codes for a connection that broke while curl was sending or receiving.
pub const SEND_ERROR: i32 = 55;
/// See [`SEND_ERROR`].
pub const RECV_ERROR: i32 = 56;

/// A directory for request bodies and answers, and a counter to name them.
#[derive(Clone)]
pub struct Curl {
    dir: Arc<tempfile::TempDir>,
    next: Arc<AtomicUsize>,
}

/// One request as curl is told to send it.
pub struct CurlRequest {
    method: &'static str,
    url: String,
    headers: Vec<String>,
    body: Option<Vec<u8>>,
}

/// What curl reported.
pub struct CurlAnswer {
    /// curl's exit code (0 when an answer, any answer, arrived).
    pub exit: i32,
    /// The answer's status, 0 when there was none.
    pub status: u16,
    /// Header lines of the final answer, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The answer's body.
    pub body: Vec<u8>,
    /// What curl wrote on stderr (its error message when `exit` is not 0).
    pub stderr: String,
}

impl CurlRequest {
    pub fn new(method: &'static str, url: &str) -> Self {
        CurlRequest {
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(format!("{name}: {value}"));
        self
    }

    /// The body, sent as is (`--data-binary @file`, which also sets `Content-Length`).
    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = Some(body.to_vec());
        self
    }

    /// `POST url` with the bearer token and a JSON body: a session create.
    pub fn create(url: &str, token: &str, json: &Value) -> Self {
        CurlRequest::new("POST", url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(json.to_string().as_bytes())
    }

    /// `PUT url` with bytes `first..first + chunk.len()` of a `total`-byte file.
    pub fn fragment(url: &str, chunk: &[u8], first: usize, total: usize) -> Self {
        let last = first + chunk.len() - 1;
        CurlRequest::new("PUT", url)
            .header("Content-Range", &format!("bytes {first}-{last}/{total}"))
            .header("Content-Type", "application/octet-stream")
            .body(chunk)
    }
}

impl std::fmt::Debug for CurlAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurlAnswer")
            .field("exit", &self.exit)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl CurlAnswer {
    /// The body as JSON (`Null` when empty); panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON (status {}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The first value of header `name` (any casing).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first `nextExpectedRanges` item's start (any casing, any form).
    pub fn next_start(&self) -> Option<usize> {
        let body = self.json();
        let ranges = body
            .get("nextExpectedRanges")
            .or_else(|| body.get("NextExpectedRanges"))?;
        ranges
            .as_array()?
            .first()?
            .as_str()?
            .split('-')
            .next()?
            .parse()
            .ok()
    }
}

impl Curl {
    /// A runner; panics with advice when no `curl` binary is on `PATH`.
    pub fn new() -> Self {
        match Command::new("curl").arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "`curl --version` failed ({}): these tests need a working curl",
                output.status
            ),
            Err(error) => panic!(
                "these tests run the real curl binary, and it could not be started ({error}): \
                 install curl (for example `apt-get install curl`) and put it on PATH"
            ),
        }
        Curl {
            dir: Arc::new(tempfile::tempdir().expect("a temporary directory")),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn file(&self, n: usize, what: &str) -> PathBuf {
        self.dir.path().join(format!("{n}.{what}"))
    }

    /// Runs curl once for `request`.
    pub async fn send(&self, request: CurlRequest) -> CurlAnswer {
        let curl = self.clone();
        tokio::task::spawn_blocking(move || curl.send_blocking(request))
            .await
            .expect("the curl thread ends")
    }

    fn send_blocking(&self, request: CurlRequest) -> CurlAnswer {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (out, head) = (self.file(n, "out"), self.file(n, "head"));
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--show-error", "--http1.1", "--max-time", "30"])
            .args(["--request", request.method])
            .arg("--output")
            .arg(&out)
            .arg("--dump-header")
            .arg(&head)
            .args(["--write-out", "%{http_code}"])
            // curl would otherwise ask for `100 Continue` on large bodies: one round trip
            // more, and a second place for a dropped connection to land.
            .args(["--header", "Expect:"]);
        for header in &request.headers {
            command.args(["--header", header]);
        }
        if let Some(body) = &request.body {
            let path = self.file(n, "body");
            std::fs::write(&path, body).expect("the body file is written");
            command
                .arg("--data-binary")
                .arg(format!("@{}", path.display()));
        }
        command.arg(&request.url);
        let output = command.output().expect("curl runs");
        let status = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        CurlAnswer {
            exit: output.status.code().unwrap_or(-1),
            status,
            headers: std::fs::read_to_string(&head)
                .map(|text| final_headers(&text))
                .unwrap_or_default(),
            body: std::fs::read(&out).unwrap_or_default(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `GET url` (an upload URL's status, or an inspection endpoint).
    pub async fn get(&self, url: &str) -> CurlAnswer {
        self.send(CurlRequest::new("GET", url)).await
    }

    /// `GET {base}/_emulator/stats` through curl, as JSON.
    pub async fn stats(&self, base: &str) -> Value {
        let answer = self.get(&format!("{base}/_emulator/stats")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()
    }

    /// `GET {base}/_emulator/files` through curl, as JSON.
    pub async fn files(&self, base: &str) -> Vec<Value> {
        let answer = self.get(&format!("{base}/_emulator/files")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json().as_array().expect("a list of files").clone()
    }
}

/// The header lines of the last answer in a `--dump-header` file (an interim `100 Continue`
/// comes first when the server sends one).
fn final_headers(text: &str) -> Vec<(String, String)> {
    let last_block = text
        .split("\r\n\r\n")
        .filter(|block| !block.trim().is_empty())
        .last()
        .unwrap_or("");
    last_block
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

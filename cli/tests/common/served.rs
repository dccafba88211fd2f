//! `resumable emulator serve` as a child process, inspected over HTTP as any client would, and
//! runs of the real binary that must end within a bound.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `resumable emulator serve`, killed when the test ends, pass or fail.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`, from the first line it printed.
    pub base: String,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `resumable emulator serve` on a free port, keeping only sizes and hashes, with the
/// fault `script` (empty for none) and `extra` options.
pub fn serve(script: &str, extra: &[&str]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable"));
    command
        .env_remove("RESUMABLE_EMULATOR_TOKEN")
        .args(["emulator", "serve", "--addr", "127.0.0.1:0"])
        .args(["--storage", "discard"]);
    if !script.is_empty() {
        command.args(["--script", script]);
    }
    let mut child = command
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Served {
        child,
        base,
        runtime,
        client: reqwest::Client::new(),
    }
}

impl Served {
    /// The createUploadSession URL of a drive item at the root.
    pub fn drive_url(&self, name: &str) -> String {
        format!(
            "{}/v1.0/me/drive/root:/{name}:/createUploadSession",
            self.base
        )
    }

    /// A WOPI file URL with a token the emulator takes.
    pub fn wopi_url(&self, id: &str) -> String {
        format!("{}/wopi/files/{id}?access_token=any", self.base)
    }

    fn inspect(&self, what: &str) -> Value {
        let url = format!("{}/_emulator/{what}", self.base);
        self.runtime.block_on(async {
            let answer = self.client.get(url).send().await.unwrap();
            assert!(answer.status().is_success(), "{what}: {}", answer.status());
            answer.json().await.unwrap()
        })
    }

    /// `GET /_emulator/files`: every completed upload, oldest first.
    pub fn files(&self) -> Vec<Value> {
        match self.inspect("files") {
            Value::Array(files) => files,
            other => panic!("files: {other}"),
        }
    }

    /// The SHA-256 of every file stored at `path` (`me/drive/root:/a.bin`, `wopi/files/doc`).
    pub fn stored_sha256(&self, path: &str) -> Vec<String> {
        self.files()
            .into_iter()
            .filter(|file| file["path"] == path)
            .map(|file| file["sha256"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `GET /_emulator/stats`.
    pub fn stats(&self) -> Value {
        self.inspect("stats")
    }

    /// Requests of `kind` the emulator saw.
    pub fn requests(&self, kind: &str) -> u64 {
        self.stats()["requests"][kind].as_u64().unwrap_or(0)
    }

    /// Faults counted under `counter`.
    pub fn faults(&self, counter: &str) -> u64 {
        self.stats()["faults"][counter].as_u64().unwrap_or(0)
    }
}

/// A finished run of the binary and how long it took.
pub struct Run {
    pub output: Output,
    pub elapsed: Duration,
}

/// Runs `command` to its end, killing it and failing the test if it outlives `limit`: a hang is
/// a failure, never a stuck test run.
pub fn run_within(command: &mut Command, limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Reports are a few kilobytes: they fit in the pipes while the child runs.
    if !super::poll_until(limit, || child.try_wait().unwrap().is_some()) {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "still running after {limit:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = child.wait_with_output().unwrap();
    Run {
        output,
        elapsed: started.elapsed(),
    }
}

//! `resumable upload` flags that change what the service is asked to do, run as a user runs
//! them (the real binary) against an emulator in the test, whose stored files are the evidence:
//! `--defer-commit`, `--token` and `--conflict replace`.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultScript, StorageMode};
use serde_json::Value;

mod common;

use common::{data, poll_until, quick_xor, resumable, sha256, summary, text, write};

const KIB320: usize = 327_680;

/// An emulator on a runtime of its own, so the test thread can wait on child processes.
struct Service {
    emulator: EmulatorHandle,
    _runtime: tokio::runtime::Runtime,
}

fn service(config: EmulatorConfig) -> Service {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime
        .block_on(Emulator::start(config.with_storage(StorageMode::Discard)))
        .unwrap();
    Service {
        emulator,
        _runtime: runtime,
    }
}

impl Service {
    fn requests(&self, kind: &str) -> u64 {
        let stats = self.emulator.stats();
        stats.requests.get(kind).copied().unwrap_or(0)
    }

    fn stored_at(&self, name: &str) -> Vec<(u64, String)> {
        let path = format!("me/drive/root:/{name}");
        self.emulator
            .files()
            .into_iter()
            .filter(|file| file.path == path)
            .map(|file| (file.size, file.sha256))
            .collect()
    }
}

#[test]
fn defer_commit_stores_the_file_only_when_it_is_committed() {
    // The last fragment is answered 3 s after it was stored: all bytes are in, and the commit
    // cannot have been sent yet. Without --defer-commit the file would exist by then.
    let script: FaultScript = "fragment#3=slow:3000".parse().unwrap();
    let server = service(EmulatorConfig::default().with_script(script));
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2 * KIB320 + 5, 1);
    let file = write(dir.path(), "late.bin", &bytes);
    let mut child = resumable()
        .env("RESUMABLE_TOKEN", "t")
        .args([
            "upload",
            "--json",
            "--defer-commit",
            "--chunk-size",
            "320KiB",
        ])
        .arg("--endpoint")
        .arg(server.emulator.drive_upload_session_url("late.bin"))
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen_all_bytes_uncommitted = false;
    poll_until(Duration::from_secs(60), || {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        if server.emulator.stats().bytes_received == bytes.len() as u64 {
            // Files first, then the commit count: no commit yet means the listing was taken
            // before any commit, so it must be empty.
            let files = server.stored_at("late.bin");
            if server.requests("commit") == 0 {
                assert!(files.is_empty(), "stored before the commit: {files:?}");
                seen_all_bytes_uncommitted = true;
            }
        }
        false
    });
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        seen_all_bytes_uncommitted,
        "never saw the received-but-uncommitted state"
    );
    assert_eq!(server.requests("commit"), 1);
    assert_eq!(
        server.stored_at("late.bin"),
        [(bytes.len() as u64, sha256(&bytes))]
    );
    let report: Value = summary(&out.stdout);
    assert_eq!(report["status"], "completed", "{report}");
}

const TOKEN: &str = "cmdline-secret-7f3a9c2e51d84b06";

fn upload_with_token(server: &Service, file: &Path, token: &str, json: bool) -> Output {
    let name = if json { "t-json.bin" } else { "t.bin" };
    let mut command = resumable();
    // In a session (a file this small would otherwise go in one PUT).
    command.args([
        "upload",
        "--token",
        token,
        "--retries",
        "0",
        "--upload-cutoff",
        "0",
    ]);
    if json {
        command.arg("--json");
    }
    command
        .arg("--endpoint")
        .arg(server.emulator.drive_upload_session_url(name))
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn a_token_from_the_command_line_is_sent_and_never_printed() {
    let server = service(EmulatorConfig::default().with_bearer_token(TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1000, 2);
    let file = write(dir.path(), "t.bin", &bytes);
    for json in [false, true] {
        let out = upload_with_token(&server, &file, TOKEN, json);
        assert!(out.status.success(), "{}", text(&out.stderr));
        for stream in [&out.stdout, &out.stderr] {
            assert!(!text(stream).contains(TOKEN), "printed: {}", text(stream));
        }
    }
    // The emulator accepts only this token, so the sessions were created with it.
    assert_eq!(server.emulator.stats().sessions_created, 2);
    for name in ["t.bin", "t-json.bin"] {
        assert_eq!(server.stored_at(name), [(1000, sha256(&bytes))]);
    }

    // A token the service refuses: the error names the 401 but not the token.
    let wrong = "cmdline-wrong-0b1c2d3e4f5a6978";
    for json in [false, true] {
        let out = upload_with_token(&server, &file, wrong, json);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(
            stderr.contains("401") || stdout.contains("401"),
            "{stdout}\n{stderr}"
        );
        assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    }
    assert_eq!(server.emulator.stats().sessions_created, 2);
}

#[test]
fn conflict_replace_overwrites_the_file_of_the_same_name() {
    let server = service(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let first = data(KIB320 + 100, 3);
    let second = data(2 * KIB320 + 7, 4);
    let upload = |bytes: &[u8], extra: &[&str]| {
        let file = write(dir.path(), "same.bin", bytes);
        resumable()
            .env("RESUMABLE_TOKEN", "t")
            .args(["upload", "--json", "--chunk-size", "320KiB", "--endpoint"])
            .arg(server.emulator.drive_upload_session_url("same.bin"))
            .args(extra)
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = upload(&first, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created: Value = summary(&out.stdout);
    let out = upload(&second, &["--conflict", "replace"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let replaced: Value = summary(&out.stdout);
    assert_eq!(replaced["status"], "completed", "{replaced}");
    // The same drive item, now holding the new bytes (not a renamed copy).
    assert_eq!(replaced["item"]["id"], created["item"]["id"]);
    assert_eq!(replaced["item"]["name"], "same.bin");
    assert_eq!(replaced["item"]["size"], second.len());
    // The service's QuickXorHash is that of the new bytes, and the command checked it.
    let hash = replaced["item"]["file"]["hashes"]["quickXorHash"]
        .as_str()
        .unwrap();
    assert_eq!(hash, quick_xor(&second));
    assert_eq!(replaced["verified"], "size and quickXorHash checked");
    assert_eq!(replaced["quick_xor_hash"], quick_xor(&second));
    assert_ne!(replaced["item"]["eTag"], created["item"]["eTag"]);
    // The emulator lists every completed upload; the newest at the name holds the new bytes.
    let uploads = server.stored_at("same.bin");
    assert_eq!(
        uploads.last(),
        Some(&(second.len() as u64, sha256(&second)))
    );
}

#[test]
fn adaptive_fragments_grow_on_a_fast_link_and_store_the_same_bytes() {
    let server = service(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(40 * KIB320 + 11, 9);
    let file = write(dir.path(), "grow.bin", &bytes);
    let out = resumable()
        .env("RESUMABLE_TOKEN", "t")
        .args(["upload", "--json", "--adaptive", "--chunk-size", "320KiB"])
        .args(["--upload-cutoff", "0", "--no-resume", "--endpoint"])
        .arg(server.emulator.drive_upload_session_url("grow.bin"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(summary(&out.stdout)["status"], "completed");
    assert_eq!(
        server.stored_at("grow.bin"),
        [(bytes.len() as u64, sha256(&bytes))]
    );
    // From 320 KiB, at most doubling each time: far fewer than the 41 fixed fragments.
    let fragments = server.requests("fragment");
    assert!((5..30).contains(&fragments), "{fragments} fragments");
    // tus sends --chunk-size requests: --adaptive is refused, saying so.
    let out = resumable()
        .args(["upload", "--protocol", "tus", "--adaptive", "--endpoint"])
        .arg(server.emulator.tus_endpoint())
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--adaptive applies to Graph and WOPI uploads"),
        "{}",
        text(&out.stderr)
    );
}

//! Resume without being asked: an upload to a real endpoint killed (SIGKILL) without
//! `--checkpoint`, then the same command again, resumes from the checkpoint kept in the state
//! directory; `resumable resume --list` shows it meanwhile (no secret), and it is gone after
//! the upload completes. `--no-resume` starts afresh.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use resumable_conformance::fault_proxy::FaultProxy;
use resumable_emulator::{Emulator, EmulatorConfig, StorageMode};
use serde_json::Value;

mod common;

use common::{data, resumable, sha256, summary, text, write};

/// The kept checkpoint files in `state`.
fn kept(state: &Path, extension: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(state.join("checkpoints"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == extension))
                .collect()
        })
        .unwrap_or_default()
}

fn confirmed(path: &Path) -> u64 {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| {
            let newline = bytes.iter().position(|&b| b == b'\n')?;
            serde_json::from_slice::<Value>(&bytes[newline + 1..]).ok()
        })
        .and_then(|c| c.get("confirmed").and_then(Value::as_u64))
        .unwrap_or(0)
}

#[test]
fn a_killed_upload_resumes_when_the_same_command_runs_again() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime
        .block_on(Emulator::start(
            EmulatorConfig::default().with_storage(StorageMode::Discard),
        ))
        .unwrap();
    let proxy = FaultProxy::start(emulator.addr()).unwrap();
    proxy.throttle(3 << 20);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(8 << 20, 4);
    let file = write(dir.path(), "movie.bin", &bytes);
    let endpoint = format!("http://{}/tus/files/?token=SECRET-TOKEN", proxy.addr());
    let command = || {
        let mut command = resumable();
        command
            .args(["upload", file.to_str().unwrap(), "--protocol", "tus"])
            .args(["--endpoint", &endpoint, "--chunk-size", "1MiB", "--json"])
            .env("RESUMABLE_STATE_DIR", &state)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let mut child = command().spawn().unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if kept(&state, "checkpoint")
            .first()
            .is_some_and(|c| confirmed(c) >= 2 << 20)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    let _ = child.wait();
    assert_eq!(kept(&state, "checkpoint").len(), 1, "a checkpoint was kept");

    let list = resumable()
        .args(["resume", "--list"])
        .env("RESUMABLE_STATE_DIR", &state)
        .output()
        .unwrap();
    let listed = text(&list.stdout);
    assert!(listed.contains("movie.bin"), "{listed}");
    assert!(listed.contains("confirmed"), "{listed}");
    assert!(!listed.contains("SECRET-TOKEN"), "{listed}");

    proxy.throttle(0);
    let output = command().output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: Value = summary(&output.stdout);
    assert_eq!(report["status"], "completed");
    let start = report["start"].as_str().unwrap();
    assert!(start.starts_with("resuming from the checkpoint"), "{start}");
    assert_eq!(emulator.files().last().unwrap().sha256, sha256(&bytes));
    assert!(kept(&state, "checkpoint").is_empty(), "removed on success");
    assert!(kept(&state, "json").is_empty(), "its description too");

    let fresh = command().arg("--no-resume").output().unwrap();
    let report: Value = summary(&fresh.stdout);
    assert_eq!(report["start"], "new upload");
    assert!(kept(&state, "checkpoint").is_empty());
}

#[test]
fn resume_clean_drops_what_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(state.join("checkpoints")).unwrap();
    std::fs::write(state.join("checkpoints/a.checkpoint"), b"x").unwrap();
    std::fs::write(state.join("checkpoints/a.json"), b"{}").unwrap();
    let out = resumable()
        .args(["resume", "--clean"])
        .env("RESUMABLE_STATE_DIR", &state)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("removed 1 kept checkpoint"));
    assert!(kept(&state, "checkpoint").is_empty());
    let out = resumable()
        .args(["resume", "--list"])
        .env("RESUMABLE_STATE_DIR", &state)
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("no interrupted uploads"));
}

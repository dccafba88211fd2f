//! `resumable upload`, `resumable demo` and `resumable emulator serve` run as a user runs them:
//! the real binary, real files, real HTTP on loopback. The kill-and-resume tests kill the
//! binary with SIGKILL in the middle of an upload and run it again.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resumable_emulator::EmulatorHandle;
use serde_json::Value;

mod common;

use common::{
    background, data, quick_xor, resumable, run, sha256, summary, text, wait_until, write,
};

const KIB320: u64 = 327_680;

#[test]
fn without_a_destination_it_uploads_to_an_embedded_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_000_000, 1);
    let file = write(dir.path(), "hello.bin", &bytes);
    let out = run(resumable().arg("upload").arg(&file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let expected = quick_xor(&bytes);
    assert!(
        stdout.contains(&format!("local  QuickXorHash {expected}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("stored QuickXorHash {expected} (identical)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("verified against the service: size and quickXorHash checked"),
        "{stdout}"
    );
    assert!(
        stdout.contains("as me/drive/root:/hello.bin (1000000 bytes)"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("uploading to an emulator on http://127.0.0.1:"));
}

#[test]
fn json_prints_events_then_exactly_one_summary() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(700_000, 2);
    let file = write(dir.path(), "doc.pdf", &bytes);
    for protocol in ["graph-drive", "graph-print", "graph-attachment"] {
        let out = run(resumable()
            .args([
                "upload",
                "--json",
                "--upload-cutoff",
                "0",
                "--protocol",
                protocol,
            ])
            .arg(&file));
        assert!(out.status.success(), "{protocol}: {}", text(&out.stderr));
        let report = summary(&out.stdout);
        let events = text(&out.stdout);
        assert!(
            events.contains(r#""event":"session-created""#),
            "the session's creation is an event: {events}"
        );
        assert_eq!(report["status"], "completed", "{report}");
        assert_eq!(report["bytes"], 700_000);
        assert_eq!(report["quick_xor_hash"], quick_xor(&bytes).as_str());
        assert_eq!(report["sessions"], 1);
        for key in ["elapsed_ms", "retries", "resyncs", "item"] {
            assert!(report.get(key).is_some(), "{key} missing: {report}");
        }
        assert_eq!(report["stored"]["sha256"], sha256(&bytes).as_str());
        assert_eq!(
            report["stored"]["quick_xor_hash"],
            quick_xor(&bytes).as_str()
        );
        assert!(
            text(&out.stderr).is_empty(),
            "{protocol}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_chunk_size_the_protocol_refuses_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", b"abc");
    let out = run(resumable()
        .args(["upload", "--chunk-size", "1000000"])
        .arg(&file));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not a multiple of 327680 bytes; try 983040 or 1310720"),
        "{stderr}"
    );
    assert!(stderr.contains("10MiB"), "{stderr}");
}

#[test]
fn usage_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", b"abc");
    let out = run(resumable()
        .args([
            "upload",
            "--endpoint",
            "http://127.0.0.1:9/v1.0/me/drive/root:/a.bin:/createUploadSession",
        ])
        .arg(&file));
    assert!(
        text(&out.stderr).contains("set RESUMABLE_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    let out = run(resumable().args(["upload", "--checkpoint", "c"]).arg(&file));
    assert!(
        text(&out.stderr).contains("--checkpoint needs --endpoint"),
        "{}",
        text(&out.stderr)
    );
    // An empty file goes in one PUT; an upload session cannot take it.
    let empty = write(dir.path(), "empty.bin", b"");
    let out = run(resumable().arg("upload").arg(&empty));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(identical)"),
        "{}",
        text(&out.stdout)
    );
    let out = run(resumable()
        .args(["upload", "--upload-cutoff", "0"])
        .arg(&empty));
    assert!(
        text(&out.stderr).contains("the file is empty"),
        "{}",
        text(&out.stderr)
    );
    let out = run(resumable()
        .arg("upload")
        .arg(dir.path().join("missing.bin")));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("missing.bin"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_server_that_stays_down_fails_with_one_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", &data(1000, 3));
    let endpoint =
        format!("http://127.0.0.1:{port}/v1.0/me/drive/root:/a.bin:/createUploadSession");
    // A file this small goes in one PUT, which has nothing to resume.
    let out = run(resumable()
        .env("RESUMABLE_TOKEN", "t")
        .args([
            "upload",
            "--no-resume",
            "--retries",
            "2",
            "--endpoint",
            &endpoint,
        ])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("could not connect") && stderr.contains("sent again in one request"),
        "{stderr}"
    );
    let started = Instant::now();
    let out = run(resumable()
        .env("RESUMABLE_TOKEN", "t")
        .args([
            "upload",
            "--no-resume",
            "--retries",
            "2",
            "--upload-cutoff",
            "0",
        ])
        .args(["--endpoint", &endpoint])
        .arg(&file));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("resumable: "), "{stderr}");
    assert!(last.contains("could not connect"), "{stderr}");
    assert!(last.contains("check the connection"), "{stderr}");
    assert!(
        last.contains("kept no checkpoint, so the next one starts over"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("createUploadSession"),
        "no URL in messages: {stderr}"
    );
}

/// Every fragment answers `ms` late, so an upload lasts long enough to be killed mid-way.
fn slow_fragments(count: u64, ms: u64) -> String {
    (1..=count)
        .map(|n| format!("fragment#{n}=slow:{ms}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn upload_with_checkpoint(emulator: &EmulatorHandle, file: &Path, checkpoint: &Path) -> Command {
    let mut command = resumable();
    command
        .env("RESUMABLE_TOKEN", "test-token")
        .args(["upload", "--chunk-size", "320KiB", "--endpoint"])
        .arg(emulator.drive_upload_session_url("big.bin"))
        .arg("--checkpoint")
        .arg(checkpoint)
        .arg(file);
    command
}

/// Runs the upload of `file` with a checkpoint, and kills it with SIGKILL once the emulator has
/// received `fragments` fragments.
fn kill_mid_upload(emulator: &EmulatorHandle, file: &Path, checkpoint: &Path, fragments: u64) {
    let mut child = upload_with_checkpoint(emulator, file, checkpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the upload gets going", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        emulator
            .stats()
            .requests
            .get("fragment")
            .copied()
            .unwrap_or(0)
            >= fragments
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn killed_mid_upload_it_resumes_from_the_checkpoint() {
    let server = background(&slow_fragments(40, 40), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(24 * KIB320 as usize + 4321, 4);
    let file = write(dir.path(), "big.bin", &bytes);
    let checkpoint = dir.path().join("big.checkpoint");
    kill_mid_upload(&server.emulator, &file, &checkpoint, 8);
    assert!(
        checkpoint.exists(),
        "a checkpoint was saved before the kill"
    );
    assert!(server.emulator.files().is_empty());

    let out = run(&mut upload_with_checkpoint(
        &server.emulator,
        &file,
        &checkpoint,
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("resuming from the checkpoint"),
        "{}",
        text(&out.stderr)
    );
    let stored = server.emulator.files().pop().unwrap();
    assert_eq!(stored.sha256, sha256(&bytes));
    let stats = server.emulator.stats();
    assert!(
        stats.bytes_received_twice <= KIB320,
        "{} bytes received twice",
        stats.bytes_received_twice
    );
    assert_eq!(stats.sessions_created, 1, "the same session went on");
    assert!(!checkpoint.exists(), "removed after completion");
}

#[test]
fn a_file_changed_between_runs_starts_over() {
    let server = background(&slow_fragments(30, 40), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = data(24 * KIB320 as usize, 5);
    let file = write(dir.path(), "big.bin", &bytes);
    let checkpoint = dir.path().join("big.checkpoint");
    // A drive upload saves its checkpoint every 4 MiB confirmed (13 fragments of 320 KiB):
    // killed at the 17th, the checkpoint has the CRCs of the first 13.
    kill_mid_upload(&server.emulator, &file, &checkpoint, 17);
    bytes[10] ^= 1;
    std::fs::write(&file, &bytes).unwrap();

    let out = run(upload_with_checkpoint(&server.emulator, &file, &checkpoint).arg("--json"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = summary(&out.stdout);
    assert_eq!(
        report["start"],
        "starting over: the source changed in bytes 0-327679"
    );
    assert_eq!(report["quick_xor_hash"], quick_xor(&bytes).as_str());
    assert_eq!(
        server.emulator.files().pop().unwrap().sha256,
        sha256(&bytes)
    );
    assert_eq!(server.emulator.stats().sessions_created, 2);
}

#[test]
fn it_continues_a_session_created_elsewhere() {
    let server = background("", |_| {});
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * KIB320 as usize + 9, 6);
    let file = write(dir.path(), "e.bin", &bytes);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let upload_url = runtime.block_on(async {
        let answer: Value = reqwest::Client::new()
            .post(server.emulator.drive_upload_session_url("e.bin"))
            .bearer_auth("elsewhere")
            .json(&serde_json::json!({ "item": { "fileSize": bytes.len() } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["uploadUrl"].as_str().unwrap().to_owned()
    });
    let out = run(resumable()
        .args([
            "upload",
            "--json",
            "--chunk-size",
            "320KiB",
            "--upload-url",
            &upload_url,
        ])
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("tempauth"),
        "the upload URL is never printed: {stdout}"
    );
    assert_eq!(
        server.emulator.files().pop().unwrap().sha256,
        sha256(&bytes)
    );
}

#[test]
fn emulator_serve_prints_its_url_and_takes_uploads() {
    let mut server = resumable()
        .args([
            "emulator",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--faults",
            "flaky",
            "--seed",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(5 * KIB320 as usize, 7);
    let file = write(dir.path(), "s.bin", &bytes);
    let out = run(resumable()
        .env("RESUMABLE_TOKEN", "any")
        .args(["upload", "--json", "--chunk-size", "320KiB", "--endpoint"])
        .arg(format!(
            "{base}/v1.0/me/drive/root:/s.bin:/createUploadSession"
        ))
        .arg(&file));
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = summary(&out.stdout);
    let hash = report["item"]["file"]["hashes"]["quickXorHash"]
        .as_str()
        .unwrap();
    assert_eq!(hash, quick_xor(&bytes));
    assert_eq!(report["verified"], "size and quickXorHash checked");
    assert_eq!(report["quick_xor_hash"], quick_xor(&bytes));
    // No SHA-256 of its own: the reads compute only the cheap hashes the service reports.
    assert!(report["sha256"].is_null(), "{report}");
}

#[test]
fn the_demo_uploads_every_variant_and_checks_the_hashes() {
    let out = run(resumable().args(["demo", "--size", "3MiB", "--seed", "2"]));
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    for variant in [
        "graph-drive",
        "graph-print",
        "graph-attachment",
        "wopi",
        "tus",
    ] {
        assert!(stdout.contains(variant), "{stdout}");
    }
    assert_eq!(stdout.matches("  identical\n").count(), 5, "{stdout}");
    assert!(
        stdout.contains("sessions lost and recreated: graph-drive"),
        "{stdout}"
    );
    assert!(stdout.contains("faults met: "), "{stdout}");
    assert!(
        stdout.contains("every stored copy is byte-identical"),
        "{stdout}"
    );
}

#[test]
fn json_reports_a_failure_to_start_as_one_object_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", b"abc");
    let out = run(resumable()
        .args(["upload", "--json", "--chunk-size", "1000000"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = summary(&out.stdout);
    assert_eq!(report["status"], "failed");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("--chunk-size 1000000"),
        "{report}"
    );
    assert!(text(&out.stderr).starts_with("resumable: invalid --chunk-size"));
}

#[test]
fn a_taken_name_fails_with_what_to_do_and_rename_keeps_both() {
    // A personal drive: items report SHA-1 too, which a file that already holds the name must
    // match to be taken for this one.
    let server = background("", |config| {
        config.graph.drive_hashes = resumable_emulator::DriveHashes::Personal;
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "same.bin", &data(KIB320 as usize + 5, 8));
    let upload = |extra: &[&str]| {
        run(resumable()
            .env("RESUMABLE_TOKEN", "t")
            .args(["upload", "--json", "--upload-cutoff", "0", "--endpoint"])
            .arg(server.emulator.drive_upload_session_url("same.bin"))
            .args(extra)
            .arg(&file))
    };
    assert!(upload(&[]).status.success());
    // The same file again: the name is taken by this very file (its size and hashes, SHA-1
    // among them), which is what was asked for.
    let out = upload(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(summary(&out.stdout)["status"], "completed");
    assert_eq!(server.emulator.files().len(), 1);
    // Other bytes under the same name: a name conflict.
    write(dir.path(), "same.bin", &data(KIB320 as usize + 5, 9));
    let out = upload(&[]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = summary(&out.stdout);
    assert_eq!(report["status"], "name-conflict", "{report}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("--conflict rename"),
        "{stderr}"
    );
    assert_eq!(server.emulator.stats().requests.get("cancel"), Some(&1));
    let out = upload(&["--conflict", "rename"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.emulator.files().len(), 2);
}

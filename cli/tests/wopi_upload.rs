//! `resumable upload --protocol wopi` run as a user runs it: the real binary, real files, real
//! HTTP to the emulator's WOPI host. The kill-and-resume test kills the binary with SIGKILL in
//! the middle of an upload and runs it again with the same checkpoint.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use resumable_emulator::{EmulatorConfig, EmulatorHandle};
use serde_json::Value;

mod common;

use common::{Background, data, resumable, run, sha256, summary, text, wait_until, write};

const TOKEN: &str = "cli-wopi-token";

/// An emulator whose WOPI host takes only [`TOKEN`], with `script`'s faults.
fn background(script: &str, configure: impl FnOnce(&mut EmulatorConfig)) -> Background {
    common::background(script, |config| {
        *config = config.clone().with_wopi_access_token(TOKEN);
        configure(config);
    })
}

fn file_url(emulator: &EmulatorHandle, id: &str) -> String {
    format!("{}?access_token={TOKEN}", emulator.wopi_file_url(id))
}

/// `resumable upload FILE --protocol wopi --endpoint URL --json`, and the report.
fn upload_json(
    emulator: &EmulatorHandle,
    id: &str,
    file: &Path,
    extra: &[&str],
) -> (Output, Value) {
    let out = run(resumable()
        .args(["upload", "--protocol", "wopi", "--json", "--endpoint"])
        .arg(file_url(emulator, id))
        .args(extra)
        .arg(file));
    assert!(!out.stdout.is_empty(), "{}", text(&out.stderr));
    let report = summary(&out.stdout);
    (out, report)
}

fn stored_sha256(emulator: &EmulatorHandle, id: &str) -> Option<String> {
    let path = format!("wopi/files/{id}");
    emulator
        .files()
        .into_iter()
        .filter(|f| f.path == path)
        .map(|f| f.sha256)
        .next_back()
}

#[test]
fn without_a_destination_it_uploads_to_an_embedded_wopi_host() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2_500_000, 1);
    let file = write(dir.path(), "report.docx", &bytes);
    let out = run(resumable()
        .args(["upload", "--protocol", "wopi"])
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let expected = sha256(&bytes);
    assert!(
        stdout.contains(&format!("stored SHA-256 {expected} (identical)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("as wopi/files/report.docx (2500000 bytes)"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("WOPI host on http://127.0.0.1:"));
}

#[test]
fn a_412_names_the_hosts_number_and_the_flag_to_pass() {
    let server = background("", |_| {});
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "v1.bin", &data(300_000, 2));
    let (out, report) = upload_json(&server.emulator, "doc", &first, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(report["sequence_number"], 2);
    let second_bytes = data(400_000, 3);
    let second = write(dir.path(), "v2.bin", &second_bytes);
    let (out, report) = upload_json(&server.emulator, "doc", &second, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["status"], "failed");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("at sequence number 2 on the host, not 1"),
        "{error}"
    );
    assert!(
        error.contains("run again with --sequence-number 2"),
        "{error}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .contains("--sequence-number 2"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN) && !text(&out.stdout).contains(TOKEN));
    let (out, report) = upload_json(
        &server.emulator,
        "doc",
        &second,
        &["--sequence-number", "2"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(report["sequence_number"], 3);
    assert_eq!(
        stored_sha256(&server.emulator, "doc"),
        Some(sha256(&second_bytes))
    );
}

#[test]
fn a_409_says_to_pass_the_lock_and_the_right_lock_commits() {
    let server = background("", |_| {});
    let url = file_url(&server.emulator, "locked");
    let status = server.runtime.block_on(async {
        reqwest::Client::new()
            .post(url)
            .header("X-WOPI-Override", "LOCK")
            .header("X-WOPI-Lock", "L-held")
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(200_000, 4);
    let file = write(dir.path(), "a.bin", &bytes);
    let (out, report) = upload_json(&server.emulator, "locked", &file, &["--lock", "L-mine"]);
    assert_eq!(out.status.code(), Some(1));
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("(409)"), "{error}");
    assert!(error.contains("--lock LOCK"), "{error}");
    assert!(
        !error.contains("L-held"),
        "the host's lock is not printed: {error}"
    );
    let (out, _) = upload_json(&server.emulator, "locked", &file, &["--lock", "L-held"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        stored_sha256(&server.emulator, "locked"),
        Some(sha256(&bytes))
    );
}

#[test]
fn a_host_without_upload_sessions_gets_one_put_chunked_file() {
    let server = background("", |config| config.wopi.upload_sessions = false);
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(700_000, 5);
    let file = write(dir.path(), "a.bin", &bytes);
    let (out, report) = upload_json(&server.emulator, "old", &file, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(report["inline"], true);
    assert_eq!(stored_sha256(&server.emulator, "old"), Some(sha256(&bytes)));
    assert_eq!(server.emulator.stats().requests.get("wopi-update"), None);
}

#[test]
fn flags_that_do_not_go_together_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", b"abc");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--protocol", "wopi", "--lock", "a", "--coauth-lock-id", "b"],
            "give either --lock or --coauth-lock-id, not both",
        ),
        (
            &["--sequence-number", "3"],
            "--sequence-number applies to --protocol wopi only, not to graph-drive",
        ),
        (
            &["--protocol", "graph-print", "--lock", "a"],
            "--lock applies to --protocol wopi only, not to graph-print",
        ),
        (
            &["--protocol", "wopi", "--defer-commit"],
            "--defer-commit applies to Graph uploads only, not to --protocol wopi",
        ),
        (
            &["--protocol", "wopi", "--endpoint", "https://h/wopi/files/1"],
            "the file URL with its token",
        ),
        (
            &["--protocol", "wopi", "--stream", "Thumbnail"],
            "can only be uploaded as MainContent",
        ),
    ];
    for (flags, message) in cases {
        let out = run(resumable().arg("upload").args(flags).arg(&file));
        assert_eq!(out.status.code(), Some(1), "{flags:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
}

/// Every update answers late, so the upload lasts long enough to be killed mid-way.
fn slow_updates(count: u64, ms: u64) -> String {
    (1..=count)
        .map(|n| format!("wopi-update#{n}=slow:{ms}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn upload_with_checkpoint(emulator: &EmulatorHandle, file: &Path, checkpoint: &Path) -> Command {
    let mut command = resumable();
    command
        .args([
            "upload",
            "--protocol",
            "wopi",
            "--chunk-size",
            "256KiB",
            "--endpoint",
        ])
        .arg(file_url(emulator, "big"))
        .arg("--checkpoint")
        .arg(checkpoint)
        .arg(file);
    command
}

#[test]
fn killed_mid_upload_it_resumes_from_the_checkpoint_without_resending() {
    let server = background(&slow_updates(60, 40), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(24 * 262_144 + 777, 6);
    let file = write(dir.path(), "big.bin", &bytes);
    let checkpoint = dir.path().join("big.checkpoint");
    let mut child = upload_with_checkpoint(&server.emulator, &file, &checkpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let updates = |emulator: &EmulatorHandle| {
        emulator
            .stats()
            .requests
            .get("wopi-update")
            .copied()
            .unwrap_or(0)
    };
    wait_until("the upload gets going", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        updates(&server.emulator) >= 8
    });
    child.kill().unwrap(); // SIGKILL: no handler runs, no flush, nothing tidied.
    child.wait().unwrap();
    assert!(
        checkpoint.exists(),
        "a checkpoint was saved before the kill"
    );
    assert!(server.emulator.files().is_empty());
    let before = server.emulator.stats();

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
    assert_eq!(stored_sha256(&server.emulator, "big"), Some(sha256(&bytes)));
    let stats = server.emulator.stats();
    assert_eq!(stats.sessions_created, 1, "the same session went on");
    assert_eq!(stats.wopi_updates_out_of_order, 0, "{stats:?}");
    // The resumed run's first update is a 1-byte probe at the checkpoint's offset. If the kill
    // fell after the host answered an update but before the checkpoint recording it was saved,
    // that one byte is below what the host had confirmed; nothing more ever is.
    assert!(stats.wopi_confirmed_bytes_resent <= 1, "{stats:?}");
    assert!(stats.bytes_received_twice <= 1, "{stats:?}");
    // The second run sent the rest of the stream, not the part the first run had delivered.
    let stream_len = bytes.len() as u64 + 32;
    let resent = stats.bytes_received - before.bytes_received;
    assert!(resent < stream_len, "{resent} bytes sent after the resume");
    assert!(!checkpoint.exists(), "removed after completion");
}

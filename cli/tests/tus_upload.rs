//! `resumable upload --protocol tus|ietf` run as a user runs it (the real binary): to the
//! embedded emulator, from standard input with a length given only at the end, through a
//! served emulator that loses answers, and the flags it refuses.

use std::io::Write;
use std::process::Stdio;

use resumable_emulator::{Emulator, EmulatorConfig, Fault, FaultScript, RequestKind, StorageMode};
use serde_json::Value;

mod common;

use common::{data, resumable, run, sha256, summary, text, write};

fn json(stdout: &[u8]) -> Value {
    summary(stdout)
}

#[test]
fn a_file_goes_to_the_embedded_tus_and_ietf_endpoints_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3_000_017, 5);
    let file = write(dir.path(), "a.bin", &bytes);
    for args in [
        &["--protocol", "tus"][..],
        &["--protocol", "ietf"],
        &["--protocol", "ietf", "--interop-version", "8"],
        &["--protocol", "tus", "--checksum", "sha1"],
    ] {
        let output = run(resumable()
            .args([
                "upload",
                file.to_str().unwrap(),
                "--chunk-size",
                "1MiB",
                "--json",
            ])
            .args(args));
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        let report = json(&output.stdout);
        assert_eq!(report["status"], "completed", "{args:?}");
        assert_eq!(report["stored"]["sha256"], sha256(&bytes), "{args:?}");
        assert_eq!(report["confirmed"], 3_000_017);
    }
}

#[test]
fn standard_input_is_sent_as_it_arrives_and_its_length_given_at_the_end() {
    let bytes = data(2_500_001, 9);
    for protocol in ["tus", "ietf"] {
        let mut child = resumable()
            .args([
                "upload",
                "-",
                "--protocol",
                protocol,
                "--chunk-size",
                "256KiB",
                "--json",
            ])
            .args(["--name", "dump.sql"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feed = bytes.clone();
        let writer = std::thread::spawn(move || {
            // In pieces, with pauses: the upload starts before the input ends.
            for piece in feed.chunks(700_000) {
                stdin.write_all(piece).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(150));
            }
        });
        writer.join().unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{protocol}: {}",
            text(&output.stderr)
        );
        let report = json(&output.stdout);
        assert_eq!(report["status"], "completed");
        assert_eq!(report["bytes"], 2_500_001);
        assert_eq!(report["stored"]["sha256"], sha256(&bytes), "{protocol}");
    }
}

#[test]
fn a_served_emulator_that_loses_answers_still_gets_every_byte() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let script = FaultScript::default()
        .on(RequestKind::TusAppend, 2, Fault::LoseAnswer)
        .on(RequestKind::TusAppend, 4, Fault::Status(503));
    let emulator = runtime
        .block_on(Emulator::start(
            EmulatorConfig::default()
                .with_storage(StorageMode::Discard)
                .with_script(script),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(5_000_000, 3);
    let file = write(dir.path(), "b.bin", &bytes);
    let checkpoint = dir.path().join("b.checkpoint");
    let output = run(resumable()
        .args(["upload", file.to_str().unwrap(), "--protocol", "tus"])
        .args(["--endpoint", &emulator.tus_endpoint()])
        .args(["--checkpoint", checkpoint.to_str().unwrap()])
        .args([
            "--chunk-size",
            "1MiB",
            "--json",
            "--metadata",
            "kind=séance",
        ]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = json(&output.stdout);
    assert_eq!(report["status"], "completed");
    assert!(report["retries"].as_u64().unwrap() >= 2, "{report}");
    assert!(report["resyncs"].as_u64().unwrap() >= 1, "{report}");
    let stored = emulator.files();
    assert_eq!(stored.last().unwrap().sha256, sha256(&bytes));
    assert!(!checkpoint.exists(), "removed on success");
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains(&emulator.tus_endpoint()),
        "no URL printed whole: {stderr}"
    );
}

#[test]
fn flags_that_do_not_fit_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "c.bin", b"hello");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--protocol", "ietf", "--checksum", "sha1"],
            "--checksum applies to --protocol tus only",
        ),
        (
            &["--protocol", "tus", "--interop-version", "6"],
            "--interop-version applies to --protocol ietf only",
        ),
        (
            &["--protocol", "ietf", "--interop-version", "7"],
            "this client speaks 6",
        ),
        (
            &["--protocol", "graph-drive", "--metadata", "a=b"],
            "--metadata applies to --protocol tus or ietf only",
        ),
        (
            &["--protocol", "tus", "--metadata", "bad key=x"],
            "keys are non-empty ASCII without spaces or commas",
        ),
        (
            &["--protocol", "tus", "--lock", "L"],
            "--lock does not apply to --protocol tus",
        ),
    ];
    for (args, expected) in cases {
        let output = run(resumable()
            .args(["upload", file.to_str().unwrap()])
            .args(args));
        assert!(!output.status.success(), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let output = run(resumable().args(["upload", "-", "--protocol", "graph-drive"]));
    assert!(text(&output.stderr).contains("needs --protocol tus or ietf"));
}

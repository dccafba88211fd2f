//! `resumable upload` ends promptly where it cannot or must not go on: URLs it cannot use exit 2
//! before any request, a FIFO is refused before a read could block, and SIGTERM stops an upload
//! like Ctrl-C, keeping the checkpoint that the same command resumes from. The destination is a
//! `resumable emulator serve`, whose counters show what reached it.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::served::{run_within, serve};
use common::{data, poll_until, quick_xor, resumable, sha256, summary, text, wait_until, write};

const KIB320: usize = 327_680;

/// Refusals are immediate; this bound only catches a hang on a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(10);

/// The report of a `--json` run: the summary line after the events.
fn report(output: &Output) -> Value {
    summary(&output.stdout)
}

#[test]
fn unusable_urls_exit_2_without_a_request() {
    let served = serve("", &[]);
    let port = served.base.rsplit(':').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", &data(1000, 1));
    let path = "v1.0/me/drive/root:/a.bin:/createUploadSession";
    let cases: Vec<(&[&str], String, &str)> = vec![
        (
            &["--endpoint"],
            format!("ftp://127.0.0.1:{port}/{path}"),
            "--endpoint must be an http:// or https:// URL, not ftp:",
        ),
        (
            &["--endpoint"],
            format!("http://someone:pw-7f3a9c@127.0.0.1:{port}/{path}"),
            "--endpoint carries a user name or password",
        ),
        (
            &["--endpoint"],
            "not a url".to_owned(),
            "--endpoint is not a URL",
        ),
        (
            &["--endpoint"],
            format!("127.0.0.1:{port}/{path}"),
            "--endpoint is not a URL",
        ),
        (
            &["--upload-url"],
            format!("ftp://127.0.0.1:{port}/upload?tempauth=t"),
            "--upload-url must be an http:// or https:// URL",
        ),
        (
            &["--protocol", "wopi", "--endpoint"],
            format!("ftp://127.0.0.1:{port}/wopi/files/a?access_token=t"),
            "--endpoint must be an http:// or https:// URL",
        ),
    ];
    for (flags, url, says) in cases {
        let run = run_within(
            resumable()
                .env("RESUMABLE_TOKEN", "any")
                .args(["upload", "--json"])
                .args(flags)
                .arg(&url)
                .arg(&file),
            PROMPTLY,
        );
        assert_eq!(run.output.status.code(), Some(2), "{url}");
        let report = report(&run.output);
        assert_eq!(report["status"], "failed", "{report}");
        let stderr = text(&run.output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("resumable: {says}")),
            "{stderr}"
        );
        let everything = format!("{}{stderr}", text(&run.output.stdout));
        assert!(
            !everything.contains("pw-7f3a9c"),
            "the password: {everything}"
        );
    }
    assert_eq!(served.stats()["requests_total"], 0, "{}", served.stats());
}

#[test]
fn a_fifo_is_refused_before_it_is_read() {
    let served = serve("", &[]);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.bin");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let destinations = [
        vec!["--endpoint".to_owned(), served.drive_url("pipe.bin")],
        vec![
            "--protocol".to_owned(),
            "wopi".to_owned(),
            "--endpoint".to_owned(),
            served.wopi_url("pipe"),
        ],
    ];
    for destination in destinations {
        // Nobody writes into the FIFO: a command that opened it for reading would wait forever.
        let run = run_within(
            resumable()
                .env("RESUMABLE_TOKEN", "any")
                .args(["upload", "--json"])
                .args(&destination)
                .arg(&fifo),
            PROMPTLY,
        );
        assert_eq!(run.output.status.code(), Some(1), "{destination:?}");
        let report = report(&run.output);
        assert_eq!(report["status"], "failed", "{report}");
        let error = report["error"].as_str().unwrap();
        assert!(error.contains("is not a regular file"), "{error}");
        assert!(
            text(&run.output.stderr).contains("not a regular file"),
            "{}",
            text(&run.output.stderr)
        );
    }
    assert_eq!(served.stats()["requests_total"], 0, "{}", served.stats());
}

#[test]
fn sigterm_stops_with_the_checkpoint_kept_and_the_same_command_resumes() {
    // Every fragment is answered 250 ms late, so the upload is mid-way when the signal comes.
    let served = serve("fragment#*=slow:250", &[]);
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(7 * KIB320 + 999, 2);
    let file = write(dir.path(), "term.bin", &bytes);
    let checkpoint = dir.path().join("term.checkpoint");
    let command = || {
        let mut command = resumable();
        command
            .env("RESUMABLE_TOKEN", "any")
            .args([
                "upload",
                "--json",
                "--chunk-size",
                "320KiB",
                "--upload-cutoff",
                "0",
            ])
            .arg("--endpoint")
            .arg(served.drive_url("term.bin"))
            .arg("--checkpoint")
            .arg(&checkpoint)
            .arg(&file);
        command
    };
    let mut child = command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the upload gets going", || {
        assert!(child.try_wait().unwrap().is_none(), "ended before SIGTERM");
        served.requests("fragment") >= 2
    });
    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The fragment in flight is finished (250 ms late), nothing more is sent.
    let limit = PROMPTLY.saturating_sub(signalled.elapsed());
    if !poll_until(limit, || child.try_wait().unwrap().is_some()) {
        let _ = child.kill();
        panic!("still running {PROMPTLY:?} after SIGTERM");
    }
    let stopped = report(&child.wait_with_output().unwrap());
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    let error = stopped["error"].as_str().unwrap();
    assert!(
        error.contains("run the same command again to resume"),
        "{error}"
    );
    assert!(stopped["confirmed"].as_u64().unwrap() < bytes.len() as u64);
    assert!(checkpoint.exists(), "the checkpoint was kept");
    assert!(served.files().is_empty());
    assert_eq!(served.requests("cancel"), 0, "the session was kept");

    let resumed = run_within(&mut command(), Duration::from_secs(60));
    let report = report(&resumed.output);
    assert!(resumed.output.status.success(), "{report}");
    assert_eq!(report["status"], "completed", "{report}");
    let start = report["start"].as_str().unwrap();
    assert!(start.starts_with("resuming from the checkpoint"), "{start}");
    assert_eq!(report["quick_xor_hash"], quick_xor(&bytes));
    assert_eq!(report["verified"], "size and quickXorHash checked");
    assert_eq!(
        served.stored_sha256("me/drive/root:/term.bin"),
        [sha256(&bytes)]
    );
    assert_eq!(served.stats()["sessions_created"], 1, "the same session");
    assert!(!checkpoint.exists(), "removed after completion");
}

//! What `resumable upload` says while it works: `RUST_LOG` / `-v` traces that name requests
//! and never a secret, `-q` that says nothing on success, and `--bwlimit` that holds the rate
//! (for several files together).

mod common;

use std::time::{Duration, Instant};

use common::{background, data, resumable, run, sha256, summary, text, write};

const TOKEN: &str = "tok-0bservability-SECRET";

#[test]
fn a_full_trace_names_requests_and_never_a_secret() {
    let server = background("fragment#2=lose-answer", |config| {
        *config = config.clone().with_bearer_token(TOKEN);
    });
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_000_005, 3);
    let file = write(dir.path(), "private-name.bin", &bytes);
    let out = run(resumable()
        .env("RUST_LOG", "trace")
        .env("RESUMABLE_TOKEN", TOKEN)
        .args(["upload", "--upload-cutoff", "0", "--chunk-size", "320KiB"])
        .arg("--endpoint")
        .arg(emulator.drive_upload_session_url("folder/private-name.bin"))
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trace = text(&out.stderr);
    // Readable: one upload span, a span per request with its range and status, the retry.
    for expected in [
        "upload{protocol=\"graph\"",
        "content_range=\"bytes 0-327679/1000005\"",
        "status=200",
        "status=202",
        "retry",
    ] {
        assert!(
            trace.contains(expected),
            "{expected} not in the trace:\n{trace}"
        );
    }
    // Never a secret: not the token, not the session's URL (its path and query are the
    // credential), not the destination's path (the progress lines name the local file only).
    let stored: Vec<String> = emulator.files().into_iter().map(|f| f.sha256).collect();
    assert_eq!(stored, [sha256(&bytes)]);
    for secret in [TOKEN, "/_up/", "tempauth", "folder/", "createUploadSession"] {
        assert!(!trace.contains(secret), "{secret} in the trace:\n{trace}");
    }
    assert!(!trace.contains('\u{1b}'), "no colour codes in a file");
}

#[test]
fn verbose_says_what_happens_and_quiet_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.bin", &data(700_000, 1));
    let verbose = run(resumable()
        .args(["upload", "-v", "--upload-cutoff", "0"])
        .arg(&file));
    assert!(verbose.status.success(), "{}", text(&verbose.stderr));
    let said = text(&verbose.stderr);
    assert!(said.contains("INFO"), "{said}");
    assert!(!said.contains("DEBUG"), "-v is not every request: {said}");
    let quiet = run(resumable().args(["upload", "-q"]).arg(&file));
    assert!(quiet.status.success());
    assert_eq!(text(&quiet.stdout), "");
    assert_eq!(text(&quiet.stderr), "");
    let json = run(resumable().args(["upload", "-q", "--json"]).arg(&file));
    assert_eq!(text(&json.stdout).lines().count(), 1, "only the summary");
    assert_eq!(summary(&json.stdout)["status"], "completed");
}

#[test]
fn bwlimit_holds_the_rate_for_one_file_and_for_several_together() {
    let server = background("", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    // 3 MiB at 1 MiB/s: at least 3 s, less the limiter's burst (a fraction of a second).
    let one = write(dir.path(), "one.bin", &data(3 << 20, 1));
    let started = Instant::now();
    let out = run(resumable()
        .env("RESUMABLE_TOKEN", TOKEN)
        .args(["upload", "--bwlimit", "1M", "--json", "--endpoint"])
        .arg(emulator.drive_upload_session_url("one.bin"))
        .arg(&one));
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(took >= Duration::from_millis(2_800), "{took:?}");
    // Two files of 1.5 MiB at once share the 1 MiB/s: 3 s again, not 1.5.
    let both = dir.path().join("both");
    std::fs::create_dir(&both).unwrap();
    let a = write(&both, "a.bin", &data(3 << 19, 2));
    let b = write(&both, "b.bin", &data(3 << 19, 3));
    let started = Instant::now();
    let out = run(resumable()
        .env("RESUMABLE_TOKEN", TOKEN)
        .args([
            "upload",
            "--bwlimit",
            "1MiB/s",
            "--transfers",
            "2",
            "--json",
            "--endpoint",
        ])
        .arg(format!("{}/me/drive/root:/Both", emulator.graph_url()))
        .arg(&both));
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(took >= Duration::from_millis(2_800), "{took:?}");
    let stored: Vec<(String, String)> = emulator
        .files()
        .into_iter()
        .map(|f| (f.path, f.sha256))
        .collect();
    for (path, bytes) in [("Both/both/a.bin", &a), ("Both/both/b.bin", &b)] {
        let expected = sha256(&std::fs::read(bytes).unwrap());
        assert!(
            stored
                .iter()
                .any(|(p, s)| p.ends_with(path) && *s == expected),
            "{path} in {stored:?}"
        );
    }
    let refused = run(resumable().args(["upload", "--bwlimit", "0"]).arg(&one));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("above 0"),
        "{}",
        text(&refused.stderr)
    );
}

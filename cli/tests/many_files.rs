//! `resumable upload DIR FILE…`: several files, `--transfers` at a time, into one drive folder
//! (or one tus upload each), a line and a row per file, a non-zero exit if any failed, and the
//! same command run again skipping what an earlier run uploaded.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{background, data, resumable, run, sha256, summary, text, write};
use serde_json::Value;

const TOKEN: &str = "many-files-token";

/// The files of the test directory, by their path below it, and their bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let files: BTreeMap<String, Vec<u8>> = [
        ("photos/a.bin", data(1, 1)),
        ("photos/b.bin", data(327_681, 2)),
        ("photos/c.bin", data(5 * 1024 * 1024 + 3, 3)),
        ("photos/sub/d.bin", data(12 * 1024 * 1024, 4)),
        ("photos/sub/e e#1.bin", data(700_000, 5)),
        ("photos/taken.bin", data(400_000, 6)),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_owned(), bytes))
    .collect();
    for (name, bytes) in &files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    files
}

/// The emulator's stored files: path → SHA-256.
fn stored(emulator: &resumable_emulator::EmulatorHandle) -> BTreeMap<String, String> {
    emulator
        .files()
        .into_iter()
        .map(|file| (file.path, file.sha256))
        .collect()
}

/// The JSON lines of a run.
fn lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_directory_goes_four_at_a_time_and_a_refused_file_fails_alone() {
    let server = background("", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let files = tree(dir.path());
    // The folder already holds another `taken.bin`: with `--conflict fail` that one must fail,
    // keep the service's copy, and not stop the others.
    let old = data(1000, 9);
    let old_file = write(dir.path(), "old.bin", &old);
    let first = run(resumable()
        .env("RESUMABLE_TOKEN", TOKEN)
        .args(["upload", "--no-resume", "--endpoint"])
        .arg(emulator.drive_upload_session_url("Backups/photos/taken.bin"))
        .arg(&old_file));
    assert!(first.status.success(), "{}", text(&first.stderr));

    let folder = format!("{}/me/drive/root:/Backups", emulator.graph_url());
    let batch = || {
        let mut command = resumable();
        command
            .current_dir(dir.path())
            .env("RESUMABLE_TOKEN", TOKEN)
            .args(["upload", "photos", "--endpoint", &folder])
            .args(["--transfers", "4", "--chunk-size", "320KiB", "--json"]);
        command
    };
    let out = run(batch().args(["--conflict", "fail"]));
    assert!(!out.status.success(), "one file failed: the exit says so");
    assert!(
        text(&out.stderr).contains("1 of 6 files not uploaded"),
        "{}",
        text(&out.stderr)
    );
    let report = summary(&out.stdout);
    assert_eq!(report["files"], 6, "{report}");
    assert_eq!(report["completed"], 5, "{report}");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["file"], "photos/taken.bin");
    assert_eq!(failed[0]["status"], "name-conflict");
    // Each file's report is a line of its own, naming it.
    let ended: BTreeMap<String, String> = lines(&out.stdout)
        .into_iter()
        .filter(|line| line["event"] == "file")
        .map(|line| {
            (
                line["name"].as_str().unwrap().to_owned(),
                line["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ended.len(), 6, "{ended:?}");

    // Every other file is byte-identical where its path says; the old `taken.bin` is intact.
    let kept = stored(emulator);
    for (name, bytes) in &files {
        let path = format!("me/drive/root:/Backups/{name}");
        let expected = if name.ends_with("taken.bin") {
            sha256(&old)
        } else {
            assert_eq!(ended[name], "completed", "{name}");
            sha256(bytes)
        };
        assert_eq!(kept.get(&path), Some(&expected), "{path} in {kept:?}");
    }
    assert_eq!(kept.len(), files.len(), "nothing else stored: {kept:?}");

    // The same command again skips the five (unchanged since) and fails on the taken name
    // again; with `--conflict replace` only that one goes.
    let again = run(batch().args(["--conflict", "fail"]));
    assert!(!again.status.success());
    let skipped = lines(&again.stdout)
        .into_iter()
        .filter(|line| line["status"] == "skipped")
        .count();
    assert_eq!(skipped, 5, "{}", text(&again.stdout));
    let replaced = run(batch().args(["--conflict", "replace"]));
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));
    assert_eq!(
        stored(emulator).get("me/drive/root:/Backups/photos/taken.bin"),
        Some(&sha256(&files["photos/taken.bin"]))
    );
}

#[test]
fn without_json_each_file_ends_with_a_line_and_the_table_fits_100_columns() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a-rather-long-folder-name-that-goes-on/and-another-one-below-it";
    let files = [
        (format!("docs/{long}/report for the quarter.pdf"), 70_000),
        ("docs/small.txt".to_owned(), 10),
        ("docs/big.bin".to_owned(), 3_000_000),
    ];
    for (name, len) in &files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data(*len, 7)).unwrap();
    }
    let out = run(resumable()
        .current_dir(dir.path())
        .args(["upload", "docs", "--transfers", "2"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for (name, _) in &files {
        assert!(
            stderr.contains(&format!("completed {name} (")),
            "a line per file: {stderr}"
        );
    }
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status"), "{stdout}");
    assert!(stdout.contains("3 of 3 files uploaded"), "{stdout}");
    for line in stdout.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
}

#[test]
fn several_files_go_to_a_tus_server_one_upload_each() {
    let server = background("", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.bin", &data(2_000_000, 1));
    let b = write(dir.path(), "b.bin", &data(0, 2));
    let c = write(dir.path(), "c.bin", &data(9_000_001, 3));
    let out = run(resumable()
        .args(["upload", "--protocol", "tus", "--json", "--endpoint"])
        .arg(emulator.tus_endpoint())
        .args([&a, &b, &c]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(summary(&out.stdout)["completed"], 3);
    let mut kept: Vec<String> = emulator.files().into_iter().map(|f| f.sha256).collect();
    kept.sort();
    let mut expected: Vec<String> = [&a, &b, &c]
        .iter()
        .map(|p| sha256(&std::fs::read(p).unwrap()))
        .collect();
    expected.sort();
    assert_eq!(kept, expected);
}

#[test]
fn what_several_files_cannot_do_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.bin", &data(10, 1));
    let b = write(dir.path(), "b.bin", &data(10, 2));
    let cases: [(&[&str], &str); 5] = [
        (&["--protocol", "graph-print"], "one document's"),
        (&["--protocol", "wopi"], "names one file"),
        (&["--checkpoint", "x.checkpoint"], "each keeps its own"),
        (
            &[
                "--endpoint",
                "http://127.0.0.1:9/v1.0/me/drive/root:/a.bin:/createUploadSession",
            ],
            "names the drive folder",
        ),
        (&["--name", "x"], "several files keep their own names"),
    ];
    for (extra, expected) in cases {
        let out = run(resumable()
            .env("RESUMABLE_TOKEN", TOKEN)
            .arg("upload")
            .args(extra)
            .args([&a, &b]));
        assert!(!out.status.success(), "{extra:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
}

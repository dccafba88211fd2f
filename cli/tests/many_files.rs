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
                line["file"].as_str().unwrap().to_owned(),
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

    // The same command again skips the five (the same files since) and fails on the taken
    // name again; with `--conflict replace` only that one goes.
    let again = run(batch().args(["--conflict", "fail"]));
    assert!(!again.status.success());
    let skipped = lines(&again.stdout)
        .into_iter()
        .filter(|line| line["status"] == "skipped")
        .count();
    assert_eq!(skipped, 5, "{}", text(&again.stdout));
    let report = summary(&again.stdout);
    assert_eq!(
        (report["completed"].as_u64(), report["skipped"].as_u64()),
        (Some(0), Some(5)),
        "skipped files are not counted as uploaded by this run: {report}"
    );
    assert_eq!(report["uploaded_bytes"], 0);
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

#[test]
fn a_file_replaced_with_the_same_size_and_time_or_another_token_is_not_skipped() {
    let server = background("", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    std::fs::create_dir(&root).unwrap();
    let a = write(&root, "a.bin", &data(5_000, 1));
    write(&root, "b.bin", &data(6_000, 2));
    let folder = format!("{}/me/drive/root:/Set", emulator.graph_url());
    let batch = |token: &str| {
        run(resumable()
            .env("RESUMABLE_TOKEN", token)
            .args([
                "upload",
                "--json",
                "--conflict",
                "replace",
                "--endpoint",
                &folder,
            ])
            .arg(&root))
    };
    let statuses = |out: &std::process::Output| -> BTreeMap<String, String> {
        lines(&out.stdout)
            .into_iter()
            .filter(|line| line["event"] == "file")
            .map(|line| {
                (
                    line["file"].as_str().unwrap().to_owned(),
                    line["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert!(batch(TOKEN).status.success());
    // Other bytes, the same size, the modification time set back (as `cp -p` or `touch -r`
    // would): another file, sent again.
    let modified = std::fs::metadata(&a).unwrap().modified().unwrap();
    let new = data(5_000, 9);
    std::fs::write(&a, &new).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&a)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let again = batch(TOKEN);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let seen = statuses(&again);
    assert_eq!(seen["set/a.bin"], "completed", "{seen:?}");
    assert_eq!(seen["set/b.bin"], "skipped", "{seen:?}");
    let stored: BTreeMap<String, String> = stored(emulator);
    assert_eq!(stored["me/drive/root:/Set/set/a.bin"], sha256(&new));
    // Another token may be another account's drive: nothing is skipped.
    let other = batch("another-account");
    assert!(other.status.success(), "{}", text(&other.stderr));
    assert!(
        statuses(&other)
            .values()
            .all(|status| status == "completed"),
        "{}",
        text(&other.stdout)
    );
}

#[test]
fn a_small_file_whose_answer_lied_is_recognised_when_the_same_command_runs_again() {
    // The service stores the file but answers with another size: this run fails (never
    // "completed" on a wrong answer); the next meets its own file under `fail` and proves it.
    let server = background("simple-upload#1=wrong-size", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2_000, 4);
    let file = write(dir.path(), "small.bin", &bytes);
    let upload = || {
        run(resumable()
            .env("RESUMABLE_TOKEN", TOKEN)
            .args(["upload", "--json", "--endpoint"])
            .arg(emulator.drive_upload_session_url("small.bin"))
            .arg(&file))
    };
    let first = upload();
    assert!(!first.status.success());
    assert_eq!(summary(&first.stdout)["status"], "failed");
    let second = upload();
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(summary(&second.stdout)["status"], "completed");
    assert_eq!(stored(emulator)["me/drive/root:/small.bin"], sha256(&bytes));
}

#[test]
fn sigterm_stops_a_batch_and_starts_no_more_files() {
    let server = background("", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("slow");
    std::fs::create_dir(&root).unwrap();
    for i in 0..4 {
        write(&root, &format!("f{i}.bin"), &data(5 << 20, i as u8));
    }
    let child = resumable()
        .env("RESUMABLE_TOKEN", TOKEN)
        .args([
            "upload",
            "--json",
            "--transfers",
            "1",
            "--bwlimit",
            "4M",
            "--endpoint",
        ])
        .arg(format!("{}/me/drive/root:/Slow", emulator.graph_url()))
        .arg(&root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_until("the first file is being sent", || {
        emulator.stats().sessions_created >= 1
    });
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = std::time::Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "SIGTERM ended the batch promptly"
    );
    assert!(!output.status.success());
    let ended: Vec<String> = lines(&output.stdout)
        .into_iter()
        .filter(|line| line["event"] == "file")
        .map(|line| line["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ended.len(), 4, "{}", text(&output.stdout));
    assert_eq!(
        ended.iter().filter(|s| *s == "not-started").count(),
        3,
        "{ended:?}"
    );
    assert_eq!(
        emulator.stats().sessions_created,
        1,
        "no other file started"
    );
}

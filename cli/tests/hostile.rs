//! `resumable upload --json` against a hostile `resumable emulator serve`: a server that lies
//! about fragments, about the file it stored and about its sessions. What is checked is what the
//! command *reports*: `completed` (exit 0) only when the emulator's own record of the stored
//! file has the local file's SHA-256, and otherwise a non-zero exit with one line that says what
//! went wrong, never `completed`. Every run has an upper time bound, so a loop or a hang fails.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

mod common;

use common::served::{Run, Served, run_within, serve};
use common::{data, quick_xor, resumable, sha256, summary, text, write};

const KIB320: usize = 327_680;

/// `n` whole fragments of 320 KiB and a short last one.
const fn fragments(n: usize) -> usize {
    n * KIB320 + 4321
}

/// Four fragments: faults land in the middle and on the last one.
const SIZE: usize = fragments(3);

/// An upper bound for a run on a loaded machine; the runs take well under a second.
const LIMIT: Duration = Duration::from_secs(30);

/// One run of `resumable upload --json --chunk-size 320KiB` and its report.
struct Upload {
    run: Run,
    report: Value,
}

impl Upload {
    fn stdout(&self) -> String {
        text(&self.run.output.stdout)
    }

    fn stderr(&self) -> String {
        text(&self.run.output.stderr)
    }
}

/// Uploads `bytes` as `name` to `url` (a createUploadSession URL, or a WOPI file URL with
/// `--protocol wopi` in `extra`) in fragments of 320 KiB unless `extra` says otherwise, failing
/// if the run outlives `limit`.
fn upload_within(
    limit: Duration,
    url: &str,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    extra: &[&str],
) -> Upload {
    let file = write(dir, name, bytes);
    let mut command = resumable();
    command.env("RESUMABLE_TOKEN", "any").args([
        "upload",
        "--json",
        "--upload-cutoff",
        "0",
        "--endpoint",
        url,
    ]);
    if !extra.contains(&"--chunk-size") {
        command.args(["--chunk-size", "320KiB"]);
    }
    let run = run_within(command.args(extra).arg(&file), limit);
    let report = summary(&run.output.stdout);
    Upload { run, report }
}

/// Uploads `bytes` to a drive item `name` on `served`.
fn upload_drive(served: &Served, name: &str, bytes: &[u8], extra: &[&str]) -> Upload {
    let dir = tempfile::tempdir().unwrap();
    upload_within(
        LIMIT,
        &served.drive_url(name),
        dir.path(),
        name,
        bytes,
        extra,
    )
}

/// Uploads `bytes` to a WOPI file `id` on `served`.
fn upload_wopi(served: &Served, id: &str, bytes: &[u8]) -> Upload {
    let dir = tempfile::tempdir().unwrap();
    let url = served.wopi_url(id);
    upload_within(
        LIMIT,
        &url,
        dir.path(),
        "doc.bin",
        bytes,
        &["--protocol", "wopi"],
    )
}

/// Exit 0, `completed`, the local hashes in the report, a hash checked against the service's
/// word, and the emulator's own record of the file at `path` holding the local bytes.
fn assert_completed(upload: &Upload, served: &Served, path: &str, bytes: &[u8]) {
    let report = &upload.report;
    assert!(
        upload.run.output.status.success(),
        "{report}\n{}",
        upload.stderr()
    );
    assert_eq!(report["status"], "completed", "{report}");
    assert_eq!(report["quick_xor_hash"], quick_xor(bytes), "{report}");
    assert_eq!(report["confirmed"], bytes.len(), "{report}");
    assert!(upload.stderr().is_empty(), "{}", upload.stderr());
    assert_eq!(
        served.stored_sha256(path).last(),
        Some(&sha256(bytes)),
        "the emulator stored other bytes: {:?}",
        served.files()
    );
}

/// [`assert_completed`] for a drive item, whose service reported a QuickXorHash that the
/// command checked.
fn assert_drive_completed(upload: &Upload, served: &Served, name: &str, bytes: &[u8]) {
    assert_completed(upload, served, &format!("me/drive/root:/{name}"), bytes);
    let report = &upload.report;
    assert_eq!(report["quick_xor_hash"], quick_xor(bytes), "{report}");
    assert_eq!(
        report["verified"], "size and quickXorHash checked",
        "{report}"
    );
}

/// Exit 1 with `status`, never `completed`, and the reason on one line of standard error (the
/// same as the report's `error`) holding every one of `words`.
fn assert_refused(upload: &Upload, status: &str, words: &[&str]) {
    let report = &upload.report;
    assert_eq!(upload.run.output.status.code(), Some(1), "{report}");
    assert_eq!(report["status"], status, "{report}");
    assert!(
        !upload.stdout().contains("\"status\":\"completed\""),
        "{report}"
    );
    assert!(report.get("verified").is_none(), "{report}");
    let stderr = upload.stderr();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let error = report["error"].as_str().unwrap();
    assert_eq!(stderr.trim_end(), format!("resumable: {error}"));
    for word in words {
        assert!(error.contains(word), "`{word}` missing: {error}");
    }
}

#[test]
fn one_premature_item_is_doubted_and_the_upload_completes() {
    let served = serve("fragment#1=premature-item", &[]);
    let bytes = data(SIZE, 1);
    let upload = upload_drive(&served, "early.bin", &bytes, &[]);
    assert_drive_completed(&upload, &served, "early.bin", &bytes);
    assert!(upload.report["resyncs"].as_u64().unwrap() >= 1);
    assert_eq!(served.faults("premature-item"), 1);
}

#[test]
fn premature_items_on_every_fragment_fail_and_the_session_is_deleted() {
    // Six fragments: three lies are forgiven (each one asks the server where it is), and the
    // last fragment has nothing to lie about, so four lies need five fragments before it.
    let served = serve("fragment#*=premature-item", &[]);
    let bytes = data(fragments(5), 2);
    let upload = upload_drive(&served, "liar.bin", &bytes, &[]);
    assert_refused(
        &upload,
        "failed",
        &[
            "gave up on the service",
            "broke the protocol",
            "announced the finished file",
        ],
    );
    assert!(served.files().is_empty());
    assert_eq!(served.requests("cancel"), 1);
}

#[test]
fn a_wrong_size_fails_although_the_bytes_are_stored() {
    for (script, reported) in [
        ("fragment#4=wrong-size", SIZE + 1),
        ("fragment#4=wrong-size:0", 0),
    ] {
        let served = serve(script, &[]);
        let bytes = data(SIZE, 3);
        let upload = upload_drive(&served, "size.bin", &bytes, &[]);
        let stored = format!("the service stored {reported} bytes, the source has {SIZE}");
        assert_refused(
            &upload,
            "failed",
            &["not this source", &stored, "NOT complete"],
        );
        assert_eq!(served.faults("wrong-size"), 1, "{script}");
    }
}

#[test]
fn a_wrong_hash_fails_whether_in_the_last_answer_or_the_commit() {
    // A personal drive reports sha1Hash and crc32Hash too: all of them lie.
    let served = serve("fragment#4=wrong-hash", &["--set", "drive-hashes=personal"]);
    let bytes = data(SIZE, 4);
    let upload = upload_drive(&served, "hash.bin", &bytes, &[]);
    assert_refused(
        &upload,
        "failed",
        &["not this source", "quickXorHash", "NOT complete"],
    );
    assert_eq!(served.faults("wrong-hash"), 1);

    // The last fragment's 202 asks for a commit it was not told of, whose item lies.
    let served = serve("fragment#4=empty-accept, commit#1=wrong-hash", &[]);
    let upload = upload_drive(&served, "hash.bin", &bytes, &[]);
    assert_refused(&upload, "failed", &["quickXorHash", "NOT complete"]);
    assert_eq!(served.requests("commit"), 1);
}

#[test]
fn every_hash_a_personal_drive_reports_is_checked() {
    let served = serve("", &["--set", "drive-hashes=personal"]);
    let bytes = data(SIZE, 5);
    let upload = upload_drive(&served, "all.bin", &bytes, &[]);
    assert_completed(&upload, &served, "me/drive/root:/all.bin", &bytes);
    assert_eq!(
        upload.report["verified"],
        "size, quickXorHash and crc32Hash checked; sha1Hash not computed"
    );
}

#[test]
fn an_old_item_at_the_path_is_not_taken_for_this_upload() {
    // The last fragment's answer is lost and the session is gone; the path holds someone else's
    // older file of the same size. The command looks it up, refuses it (its hash is not the
    // source's), uploads again in a new session, and the service refuses the taken name; the
    // item holding it is read once more (it could have been this file) and refused again: a
    // name conflict, not a completion. The run lasts about 16 s: a 404 is retried three times,
    // 5 s apart, before a session counts as lost (busy SharePoint sites answer 404 for a
    // moment), and the command has no flag to shorten that.
    let served = serve("fragment#4=old-item", &[]);
    let bytes = data(SIZE, 6);
    let dir = tempfile::tempdir().unwrap();
    let url = served.drive_url("old.bin");
    let limit = Duration::from_secs(90);
    let upload = upload_within(limit, &url, dir.path(), "old.bin", &bytes, &[]);
    assert_refused(
        &upload,
        "name-conflict",
        &["already exists", "--conflict rename", "--conflict replace"],
    );
    assert_eq!(served.requests("get-item"), 2);
    assert_eq!(served.stats()["sessions_created"], 2);
    assert!(served.files().is_empty());
}

#[test]
fn claims_of_bytes_never_sent_are_doubted_then_refused() {
    for script in ["fragment#1=skip-ahead", "fragment#2=skip-ahead:1000000000"] {
        let served = serve(script, &[]);
        let bytes = data(SIZE, 7);
        let upload = upload_drive(&served, "skip.bin", &bytes, &[]);
        assert_drive_completed(&upload, &served, "skip.bin", &bytes);
        assert_eq!(served.faults("skip-ahead"), 1, "{script}");
        assert_eq!(
            served.stats()["refusals"],
            serde_json::json!({}),
            "{script}"
        );
    }
    // As with premature items: a fourth lie needs six fragments.
    let served = serve("fragment#*=skip-ahead", &[]);
    let upload = upload_drive(&served, "skip.bin", &data(fragments(5), 8), &[]);
    assert_refused(&upload, "failed", &["gave up on the service", "never sent"]);
    assert_eq!(served.requests("cancel"), 1);
}

#[test]
fn one_regress_is_recovered_by_sending_again() {
    let served = serve("fragment#2=regress", &[]);
    let bytes = data(SIZE, 9);
    let upload = upload_drive(&served, "again.bin", &bytes, &[]);
    assert_drive_completed(&upload, &served, "again.bin", &bytes);
    assert!(served.stats()["bytes_received"].as_u64().unwrap() > SIZE as u64);
}

#[test]

fn one_late_regress_is_recovered_by_sending_again() {
    // The fifth fragment is stored, then the session forgets all five: one lie. The engine
    // counts it, and then again every answer of the resend that is still below the most the
    // session once held, and gives up "after 4 answers that broke the protocol".
    let served = serve("fragment#5=regress", &[]);
    let bytes = data(fragments(6), 10);
    let upload = upload_drive(&served, "late.bin", &bytes, &[]);
    assert_drive_completed(&upload, &served, "late.bin", &bytes);
    assert_eq!(served.faults("regress"), 1);
}

#[test]
fn a_session_that_keeps_forgetting_fails() {
    // Every third fragment forgets the session: it never holds the file.
    let served = serve("fragment#3/3=regress", &[]);
    let upload = upload_drive(&served, "forget.bin", &data(SIZE, 11), &[]);
    assert_refused(
        &upload,
        "failed",
        &["gave up on the service", "lost bytes it had confirmed"],
    );
    assert_eq!(served.requests("cancel"), 1);
    assert!(served.files().is_empty());

    // Every fragment forgets: no answer shows progress, and the retry budget runs out.
    let served = serve("fragment#*=regress", &[]);
    let upload = upload_drive(&served, "forget.bin", &data(SIZE, 12), &["--retries", "2"]);
    assert_refused(
        &upload,
        "failed",
        &["gave up after 2 retries without progress", "HTTP 202"],
    );
    assert!(served.requests("fragment") <= 3, "{}", served.stats());
    assert!(served.files().is_empty());
}

#[test]
fn a_server_that_keeps_one_byte_of_each_fragment_spends_the_send_budget() {
    // Every answer is truthful and shows a byte of progress, so retries never run out: the send
    // budget of the session (twice the file and four fragments) is what ends it.
    let served = serve("fragment#*=partial-store:1", &[]);
    let upload = upload_drive(&served, "leaky.bin", &data(SIZE, 21), &[]);
    assert_refused(
        &upload,
        "failed",
        &["into one session", "without the service keeping them"],
    );
    let received = served.stats()["bytes_received"].as_u64().unwrap();
    assert!(received <= (2 * SIZE + 4 * KIB320) as u64, "{received}");
    assert_eq!(served.requests("cancel"), 1);
}

#[test]
fn an_accept_without_the_item_is_committed() {
    let served = serve("fragment#4=empty-accept", &[]);
    let bytes = data(SIZE, 13);
    let upload = upload_drive(&served, "quiet.bin", &bytes, &[]);
    assert_drive_completed(&upload, &served, "quiet.bin", &bytes);
    assert_eq!(served.requests("commit"), 1);
    assert!(served.requests("status") >= 1);
}

#[test]
fn a_session_whose_expiry_is_already_past_is_used() {
    let served = serve("create-drive#1=expired-session", &[]);
    let bytes = data(SIZE, 14);
    let upload = upload_drive(&served, "clock.bin", &bytes, &[]);
    assert_drive_completed(&upload, &served, "clock.bin", &bytes);
    assert_eq!(served.stats()["sessions_created"], 1);
}

#[test]
fn an_unusable_create_answer_is_retried() {
    for fault in ["malformed-create", "malformed-create:no-url"] {
        let served = serve(&format!("create-drive#1={fault}"), &[]);
        let bytes = data(SIZE, 15);
        let upload = upload_drive(&served, "made.bin", &bytes, &[]);
        assert_drive_completed(&upload, &served, "made.bin", &bytes);
        assert_eq!(served.requests("create-drive"), 2, "{fault}");
    }
}

#[test]
fn unusable_create_answers_are_refused_after_three() {
    for (fault, last) in [
        ("malformed-create", "not JSON"),
        ("malformed-create:no-url", "without an uploadUrl"),
    ] {
        let served = serve(&format!("create-drive#*={fault}"), &[]);
        let upload = upload_drive(&served, "made.bin", &data(SIZE, 16), &[]);
        assert_refused(
            &upload,
            "failed",
            &[
                "creating the upload session",
                "could not be used 3 times",
                last,
            ],
        );
        assert_eq!(served.requests("create-drive"), 3, "{fault}");
    }
}

/// `--retries 2` against a server that answers `script`'s 503 with `Retry-After: 1` to every
/// request of a kind: a failure while `during`, after two waits of a second or two (not the ten
/// retries of the default) and a handful of requests.
fn assert_endless_503_ends(script: &str, during: &str) {
    let served = serve(script, &[]);
    let upload = upload_drive(&served, "busy.bin", &data(SIZE, 17), &["--retries", "2"]);
    assert_refused(
        &upload,
        "failed",
        &[
            "gave up after 2 retries without progress",
            during,
            "HTTP 503",
        ],
    );
    assert!(
        upload.run.elapsed < Duration::from_secs(15),
        "{:?}",
        upload.run.elapsed
    );
    let stats = served.stats();
    assert_eq!(stats["faults"]["throttle-503-seconds"], 3, "{stats}");
    assert!(stats["requests_total"].as_u64().unwrap() <= 8, "{stats}");
}

#[test]
fn an_endless_503_ends_with_the_retry_budget() {
    assert_endless_503_ends(
        "any#*=throttle:503:seconds:1",
        "creating the upload session",
    );
}

#[test]
fn an_endless_503_on_fragments_ends_with_the_retry_budget() {
    assert_endless_503_ends("fragment#*=throttle:503:seconds:1", "uploading a fragment");
}

#[test]
fn a_wopi_offset_past_the_bytes_sent_is_doubted_then_refused() {
    let served = serve("wopi-update#1=wopi-offset-jump", &[]);
    let bytes = data(SIZE, 18);
    let upload = upload_wopi(&served, "doc", &bytes);
    assert_completed(&upload, &served, "wopi/files/doc", &bytes);
    assert_eq!(served.faults("wopi-offset-jump"), 1);

    let served = serve("wopi-update#*=wopi-offset-jump:1000", &[]);
    let upload = upload_wopi(&served, "doc", &data(fragments(8), 19));
    assert_refused(&upload, "failed", &["gave up on the host", "never sent"]);
    assert!(served.files().is_empty());
}

#[test]

fn a_wopi_completion_says_what_was_checked() {
    let served = serve("", &[]);
    let bytes = data(SIZE, 20);
    let upload = upload_wopi(&served, "doc", &bytes);
    assert_completed(&upload, &served, "wopi/files/doc", &bytes);
    let verified = upload.report["verified"].as_str().unwrap_or_default();
    assert!(verified.contains("sha256Hash"), "{}", upload.report);
}

#[test]

fn a_print_document_named_before_the_other_fragments_land_is_not_completed() {
    // Print fragments go four at once. The first to arrive is answered at once with the whole
    // document (a lie: nothing is committed); the other three are answered 3 s later. The
    // command reports `completed` within milliseconds and exits, cutting the three bodies
    // short: the emulator refuses them (400) and never stores the document.
    let served = serve("fragment#1=premature-item, fragment#2/1=slow:3000", &[]);
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * 200_000 + 5000, 22);
    let url = format!(
        "{}/v1.0/print/printers/p/jobs/j/documents/d/createUploadSession",
        served.base
    );
    let print = ["--protocol", "graph-print", "--chunk-size", "200000"];
    let upload = upload_within(LIMIT, &url, dir.path(), "doc.pdf", &bytes, &print);
    if upload.report["status"] == "completed" {
        let stored: Vec<Value> = served.files();
        assert!(
            stored.iter().any(|file| file["sha256"] == sha256(&bytes)),
            "reported completed, but the emulator stored {stored:?}: {}",
            upload.report
        );
    } else {
        assert_eq!(
            upload.run.output.status.code(),
            Some(1),
            "{}",
            upload.report
        );
    }
}

//! `resumable soak` as a user runs it: a few quick seeds (sources up to 64 KiB, faults and
//! kills included), the summary's words, the JSON lines, and the replay command of a seed.

mod common;

use common::{resumable, run, text};

#[test]
fn a_short_soak_counts_every_outcome_by_its_word() {
    // Seed 12 at 64 KiB: a deferred drive item, server errors on its commit and a kill; only
    // accidents, so it must complete.
    let out = run(resumable().args([
        "soak",
        "--seeds",
        "1",
        "--first-seed",
        "12",
        "--max-size",
        "64KiB",
    ]));
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    for word in [
        "runs: 1",
        "completed: 1",
        "failed cleanly: 0",
        "corrupted: 0 (must be 0)",
        "hung: 0 (must be 0)",
        "crashes survived: ",
        "sessions abandoned without DELETE: ",
        "bytes sent per byte stored: median ",
        "graph-drive deferred",
    ] {
        assert!(said.contains(word), "{word:?} in:\n{said}");
    }
}

#[test]
fn json_lines_name_each_seed_and_its_replay() {
    let out = run(resumable().args([
        "soak",
        "--seeds",
        "1",
        "--first-seed",
        "8",
        "--max-size",
        "64KiB",
        "--json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    // Seed 8 at 64 KiB: a WOPI upload killed once; only accidents.
    let seed = &lines[0];
    assert_eq!(seed["event"], "seed");
    assert_eq!(seed["seed"], 8);
    assert_eq!(seed["protocol"], "wopi");
    assert_eq!(seed["outcome"], "completed");
    assert_eq!(
        seed["replay"],
        "resumable soak --seeds 1 --first-seed 8 --max-size 65536"
    );
    let summary = &lines[1];
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["runs"], 1);
    assert_eq!(summary["completed"], 1);
    assert_eq!(summary["corrupted"], 0);
    assert_eq!(summary["hung"], 0);
    assert!(
        summary["bytes_sent_per_byte_stored"]["median"]
            .as_f64()
            .unwrap()
            >= 1.0
    );
}

#[test]
fn bad_arguments_say_what_to_give() {
    let out = run(resumable().args(["soak", "--seeds", "0"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--seeds"),
        "{}",
        text(&out.stderr)
    );
    let out = run(resumable().args([
        "soak",
        "--seeds",
        "2",
        "--first-seed",
        &u64::MAX.to_string(),
    ]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("goes past the largest seed"),
        "{}",
        text(&out.stderr)
    );
}

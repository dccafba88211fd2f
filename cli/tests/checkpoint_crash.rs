//! Checkpoints under crashes: `resumable upload --checkpoint` killed with SIGKILL again and
//! again at random moments, many of them inside the checkpoint's own write (its temporary file
//! left behind shows it), and run again each time. After every kill the checkpoint on disk is
//! whole (it decodes: the old one or the new one, never a mix), never claims bytes the service
//! does not hold, lags what the service holds by at most two fragments (the one whose
//! confirmation was being saved and the one on its way), and never goes back within a session.
//! The last run completes and the stored copy is the file. (A run that finds the service
//! holding bytes no checkpoint vouches for, sent by a request the kill cut off, may give the
//! session up and start a new one: the engine does not take unproven bytes on trust; killed
//! before the new one exists, it leaves a whole checkpoint without a session.)

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{background, data, resumable, sha256};
use resumable_core::graph::Checkpoint;

const FRAGMENT: u64 = 327_680;

/// The most confirmed bytes a Graph checkpoint on disk may lag behind the service.
const MAX_LAG: u64 = (16 << 20) + 2 * FRAGMENT;

/// splitmix64: the kill times, reproducible from the seed the test prints.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A line on standard error (shown by `cargo test -- --nocapture` and on failure).
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Temporary files of checkpoint writes that a kill cut short.
fn torn_writes(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .count()
}

#[test]
fn kills_inside_checkpoint_writes_leave_the_old_or_the_new_checkpoint() {
    let seed = std::env::var("CHECKPOINT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    say(&format!(
        "seed {seed} (CHECKPOINT_CRASH_SEED={seed} replays the kill times)"
    ));
    let mut rng = seed;
    let server = background("", |_| {});
    let emulator = &server.emulator;
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(24 << 20, 7);
    let file = common::write(dir.path(), "crash.bin", &bytes);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let checkpoint = state.join("crash.checkpoint");
    let command = || {
        let mut command: Command = resumable();
        command
            .env("RESUMABLE_TOKEN", "any")
            .args([
                "upload",
                "-q",
                "--upload-cutoff",
                "0",
                "--chunk-size",
                "320KiB",
            ])
            .args(["--retries", "20", "--checkpoint"])
            .arg(&checkpoint)
            .arg("--endpoint")
            .arg(emulator.drive_upload_session_url("crash.bin"))
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    // What the service holds, by its own word: the session's nextExpectedRanges (none once
    // the upload completed: the session is gone).
    let held = |url: &str| -> Option<u64> {
        let answer: serde_json::Value = server.runtime.block_on(async {
            let response = reqwest::get(url).await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            response.json().await.ok()
        })?;
        answer["nextExpectedRanges"][0]
            .as_str()
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.parse().ok())
    };
    // The first run until its session is in a checkpoint (a kill before that leaves a
    // session nothing knows of: not what this test is about).
    let mut first = command().spawn().unwrap();
    common::wait_until("the first checkpoint", || checkpoint.exists());
    let _ = first.kill();
    let _ = first.wait();
    let mut kills = 1;
    let mut previous = (String::new(), 0);
    let mut completed = false;
    let mut finished_when_killed = false;
    let deadline = Instant::now() + Duration::from_secs(90);
    while kills < 60 && Instant::now() < deadline {
        let mut child = command().spawn().unwrap();
        // 30 to 230 ms: past the start, into the fragments and their checkpoints.
        std::thread::sleep(Duration::from_millis(30 + next(&mut rng) % 200));
        if child.try_wait().unwrap().is_some() {
            completed = true;
            break;
        }
        let killed = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let _ = child.wait();
        kills += 1;
        let Ok(saved) = std::fs::read(&checkpoint) else {
            continue;
        };
        let decoded = Checkpoint::from_bytes(&saved)
            .unwrap_or_else(|e| panic!("seed {seed}, kill {kills}: a torn checkpoint: {e}"));
        let confirmed = decoded.confirmed_bytes();
        let Some(url) = decoded.upload_url() else {
            // A run that gave its session up (the service held bytes no checkpoint vouched
            // for) was killed before it made the next: the checkpoint says so, whole.
            previous = (String::new(), 0);
            continue;
        };
        let url = url.expose().to_owned();
        let Some(held) = held(&url) else {
            // Killed between the upload's completion and its exit: the session is gone.
            finished_when_killed = true;
            break;
        };
        assert!(
            confirmed <= held,
            "seed {seed}, kill {kills}: the checkpoint claims {confirmed} bytes, the service holds {held}"
        );
        // A Graph checkpoint may lag: saves go every 4 MiB and a request waits once the
        // confirmed bytes run 12 MiB ahead of the newest save (a resume asks the session what
        // it holds), plus the fragments in flight when the kill came.
        assert!(
            confirmed + MAX_LAG >= held,
            "seed {seed}, kill {kills}: the checkpoint lags the service by more than {MAX_LAG} bytes ({confirmed} of {held})"
        );
        if previous.0 == url {
            assert!(
                confirmed >= previous.1,
                "seed {seed}, kill {kills}: progress went back from {} to {confirmed}",
                previous.1
            );
        }
        previous = (url, confirmed);
    }
    let cut_short = torn_writes(&state);
    say(&format!(
        "{kills} kills, {cut_short} inside a checkpoint write, {} bytes confirmed before the last run, {} sessions",
        previous.1,
        emulator.stats().sessions_created
    ));
    if !completed && !finished_when_killed {
        let out = command().stdout(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "seed {seed}: the last run completes");
        assert!(!checkpoint.exists(), "removed when the upload completed");
    }
    assert!(
        emulator.stats().sessions_created <= kills + 1,
        "a session per run at most"
    );
    let stored: Vec<String> = emulator.files().into_iter().map(|f| f.sha256).collect();
    assert_eq!(stored, [sha256(&bytes)], "seed {seed}");
}

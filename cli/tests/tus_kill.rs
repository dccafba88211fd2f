//! `resumable upload FILE --protocol tus` against a real tus server (tusd, @tus/server,
//! asgi-tus), killed with SIGKILL at random moments and run again with the same command until
//! it ends: it must resume from its checkpoint, send far less than the file again, and leave
//! the server's copy byte-identical to the file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resumable_conformance::fault_proxy::FaultProxy;
use resumable_conformance::partners::partners;
use resumable_conformance::{random, sha256};

const BIN: &str = env!("CARGO_BIN_EXE_resumable");

/// The upload URL a checkpoint records (its JSON after the header line).
fn checkpoint_url(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let json: serde_json::Value = serde_json::from_slice(&bytes[newline + 1..]).ok()?;
    json.get("url")?.as_str().map(str::to_owned)
}

fn confirmed(path: &Path) -> u64 {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| {
            let newline = bytes.iter().position(|&b| b == b'\n')?;
            let json: serde_json::Value = serde_json::from_slice(&bytes[newline + 1..]).ok()?;
            json.get("confirmed")?.as_u64()
        })
        .unwrap_or(0)
}

#[test]
fn killed_uploads_resume_on_every_partner_and_end_byte_identical() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(11);
    for partner in partners() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("video.bin");
        let bytes = random(12 << 20, seed);
        std::fs::write(&file, &bytes).unwrap();
        let checkpoint = dir.path().join("video.checkpoint");
        let proxy = FaultProxy::start(partner.addr).unwrap();
        // Slow enough to be killed partway: about 8 MiB/s.
        proxy.throttle(8 << 20);
        let run = || {
            let mut command = Command::new(BIN);
            command
                .args(["upload", file.to_str().unwrap(), "--protocol", "tus"])
                .args(["--endpoint", &partner.endpoint(Some(proxy.addr()))])
                .args(["--checkpoint", checkpoint.to_str().unwrap()])
                .args(["--chunk-size", "1MiB", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command
        };
        let mut kills = 0;
        let mut last_confirmed = 0;
        // Kill after a moment that varies with the seed, three times, each once the
        // checkpoint shows progress beyond the last kill's.
        for round in 0..3u64 {
            let mut child = run().spawn().unwrap();
            let wait = Duration::from_millis(150 + (seed >> (round * 8)) % 300);
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20)
                && (started.elapsed() < wait || confirmed(&checkpoint) <= last_confirmed)
            {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            let _ = child.wait();
            last_confirmed = confirmed(&checkpoint);
        }
        assert!(kills >= 1, "{}: never killed (too fast?)", partner.name);
        let url = checkpoint_url(&checkpoint).expect("the checkpoint names the upload");
        proxy.throttle(0);
        let output = run().output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{}: {stderr}", partner.name);
        // The last line of `--json` is the report, after the events.
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        let report: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(report["status"], "completed", "{}", partner.name);
        assert!(
            report["start"]
                .as_str()
                .unwrap()
                .starts_with("resuming from the checkpoint"),
            "{}: {}",
            partner.name,
            report["start"]
        );
        let stored = partner.stored(&url).unwrap();
        assert_eq!(
            sha256(&stored),
            sha256(&bytes),
            "{} after {kills} kills",
            partner.name
        );
        assert!(!checkpoint.exists(), "removed on success");
    }
}

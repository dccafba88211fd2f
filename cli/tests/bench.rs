//! `resumable bench` as a user runs it: a small sweep through real processes and HTTP.

mod common;

use std::time::Instant;

use common::resumable;

#[test]
fn a_small_sweep_measures_both_sides_and_draws_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("sweep.svg");
    let out = resumable()
        .args([
            "bench",
            "--file-size",
            "3MiB",
            "--sizes",
            "320KiB,1280KiB",
            "--protocols",
            "graph-drive,tus",
            "--adaptive",
            "--rounds",
            "2",
            "--json",
            "--plot",
        ])
        .arg(&plot)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // A line per cell and round on standard error, as it goes.
    assert_eq!(stderr.matches("round ").count(), 2 * 5, "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["file_size"], 3 << 20);
    let cells = report["cells"].as_array().unwrap();
    let labels: Vec<String> = cells
        .iter()
        .map(|c| format!("{} {}", c["protocol"], c["fragment_size"]))
        .collect();
    assert_eq!(
        labels,
        [
            "\"graph-drive\" 327680",
            "\"graph-drive\" 1310720",
            "\"graph-drive\" null",
            "\"tus\" 327680",
            "\"tus\" 1310720",
        ]
    );
    for cell in cells {
        for side in ["raw_runs", "resumable_runs"] {
            let runs = cell[side].as_array().unwrap();
            assert_eq!(runs.len(), 2, "{cell}");
            for run in runs {
                assert!(run["wall_s"].as_f64().unwrap() > 0.0, "{cell}");
                // The emulator counted each run's requests: the creation and a fragment at
                // least.
                assert!(run["requests"].as_u64().unwrap() >= 2, "{cell}");
            }
        }
        let ratio = &cell["ratio"];
        let (min, median, max) = (
            ratio["min"].as_f64().unwrap(),
            ratio["median"].as_f64().unwrap(),
            ratio["max"].as_f64().unwrap(),
        );
        assert!(0.0 < min && min <= median && median <= max, "{cell}");
    }
    // 3 MiB in 320 KiB fragments: 10 PUTs and the session's creation, at least.
    let first = &cells[0]["raw_runs"][0]["requests"];
    assert!(first.as_u64().unwrap() >= 11, "{first}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    for label in [
        "raw PUT loop",
        "raw PATCH loop",
        "resumable tus",
        "graph-drive --adaptive",
    ] {
        assert!(svg.contains(label), "{label} missing from the plot");
    }
}

#[test]
fn sizes_a_protocol_refuses_are_named_before_anything_runs() {
    let out = resumable()
        .args(["bench", "--sizes", "1000000", "--rounds", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--sizes 1000000 does not suit graph-drive"),
        "{stderr}"
    );
    let out = resumable()
        .args([
            "bench",
            "--protocols",
            "tus",
            "--endpoint",
            "https://graph.example/v1.0/me/drive/root:/a:/createUploadSession",
        ])
        .env("RESUMABLE_TOKEN", "t")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--endpoint measures graph-drive only"),
        "{stderr}"
    );
}

#[test]
fn the_emulated_link_holds_uploads_to_its_bandwidth() {
    // 2 MiB at 4 MB/s: about half a second a run, where loopback takes milliseconds.
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = resumable()
        .args([
            "bench",
            "--file-size",
            "2MiB",
            "--sizes",
            "1280KiB",
            "--rounds",
            "1",
            "--bandwidth",
            "4MB",
            "--latency",
            "20ms",
            "--json",
            "--plot",
        ])
        .arg(dir.path().join("p.svg"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bandwidth_bytes_per_s"], 4_000_000);
    assert_eq!(report["latency_ms"], 20);
    for side in ["raw_runs", "resumable_runs"] {
        let wall = report["cells"][0][side][0]["wall_s"].as_f64().unwrap();
        // 2 MiB at 4 MB/s is 0.52 s; the link saves up at most 20 ms of bytes.
        assert!(wall >= 0.45, "{side}: {wall} s");
    }
    assert!(started.elapsed().as_secs_f64() >= 0.9);
}

#[test]
fn the_raw_loop_never_prints_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, [1u8; 1000]).unwrap();
    // Nothing listens on port 1: the creation fails at the connection.
    let out = resumable()
        .args(["bench-raw", "--protocol", "graph", "--chunk-size", "327680"])
        .args(["--endpoint", "http://127.0.0.1:1/up?tempauth=SECRET-IN-URL"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("create:"), "{stderr}");
    assert!(!stderr.contains("SECRET-IN-URL"), "{stderr}");
}

//! Plans the fragments of a drive-item upload against a server that sometimes stores only part of
//! a fragment, and prints each `Content-Range` the engine would send.
//!
//! `cargo run -p resumable-core --example plan_upload -- [TOTAL_BYTES] [FRAGMENT_BYTES]`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use resumable_core::chunk::{ChunkPlanner, FragmentRule};
use resumable_core::range::{ContentRange, ExpectedRange};
use resumable_core::range_set::RangeSet;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let total = match args.next() {
        Some(Ok(n)) if n > 0 => n,
        None => 25 * 1024 * 1024 + 1,
        _ => return eprintln_usage(),
    };
    let preferred = match args.next() {
        Some(Ok(n)) => n,
        None => 10 * 1024 * 1024,
        _ => return eprintln_usage(),
    };
    let rule = FragmentRule::GRAPH_DRIVE;
    if let Err(e) = rule.check(preferred) {
        println!("note: {e}; using {}", rule.fit(preferred));
    }
    let planner = ChunkPlanner::new(rule, preferred);
    let mut missing = RangeSet::<4>::new(total);
    let mut round = 0u64;
    while let Some(fragment) = planner.next_fragment(&missing) {
        round += 1;
        // Every third fragment from the second on, the simulated server keeps only the first 1000 bytes (a lost
        // connection mid-body): the next fragment starts there and realigns to 320 KiB.
        let stored = if round % 3 == 2 {
            fragment.truncated(1000)
        } else {
            Some(fragment)
        };
        let header = ContentRange::new(fragment, total).expect("fragment inside the file");
        let stored = stored.expect("at least one byte");
        missing.mark_received(stored).expect("capacity");
        let next = missing
            .first_gap()
            .map(|g| {
                format!(
                    "[\"{}\"]",
                    ExpectedRange {
                        first: g.start(),
                        last: None
                    }
                )
            })
            .unwrap_or_else(|| "[]".to_owned());
        println!(
            "PUT Content-Range: {header:<36} stored {:>9} bytes  nextExpectedRanges: {next}",
            stored.len()
        );
    }
    println!("complete: {total} bytes in {round} requests");
}

fn eprintln_usage() {
    eprintln!("usage: plan_upload [TOTAL_BYTES] [FRAGMENT_BYTES]");
    std::process::exit(2);
}

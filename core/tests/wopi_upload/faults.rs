//! Ranges under faults: sizes at the range boundaries, lost answers after storing, partial
//! stores, timeouts, 5xx, and 400s with and without the host's offset.

use resumable_core::http::RequestKind;
use resumable_core::wopi::{WopiEvent, WopiSessionLoss};

use super::harness::{Fault, Outcome, Sim, random_faults};
use super::host::StaleUpdate;

const RANGE: u64 = 400;

/// Runs a `len`-byte MainContent upload with `script`, checks the stored file and the host's
/// record, and returns the simulation.
fn run_scripted(len: u64, script: Vec<(usize, Fault)>) -> Sim {
    let mut sim = Sim::new(len, &[], 1).with_script(script);
    let mut upload = sim.upload(&[], RANGE, 1);
    let outcome = sim.run(&mut upload);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    sim.assert_clean(1);
    sim.assert_stored_source();
    sim
}

#[test]
fn sizes_around_the_range_size_store_byte_identical_files_in_contiguous_ranges() {
    // The stream is 32 bytes of prefix plus the file: these make it 1 byte, a range less one,
    // a range, a range and one, and several ranges and one.
    for len in [
        1,
        RANGE - 33,
        RANGE - 32,
        RANGE - 31,
        3 * RANGE - 31,
        10_000,
    ] {
        let sim = run_scripted(len, Vec::new());
        let updates = sim.updates();
        let mut end = 0;
        for update in &updates {
            assert_eq!(update.offset, Some(end), "len {len}: ranges in order");
            assert!(update.len <= RANGE);
            end += update.len;
        }
        assert_eq!(end, len + 32, "len {len}");
        assert_eq!(
            updates.len() as u64,
            (len + 32).div_ceil(RANGE),
            "len {len}"
        );
        assert!(sim.server.stale_updates.is_empty());
    }
}

#[test]
fn a_lost_answer_after_storing_is_settled_by_one_byte_and_nothing_else_is_sent_twice() {
    // Request 0 creates the session; request 2 is the second range.
    let sim = run_scripted(2_000, vec![(2, Fault::LostAnswer)]);
    assert_eq!(
        sim.server.stale_updates,
        vec![StaleUpdate {
            offset: 400,
            len: 1,
            host_offset: 800
        }]
    );
    assert!(sim.events.contains(&WopiEvent::Resynchronised {
        believed: 400,
        offset: 800
    }));
}

#[test]
fn a_partial_store_whose_answer_was_lost_continues_from_the_hosts_offset() {
    let sim = run_scripted(2_000, vec![(2, Fault::PartialThenLost(150))]);
    assert_eq!(
        sim.server.stale_updates,
        vec![StaleUpdate {
            offset: 400,
            len: 1,
            host_offset: 550
        }]
    );
    let offsets: Vec<Option<u64>> = sim.updates().iter().map(|u| u.offset).collect();
    assert_eq!(offsets[..4], [Some(0), Some(400), Some(400), Some(550)]);
}

#[test]
fn a_partial_store_answered_with_its_offset_needs_no_probe() {
    let sim = run_scripted(2_000, vec![(2, Fault::PartialStore(100))]);
    assert!(sim.server.stale_updates.is_empty());
    let offsets: Vec<Option<u64>> = sim.updates().iter().map(|u| u.offset).collect();
    assert_eq!(offsets[..3], [Some(0), Some(400), Some(500)]);
}

#[test]
fn a_lost_answer_of_an_update_the_host_never_stored_goes_on_after_the_probe() {
    // The connection broke before a byte was kept: the probe is stored and the rest follows.
    let sim = run_scripted(2_000, vec![(2, Fault::PartialThenLost(0))]);
    assert!(sim.server.stale_updates.is_empty());
    let updates = sim.updates();
    assert_eq!((updates[2].offset, updates[2].len), (Some(400), 1));
    assert_eq!(updates[3].offset, Some(401));
}

#[test]
fn a_refused_connection_resends_the_same_range_without_a_probe() {
    let sim = run_scripted(2_000, vec![(2, Fault::Connect)]);
    let updates = sim.updates();
    assert_eq!((updates[1].offset, updates[1].len), (Some(400), 400));
}

#[test]
fn a_5xx_after_storing_and_a_5xx_before_storing_both_end_in_the_same_file() {
    let stored_then = run_scripted(2_000, vec![(2, Fault::StoredThen(500))]);
    assert_eq!(stored_then.server.stale_updates.len(), 1);
    let refused = run_scripted(2_000, vec![(2, Fault::Status(503, Some("5")))]);
    assert!(refused.server.stale_updates.is_empty());
}

#[test]
fn a_400_without_the_hosts_offset_after_a_lost_answer_starts_a_new_session() {
    let mut sim = Sim::new(2_000, &[], 1).with_script(vec![(2, Fault::LostAnswer)]);
    sim.server.offset_on_refusal = false;
    let mut upload = sim.upload(&[], RANGE, 1);
    let outcome = sim.run(&mut upload);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert!(sim.events.contains(&WopiEvent::SessionLost {
        cause: WopiSessionLoss::PositionUnknown,
        starting_over: true
    }));
    assert_eq!(sim.server.sessions_created, 2);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_probe_refused_by_a_host_still_busy_with_the_lost_update_is_asked_again() {
    // The update's answer is lost (a timeout) while the host is still taking it in: the probe
    // meets "another update is in progress" at the old offset, then goes through.
    let sim = run_scripted(
        2_000,
        vec![(2, Fault::PartialThenLost(0)), (3, Fault::Busy)],
    );
    let updates = sim.updates();
    assert_eq!((updates[2].offset, updates[2].len), (Some(400), 1));
    assert!(sim.events.iter().any(|e| matches!(
        e,
        WopiEvent::RetryScheduled { host_reason: Some(reason), .. }
            if reason == "another update is in progress"
    )));
}

#[test]
fn a_400_on_an_ordinary_update_is_fatal_and_stores_nothing() {
    let mut sim = Sim::new(2_000, &[], 1).with_script(vec![(3, Fault::Status(400, None))]);
    let mut upload = sim.upload(&[], RANGE, 1);
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Failed(e) if e.to_string().contains("HTTP 400")),
        "{outcome:?}"
    );
    assert!(sim.server.streams.is_empty());
}

#[test]
fn heavy_random_faults_still_store_the_file_and_resend_only_probes() {
    for seed in 0..20 {
        let mut sim = Sim::new(30_000, &[], seed).with_faults(random_faults(30));
        let mut config =
            super::harness::config(super::harness::streams(&sim.source, &[]), 1_500, seed);
        config.on_sequence_conflict =
            resumable_core::wopi::SequenceConflictPolicy::Adopt { max: 4 };
        let mut upload = sim.upload_with(config);
        let outcome = sim.run(&mut upload);
        assert!(
            matches!(outcome, Outcome::Completed(_)),
            "seed {seed}: {outcome:?}"
        );
        sim.assert_clean(1);
        sim.assert_stored_source();
    }
}

#[test]
fn no_secret_reaches_a_printed_request_event_error_or_checkpoint() {
    let mut sim = Sim::new(5_000, &[], 3).with_faults(random_faults(40));
    sim.client.keep_checkpoints = true;
    let mut upload = sim.upload(&[], RANGE, 3);
    sim.run(&mut upload);
    let mut printed = String::new();
    for request in &sim.requests {
        printed += &format!("{request:?}");
    }
    for event in &sim.events {
        printed += &format!("{event:?}");
        if let WopiEvent::Failed(error) = event {
            printed += &error.to_string();
        }
    }
    for checkpoint in &sim.client.checkpoints {
        printed += &format!("{checkpoint:?}");
    }
    printed += &format!("{upload:?}");
    assert!(!printed.is_empty());
    assert!(
        !printed.contains("AT-sim-secret") && !printed.contains("-secret"),
        "a secret was printed"
    );
    assert!(sim.requests.iter().all(|r| r.kind != RequestKind::Status));
}

//! Property tests: random fault seeds × random sizes, for every target. Each upload completes
//! with byte-identical content or fails with a clear error within its budget, and never breaks a
//! protocol rule on the way (the harness and the strict server record any slip).

use proptest::prelude::*;

use resumable_core::graph::UploadError;
use resumable_core::http::{Auth, Body, Request, RequestKind};
use resumable_core::retry::JitterRng;
use resumable_core::time::Instant;

use resumable_core::range::ByteRange;

use super::harness::{Fault, Outcome, Sim, continue_with_held_ranges, random_faults, upload};
use super::server::{Service, UPLOAD_HOST};

/// No client mistake seen by the harness or the strict server.
fn clean(sim: &Sim) -> Result<(), TestCaseError> {
    prop_assert!(
        sim.violations.is_empty(),
        "harness saw {:?}",
        sim.violations
    );
    prop_assert!(
        sim.server.violations.is_empty(),
        "server saw {:?}",
        sim.server.violations
    );
    Ok(())
}

fn check(service: Service, total: u64, seed: u64, percent: u64) -> Result<(), TestCaseError> {
    let mut sim = Sim::new(service, total, seed).with_faults(random_faults(percent));
    let mut up = upload(service, total, seed);
    let outcome = sim.run(&mut up);
    judge(service, &sim, outcome)
}

/// The rules every run must keep, whatever its faults: no protocol slip, a byte-identical file
/// or a clear error, "maybe done" only when that is the truth, within budget.
fn judge(service: Service, sim: &Sim, outcome: Outcome) -> Result<(), TestCaseError> {
    clean(sim)?;
    let limit = if service == Service::Print { 4 } else { 1 };
    prop_assert!(sim.server.max_in_flight_seen <= limit);
    for request in &sim.requests {
        if request.url.expose().starts_with(UPLOAD_HOST) {
            prop_assert_eq!(request.auth, Auth::None);
        }
    }
    match outcome {
        Outcome::Completed(done) => {
            prop_assert_eq!(sim.server.files.len(), 1);
            let stored = sim.server.files.values().next().unwrap();
            prop_assert!(stored == &sim.source, "stored bytes differ");
            // Completed only after the checks each service allows: size and QuickXorHash for
            // a drive item, size for a print document, the Location of an attachment.
            let checked = &done.verification;
            match service {
                Service::Drive => prop_assert!(checked.size && checked.has_hash(), "{checked}"),
                Service::Print => prop_assert!(checked.size, "{checked}"),
                Service::Mail => prop_assert!(checked.location, "{checked}"),
            }
        }
        Outcome::Failed(error) => {
            prop_assert!(
                matches!(
                    error,
                    UploadError::GaveUp { .. }
                        | UploadError::SessionLost { .. }
                        | UploadError::CompletionUnconfirmed { .. }
                        | UploadError::SendBudgetSpent { .. }
                ),
                "unexpected failure {error:?}"
            );
            // "Maybe done" only when an answer that completed the upload was really lost, or a
            // request that could have finished it stayed in doubt to the end.
            if matches!(error, UploadError::CompletionUnconfirmed { .. }) {
                prop_assert!(
                    sim.client.completion_unseen || sim.client.doubt_open,
                    "nothing could have completed the upload unseen"
                );
            }
            let text = error.to_string();
            prop_assert!(!text.contains("tempauth"));
            prop_assert!(text.contains(';'), "says what to do: {text}");
        }
        Outcome::Cancelled => prop_assert!(false, "nobody cancelled"),
    }
    // Within budget: three sessions of at most two stalled hours each.
    prop_assert!(sim.now < Instant::from_millis(6 * 3600 * 1000));
    let fragments = sim
        .requests
        .iter()
        .filter(|r| r.kind == RequestKind::Fragment)
        .count();
    prop_assert!(fragments < 2_000);
    Ok(())
}

/// A request that could finish the upload meets an ambiguous fault (a cut connection with
/// `cut` bytes through, a lost answer or a 503), then the session dies `kill_after` requests
/// later. Whatever the order, the upload completes, or (only when the truth allows it) ends
/// unconfirmed.
fn doubt_then_death(
    service: Service,
    total: u64,
    seed: u64,
    (fault, cut, kill_after): (u8, u64, usize),
) -> Result<(), TestCaseError> {
    let mut doubted: Option<usize> = None;
    let plan = move |request: &Request, n: usize, _: Instant, _: &mut JitterRng| {
        let to_session = request.url.expose().starts_with(UPLOAD_HOST);
        match (doubted, &request.body) {
            (None, Body::Source(range)) if range.end() == total => {
                doubted = Some(n);
                match fault {
                    0 => Fault::CutOff((cut % (range.len() + 1)) as usize),
                    1 => Fault::LostAnswer,
                    _ => Fault::Status(503, None),
                }
            }
            (Some(at), _) if n == at + kill_after && to_session => Fault::KillSession,
            _ => Fault::None,
        }
    };
    let mut sim = Sim::new(service, total, seed).with_faults(Box::new(plan));
    let mut up = upload(service, total, seed);
    let outcome = sim.run(&mut up);
    if let Outcome::Failed(error) = &outcome {
        prop_assert!(
            matches!(error, UploadError::CompletionUnconfirmed { size, .. } if *size == total),
            "{error:?}"
        );
    }
    judge(service, &sim, outcome)
}

/// A drive session that already holds scattered ranges and lists every gap: the upload sends
/// exactly the bytes the server lacks, each once, never overlapping what it holds (no 416).
fn scattered(total: u64, cuts: &[u64], chunks: u64, seed: u64) -> Result<(), TestCaseError> {
    let mut points: Vec<u64> = cuts.iter().map(|c| c % total).collect();
    points.sort_unstable();
    points.dedup();
    // Every other interval between the cut points is held.
    let held: Vec<ByteRange> = points
        .chunks(2)
        .filter_map(|pair| match pair {
            [start, end] => ByteRange::new(*start, *end),
            _ => None,
        })
        .collect();
    let held_bytes: u64 = held.iter().map(ByteRange::len).sum();
    let mut sim = Sim::new(Service::Drive, total, seed);
    sim.server.list_every_gap = true;
    let mut up = continue_with_held_ranges(&mut sim, total, &held, chunks * 327_680, seed);
    let before = sim.requests.len();
    let outcome = sim.run(&mut up);
    prop_assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    clean(&sim)?;
    prop_assert!(sim.server.files.values().next() == Some(&sim.source));
    let sent = sim.fragment_ranges_from(before);
    for range in &sent {
        prop_assert!(
            held.iter().all(|h| h.intersection(range).is_none()),
            "{range:?} overlaps held bytes {held:?}"
        );
    }
    prop_assert_eq!(
        sent.iter().map(ByteRange::len).sum::<u64>(),
        total - held_bytes
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn drive_uploads_complete_intact_or_fail_clearly(
        seed in any::<u64>(),
        total in 1u64..1_700_000,
        percent in 0u64..40,
    ) {
        check(Service::Drive, total, seed, percent)?;
    }

    #[test]
    fn print_uploads_complete_intact_or_fail_clearly(
        seed in any::<u64>(),
        total in 1u64..1_700_000,
        percent in 0u64..40,
    ) {
        check(Service::Print, total, seed, percent)?;
    }

    #[test]
    fn mail_uploads_complete_intact_or_fail_clearly(
        seed in any::<u64>(),
        total in 1u64..1_700_000,
        percent in 0u64..40,
    ) {
        check(Service::Mail, total, seed, percent)?;
    }

    #[test]
    fn drive_sessions_holding_scattered_ranges_get_only_the_missing_bytes(
        seed in any::<u64>(),
        total in 2u64..3_000_000,
        cuts in proptest::collection::vec(any::<u64>(), 0..12),
        chunks in 1u64..6,
    ) {
        scattered(total, &cuts, chunks, seed)?;
    }

    #[test]
    fn a_final_request_in_doubt_then_a_dead_session_is_judged_truthfully(
        service in prop_oneof![Just(Service::Drive), Just(Service::Print), Just(Service::Mail)],
        seed in any::<u64>(),
        total in 1u64..1_000_000,
        doubt in (0u8..3, any::<u64>(), 1usize..4),
    ) {
        doubt_then_death(service, total, seed, doubt)?;
    }
}

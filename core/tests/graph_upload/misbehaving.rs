//! Servers that misbehave or answer in unusual shapes: several gaps, accepted fragments
//! that store nothing, 404s alternating with live answers, a dead session after a doubt.

use resumable_core::graph::{Upload, UploadError};
use resumable_core::http::RequestKind;
use resumable_core::range::ByteRange;
use resumable_core::retry::GiveUp;
use resumable_core::session::Failure;
use resumable_core::time::{Duration, Instant};

use super::harness::{
    Fault, Outcome, Sim, completes, config, continue_with_held_ranges, create_url, upload,
};
use super::server::Service;

const CHUNK: u64 = 327_680;

#[test]
fn drive_fragments_stay_inside_the_first_gap_when_the_server_lists_several() {
    let total = 8 * CHUNK + 5;
    let mut sim = Sim::new(Service::Drive, total, 39);
    sim.server.list_every_gap = true;
    // The server holds 0..320 KiB and 640..960 KiB: it answers ["327680-655359","983040-"].
    let held = [
        ByteRange::new(0, CHUNK).unwrap(),
        ByteRange::new(2 * CHUNK, 3 * CHUNK).unwrap(),
    ];
    let mut up = continue_with_held_ranges(&mut sim, total, &held, 4 * CHUNK, 39);
    let before = sim.requests.len();
    completes(&mut sim, &mut up);
    let sent = sim.fragment_ranges_from(before);
    assert_eq!(
        sent,
        [
            ByteRange::new(CHUNK, 2 * CHUNK).unwrap(),
            ByteRange::new(3 * CHUNK, 7 * CHUNK).unwrap(),
            ByteRange::new(7 * CHUNK, total).unwrap(),
        ],
        "each fragment stays inside the first gap; held bytes are not sent again"
    );
}

#[test]
fn a_fragment_may_end_off_the_grid_where_the_server_holds_the_next_bytes() {
    let total = 4 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 40);
    sim.server.list_every_gap = true;
    // The gap 327680..700000 ends off the 320 KiB grid, where held bytes begin.
    let held = [
        ByteRange::new(0, CHUNK).unwrap(),
        ByteRange::new(700_000, 3 * CHUNK).unwrap(),
    ];
    let mut up = continue_with_held_ranges(&mut sim, total, &held, 4 * CHUNK, 40);
    let before = sim.requests.len();
    completes(&mut sim, &mut up);
    let sent = sim.fragment_ranges_from(before);
    assert_eq!(
        sent,
        [
            ByteRange::new(CHUNK, 700_000).unwrap(),
            ByteRange::new(3 * CHUNK, total).unwrap(),
        ]
    );
}

#[test]
fn accepted_fragments_that_never_advance_spend_the_retry_budget() {
    let total = 3 * CHUNK;
    // Every PUT is "accepted" but the server never moves: 202 {"nextExpectedRanges":["0-"]}.
    let mut sim =
        Sim::new(Service::Drive, total, 41).with_faults(Box::new(|request, _, _, _| match request
            .kind
        {
            RequestKind::Fragment => Fault::Answer(202, r#"{"nextExpectedRanges":["0-"]}"#),
            _ => Fault::None,
        }));
    let mut up = upload(Service::Drive, total, 41);
    let Outcome::Failed(error) = sim.run(&mut up) else {
        panic!("must give up")
    };
    // Whichever bound comes first, the retries or the bytes sent, ends it.
    match error {
        UploadError::GaveUp {
            during: RequestKind::Fragment,
            last: Failure::NoProgress(202),
            reason: GiveUp::BudgetExhausted { .. },
        } => {}
        UploadError::SendBudgetSpent { sent, total: t } => {
            assert_eq!(t, total);
            assert!(sent <= 2 * total + 4 * CHUNK, "{sent}");
        }
        other => panic!("{other:?}"),
    }
    let sent: u64 = sim.fragments().iter().map(|r| r.body.len()).sum();
    assert!(sent <= 2 * total + 4 * CHUNK, "sent {sent} for {total}");
}
/// Every PUT answers 404 while every status request finds the session alive at byte 0.
fn puts_not_found(sim: Sim) -> Sim {
    sim.with_faults(Box::new(|request, _, _, _| match request.kind {
        RequestKind::Fragment => Fault::Status(404, None),
        _ => Fault::None,
    }))
}

#[test]
fn alternating_404s_and_live_status_answers_lose_the_session_in_bounded_time() {
    let total = 3 * CHUNK;
    let mut sim = puts_not_found(Sim::new(Service::Drive, total, 42));
    let mut up = upload(Service::Drive, total, 42);
    let outcome = sim.run(&mut up);
    assert_eq!(
        outcome,
        Outcome::Failed(UploadError::SessionLost {
            sessions: 3,
            can_recreate: true
        })
    );
    // A live status answer is no progress: four 404s (one and three retries) per session.
    assert_eq!(sim.fragments().len(), 3 * 4);
    assert!(
        sim.now < Instant::from_millis(5 * 60 * 1000),
        "{:?}",
        sim.now
    );
    sim.assert_clean();
}

#[test]
fn waits_after_404s_obey_the_stall_limit() {
    let total = 3 * CHUNK;
    let mut config = config(Service::Drive, total, 43);
    config.session.not_found_retries = 1_000;
    config.session.not_found_delay = Duration::from_secs(60);
    config.retry.max_stall = Duration::from_secs(10 * 60);
    let mut sim = puts_not_found(Sim::new(Service::Drive, total, 43));
    let mut up = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap();
    let Outcome::Failed(error) = sim.run(&mut up) else {
        panic!("must give up")
    };
    assert!(
        matches!(
            error,
            UploadError::GaveUp {
                during: RequestKind::Fragment,
                last: Failure::Status(404),
                reason: GiveUp::Stalled { .. },
            }
        ),
        "{error:?}"
    );
    assert!(
        sim.now <= Instant::from_millis(10 * 60 * 1000 + 1_000),
        "{:?}",
        sim.now
    );
    sim.assert_clean();
}

#[test]
fn a_last_fragment_shown_missing_then_lost_with_its_session_starts_over() {
    // Mail, four fragments: requests 1 to 4. The last one's connection drops before any byte
    // arrives; the status request (5) shows the tail missing; the session dies under the
    // re-sent last fragment (6). Nothing can have completed: a new session uploads it all.
    let total = 3 * 300_000 + 7;
    let mut sim = Sim::new(Service::Mail, total, 44)
        .with_script(vec![(4, Fault::CutOff(0)), (6, Fault::KillSession)]);
    let mut up = upload(Service::Mail, total, 44);
    completes(&mut sim, &mut up);
    assert_eq!(sim.requests[5].kind, RequestKind::Status);
    assert_eq!(up.sessions(), 2);
}

//! Sizes, variants and scenarios the engine must handle end to end.

use resumable_core::engine::{
    Checkpoint, CheckpointError, ConflictBehavior, DriveItem, Event, ExplicitCommit, Failure,
    SessionLoss, SessionLossCause, Stage, State, Target, Upload, UploadConfig, UploadError,
    VerifyError,
};
use resumable_core::http::{Auth, Body, Method, RequestKind};
use resumable_core::machine::StateMachine;
use resumable_core::range::ByteRange;
use resumable_core::retry::GiveUp;
use resumable_core::time::{Duration, Instant};

use super::harness::{Fault, Outcome, Sim, config, continue_with_held_ranges, create_url, upload};
use super::server::{GRAPH_HOST, Service};

const CHUNK: u64 = 327_680;

fn completes(sim: &mut Sim, up: &mut Upload) {
    let outcome = sim.run(up);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    sim.assert_clean();
    sim.assert_stored_source();
}

fn drive_run(total: u64) -> Sim {
    let mut sim = Sim::new(Service::Drive, total, total);
    let mut up = upload(Service::Drive, total, total);
    completes(&mut sim, &mut up);
    sim
}

#[test]
fn size_1_byte() {
    assert_eq!(drive_run(1).fragments().len(), 1);
}

#[test]
fn size_327_679_bytes() {
    assert_eq!(drive_run(327_679).fragments().len(), 1);
}

#[test]
fn size_327_680_bytes() {
    assert_eq!(drive_run(327_680).fragments().len(), 1);
}

#[test]
fn size_327_681_bytes() {
    let sim = drive_run(327_681);
    let last = sim.fragments()[1].body.clone();
    assert_eq!(
        last,
        Body::Source(ByteRange::new(CHUNK, CHUNK + 1).unwrap())
    );
}

#[test]
fn size_k_chunks_plus_1() {
    for k in [2, 5, 9] {
        let sim = drive_run(k * CHUNK + 1);
        assert_eq!(sim.fragments().len() as u64, k + 1);
    }
}

#[test]
fn empty_file_is_refused_with_advice_to_use_a_simple_upload() {
    let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 0);
    let error = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap_err();
    assert_eq!(error, UploadError::EmptyFile);
    assert!(error.to_string().contains("use a simple upload"));
}

/// A fresh upload to `service`, with a deferred commit if asked (drives only).
fn fresh(service: Service, total: u64, seed: u64, deferred: bool) -> Upload {
    let mut config = config(service, total, seed);
    if deferred {
        config.target = Target::DriveItem(DriveItem::new().named("file.bin").deferred());
    }
    Upload::create(create_url(service), config, Instant::ZERO).unwrap()
}

/// Crashes the process at every step of a fault-free run, right after the step's requests went
/// out (they reach the server; their answers reach no one), and resumes from the checkpoint
/// written at that moment, and from the one written a step earlier. The file must end up
/// stored exactly once, and the resumed upload must say so: `Completed`, or, where the engine
/// cannot read the item (print, mail), `CompletionUnconfirmed` when the crash did finish it.
fn resume_after_a_crash_at_every_step(service: Service, total: u64, seed: u64, deferred: bool) {
    let mut reference = Sim::new(service, total, seed);
    reference.keep_checkpoints = true;
    reference.commit_when_pending = deferred;
    let mut up = fresh(service, total, seed, deferred);
    completes(&mut reference, &mut up);
    let checkpoints = reference.checkpoints.clone();
    assert!(checkpoints.len() > 8);
    for step in 0..checkpoints.len() {
        for stale in [0, 1] {
            let Some(written) = step.checked_sub(stale) else {
                continue;
            };
            // Replay the same run up to this step, send its requests, and let the process die.
            let mut sim = Sim::new(service, total, seed);
            sim.commit_when_pending = deferred;
            let mut up = fresh(service, total, seed, deferred);
            for _ in 0..step {
                assert!(sim.step(&mut up).is_none(), "step {step}");
            }
            sim.send(&mut up);
            assert_eq!(up.checkpoint(), checkpoints[step], "step {step}: same run");
            drop(up);
            sim.abandon_in_flight();
            let finished_by_the_crash = sim.server.completions == 1;
            let bytes = checkpoints[written].to_bytes();
            let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
            let mut resumed = Upload::resume(checkpoint, sim.now).unwrap();
            let outcome = sim.run(&mut resumed);
            let at = format!("step {step}, checkpoint {written}: {outcome:?}");
            sim.assert_clean();
            assert_eq!(sim.server.completions, 1, "{at}: stored exactly once");
            assert!(sim.server.files.values().all(|f| f == &sim.source), "{at}");
            match outcome {
                Outcome::Completed(_) => {}
                Outcome::Failed(error @ UploadError::CompletionUnconfirmed { .. }) => {
                    assert!(finished_by_the_crash, "{at}");
                    assert_ne!(service, Service::Drive, "{at}: a drive item can be read");
                    let place = match service {
                        Service::Print => "the print job lists the document",
                        _ => "the message has the attachment",
                    };
                    assert!(error.to_string().contains(place), "{error}");
                }
                _ => panic!("{at}"),
            }
        }
    }
}

#[test]
fn resume_after_a_crash_at_every_step_drive() {
    resume_after_a_crash_at_every_step(Service::Drive, 8 * CHUNK + 5, 21, false);
}

#[test]
fn resume_after_a_crash_at_every_step_drive_deferred_commit() {
    resume_after_a_crash_at_every_step(Service::Drive, 5 * CHUNK + 5, 47, true);
}

#[test]
fn resume_after_a_crash_at_every_step_print() {
    resume_after_a_crash_at_every_step(Service::Print, 2_000_017, 48, false);
}

#[test]
fn resume_after_a_crash_at_every_step_mail() {
    resume_after_a_crash_at_every_step(Service::Mail, 2_700_003, 49, false);
}

#[test]
fn an_hour_of_503s_with_retry_after_finishes_in_milliseconds() {
    let total = 3 * CHUNK;
    let hour = Instant::from_millis(3_600_000);
    let mut sim =
        Sim::new(Service::Drive, total, 22).with_faults(Box::new(move |request, _, now, _| {
            // For an hour, every request to the session answers 503 "come back in 2 minutes".
            if now < hour && request.kind != RequestKind::CreateSession {
                Fault::Status(503, Some("120"))
            } else {
                Fault::None
            }
        }));
    sim.server.lifetime = Duration::from_secs(3 * 3600);
    let started = std::time::Instant::now();
    let mut up = upload(Service::Drive, total, 22);
    let _ = sim.run(&mut up);
    assert!(sim.now >= hour, "an hour of virtual time passed");
    assert!(matches!(sim.events.last(), Some(Event::Completed(_))));
    sim.assert_clean();
    sim.assert_stored_source();
    let waits = sim
        .events
        .iter()
        .filter(|e| matches!(e, Event::RetryScheduled { delay, .. } if *delay >= Duration::from_secs(120)))
        .count();
    assert!(waits >= 29, "each 503 was honoured: {waits}");
    // Milliseconds in practice; the bound leaves room for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn print_document_keeps_four_fragments_in_flight_acknowledged_out_of_order() {
    let total = 2_000_000 + 17;
    let mut sim = Sim::new(Service::Print, total, 23);
    let mut up = upload(Service::Print, total, 23);
    completes(&mut sim, &mut up);
    assert_eq!(sim.server.max_in_flight_seen, 4);
    // Answers came back in another order than the fragments went out.
    let sent: Vec<ByteRange> = sim
        .fragments()
        .iter()
        .map(|r| match r.body {
            Body::Source(range) => range,
            _ => unreachable!(),
        })
        .collect();
    let acked: Vec<ByteRange> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::FragmentAcknowledged { range, .. } => Some(*range),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 11);
    assert_ne!(sent[..acked.len()], acked[..], "acknowledged out of order");
    let Some(Event::Completed(done)) = sim.events.last() else {
        panic!()
    };
    assert_eq!(done.status, 201);
}

#[test]
fn print_document_survives_faults_with_fragments_in_flight() {
    for seed in 0..20 {
        let total = 1_500_000 + seed;
        let mut sim =
            Sim::new(Service::Print, total, seed).with_faults(super::harness::random_faults(20));
        let mut up = upload(Service::Print, total, seed);
        match sim.run(&mut up) {
            Outcome::Completed(_) => sim.assert_stored_source(),
            Outcome::Failed(error) => assert!(error.to_string().len() > 20),
            Outcome::Cancelled => panic!("nobody cancelled"),
        }
        sim.assert_clean();
        assert!(sim.server.max_in_flight_seen <= 4);
    }
}

#[test]
fn mail_attachment_end_to_end() {
    let total = 3_483_322;
    let mut sim = Sim::new(Service::Mail, total, 24);
    let mut up = upload(Service::Mail, total, 24);
    completes(&mut sim, &mut up);
    let create = &sim.requests[0];
    let Body::Json(json) = &create.body else {
        panic!()
    };
    assert!(
        std::str::from_utf8(json)
            .unwrap()
            .contains(r#""AttachmentItem""#)
    );
    for fragment in sim.fragments() {
        assert!(fragment.body.len() <= 4_000_000);
        assert_eq!(
            fragment.header("content-type"),
            Some("application/octet-stream")
        );
    }
    let Some(Event::Completed(done)) = sim.events.last() else {
        panic!()
    };
    assert_eq!(done.status, 201);
    assert!(done.location.as_deref().unwrap().contains("/attachments/"));
    assert_eq!(sim.server.max_in_flight_seen, 1);
}

#[test]
fn an_expired_session_is_noticed_ahead_and_replaced() {
    let total = 3 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 25);
    sim.server.lifetime = Duration::from_secs(60);
    // The second fragment meets a 429 asking for 5 minutes: the session dies meanwhile.
    let mut sim = sim.with_script(vec![(2, Fault::Status(429, Some("300")))]);
    let mut up = upload(Service::Drive, total, 25);
    completes(&mut sim, &mut up);
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::SessionLost {
            cause: SessionLossCause::Expired,
            starting_over: true
        }
    )));
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, Event::SessionCreated { number: 2, .. }))
    );
    // No request went into the dead session.
    assert!(sim.server.violations.is_empty());
    let statuses_404 = sim
        .requests
        .iter()
        .filter(|r| r.kind == RequestKind::Status)
        .count();
    assert_eq!(
        statuses_404, 0,
        "expiry was known ahead, nothing had to be asked"
    );
}

#[test]
fn short_lived_sessions_are_not_given_up_at_once() {
    // Sessions that live 8 s (an emulator on a fast time scale), extended by each fragment.
    let total = 6 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 38);
    sim.server.lifetime = Duration::from_secs(8);
    let mut up = upload(Service::Drive, total, 38);
    completes(&mut sim, &mut up);
    assert_eq!(up.sessions(), 1);
}

#[test]
fn a_404_is_retried_with_delay_then_the_session_is_recreated() {
    let total = 3 * CHUNK;
    // The session dies under the second fragment.
    let mut sim = Sim::new(Service::Drive, total, 26).with_script(vec![(2, Fault::KillSession)]);
    let mut up = upload(Service::Drive, total, 26);
    completes(&mut sim, &mut up);
    let gets = sim
        .requests
        .iter()
        .filter(|r| r.kind == RequestKind::Status)
        .count();
    assert_eq!(gets, 3, "the 404 is retried a few times first");
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::SessionLost {
            cause: SessionLossCause::NotFound,
            starting_over: true
        }
    )));
    assert_eq!(up.sessions(), 2);
}

#[test]
fn a_transient_404_does_not_lose_the_session() {
    let total = 3 * CHUNK;
    let mut sim =
        Sim::new(Service::Drive, total, 27).with_script(vec![(2, Fault::Status(404, None))]);
    let mut up = upload(Service::Drive, total, 27);
    completes(&mut sim, &mut up);
    assert_eq!(up.sessions(), 1);
}

#[test]
fn losing_the_session_under_the_fail_policy_stops_with_a_clear_error() {
    let total = 3 * CHUNK;
    let mut config = config(Service::Drive, total, 28);
    config.session.on_loss = SessionLoss::Fail;
    let mut sim = Sim::new(Service::Drive, total, 28).with_script(vec![(2, Fault::KillSession)]);
    let mut up = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap();
    let Outcome::Failed(error) = sim.run(&mut up) else {
        panic!()
    };
    assert_eq!(
        error,
        UploadError::SessionLost {
            sessions: 1,
            can_recreate: true
        }
    );
}

#[test]
fn endless_server_errors_exhaust_the_budget_with_a_clear_error() {
    let total = 2 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 29).with_faults(Box::new(|request, _, _, _| {
        if request.kind == RequestKind::CreateSession {
            Fault::None
        } else {
            Fault::Status(500, None)
        }
    }));
    let mut up = upload(Service::Drive, total, 29);
    let Outcome::Failed(error) = sim.run(&mut up) else {
        panic!()
    };
    assert!(matches!(
        error,
        UploadError::GaveUp {
            reason: GiveUp::BudgetExhausted { attempts: 10 },
            ..
        }
    ));
    assert!(
        error.to_string().contains("resume from the checkpoint"),
        "{error}"
    );
    assert!(
        sim.now < Instant::from_millis(15 * 60 * 1000),
        "within the backoff budget"
    );
}

#[test]
fn cancel_deletes_the_session() {
    let total = 4 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 30);
    let mut up = upload(Service::Drive, total, 30);
    while up.confirmed() == 0 {
        assert!(sim.step(&mut up).is_none());
    }
    let url = up.upload_url().unwrap().expose().to_owned();
    assert!(sim.server.has_session(&url));
    up.cancel(sim.now).unwrap();
    assert_eq!(up.state(), State::Cancelling);
    assert_eq!(sim.run(&mut up), Outcome::Cancelled);
    assert!(!sim.server.has_session(&url), "the session was deleted");
    let delete = sim.requests.last().unwrap();
    assert_eq!((delete.method, delete.auth), (Method::Delete, Auth::None));
    assert!(sim.server.files.is_empty());
    assert!(up.cancel(sim.now).is_err(), "nothing left to cancel");
}

#[test]
fn cancel_before_any_session_ends_at_once() {
    let mut up = upload(Service::Drive, 10, 31);
    up.cancel(Instant::ZERO).unwrap();
    assert_eq!(up.poll_event(), Some(Event::Cancelled));
    assert!(up.is_finished());
    assert!(up.poll_request(Instant::ZERO).is_none());
}

#[test]
fn a_name_conflict_is_resolved_by_an_explicit_source_url_commit() {
    let total = 2 * CHUNK + 3;
    let mut sim = Sim::new(Service::Drive, total, 32);
    sim.server.existing.push("file.bin".into());
    let mut up = upload(Service::Drive, total, 32);
    while up.state() != State::NameConflict {
        assert!(sim.step(&mut up).is_none(), "must stop on the conflict");
    }
    sim.pump(&mut up);
    assert!(sim.events.contains(&Event::NameConflict));
    assert!(
        up.commit(sim.now).is_err(),
        "a plain commit does not resolve a conflict"
    );
    let item_url = format!("{GRAPH_HOST}/me/drive/root:/file (2).bin:");
    let commit = ExplicitCommit::new(item_url, "file (2).bin", ConflictBehavior::Fail);
    up.commit_with_source_url(commit, sim.now).unwrap();
    completes(&mut sim, &mut up);
    let commit = sim.requests.last().unwrap();
    assert_eq!((commit.method, commit.auth), (Method::Put, Auth::Bearer));
    let Body::Json(json) = &commit.body else {
        panic!()
    };
    let json = std::str::from_utf8(json).unwrap();
    assert!(json.contains("@microsoft.graph.sourceUrl"));
    assert!(
        !format!("{commit:?}").contains("tempauth"),
        "the URL never prints"
    );
}

#[test]
fn a_damaged_checkpoint_is_refused() {
    let up = upload(Service::Drive, 5 * CHUNK, 33);
    let bytes = up.checkpoint().to_bytes();
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x20;
    assert!(matches!(
        Checkpoint::from_bytes(&damaged),
        Err(CheckpointError::Damaged { .. })
    ));
    assert_eq!(
        Checkpoint::from_bytes(&bytes[..bytes.len() - 1]).map(|_| ()),
        Err(CheckpointError::Damaged {
            expected: u32::from_str_radix(
                std::str::from_utf8(&bytes[..bytes.iter().position(|&b| b == b'\n').unwrap()])
                    .unwrap()
                    .rsplit(' ')
                    .next()
                    .unwrap(),
                16
            )
            .unwrap(),
            found: crc32fast::hash(
                &bytes[bytes.iter().position(|&b| b == b'\n').unwrap() + 1..bytes.len() - 1]
            ),
        })
    );
    assert_eq!(
        Checkpoint::from_bytes(b"{}").map(|_| ()),
        Err(CheckpointError::NotACheckpoint)
    );
    let newer = String::from_utf8(bytes.clone()).unwrap().replacen(
        "resumable-checkpoint 1 ",
        "resumable-checkpoint 9 ",
        1,
    );
    assert_eq!(
        Checkpoint::from_bytes(newer.as_bytes()).map(|_| ()),
        Err(CheckpointError::UnsupportedVersion { found: 9 })
    );
    assert!(!format!("{:?}", up.checkpoint()).contains("tempauth"));
}

#[test]
fn a_changed_source_fails_verification_and_restarts_whole() {
    let total = 4 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 34);
    let mut up = upload(Service::Drive, total, 34);
    while up.confirmed() < 2 * CHUNK {
        assert!(sim.step(&mut up).is_none());
    }
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.fingerprint().fragments.len(), 2);
    drop(up);
    sim.abandon_in_flight();
    // The file changes in its second fragment.
    sim.source[CHUNK as usize + 5] ^= 0xff;
    let source = sim.source.clone();
    let crc_of = |r: ByteRange| {
        Ok::<_, ()>(crc32fast::hash(
            &source[r.start() as usize..r.end() as usize],
        ))
    };
    let Err(VerifyError::Changed(change)) = checkpoint.verify(total, crc_of) else {
        panic!("the change must be seen")
    };
    assert_eq!(
        change,
        resumable_core::engine::SourceChange::Fragment {
            range: ByteRange::new(CHUNK, 2 * CHUNK).unwrap()
        }
    );
    let mut restarted = Upload::resume(checkpoint.restart(total), sim.now).unwrap();
    assert_eq!(restarted.state(), State::CreatingSession);
    completes(&mut sim, &mut restarted);
}

#[test]
fn expiry_uses_the_date_header_not_the_local_clock() {
    let total = 2 * CHUNK;
    let mut up = upload(Service::Drive, total, 35);
    // The caller's anchor is an hour off; the server's Date header corrects it.
    up.set_wall_clock(resumable_core::time::WallClock::new(
        Instant::ZERO,
        resumable_core::time::UnixTime::from_secs(1_780_000_000 - 3600),
    ));
    let now = Instant::from_millis(1_000);
    let create = up.poll_request(now).unwrap();
    let answer = resumable_core::http::Response::new(200)
        .with_header("Date", "Fri, 28 May 2026 20:26:41 GMT")
        .with_body(
            r#"{"uploadUrl":"https://up.sim.example/s?tempauth=1","expirationDateTime":"2026-05-28T20:36:41Z"}"#,
        );
    up.handle_response(now, create.id, answer);
    let fragment = up.poll_request(now).unwrap();
    assert!(
        up.poll_timeout().is_none(),
        "a fragment in flight defers the expiry"
    );
    up.handle_transport_error(
        now,
        fragment.id,
        resumable_core::http::TransportError::Connect,
    );
    // Ten minutes after the Date header, less the 10 s margin, on the caller's clock. The retry
    // comes first; once it is due the expiry is the only deadline.
    let expiry = Instant::from_millis(1_000 + 600_000 - 10_000);
    assert!(up.poll_timeout().unwrap() < expiry);
    up.handle_timeout(Instant::from_millis(60_000));
    assert_eq!(up.poll_timeout(), Some(expiry));
    assert_eq!(
        up.expires().unwrap().to_string(),
        "2026-05-28T20:36:41.000Z"
    );
}

#[test]
fn continuing_a_session_created_elsewhere_without_a_creation_url() {
    let total = 3 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 36);
    // Create the session with one upload, and continue it with another.
    let mut first = upload(Service::Drive, total, 36);
    while first.confirmed() == 0 {
        assert!(sim.step(&mut first).is_none());
    }
    let url = first.upload_url().unwrap().clone();
    drop(first);
    sim.abandon_in_flight();
    let mut second =
        Upload::continue_session(url, config(Service::Drive, total, 36), sim.now).unwrap();
    completes(&mut sim, &mut second);
    // Lost without a creation URL, it cannot recreate: the error says so.
    let mut sim = Sim::new(Service::Drive, total, 37);
    let mut third = Upload::continue_session(
        resumable_core::secret::SecretUrl::new("https://up.sim.example/session/99?tempauth=x"),
        config(Service::Drive, total, 37),
        Instant::ZERO,
    )
    .unwrap();
    let Outcome::Failed(error) = sim.run(&mut third) else {
        panic!()
    };
    assert_eq!(
        error,
        UploadError::SessionLost {
            sessions: 1,
            can_recreate: false
        }
    );
    assert!(!error.to_string().contains("tempauth"));
}

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
    assert_eq!(
        error,
        UploadError::GaveUp {
            during: RequestKind::Fragment,
            last: Failure::NoProgress(202),
            reason: GiveUp::BudgetExhausted { attempts: 10 },
        }
    );
    assert_eq!(sim.fragments().len(), 11, "the first PUT and ten retries");
    assert!(error.to_string().contains("without progress"), "{error}");
    sim.assert_clean();
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

/// Runs `up` until it waits for the caller in `state`, then lets time pass without a command.
fn wait_for_the_caller_until_the_end(sim: &mut Sim, up: &mut Upload, state: State) -> Outcome {
    while up.state() != state {
        assert!(sim.step(up).is_none(), "ended before {state}");
    }
    let fragments = sim.fragments().len();
    let outcome = sim.run(up);
    assert_eq!(
        sim.fragments().len(),
        fragments,
        "nothing is uploaded again"
    );
    assert_eq!(up.sessions(), 1, "no new session");
    sim.assert_clean();
    outcome
}

#[test]
fn a_deferred_commit_left_too_long_reports_the_expiry_and_stops() {
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 45);
    let mut config = config(Service::Drive, total, 45);
    config.target = Target::DriveItem(DriveItem::new().named("file.bin").deferred());
    let mut up = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap();
    let outcome = wait_for_the_caller_until_the_end(&mut sim, &mut up, State::CommitPending);
    let error = UploadError::UncommittedSessionLost {
        cause: SessionLossCause::Expired,
        name_conflict: false,
    };
    assert_eq!(outcome, Outcome::Failed(error.clone()));
    assert!(sim.events.contains(&Event::SessionLost {
        cause: SessionLossCause::Expired,
        starting_over: false
    }));
    assert_eq!(
        error.to_string(),
        "the upload session expired while its bytes waited for a commit, so nothing was stored; start the upload again and commit before the session expires"
    );
    assert!(sim.server.files.is_empty());
}

#[test]
fn a_name_conflict_left_too_long_reports_the_expiry_and_stops() {
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 46);
    sim.server.existing.push("file.bin".into());
    let mut up = upload(Service::Drive, total, 46);
    let outcome = wait_for_the_caller_until_the_end(&mut sim, &mut up, State::NameConflict);
    let error = UploadError::UncommittedSessionLost {
        cause: SessionLossCause::Expired,
        name_conflict: true,
    };
    assert_eq!(outcome, Outcome::Failed(error.clone()));
    assert!(
        error
            .to_string()
            .contains("another name or conflict behaviour"),
        "{error}"
    );
}

#[test]
fn a_crash_after_the_commit_went_out_resumes_to_completion() {
    // Persisted at CommitPending; then the commit went out and the process died before its
    // answer. The session is gone (committed), so the resume's status request meets 404s.
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 50);
    let mut up = fresh(Service::Drive, total, 50, true);
    while up.state() != State::CommitPending {
        assert!(sim.step(&mut up).is_none());
    }
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.stage(), &Stage::CommitPending);
    assert!(
        checkpoint.may_have_finished(),
        "the caller may commit at any moment"
    );
    up.commit(sim.now).unwrap();
    sim.pump(&mut up);
    drop(up);
    sim.abandon_in_flight();
    assert_eq!(sim.server.completions, 1, "the commit went through");
    let mut resumed = Upload::resume(checkpoint, sim.now).unwrap();
    let before = sim.requests.len();
    completes(&mut sim, &mut resumed);
    assert_eq!(sim.server.completions, 1, "nothing uploaded again");
    assert!(sim.fragment_ranges_from(before).is_empty());
    assert_eq!(
        sim.requests.last().unwrap().kind,
        RequestKind::FetchResource,
        "confirmed by reading the item"
    );
}

#[test]
fn an_explicit_commit_whose_answer_was_lost_is_confirmed_by_its_item() {
    let total = 2 * CHUNK + 3;
    let mut sim = Sim::new(Service::Drive, total, 51);
    sim.server.existing.push("file.bin".into());
    let mut up = upload(Service::Drive, total, 51);
    while up.state() != State::NameConflict {
        assert!(sim.step(&mut up).is_none(), "must stop on the conflict");
    }
    sim.pump(&mut up);
    let item_url = format!("{GRAPH_HOST}/me/drive/root:/file (2).bin:");
    let commit = ExplicitCommit::new(item_url.clone(), "file (2).bin", ConflictBehavior::Fail);
    up.commit_with_source_url(commit, sim.now).unwrap();
    // The commit (the next request) is carried out; its answer is lost.
    let next = sim.requests.len();
    let mut sim = sim.with_script(vec![(next, Fault::LostAnswer)]);
    completes(&mut sim, &mut up);
    let check = sim.requests.last().unwrap();
    assert_eq!(
        (check.kind, check.url.expose()),
        (RequestKind::FetchResource, item_url.as_str())
    );
    assert!(sim.server.files.contains_key(&item_url));
}

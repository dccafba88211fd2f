//! Sizes, variants and scenarios the engine must handle end to end.

use resumable_core::graph::{
    Checkpoint, ConfigError, ConflictBehavior, DriveItem, Event, ExplicitCommit, SessionLoss,
    SessionLossCause, State, Target, Upload, UploadConfig, UploadError,
};
use resumable_core::http::{Auth, Body, Method, RequestKind};
use resumable_core::range::ByteRange;
use resumable_core::retry::GiveUp;
use resumable_core::session::StateMachine;
use resumable_core::session::{CheckpointError, Failure, VerifyError};
use resumable_core::time::{Duration, Instant, WallClock};

use super::harness::{Fault, Outcome, Sim, completes, config, create_url, upload};
use super::server::{GRAPH_HOST, GraphServer, Service};

const CHUNK: u64 = 327_680;

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
    assert_eq!(error, UploadError::Config(ConfigError::EmptyFile));
    assert!(error.to_string().contains("use a simple upload"));
}

#[test]
fn a_mail_attachment_over_150_mb_is_refused_before_any_request() {
    use resumable_core::graph::{MAIL_ATTACHMENT_MAX, MailAttachment};
    let target = || Target::MailAttachment(MailAttachment::new("a.bin"));
    let at_limit = UploadConfig::new(target(), 150_000_000);
    assert!(Upload::create(create_url(Service::Mail), at_limit, Instant::ZERO).is_ok());
    let over = UploadConfig::new(target(), 150_000_001);
    let error = Upload::create(create_url(Service::Mail), over, Instant::ZERO).unwrap_err();
    assert_eq!(
        error,
        UploadError::Config(ConfigError::TooLarge {
            total: 150_000_001,
            max: MAIL_ATTACHMENT_MAX
        })
    );
}

/// For an hour, every request to the session answers 503 "come back in 2 minutes".
fn an_hour_of_503s(seed: u64) -> Sim {
    let hour = Instant::from_millis(3_600_000);
    let mut sim = Sim::new(Service::Drive, 3 * CHUNK, seed).with_faults(Box::new(
        move |request, _, now, _| {
            if now < hour && request.kind != RequestKind::CreateSession {
                Fault::Status(503, Some("120"))
            } else {
                Fault::None
            }
        },
    ));
    sim.server.lifetime = Duration::from_secs(3 * 3600);
    sim
}

#[test]
fn an_hour_of_503s_with_retry_after_finishes_in_milliseconds_when_the_budget_allows() {
    let total = 3 * CHUNK;
    let hour = Instant::from_millis(3_600_000);
    let mut sim = an_hour_of_503s(22);
    let started = std::time::Instant::now();
    let mut config = config(Service::Drive, total, 22);
    config.retry.max_attempts = 40;
    let mut up = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap();
    up.set_wall_clock(WallClock::new(
        Instant::ZERO,
        GraphServer::wall(Instant::ZERO),
    ));
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
fn endless_503s_with_retry_after_spend_the_retry_budget() {
    let mut sim = an_hour_of_503s(23);
    let mut up = upload(Service::Drive, 3 * CHUNK, 23);
    let Outcome::Failed(error) = sim.run(&mut up) else {
        panic!("must give up");
    };
    assert!(
        matches!(
            error,
            UploadError::GaveUp {
                last: Failure::Status(503),
                reason: GiveUp::BudgetExhausted { attempts: 10 },
                ..
            }
        ),
        "{error:?}"
    );
    let asked = sim
        .requests
        .iter()
        .filter(|r| r.kind != RequestKind::CreateSession)
        .count();
    assert_eq!(
        asked, 11,
        "the first try and ten retries, each after its Retry-After"
    );
    assert!(
        sim.now < Instant::from_millis(11 * 121_000),
        "{:?}",
        sim.now
    );
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
            Event::Acknowledged { range, .. } => Some(*range),
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
        error
            .to_string()
            .contains("with a checkpoint it resumes where it stopped"),
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
        resumable_core::session::SourceChange::Fragment {
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
        up.expires_at_wall().unwrap().to_string(),
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

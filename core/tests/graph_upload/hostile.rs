//! Servers that lie: an item before the last byte, the wrong size or hash, someone else's file
//! at the path, bytes claimed that were never sent, confirmed bytes forgotten again and again,
//! endless throttling, a clock in the past, unusable creation answers. Each run must end with
//! the source stored (and `Completed`) or with a clear failure, never `Completed` otherwise, and
//! within bounded requests.

use resumable_core::digest::SourceHashes;
use resumable_core::digest::stored::{HashKind, Mismatch};
use resumable_core::graph::{Event, Upload, UploadError};
use resumable_core::http::{Method, RequestKind};
use resumable_core::session::{Driven, Failure, Violation};
use resumable_core::time::{Duration, Instant};

use super::harness::{Fault, Outcome, Sim, completes, upload};
use super::server::{GRAPH_HOST, Service};

const CHUNK: u64 = 327_680;

/// A body for [`Fault::Answer`], which wants a `'static` text.
fn body(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The indexes of requests of `kind` in the order the machine sent them.
fn fragment_answers(sim: &Sim) -> usize {
    sim.fragments().len()
}

fn violations(sim: &Sim) -> Vec<Violation> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            Event::ProtocolViolation(v) => Some(*v),
            _ => None,
        })
        .collect()
}

#[test]
fn an_item_before_the_last_byte_is_a_violation_then_the_upload_goes_on() {
    let total = 4 * CHUNK;
    let item = body(format!(r#"{{"id":"x","size":{total}}}"#));
    // Request 0 creates the session; 2 is the second fragment of four.
    let mut sim =
        Sim::new(Service::Drive, total, 71).with_script(vec![(2, Fault::Answer(201, item))]);
    let mut up = upload(Service::Drive, total, 71);
    completes(&mut sim, &mut up);
    assert!(matches!(
        violations(&sim)[..],
        [Violation::PrematureEnd { total: t, .. }] if t == total
    ));
    let Some(Event::Completed(done)) = sim.events.last() else {
        unreachable!()
    };
    assert_eq!(
        done.verification.to_string(),
        "size and quickXorHash checked"
    );
}

#[test]
fn a_server_that_insists_on_an_early_item_is_given_up_on() {
    let total = 4 * CHUNK;
    let item = body(format!(r#"{{"id":"x","size":{total}}}"#));
    let mut sim =
        Sim::new(Service::Drive, total, 72).with_faults(Box::new(move |request, _, _, _| {
            match request.kind {
                RequestKind::Fragment | RequestKind::Status => Fault::Answer(201, item),
                _ => Fault::None,
            }
        }));
    let mut up = upload(Service::Drive, total, 72);
    let outcome = sim.run(&mut up);
    let Outcome::Failed(UploadError::ServiceMisbehaved { times, violation }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(times, 4);
    assert!(matches!(violation, Violation::PrematureEnd { .. }));
    // The session it gave up on was deleted.
    assert_eq!(sim.requests.last().map(|r| r.method), Some(Method::Delete));
    assert!(sim.requests.len() < 20, "{}", sim.requests.len());
}

#[test]
fn a_final_item_of_the_wrong_size_fails_clearly() {
    for stored in [0, 3 * CHUNK + 1] {
        let total = 3 * CHUNK;
        let item = body(format!(r#"{{"id":"x","size":{stored}}}"#));
        let mut sim =
            Sim::new(Service::Drive, total, 73).with_script(vec![(3, Fault::Answer(201, item))]);
        let mut up = upload(Service::Drive, total, 73);
        let outcome = sim.run(&mut up);
        let Outcome::Failed(error) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            error,
            UploadError::StoredFileDiffers {
                destination: resumable_core::graph::TargetKind::DriveItem,
                mismatch: Mismatch::Size {
                    source: total,
                    stored
                },
            }
        );
        let text = error.to_string();
        assert!(
            text.contains("NOT complete") && text.contains(&stored.to_string()),
            "{text}"
        );
    }
}

#[test]
fn a_final_item_with_another_hash_fails_clearly() {
    let total = 3 * CHUNK;
    let other = SourceHashes::of(&vec![7u8; total as usize]);
    let item = body(format!(
        r#"{{"id":"x","size":{total},"file":{{"hashes":{{"quickXorHash":"{}"}}}}}}"#,
        other.quick_xor_base64()
    ));
    let mut sim =
        Sim::new(Service::Drive, total, 74).with_script(vec![(3, Fault::Answer(201, item))]);
    let mut up = upload(Service::Drive, total, 74);
    let outcome = sim.run(&mut up);
    let Outcome::Failed(UploadError::StoredFileDiffers { mismatch, .. }) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        matches!(
            mismatch,
            Mismatch::Hash {
                kind: HashKind::QuickXor,
                ..
            }
        ),
        "{mismatch:?}"
    );
}

#[test]
fn an_older_file_at_the_path_is_not_taken_for_the_upload() {
    let total = 2 * CHUNK;
    // The last fragment's connection breaks with nothing stored, and the session dies.
    let mut sim = Sim::new(Service::Drive, total, 75)
        .with_script(vec![(2, Fault::CutOff(0)), (3, Fault::KillSession)]);
    // Someone's older file of the same size holds the path.
    let item_url = format!("{GRAPH_HOST}/me/drive/root:/file.bin:");
    sim.server
        .files
        .insert(item_url, vec![0xAB; total as usize]);
    let mut up = upload(Service::Drive, total, 75);
    completes(&mut sim, &mut up);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, Event::NotThisUpload(Mismatch::Hash { .. }))),
        "{:?}",
        sim.events
    );
    assert_eq!(up.sessions(), 2, "uploaded again in a new session");
}

#[test]
fn ranges_claiming_bytes_never_sent_are_not_followed() {
    let total = 6 * CHUNK;
    let skip = body(format!(r#"{{"nextExpectedRanges":["{}-"]}}"#, 4 * CHUNK));
    let mut sim =
        Sim::new(Service::Drive, total, 76).with_script(vec![(1, Fault::Answer(202, skip))]);
    let mut up = upload(Service::Drive, total, 76);
    completes(&mut sim, &mut up);
    assert!(matches!(
        violations(&sim)[..],
        [Violation::ClaimedUnsent { .. }]
    ));
}

#[test]
fn a_server_that_keeps_forgetting_is_given_up_on_within_the_send_budget() {
    let total = 12 * CHUNK;
    let mut count = 0;
    let mut sim =
        Sim::new(Service::Drive, total, 77).with_faults(Box::new(move |request, _, _, _| {
            if request.kind != RequestKind::Fragment {
                return Fault::None;
            }
            count += 1;
            if count % 3 == 0 {
                Fault::Answer(202, r#"{"nextExpectedRanges":["0-"]}"#)
            } else {
                Fault::None
            }
        }));
    let mut up = upload(Service::Drive, total, 77);
    let outcome = sim.run(&mut up);
    match &outcome {
        Outcome::Failed(UploadError::ServiceMisbehaved { violation, .. }) => {
            assert!(matches!(violation, Violation::Regressed { .. }));
            assert!(outcome_text(&outcome).contains("lost bytes it had confirmed"));
        }
        Outcome::Completed(_) => sim.assert_stored_source(),
        other => panic!("{other:?}"),
    }
    let sent: u64 = sim.fragments().iter().map(|r| r.body.len()).sum();
    assert!(sent <= 2 * total + 4 * CHUNK, "sent {sent} for {total}");
    assert!(fragment_answers(&sim) < 60);
}

/// Print fragments go four at once; the second meets a 502 (sent again later) and the fifth
/// goes while the second to fourth are out. The fifth's answer, the last to arrive, was made
/// when the service held only the first and the fifth: the third's and fourth's answers,
/// which confirmed them, overtook it. That is no loss: what those answers confirmed stays
/// confirmed, and only the second fragment goes again.
#[test]
fn an_answer_overtaken_by_concurrent_answers_is_not_a_loss() {
    const FRAGMENT: u64 = 200_000; // a print document's fragment here
    let total = 5 * FRAGMENT;
    let mut sim = Sim::new(Service::Print, total, 78);
    // Every request takes the same time to cross: the first four arrive, and are answered, in
    // the order they went.
    sim.link.latency = (20, 20);
    sim.link.rate = None;
    let stale = body(format!(
        r#"{{"nextExpectedRanges":["{FRAGMENT}-{}"]}}"#,
        4 * FRAGMENT - 1
    ));
    let (mut failed, mut late) = (false, false);
    sim = sim.with_faults(Box::new(move |request, _, _, _| match &request.body {
        resumable_core::http::Body::Source(range)
            if range.start() == FRAGMENT && !std::mem::replace(&mut failed, true) =>
        {
            Fault::Status(502, None)
        }
        resumable_core::http::Body::Source(range)
            if range.start() == 4 * FRAGMENT && !std::mem::replace(&mut late, true) =>
        {
            Fault::Late(202, stale)
        }
        _ => Fault::None,
    }));
    let mut up = upload(Service::Print, total, 78);
    completes(&mut sim, &mut up);
    assert_eq!(violations(&sim), [], "{:?}", sim.events);
    let sent: u64 = sim.fragments().iter().map(|r| r.body.len()).sum();
    assert_eq!(sent, total + FRAGMENT, "confirmed bytes went again");
}

/// The same with print documents, four fragments in flight: most answers overlap others and
/// only add to the account, so a loss shows only in an answer no fragment overlapped. The
/// upload still ends stored and checked, or given up on; never a commit of a session that
/// lacks bytes (a print session is finished by its last fragment, never by `POST`).
#[test]
fn a_print_server_that_keeps_forgetting_is_repaired_or_given_up_on() {
    for seed in 80..90 {
        let total = 12 * 200_000;
        let mut count = 0;
        let mut sim =
            Sim::new(Service::Print, total, seed).with_faults(Box::new(move |request, _, _, _| {
                if request.kind != RequestKind::Fragment {
                    return Fault::None;
                }
                count += 1;
                if count % 4 == 0 {
                    Fault::Answer(202, r#"{"nextExpectedRanges":["0-"]}"#)
                } else {
                    Fault::None
                }
            }));
        let mut up = upload(Service::Print, total, seed);
        let outcome = sim.run(&mut up);
        match &outcome {
            Outcome::Failed(UploadError::ServiceMisbehaved { violation, .. }) => {
                assert!(
                    matches!(violation, Violation::Regressed { .. }),
                    "{violation:?}"
                );
            }
            Outcome::Completed(_) => sim.assert_stored_source(),
            other => panic!("seed {seed}: {other:?}\n{:?}", sim.events),
        }
        sim.assert_clean();
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed(error) => error.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_session_expiring_in_the_past_is_used_anyway() {
    let total = 2 * CHUNK;
    // The server writes expiry times a day early: by them, every session expired long ago.
    let mut sim = Sim::new(Service::Drive, total, 78);
    sim.server.expiry_skew = Duration::from_secs(24 * 3600);
    let mut up = upload(Service::Drive, total, 78);
    completes(&mut sim, &mut up);
    assert_eq!(up.sessions(), 1, "not dropped without a request");
}

#[test]
fn unusable_creation_answers_end_with_a_protocol_error() {
    for (answer, last) in [
        ("<html>captive portal</html>", None),
        (
            r#"{"expirationDateTime":"2030-01-01T00:00:00Z"}"#,
            Some(Failure::NoUploadUrl),
        ),
        (
            r#"{"uploadUrl":"ftp://up.example/s"}"#,
            Some(Failure::BadUploadUrl),
        ),
        (
            r#"{"uploadUrl":"https://user:pw@up.example/s"}"#,
            Some(Failure::BadUploadUrl),
        ),
    ] {
        let mut sim =
            Sim::new(Service::Drive, CHUNK, 79).with_faults(Box::new(move |request, _, _, _| {
                match request.kind {
                    RequestKind::CreateSession => Fault::Answer(200, answer),
                    _ => Fault::None,
                }
            }));
        let mut up = upload(Service::Drive, CHUNK, 79);
        let outcome = sim.run(&mut up);
        let Outcome::Failed(UploadError::ProtocolError {
            during,
            last: got,
            times,
        }) = &outcome
        else {
            panic!("{answer}: {outcome:?}")
        };
        // A URL the service chose that cannot be used ends it at once; other unusable
        // answers are asked again, a few times.
        let tries = if last == Some(Failure::BadUploadUrl) {
            1
        } else {
            3
        };
        assert_eq!(
            (*during, *times),
            (RequestKind::CreateSession, tries),
            "{answer}"
        );
        if let Some(last) = last {
            assert_eq!(*got, last);
        }
        assert!(!outcome_text(&outcome).contains("check the connection"));
        assert!(!outcome_text(&outcome).contains("pw@"));
        assert_eq!(sim.requests.len(), tries as usize, "{answer}");
    }
}

#[test]
fn completion_always_follows_every_byte_and_a_matching_file() {
    // Every completed run of the property tests above ends on a verified file; this checks
    // the plain path says so.
    let total = 5 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 80);
    let mut up = upload(Service::Drive, total, 80);
    completes(&mut sim, &mut up);
    let Some(Event::Completed(done)) = sim.events.last() else {
        unreachable!()
    };
    assert!(done.verification.size && done.verification.hashes == [HashKind::QuickXor]);
    let _ = Instant::ZERO;
}

#[test]
fn a_status_answering_the_item_after_a_lost_last_answer_is_checked_then_taken() {
    let total = 2 * CHUNK;
    // The last fragment's answer is lost, and the status request (a GET on a finished session)
    // answers with the item instead of 404, as some services do: every byte went out, so the
    // item is a candidate, and its size and hash prove it.
    let mut sim = Sim::new(Service::Drive, total, 81).with_script(vec![(2, Fault::LostAnswer)]);
    let item = body(format!(
        r#"{{"id":"x","size":{total},"file":{{"hashes":{{"quickXorHash":"{}"}}}}}}"#,
        SourceHashes::of(&sim.source).quick_xor_base64()
    ));
    sim = sim.with_script(vec![(2, Fault::LostAnswer), (3, Fault::Answer(200, item))]);
    let mut up = upload(Service::Drive, total, 81);
    completes(&mut sim, &mut up);
    assert!(violations(&sim).is_empty(), "{:?}", violations(&sim));
}

/// Runs a drive upload of four fragments until its first is confirmed and its second is on its
/// way, takes the checkpoint, and kills it: the second fragment still lands on the server.
fn killed_with_a_fragment_in_flight(seed: u64) -> (Sim, resumable_core::graph::Checkpoint) {
    let total = 4 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, seed);
    let mut up = upload(Service::Drive, total, seed);
    while up.confirmed() < CHUNK {
        assert!(sim.step(&mut up).is_none());
    }
    sim.pump(&mut up);
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.confirmed_bytes(), CHUNK);
    assert_eq!(
        sim.fragments().len(),
        2,
        "the second fragment is on its way"
    );
    drop(up);
    sim.abandon_in_flight();
    (sim, checkpoint)
}

#[test]
fn a_resume_that_cannot_vouch_for_the_source_gives_up_bytes_it_cannot_check() {
    let (mut sim, checkpoint) = killed_with_a_fragment_in_flight(82);
    // The file changed inside the fragment that was stored but never answered (same size).
    sim.source[CHUNK as usize + 10] ^= 0xFF;
    // Without the transport vouching (its modification time changed), the bytes the session
    // holds beyond the checkpoint may be the old content: a new session, the old one deleted.
    let mut resumed = Upload::resume(checkpoint, sim.now).unwrap();
    completes(&mut sim, &mut resumed);
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::SessionLost {
            cause: resumable_core::graph::SessionLossCause::Unverifiable,
            starting_over: true
        }
    )));
    assert!(sim.requests.iter().any(|r| r.method == Method::Delete));
}

#[test]
fn a_resume_vouched_for_keeps_the_bytes_in_flight_at_the_interruption() {
    let (mut sim, checkpoint) = killed_with_a_fragment_in_flight(83);
    let mut resumed = Upload::resume(checkpoint, sim.now).unwrap();
    resumed.accept_held_bytes(); // the same modification time: the same source
    let before = sim.requests.len();
    completes(&mut sim, &mut resumed);
    assert_eq!(resumed.sessions(), 1);
    let resent = sim.fragment_ranges_from(before);
    assert!(resent.iter().all(|r| r.start() >= 2 * CHUNK), "{resent:?}");
}

#[test]
fn a_service_reporting_only_a_costly_hash_gets_it_computed_and_compared() {
    let total = 2 * CHUNK;
    for (right, seed) in [(true, 84), (false, 85)] {
        let mut sim = Sim::new(Service::Drive, total, seed);
        let sha1 = if right {
            SourceHashes::of(&sim.source).sha1.unwrap()
        } else {
            [0x5A; 20]
        };
        let item = body(format!(
            r#"{{"id":"x","size":{total},"file":{{"hashes":{{"sha1Hash":"{}"}}}}}}"#,
            resumable_core::digest::stored::hex(&sha1)
        ));
        sim = sim.with_script(vec![(2, Fault::Answer(201, item))]);
        let mut up = upload(Service::Drive, total, seed);
        let outcome = sim.run(&mut up);
        // No QuickXorHash to go by: the engine asked for the source's SHA-1.
        assert!(up.wanted_hash_kinds().sha1);
        match outcome {
            Outcome::Completed(done) if right => {
                assert_eq!(done.verification.hashes, [HashKind::Sha1]);
            }
            Outcome::Failed(UploadError::StoredFileDiffers { mismatch, .. }) if !right => {
                assert!(matches!(
                    mismatch,
                    Mismatch::Hash {
                        kind: HashKind::Sha1,
                        ..
                    }
                ));
            }
            other => panic!("{right}: {other:?}"),
        }
    }
}

#[test]
fn a_done_answer_with_nothing_to_check_is_not_taken_on_faith() {
    // The last fragment of a drive item answers 201 with no item and no Location: the file is
    // looked up by path and proven by its hash (the honest server stored it on the way).
    let total = 2 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 86);
    let mut up = upload(Service::Drive, total, 86);
    // The fragment is stored, its answer replaced by an empty 201.
    sim = sim.with_script(vec![(2, Fault::Answer(201, ""))]);
    let outcome = sim.run(&mut up);
    // The empty answer stored nothing here: the lookup finds no file, and the upload cannot be
    // confirmed rather than be called done.
    assert!(
        matches!(
            outcome,
            Outcome::Failed(UploadError::CompletionUnconfirmed { .. }) | Outcome::Completed(_)
        ),
        "{outcome:?}"
    );
    if let Outcome::Completed(done) = &outcome {
        assert!(done.verification.has_hash(), "{done:?}");
        sim.assert_stored_source();
    }
    assert!(
        sim.requests
            .iter()
            .any(|r| r.kind == resumable_core::http::RequestKind::FetchResource),
        "looked the item up"
    );
    // A print document has nowhere to look: unconfirmed, never completed.
    let mut sim =
        Sim::new(Service::Print, 200_000, 87).with_script(vec![(1, Fault::Answer(201, ""))]);
    let mut up = upload(Service::Print, 200_000, 87);
    let outcome = sim.run(&mut up);
    assert!(
        matches!(
            outcome,
            Outcome::Failed(UploadError::CompletionUnconfirmed { .. })
        ),
        "{outcome:?}"
    );
}

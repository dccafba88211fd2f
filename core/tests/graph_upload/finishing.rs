//! How an upload ends: crashes near the end and resuming from them, commits whose answers
//! are lost, and sessions lost while waiting for the caller.

use resumable_core::digest::stored::HashKind;
use resumable_core::graph::{
    Checkpoint, ConflictBehavior, DriveItem, Event, ExplicitCommit, SessionLossCause, Stage, State,
    Target, Upload, UploadError,
};
use resumable_core::http::RequestKind;
use resumable_core::time::Instant;

use super::harness::{Fault, Outcome, Sim, completes, config, create_url, upload};
use super::server::{GRAPH_HOST, Service};

const CHUNK: u64 = 327_680;

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
    reference.client.keep_checkpoints = true;
    reference.client.commit_when_pending = deferred;
    let mut up = fresh(service, total, seed, deferred);
    completes(&mut reference, &mut up);
    let checkpoints = reference.client.checkpoints.clone();
    assert!(checkpoints.len() > 8);
    for step in 0..checkpoints.len() {
        for stale in [0, 1] {
            let Some(written) = step.checked_sub(stale) else {
                continue;
            };
            // Replay the same run up to this step, send its requests, and let the process die.
            let mut sim = Sim::new(service, total, seed);
            sim.client.commit_when_pending = deferred;
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
            resumed.accept_held_bytes(); // the same source, unchanged
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
    resumed.accept_held_bytes(); // the same source, unchanged
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

#[test]
fn a_name_held_by_this_very_file_completes_the_upload() {
    // An earlier run stored the file and was killed before it could say so (its checkpoint
    // was already removed): the same upload again meets a 409, reads the item at the path, and
    // finds this file's size and hash there. Done, without a name conflict for the caller.
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 52);
    sim.server.sha1_on_items = true;
    let mut first = upload(Service::Drive, total, 52);
    completes(&mut sim, &mut first);
    let mut again = upload(Service::Drive, total, 52);
    let outcome = sim.run(&mut again);
    let Outcome::Completed(completion) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(completion.verification.hashes.contains(&HashKind::QuickXor));
    assert!(completion.verification.hashes.contains(&HashKind::Sha1));
    assert!(!sim.events.iter().any(|e| matches!(e, Event::NameConflict)));
    assert_eq!(sim.server.completions, 1, "nothing stored twice");
    let check = sim.requests.last().unwrap();
    assert_eq!(check.kind, RequestKind::FetchResource);
    sim.assert_stored_source();
}

#[test]
fn a_name_held_by_other_bytes_is_a_name_conflict() {
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 53);
    let mut first = upload(Service::Drive, total, 53);
    completes(&mut sim, &mut first);
    // The same name and size, other bytes.
    for file in sim.server.files.values_mut() {
        file[7] ^= 0xFF;
    }
    let mut again = upload(Service::Drive, total, 53);
    // Nobody answers the conflict here: the session expires while it waits.
    let outcome = sim.run(&mut again);
    ended_in_the_name_conflict(&sim, &outcome);
    let completed = sim
        .events
        .iter()
        .filter(|e| matches!(e, Event::Completed(_)));
    assert_eq!(completed.count(), 1, "only the first upload completed");
    assert_eq!(
        sim.requests.last().unwrap().kind,
        RequestKind::FetchResource
    );
    assert_eq!(sim.server.completions, 1);
}

/// The upload stopped at the name conflict (the session expired while nobody answered it).
fn ended_in_the_name_conflict(sim: &Sim, outcome: &Outcome) {
    assert!(
        matches!(
            outcome,
            Outcome::Failed(UploadError::UncommittedSessionLost {
                name_conflict: true,
                ..
            })
        ),
        "{outcome:?}"
    );
    assert!(sim.events.iter().any(|e| matches!(e, Event::NameConflict)));
}

#[test]
fn a_name_held_by_a_file_with_only_linear_hashes_stays_a_conflict() {
    // QuickXorHash alone is easily matched by a crafted file: a file that held the name before
    // this upload is not taken for it on that hash alone, even when it is this very file.
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 54);
    let mut first = upload(Service::Drive, total, 54);
    completes(&mut sim, &mut first);
    let mut again = upload(Service::Drive, total, 54);
    let outcome = sim.run(&mut again);
    ended_in_the_name_conflict(&sim, &outcome);
}

//! Checkpoints across a process kill: resume at the host's offset, after the session expired,
//! after completion; a changed source and damaged files are refused with typed errors.

use resumable_core::http::RequestKind;
use resumable_core::range::ByteRange;
use resumable_core::session::{CheckpointError, SourceChange, VerifyError};
use resumable_core::time::{Duration, Instant};
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{WopiCheckpoint, WopiEvent, WopiStage, WopiUpload};

use super::harness::{Outcome, Sim, streams};

fn hash_of(source: &[u8]) -> impl FnMut(ByteRange) -> Result<ChunkId, ()> + '_ {
    move |range| {
        Ok(ChunkId::of(
            &source[range.start() as usize..range.end() as usize],
        ))
    }
}

/// Runs until the host confirmed `at_least` stream bytes, then the process dies with an update
/// in flight (it still reaches the host). Returns the last checkpoint written, encoded.
fn killed_after(sim: &mut Sim, at_least: u64) -> Vec<u8> {
    let mut upload = sim.upload(&[], 500, 1);
    let mut saved = Vec::new();
    sim.run_until(&mut upload, |sim, up| {
        // A transport saves after each acknowledged range.
        if matches!(sim.events.last(), Some(WopiEvent::Acknowledged { .. })) {
            saved = up.checkpoint().to_bytes();
        }
        up.confirmed() >= at_least
    });
    // The next update goes out, then the process dies before its answer.
    sim.send(&mut upload);
    sim.abandon_in_flight();
    saved
}

#[test]
fn resume_after_a_kill_probes_and_continues_at_the_hosts_offset() {
    let mut sim = Sim::new(5_000, &[], 1);
    let saved = killed_after(&mut sim, 2_000);
    let checkpoint = WopiCheckpoint::from_bytes(&saved).unwrap();
    assert_eq!(checkpoint.stage(), &WopiStage::Uploading);
    assert_eq!(checkpoint.confirmed(), 2_000);
    checkpoint.verify(5_000, hash_of(&sim.source)).unwrap();
    let requests_before = sim.requests.len();
    let mut upload = WopiUpload::resume(checkpoint, sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.sessions == 1),
        "{outcome:?}"
    );
    // The update sent before the kill was stored: the probe learnt it and nothing else went twice.
    let first = &sim.requests[requests_before];
    assert_eq!(first.header("X-WOPI-ContentRangeOffset"), Some("2000"));
    assert_eq!(first.body.len(), 1);
    assert_eq!(sim.server.stale_updates.len(), 1);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn resume_after_the_session_expired_starts_a_new_one() {
    let mut sim = Sim::new(5_000, &[], 1);
    let saved = killed_after(&mut sim, 1_000);
    sim.now += Duration::from_secs(31 * 60);
    let checkpoint = WopiCheckpoint::from_bytes(&saved).unwrap();
    let mut upload = WopiUpload::resume(checkpoint, sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.sessions == 2),
        "{outcome:?}"
    );
    assert_eq!(sim.server.sessions_created, 2);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_wall_clock_lets_a_resume_skip_a_session_it_knows_expired() {
    use resumable_core::time::{UnixTime, WallClock};
    let mut sim = Sim::new(5_000, &[], 1);
    let mut upload = sim.upload(&[], 500, 1);
    upload.set_wall_clock(WallClock::new(sim.now, UnixTime::from_secs(1_000_000)));
    sim.run_until(&mut upload, |_, up| up.confirmed() >= 1_000);
    let checkpoint = upload.checkpoint();
    assert!(checkpoint.expires().is_some());
    // A new process, an hour later on both clocks.
    let later = sim.now + Duration::from_secs(3600);
    let mut resumed = WopiUpload::resume(checkpoint, later).unwrap();
    let since_start = later.saturating_duration_since(Instant::ZERO);
    resumed.set_wall_clock(WallClock::new(
        later,
        UnixTime::from_secs(1_000_000).saturating_add(since_start),
    ));
    sim.now = later;
    let before = sim.requests.len();
    let outcome = sim.run(&mut resumed);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert_eq!(sim.requests[before].kind, RequestKind::CreateSession);
    sim.assert_stored_source();
}

#[test]
fn a_completed_checkpoint_finishes_without_sending() {
    let mut sim = Sim::new(1_000, &[], 1);
    let mut upload = sim.upload(&[], 500, 1);
    sim.run(&mut upload);
    let checkpoint = upload.checkpoint();
    assert!(matches!(checkpoint.stage(), WopiStage::Completed(_)));
    let mut resumed = WopiUpload::resume(checkpoint, sim.now).unwrap();
    let before = sim.requests.len();
    let outcome = sim.run(&mut resumed);
    assert!(matches!(outcome, Outcome::Completed(_)));
    assert_eq!(sim.requests.len(), before);
}

#[test]
fn a_changed_source_is_refused_and_restarts_with_new_chunk_ids() {
    let mut sim = Sim::new(3_000, &[], 1);
    let saved = killed_after(&mut sim, 1_000);
    let checkpoint = WopiCheckpoint::from_bytes(&saved).unwrap();
    let mut changed = sim.source.clone();
    changed[2_500] ^= 1;
    assert_eq!(
        checkpoint.verify(3_000, hash_of(&changed)),
        Err(VerifyError::Changed(SourceChange::Fragment {
            range: ByteRange::new(0, 3_000).unwrap()
        }))
    );
    assert_eq!(
        checkpoint.verify(3_001, hash_of(&changed)),
        Err(VerifyError::Changed(SourceChange::Size {
            was: 3_000,
            now: 3_001
        }))
    );
    sim.source = changed;
    sim.client
        .expected
        .insert("MainContent".into(), sim.source.clone());
    let restarted = checkpoint.restart(streams(&sim.source, &[]));
    assert_eq!(restarted.stage(), &WopiStage::NotStarted);
    let mut upload = WopiUpload::resume(restarted, sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn damaged_and_foreign_checkpoints_are_typed_errors() {
    let mut sim = Sim::new(3_000, &[], 1);
    let saved = killed_after(&mut sim, 1_000);
    let truncated = &saved[..saved.len() - 5];
    assert!(matches!(
        WopiCheckpoint::from_bytes(truncated),
        Err(CheckpointError::Damaged { .. })
    ));
    assert_eq!(
        WopiCheckpoint::from_bytes(b"{}"),
        Err(CheckpointError::NotACheckpoint)
    );
    let newer = String::from_utf8(saved.clone()).unwrap().replacen(
        "resumable-checkpoint 1 ",
        "resumable-checkpoint 2 ",
        1,
    );
    assert_eq!(
        WopiCheckpoint::from_bytes(newer.as_bytes()),
        Err(CheckpointError::UnsupportedVersion { found: 2 })
    );
    assert!(resumable_core::graph::Checkpoint::from_bytes(&saved).is_err());
}

#[test]
fn a_fresh_access_token_replaces_the_expired_one_on_resume() {
    let mut sim = Sim::new(3_000, &[], 1);
    let saved = killed_after(&mut sim, 1_000);
    let checkpoint = WopiCheckpoint::from_bytes(&saved)
        .unwrap()
        .with_file_url("https://wopi.sim.example/wopi/files/doc-1?access_token=AT-sim-secret&v=2");
    let mut upload = WopiUpload::resume(checkpoint, sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert!(sim.requests.last().unwrap().url.expose().ends_with("&v=2"));
    sim.assert_stored_source();
}

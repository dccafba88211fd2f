//! The commit against the host: sequence numbers under each policy, locks, 413, the 501
//! fallback, a lost commit answer, several streams, and chunks the host already holds.

use resumable_core::http::RequestKind;
use resumable_core::secret::Secret;
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{SequenceConflictPolicy, WopiConfig, WopiError, WopiEvent, WopiState};

use super::harness::{Fault, Outcome, Sim, config, streams};

fn upload_with(sim: &mut Sim, edit: impl FnOnce(&mut WopiConfig)) -> Outcome {
    let mut config = config(streams(&sim.source, &[]), 500, 1);
    edit(&mut config);
    let mut upload = sim.upload_with(config);
    sim.run(&mut upload)
}

#[test]
fn the_completion_carries_the_hosts_new_sequence_number_and_version() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.sequence = 4;
    let outcome = upload_with(&mut sim, |c| c.sequence_number = 4);
    let Outcome::Completed(done) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(done.sequence_number, Some(5));
    assert_eq!(done.item_version.as_deref(), Some("v1"));
    assert_eq!((done.sessions, done.inline), (1, false));
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_412_fails_by_default_with_both_numbers_and_stores_nothing() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.sequence = 9;
    let outcome = upload_with(&mut sim, |c| c.sequence_number = 3);
    assert_eq!(
        outcome,
        Outcome::Failed(WopiError::SequenceMismatch {
            sent: 3,
            host: Some(9),
            maybe_own_commit: false,
            host_reason: Some("the file changed".into()),
        })
    );
    assert!(sim.server.streams.is_empty());
}

#[test]
fn a_412_adopted_commits_again_with_the_hosts_number_in_the_same_session() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.sequence = 9;
    let outcome = upload_with(&mut sim, |c| {
        c.sequence_number = 3;
        c.on_sequence_conflict = SequenceConflictPolicy::Adopt { max: 1 };
    });
    assert!(matches!(&outcome, Outcome::Completed(done) if done.sequence_number == Some(10)));
    assert!(sim.events.contains(&WopiEvent::SequenceConflict {
        sent: 3,
        host: Some(9),
        retrying: true,
        maybe_own_commit: false
    }));
    assert_eq!(sim.server.sessions_created, 1);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_412_asked_waits_for_the_caller_and_commits_with_the_number_given() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.sequence = 9;
    let mut config = config(streams(&sim.source, &[]), 500, 1);
    config.sequence_number = 3;
    config.on_sequence_conflict = SequenceConflictPolicy::Ask;
    let mut upload = sim.upload_with(config);
    let stopped = sim.run_until(&mut upload, |_, up| {
        up.state() == WopiState::SequenceConflict
    });
    assert_eq!(stopped, None);
    upload.commit_with_sequence_number(9, sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(matches!(&outcome, Outcome::Completed(done) if done.sequence_number == Some(10)));
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_lost_commit_answer_ends_with_the_file_stored_once_more_and_says_why() {
    // Requests: create, 5 ranges of 500 (2 032-byte stream), commit (7th, index 6).
    let mut sim = Sim::new(2_000, &[], 1).with_script(vec![(6, Fault::LostAnswer)]);
    let outcome = upload_with(&mut sim, |c| {
        c.on_sequence_conflict = SequenceConflictPolicy::Adopt { max: 1 };
    });
    assert!(matches!(&outcome, Outcome::Completed(_)), "{outcome:?}");
    // The lost commit consumed the session: the retry met 410, the stream went again in a new
    // session, and that commit met 412 with the host's number, moved by the first commit.
    assert!(sim.events.contains(&WopiEvent::SequenceConflict {
        sent: 1,
        host: Some(2),
        retrying: true,
        maybe_own_commit: true
    }));
    assert_eq!(sim.server.commits, 2);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_409_lock_mismatch_is_fatal_with_the_hosts_lock_and_mechanism() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.lock = Some("their-lock".into());
    let outcome = upload_with(&mut sim, |c| c.lock = Some(Secret::new("our-lock")));
    let Outcome::Failed(WopiError::LockMismatch {
        lock,
        mechanism,
        host_reason,
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        lock.map(|l| l.expose().to_owned()).as_deref(),
        Some("their-lock")
    );
    assert_eq!(mechanism.as_deref(), Some("WOPI-Lock"));
    assert_eq!(host_reason.as_deref(), Some("lock mismatch"));
    assert!(sim.server.streams.is_empty());
}

#[test]
fn the_matching_lock_commits() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.lock = Some("the-lock".into());
    let outcome = upload_with(&mut sim, |c| c.lock = Some(Secret::new("the-lock")));
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    sim.assert_stored_source();
}

#[test]
fn a_413_is_fatal_with_the_hosts_reason() {
    let mut sim = Sim::new(2_000, &[], 1);
    sim.server.max_file_len = Some(1_000);
    let outcome = upload_with(&mut sim, |_| {});
    assert_eq!(
        outcome,
        Outcome::Failed(WopiError::Rejected {
            during: RequestKind::Commit,
            status: 413,
            host_reason: Some("the file is too large".into()),
        })
    );
}

#[test]
fn a_501_to_create_falls_back_to_one_put_chunked_file_with_the_chunks_inline() {
    let mut sim = Sim::new(5_000, &[3_000], 1);
    sim.server.supports_sessions = false;
    let mut upload = sim.upload(&[3_000], 500, 1);
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.inline && done.sessions == 0),
        "{outcome:?}"
    );
    assert!(sim.events.contains(&WopiEvent::FallingBack));
    assert!(sim.updates().is_empty());
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn alternate_streams_are_committed_with_their_signatures() {
    let mut sim = Sim::new(6_000, &[4_000, 5_500], 2);
    let mut upload = sim.upload(&[4_000, 5_500], 700, 2);
    let outcome = sim.run(&mut upload);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert_eq!(upload.stream_len(), 6_000 + 3 * 32);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_chunk_repeated_across_streams_is_uploaded_once() {
    let mut sim = Sim::new(2_000, &[1_000], 3);
    let half = sim.source[..1_000].to_vec();
    sim.source[1_000..].copy_from_slice(&half);
    sim.client.expected.insert("Alt1".into(), half);
    let outcome = upload_with_cuts(&mut sim, &[1_000]);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert_eq!(sim.server.accepted_bytes, 1_000 + 32);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

fn upload_with_cuts(sim: &mut Sim, cuts: &[u64]) -> Outcome {
    let mut upload = sim.upload(cuts, 500, 1);
    sim.run(&mut upload)
}

#[test]
fn chunks_the_host_holds_are_neither_uploaded_nor_sent_inline() {
    let mut sim = Sim::new(4_000, &[2_000], 4);
    let first = upload_with_cuts(&mut sim, &[2_000]);
    let Outcome::Completed(done) = first else {
        panic!("{first:?}")
    };
    // The second version changes only the alternate stream.
    sim.source[3_000] ^= 0xff;
    sim.client
        .expected
        .insert("Alt1".into(), sim.source[2_000..].to_vec());
    let accepted_before = sim.server.accepted_bytes;
    let mut config = config(streams(&sim.source, &[2_000]), 500, 4);
    config.sequence_number = done.sequence_number.unwrap();
    config.host_chunks = vec![ChunkId::of(&sim.source[..2_000])];
    let mut upload = sim.upload_with(config);
    let second = sim.run(&mut upload);
    assert!(matches!(second, Outcome::Completed(_)), "{second:?}");
    assert_eq!(sim.server.accepted_bytes - accepted_before, 2_000 + 32);
    assert_eq!(sim.server.commits, 2);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

//! Property tests over random file sizes, stream layouts, range sizes and fault seeds: the host
//! always ends with the source byte for byte, no update ever skips ahead of the host, and a
//! range the host confirmed is never sent again (probes of one byte aside) nor re-sent inline in
//! the commit. The model is the source itself.

use proptest::prelude::*;
use resumable_core::range::ByteRange;
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{SequenceConflictPolicy, WopiCheckpoint, WopiUpload};

use super::harness::{Outcome, Sim, config, random_faults, streams};

/// Stream cuts: none, or one or two alternate streams.
fn cuts(len: u64) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0..=len.max(1), 0..=2).prop_map(|mut cuts| {
        cuts.sort_unstable();
        cuts
    })
}

fn case() -> impl Strategy<Value = (u64, Vec<u64>, u64, u64, u64)> {
    (0u64..40_000).prop_flat_map(|len| (Just(len), cuts(len), 64u64..8_000, 0u64..35, any::<u64>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_faults_never_change_a_stored_byte((len, cuts, range, percent, seed) in case()) {
        let mut sim = Sim::new(len, &cuts, seed).with_faults(random_faults(percent));
        let mut config = config(streams(&sim.source, &cuts), range, seed);
        // A lost commit answer moves the host's sequence number: let the engine follow it.
        config.on_sequence_conflict = SequenceConflictPolicy::Adopt { max: 8 };
        let mut upload = sim.upload_with(config);
        let outcome = sim.run(&mut upload);
        prop_assert!(matches!(outcome, Outcome::Completed(_)), "{:?}", outcome);
        sim.assert_clean(1);
        sim.assert_stored_source();
    }

    #[test]
    fn resuming_from_any_checkpoint_after_a_kill_stores_the_source(
        (len, cuts, range, percent, seed) in case(),
        kill_at in 0usize..200,
    ) {
        let mut sim = Sim::new(len, &cuts, seed).with_faults(random_faults(percent / 2));
        let mut config = config(streams(&sim.source, &cuts), range, seed);
        config.on_sequence_conflict = SequenceConflictPolicy::Adopt { max: 8 };
        let mut upload = sim.upload_with(config);
        let mut saved = upload.checkpoint().to_bytes();
        let mut steps = 0;
        let finished = sim.run_until(&mut upload, |_, up| {
            saved = up.checkpoint().to_bytes();
            steps += 1;
            steps > kill_at
        });
        if finished.is_none() {
            sim.send(&mut upload);
            sim.abandon_in_flight();
            drop(upload);
            let checkpoint = WopiCheckpoint::from_bytes(&saved).unwrap();
            let source = sim.source.clone();
            let verified = checkpoint.verify(len, |r: ByteRange| -> Result<ChunkId, ()> {
                Ok(ChunkId::of(&source[r.start() as usize..r.end() as usize]))
            });
            prop_assert_eq!(verified, Ok(()));
            let mut resumed = WopiUpload::resume(checkpoint, sim.now).unwrap();
            let outcome = sim.run(&mut resumed);
            prop_assert!(matches!(outcome, Outcome::Completed(_)), "{:?}", outcome);
        }
        sim.assert_clean(1);
        sim.assert_stored_source();
    }
}

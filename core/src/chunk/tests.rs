use super::*;
use proptest::prelude::*;
use std::string::ToString;

const KIB320: u64 = 327_680;

/// Plans a whole upload, letting the server keep only `keep(fragment)` bytes of each fragment,
/// and checks every fragment against the rule. Returns the fragments sent.
fn plan_upload(
    planner: &ChunkPlanner,
    total: u64,
    mut keep: impl FnMut(ByteRange) -> u64,
) -> std::vec::Vec<ByteRange> {
    let rule = planner.rule();
    let mut missing = RangeSet::<4>::new(total);
    let mut sent = std::vec::Vec::new();
    let mut server_offset = 0;
    while let Some(fragment) = planner.next_fragment(&missing) {
        assert_eq!(
            fragment.start(),
            server_offset,
            "fragments start where the server is"
        );
        assert!(
            fragment.len() <= rule.max_len(),
            "{fragment:?} over the maximum"
        );
        assert!(
            fragment.len() <= planner.preferred(),
            "{fragment:?} over the preferred size"
        );
        if fragment.end() != total {
            assert_eq!(
                fragment.end() % rule.alignment(),
                0,
                "{fragment:?} unaligned"
            );
            if fragment.start() % rule.alignment() == 0 {
                assert_eq!(fragment.len() % rule.alignment(), 0, "{fragment:?}");
            }
        }
        sent.push(fragment);
        let kept = keep(fragment).min(fragment.len());
        if let Some(stored) = fragment.truncated(kept) {
            missing.mark_received(stored).unwrap();
            server_offset = stored.end();
        }
        assert!(sent.len() < 100_000, "no progress");
    }
    assert_eq!(server_offset, total);
    sent
}

#[test]
fn boundary_file_sizes_cover_the_file_exactly_once() {
    let chunk = 10 * KIB320;
    let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, chunk);
    for total in [
        1,
        chunk - 1,
        chunk,
        chunk + 1,
        3 * chunk + 1,
        7 * chunk,
        KIB320 - 1,
        KIB320 + 1,
    ] {
        let sent = plan_upload(&planner, total, |f| f.len());
        let expected_count = total.div_ceil(chunk) as usize;
        assert_eq!(sent.len(), expected_count, "total {total}");
        assert_eq!(sent.iter().map(ByteRange::len).sum::<u64>(), total);
        assert_eq!(sent.last().unwrap().end(), total, "the last byte is sent");
    }
}

#[test]
fn a_file_under_one_fragment_is_one_fragment() {
    let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, 10 * 1024 * 1024);
    let sent = plan_upload(&planner, 4_533_322, |f| f.len());
    assert_eq!(sent, [ByteRange::new(0, 4_533_322).unwrap()]);
}

#[test]
fn realigns_after_partial_receipt() {
    let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, 4 * KIB320);
    let total = 20 * KIB320 + 17;
    let mut first = true;
    let sent = plan_upload(&planner, total, |f| {
        if std::mem::take(&mut first) {
            1_000
        } else {
            f.len()
        }
    });
    assert_eq!(sent[1], ByteRange::new(1_000, 4 * KIB320).unwrap());
    assert_eq!(sent[2].start(), 4 * KIB320);
}

#[test]
fn gap_just_before_a_boundary_takes_the_next_boundary() {
    let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, KIB320);
    let gap = ByteRange::new(KIB320 - 1, 10 * KIB320).unwrap();
    assert_eq!(
        planner.fragment_in(gap),
        ByteRange::new(KIB320 - 1, KIB320).unwrap()
    );
    let gap = ByteRange::new(KIB320 + 1, 10 * KIB320).unwrap();
    assert_eq!(
        planner.fragment_in(gap),
        ByteRange::new(KIB320 + 1, 2 * KIB320).unwrap()
    );
}

#[test]
fn middle_gaps_are_sent_whole_when_short() {
    let planner = ChunkPlanner::new(FragmentRule::GRAPH_PRINT, 4_000_000);
    let missing = RangeSet::<4>::from_expected(
        [
            ByteRange::new(10, 500).unwrap(),
            ByteRange::new(9_000_000, 20_000_000).unwrap(),
        ],
        20_000_000,
    )
    .unwrap();
    assert_eq!(planner.next_fragment(&missing), ByteRange::new(10, 500));
    assert_eq!(
        planner.next_fragment_from(&missing, 500),
        ByteRange::new(9_000_000, 13_000_000)
    );
    assert_eq!(planner.next_fragment_from(&missing, 20_000_000), None);
}

#[test]
fn rules_and_sizes() {
    assert_eq!(FragmentRule::GRAPH_DRIVE.max_aligned_len(), 191 * KIB320);
    assert!(FragmentRule::GRAPH_DRIVE.max_aligned_len() < 60 * 1024 * 1024);
    assert!(FragmentRule::GRAPH_PRINT.max_len() < 10_000_000);
    assert!(FragmentRule::GRAPH_ATTACHMENT.max_len() <= 4_000_000);
    assert_eq!(
        FragmentRule::GRAPH_DRIVE.check(0),
        Err(FragmentSizeError::Zero)
    );
    assert_eq!(
        FragmentRule::GRAPH_DRIVE.check(60 * 1024 * 1024),
        Err(FragmentSizeError::TooLarge {
            size: 60 * 1024 * 1024,
            max_len: 191 * KIB320
        })
    );
    assert_eq!(
        FragmentSizeError::Unaligned {
            size: 100,
            alignment: KIB320
        }
        .to_string(),
        "fragment size 100 is not a multiple of 327680 bytes; try 327680"
    );
    assert!(FragmentRule::GRAPH_ATTACHMENT.check(4_000_000).is_ok());
    assert!(FragmentRule::GRAPH_ATTACHMENT.check(4_000_001).is_err());
}

#[test]
fn adaptive_stays_within_bounds_and_rule() {
    let mut planner = ChunkPlanner::adaptive(
        FragmentRule::GRAPH_DRIVE,
        KIB320,
        Duration::from_secs(1),
        KIB320,
        8 * KIB320,
    );
    for _ in 0..10 {
        planner.record(planner.preferred(), Duration::from_millis(1));
    }
    assert_eq!(planner.preferred(), 8 * KIB320);
    for _ in 0..10 {
        planner.record(planner.preferred(), Duration::from_secs(100));
    }
    assert_eq!(planner.preferred(), KIB320);
    planner.record(KIB320, Duration::ZERO);
    assert_eq!(planner.preferred(), 2 * KIB320);
}

#[test]
fn fixed_planner_ignores_measurements() {
    let mut planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, 4 * KIB320);
    planner.record(1, Duration::from_secs(100));
    assert_eq!(planner.preferred(), 4 * KIB320);
}

fn rule() -> impl Strategy<Value = FragmentRule> {
    prop_oneof![
        Just(FragmentRule::GRAPH_DRIVE),
        Just(FragmentRule::GRAPH_PRINT),
        Just(FragmentRule::GRAPH_ATTACHMENT),
        (1u64..5_000, 1u64..20).prop_map(|(a, k)| FragmentRule::new(a, a * k + a / 2).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the rule, the preferred size, the file size and how much of each fragment the
    /// server keeps, fragments are aligned (or final), within limits, and cover the file.
    #[test]
    fn planner_respects_rules_and_covers_the_file(
        rule in rule(),
        preferred in 1u64..80_000_000,
        total in 1u64..400_000_000,
        keeps in proptest::collection::vec(any::<u64>(), 64),
    ) {
        let planner = ChunkPlanner::new(rule, preferred);
        prop_assume!(total / planner.preferred() < 2_000);
        let mut i = 0;
        let sent = plan_upload(&planner, total, |f| {
            i += 1;
            // Mostly whole fragments; sometimes a partial receipt of random length.
            let k = keeps[i % keeps.len()];
            if k % 4 == 0 { k % f.len() } else { f.len() }
        });
        prop_assert_eq!(sent.last().unwrap().end(), total);
    }

    #[test]
    fn fit_is_valid(rule in rule(), size in any::<u64>()) {
        prop_assert!(rule.check(rule.fit(size)).is_ok());
    }
}

use super::*;
use proptest::prelude::*;
use std::vec;

fn r(start: u64, end: u64) -> ByteRange {
    ByteRange::new(start, end).unwrap()
}

fn gaps<const N: usize>(set: &RangeSet<N>) -> std::vec::Vec<(u64, u64)> {
    set.iter().map(|g| (g.start(), g.end())).collect()
}

#[test]
fn received_in_the_middle_splits() {
    let mut set = RangeSet::<4>::new(100);
    set.mark_received(r(10, 20)).unwrap();
    assert_eq!(gaps(&set), [(0, 10), (20, 100)]);
    set.mark_received(r(0, 10)).unwrap();
    assert_eq!(gaps(&set), [(20, 100)]);
    assert_eq!(set.received(), 20);
}

#[test]
fn missing_coalesces_touching_and_overlapping() {
    let mut set = RangeSet::<4>::complete(100);
    set.mark_missing(r(10, 20)).unwrap();
    set.mark_missing(r(30, 40)).unwrap();
    set.mark_missing(r(20, 30)).unwrap();
    assert_eq!(gaps(&set), [(10, 40)]);
    set.mark_missing(r(0, 5)).unwrap();
    set.mark_missing(r(90, 100)).unwrap();
    set.mark_missing(r(3, 95)).unwrap();
    assert_eq!(gaps(&set), [(0, 100)]);
}

#[test]
fn capacity_overflow_is_an_error_and_changes_nothing() {
    let mut set = RangeSet::<2>::new(100);
    set.mark_received(r(10, 20)).unwrap();
    let before = set.clone();
    assert_eq!(
        set.mark_received(r(50, 60)),
        Err(RangeSetError::Capacity { capacity: 2 })
    );
    assert_eq!(set, before);
    assert_eq!(
        set.mark_missing(r(12, 13)),
        Err(RangeSetError::Capacity { capacity: 2 })
    );
    assert_eq!(set, before);
    let many = [r(0, 1), r(2, 3), r(4, 5)];
    assert_eq!(
        RangeSet::<2>::from_expected(many, 10),
        Err(RangeSetError::Capacity { capacity: 2 })
    );
}

#[test]
fn out_of_bounds_is_an_error() {
    let mut set = RangeSet::<2>::new(10);
    assert_eq!(
        set.mark_received(r(5, 11)),
        Err(RangeSetError::OutOfBounds {
            range: r(5, 11),
            total: 10
        })
    );
    assert_eq!(set.remaining(), 10);
}

#[test]
fn zero_total_is_complete() {
    let set = RangeSet::<1>::new(0);
    assert!(set.is_complete());
    assert_eq!(set.first_gap(), None);
}

#[test]
fn is_missing_and_first_gap_from() {
    let set = RangeSet::<4>::from_expected([r(10, 20), r(30, 40)], 50).unwrap();
    assert!(set.is_missing(r(12, 18)));
    assert!(!set.is_missing(r(15, 25)));
    assert_eq!(set.first_gap_from(0), Some(r(10, 20)));
    assert_eq!(set.first_gap_from(20), Some(r(30, 40)));
    assert_eq!(set.first_gap_from(35), Some(r(35, 40)));
    assert_eq!(set.first_gap_from(40), None);
}

#[derive(Debug, Clone)]
enum Op {
    Received(u64, u64),
    Missing(u64, u64),
}

fn op(total: u64) -> impl Strategy<Value = Op> {
    (any::<bool>(), 0..total, 1..=total).prop_map(move |(received, start, len)| {
        let end = (start + len).min(total).max(start + 1);
        if received {
            Op::Received(start, end)
        } else {
            Op::Missing(start, end)
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The set agrees with a `Vec<bool>` (true = missing) under any sequence of operations; an
    /// operation refused for capacity leaves both unchanged.
    #[test]
    fn agrees_with_bitmap_model(total in 1u64..200, ops in proptest::collection::vec(op(199), 0..40)) {
        let mut set = RangeSet::<6>::new(total);
        let mut model = vec![true; total as usize];
        for op in ops {
            let (start, end, missing) = match op {
                Op::Received(s, e) => (s, e, false),
                Op::Missing(s, e) => (s, e, true),
            };
            let range = r(start, end);
            let result = if missing { set.mark_missing(range) } else { set.mark_received(range) };
            match result {
                Ok(()) => {
                    for b in &mut model[start as usize..end as usize] {
                        *b = missing;
                    }
                }
                Err(RangeSetError::OutOfBounds { .. }) => prop_assert!(end > total),
                Err(RangeSetError::Capacity { .. }) => {}
            }
            // Sorted, disjoint, coalesced, non-empty.
            let g = gaps(&set);
            for pair in g.windows(2) {
                prop_assert!(pair[0].1 < pair[1].0);
            }
            let from_model: std::vec::Vec<bool> = (0..total)
                .map(|i| g.iter().any(|&(s, e)| s <= i && i < e))
                .collect();
            prop_assert_eq!(&from_model, &model);
            prop_assert_eq!(set.remaining(), model.iter().filter(|&&m| m).count() as u64);
            prop_assert_eq!(set.is_complete(), model.iter().all(|&m| !m));
            let first = model.iter().position(|&m| m).map(|s| s as u64);
            prop_assert_eq!(set.first_gap().map(|g| g.start()), first);
        }
    }
}

use super::*;
use proptest::prelude::*;
use std::string::ToString;

#[test]
fn classification_follows_spec_section_4() {
    let cases: &[(u16, StatusClass)] = &[
        (200, StatusClass::Success),
        (201, StatusClass::Success),
        (202, StatusClass::Success),
        (204, StatusClass::Success),
        (400, StatusClass::Fatal),
        (401, StatusClass::Fatal),
        (403, StatusClass::Fatal),
        (404, StatusClass::SessionGone),
        (408, StatusClass::Transient),
        (409, StatusClass::Fatal),
        (410, StatusClass::SessionGone),
        (412, StatusClass::Fatal),
        (413, StatusClass::Fatal),
        (416, StatusClass::Resync),
        (429, StatusClass::Throttled),
        (500, StatusClass::Transient),
        (501, StatusClass::Fatal),
        (502, StatusClass::Transient),
        (503, StatusClass::Transient),
        (504, StatusClass::Transient),
        (507, StatusClass::Fatal),
        (509, StatusClass::Transient),
        (302, StatusClass::Fatal),
        (100, StatusClass::Fatal),
        (0, StatusClass::Fatal),
        (u16::MAX, StatusClass::Fatal),
    ];
    for &(status, class) in cases {
        assert_eq!(StatusClass::of(status), class, "{status}");
    }
}

#[test]
fn retry_after_forms() {
    assert_eq!("0".parse(), Ok(RetryAfter::Delay(Duration::ZERO)));
    assert_eq!(" 5 ".parse(), Ok(RetryAfter::Delay(Duration::from_secs(5))));
    assert_eq!(
        "99999999999999999999999".parse(),
        Ok(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
    );
    assert_eq!(
        "Sun, 06 Nov 1994 08:49:37 GMT".parse(),
        Ok(RetryAfter::At(UnixTime::from_secs(784_111_777)))
    );
    for bad in ["", "-5", "1.5", "soon", "5s", "Sun, 06 Nov 1994"] {
        assert!(bad.parse::<RetryAfter>().is_err(), "{bad:?}");
    }
}

#[test]
fn budget_exhausts_and_refills_on_progress() {
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let mut retrier = Retrier::new(policy, 1, Instant::ZERO);
    for _ in 0..3 {
        retrier.schedule(Instant::ZERO, None).unwrap();
    }
    assert_eq!(
        retrier.schedule(Instant::ZERO, None),
        Err(GiveUp::BudgetExhausted { attempts: 3 })
    );
    retrier.progress(Instant::from_millis(10));
    assert!(retrier.schedule(Instant::from_millis(10), None).is_ok());
}

#[test]
fn backoff_ceiling_doubles_up_to_the_cap() {
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(1_000),
        max_attempts: 100,
        ..RetryPolicy::default()
    };
    let mut retrier = Retrier::new(policy, 9, Instant::ZERO);
    let ceilings: std::vec::Vec<u128> = (0..6)
        .map(|_| {
            let c = retrier.ceiling().as_millis();
            let d = retrier.schedule(Instant::ZERO, None).unwrap();
            assert!(d.as_millis() <= c);
            c
        })
        .collect();
    assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
}

#[test]
fn full_jitter_spreads_over_the_whole_window() {
    let policy = RetryPolicy {
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(10),
        max_attempts: u32::MAX,
        ..RetryPolicy::default()
    };
    let mut retrier = Retrier::new(policy, 3, Instant::ZERO);
    let delays: std::vec::Vec<u128> = (0..2000)
        .map(|_| retrier.schedule(Instant::ZERO, None).unwrap().as_millis())
        .collect();
    let low = delays.iter().filter(|&&d| d < 2_500).count();
    let high = delays.iter().filter(|&&d| d > 7_500).count();
    // Each quarter holds about 500 of 2000; a broken generator would pile up at one end.
    assert!((350..650).contains(&low), "{low}");
    assert!((350..650).contains(&high), "{high}");
}

#[test]
fn same_seed_same_delays() {
    let run = |seed| {
        let mut r = Retrier::new(RetryPolicy::default(), seed, Instant::ZERO);
        (0..5)
            .map(|_| r.schedule(Instant::ZERO, None).unwrap())
            .collect::<std::vec::Vec<_>>()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn retry_after_limits() {
    let policy = RetryPolicy {
        max_retry_after: Duration::from_secs(60),
        max_stall: Duration::from_secs(100),
        ..RetryPolicy::default()
    };
    let mut retrier = Retrier::new(policy, 1, Instant::ZERO);
    assert_eq!(
        retrier.schedule(Instant::ZERO, Some(Duration::from_secs(61))),
        Err(GiveUp::RetryAfterTooLong {
            asked: Duration::from_secs(61),
            max: Duration::from_secs(60)
        })
    );
    // Directed retries spend no budget, but stalls are bounded.
    let later = Instant::from_millis(50_000);
    assert!(matches!(
        retrier.schedule(later, Some(Duration::from_secs(55))),
        Err(GiveUp::Stalled { .. })
    ));
    assert_eq!(retrier.attempts(), 0);
}

#[test]
fn give_up_messages_say_what_happened() {
    assert_eq!(
        GiveUp::BudgetExhausted { attempts: 10 }.to_string(),
        "gave up after 10 retries without progress"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_undercuts_retry_after(seed in any::<u64>(), secs in 0u64..3600, attempts in 0u32..20) {
        let mut retrier = Retrier::new(RetryPolicy::default(), seed, Instant::ZERO);
        for _ in 0..attempts.min(9) {
            retrier.schedule(Instant::ZERO, None).unwrap();
        }
        let asked = Duration::from_secs(secs);
        let delay = retrier.schedule(Instant::ZERO, Some(asked)).unwrap();
        prop_assert!(delay >= asked);
    }

    #[test]
    fn below_or_equal_is_bounded(seed in any::<u64>(), bound in any::<u64>()) {
        let mut rng = JitterRng::new(seed);
        prop_assert!(rng.below_or_equal(bound) <= bound);
    }

    #[test]
    fn retry_after_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<RetryAfter>();
    }
}

#[test]
fn requested_waits_prefer_the_answers_date_then_the_wall_clock_then_the_fallback() {
    let fallback = Duration::from_secs(3600);
    let date = "Thu, 01 Jan 2026 00:00:04 GMT";
    let at = "Thu, 01 Jan 2026 00:00:10 GMT";
    let wall = UnixTime::parse_http_date("Thu, 01 Jan 2026 00:00:01 GMT").unwrap();
    let cases = [
        (None, None, None, None),
        (Some("7"), None, None, Some(7)),
        (Some("x"), Some(date), Some(wall), None),
        (Some(at), Some(date), Some(wall), Some(6)),
        (Some(at), Some(date), None, Some(6)),
        (Some(at), None, Some(wall), Some(9)),
        (Some(at), Some("not a date"), Some(wall), Some(9)),
        (Some(at), None, None, Some(3600)),
        (
            Some(at),
            Some("Thu, 01 Jan 2026 00:01:00 GMT"),
            None,
            Some(0),
        ),
    ];
    for (retry_after, date, wall, secs) in cases {
        assert_eq!(
            requested_wait(retry_after, date, wall, fallback),
            secs.map(Duration::from_secs),
            "{retry_after:?} {date:?} {wall:?}"
        );
    }
}

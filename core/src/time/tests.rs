use super::text::{civil_from_days, days_from_civil};
use super::*;
use proptest::prelude::*;
use std::string::ToString;

#[test]
fn rfc3339_forms_graph_writes() {
    let cases = [
        ("2026-01-29T09:21:55.523Z", 1_769_678_515_523),
        ("2026-01-29T09:21:55Z", 1_769_678_515_000),
        ("2026-01-29T09:21:55.5230000Z", 1_769_678_515_523),
        ("2026-01-29T09:21:55.5239Z", 1_769_678_515_523),
        ("2026-01-29T09:21:55.5Z", 1_769_678_515_500),
        ("2026-01-29T10:21:55.523+01:00", 1_769_678_515_523),
        ("2026-01-29T04:51:55.523-04:30", 1_769_678_515_523),
        ("2026-01-29t09:21:55.523z", 1_769_678_515_523),
        ("2026-01-29 09:21:55.523Z", 1_769_678_515_523),
        ("  2026-01-29T09:21:55.523Z\t", 1_769_678_515_523),
        ("2026-01-29T09:21:55.523", 1_769_678_515_523),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59Z", -1000),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
        ("2016-12-31T23:59:60Z", 1_483_228_799_000),
    ];
    for (text, millis) in cases {
        assert_eq!(
            UnixTime::parse_rfc3339(text),
            Ok(UnixTime::from_millis(millis)),
            "{text}"
        );
    }
}

#[test]
fn rfc3339_rejects_malformed() {
    let cases = [
        "",
        "2026",
        "2026-01-29",
        "2026-01-29T09:21",
        "2026-1-29T09:21:55Z",
        "2026-01-29T09:21:55.Z",
        "2026-01-29T09:21:55ZZ",
        "2026-01-29T09:21:55+0100",
        "2026-01-29X09:21:55Z",
        "abcd-01-29T09:21:55Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-29T24:00:00Z",
        "2026-01-29T23:60:00Z",
        "2026-01-29T23:59:61Z",
        "2026-01-29T23:59:59+24:00",
        "2026-01-29T23:59:59+01:60",
        "２０２６-01-29T23:59:59Z",
    ];
    for text in cases {
        assert!(UnixTime::parse_rfc3339(text).is_err(), "{text:?} parsed");
    }
}

/// An offset that carries a time out of years 0000..=9999 gives an instant `Display` cannot
/// write as RFC 3339: refused, as a field out of range. The edges themselves still parse.
#[test]
fn rfc3339_offsets_stay_inside_four_digit_years() {
    for text in [
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:30:00-00:30",
        "0000-01-01T00:00:00+01:00",
        "0000-01-01T00:29:59+00:30",
    ] {
        assert_eq!(
            UnixTime::parse_rfc3339(text),
            Err(TimeError::OutOfRange),
            "{text}"
        );
    }
    for text in [
        "9999-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00Z",
        "0000-01-01T01:00:00+01:00",
    ] {
        let time = UnixTime::parse_rfc3339(text).unwrap();
        assert_eq!(
            UnixTime::parse_rfc3339(&time.to_string()),
            Ok(time),
            "{text}"
        );
    }
}

#[test]
fn http_date_forms() {
    let t = UnixTime::from_secs(784_111_777);
    for text in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Sun Nov 06 08:49:37 1994",
        " Sun, 06 Nov 1994 08:49:37 GMT ",
        "sun, 06 nov 1994 08:49:37 GMT",
    ] {
        assert_eq!(UnixTime::parse_http_date(text), Ok(t), "{text}");
    }
    assert_eq!(
        UnixTime::parse_http_date("Thursday, 01-Jan-37 00:00:00 GMT"),
        UnixTime::parse_rfc3339("2037-01-01T00:00:00Z")
    );
}

#[test]
fn http_date_rejects_malformed() {
    for text in [
        "",
        "120",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37 94",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Su, 06 Nov 1994 08:49:37 GMT",
    ] {
        assert!(UnixTime::parse_http_date(text).is_err(), "{text:?} parsed");
    }
}

#[test]
fn display_formats() {
    let t = UnixTime::from_millis(-1);
    assert_eq!(t.to_string(), "1969-12-31T23:59:59.999Z");
    assert_eq!(
        UnixTime::EPOCH.http_date().to_string(),
        "Thu, 01 Jan 1970 00:00:00 GMT"
    );
}

#[test]
fn instant_arithmetic_saturates() {
    let t = Instant::from_millis(10);
    assert_eq!(t + Duration::from_secs(u64::MAX), Instant::MAX);
    assert_eq!(t - Duration::from_secs(1), Instant::ZERO);
    assert_eq!(t.checked_add(Duration::from_millis(u64::MAX)), None);
    assert_eq!(Instant::MAX + Duration::from_millis(1), Instant::MAX);
}

#[test]
fn wall_clock_clamps() {
    let clock = WallClock::new(Instant::from_millis(100), UnixTime::from_millis(1_000));
    assert_eq!(clock.instant_at(UnixTime::from_millis(0)), Instant::ZERO);
    assert_eq!(
        clock.instant_at(UnixTime::from_millis(i64::MAX)),
        Instant::from_millis(100 + i64::MAX as u64 - 1000)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rfc3339_display_parse_round_trip(millis in -62_135_596_800_000i64..253_402_300_799_999) {
        let t = UnixTime::from_millis(millis);
        prop_assert_eq!(UnixTime::parse_rfc3339(&t.to_string()), Ok(t));
    }

    #[test]
    fn http_date_round_trip(secs in 0i64..253_402_300_799) {
        let t = UnixTime::from_secs(secs);
        prop_assert_eq!(UnixTime::parse_http_date(&t.http_date().to_string()), Ok(t));
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,40}") {
        let _ = UnixTime::parse_rfc3339(&text);
        let _ = UnixTime::parse_http_date(&text);
    }

    #[test]
    fn civil_round_trip(days in -1_000_000i64..1_000_000) {
        let (y, m, d) = civil_from_days(days);
        prop_assert_eq!(days_from_civil(y, m, d), days);
    }
}

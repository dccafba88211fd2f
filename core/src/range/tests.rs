use super::*;
use proptest::prelude::*;
use std::string::ToString;
use std::vec;

fn r(start: u64, end: u64) -> ByteRange {
    ByteRange::new(start, end).unwrap()
}

#[test]
fn expected_range_forms() {
    let total = 4_533_322;
    let cases = [
        ("26-", r(26, total)),
        ("0-", r(0, total)),
        ("0-4533321", r(0, total)),
        ("5242-8255", r(5242, 8256)),
        ("2097152", r(2_097_152, total)),
        ("  26-  ", r(26, total)),
        ("\t12345-55232\n", r(12_345, 55_233)),
        ("7-7", r(7, 8)),
        ("4533321", r(4_533_321, total)),
        ("0000026-", r(26, total)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_expected_range(text, total), Ok(want), "{text:?}");
    }
}

#[test]
fn expected_range_rejects_malformed() {
    let total = 100;
    let cases = [
        ("", RangeError::Empty),
        ("   ", RangeError::Empty),
        ("-", RangeError::Syntax { at: 0 }),
        ("-5", RangeError::Syntax { at: 0 }),
        ("--", RangeError::Syntax { at: 0 }),
        ("abc", RangeError::Syntax { at: 0 }),
        ("5-3", RangeError::Reversed),
        ("5--", RangeError::Syntax { at: 2 }),
        ("26--", RangeError::Syntax { at: 3 }),
        ("5-x", RangeError::Syntax { at: 2 }),
        ("5 -7", RangeError::Syntax { at: 1 }),
        ("+5-", RangeError::Syntax { at: 0 }),
        ("1-2-3", RangeError::Syntax { at: 3 }),
        ("18446744073709551616", RangeError::Overflow),
        ("0-18446744073709551616", RangeError::Overflow),
        ("99999999999999999999999-", RangeError::Overflow),
        ("100-", RangeError::PastTotal),
        ("100", RangeError::PastTotal),
        ("50-100", RangeError::PastTotal),
        ("150-200", RangeError::PastTotal),
        ("0-18446744073709551615", RangeError::PastTotal),
    ];
    for (text, want) in cases {
        assert_eq!(parse_expected_range(text, total), Err(want), "{text:?}");
    }
}

#[test]
fn expected_range_without_total() {
    assert_eq!(
        "18446744073709551615".parse::<ExpectedRange>(),
        Ok(ExpectedRange {
            first: u64::MAX,
            last: None
        })
    );
    assert_eq!(
        ExpectedRange {
            first: 3,
            last: Some(9)
        }
        .to_string(),
        "3-9"
    );
}

#[test]
fn content_range_forms() {
    let cases = [
        (
            "bytes 0-327679/4533322",
            Some(r(0, 327_680)),
            Some(4_533_322),
        ),
        ("bytes */4533322", None, Some(4_533_322)),
        ("bytes 0-9/*", Some(r(0, 10)), None),
        ("Bytes 0-0/1", Some(r(0, 1)), Some(1)),
        (" bytes 5-5/6 ", Some(r(5, 6)), Some(6)),
        ("bytes */0", None, Some(0)),
        (
            "bytes 0-18446744073709551614/18446744073709551615",
            Some(r(0, u64::MAX)),
            Some(u64::MAX),
        ),
    ];
    for (text, range, total) in cases {
        let parsed: ContentRange = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!((parsed.range(), parsed.total()), (range, total), "{text:?}");
    }
}

#[test]
fn content_range_rejects_malformed() {
    let cases = [
        ("", RangeError::Empty),
        ("bytes", RangeError::Syntax { at: 0 }),
        ("bytes=0-9/10", RangeError::Syntax { at: 0 }),
        ("items 0-9/10", RangeError::Syntax { at: 0 }),
        ("bytes 0-9", RangeError::Syntax { at: 9 }),
        ("bytes 0-9/", RangeError::Syntax { at: 10 }),
        ("bytes */*", RangeError::Syntax { at: 6 }),
        ("bytes 9-0/10", RangeError::Reversed),
        ("bytes 0-10/10", RangeError::PastTotal),
        ("bytes 0-9/x", RangeError::Syntax { at: 10 }),
        ("bytes 09/10", RangeError::Syntax { at: 6 }),
        ("bytes -9/10", RangeError::Syntax { at: 6 }),
        ("bytes 0-/10", RangeError::Syntax { at: 8 }),
        ("bytes  0-9/10", RangeError::Syntax { at: 6 }),
        ("bytes 0-18446744073709551615/*", RangeError::Overflow),
        ("bytes 0-18446744073709551616/*", RangeError::Overflow),
        ("bytes 0-1/99999999999999999999", RangeError::Overflow),
    ];
    for (text, want) in cases {
        assert_eq!(text.parse::<ContentRange>(), Err(want), "{text:?}");
    }
}

#[test]
fn content_range_new_checks_total() {
    assert_eq!(ContentRange::new(r(0, 11), 10), Err(RangeError::PastTotal));
    assert!(ContentRange::new(r(0, 10), 10).is_ok());
}

#[test]
fn write_to_reports_needed_length_untouched() {
    let header = ContentRange::new(r(u64::MAX - 2, u64::MAX), u64::MAX).unwrap();
    let text = header.to_string();
    let mut exact = [0u8; ContentRange::MAX_LEN];
    let n = header.write_to(&mut exact).unwrap();
    assert_eq!(&exact[..n], text.as_bytes());
    let mut small = vec![0xAAu8; n - 1];
    assert_eq!(
        header.write_to(&mut small),
        Err(BufferTooSmall { needed: n })
    );
    assert!(small.iter().all(|&b| b == 0xAA));
    let mut fits = vec![0u8; n];
    assert_eq!(header.write_to(&mut fits), Ok(n));
}

#[test]
fn byte_range_constructors() {
    assert_eq!(ByteRange::from_inclusive(0, u64::MAX), None);
    assert_eq!(ByteRange::from_inclusive(5, 4), None);
    assert_eq!(ByteRange::with_len(u64::MAX, 1), None);
    assert_eq!(ByteRange::with_len(3, 0), None);
    assert_eq!(r(3, 10).truncated(4), Some(r(3, 7)));
    assert_eq!(r(3, 10).with_start(10), None);
    assert_eq!(r(3, 10).to_string(), "3-9");
}

fn content_range_strategy() -> impl Strategy<Value = ContentRange> {
    prop_oneof![
        (0u64..u64::MAX - 1, any::<u64>()).prop_filter_map("valid", |(first, extra)| {
            let last = first.saturating_add(extra % 1_000_000);
            let range = ByteRange::from_inclusive(first, last.min(u64::MAX - 1))?;
            let total = range.end().saturating_add(extra % 7);
            ContentRange::new(range, total).ok()
        }),
        any::<u64>().prop_map(ContentRange::unsatisfied),
        (0u64..u64::MAX - 1, 1u64..1 << 40).prop_filter_map("valid", |(s, len)| {
            ByteRange::with_len(s, len).map(ContentRange::unknown_total)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn content_range_format_parse_identity(header in content_range_strategy()) {
        let text = header.to_string();
        prop_assert_eq!(text.parse::<ContentRange>(), Ok(header));
        let mut buf = [0u8; ContentRange::MAX_LEN];
        let n = header.write_to(&mut buf).unwrap();
        prop_assert_eq!(&buf[..n], text.as_bytes());
    }

    #[test]
    fn expected_range_format_parse_identity(first in any::<u64>(), len in proptest::option::of(any::<u64>())) {
        let range = ExpectedRange { first, last: len.map(|l| first.saturating_add(l)) };
        prop_assert_eq!(range.to_string().parse::<ExpectedRange>(), Ok(range));
    }

    #[test]
    fn resolved_ranges_lie_inside_total(text in "[0-9 -]{0,12}", total in 0u64..2_000_000) {
        if let Ok(range) = parse_expected_range(&text, total) {
            prop_assert!(range.end() <= total);
            prop_assert!(range.start() < range.end());
        }
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,60}") {
        let _ = text.parse::<ContentRange>();
        let _ = text.parse::<ExpectedRange>();
        let _ = parse_expected_range(&text, 1 << 40);
    }
}

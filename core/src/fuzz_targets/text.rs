//! The wire-text parsers: `nextExpectedRanges` items, `Content-Range`, RFC 3339 timestamps,
//! HTTP-dates and `Retry-After`.

use alloc::string::{String, ToString};

use crate::range::{ByteRange, ContentRange, ExpectedRange, parse_expected_range};
use crate::retry::{RetryAfter, requested_wait};
use crate::time::{Duration, UnixTime};

use super::Choices;

/// Every wire-text parser over the same text, then over values made from the input. Never a
/// panic; whatever parses formats back to text that parses to the same value; resolved ranges lie
/// inside the total with `start < end`; `write_to` and `Display` agree; both timestamp parsers
/// agree on the instant; `Retry-After` reads digits as seconds and anything else as an HTTP-date.
pub fn wire_text(data: &[u8]) {
    let mut choices = Choices(data);
    let total = match choices.byte() % 4 {
        0 => u64::MAX,
        1 => 0,
        _ => u64::from(choices.u16()) << 8 | u64::from(choices.byte()),
    };
    let numbers = [
        u64::from(choices.u16()),
        u64::from(choices.u16()) << 40 | u64::from(choices.u16()),
    ];
    let text = String::from_utf8_lossy(choices.0);
    expected_range(&text, total);
    content_range(&text);
    timestamps(&text);
    retry_after(&text);
    made_values(numbers[0], numbers[1], total);
}

fn expected_range(text: &str, total: u64) {
    let parsed = text.parse::<ExpectedRange>();
    let resolved = parse_expected_range(text, total);
    match parsed {
        Ok(range) => {
            if let Some(last) = range.last {
                assert!(last >= range.first, "a reversed range parsed: {text:?}");
            }
            let written = range.to_string();
            assert!(!written.ends_with("--"), "an open range mangled: {written}");
            assert_eq!(written.parse::<ExpectedRange>(), Ok(range), "{written}");
            assert_eq!(resolved, range.resolve(total));
            if let Ok(bytes) = resolved {
                assert!(bytes.start() < bytes.end() && bytes.end() <= total);
                assert_eq!(bytes.start(), range.first);
                assert_eq!(bytes.end(), range.last.map_or(total, |last| last + 1));
            }
        }
        Err(error) => assert_eq!(resolved, Err(error)),
    }
}

fn content_range(text: &str) {
    let Ok(header) = text.parse::<ContentRange>() else {
        return;
    };
    assert!(header.range().is_some() || header.total().is_some());
    if let (Some(range), Some(total)) = (header.range(), header.total()) {
        assert!(
            range.end() <= total,
            "a range past its total parsed: {text:?}"
        );
    }
    let written = header.to_string();
    assert_eq!(written.parse::<ContentRange>(), Ok(header), "{written}");
    let mut buf = [0u8; ContentRange::MAX_LEN];
    let len = header.write_to(&mut buf).expect("MAX_LEN always suffices");
    assert_eq!(&buf[..len], written.as_bytes());
    // One byte short: refused, and the buffer left as it was.
    let mut short = [b'#'; ContentRange::MAX_LEN];
    assert!(header.write_to(&mut short[..len - 1]).is_err());
    assert!(
        short.iter().all(|&b| b == b'#'),
        "a short buffer was written"
    );
}

fn timestamps(text: &str) {
    if let Ok(time) = UnixTime::parse_rfc3339(text) {
        assert_eq!(
            UnixTime::parse_rfc3339(&time.to_string()),
            Ok(time),
            "{text:?} formats as {time}"
        );
        let whole_seconds = UnixTime::from_millis(time.as_millis().div_euclid(1000) * 1000);
        let date = time.http_date().to_string();
        assert_eq!(
            UnixTime::parse_http_date(&date),
            Ok(whole_seconds),
            "{date}"
        );
    }
    if let Ok(time) = UnixTime::parse_http_date(text) {
        assert_eq!(
            time.as_millis().rem_euclid(1000),
            0,
            "an HTTP-date has no fraction"
        );
        let date = time.http_date().to_string();
        assert_eq!(UnixTime::parse_http_date(&date), Ok(time), "{date}");
        assert_eq!(UnixTime::parse_rfc3339(&time.to_string()), Ok(time));
    }
}

fn retry_after(text: &str) {
    let trimmed = text.trim();
    let digits = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit());
    let parsed = text.parse::<RetryAfter>();
    match parsed {
        Ok(RetryAfter::Delay(delay)) => {
            assert!(digits, "a delay from {text:?}");
            let again = delay.as_secs().to_string().parse::<RetryAfter>();
            assert_eq!(again, Ok(RetryAfter::Delay(delay)));
            let unplaced = Duration::from_secs(3600);
            assert_eq!(
                requested_wait(Some(text), None, None, unplaced),
                Some(delay)
            );
        }
        Ok(RetryAfter::At(at)) => {
            assert!(!digits);
            assert_eq!(UnixTime::parse_http_date(text), Ok(at));
            // Measured from its own date it asks for no wait; from a second earlier, one second.
            let date = at.http_date().to_string();
            let earlier = UnixTime::from_millis(at.as_millis() - 1000)
                .http_date()
                .to_string();
            let unplaced = Duration::from_secs(3600);
            assert_eq!(
                requested_wait(Some(text), Some(&date), None, unplaced),
                Some(Duration::ZERO)
            );
            if UnixTime::parse_http_date(&earlier).is_ok() {
                assert_eq!(
                    requested_wait(Some(text), Some(&earlier), None, unplaced),
                    Some(Duration::from_secs(1))
                );
            }
        }
        Err(_) => {
            assert!(!digits, "digits {text:?} refused");
            assert!(UnixTime::parse_http_date(text).is_err());
        }
    }
}

/// Values made from numbers rather than text: what the machines write must read back.
fn made_values(a: u64, b: u64, total: u64) {
    let (first, last) = (a.min(b), a.max(b));
    for range in [
        ExpectedRange { first, last: None },
        ExpectedRange {
            first,
            last: Some(last),
        },
    ] {
        assert_eq!(range.to_string().parse::<ExpectedRange>(), Ok(range));
    }
    let Some(range) = ByteRange::new(first, last) else {
        return;
    };
    match ContentRange::new(range, total) {
        Ok(header) => {
            assert!(range.end() <= total);
            let written = header.to_string();
            assert_eq!(
                written,
                alloc::format!("bytes {first}-{}/{total}", last - 1)
            );
            assert_eq!(written.parse::<ContentRange>(), Ok(header));
        }
        Err(_) => assert!(range.end() > total),
    }
    for header in [
        ContentRange::unknown_total(range),
        ContentRange::unsatisfied(total),
    ] {
        assert_eq!(header.to_string().parse::<ContentRange>(), Ok(header));
    }
    let time =
        UnixTime::from_millis(i64::try_from(a << 24 | b).unwrap_or(i64::MAX) % 253_402_300_800_000);
    assert_eq!(UnixTime::parse_rfc3339(&time.to_string()), Ok(time));
}

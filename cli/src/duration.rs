//! Durations as people write them on a command line: `90s`, `5m`, `1m30s`, `500ms`, `1.5h`.

use std::time::Duration;

/// Parses a duration: one or more `NUMBER UNIT` parts (`ms`, `s`, `m`, `h`; the number may have
/// a fraction), or a bare number of seconds. `1m30s` is 90 seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a duration (examples: 90s, 5m, 1m30s, 500ms, 2h)");
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds).ok_or_else(invalid);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let number: f64 = number.parse().map_err(|_| invalid())?;
        let seconds_per_unit = match unit.trim().to_ascii_lowercase().as_str() {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            _ => return Err(invalid()),
        };
        let part = seconds_to_duration(number * seconds_per_unit).ok_or_else(invalid)?;
        total = total.checked_add(part).ok_or_else(invalid)?;
        rest = after;
    }
    Ok(total)
}

/// A non-negative, finite number of seconds that fits a `Duration`, to the millisecond.
fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    let millis = (seconds * 1000.0).round();
    (millis.is_finite() && (0.0..1e15).contains(&millis))
        .then(|| Duration::from_millis(millis as u64))
}

/// Seconds with millisecond precision, trailing zeros dropped: `1.5s`, `0.25s`, `300s`.
pub(crate) fn format_seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_usual_forms() {
        let cases = [
            ("90s", 90_000),
            ("90", 90_000),
            ("0.5", 500),
            ("5m", 300_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("1.5h", 5_400_000),
            ("2 s", 2_000),
            ("1h2m3s4ms", 3_723_004),
            ("0s", 0),
            (" 10S ", 10_000),
        ];
        for (text, millis) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(millis)),
                "{text}"
            );
        }
    }

    #[test]
    fn refusals_say_what_is_expected() {
        for text in [
            "", "s", "5x", "-5s", "1..5s", "m5", "5m 3", "inf", "NaN", "1e30",
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(error.contains("examples: 90s"), "{text}: {error}");
        }
    }

    #[test]
    fn seconds_print_short() {
        assert_eq!(format_seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_seconds(Duration::from_millis(250)), "0.25s");
        assert_eq!(format_seconds(Duration::from_secs(300)), "300s");
        assert_eq!(format_seconds(Duration::ZERO), "0s");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any mix of hours, minutes, seconds and milliseconds adds up, and a printed duration
        /// reads back as itself.
        #[test]
        fn parts_add_up(h in 0u64..100, m in 0u64..100, s in 0u64..100, ms in 0u64..1000) {
            let text = format!("{h}h{m}m{s}s{ms}ms");
            let expected = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            prop_assert_eq!(parse_duration(&text), Ok(expected));
            prop_assert_eq!(parse_duration(&format_seconds(expected)), Ok(expected));
        }
    }
}

//! Byte sizes as people write them (`10MiB`, `5MB`, `327680`) and as the command prints them.

use std::fmt;

/// Parses a size: a whole number, optionally followed by a unit: `B`, `KB`/`MB`/`GB` (powers of
/// 1000), `KiB`/`MiB`/`GiB` (powers of 1024), or the one-letter `K`/`M`/`G` (also 1024, as most
/// tools read them). Case and a space before the unit do not matter.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (examples: 10MiB, 5MB, 327680)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use B, KB, MB, GB, KiB, MiB or GiB)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A size printed in binary units with one decimal (`256.0 MiB`), bytes below 1 KiB.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HumanBytes(pub(crate) u64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

/// A rate in decimal megabytes per second (`412.5 MB/s`), the unit throughput is quoted in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate(pub(crate) f64);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} MB/s", self.0 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("327680"), Ok(327_680));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("10 mib"), Ok(10 << 20));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("320KiB"), Ok(327_680));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("7b"), Ok(7));
    }

    #[test]
    fn bad_sizes_say_why() {
        assert!(parse_size("ten").unwrap_err().contains("not a size"));
        assert!(
            parse_size("10 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(
            parse_size("99999999999999GiB")
                .unwrap_err()
                .contains("too large")
        );
        assert!(parse_size("-5").is_err());
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(HumanBytes(5).to_string(), "5 B");
        assert_eq!(HumanBytes(256 << 20).to_string(), "256.0 MiB");
        assert_eq!(HumanBytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Rate(412_500_000.0).to_string(), "412.5 MB/s");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any whole number with any unit, in any case and spacing, parses to number × unit
        /// (the model: the unit table written out), or says it is too large.
        #[test]
        fn numbers_with_units_parse_to_their_product(
            number in 0u64..=u64::MAX / 2,
            unit in 0usize..11,
            upper in proptest::bool::ANY,
            space in proptest::bool::ANY,
        ) {
            let (name, multiplier) = [
                ("", 1u64), ("b", 1), ("kb", 1_000), ("mb", 1_000_000), ("gb", 1_000_000_000),
                ("k", 1 << 10), ("kib", 1 << 10), ("m", 1 << 20), ("mib", 1 << 20),
                ("g", 1 << 30), ("gib", 1 << 30),
            ][unit];
            let name = if upper { name.to_ascii_uppercase() } else { name.to_owned() };
            let text = format!("{number}{}{name}", if space { " " } else { "" });
            match number.checked_mul(multiplier) {
                Some(expected) => proptest::prop_assert_eq!(parse_size(&text), Ok(expected)),
                None => proptest::prop_assert!(parse_size(&text).unwrap_err().contains("too large")),
            }
        }
    }
}

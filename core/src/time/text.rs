//! The textual forms of time the services write: RFC 3339 timestamps (`expirationDateTime`)
//! and HTTP-dates (`Date`, `Retry-After`), read strictly and written back.

use core::fmt;

use super::UnixTime;

impl UnixTime {
    /// Parses an RFC 3339 timestamp as Graph writes it.
    ///
    /// Accepts any number of fraction digits (Graph writes 3, Outlook 7; precision beyond
    /// milliseconds is dropped), `Z` or a numeric offset, `T`/`t` or a space between date and time.
    /// A missing offset is read as UTC: some services omit it, and the alternative is to fail an
    /// upload over a timestamp.
    ///
    /// ```
    /// use resumable_core::time::UnixTime;
    /// let a = UnixTime::parse_rfc3339("2026-01-29T09:21:55Z").unwrap();
    /// let b = UnixTime::parse_rfc3339("2026-01-29T10:21:55.0000000+01:00").unwrap();
    /// assert_eq!(a, b);
    /// assert!(UnixTime::parse_rfc3339("2026-02-30T00:00:00Z").is_err());
    /// ```
    pub fn parse_rfc3339(text: &str) -> Result<UnixTime, TimeError> {
        let mut p = Cursor::new(text.trim());
        let year = p.digits(4, 4)?;
        p.expect(b'-')?;
        let month = p.digits(2, 2)?;
        p.expect(b'-')?;
        let day = p.digits(2, 2)?;
        match p.next() {
            Some(b'T' | b't' | b' ') => {}
            _ => return Err(p.syntax()),
        }
        let hour = p.digits(2, 2)?;
        p.expect(b':')?;
        let minute = p.digits(2, 2)?;
        p.expect(b':')?;
        let second = p.digits(2, 2)?;
        let mut millis = 0;
        if p.peek() == Some(b'.') {
            p.next();
            let start = p.pos;
            let mut scale = 100;
            while let Some(d @ b'0'..=b'9') = p.peek() {
                millis += i64::from(d - b'0') * scale;
                scale /= 10;
                p.next();
            }
            if p.pos == start {
                return Err(p.syntax());
            }
        }
        let offset_minutes = match p.next() {
            None => 0,
            Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let h = p.digits(2, 2)?;
                p.expect(b':')?;
                let m = p.digits(2, 2)?;
                if h > 23 || m > 59 {
                    return Err(TimeError::OutOfRange);
                }
                let minutes = h * 60 + m;
                if sign == b'+' { minutes } else { -minutes }
            }
            Some(_) => return Err(p.syntax()),
        };
        p.end()?;
        let civil = Civil::new(year, month, day, hour, minute, second)?;
        let secs = civil.unix_seconds() - offset_minutes * 60;
        // An offset can carry 0000-01-01 back into year -1, or 9999-12-31 on into 10000: times
        // RFC 3339's four-digit year cannot write, so `Display` could not give them back.
        if !(RFC3339_FIRST_SECOND..=RFC3339_LAST_SECOND).contains(&secs) {
            return Err(TimeError::OutOfRange);
        }
        Ok(UnixTime(secs * 1000 + millis))
    }

    /// Parses an HTTP-date (RFC 9110 section 5.6.7) in any of its three forms: IMF-fixdate
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
    ///
    /// ```
    /// use resumable_core::time::UnixTime;
    /// let t = UnixTime::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    /// assert_eq!(t, UnixTime::from_secs(784_111_777));
    /// assert_eq!(UnixTime::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Ok(t));
    /// assert_eq!(UnixTime::parse_http_date("Sun Nov  6 08:49:37 1994"), Ok(t));
    /// ```
    pub fn parse_http_date(text: &str) -> Result<UnixTime, TimeError> {
        let mut p = Cursor::new(text.trim());
        let weekday_len = p.alphabetic();
        if weekday_len < 3 {
            return Err(p.syntax());
        }
        let civil = match p.next() {
            Some(b',') if weekday_len == 3 => {
                // IMF-fixdate: ", 06 Nov 1994 08:49:37 GMT"
                p.expect(b' ')?;
                let day = p.digits(2, 2)?;
                p.expect(b' ')?;
                let month = p.month()?;
                p.expect(b' ')?;
                let year = p.digits(4, 4)?;
                p.expect(b' ')?;
                let (h, m, s) = p.clock()?;
                p.expect_text(" GMT")?;
                Civil::new(year, month, day, h, m, s)?
            }
            Some(b',') => {
                // RFC 850: ", 06-Nov-94 08:49:37 GMT"; two-digit years are taken as 1970..=2069.
                p.expect(b' ')?;
                let day = p.digits(2, 2)?;
                p.expect(b'-')?;
                let month = p.month()?;
                p.expect(b'-')?;
                let yy = p.digits(2, 2)?;
                let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
                p.expect(b' ')?;
                let (h, m, s) = p.clock()?;
                p.expect_text(" GMT")?;
                Civil::new(year, month, day, h, m, s)?
            }
            Some(b' ') if weekday_len == 3 => {
                // asctime: " Nov  6 08:49:37 1994"
                let month = p.month()?;
                p.expect(b' ')?;
                if p.peek() == Some(b' ') {
                    p.next();
                }
                let day = p.digits(1, 2)?;
                p.expect(b' ')?;
                let (h, m, s) = p.clock()?;
                p.expect(b' ')?;
                let year = p.digits(4, 4)?;
                Civil::new(year, month, day, h, m, s)?
            }
            _ => return Err(p.syntax()),
        };
        p.end()?;
        Ok(UnixTime::from_secs(civil.unix_seconds()))
    }

    /// A `Display` adapter that writes this time as an IMF-fixdate (`Retry-After`, `Date`).
    pub fn http_date(self) -> HttpDate {
        HttpDate(self)
    }

    fn civil(self) -> (Civil, i64) {
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        (Civil::from_unix_seconds(secs), millis)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, millis) = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, millis
        )
    }
}

/// Writes a [`UnixTime`] as an IMF-fixdate; made by [`UnixTime::http_date`].
#[derive(Clone, Copy, Debug)]
pub struct HttpDate(UnixTime);

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        let (c, _) = self.0.civil();
        let days_since_epoch = self.0.0.div_euclid(86_400_000);
        let weekday = DAYS[days_since_epoch.rem_euclid(7) as usize];
        let month = MONTHS[(c.month - 1) as usize];
        write!(
            f,
            "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
            c.day, c.year, c.hour, c.minute, c.second
        )
    }
}

/// Why a timestamp did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// The text does not have the expected shape; `at` is the byte offset of the first problem.
    Syntax {
        /// Byte offset (after trimming surrounding whitespace) where the text went wrong.
        at: usize,
    },
    /// A field is out of its range (month 13, February 30th, hour 24, offset +25:00).
    OutOfRange,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Syntax { at } => write!(f, "malformed timestamp at byte {at}"),
            TimeError::OutOfRange => f.write_str("timestamp field out of range"),
        }
    }
}

impl core::error::Error for TimeError {}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds: the instants RFC 3339 can
/// write.
const RFC3339_FIRST_SECOND: i64 = -62_167_219_200;
const RFC3339_LAST_SECOND: i64 = 253_402_300_799;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A proleptic Gregorian date and time of day, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

impl Civil {
    fn new(
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
    ) -> Result<Self, TimeError> {
        let in_range = (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && (0..=23).contains(&hour)
            && (0..=59).contains(&minute)
            // 60 is a leap second; it is read as the last second of the minute.
            && (0..=60).contains(&second);
        if !in_range {
            return Err(TimeError::OutOfRange);
        }
        Ok(Civil {
            year,
            month,
            day,
            hour,
            minute,
            second: second.min(59),
        })
    }

    fn unix_seconds(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + self.hour * 3600
            + self.minute * 60
            + self.second
    }

    fn from_unix_seconds(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm: eras of
// 400 years, each 146 097 days long, with March as the first month so leap days come last).
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A byte cursor for the timestamp grammars.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn syntax(&self) -> TimeError {
        TimeError::Syntax { at: self.pos }
    }

    fn expect(&mut self, want: u8) -> Result<(), TimeError> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn expect_text(&mut self, want: &str) -> Result<(), TimeError> {
        want.bytes().try_for_each(|b| self.expect(b))
    }

    fn end(&self) -> Result<(), TimeError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    /// Between `min` and `max` decimal digits.
    fn digits(&mut self, min: usize, max: usize) -> Result<i64, TimeError> {
        let start = self.pos;
        let mut value = 0i64;
        while self.pos - start < max {
            match self.peek() {
                Some(d @ b'0'..=b'9') => {
                    value = value * 10 + i64::from(d - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if self.pos - start < min {
            return Err(self.syntax());
        }
        Ok(value)
    }

    /// Skips ASCII letters and says how many there were.
    fn alphabetic(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn month(&mut self) -> Result<i64, TimeError> {
        let at = self.pos;
        let name = self.bytes.get(at..at + 3).ok_or_else(|| self.syntax())?;
        let index = MONTHS
            .iter()
            .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
            .ok_or(TimeError::Syntax { at })?;
        self.pos += 3;
        Ok(index as i64 + 1)
    }

    fn clock(&mut self) -> Result<(i64, i64, i64), TimeError> {
        let h = self.digits(2, 2)?;
        self.expect(b':')?;
        let m = self.digits(2, 2)?;
        self.expect(b':')?;
        let s = self.digits(2, 2)?;
        Ok((h, m, s))
    }
}

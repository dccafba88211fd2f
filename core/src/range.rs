//! Byte ranges as the services write them: `nextExpectedRanges` items and `Content-Range` headers.
//!
//! Inside the crate a [`ByteRange`] is half-open (`start..end`), which makes lengths and
//! adjacency arithmetic simple. On the wire ranges are inclusive (`0-327679` is 327 680 bytes);
//! the conversion happens here and nowhere else.

use core::fmt;
use core::str::FromStr;

use crate::buffer::{BufferTooSmall, write_display};

/// A non-empty range of byte offsets, `start..end` (end exclusive).
///
/// ```
/// use resumable_core::range::ByteRange;
/// let r = ByteRange::from_inclusive(0, 327_679).unwrap();
/// assert_eq!((r.start(), r.end(), r.len()), (0, 327_680, 327_680));
/// assert_eq!(r.last(), 327_679);
/// assert!(ByteRange::new(5, 5).is_none()); // empty
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "(u64, u64)", into = "(u64, u64)"))]
pub struct ByteRange {
    start: u64,
    end: u64,
}

impl ByteRange {
    /// `start..end`, or `None` if it would be empty or reversed.
    pub const fn new(start: u64, end: u64) -> Option<Self> {
        if start < end {
            Some(ByteRange { start, end })
        } else {
            None
        }
    }

    /// `first..=last` as written on the wire, or `None` if `first > last` or `last == u64::MAX`.
    pub const fn from_inclusive(first: u64, last: u64) -> Option<Self> {
        match last.checked_add(1) {
            Some(end) => ByteRange::new(first, end),
            None => None,
        }
    }

    /// `start..start + len`, or `None` if `len` is zero or the end overflows.
    pub const fn with_len(start: u64, len: u64) -> Option<Self> {
        match start.checked_add(len) {
            Some(end) => ByteRange::new(start, end),
            None => None,
        }
    }

    /// The first offset in the range.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// One past the last offset in the range.
    pub const fn end(&self) -> u64 {
        self.end
    }

    /// The last offset in the range (inclusive, as on the wire).
    pub const fn last(&self) -> u64 {
        self.end - 1
    }

    /// Number of bytes; never zero.
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Always `false`: a `ByteRange` is never empty. Present for API symmetry with slices.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Whether `offset` lies in the range.
    pub const fn contains(&self, offset: u64) -> bool {
        self.start <= offset && offset < self.end
    }

    /// The overlap of two ranges, if any.
    ///
    /// ```
    /// use resumable_core::range::ByteRange;
    /// let a = ByteRange::new(0, 10).unwrap();
    /// let b = ByteRange::new(5, 20).unwrap();
    /// assert_eq!(a.intersection(&b), ByteRange::new(5, 10));
    /// assert_eq!(a.intersection(&ByteRange::new(10, 11).unwrap()), None);
    /// ```
    pub fn intersection(&self, other: &ByteRange) -> Option<ByteRange> {
        ByteRange::new(self.start.max(other.start), self.end.min(other.end))
    }

    /// The same range with its start moved to `start`, if that leaves bytes.
    pub fn with_start(&self, start: u64) -> Option<ByteRange> {
        ByteRange::new(start, self.end)
    }

    /// The same range cut to at most `len` bytes.
    pub fn truncated(&self, len: u64) -> Option<ByteRange> {
        ByteRange::with_len(self.start, len.min(self.len()))
    }
}

impl fmt::Debug for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Writes the wire form `first-last`.
impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.last())
    }
}

impl TryFrom<(u64, u64)> for ByteRange {
    type Error = RangeError;
    fn try_from((start, end): (u64, u64)) -> Result<Self, RangeError> {
        ByteRange::new(start, end).ok_or(RangeError::Reversed)
    }
}

impl From<ByteRange> for (u64, u64) {
    fn from(r: ByteRange) -> (u64, u64) {
        (r.start, r.end)
    }
}

/// One item of `nextExpectedRanges` before the total size is applied.
///
/// Four forms occur (SPEC 1.1): open `"26-"`, closed `"5242880-8255205"`, bare start `"2097152"`
/// (mail attachments), each possibly surrounded by whitespace. Open and bare both mean "from here
/// to the end".
///
/// ```
/// use resumable_core::range::{ByteRange, ExpectedRange};
/// let open: ExpectedRange = "26-".parse().unwrap();
/// assert_eq!(open, ExpectedRange { first: 26, last: None });
/// assert_eq!(open.resolve(100), Ok(ByteRange::new(26, 100).unwrap()));
/// assert_eq!(open.to_string(), "26-"); // never "26--"
/// let closed: ExpectedRange = " 0-4533321 ".parse().unwrap();
/// assert_eq!(closed.resolve(4_533_322).unwrap().len(), 4_533_322);
/// assert_eq!("2097152".parse::<ExpectedRange>().unwrap().last, None);
/// assert!("5-3".parse::<ExpectedRange>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedRange {
    /// The first byte the server expects.
    pub first: u64,
    /// The last byte (inclusive) of this gap, or `None` for "to the end of the file".
    pub last: Option<u64>,
}

impl ExpectedRange {
    /// Applies the file's total size: the gap as a half-open range inside `0..total`.
    pub fn resolve(&self, total: u64) -> Result<ByteRange, RangeError> {
        let end = match self.last {
            Some(last) if last >= total => return Err(RangeError::PastTotal),
            Some(last) => last + 1,
            None => total,
        };
        if self.first >= total {
            return Err(RangeError::PastTotal);
        }
        ByteRange::new(self.first, end).ok_or(RangeError::Reversed)
    }
}

impl FromStr for ExpectedRange {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Self, RangeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(RangeError::Empty);
        }
        let (first, rest) = match text.split_once('-') {
            None => (text, None),
            Some((first, last)) => (first, Some(last)),
        };
        let first = parse_offset(first, 0)?;
        let last = match rest {
            None | Some("") => None,
            Some(last) => {
                let last = parse_offset(last, text.len() - last.len())?;
                if last < first {
                    return Err(RangeError::Reversed);
                }
                Some(last)
            }
        };
        Ok(ExpectedRange { first, last })
    }
}

impl fmt::Display for ExpectedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last {
            Some(last) => write!(f, "{}-{last}", self.first),
            None => write!(f, "{}-", self.first),
        }
    }
}

/// Parses one `nextExpectedRanges` item against the file's total size.
///
/// ```
/// use resumable_core::range::{parse_expected_range, RangeError};
/// assert_eq!(parse_expected_range("26-", 100).unwrap().start(), 26);
/// assert_eq!(parse_expected_range("26-30", 100).unwrap().len(), 5);
/// assert_eq!(parse_expected_range("100-", 100), Err(RangeError::PastTotal));
/// assert!(parse_expected_range("-", 100).is_err());
/// assert!(parse_expected_range("abc", 100).is_err());
/// assert_eq!(parse_expected_range("18446744073709551616-", 100), Err(RangeError::Overflow));
/// ```
pub fn parse_expected_range(text: &str, total: u64) -> Result<ByteRange, RangeError> {
    text.parse::<ExpectedRange>()?.resolve(total)
}

/// A `Content-Range` header value for a byte range: `bytes 0-327679/4533322`, `bytes */4533322`
/// (no range: "what do you have?"), or `bytes 0-9/*` (total unknown).
///
/// ```
/// use resumable_core::range::{ByteRange, ContentRange};
/// let header = ContentRange::new(ByteRange::new(0, 327_680).unwrap(), 4_533_322).unwrap();
/// assert_eq!(header.to_string(), "bytes 0-327679/4533322");
/// assert_eq!("bytes 0-327679/4533322".parse::<ContentRange>(), Ok(header));
/// assert_eq!(ContentRange::unsatisfied(10).to_string(), "bytes */10");
/// let mut buf = [0u8; ContentRange::MAX_LEN];
/// let n = header.write_to(&mut buf).unwrap();
/// assert_eq!(&buf[..n], b"bytes 0-327679/4533322");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    range: Option<ByteRange>,
    total: Option<u64>,
}

impl ContentRange {
    /// The longest encoding: `bytes ` plus two 20-digit offsets, `-`, `/` and a 20-digit total.
    pub const MAX_LEN: usize = 6 + 20 + 1 + 20 + 1 + 20;

    /// `bytes first-last/total`; the range must lie inside `0..total`.
    pub fn new(range: ByteRange, total: u64) -> Result<Self, RangeError> {
        if range.end() > total {
            return Err(RangeError::PastTotal);
        }
        Ok(ContentRange {
            range: Some(range),
            total: Some(total),
        })
    }

    /// `bytes first-last/*`: a range of a body whose total size is unknown.
    pub const fn unknown_total(range: ByteRange) -> Self {
        ContentRange {
            range: Some(range),
            total: None,
        }
    }

    /// `bytes */total`: no range, only the total.
    pub const fn unsatisfied(total: u64) -> Self {
        ContentRange {
            range: None,
            total: Some(total),
        }
    }

    /// The range, if the header names one.
    pub const fn range(&self) -> Option<ByteRange> {
        self.range
    }

    /// The complete length, if known.
    pub const fn total(&self) -> Option<u64> {
        self.total
    }

    /// Writes the header value into `buf` and returns its length; too small a buffer is left
    /// untouched and the error says how many bytes are needed ([`ContentRange::MAX_LEN`] always
    /// suffices).
    pub fn write_to(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        write_display(self, buf)
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes ")?;
        match self.range {
            Some(range) => write!(f, "{range}")?,
            None => f.write_str("*")?,
        }
        match self.total {
            Some(total) => write!(f, "/{total}"),
            None => f.write_str("/*"),
        }
    }
}

impl FromStr for ContentRange {
    type Err = RangeError;

    /// Parses `bytes first-last/total`, `bytes */total` or `bytes first-last/*`. The unit is
    /// matched case-insensitively and must be followed by one space (`bytes=0-9/10`, a typo in
    /// one Microsoft example, is refused).
    fn from_str(text: &str) -> Result<Self, RangeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(RangeError::Empty);
        }
        let unit = text.get(..6).ok_or(RangeError::Syntax { at: 0 })?;
        if !unit.eq_ignore_ascii_case("bytes ") {
            return Err(RangeError::Syntax { at: 0 });
        }
        let rest = &text[6..];
        let slash = rest
            .find('/')
            .ok_or(RangeError::Syntax { at: text.len() })?;
        let (range_text, total_text) = (&rest[..slash], &rest[slash + 1..]);
        let total_at = 6 + slash + 1;
        let total = match total_text {
            "*" => None,
            t => Some(parse_offset(t, total_at)?),
        };
        let range = match range_text {
            "*" => None,
            r => {
                let (first_text, last_text) =
                    r.split_once('-').ok_or(RangeError::Syntax { at: 6 })?;
                let first = parse_offset(first_text, 6)?;
                let last = parse_offset(last_text, 6 + first_text.len() + 1)?;
                if last == u64::MAX {
                    // One past the last byte must be representable.
                    return Err(RangeError::Overflow);
                }
                Some(ByteRange::from_inclusive(first, last).ok_or(RangeError::Reversed)?)
            }
        };
        match (range, total) {
            (None, None) => Err(RangeError::Syntax { at: 6 }),
            (Some(r), Some(t)) if r.end() > t => Err(RangeError::PastTotal),
            _ => Ok(ContentRange { range, total }),
        }
    }
}

/// Why a range or `Content-Range` did not parse or does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeError {
    /// Nothing but whitespace.
    Empty,
    /// Not the expected shape; `at` is the byte offset (after trimming) of the first problem.
    Syntax {
        /// Byte offset where the text went wrong.
        at: usize,
    },
    /// An offset does not fit in 64 bits.
    Overflow,
    /// The last byte comes before the first (`5-3`).
    Reversed,
    /// The range reaches past the file's total size.
    PastTotal,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::Empty => f.write_str("empty byte range"),
            RangeError::Syntax { at } => write!(f, "malformed byte range at byte {at}"),
            RangeError::Overflow => f.write_str("byte offset does not fit in 64 bits"),
            RangeError::Reversed => f.write_str("byte range ends before it starts"),
            RangeError::PastTotal => f.write_str("byte range reaches past the end of the file"),
        }
    }
}

impl core::error::Error for RangeError {}

/// A decimal `u64` with nothing else around it (no sign, no spaces); `at` locates errors.
fn parse_offset(text: &str, at: usize) -> Result<u64, RangeError> {
    if text.is_empty() {
        return Err(RangeError::Syntax { at });
    }
    let mut value: u64 = 0;
    for (i, b) in text.bytes().enumerate() {
        let digit = match b {
            b'0'..=b'9' => u64::from(b - b'0'),
            _ => return Err(RangeError::Syntax { at: at + i }),
        };
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or(RangeError::Overflow)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests;

//! The set of byte ranges the server still lacks.
//!
//! A [`RangeSet`] holds the *missing* ranges of a file of known total size, sorted, disjoint and
//! coalesced (two missing ranges never touch). It lives in a fixed-capacity `heapless::Vec`, so it
//! works without an allocator; an operation that would need more ranges than the capacity fails
//! with [`RangeSetError::Capacity`] and leaves the set as it was.

use core::fmt;

use heapless::Vec;

use crate::range::ByteRange;

/// The missing ranges of a `total`-byte file, at most `N` of them.
///
/// ```
/// use resumable_core::range::ByteRange;
/// use resumable_core::range_set::RangeSet;
///
/// let mut missing = RangeSet::<8>::new(100);
/// missing.mark_received(ByteRange::new(0, 30).unwrap()).unwrap();
/// missing.mark_received(ByteRange::new(50, 60).unwrap()).unwrap();
/// assert_eq!(missing.first_gap(), ByteRange::new(30, 50));
/// assert_eq!(missing.remaining(), 60);
/// assert_eq!(missing.iter().count(), 2);
/// missing.mark_received(ByteRange::new(30, 100).unwrap()).unwrap();
/// assert!(missing.is_complete());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RangeSet<const N: usize> {
    total: u64,
    missing: Vec<ByteRange, N>,
}

impl<const N: usize> RangeSet<N> {
    /// The most missing ranges the set holds.
    ///
    /// ```
    /// use resumable_core::range_set::RangeSet;
    /// assert_eq!(RangeSet::<8>::CAPACITY, 8);
    /// ```
    pub const CAPACITY: usize = N;

    /// A set in which the whole file `0..total` is missing (nothing, if `total` is 0).
    ///
    /// `N` must be at least 1 for the set to hold anything; a `RangeSet<0>` is always complete.
    pub fn new(total: u64) -> Self {
        let mut missing = Vec::new();
        if let Some(all) = ByteRange::new(0, total) {
            // Only fails when N == 0, which no caller wants; then the set reads as complete.
            let _ = missing.push(all);
        }
        RangeSet { total, missing }
    }

    /// A set with nothing missing.
    pub fn complete(total: u64) -> Self {
        RangeSet {
            total,
            missing: Vec::new(),
        }
    }

    /// The set the server describes with its `nextExpectedRanges`: the given ranges are missing,
    /// everything else has been received. Ranges may come in any order and may overlap.
    ///
    /// ```
    /// use resumable_core::range::parse_expected_range;
    /// use resumable_core::range_set::RangeSet;
    /// let total = 100_000;
    /// let ranges = ["77829-99375", "12345-55232"].map(|t| parse_expected_range(t, total).unwrap());
    /// let missing = RangeSet::<4>::from_expected(ranges, total).unwrap();
    /// assert_eq!(missing.first_gap().unwrap().start(), 12_345);
    /// assert_eq!(missing.remaining(), (55_232 - 12_345 + 1) + (99_375 - 77_829 + 1));
    /// ```
    pub fn from_expected<I>(ranges: I, total: u64) -> Result<Self, RangeSetError>
    where
        I: IntoIterator<Item = ByteRange>,
    {
        let mut set = RangeSet::complete(total);
        for range in ranges {
            set.mark_missing(range)?;
        }
        Ok(set)
    }

    /// The file's total size.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Records that the server has `range`. Bytes already received stay received.
    ///
    /// Fails, leaving the set unchanged, if `range` reaches past the total or if removing it from
    /// the middle of a missing range would need more than `N` ranges.
    pub fn mark_received(&mut self, range: ByteRange) -> Result<(), RangeSetError> {
        self.check_bounds(range)?;
        let mut next: Vec<ByteRange, N> = Vec::new();
        for gap in &self.missing {
            if let Some(before) = ByteRange::new(gap.start(), gap.end().min(range.start())) {
                next.push(before).map_err(|_| self.capacity_error())?;
            }
            if let Some(after) = ByteRange::new(gap.start().max(range.end()), gap.end()) {
                next.push(after).map_err(|_| self.capacity_error())?;
            }
        }
        self.missing = next;
        Ok(())
    }

    /// Records that the server lacks `range` (again). Adjacent and overlapping gaps coalesce.
    ///
    /// Fails, leaving the set unchanged, if `range` reaches past the total or the set would need
    /// more than `N` ranges.
    pub fn mark_missing(&mut self, range: ByteRange) -> Result<(), RangeSetError> {
        self.check_bounds(range)?;
        let mut next: Vec<ByteRange, N> = Vec::new();
        let mut pending = Some(range);
        for &gap in &self.missing {
            match pending {
                // `gap` lies wholly before the new range and does not touch it.
                Some(new) if gap.end() < new.start() => {
                    next.push(gap).map_err(|_| self.capacity_error())?;
                }
                // Touching or overlapping: absorb `gap` into the new range.
                Some(new) if gap.start() <= new.end() => {
                    let merged =
                        ByteRange::new(gap.start().min(new.start()), gap.end().max(new.end()));
                    pending = merged;
                }
                // `gap` lies wholly after: the new range goes first.
                Some(new) => {
                    next.push(new).map_err(|_| self.capacity_error())?;
                    pending = None;
                    next.push(gap).map_err(|_| self.capacity_error())?;
                }
                None => next.push(gap).map_err(|_| self.capacity_error())?,
            }
        }
        if let Some(new) = pending {
            next.push(new).map_err(|_| self.capacity_error())?;
        }
        self.missing = next;
        Ok(())
    }

    /// The first missing range, if any.
    pub fn first_gap(&self) -> Option<ByteRange> {
        self.missing.first().copied()
    }

    /// The first missing bytes at or after `offset`: the part of the first gap that ends after
    /// `offset`, cut to start no earlier than `offset`.
    ///
    /// ```
    /// use resumable_core::range::ByteRange;
    /// use resumable_core::range_set::RangeSet;
    /// let mut missing = RangeSet::<4>::new(100);
    /// missing.mark_received(ByteRange::new(40, 60).unwrap()).unwrap();
    /// assert_eq!(missing.first_gap_from(10), ByteRange::new(10, 40));
    /// assert_eq!(missing.first_gap_from(45), ByteRange::new(60, 100));
    /// assert_eq!(missing.first_gap_from(100), None);
    /// ```
    pub fn first_gap_from(&self, offset: u64) -> Option<ByteRange> {
        self.missing
            .iter()
            .find(|gap| gap.end() > offset)
            .and_then(|gap| ByteRange::new(gap.start().max(offset), gap.end()))
    }

    /// Whether every byte of `range` is missing.
    pub fn is_missing(&self, range: ByteRange) -> bool {
        self.missing
            .iter()
            .any(|gap| gap.start() <= range.start() && range.end() <= gap.end())
    }

    /// Bytes still missing.
    pub fn remaining(&self) -> u64 {
        self.missing.iter().map(ByteRange::len).sum()
    }

    /// Bytes received.
    pub fn received(&self) -> u64 {
        self.total - self.remaining()
    }

    /// Whether nothing is missing.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// The missing ranges in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = ByteRange> + '_ {
        self.missing.iter().copied()
    }

    /// Number of separate missing ranges.
    pub fn len(&self) -> usize {
        self.missing.len()
    }

    /// Whether there are no missing ranges (the same as [`RangeSet::is_complete`]).
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty()
    }

    fn check_bounds(&self, range: ByteRange) -> Result<(), RangeSetError> {
        if range.end() > self.total {
            return Err(RangeSetError::OutOfBounds {
                range,
                total: self.total,
            });
        }
        Ok(())
    }

    fn capacity_error(&self) -> RangeSetError {
        RangeSetError::Capacity { capacity: N }
    }
}

impl<const N: usize> fmt::Debug for RangeSet<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeSet")
            .field("total", &self.total)
            .field("missing", &self.missing.as_slice())
            .finish()
    }
}

/// Why a [`RangeSet`] operation was refused (the set is unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeSetError {
    /// The result would need more separate ranges than the set can hold.
    Capacity {
        /// The set's capacity `N`.
        capacity: usize,
    },
    /// The range reaches past the file's total size.
    OutOfBounds {
        /// The range given.
        range: ByteRange,
        /// The file's total size.
        total: u64,
    },
}

impl fmt::Display for RangeSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeSetError::Capacity { capacity } => {
                write!(f, "more than {capacity} separate missing ranges")
            }
            RangeSetError::OutOfBounds { range, total } => {
                write!(
                    f,
                    "range {range} reaches past the end of a {total}-byte file"
                )
            }
        }
    }
}

impl core::error::Error for RangeSetError {}

#[cfg(test)]
mod tests;

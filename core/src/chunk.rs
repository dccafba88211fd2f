//! Fragment rules per target and the planner that picks the next fragment to send.
//!
//! Each upload target has rules for fragment sizes ([`FragmentRule`]): drive items want every
//! fragment but the last to be a multiple of 320 KiB and each under 60 MiB, mail attachments at
//! most 4 MB, print documents under 10 MB. The [`ChunkPlanner`] turns "the server lacks these
//! ranges" and "I would like fragments of about this size" into the next fragment, keeping
//! fragment ends on the alignment grid counted from the start of the file: after a partial receipt
//! leaves the server at an unaligned offset, the next fragment is shortened so that the one after
//! it starts aligned again.

use core::fmt;

use crate::range::ByteRange;
use crate::range_set::RangeSet;
use crate::time::Duration;

/// Size rules for the fragments of one upload target.
///
/// ```
/// use resumable_core::chunk::FragmentRule;
/// let rule = FragmentRule::GRAPH_DRIVE;
/// assert_eq!(rule.alignment(), 327_680);
/// assert!(rule.check(10 * 1024 * 1024).is_ok());
/// let err = rule.check(1_000_000).unwrap_err();
/// assert_eq!(err.to_string(), "fragment size 1000000 is not a multiple of 327680 bytes; try 983040 or 1310720");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FragmentRule {
    alignment: u64,
    max_len: u64,
}

impl FragmentRule {
    /// OneDrive, OneDrive for Business and SharePoint drive items: multiples of 320 KiB
    /// (327 680 bytes), each request under 60 MiB, so at most 191 × 320 KiB = 62 586 880 bytes.
    pub const GRAPH_DRIVE: FragmentRule = FragmentRule {
        alignment: 327_680,
        max_len: 62_586_880,
    };

    /// Universal Print documents: each request under 10 MB (10 000 000 bytes); 200 KB multiples
    /// are recommended, and the planner follows the recommendation.
    pub const GRAPH_PRINT: FragmentRule = FragmentRule {
        alignment: 200_000,
        max_len: 9_999_999,
    };

    /// Outlook mail attachments: at most 4 MB per request. Read as 4 000 000 bytes, the stricter of
    /// the two readings of "MB", so the upload is valid under either.
    pub const GRAPH_ATTACHMENT: FragmentRule = FragmentRule {
        alignment: 1,
        max_len: 4_000_000,
    };

    /// WOPI `UpdateUploadSession` ranges of the framed upload-session stream: any length (ranges
    /// need not align with frames), at most 64 MiB per request. WOPI sets no limit of its own;
    /// this one bounds how long one request takes and how much a host must take in at once, and
    /// matches the frame decoder's default payload limit.
    ///
    /// ```
    /// use resumable_core::chunk::{ChunkPlanner, FragmentRule};
    /// use resumable_core::range::ByteRange;
    /// let planner = ChunkPlanner::new(FragmentRule::WOPI_UPLOAD_SESSION, 1_000);
    /// let rest = ByteRange::new(1_234, 10_000).unwrap();
    /// assert_eq!(planner.fragment_in(rest), ByteRange::new(1_234, 2_234).unwrap());
    /// ```
    pub const WOPI_UPLOAD_SESSION: FragmentRule = FragmentRule {
        alignment: 1,
        max_len: 64 * 1024 * 1024,
    };

    /// A rule with the given alignment (1 for none) and maximum fragment length, or `None` if
    /// `alignment` is zero or larger than `max_len`.
    ///
    /// ```
    /// use resumable_core::chunk::FragmentRule;
    /// let wopi = FragmentRule::new(1, 64 * 1024 * 1024).unwrap();
    /// assert_eq!(wopi.max_len(), 64 * 1024 * 1024);
    /// assert!(FragmentRule::new(0, 10).is_none());
    /// ```
    pub const fn new(alignment: u64, max_len: u64) -> Option<Self> {
        if alignment == 0 || alignment > max_len {
            None
        } else {
            Some(FragmentRule { alignment, max_len })
        }
    }

    /// Every fragment but the last ends on a multiple of this, counted from the start of the file.
    pub const fn alignment(&self) -> u64 {
        self.alignment
    }

    /// The largest fragment, in bytes.
    pub const fn max_len(&self) -> u64 {
        self.max_len
    }

    /// The largest aligned fragment length.
    pub const fn max_aligned_len(&self) -> u64 {
        self.max_len / self.alignment * self.alignment
    }

    /// Whether `size` is a valid preferred fragment size: non-zero, a multiple of the alignment and
    /// within the maximum. The error says what would be valid.
    pub fn check(&self, size: u64) -> Result<(), FragmentSizeError> {
        if size == 0 {
            return Err(FragmentSizeError::Zero);
        }
        if size > self.max_len {
            return Err(FragmentSizeError::TooLarge {
                size,
                max_len: self.max_aligned_len(),
            });
        }
        if !size.is_multiple_of(self.alignment) {
            return Err(FragmentSizeError::Unaligned {
                size,
                alignment: self.alignment,
            });
        }
        Ok(())
    }

    /// The nearest valid fragment size at or below `size` (never below one alignment unit).
    ///
    /// ```
    /// use resumable_core::chunk::FragmentRule;
    /// let rule = FragmentRule::GRAPH_DRIVE;
    /// assert_eq!(rule.fit(1_000_000), 983_040);
    /// assert_eq!(rule.fit(1), 327_680);
    /// assert_eq!(rule.fit(u64::MAX), 62_586_880);
    /// ```
    pub const fn fit(&self, size: u64) -> u64 {
        let aligned = size / self.alignment * self.alignment;
        let max = self.max_aligned_len();
        if aligned < self.alignment {
            self.alignment
        } else if aligned > max {
            max
        } else {
            aligned
        }
    }
}

/// Why a fragment size does not suit a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FragmentSizeError {
    /// A zero-byte fragment.
    Zero,
    /// Over the target's maximum.
    TooLarge {
        /// The size asked for.
        size: u64,
        /// The largest valid size.
        max_len: u64,
    },
    /// Not a multiple of the target's alignment.
    Unaligned {
        /// The size asked for.
        size: u64,
        /// The required multiple.
        alignment: u64,
    },
}

impl fmt::Display for FragmentSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FragmentSizeError::Zero => f.write_str("fragment size must be at least 1 byte"),
            FragmentSizeError::TooLarge { size, max_len } => {
                write!(
                    f,
                    "fragment size {size} exceeds the maximum of {max_len} bytes"
                )
            }
            FragmentSizeError::Unaligned { size, alignment } => {
                let below = size / alignment * alignment;
                let above = below + alignment;
                write!(
                    f,
                    "fragment size {size} is not a multiple of {alignment} bytes; try "
                )?;
                if below > 0 {
                    write!(f, "{below} or {above}")
                } else {
                    write!(f, "{above}")
                }
            }
        }
    }
}

impl core::error::Error for FragmentSizeError {}

/// Picks the next fragment: where the server's first gap starts, about the preferred size long,
/// ending on the alignment grid unless it ends a gap, never over the maximum.
///
/// ```
/// use resumable_core::chunk::{ChunkPlanner, FragmentRule};
/// use resumable_core::range::ByteRange;
/// use resumable_core::range_set::RangeSet;
///
/// let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, 10 * 1024 * 1024);
/// let mut missing = RangeSet::<4>::new(25 * 1024 * 1024);
/// // A partial receipt left the server at an unaligned offset:
/// missing.mark_received(ByteRange::new(0, 1_000).unwrap()).unwrap();
/// let next = planner.next_fragment(&missing).unwrap();
/// assert_eq!(next.start(), 1_000);
/// assert_eq!(next.end() % 327_680, 0); // back on the 320 KiB grid
/// assert!(next.len() <= 10 * 1024 * 1024);
/// ```
#[derive(Clone, Debug)]
pub struct ChunkPlanner {
    rule: FragmentRule,
    preferred: u64,
    adaptive: Option<Adaptive>,
}

/// Steering toward a target duration per request.
#[derive(Clone, Copy, Debug)]
struct Adaptive {
    target: Duration,
    min: u64,
    max: u64,
}

impl ChunkPlanner {
    /// A planner for `rule` with fragments of about `preferred` bytes (fitted to the rule).
    pub fn new(rule: FragmentRule, preferred: u64) -> Self {
        ChunkPlanner {
            rule,
            preferred: rule.fit(preferred),
            adaptive: None,
        }
    }

    /// An adaptive planner: after each [`ChunkPlanner::record`], the preferred size moves toward
    /// what the measured throughput sends in `target` (at most doubling or halving per step),
    /// staying within `min..=max` and the rule.
    ///
    /// ```
    /// use resumable_core::chunk::{ChunkPlanner, FragmentRule};
    /// use resumable_core::time::Duration;
    /// let mib = 1024 * 1024;
    /// let mut planner = ChunkPlanner::adaptive(
    ///     FragmentRule::GRAPH_DRIVE, 5 * mib, Duration::from_secs(2), mib, 60 * mib);
    /// // 5 MiB in 0.5 s is 10 MiB/s: two seconds' worth is 20 MiB, but one step at most doubles.
    /// planner.record(5 * mib, Duration::from_millis(500));
    /// assert_eq!(planner.preferred(), 10 * mib);
    /// // A slow link: 10 MiB took 20 s. 1 MiB would fit the target, but one step at most halves.
    /// planner.record(10 * mib, Duration::from_secs(20));
    /// assert_eq!(planner.preferred(), FragmentRule::GRAPH_DRIVE.fit(5 * mib));
    /// ```
    pub fn adaptive(
        rule: FragmentRule,
        initial: u64,
        target: Duration,
        min: u64,
        max: u64,
    ) -> Self {
        let min = rule.fit(min);
        let max = rule.fit(max).max(min);
        ChunkPlanner {
            rule,
            preferred: rule.fit(initial.clamp(min, max)),
            adaptive: Some(Adaptive { target, min, max }),
        }
    }

    /// The rule the planner follows.
    pub fn rule(&self) -> FragmentRule {
        self.rule
    }

    /// The current preferred fragment size.
    pub fn preferred(&self) -> u64 {
        self.preferred
    }

    /// Sets the preferred fragment size (fitted to the rule).
    pub fn set_preferred(&mut self, size: u64) {
        self.preferred = self.rule.fit(size);
    }

    /// Reports that a fragment of `bytes` took `elapsed` from first byte sent to answer. Adaptive
    /// planners adjust their preferred size; fixed ones ignore it.
    pub fn record(&mut self, bytes: u64, elapsed: Duration) {
        let Some(adaptive) = self.adaptive else {
            return;
        };
        let elapsed_ms = elapsed.as_millis().max(1);
        let ideal = u128::from(bytes) * adaptive.target.as_millis() / elapsed_ms;
        let ideal = u64::try_from(ideal).unwrap_or(u64::MAX);
        let stepped = ideal.clamp(self.preferred / 2, self.preferred.saturating_mul(2));
        self.preferred = self.rule.fit(stepped.clamp(adaptive.min, adaptive.max));
    }

    /// The next fragment to send: the start of the first gap the server reported.
    pub fn next_fragment<const N: usize>(&self, missing: &RangeSet<N>) -> Option<ByteRange> {
        missing.first_gap().map(|gap| self.fragment_in(gap))
    }

    /// The next fragment at or after `offset` (for targets that take fragments in parallel:
    /// `offset` is where the fragments already in flight end).
    pub fn next_fragment_from<const N: usize>(
        &self,
        missing: &RangeSet<N>,
        offset: u64,
    ) -> Option<ByteRange> {
        missing
            .first_gap_from(offset)
            .map(|gap| self.fragment_in(gap))
    }

    /// The fragment to send from the start of `gap`. It ends at the end of the gap if that is
    /// within the preferred size, and otherwise on the last alignment boundary the preferred size
    /// reaches (or, if the gap starts so close to a boundary that there is none, the next one).
    ///
    /// ```
    /// use resumable_core::chunk::{ChunkPlanner, FragmentRule};
    /// use resumable_core::range::ByteRange;
    /// let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, 327_680 * 2);
    /// let gap = ByteRange::new(327_679, 10_000_000).unwrap();
    /// assert_eq!(planner.fragment_in(gap), ByteRange::new(327_679, 655_360).unwrap());
    /// let tail = ByteRange::new(9_999_000, 10_000_000).unwrap();
    /// assert_eq!(planner.fragment_in(tail), tail); // the last fragment is any size
    /// ```
    pub fn fragment_in(&self, gap: ByteRange) -> ByteRange {
        let start = gap.start();
        let a = self.rule.alignment;
        let target_end = start.saturating_add(self.preferred);
        if target_end >= gap.end() {
            return gap;
        }
        let mut end = target_end / a * a;
        if end <= start {
            // The next boundary: at most one alignment unit away, which the preferred size covers.
            end = (start / a + 1) * a;
        }
        // `end` lies in (start, target_end], inside the gap and within the preferred size.
        ByteRange::new(start, end).unwrap_or(gap)
    }
}

/// The rule in words, as an error message or a help text says it: "multiples of 327680 bytes
/// (320 KiB), at most 62586880 bytes", "at most 4000000 bytes".
///
/// ```
/// use resumable_core::chunk::FragmentRule;
/// assert_eq!(
///     FragmentRule::GRAPH_DRIVE.to_string(),
///     "multiples of 327680 bytes (320 KiB), at most 62586880 bytes"
/// );
/// assert_eq!(FragmentRule::GRAPH_ATTACHMENT.to_string(), "at most 4000000 bytes");
/// ```
impl fmt::Display for FragmentRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.alignment > 1 {
            write!(f, "multiples of {} bytes", self.alignment)?;
            if self.alignment.is_multiple_of(1024) {
                write!(f, " ({} KiB)", self.alignment / 1024)?;
            }
            write!(f, ", at most {} bytes", self.max_aligned_len())
        } else {
            write!(f, "at most {} bytes", self.max_len)
        }
    }
}

/// How fragment sizes are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FragmentSizing {
    /// Always about this many bytes (must suit the target's rule).
    Fixed(u64),
    /// Start at `initial` and steer each fragment toward taking `target` on the measured link,
    /// within `min..=max` (see [`ChunkPlanner::adaptive`]).
    Adaptive {
        /// The first fragment size.
        initial: u64,
        /// The time one fragment should take.
        target: Duration,
        /// The smallest fragment size.
        min: u64,
        /// The largest fragment size.
        max: u64,
    },
}

impl FragmentSizing {
    /// Checks every size this sizing names (the fixed size; the initial, smallest and largest
    /// adaptive sizes) against `rule`.
    ///
    /// ```
    /// use resumable_core::chunk::FragmentRule;
    /// use resumable_core::chunk::FragmentSizing;
    /// assert!(FragmentSizing::Fixed(1_000).check(FragmentRule::WOPI_UPLOAD_SESSION).is_ok());
    /// assert!(FragmentSizing::Fixed(1_000).check(FragmentRule::GRAPH_DRIVE).is_err());
    /// ```
    pub fn check(&self, rule: FragmentRule) -> Result<(), FragmentSizeError> {
        match *self {
            FragmentSizing::Fixed(size) => rule.check(size),
            FragmentSizing::Adaptive {
                initial, min, max, ..
            } => [initial, min, max]
                .into_iter()
                .try_for_each(|size| rule.check(size)),
        }
    }

    /// The largest fragment this sizing may choose.
    ///
    /// ```
    /// use resumable_core::chunk::FragmentSizing;
    /// assert_eq!(FragmentSizing::Fixed(327_680).largest(), 327_680);
    /// ```
    pub const fn largest(&self) -> u64 {
        match *self {
            FragmentSizing::Fixed(size) => size,
            FragmentSizing::Adaptive { initial, max, .. } => {
                if initial > max {
                    initial
                } else {
                    max
                }
            }
        }
    }

    /// The planner this sizing asks for under `rule`.
    pub fn planner(&self, rule: FragmentRule) -> ChunkPlanner {
        match *self {
            FragmentSizing::Fixed(size) => ChunkPlanner::new(rule, size),
            FragmentSizing::Adaptive {
                initial,
                target,
                min,
                max,
            } => ChunkPlanner::adaptive(rule, initial, target, min, max),
        }
    }
}

#[cfg(test)]
mod tests;

//! More ways to read choices off the fuzz input, for the machine targets: small numbers,
//! one of a list, a yes/no with some odds.

use super::Choices;

impl Choices<'_> {
    /// Two bytes, big-endian.
    pub(super) fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// One of `options` (the first when the input has run out).
    pub(super) fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[usize::from(self.byte()) % options.len()]
    }

    /// True about once in `odds` bytes.
    pub(super) fn one_in(&mut self, odds: u8) -> bool {
        !self.0.is_empty() && self.byte().is_multiple_of(odds.max(1))
    }

    /// Whether any input is left: a machine run stops when it runs out.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

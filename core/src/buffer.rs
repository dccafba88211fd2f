//! Writing into buffers the caller owns.
//!
//! Encoders in this crate never allocate: they write into a `&mut [u8]` the caller provides. When
//! the buffer is too small they say how many bytes they need and leave the buffer untouched, so the
//! caller can grow it and call again.

use core::fmt;

/// The caller's buffer cannot hold the encoding; `needed` bytes would.
///
/// ```
/// use resumable_core::range::{ByteRange, ContentRange};
/// let header = ContentRange::new(ByteRange::new(0, 327_680).unwrap(), 4_533_322).unwrap();
/// let mut small = [0u8; 8];
/// let err = header.write_to(&mut small).unwrap_err();
/// assert_eq!(err.needed, "bytes 0-327679/4533322".len());
/// assert_eq!(small, [0u8; 8]); // untouched
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// How many bytes the encoding needs.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

/// A `fmt::Write` over a byte slice. Used only after the caller has checked the length, so the
/// error path is a guard, not a flow.
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    pub(crate) fn written(&self) -> usize {
        self.len
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A `fmt::Write` that only counts, to size a buffer before writing into it.
#[derive(Default)]
pub(crate) struct LengthCounter(pub(crate) usize);

impl fmt::Write for LengthCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Writes `value`'s `Display` form into `buf`, or says how much room it needs without touching
/// `buf`.
pub(crate) fn write_display(
    value: &dyn fmt::Display,
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    use fmt::Write as _;
    let mut counter = LengthCounter::default();
    // Counting cannot fail; a Display impl that fails is a bug in this crate.
    let _ = write!(counter, "{value}");
    if counter.0 > buf.len() {
        return Err(BufferTooSmall { needed: counter.0 });
    }
    let mut writer = SliceWriter::new(buf);
    write!(writer, "{value}").map_err(|_| BufferTooSmall { needed: counter.0 })?;
    Ok(writer.written())
}

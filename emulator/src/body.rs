//! Reading request bodies frame by frame, without gathering them.
//!
//! A refused request's body is read and discarded so that its client gets the answer rather
//! than a reset, but only up to [`DRAIN_LIMIT`]: a body declared larger than that (or one that
//! goes on past it) is left unread, the answer carries `Connection: close` and the connection
//! closes after it (the server's connection code adds the header to any answer whose request
//! body was not read to its end). So a client cannot make the emulator read gigabytes it has
//! already refused.

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::exchange::content_length;
use crate::stats::Stats;

/// The most a refused request's body is read to be discarded: a little over the largest
/// request any emulated service accepts (drive fragments are under 60 MiB).
pub(crate) const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// The client stopped sending, or sent a malformed body.
#[derive(Debug)]
pub(crate) struct BodyError;

/// A request body read one frame at a time, counting upload bytes as they arrive.
pub(crate) struct BodyReader<'a> {
    body: Body,
    /// The `Content-Length` the request declared, if any.
    declared: Option<u64>,
    stats: &'a Stats,
    upload: bool,
    read: u64,
}

impl<'a> BodyReader<'a> {
    /// The body of `request`; `upload` says whether the bytes count as received upload bytes
    /// in the statistics.
    pub(crate) fn new(request: Request, stats: &'a Stats, upload: bool) -> Self {
        let declared = content_length(request.headers());
        BodyReader {
            body: request.into_body(),
            declared,
            stats,
            upload,
            read: 0,
        }
    }

    /// The next data frame, or `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
        while let Some(frame) = self.body.frame().await {
            let frame = frame.map_err(|_| BodyError)?;
            if let Ok(data) = frame.into_data() {
                if data.is_empty() {
                    continue;
                }
                self.read += data.len() as u64;
                if self.upload {
                    self.stats.received(data.len() as u64);
                }
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// Bytes read so far.
    pub(crate) fn read(&self) -> u64 {
        self.read
    }

    /// Reads and discards the rest, if it is no more than [`DRAIN_LIMIT`] bytes; answers the
    /// bytes read in all. A longer rest is left unread (an error: the connection will close).
    pub(crate) async fn drain(&mut self) -> Result<u64, BodyError> {
        if self
            .declared
            .is_some_and(|declared| declared.saturating_sub(self.read) > DRAIN_LIMIT)
        {
            return Err(BodyError);
        }
        let stop_at = self.read.saturating_add(DRAIN_LIMIT);
        while self.read <= stop_at {
            if self.next().await?.is_none() {
                return Ok(self.read);
            }
        }
        Err(BodyError)
    }

    /// Reads the rest into memory, refusing more than `limit` bytes (for small JSON bodies).
    pub(crate) async fn collect(&mut self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let mut out = Vec::new();
        while let Some(data) = self.next().await? {
            if out.len() + data.len() > limit {
                return Err(BodyError);
            }
            out.extend_from_slice(&data);
        }
        Ok(out)
    }
}

/// Reads and discards a request's body (up to [`DRAIN_LIMIT`]), so the client receives the
/// answer rather than a reset; `upload` says whether its bytes count as received upload bytes.
pub(crate) async fn discard_body(stats: &Stats, request: Request, upload: bool) {
    let _ = BodyReader::new(request, stats, upload).drain().await;
}

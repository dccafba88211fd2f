//! Reading request bodies frame by frame, without gathering them.

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::stats::Stats;

/// The client stopped sending, or sent a malformed body.
#[derive(Debug)]
pub(crate) struct BodyError;

/// A request body read one frame at a time, counting upload bytes as they arrive.
pub(crate) struct BodyReader<'a> {
    body: Body,
    stats: &'a Stats,
    upload: bool,
    read: u64,
}

impl<'a> BodyReader<'a> {
    /// `upload` says whether the bytes count as received upload bytes in the statistics.
    pub(crate) fn new(body: Body, stats: &'a Stats, upload: bool) -> Self {
        BodyReader {
            body,
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

    /// Reads and discards the rest.
    pub(crate) async fn drain(&mut self) -> Result<u64, BodyError> {
        while self.next().await?.is_some() {}
        Ok(self.read)
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

/// Reads and discards a request's body, so the client receives the answer rather than a reset;
/// `upload` says whether its bytes count as received upload bytes.
pub(crate) async fn discard_body(stats: &Stats, request: Request, upload: bool) {
    let _ = BodyReader::new(request.into_body(), stats, upload)
        .drain()
        .await;
}

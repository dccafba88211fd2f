//! The emulated network link ([`LinkConfig`]): what a client sees of bandwidth and latency.
//!
//! Bandwidth paces the reading of every connection's socket from one shared
//! [`TokenBucket`]: once a read has taken more than the link allows, the next read waits, the
//! kernel's buffers fill and TCP holds the client back, as a slow link would. Latency holds each
//! answer back by a round-trip time once its request is handled: every request costs the
//! client one round trip more than its bytes take, as on a long link.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use resumable_core::rate::TokenBucket;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::config::LinkConfig;

/// How much of a second of bytes the link's bucket saves up: its largest burst.
const BURST: Duration = Duration::from_millis(20);

/// The link every connection of one emulator shares.
#[derive(Debug)]
pub(crate) struct Link {
    bucket: Option<Mutex<TokenBucket>>,
    origin: Instant,
    latency: Duration,
}

impl Link {
    pub(crate) fn new(config: &LinkConfig) -> Self {
        Link {
            bucket: config
                .bandwidth
                .map(|rate| Mutex::new(TokenBucket::new(rate, BURST))),
            origin: Instant::now(),
            latency: config.latency,
        }
    }

    /// How long the bytes just read must hold the next read back.
    fn take(&self, bytes: usize) -> Duration {
        self.bucket.as_ref().map_or(Duration::ZERO, |bucket| {
            bucket
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(bytes as u64, self.origin.elapsed())
        })
    }

    /// Whether sockets need pacing at all.
    pub(crate) fn paces(&self) -> bool {
        self.bucket.is_some()
    }

    /// Waits a round-trip time (before an answer goes).
    pub(crate) async fn round_trip(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

/// A socket whose reads the link paces; writes go straight through.
pub(crate) struct PacedStream<S> {
    inner: S,
    link: Arc<Link>,
    wait: Option<Pin<Box<Sleep>>>,
}

impl<S> PacedStream<S> {
    pub(crate) fn new(inner: S, link: Arc<Link>) -> Self {
        PacedStream {
            inner,
            link,
            wait: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PacedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(wait) = self.wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
            self.wait = None;
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let wait = self.link.take(buf.filled().len() - before);
        if !wait.is_zero() {
            self.wait = Some(Box::pin(tokio::time::sleep(wait)));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PacedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn reads_go_at_the_links_rate() {
        let link = Arc::new(Link::new(&LinkConfig {
            bandwidth: Some(1 << 20),
            latency: Duration::ZERO,
        }));
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let mut paced = PacedStream::new(server, link);
        let writer = tokio::spawn(async move {
            client.write_all(&vec![7u8; 4 << 20]).await.unwrap();
        });
        let start = Instant::now();
        let mut got = 0;
        let mut buf = vec![0u8; 16 * 1024];
        while got < 4 << 20 {
            got += paced.read(&mut buf).await.unwrap();
        }
        writer.await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert!((3.8..4.2).contains(&secs), "4 MiB at 1 MiB/s took {secs} s");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_wait_a_round_trip() {
        let link = Link::new(&LinkConfig {
            bandwidth: None,
            latency: Duration::from_millis(40),
        });
        assert!(!link.paces());
        let start = Instant::now();
        link.round_trip().await;
        assert_eq!(start.elapsed(), Duration::from_millis(40));
    }
}

//! Starting, running and stopping the emulator.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::http::{HeaderValue, header};
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::app::{AppState, router};
use crate::config::EmulatorConfig;
use crate::connection::ConnectionControl;
use crate::link::{Link, PacedStream};
use crate::stats::StatsSnapshot;
use crate::storage::{Storage, StoredFile};

/// Starts emulators.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use resumable_emulator::{Emulator, EmulatorConfig};
/// let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
/// assert!(emulator.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(emulator.stats().requests_total, 0);
/// drop(emulator); // stops the server
/// # });
/// ```
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds `config.addr`, prepares storage and serves in the background on the current tokio
    /// runtime until the handle is dropped or stopped.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, StartError> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(StartError::Bind)?;
        let mut addr = listener.local_addr().map_err(StartError::Bind)?;
        let storage = Storage::new(&config.storage).map_err(StartError::Storage)?;
        if addr.ip().is_unspecified() {
            // Bound to every interface: hand out URLs that reach it on loopback.
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let state = Arc::new(AppState::new(config, format!("http://{addr}"), storage));
        let shutdown = CancellationToken::new();
        tokio::spawn(sweep_until(state.clone(), shutdown.clone()));
        let server = tokio::spawn(accept_loop(
            listener,
            state.clone(),
            router(state.clone()),
            shutdown.clone(),
        ));
        Ok(EmulatorHandle {
            addr,
            state,
            shutdown,
            server: Some(server),
        })
    }
}

/// Runs an emulator until `shutdown` completes: what `resumable emulator serve` does (with
/// `tokio::signal::ctrl_c()` as `shutdown`). `on_ready` is called with the handle once the
/// server listens, to print its address.
pub async fn serve<S, R>(config: EmulatorConfig, on_ready: R, shutdown: S) -> Result<(), StartError>
where
    S: Future<Output = ()>,
    R: FnOnce(&EmulatorHandle),
{
    let handle = Emulator::start(config).await?;
    on_ready(&handle);
    handle.run_until(shutdown).await;
    Ok(())
}

/// A running emulator: its address, URLs and what it received. Dropping it stops the server
/// (open connections are closed, a temporary storage directory is deleted).
pub struct EmulatorHandle {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The Graph root, `http://127.0.0.1:PORT/v1.0` (append `/me/drive/...`).
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.base_url())
    }

    /// `createUploadSession` for `path` under the signed-in user's drive root
    /// (`…/v1.0/me/drive/root:/{path}:/createUploadSession`); `path` is percent-encoded here.
    pub fn drive_upload_session_url(&self, path: &str) -> String {
        format!(
            "{}/me/drive/root:/{}:/createUploadSession",
            self.graph_url(),
            encode_path(path)
        )
    }

    /// The simple-upload URL for `path` under the signed-in user's drive root
    /// (`…/v1.0/me/drive/root:/{path}:/content`, `PUT` with the whole file); `path` is
    /// percent-encoded here. Add `?@microsoft.graph.conflictBehavior=fail` (or `replace`,
    /// `rename`) to choose what a taken name does.
    ///
    /// ```no_run
    /// # async fn example(emulator: resumable_emulator::EmulatorHandle) {
    /// let url = emulator.drive_content_url("docs/a b.txt");
    /// assert!(url.ends_with("/v1.0/me/drive/root:/docs/a%20b.txt:/content"));
    /// # }
    /// ```
    pub fn drive_content_url(&self, path: &str) -> String {
        format!(
            "{}/me/drive/root:/{}:/content",
            self.graph_url(),
            encode_path(path)
        )
    }

    /// `createUploadSession` for a print document.
    pub fn print_upload_session_url(&self, printer: &str, job: &str, document: &str) -> String {
        format!(
            "{}/print/printers/{}/jobs/{}/documents/{}/createUploadSession",
            self.graph_url(),
            encode_path(printer),
            encode_path(job),
            encode_path(document)
        )
    }

    /// `createUploadSession` for an attachment of a message of the signed-in user.
    pub fn mail_upload_session_url(&self, message: &str) -> String {
        format!(
            "{}/me/messages/{}/attachments/createUploadSession",
            self.graph_url(),
            encode_path(message)
        )
    }

    /// The workbook of item `item_id` in the signed-in user's drive
    /// (`…/v1.0/me/drive/items/{id}/workbook`; append `/createSession`, ...).
    pub fn workbook_url(&self, item_id: &str) -> String {
        format!(
            "{}/me/drive/items/{}/workbook",
            self.graph_url(),
            encode_path(item_id)
        )
    }

    /// The WOPI file endpoint `…/wopi/files/{id}` (add `?access_token=…`).
    pub fn wopi_file_url(&self, file_id: &str) -> String {
        format!("{}/wopi/files/{}", self.base_url(), encode_path(file_id))
    }

    /// The tus 1.0 creation endpoint, `http://127.0.0.1:PORT/tus/files/`: where `OPTIONS` and
    /// the creation `POST` go. Uploads are answered with a relative `Location`
    /// (`/tus/files/{id}`), so a client must resolve it against this URL.
    pub fn tus_endpoint(&self) -> String {
        format!("{}/tus/files/", self.base_url())
    }

    /// The IETF resumable-upload draft's creation endpoint,
    /// `http://127.0.0.1:PORT/ietf/files/` (interop versions 6 and 8). Uploads are answered with
    /// an absolute `Location`.
    pub fn ietf_endpoint(&self) -> String {
        format!("{}/ietf/files/", self.base_url())
    }

    /// `…/_emulator/files`.
    pub fn files_url(&self) -> String {
        format!("{}/_emulator/files", self.base_url())
    }

    /// `…/_emulator/stats`.
    pub fn stats_url(&self) -> String {
        format!("{}/_emulator/stats", self.base_url())
    }

    /// The completed uploads, as `GET /_emulator/files` lists them.
    pub fn files(&self) -> Vec<StoredFile> {
        self.state.storage.files()
    }

    /// The counters, as `GET /_emulator/stats` shows them.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats_snapshot()
    }

    /// The directory files are written to, unless content is discarded.
    pub fn storage_dir(&self) -> Option<PathBuf> {
        self.state.storage.root().map(PathBuf::from)
    }

    /// Serves until `shutdown` completes, then stops.
    pub async fn run_until<S: Future<Output = ()>>(mut self, shutdown: S) {
        let server = self.server.take();
        tokio::select! {
            () = shutdown => {}
            _ = async {
                if let Some(server) = server {
                    let _ = server.await;
                }
            } => {}
        }
        self.shutdown.cancel();
    }

    /// Stops the server and closes open connections.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Percent-encodes what cannot stand in a URL path segment (keeps `/` between segments).
fn encode_path(path: &str) -> String {
    use std::fmt::Write;
    path.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// Why an emulator did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    Bind(io::Error),
    /// The storage directory could not be prepared.
    Storage(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind(e) => write!(f, "cannot listen: {e}"),
            StartError::Storage(e) => write!(f, "cannot prepare storage: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind(e) | StartError::Storage(e) => Some(e),
        }
    }
}

/// Sweeps expired sessions away every [`sweep_period`] until `shutdown`, so sessions nobody
/// touches again free their slots and part files.
async fn sweep_until(state: Arc<AppState>, shutdown: CancellationToken) {
    let period = sweep_period(&state.config);
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = shutdown.cancelled() => return,
        }
        state.sweep(tokio::time::Instant::now());
    }
}

/// A quarter of the shortest session lifetime in real time (expiries run on the scaled clock),
/// between 10 ms and 5 s: an expired session lingers at most a quarter of its lifetime, and a
/// sweep never runs more often than a loopback server needs.
pub(crate) fn sweep_period(config: &EmulatorConfig) -> Duration {
    let scale = config.time_scale;
    [
        config.graph.session_lifetime,
        config.wopi.session_idle,
        config.workbook.persistent_idle,
        config.workbook.non_persistent_idle,
        config.tus.upload_lifetime,
    ]
    .into_iter()
    .map(|lifetime| scale.real(lifetime) / 4)
    .min()
    .unwrap_or(MAX_SWEEP_PERIOD)
    .clamp(MIN_SWEEP_PERIOD, MAX_SWEEP_PERIOD)
}

const MIN_SWEEP_PERIOD: Duration = Duration::from_millis(10);
const MAX_SWEEP_PERIOD: Duration = Duration::from_secs(5);

/// How long to wait after a failed `accept`: doubling from 10 ms up to 1 s while failures go on
/// (out of file descriptors, typically, which only time cures), back to the start after a
/// success. A connection reset before it was accepted costs one short wait.
#[derive(Debug)]
struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn new() -> Self {
        AcceptBackoff { next: Self::FIRST }
    }

    /// The wait after one more failure.
    fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Accepts connections until `shutdown`; each connection runs until it ends, the emulator
/// stops, or a handler drops it (a fault).
async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    router: Router,
    shutdown: CancellationToken,
) {
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(_) => {
                state.stats.accept_error();
                tokio::select! {
                    () = tokio::time::sleep(backoff.failed()) => {}
                    () = shutdown.cancelled() => return,
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let kill = shutdown.child_token();
        let link = state.link.clone();
        if link.paces() {
            let stream = PacedStream::new(stream, link.clone());
            tokio::spawn(serve_connection(stream, router.clone(), link, kill));
        } else {
            tokio::spawn(serve_connection(stream, router.clone(), link, kill));
        }
    }
}

/// Serves one connection until it ends, the emulator stops, or a handler drops it (a fault).
///
/// Each request runs in a task of its own. Hyper drops a request's future when its client
/// closes the socket; a handler cancelled halfway would leave its session mid-change (a writer
/// taken out and never put back). In its own task the handler always runs to the end: it sees
/// the body end early and undoes the fragment, or it stores every byte it received, whatever
/// becomes of the connection. Only a deliberate drop (the connection's `kill` token, cancelled
/// by a fault after the handler's work is done, or by the emulator stopping) ends it early.
async fn serve_connection<S>(stream: S, router: Router, link: Arc<Link>, kill: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let control = ConnectionControl::new(kill.clone());
    let request_kill = kill.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(control.clone());
        let (body, read_to_end) = WatchedBody::new(body);
        let request = hyper::Request::from_parts(parts, axum::body::Body::new(body));
        let router = router.clone();
        let kill = request_kill.clone();
        let link = link.clone();
        let handler = tokio::spawn(async move {
            tokio::select! {
                answer = async {
                    let answer = router.oneshot(request).await;
                    link.round_trip().await;
                    answer
                } => Some(answer),
                () = kill.cancelled() => None,
            }
        });
        async move {
            match handler.await {
                Ok(Some(Ok(mut answer))) => {
                    if !read_to_end.load(Ordering::Acquire) {
                        // The body was refused unread: say so, and hyper closes the connection
                        // after the answer instead of reading the rest.
                        answer
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok(answer)
                }
                Ok(Some(Err(never))) => match never {},
                // Dropped on purpose, or the handler panicked: no answer, close the connection.
                Ok(None) | Err(_) => Err(ConnectionDropped),
            }
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = kill.cancelled() => {}
    }
}

/// A request body that records whether it was read to its end.
struct WatchedBody {
    inner: Incoming,
    read_to_end: Arc<AtomicBool>,
}

impl WatchedBody {
    fn new(inner: Incoming) -> (Self, Arc<AtomicBool>) {
        let read_to_end = Arc::new(AtomicBool::new(inner.is_end_stream()));
        let body = WatchedBody {
            inner,
            read_to_end: read_to_end.clone(),
        };
        (body, read_to_end)
    }
}

impl HttpBody for WatchedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || this.inner.is_end_stream() {
            this.read_to_end.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The service's error when a request ends without an answer: hyper closes the connection.
#[derive(Debug)]
struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the connection was dropped without an answer")
    }
}

impl std::error::Error for ConnectionDropped {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_up_to_a_second_and_reset() {
        let mut backoff = AcceptBackoff::new();
        let waits: Vec<u64> = (0..9)
            .map(|_| backoff.failed().as_millis() as u64)
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(10));
    }

    #[test]
    fn sweeps_run_at_a_quarter_of_the_shortest_lifetime_within_bounds() {
        let config = EmulatorConfig::default();
        // Workbook sessions (5 minutes) are the shortest-lived at real time: capped at 5 s.
        assert_eq!(sweep_period(&config), MAX_SWEEP_PERIOD);
        let fast = config
            .clone()
            .with_time_scale(crate::TimeScale::new(300.0).unwrap());
        // 5 minutes at x300 is 1 s: swept every 250 ms.
        assert_eq!(sweep_period(&fast), Duration::from_millis(250));
        let frantic = config.with_time_scale(crate::TimeScale::new(1e6).unwrap());
        assert_eq!(sweep_period(&frantic), MIN_SWEEP_PERIOD);
    }

    #[test]
    fn paths_are_encoded_segment_by_segment() {
        assert_eq!(encode_path("docs/a b#1?.bin"), "docs/a%20b%231%3F.bin");
        assert_eq!(encode_path("é"), "%C3%A9");
    }
}

//! The entry point for uploads: an [`Uploader`] (the HTTP agent, the token, the time limits)
//! runs [`UploadJob`]s for Graph upload sessions and [`WopiJob`](crate::WopiJob)s for WOPI
//! hosts, each on the calling thread until it ends.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use resumable_core::graph::{Destination, Event, Target, Upload, UploadConfig};
use resumable_core::http::Request;
use resumable_core::secret::{Secret, SecretUrl};
use resumable_core::session::{Milestone, Resumption, RetryAttempt, StateMachine, Transfer};
use resumable_core::time::Instant;
use resumable_core::wopi::WopiUpload;

use crate::clock::Clock;
use crate::driver::{Command, DriveEnd, WhenAlone, drive};
use crate::exchange::{Exchange, Timeouts, agent};
use crate::outcome::{Failure, FailureCause, Stats, Summary};
use crate::plan::plan_graph;
use crate::trace;
use resumable_io::CheckpointStore;
use resumable_io::source::Source;

/// Runs uploads: the HTTP agent, the bearer token for session creation, the time limits.
///
/// ```no_run
/// use resumable_core::graph::{DriveItem, Target};
/// use resumable_core::secret::Secret;
/// use resumable_ureq::source::FileSource;
/// use resumable_core::graph::Destination;
/// use resumable_ureq::{FileCheckpointStore, UploadJob, Uploader};
///
/// let uploader = Uploader::builder().token(Secret::new("eyJ0eXAi...")).build();
/// let job = UploadJob::new(
///     FileSource::open("big.bin")?,
///     Destination::new_session("https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession"),
///     Target::DriveItem(DriveItem::new()),
/// )
/// .checkpoint(FileCheckpointStore::new("big.bin.checkpoint"))
/// .on_progress(|p| eprintln!("{} of {} bytes", p.confirmed, p.total));
/// let summary = uploader.upload(job)?;
/// println!("{}", summary.completion.verification);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Uploader {
    pub(crate) agent: ureq::Agent,
    pub(crate) token: Option<Secret>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Uploader`].
#[derive(Clone, Debug, Default)]
pub struct UploaderBuilder {
    token: Option<Secret>,
    timeouts: Timeouts,
}

impl UploaderBuilder {
    /// The bearer token for the requests that carry one (session creation, explicit commits).
    /// Requests to upload URLs and WOPI hosts never carry it.
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// The connect and idle limits.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Builds the uploader.
    pub fn build(self) -> Uploader {
        Uploader {
            agent: agent(self.timeouts),
            token: self.token,
        }
    }
}

impl Default for Uploader {
    fn default() -> Self {
        Uploader::new()
    }
}

impl Uploader {
    /// An uploader with default limits and no token: enough for sessions created elsewhere and
    /// for WOPI hosts.
    pub fn new() -> Uploader {
        UploaderBuilder::default().build()
    }

    /// Configures an uploader.
    pub fn builder() -> UploaderBuilder {
        UploaderBuilder::default()
    }

    /// Runs `job` to its end on this thread: decides whether to resume from its checkpoint,
    /// then drives the Graph upload.
    pub fn upload(&self, job: UploadJob) -> Result<Summary, Failure> {
        let UploadJob {
            source,
            destination,
            mut config,
            commit_when_received,
            mut options,
        } = job;
        config.total = source.len();
        let destination_url = match &destination {
            Destination::NewSession { create_url } => create_url,
            Destination::ExistingSession { upload_url, .. } => upload_url,
        };
        let span = trace::upload_span("graph", config.total, destination_url);
        if destination.create_url().is_some() && self.token.is_none() {
            return Err(Failure::not_started(crate::StartError::NoToken));
        }
        let clock = Clock::new();
        let mut exchange = Exchange::new(
            self.agent.clone(),
            self.token.clone(),
            source,
            Default::default(),
        );
        let plan = plan_graph(
            &destination,
            config,
            options.checkpoint.as_deref(),
            &mut exchange,
            clock.now(),
        )
        .map_err(Failure::not_started)?;
        if commit_when_received {
            options.hook = Some(Box::new(|upload: &mut Upload, event: &Event, now| {
                if let Event::CommitPending { .. } = event {
                    let _ = upload.commit(now);
                }
            }));
        }
        run(Run {
            machine: plan.machine,
            exchange,
            clock,
            resumption: plan.resumption,
            abandoned: plan.abandoned,
            options,
            span,
        })
    }
}

/// One file to upload into a Graph upload session: where its bytes come from, where they go,
/// and how.
///
/// ```
/// use resumable_core::chunk::FragmentSizing;
/// use resumable_core::graph::{DriveItem, Target};
/// use resumable_core::graph::Destination;
/// use resumable_ureq::{FileCheckpointStore, UploadJob};
/// use resumable_ureq::source::BytesSource;
///
/// let mut job = UploadJob::new(
///     BytesSource::new(vec![7u8; 1_000_000]),
///     Destination::new_session("https://graph.microsoft.com/v1.0/me/drive/root:/a.bin:/createUploadSession"),
///     Target::DriveItem(DriveItem::new()),
/// )
/// .configure(|config| config.fragment_size = FragmentSizing::Fixed(327_680 * 2))
/// .checkpoint(FileCheckpointStore::new("/tmp/a.bin.checkpoint"));
/// let handle = job.handle(); // stop or cancel it from another thread, or from a callback
/// assert_eq!(job.config().total, 1_000_000);
/// # drop(handle);
/// ```
pub struct UploadJob {
    source: Arc<dyn Source>,
    destination: Destination,
    config: UploadConfig,
    commit_when_received: bool,
    options: Options<Upload>,
}

impl std::fmt::Debug for UploadJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadJob")
            .field("source", &self.source.describe())
            .field("destination", &self.destination)
            .field("config", &self.config)
            .field(
                "checkpoint",
                &self
                    .options
                    .checkpoint
                    .as_ref()
                    .map(|store| store.describe()),
            )
            .finish_non_exhaustive()
    }
}

impl UploadJob {
    /// Uploads `source` to `destination` as `target`, with the machine's defaults for it.
    pub fn new(source: impl Source + 'static, destination: Destination, target: Target) -> Self {
        UploadJob::shared(Arc::new(source), destination, target)
    }

    /// Like [`UploadJob::new`], with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, destination: Destination, target: Target) -> Self {
        let config = UploadConfig::new(target, source.len());
        UploadJob {
            source,
            destination,
            config,
            commit_when_received: false,
            options: Options::default(),
        }
    }

    /// The machine's configuration (its `total` is the source's size).
    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    /// Changes the machine's configuration: fragment sizes, retry and session policies, the
    /// seed. A checkpoint that is resumed brings its own.
    pub fn configure(mut self, change: impl FnOnce(&mut UploadConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Saves a checkpoint to `store` whenever the machine says it changed (a new session,
    /// confirmed bytes), and resumes from it if it exists and fits. It is removed when the
    /// upload completes or is cancelled, and kept when it fails or stops.
    pub fn checkpoint(mut self, store: impl CheckpointStore) -> Self {
        self.options.checkpoint = Some(Arc::new(store));
        self
    }

    /// Asks `should_retry` after each retry the engine schedules (tus-js-client's
    /// `onShouldRetry`), with the retries since the last progress, what failed and the wait.
    /// `false` ends the upload as failed with
    /// [`GiveUp::Declined`](resumable_core::retry::GiveUp::Declined) as its reason; not a
    /// cancel: the session and the checkpoint are kept to resume.
    pub fn should_retry(
        mut self,
        should_retry: impl FnMut(&RetryAttempt) -> bool + 'static,
    ) -> Self {
        self.options.should_retry = Some(Box::new(should_retry));
        self
    }

    /// Calls `callback` with every event, on the upload's thread, before acting on the next.
    pub fn on_event(mut self, callback: impl FnMut(&Event) + 'static) -> Self {
        self.options.on_event = Some(Box::new(callback));
        self
    }

    /// Calls `callback` whenever the bytes the server confirmed change, the last time with the
    /// source's size when the upload completed.
    pub fn on_progress(mut self, callback: impl FnMut(Progress) + 'static) -> Self {
        self.options.on_progress = Some(Box::new(callback));
        self
    }

    /// Commits a deferred upload as soon as all bytes are received, instead of waiting for
    /// [`UploadHandle::commit`].
    pub fn commit_when_received(mut self) -> Self {
        self.commit_when_received = true;
        self
    }

    /// Keeps the checkpoint after completion (it then records the completion, so running the
    /// same job again sends nothing).
    pub fn keep_completed_checkpoint(mut self) -> Self {
        self.options.keep_completed_checkpoint = true;
        self
    }

    /// A handle to stop, cancel or commit the upload while it runs, from another thread or
    /// from an event callback. While a handle exists, an upload that waits for a decision (a
    /// deferred commit, a name conflict) waits for it; without one it ends with
    /// [`FailureCause::AwaitsDecision`].
    pub fn handle(&mut self) -> UploadHandle<Upload> {
        self.options.handle()
    }
}

/// Where the upload stands, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes of the source the server confirmed.
    pub confirmed: u64,
    /// The source's size.
    pub total: u64,
    /// Source bytes handed to connections so far, retries included.
    pub bytes_sent: u64,
}

/// Stops, cancels or decides for a running upload. Clone it freely; commands given after the
/// upload ended do nothing.
pub struct UploadHandle<M> {
    commands: Sender<Command<M>>,
}

impl<M> Clone for UploadHandle<M> {
    fn clone(&self) -> Self {
        UploadHandle {
            commands: self.commands.clone(),
        }
    }
}

impl<M> std::fmt::Debug for UploadHandle<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadHandle").finish_non_exhaustive()
    }
}

impl<M: Transfer> UploadHandle<M> {
    /// Stops once the requests the machine already handed out are answered, leaving the
    /// session and the checkpoint to resume later. The outcome is [`FailureCause::Stopped`].
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// Cancels the upload (a Graph session is deleted; a WOPI session is left to expire). The
    /// outcome is [`FailureCause::Cancelled`].
    pub fn cancel(&self) {
        self.apply(|machine: &mut M, now| machine.cancel_at(now));
    }

    fn apply(&self, action: impl FnOnce(&mut M, Instant) + Send + 'static) {
        let _ = self.commands.send(Command::Apply(Box::new(action)));
    }
}

impl UploadHandle<Upload> {
    /// Commits an upload waiting in [`Event::CommitPending`] (a deferred commit).
    pub fn commit(&self) {
        self.apply(|upload: &mut Upload, now| {
            let _ = upload.commit(now);
        });
    }
}

impl UploadHandle<WopiUpload> {
    /// After a `412` the job chose to decide on, commits again with `sequence_number`.
    pub fn commit_with_sequence_number(&self, sequence_number: u64) {
        self.apply(move |upload: &mut WopiUpload, now| {
            let _ = upload.commit_with_sequence_number(sequence_number, now);
        });
    }
}

/// Acts on the machine after one of its events, at the given time.
type Hook<M> = Box<dyn FnMut(&mut M, &<M as StateMachine>::Event, Instant)>;

/// The caller's retry policy: `false` declines the retry it is shown.
type RetryHook = Box<dyn FnMut(&RetryAttempt) -> bool>;

/// Called with every event of a machine whose events are `E`.
type EventCallback<E> = Box<dyn FnMut(&E)>;

/// The sending and the receiving end of a job's commands.
type Commands<M> = (Sender<Command<M>>, Receiver<Command<M>>);

/// What every job has besides its machine's settings.
pub(crate) struct Options<M: Transfer> {
    pub(crate) checkpoint: Option<Arc<dyn CheckpointStore>>,
    pub(crate) on_event: Option<EventCallback<M::Event>>,
    pub(crate) on_progress: Option<Box<dyn FnMut(Progress)>>,
    pub(crate) keep_completed_checkpoint: bool,
    pub(crate) hook: Option<Hook<M>>,
    /// The caller's retry policy: asked after each retry the engine schedules.
    pub(crate) should_retry: Option<RetryHook>,
    /// The commands of the handles given out, and a sender to clone for the next.
    pub(crate) commands: Option<Commands<M>>,
}

impl<M: Transfer> Default for Options<M> {
    fn default() -> Self {
        Options {
            checkpoint: None,
            on_event: None,
            on_progress: None,
            keep_completed_checkpoint: false,
            hook: None,
            should_retry: None,
            commands: None,
        }
    }
}

impl<M: Transfer> Options<M> {
    pub(crate) fn handle(&mut self) -> UploadHandle<M> {
        let (sender, _) = self.commands.get_or_insert_with(channel);
        UploadHandle {
            commands: sender.clone(),
        }
    }
}

/// One upload, ready to run.
pub(crate) struct Run<M: Transfer> {
    pub(crate) machine: M,
    pub(crate) exchange: Exchange,
    pub(crate) clock: Clock,
    pub(crate) resumption: Resumption,
    /// A session of an older version of the source, to delete.
    pub(crate) abandoned: Option<SecretUrl>,
    pub(crate) options: Options<M>,
    /// The upload's span ([`trace::upload_span`]): the upload and its requests run in it.
    pub(crate) span: tracing::Span,
}

/// Drives the upload to its end: saves checkpoints, counts, reports.
pub(crate) fn run<M>(run: Run<M>) -> Result<Summary<M::Completion>, Failure>
where
    M: Transfer,
    M::Error: Into<FailureCause>,
{
    let span = run.span.clone();
    let _entered = span.enter();
    let outcome = run_traced(run);
    match &outcome {
        Err(failure) if matches!(failure.cause, FailureCause::Stopped) => {
            tracing::info!("upload stopped");
        }
        Err(failure) if !matches!(failure.cause, FailureCause::Cancelled) => {
            trace::failed(&failure.cause);
        }
        _ => {}
    }
    outcome
}

fn run_traced<M>(run: Run<M>) -> Result<Summary<M::Completion>, Failure>
where
    M: Transfer,
    M::Error: Into<FailureCause>,
{
    let started = std::time::Instant::now();
    let Run {
        mut machine,
        mut exchange,
        clock,
        resumption,
        abandoned,
        mut options,
        span: _,
    } = run;
    machine.anchor(clock.wall_clock());
    if let Some(url) = abandoned {
        let deletion = machine.deletion(url);
        delete_session(&mut exchange, &deletion);
    }
    let total = exchange.source().len();
    let mut stats = Stats {
        total,
        ..Stats::default()
    };
    let store = options.checkpoint.take();
    let mut warning: Option<String> = None;
    let mut save = |bytes: &[u8]| {
        if let Some(store) = &store
            && let Err(error) = store.save(bytes)
        {
            warning.get_or_insert_with(|| error.to_string());
        }
    };
    save(&machine.checkpoint_bytes());
    // Without a handle nothing can send a command: the channel is disconnected from the start.
    let commands = match options.commands.take() {
        Some((_, commands)) => commands,
        None => channel().1,
    };
    let mut ending: Option<FailureCause> = None;
    let mut completion = None;
    let mut confirmed = machine.confirmed_source_bytes();
    let sent = exchange.sent_counter();
    let end = drive(
        &mut machine,
        &mut exchange,
        &clock,
        &commands,
        WhenAlone::Continue,
        |machine: &mut M, event: M::Event| {
            let milestone = M::milestone(&event);
            let declined = matches!(milestone, Milestone::Retry)
                && options.should_retry.as_mut().is_some_and(|should_retry| {
                    machine
                        .last_retry()
                        .is_some_and(|attempt| !should_retry(&attempt))
                });
            trace::milestone(machine, &milestone, declined, total);
            match milestone {
                Milestone::Retry if declined => {
                    // The machine fails with the hook's refusal as the next event.
                    machine.decline_retry(clock.now());
                }
                Milestone::Retry => stats.retries += 1,
                Milestone::Resync { .. } => stats.resyncs += 1,
                Milestone::SessionLost { .. } => stats.sessions_lost += 1,
                Milestone::Completed(done) => completion = Some(done),
                Milestone::Failed(error) => ending = Some(error.into()),
                Milestone::Cancelled => ending = Some(FailureCause::Cancelled),
                _ => {}
            }
            if let Some(hook) = options.hook.as_mut() {
                hook(machine, &event, clock.now());
            }
            if M::saves_checkpoint(&event) {
                save(&machine.checkpoint_bytes());
            }
            if let Some(callback) = options.on_event.as_mut() {
                callback(&event);
            }
            let now_confirmed = if completion.is_some() {
                total
            } else {
                machine.confirmed_source_bytes().min(total)
            };
            if now_confirmed != confirmed
                && let Some(callback) = options.on_progress.as_mut()
            {
                confirmed = now_confirmed;
                callback(Progress {
                    confirmed,
                    total,
                    bytes_sent: sent.load(std::sync::atomic::Ordering::Relaxed),
                });
            }
        },
    );
    stats.bytes_sent = exchange.bytes_sent();
    stats.confirmed = if completion.is_some() {
        total
    } else {
        machine.confirmed_source_bytes().min(total)
    };
    stats.sessions = machine.sessions();
    let failed = end == DriveEnd::Finished
        && matches!(
            ending,
            Some(FailureCause::Upload(_) | FailureCause::Wopi(_) | FailureCause::Tus(_))
        );
    if failed
        && store.is_none()
        && let Some(url) = machine.session_left_behind()
    {
        // Without a checkpoint nothing can resume this session: delete it rather than leave
        // its bytes on the service until it expires.
        let deletion = machine.deletion(url);
        delete_session(&mut exchange, &deletion);
    }
    if let Some(store) = &store {
        let for_good = completion.is_some() && !options.keep_completed_checkpoint
            || matches!(ending, Some(FailureCause::Cancelled));
        if for_good && let Err(error) = store.remove() {
            warning.get_or_insert_with(|| error.to_string());
        }
    }
    stats.elapsed = started.elapsed();
    match (end, completion) {
        (DriveEnd::Finished, Some(completion)) => Ok(Summary {
            completion,
            stats,
            resumption,
            checkpoint_warning: warning,
            source_hashes: exchange.hashes_so_far(),
        }),
        (end, _) => Err(Failure {
            cause: match (end, ending) {
                (DriveEnd::Stopped, _) => FailureCause::Stopped,
                (_, Some(cause)) => cause,
                _ => FailureCause::AwaitsDecision,
            },
            resumption: Some(resumption),
            stats,
            checkpoint_warning: warning,
        }),
    }
}

/// The `deletion` of a session nothing will use again, once; a failure only means it expires
/// on its own.
fn delete_session(exchange: &mut Exchange, deletion: &Request) {
    let _ = exchange.send(deletion, std::time::Duration::from_secs(10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::graph::DriveItem;
    use resumable_io::source::BytesSource;

    #[test]
    fn tokens_and_upload_urls_never_print_whole() {
        let uploader = Uploader::builder()
            .token(Secret::new("eyJ0eXAi-token"))
            .build();
        let url = SecretUrl::new("https://up.example/s/1?tempauth=secret-tempauth");
        let mut job = UploadJob::new(
            BytesSource::new(vec![1u8; 10]),
            Destination::existing_session(url),
            Target::DriveItem(DriveItem::new()),
        );
        let handle = job.handle();
        let printed = format!("{uploader:?} {job:?} {handle:?}");
        assert!(!printed.contains("eyJ0eXAi-token"), "{printed}");
        assert!(!printed.contains("secret-tempauth"), "{printed}");
    }

    #[test]
    fn a_new_session_without_a_token_does_not_start_and_says_what_to_do() {
        let job = UploadJob::new(
            BytesSource::new(vec![1u8; 10]),
            Destination::new_session(
                "http://127.0.0.1:9/v1.0/me/drive/root:/a:/createUploadSession",
            ),
            Target::DriveItem(DriveItem::new()),
        );
        let failure = Uploader::new().upload(job).unwrap_err();
        assert!(matches!(failure.cause, FailureCause::NotStarted(_)));
        let message = failure.to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("give the uploader one"), "{message}");
    }

    #[test]
    fn an_unreachable_server_ends_in_the_machines_failure_not_a_hang() {
        // Port 9 (discard) on loopback refuses connections: the machine retries, then gives up
        // once its budget is spent; the transport only reports each refusal.
        let job = UploadJob::new(
            BytesSource::new(vec![1u8; 10]),
            Destination::existing_session(SecretUrl::new("http://127.0.0.1:9/_up/s?tempauth=t")),
            Target::DriveItem(DriveItem::new()),
        )
        .configure(|config| {
            config.retry.max_attempts = 2;
            config.retry.initial_backoff = std::time::Duration::from_millis(5);
            config.retry.max_backoff = std::time::Duration::from_millis(10);
        });
        let failure = Uploader::new().upload(job).unwrap_err();
        assert!(
            matches!(failure.cause, FailureCause::Upload(_)),
            "{failure}"
        );
        assert_eq!(failure.resumption, Some(Resumption::Fresh));
    }
}

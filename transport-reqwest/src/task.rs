//! A running upload: a tokio task driving one [`Upload`], and the handle the caller keeps.
//!
//! The handle is a [`Stream`] of the engine's [`Event`]s (progress, retries, resyncs, lost
//! sessions, the end), takes commands ([`UploadTask::cancel`], [`UploadTask::commit`],
//! [`UploadTask::stop`]) and yields the outcome ([`UploadTask::finish`]). Dropping the handle
//! before the end cancels the upload: the session is deleted, as an abandoned upload should be.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::Stream;
use resumable_core::engine::{Event, ExplicitCommit, Upload};
use resumable_core::http::{Auth, Body, Method, Request, RequestId, RequestKind};
use resumable_core::secret::SecretUrl;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::driver::{Command, DriveEnd, drive};
use crate::exchange::Exchange;
use crate::outcome::{FailureCause, UploadFailure, UploadStats, UploadSummary};
use crate::start::Resumption;

/// Called with every event, on the upload's task, before the event goes to the stream.
pub type EventCallback = Box<dyn FnMut(&Event) + Send>;

/// A running upload.
///
/// ```no_run
/// # async fn example(uploader: resumable_reqwest::Uploader, job: resumable_reqwest::UploadJob)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use futures::StreamExt;
/// use resumable_core::engine::Event;
///
/// let mut task = uploader.start(job).await?;
/// while let Some(event) = task.next().await {
///     if let Event::FragmentAcknowledged { confirmed, total, .. } = event {
///         println!("{confirmed} of {total} bytes");
///     }
/// }
/// let summary = task.finish().await?;
/// println!("{}", summary.completion.item.unwrap_or_default());
/// # Ok(()) }
/// ```
pub struct UploadTask {
    events: mpsc::UnboundedReceiver<Event>,
    commands: Option<mpsc::UnboundedSender<Command<Upload>>>,
    task: Option<JoinHandle<Result<UploadSummary, UploadFailure>>>,
    resumption: Resumption,
    total: u64,
    sent: Arc<AtomicU64>,
}

impl UploadTask {
    /// How the upload began (fresh, resumed from a checkpoint, restarted).
    pub fn resumption(&self) -> &Resumption {
        &self.resumption
    }

    /// The file's size.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Source bytes handed to connections so far, retries included: moves while a fragment is
    /// on its way, for a live progress display. Confirmed progress comes with the events.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Cancels the upload: the session is deleted and the outcome is
    /// [`FailureCause::Cancelled`]. Does nothing once the upload has ended.
    pub fn cancel(&self) {
        self.send(Command::apply(|upload: &mut Upload, now| {
            let _ = upload.cancel(now);
        }));
    }

    /// Commits an upload waiting in [`Event::CommitPending`] (a deferred commit), with
    /// `POST uploadUrl`.
    pub fn commit(&self) {
        self.send(Command::apply(|upload: &mut Upload, now| {
            let _ = upload.commit(now);
        }));
    }

    /// Commits the session's bytes as the drive item `commit` names (the way out of an
    /// [`Event::NameConflict`], or an alternative to [`UploadTask::commit`]).
    pub fn commit_with_source_url(&self, commit: ExplicitCommit) {
        self.send(Command::apply(move |upload: &mut Upload, now| {
            let _ = upload.commit_with_source_url(commit, now);
        }));
    }

    /// Stops sending and ends the task, leaving the session and the checkpoint as they are, to
    /// resume later. The outcome is [`FailureCause::Stopped`].
    pub fn stop(&self) {
        self.send(Command::Stop);
    }

    fn send(&self, command: Command<Upload>) {
        if let Some(commands) = &self.commands {
            let _ = commands.send(command);
        }
    }

    /// Waits for the end. Events not yet taken from the stream are dropped.
    ///
    /// An upload that needs a decision does not end by itself: after [`Event::CommitPending`]
    /// (a deferred commit, unless the job commits when received) call [`UploadTask::commit`],
    /// and after [`Event::NameConflict`] call [`UploadTask::commit_with_source_url`] or
    /// [`UploadTask::cancel`]; until then the task waits (and the session eventually expires).
    pub async fn finish(mut self) -> Result<UploadSummary, UploadFailure> {
        self.events.close();
        let Some(task) = self.task.take() else {
            return Err(interrupted(self.total));
        };
        let outcome = task.await.unwrap_or_else(|_| Err(interrupted(self.total)));
        // Only now may the command channel close: closing it earlier would cancel the upload.
        self.commands.take();
        outcome
    }
}

impl Stream for UploadTask {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for UploadTask {
    fn drop(&mut self) {
        // Closing the command channel tells the task its caller is gone: it cancels the upload
        // (deleting the session) and ends. The task itself is left to run to that end.
        self.commands.take();
    }
}

fn interrupted(total: u64) -> UploadFailure {
    UploadFailure {
        cause: FailureCause::Interrupted,
        stats: UploadStats {
            total,
            ..UploadStats::default()
        },
        checkpoint_warning: None,
    }
}

/// What the task needs besides the machine.
pub(crate) struct TaskParts {
    pub(crate) exchange: Arc<Exchange>,
    pub(crate) clock: Clock,
    pub(crate) writer: Option<CheckpointWriter>,
    pub(crate) callback: Option<EventCallback>,
    pub(crate) commit_when_received: bool,
    pub(crate) keep_completed_checkpoint: bool,
    pub(crate) resumption: Resumption,
    pub(crate) abandoned: Option<SecretUrl>,
}

/// Spawns the task driving `upload`.
pub(crate) fn spawn(mut upload: Upload, parts: TaskParts) -> UploadTask {
    let (event_tx, events) = mpsc::unbounded_channel();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let total = upload.total();
    let sent = parts.exchange.bytes_sent_counter();
    let resumption = parts.resumption.clone();
    upload.set_wall_clock(parts.clock.wall_clock());
    let task = tokio::spawn(run(upload, parts, command_rx, event_tx));
    UploadTask {
        events,
        commands: Some(commands),
        task: Some(task),
        resumption,
        total,
        sent,
    }
}

/// The task's body: drive the machine, save checkpoints, count, report.
async fn run(
    mut upload: Upload,
    mut parts: TaskParts,
    commands: mpsc::UnboundedReceiver<Command<Upload>>,
    events: mpsc::UnboundedSender<Event>,
) -> Result<UploadSummary, UploadFailure> {
    let started = tokio::time::Instant::now();
    if let Some(url) = parts.abandoned.take() {
        delete_abandoned(parts.exchange.clone(), url);
    }
    let mut stats = UploadStats {
        total: upload.total(),
        ..UploadStats::default()
    };
    let mut ending: Option<FailureCause> = None;
    let mut completion = None;
    let writer = parts.writer.as_ref();
    if let Some(writer) = writer {
        writer.save(upload.checkpoint().to_bytes());
    }
    let end = drive(
        &mut upload,
        &parts.exchange,
        &parts.clock,
        commands,
        |upload: &mut Upload, event: Event| {
            match &event {
                Event::RetryScheduled { .. } => stats.retries += 1,
                Event::Resynchronised { .. } => stats.resyncs += 1,
                Event::SessionLost { .. } => stats.sessions_lost += 1,
                Event::CommitPending { .. } if parts.commit_when_received => {
                    let _ = upload.commit(parts.clock.now());
                }
                Event::Completed(done) => completion = Some(done.clone()),
                Event::Failed(error) => ending = Some(FailureCause::Upload(error.clone())),
                Event::Cancelled => ending = Some(FailureCause::Cancelled),
                _ => {}
            }
            if let Some(writer) = writer.filter(|_| changes_checkpoint(&event)) {
                writer.save(upload.checkpoint().to_bytes());
            }
            if let Some(callback) = parts.callback.as_mut() {
                callback(&event);
            }
            let _ = events.send(event);
        },
    )
    .await;
    // The last fragment's answer is the item, not a range list: a completion confirms all.
    stats.confirmed = if completion.is_some() {
        upload.total()
    } else {
        upload.confirmed()
    };
    stats.sessions = upload.sessions();
    stats.bytes_sent = parts.exchange.bytes_sent();
    stats.elapsed = started.elapsed();
    let mut checkpoint_warning = None;
    if let Some(writer) = writer {
        let finished_for_good = completion.is_some() && !parts.keep_completed_checkpoint
            || matches!(ending, Some(FailureCause::Cancelled));
        if finished_for_good {
            writer.remove();
        }
        checkpoint_warning = writer.flush().await;
    }
    match (end, completion, ending) {
        (DriveEnd::Finished, Some(completion), _) => Ok(UploadSummary {
            completion,
            stats,
            resumption: parts.resumption,
            checkpoint_warning,
        }),
        (end, _, ending) => Err(UploadFailure {
            cause: match (end, ending) {
                (DriveEnd::Stopped, _) => FailureCause::Stopped,
                (_, Some(cause)) => cause,
                _ => FailureCause::Interrupted,
            },
            stats,
            checkpoint_warning,
        }),
    }
}

/// Events after which the checkpoint changes in a way worth saving: a new session, confirmed
/// bytes, the server's word on where it is, a lost session, the end.
fn changes_checkpoint(event: &Event) -> bool {
    matches!(
        event,
        Event::SessionCreated { .. }
            | Event::FragmentAcknowledged { .. }
            | Event::Resynchronised { .. }
            | Event::SessionLost { .. }
            | Event::CommitPending { .. }
            | Event::NameConflict
            | Event::Completed(_)
    )
}

/// Deletes, in the background and at most once, the session of an older version of the source.
/// A failure only means the session expires on its own.
fn delete_abandoned(exchange: Arc<Exchange>, url: SecretUrl) {
    let request = Request {
        id: RequestId(u64::MAX),
        kind: RequestKind::Cancel,
        method: Method::Delete,
        url,
        headers: Vec::new(),
        auth: Auth::None,
        body: Body::Empty,
    };
    tokio::spawn(async move {
        let _ = exchange
            .send(&request, std::time::Duration::from_secs(30))
            .await;
    });
}

//! A running upload: a tokio task driving one state machine (a Graph [`Upload`] or a
//! [`WopiUpload`]), and the handle the caller keeps.
//!
//! The handle is a [`Stream`] of the machine's events (progress, retries, resyncs, lost
//! sessions, the end), takes commands ([`UploadTask::cancel`], [`UploadTask::stop`], and the
//! protocol's own: [`UploadTask::commit`] for Graph, [`UploadTask::commit_with_sequence_number`]
//! for WOPI) and yields the outcome ([`UploadTask::finish`]). Dropping the handle before the end
//! cancels the upload: a Graph session is deleted, as an abandoned upload should be (a WOPI
//! session cannot be deleted; it expires).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use resumable_core::digest::HashKinds;
use resumable_core::graph::{Event, ExplicitCommit, Upload};
use resumable_core::http::Request;
use resumable_core::secret::SecretUrl;
use resumable_core::time::Instant;
use resumable_core::wopi::WopiUpload;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::driver::{Command, DriveEnd, Hold, drive_held};
use crate::exchange::Exchange;
use crate::outcome::{FailureCause, UploadFailure, UploadStats, UploadSummary};
use crate::task_machine::TaskMachine;
use crate::trace;
use resumable_core::session::Resumption;
use resumable_core::session::{Milestone, RetryAttempt};

/// Called with every event, on the upload's task, before the event goes to the stream.
pub(crate) type EventCallback<E = Event> = Box<dyn FnMut(&E) + Send>;

/// The caller's retry policy: asked after each retry the engine schedules, `false` declines it.
pub(crate) type RetryHook = Box<dyn FnMut(&RetryAttempt) -> bool + Send>;

/// Acts on the machine after one of its events, at the given time (a Graph upload that
/// commits as soon as all bytes are received).
pub(crate) type EventHook<M> =
    Box<dyn FnMut(&mut M, &<M as resumable_core::session::StateMachine>::Event, Instant) + Send>;

/// A running upload: of a Graph [`Upload`] by default, of a [`WopiUpload`] as a
/// [`WopiTask`](crate::WopiTask).
///
/// ```no_run
/// # async fn example(uploader: resumable_reqwest::Uploader, job: resumable_reqwest::UploadJob)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use futures::StreamExt;
/// use resumable_core::graph::Event;
///
/// let mut task = uploader.start(job).await?;
/// while let Some(event) = task.next().await {
///     if let Event::Acknowledged { confirmed, total, .. } = event {
///         println!("{confirmed} of {total} bytes");
///     }
/// }
/// let summary = task.finish().await?;
/// println!("{}", summary.completion.item.unwrap_or_default());
/// # Ok(()) }
/// ```
pub struct UploadTask<M: TaskMachine = Upload> {
    events: mpsc::UnboundedReceiver<M::Event>,
    pub(crate) commands: Option<mpsc::UnboundedSender<Command<M>>>,
    task: Option<JoinHandle<Result<UploadSummary<M::Completion>, UploadFailure>>>,
    resumption: Resumption,
    total: u64,
    progress_total: u64,
    sent: Arc<AtomicU64>,
}

impl<M: TaskMachine> UploadTask<M> {
    /// How the upload began (fresh, resumed from a checkpoint, restarted).
    pub fn resumption(&self) -> &Resumption {
        &self.resumption
    }

    /// The file's size.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The size the machine's progress events count toward: the file's size for Graph, the
    /// framed session stream's (the file and 32 bytes of frame prefix per chunk) for WOPI.
    pub fn progress_total(&self) -> u64 {
        self.progress_total
    }

    /// Source bytes handed to connections so far, retries included: moves while a fragment is
    /// on its way, for a live progress display. Confirmed progress comes with the events.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Cancels the upload: a Graph session is deleted (a WOPI session is left to expire) and
    /// the outcome is [`FailureCause::Cancelled`]. Does nothing once the upload has ended.
    pub fn cancel(&self) {
        self.send(Command::apply(|machine: &mut M, now| {
            machine.cancel_at(now)
        }));
    }

    /// Stops sending and ends the task, leaving the session and the checkpoint as they are, to
    /// resume later. The outcome is [`FailureCause::Stopped`].
    pub fn stop(&self) {
        self.send(Command::Stop);
    }

    pub(crate) fn send(&self, command: Command<M>) {
        if let Some(commands) = &self.commands {
            let _ = commands.send(command);
        }
    }

    /// Waits for the end. Events not yet taken from the stream are dropped.
    ///
    /// An upload that needs a decision does not end by itself: after [`Event::CommitPending`]
    /// (a deferred commit, unless the job commits when received) call [`UploadTask::commit`],
    /// and after [`Event::NameConflict`] call [`UploadTask::commit_with_source_url`] or
    /// [`UploadTask::cancel`]; a WOPI `412` under
    /// [`SequenceConflictPolicy::Ask`](resumable_core::wopi::SequenceConflictPolicy::Ask)
    /// waits for [`UploadTask::commit_with_sequence_number`]. Until then the task waits (and
    /// the session eventually expires).
    pub async fn finish(mut self) -> Result<UploadSummary<M::Completion>, UploadFailure> {
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

impl UploadTask<Upload> {
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
}

impl UploadTask<WopiUpload> {
    /// After a `412` the job chose to decide on
    /// ([`WopiEvent::SequenceConflict`](resumable_core::wopi::WopiEvent::SequenceConflict)
    /// with `retrying: false`): commits again with `sequence_number`, typically the host's,
    /// which overwrites the version the host holds.
    pub fn commit_with_sequence_number(&self, sequence_number: u64) {
        self.send(Command::apply(move |upload: &mut WopiUpload, now| {
            let _ = upload.commit_with_sequence_number(sequence_number, now);
        }));
    }

    /// Pauses: nothing new is sent but keep-alives, which keep the session from expiring.
    pub fn pause(&self) {
        self.send(Command::apply(|upload: &mut WopiUpload, now| {
            let _ = upload.pause(now);
        }));
    }

    /// Ends a pause (in a new session if the old one lapsed meanwhile).
    pub fn unpause(&self) {
        self.send(Command::apply(|upload: &mut WopiUpload, now| {
            let _ = upload.unpause(now);
        }));
    }
}

impl<M: TaskMachine> std::fmt::Debug for UploadTask<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadTask")
            .field("resumption", &self.resumption)
            .field("total", &self.total)
            .field("progress_total", &self.progress_total)
            .field("bytes_sent", &self.bytes_sent())
            .finish_non_exhaustive()
    }
}

impl<M: TaskMachine> Stream for UploadTask<M> {
    type Item = M::Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M::Event>> {
        self.events.poll_recv(cx)
    }
}

impl<M: TaskMachine> Drop for UploadTask<M> {
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
pub(crate) struct TaskParts<M: TaskMachine> {
    pub(crate) exchange: Arc<Exchange>,
    pub(crate) clock: Clock,
    pub(crate) writer: Option<CheckpointWriter>,
    pub(crate) callback: Option<EventCallback<M::Event>>,
    pub(crate) hook: Option<EventHook<M>>,
    pub(crate) should_retry: Option<RetryHook>,
    pub(crate) keep_completed_checkpoint: bool,
    /// The upload's span ([`trace::upload_span`]): the task and its requests run in it.
    pub(crate) span: tracing::Span,
    pub(crate) resumption: Resumption,
    pub(crate) abandoned: Option<SecretUrl>,
}

/// Where the protocol lets a checkpoint lag ([`Transfer::checkpoint_may_lag`]), how far the
/// confirmed bytes may run ahead of the newest save before a request waits for it to land.
const LAG_BYTES: u64 = 12 << 20;

/// Where the protocol lets a checkpoint lag, a save for confirmed bytes alone waits until this
/// many more are confirmed, or [`SAVE_INTERVAL`] has passed: one save per fragment of a few
/// hundred KiB would cost an `fsync` each. With [`LAG_BYTES`], a crash costs at most 16 MiB of
/// confirmed progress, sent again.
const SAVE_STEP: u64 = 4 << 20;

/// See [`SAVE_STEP`]: on a slow link, confirmed bytes are saved at least this often.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// The saves a request may have to wait for: each save's number and the confirmed bytes it
/// holds; and when the newest was made.
struct SaveLag {
    saves: std::collections::VecDeque<(u64, u64)>,
    newest_at: tokio::time::Instant,
    /// Whether confirmed bytes went unsaved since the newest save.
    skipped: bool,
}

impl SaveLag {
    fn new(first: u64, confirmed: u64) -> Self {
        SaveLag {
            saves: std::iter::once((first, confirmed)).collect(),
            newest_at: tokio::time::Instant::now(),
            skipped: false,
        }
    }

    /// Whether `confirmed` bytes (and nothing else new) are worth a save now: always, unless
    /// the protocol allows a lag and the newest save is recent and close behind.
    fn due(&self, confirmed: u64, may_lag: bool) -> bool {
        let newest = self.saves.back().map_or(0, |&(_, held)| held);
        !may_lag
            || confirmed.saturating_sub(newest) >= SAVE_STEP
            || confirmed < newest
            || self.newest_at.elapsed() >= SAVE_INTERVAL
    }

    /// Save `number` holds `confirmed` bytes: answers the save to let land before sending
    /// more. Strictly, the one before it (a crash loses at most one request's progress);
    /// where the protocol allows a lag, the oldest save within [`LAG_BYTES`] of `confirmed`.
    fn saved(&mut self, number: u64, confirmed: u64, may_lag: bool) -> u64 {
        let before = number.saturating_sub(1);
        self.saves.push_back((number, confirmed));
        self.newest_at = tokio::time::Instant::now();
        self.skipped = false;
        if !may_lag {
            self.saves.drain(..self.saves.len() - 1);
            return before;
        }
        // Saves too far behind are of no use to wait for: keep from the oldest within reach.
        while self
            .saves
            .front()
            .is_some_and(|&(_, held)| held.saturating_add(LAG_BYTES) < confirmed)
        {
            self.saves.pop_front();
        }
        self.saves
            .front()
            .map_or(before, |&(oldest, _)| oldest.min(before))
    }
}

/// Spawns the task driving `machine`.
pub(crate) fn spawn<M: TaskMachine>(mut machine: M, parts: TaskParts<M>) -> UploadTask<M> {
    let (event_tx, events) = mpsc::unbounded_channel();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let total = parts.exchange.source().len();
    let progress_total = machine.progress_total();
    let sent = parts.exchange.bytes_sent_counter();
    let resumption = parts.resumption.clone();
    machine.anchor(parts.clock.wall_clock());
    let span = parts.span.clone();
    let task = tokio::spawn(run(machine, parts, command_rx, event_tx).instrument(span));
    UploadTask {
        events,
        commands: Some(commands),
        task: Some(task),
        resumption,
        total,
        progress_total,
        sent,
    }
}

/// The task's body: drive the machine, save checkpoints, count, report.
async fn run<M: TaskMachine>(
    mut machine: M,
    mut parts: TaskParts<M>,
    commands: mpsc::UnboundedReceiver<Command<M>>,
    events: mpsc::UnboundedSender<M::Event>,
) -> Result<UploadSummary<M::Completion>, UploadFailure> {
    let started = tokio::time::Instant::now();
    if let Some(url) = parts.abandoned.take() {
        delete_abandoned(parts.exchange.clone(), machine.deletion(url));
    }
    let total = parts.exchange.source().len();
    let mut stats = UploadStats {
        total,
        ..UploadStats::default()
    };
    let mut ending: Option<FailureCause> = None;
    let mut completion = None;
    let writer = parts.writer.as_ref();
    // The newest save's number (for the hold before a request that may finish the upload),
    // and the saves whose landing a later request may wait for.
    let newest = AtomicU64::new(writer.map_or(0, |w| w.save(machine.checkpoint_bytes())));
    let mut lag = SaveLag::new(
        newest.load(Ordering::Relaxed),
        machine.confirmed_source_bytes(),
    );
    let clock = parts.clock;
    let end = drive_held(
        &mut machine,
        &parts.exchange,
        &clock,
        commands,
        |machine: &mut M, event: M::Event| {
            let milestone = M::milestone(&event);
            // Confirmed bytes and nothing else: a save that may wait for more of them.
            let routine = matches!(milestone, Milestone::Acknowledged { .. });
            let declined = matches!(milestone, Milestone::Retry)
                && parts.should_retry.as_mut().is_some_and(|should_retry| {
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
            if let Some(hook) = parts.hook.as_mut() {
                hook(machine, &event, clock.now());
            }
            let confirmed = machine.confirmed_source_bytes();
            let may_lag = machine.checkpoint_may_lag();
            let hold =
                writer
                    .filter(|_| M::saves_checkpoint(&event))
                    .and_then(|writer| -> Option<Hold> {
                        if routine && !lag.due(confirmed, may_lag) {
                            lag.skipped = true;
                            return None;
                        }
                        let save = writer.save(machine.checkpoint_bytes());
                        newest.store(save, Ordering::Relaxed);
                        Some(Box::pin(writer.landed(lag.saved(save, confirmed, may_lag))))
                    });
            if let Some(callback) = parts.callback.as_mut() {
                callback(&event);
            }
            let _ = events.send(event);
            hold
        },
        |machine: &mut M| {
            // A request that may finish the upload goes out only once a checkpoint that knows
            // it is on disk: resuming from an older one would upload everything again.
            writer
                .filter(|_| machine.may_finish_next())
                .map(|writer| -> Hold {
                    let save = writer.save(machine.checkpoint_bytes());
                    newest.store(save, Ordering::Relaxed);
                    Box::pin(writer.landed(save))
                })
        },
    )
    .await;
    // A source that grew while it was sent (standard input) has its size only now.
    let total = parts.exchange.source().len();
    stats.total = total;
    // A completion confirms all; before it, the machine's count (in source bytes).
    stats.confirmed = if completion.is_some() {
        total
    } else {
        machine.confirmed_source_bytes().min(total)
    };
    stats.sessions = machine.sessions();
    stats.bytes_sent = parts.exchange.bytes_sent();
    stats.elapsed = started.elapsed();
    let failed = end == DriveEnd::Finished
        && matches!(
            ending,
            Some(FailureCause::Upload(_) | FailureCause::Wopi(_) | FailureCause::Tus(_))
        );
    if failed
        && writer.is_none()
        && let Some(url) = machine.session_left_behind()
    {
        // Without a checkpoint nothing can resume this session: delete it rather than leave
        // its bytes on the service until it expires.
        delete_session(&parts.exchange, machine.deletion(url)).await;
    }
    let mut checkpoint_warning = None;
    if let Some(writer) = writer {
        let finished_for_good = completion.is_some() && !parts.keep_completed_checkpoint
            || matches!(ending, Some(FailureCause::Cancelled));
        if finished_for_good {
            writer.remove();
        } else if lag.skipped {
            // Stopped, failed or interrupted with confirmed bytes not saved yet: save them
            // now, so the next run resumes from here.
            writer.save(machine.checkpoint_bytes());
        }
        checkpoint_warning = writer.flush().await;
    }
    // The reads for sending hash the source as they go, in order; one that finished ahead of
    // the block before it (a prefetch) leaves a gap. A completed upload's summary still names
    // the source's hashes: what the reads missed is read now (usually nothing).
    let source_hashes = match completion {
        Some(_) => match parts.exchange.source_hashes_so_far() {
            Some(hashes) => Some(hashes),
            None => parts.exchange.source_hashes(HashKinds::CHEAP).await.ok(),
        },
        None => None,
    };
    match (end, completion, ending) {
        (DriveEnd::Finished, Some(completion), _) => Ok(UploadSummary {
            completion,
            stats,
            resumption: parts.resumption,
            checkpoint_warning,
            source_hashes,
        }),
        (end, _, ending) => {
            let cause = match (end, ending) {
                (DriveEnd::Stopped, _) => FailureCause::Stopped,
                (_, Some(cause)) => cause,
                _ => FailureCause::Interrupted,
            };
            match cause {
                FailureCause::Stopped => tracing::info!("upload stopped"),
                FailureCause::Cancelled => {}
                _ => trace::failed(&cause),
            }
            Err(UploadFailure {
                cause,
                stats,
                checkpoint_warning,
            })
        }
    }
}

/// Deletes, in the background and at most once, the session of an older version of the source.
/// A failure only means the session expires on its own.
fn delete_abandoned(exchange: Arc<Exchange>, deletion: Request) {
    tokio::spawn(async move { delete_session(&exchange, deletion).await });
}

/// The `deletion` of a session nothing will use again, once; a failure only means it expires
/// on its own.
async fn delete_session(exchange: &Exchange, deletion: Request) {
    let _ = exchange
        .send(&deletion, std::time::Duration::from_secs(10))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_each_request_waits_for_the_save_before_the_newest() {
        let mut lag = SaveLag::new(1, 0);
        for (number, confirmed) in (2..50).zip((1..).map(|i| i * 327_680)) {
            assert_eq!(lag.saved(number, confirmed, false), number - 1);
        }
        assert_eq!(lag.saves.len(), 1);
    }

    #[test]
    fn a_lag_is_bounded_by_bytes_not_saves() {
        let fragment = 327_680;
        let mut lag = SaveLag::new(1, 0);
        let mut number = 1;
        let mut saved = 0;
        for k in 1..2_000u64 {
            let confirmed = k * fragment;
            if !lag.due(confirmed, true) {
                // Skipped: never more than a step behind the newest save.
                assert!(confirmed - saved < SAVE_STEP);
                continue;
            }
            number += 1;
            let wait_for = lag.saved(number, confirmed, true);
            let held = lag
                .saves
                .iter()
                .find(|&&(n, _)| n == wait_for)
                .map_or(0, |&(_, held)| held);
            // What is waited for holds all but at most LAG_BYTES of what is confirmed.
            assert!(confirmed - held <= LAG_BYTES, "{k}: waits for {wait_for}");
            saved = confirmed;
        }
        // One save per SAVE_STEP of progress, not one per fragment.
        assert_eq!(number - 1, 1_999 / SAVE_STEP.div_ceil(fragment));
        // Fragments larger than the lag wait for the one before, as strictly.
        let mut large = SaveLag::new(1, 0);
        assert!(large.due(60 << 20, true));
        assert_eq!(large.saved(2, 60 << 20, true), 1);
        assert_eq!(large.saved(3, 120 << 20, true), 2);
        // Going back (a new session) is saved at once.
        assert!(large.due(0, true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_link_saves_every_second() {
        let lag = SaveLag::new(1, 0);
        assert!(!lag.due(1_000, true));
        tokio::time::advance(SAVE_INTERVAL).await;
        assert!(lag.due(1_000, true));
        assert!(lag.due(1_000, false));
    }
}

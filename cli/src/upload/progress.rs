//! Showing an upload as it goes: a progress bar on a terminal, log lines otherwise, one JSON
//! object per line with `--json` (progress, retries, resyncs; the report is the last line).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use resumable_core::session::{Milestone, Transfer};
use resumable_reqwest::UploadTask;
use resumable_reqwest::driver::TaskMachine;
use serde_json::json;

use crate::size::HumanBytes;

/// How progress is shown.
pub(crate) enum Display {
    /// An indicatif bar (bytes, rate, ETA) and a message with what happened; notable events
    /// print a line above the bars, naming the upload.
    Bar { bar: ProgressBar, label: String },
    /// One line on standard error per notable event, and every tenth of the file.
    Log { label: String, next_tenth: u64 },
    /// One JSON object per line on standard output for each event (progress at most every
    /// [`JSON_PROGRESS_EVERY`]).
    Json {
        label: String,
        last_progress: Option<Instant>,
    },
    /// Nothing.
    Quiet,
}

/// How often `--json` reports progress at most (every confirmation would flood a pipe with
/// small fragments).
const JSON_PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The bar of several uploads together: their confirmed bytes summed.
#[derive(Clone)]
pub(crate) struct Overall {
    bar: ProgressBar,
    confirmed: Arc<AtomicU64>,
}

impl Overall {
    /// A bar for `total` bytes of `files` files, in `multi`.
    pub(crate) fn new(multi: &MultiProgress, files: usize, total: u64) -> Overall {
        let bar = multi.add(bar(
            &format!("{files} files"),
            total,
            ProgressDrawTarget::hidden(),
        ));
        Overall {
            bar,
            confirmed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the sum by what one upload's confirmed bytes moved (back, after a lost session).
    fn moved(&self, from: u64, to: u64) {
        let now = if to >= from {
            self.confirmed.fetch_add(to - from, Ordering::Relaxed) + (to - from)
        } else {
            self.confirmed.fetch_sub(from - to, Ordering::Relaxed) - (from - to)
        };
        self.bar.set_position(now);
    }

    /// Says how many files are done, and ends the bar when all are.
    pub(crate) fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Leaves the bar with its last message.
    pub(crate) fn finish(&self, message: String) {
        let confirmed = self.confirmed.load(Ordering::Relaxed);
        self.bar.set_position(confirmed);
        if self.bar.length().is_some_and(|total| confirmed >= total) {
            self.bar.finish_with_message(message);
        } else {
            // A file failed or the command was stopped: `finish` would draw the bar full.
            self.bar.abandon_with_message(message);
        }
    }
}

/// Follows one upload's events and shows them.
pub(crate) struct Progress {
    display: Display,
    total: u64,
    confirmed: u64,
    /// `bytes_sent` when the last confirmation came: what went out since is on its way.
    sent_at_confirmation: u64,
    retries: u32,
    resyncs: u32,
    session: u32,
    name_conflict: bool,
    /// The bar of all files, when this is one of several.
    overall: Option<Overall>,
    /// Whether the bar is removed at the end (one of several: only active files have bars).
    transient: bool,
}

impl Progress {
    /// A bar on standard error if it is a terminal (and `bars` allows), log lines if not.
    pub(crate) fn for_terminal(label: &str, total: u64, bars: bool) -> Progress {
        let display = if bars && std::io::stderr().is_terminal() {
            Display::Bar {
                bar: bar(label, total, ProgressDrawTarget::stderr()),
                label: label.to_owned(),
            }
        } else {
            Display::Log {
                label: label.to_owned(),
                next_tenth: 1,
            }
        };
        Progress::with_display(display, total)
    }

    /// A bar in `multi` (several uploads at once), or log lines if standard error is not a
    /// terminal.
    pub(crate) fn in_group(multi: &MultiProgress, label: &str, total: u64) -> Progress {
        let display = if std::io::stderr().is_terminal() {
            Display::Bar {
                bar: multi.add(bar(label, total, ProgressDrawTarget::hidden())),
                label: label.to_owned(),
            }
        } else {
            Display::Log {
                label: label.to_owned(),
                next_tenth: 1,
            }
        };
        Progress::with_display(display, total)
    }

    /// JSON lines on standard output.
    pub(crate) fn json(label: &str, total: u64) -> Progress {
        let display = Display::Json {
            label: label.to_owned(),
            last_progress: None,
        };
        Progress::with_display(display, total)
    }

    /// Nothing shown.
    pub(crate) fn quiet(total: u64) -> Progress {
        Progress::with_display(Display::Quiet, total)
    }

    /// Counts toward `overall` too; the bar goes away at the end (its file's result is a line).
    pub(crate) fn within(mut self, overall: Option<Overall>) -> Progress {
        self.overall = overall;
        self.transient = true;
        self
    }

    fn with_display(display: Display, total: u64) -> Progress {
        Progress {
            display,
            total,
            confirmed: 0,
            sent_at_confirmation: 0,
            retries: 0,
            resyncs: 0,
            session: 0,
            name_conflict: false,
            overall: None,
            transient: false,
        }
    }

    /// Sets the confirmed bytes, moving the overall bar with them.
    fn confirm(&mut self, confirmed: u64) {
        if let Some(overall) = &self.overall {
            overall.moved(self.confirmed, confirmed);
        }
        self.confirmed = confirmed;
    }

    /// Takes in one event of any upload (its counts are in the machine's progress units: the
    /// file's bytes, or a WOPI upload's framed stream).
    pub(crate) fn on_event<M: Transfer>(&mut self, event: &M::Event, bytes_sent: u64) {
        let milestone = M::milestone(event);
        match milestone {
            Milestone::Acknowledged { confirmed } => {
                self.confirm(confirmed);
                self.sent_at_confirmation = bytes_sent;
            }
            Milestone::Resync { confirmed } => {
                self.resyncs += 1;
                self.confirm(confirmed);
                self.sent_at_confirmation = bytes_sent;
            }
            Milestone::Retry => self.retries += 1,
            // The last answer names the stored file, not a range: all bytes are in.
            Milestone::Completed(_) => self.confirm(self.total),
            Milestone::SessionCreated { number } => self.session = number,
            Milestone::AwaitsCaller => self.name_conflict = true,
            Milestone::SessionLost {
                starting_over: true,
            } => {
                self.confirm(0);
                self.sent_at_confirmation = bytes_sent;
            }
            _ => {}
        }
        if let Display::Json { .. } = self.display {
            self.json_event(&milestone, event.to_string());
            return;
        }
        // Progress is the bar's; a failure is the command's last line, and saying it twice
        // helps no one.
        let (line, notable) = match milestone {
            Milestone::Acknowledged { .. } => (false, false),
            // One of several files: its first session is no news, and its end is the batch's
            // line for it.
            Milestone::SessionCreated { number: 1 } | Milestone::Completed(_) if self.transient => {
                (false, false)
            }
            Milestone::Failed(_) => (false, true),
            Milestone::Completed(_) => (true, false),
            _ => (true, true),
        };
        self.show(line.then(|| event.to_string()), notable);
    }

    /// Moves the display after an event: the bar, and a line for `note` if there is one.
    fn show(&mut self, note: Option<String>, notable: bool) {
        let counters = self.counters();
        match &mut self.display {
            Display::Bar { bar, label } => {
                bar.set_position(self.confirmed);
                bar.set_message(counters);
                if let Some(note) = note.filter(|_| notable) {
                    bar.println(format!("  {label}: {note}"));
                }
            }
            Display::Log { label, next_tenth } => {
                let mut err = std::io::stderr().lock();
                if let Some(note) = note {
                    let _ = writeln!(err, "{label}: {note}");
                }
                let reached = (self.confirmed * 10).checked_div(self.total).unwrap_or(0);
                if reached >= *next_tenth && reached < 10 {
                    let _ = writeln!(
                        err,
                        "{label}: {}% ({} of {})",
                        self.confirmed * 100 / self.total,
                        HumanBytes(self.confirmed),
                        HumanBytes(self.total)
                    );
                    *next_tenth = reached + 1;
                }
            }
            Display::Json { .. } | Display::Quiet => {}
        }
    }

    /// One event as a JSON line: progress (at most every [`JSON_PROGRESS_EVERY`]), retries,
    /// resyncs and the rest by name, each with the file's label and the counters so far.
    fn json_event<C, E>(&mut self, milestone: &Milestone<C, E>, message: String) {
        let Display::Json {
            label,
            last_progress,
        } = &mut self.display
        else {
            return;
        };
        let name = match milestone {
            Milestone::Acknowledged { .. } => {
                let due = last_progress.is_none_or(|at| at.elapsed() >= JSON_PROGRESS_EVERY);
                if !due && self.confirmed < self.total {
                    return;
                }
                *last_progress = Some(Instant::now());
                "progress"
            }
            Milestone::Resync { .. } => "resync",
            Milestone::Retry => "retry",
            Milestone::SessionCreated { .. } => "session-created",
            Milestone::SessionLost { .. } => "session-lost",
            Milestone::AwaitsCaller => "name-conflict",
            // The report follows at once and says it all.
            Milestone::Completed(_) | Milestone::Failed(_) => return,
            _ => "note",
        };
        let mut object = json!({
            "event": name,
            "file": label,
            "confirmed": self.confirmed,
            "total": self.total,
            "retries": self.retries,
            "resyncs": self.resyncs,
        });
        if name != "progress" {
            object["message"] = message.into();
        }
        print_json_line(&object);
    }

    /// Changes the size the progress counts toward (a WOPI upload counts its framed stream,
    /// known once the file is hashed).
    pub(crate) fn set_total(&mut self, total: u64) {
        self.total = total;
        if let Display::Bar { bar, .. } = &self.display {
            bar.set_length(total);
        }
    }

    /// Whether the service refused the name (409): the upload was cancelled for it.
    pub(crate) fn met_name_conflict(&self) -> bool {
        self.name_conflict
    }

    /// Moves the bar with the bytes on their way (called on a timer).
    pub(crate) fn tick(&mut self, bytes_sent: u64) {
        if let Display::Bar { bar, .. } = &self.display {
            let moving = bytes_sent.saturating_sub(self.sent_at_confirmation);
            bar.set_position((self.confirmed + moving).min(self.total));
        }
    }

    /// Ends the display: the bar stays with its final message, at what the service confirmed
    /// (after Ctrl-C, not what was on its way), or goes if it is one of several.
    pub(crate) fn finish(&mut self, outcome: &str) {
        if let Display::Bar { bar, .. } = &self.display {
            // Stop the ticker first: it would draw the bar once more where it was.
            bar.disable_steady_tick();
            bar.set_position(self.confirmed);
            if self.transient {
                bar.finish_and_clear();
            } else {
                let counters = self.counters();
                let message = if counters.is_empty() {
                    outcome.to_owned()
                } else {
                    format!("{outcome} · {counters}")
                };
                if self.confirmed >= self.total {
                    bar.finish_with_message(message);
                } else {
                    // `finish` would draw the bar full: it stays where the service is.
                    bar.abandon_with_message(message);
                }
            }
        }
    }

    /// The counters worth a look: retries, resyncs and a session after the first, when there
    /// are any (the bar is narrow).
    fn counters(&self) -> String {
        let mut parts = Vec::new();
        if self.retries > 0 {
            parts.push(format!(
                "{} {}",
                self.retries,
                plural(self.retries, "retry", "retries")
            ));
        }
        if self.resyncs > 0 {
            parts.push(format!(
                "{} {}",
                self.resyncs,
                plural(self.resyncs, "resync", "resyncs")
            ));
        }
        if self.session > 1 {
            parts.push(format!("session {}", self.session));
        }
        parts.join(" · ")
    }
}

/// What Ctrl-C does to a task; it returns what it does, for the line it prints.
pub(crate) type OnInterrupt<'a, M> = &'a dyn Fn(&UploadTask<M>) -> &'static str;

/// Feeds `task`'s events to `progress` until the stream ends, moving the bar with the bytes on
/// their way. A name conflict cancels the upload (see [`Progress::met_name_conflict`]). With
/// `on_interrupt`, Ctrl-C calls it once (to stop or cancel the task; it says what it does)
/// instead of ending the process, and a second Ctrl-C exits at once.
pub(crate) async fn follow<M: TaskMachine>(
    task: &mut UploadTask<M>,
    progress: &mut Progress,
    on_interrupt: Option<OnInterrupt<'_, M>>,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut interrupted = false;
    let mut terminate = Terminate::new();
    loop {
        tokio::select! {
            event = task.next() => match event {
                Some(event) => {
                    if let Milestone::AwaitsCaller = M::milestone(&event) {
                        // The caller chose (or left) `fail` for a name conflict: the bytes are
                        // not committed under another name behind their back. The session goes.
                        task.cancel();
                    }
                    progress.on_event::<M>(&event, task.bytes_sent());
                }
                None => return,
            },
            _ = ticks.tick() => progress.tick(task.bytes_sent()),
            // SIGTERM (a service manager, `kill`, a container stopping) stops like Ctrl-C.
            _ = async { tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminate.recv() => {}
            } }, if on_interrupt.is_some() => {
                if interrupted {
                    // A second Ctrl-C: the user will not wait for the request in flight.
                    // Checkpoints are written by rename, so none is left half-written.
                    let _ = writeln!(std::io::stderr(), "interrupted again: exiting now");
                    std::process::exit(130);
                }
                interrupted = true;
                if let Some(action) = on_interrupt {
                    let doing = action(task);
                    let _ = writeln!(
                        std::io::stderr(),
                        "interrupted: {doing} (Ctrl-C again to exit now)"
                    );
                }
            }
        }
    }
}

/// `SIGTERM`, where the platform has it.
pub(crate) struct Terminate {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Terminate {
    /// Starts watching for `SIGTERM` (which then no longer ends the process by itself).
    pub(crate) fn new() -> Self {
        Terminate {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// Resolves when `SIGTERM` arrives (never, where it cannot be watched).
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// One JSON object and a newline on standard output, in one write (lines of uploads running at
/// once never interleave).
pub(crate) fn print_json_line(object: &serde_json::Value) {
    let mut line = object.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// The widest label a bar shows: with the rest of the bar, a line fits 80 columns.
const LABEL_WIDTH: usize = 16;

/// `label` cut to [`LABEL_WIDTH`] characters.
pub(crate) fn short_label(label: &str) -> String {
    fit(label, LABEL_WIDTH)
}

/// `text` in at most `width` characters: cut in the middle, keeping more of its end (a
/// path's file name, a name's extension) than of its start (the folder), so names that
/// differ at either end stay apart.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width || width < 3 {
        return text.to_owned();
    }
    let keep = width - 1;
    let head = keep / 3;
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// A bar whose fixed part is 71 columns at most (label 16, bar 14, sizes 21, rate 11, ETA 4,
/// spaces): at 80 columns "completed" still shows; the message takes what is left of the
/// terminal's width and is cut, never wrapped.
fn bar(label: &str, total: u64, target: ProgressDrawTarget) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>16} [{bar:12.cyan/blue}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>11} {eta:>4} {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(Some(total), target)
        .with_style(style)
        .with_prefix(short_label(label));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub(crate) fn plural(n: u32, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::graph::{Event, SessionLossCause, Upload};
    use resumable_core::http::TransportError;
    use resumable_core::session::Failure;
    use resumable_core::time::Instant;
    use resumable_core::wopi::WopiSessionLoss;
    use resumable_core::wopi::{WopiEvent, WopiUpload};

    #[test]
    fn events_read_as_sentences() {
        let retry = Event::RetryScheduled {
            reason: Failure::Transport(TransportError::Connect),
            at: Instant::from_millis(1500),
            delay: Duration::from_millis(1500),
        };
        assert_eq!(retry.to_string(), "could not connect; retrying in 1.5 s");
        let throttled = Event::RetryScheduled {
            reason: Failure::Status(429),
            at: Instant::from_millis(2000),
            delay: Duration::from_secs(2),
        };
        assert_eq!(
            throttled.to_string(),
            "HTTP 429 (throttled); retrying in 2.0 s"
        );
        let lost = Event::SessionLost {
            cause: SessionLossCause::Expired,
            starting_over: true,
        };
        assert_eq!(
            lost.to_string(),
            "the upload session expired; starting over in a new session"
        );
    }

    #[test]
    fn a_stopped_upload_leaves_its_bar_at_what_was_confirmed() {
        let display = Display::Bar {
            bar: bar("big.bin", 100, ProgressDrawTarget::hidden()),
            label: "big.bin".into(),
        };
        let mut progress = Progress::with_display(display, 100);
        progress.on_event::<Upload>(
            &Event::Acknowledged {
                range: resumable_core::range::ByteRange::new(0, 40).unwrap(),
                confirmed: 40,
                total: 100,
            },
            40,
        );
        // Bytes on their way move the bar; Ctrl-C stops the upload before they are confirmed.
        progress.tick(95);
        progress.finish("stopped");
        let Display::Bar { bar, .. } = &progress.display else {
            unreachable!()
        };
        assert_eq!(bar.position(), 40);
        assert!(bar.is_finished());
        let mut done = Progress::with_display(
            Display::Bar {
                bar: super::bar("b", 10, ProgressDrawTarget::hidden()),
                label: "b".into(),
            },
            10,
        );
        done.confirm(10);
        done.finish("completed");
        let Display::Bar { bar, .. } = &done.display else {
            unreachable!()
        };
        assert_eq!(bar.position(), 10);
    }

    #[test]
    fn labels_are_cut_in_the_middle_to_fit() {
        assert_eq!(short_label("big.bin"), "big.bin");
        assert_eq!(short_label("photos/2024/holiday.jpg"), "photo…oliday.jpg");
        // Names that differ only in the middle or only at the start stay apart where they can.
        assert_ne!(
            short_label("a-report-with-extra-words.bin"),
            short_label("b-report-with-extra-words.bin")
        );
        assert_eq!(
            short_label("photos/2024/holiday.jpg").chars().count(),
            LABEL_WIDTH
        );
    }

    #[test]
    fn counters_follow_the_events() {
        let mut progress = Progress::with_display(Display::Quiet, 100);
        progress.on_event::<Upload>(
            &Event::SessionCreated {
                number: 2,
                expires: None,
            },
            0,
        );
        progress.on_event::<Upload>(
            &Event::Resynchronised {
                offset: 40,
                confirmed: 40,
            },
            50,
        );
        assert_eq!(progress.confirmed, 40);
        assert_eq!(progress.counters(), "1 resync · session 2");
    }

    #[test]
    fn wopi_events_read_as_sentences_and_move_the_counters() {
        let conflict = WopiEvent::SequenceConflict {
            sent: 1,
            host: Some(4),
            retrying: false,
            maybe_own_commit: false,
        };
        assert_eq!(
            conflict.to_string(),
            "the host is at sequence number 4, not 1 (412)"
        );
        let lost = WopiEvent::SessionLost {
            cause: WopiSessionLoss::Gone,
            starting_over: true,
        };
        assert_eq!(
            lost.to_string(),
            "the host no longer knows the upload session (410); starting over in a new session"
        );
        let mut progress = Progress::with_display(Display::Quiet, 1_032);
        progress.on_event::<WopiUpload>(
            &WopiEvent::Acknowledged {
                offset: 0,
                len: 500,
                confirmed: 500,
                total: 1_032,
            },
            468,
        );
        progress.on_event::<WopiUpload>(&WopiEvent::SessionCreated { number: 2 }, 468);
        progress.on_event::<WopiUpload>(&lost, 468);
        assert_eq!(progress.confirmed, 0);
        assert_eq!(progress.counters(), "session 2");
    }
}

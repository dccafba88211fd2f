//! Where a `resumable upload` command's output goes, for one file or many.
//!
//! One file: a bar (or log lines, or JSON lines), notices on standard error, the report on
//! standard output. Many files: one bar for all of them and one per file being sent, a line
//! per file as it ends, and a table at the end; with `--json`, every file's events and report
//! as JSON lines, then one summary line. `--quiet` shows no progress and no notices;
//! `--verbose` (or `RUST_LOG`) turns bars into log lines, so the trace stays readable.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressDrawTarget};

use super::progress::{Overall, Progress, print_json_line};
use super::report::{Outcome, Row};
use crate::error::CliError;

/// How the command shows what it does.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Style {
    /// JSON lines on standard output.
    pub(crate) json: bool,
    /// No progress, no notices.
    pub(crate) quiet: bool,
    /// Log lines rather than bars (a trace is being written to standard error too).
    pub(crate) no_bars: bool,
}

/// The output of one command; each file's uploads speak through [`Console::for_file`].
#[derive(Clone)]
pub(crate) struct Console {
    shared: Arc<Shared>,
    /// The file's name as the bars, lines and table show it (one of several).
    label: Option<String>,
}

struct Shared {
    style: Style,
    /// The bars of several files, when standard error is a terminal.
    multi: Option<MultiProgress>,
    /// The bar of all files.
    overall: Option<Overall>,
    /// One row per file that ended.
    rows: Mutex<Vec<Row>>,
    /// Checkpoints of completed uploads, removed by [`Console::remove_done_checkpoints`].
    done_checkpoints: Mutex<Vec<std::path::PathBuf>>,
}

impl Console {
    /// The output of an upload of one file.
    pub(crate) fn single(style: Style) -> Console {
        Console::new(style, None, None)
    }

    /// The output of an upload of `files` files, `total` bytes in all.
    pub(crate) fn batch(style: Style, files: usize, total: u64) -> Console {
        let bars = !style.json && !style.quiet && !style.no_bars && std::io::stderr().is_terminal();
        let multi = bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let overall = multi
            .as_ref()
            .map(|multi| Overall::new(multi, files, total));
        Console::new(style, multi, overall)
    }

    fn new(style: Style, multi: Option<MultiProgress>, overall: Option<Overall>) -> Console {
        Console {
            shared: Arc::new(Shared {
                style,
                multi,
                overall,
                rows: Mutex::new(Vec::new()),
                done_checkpoints: Mutex::new(Vec::new()),
            }),
            label: None,
        }
    }

    /// Keeps the checkpoint at `path` of an upload that completed until
    /// [`Console::remove_done_checkpoints`]: the command removes it as the last thing it
    /// does, so a process killed after the report finds it on the next run and reports the
    /// completion instead of meeting its own file under the name (a `409` it cannot prove is
    /// its own on a drive that reports only QuickXorHash).
    pub(crate) fn remove_when_done(&self, path: std::path::PathBuf) {
        if let Ok(mut done) = self.shared.done_checkpoints.lock() {
            done.push(path);
        }
    }

    /// Removes the checkpoints of the uploads that completed, saying so if one cannot be.
    pub(crate) fn remove_done_checkpoints(&self) {
        use resumable_reqwest::CheckpointStore as _;
        let done = self
            .shared
            .done_checkpoints
            .lock()
            .map(|mut done| std::mem::take(&mut *done))
            .unwrap_or_default();
        for path in done {
            if let Err(e) = resumable_reqwest::FileCheckpointStore::new(&path).remove() {
                super::eprintln_line(&format!(
                    "resumable: the upload completed, but its checkpoint {} could not be removed ({e}): remove it by hand",
                    path.display()
                ));
            }
        }
    }

    /// The output of one of several files, shown as `label`.
    pub(crate) fn for_file(&self, label: String) -> Console {
        Console {
            shared: self.shared.clone(),
            label: Some(label),
        }
    }

    /// Whether this is one of several files.
    pub(crate) fn in_batch(&self) -> bool {
        self.label.is_some()
    }

    /// The label of the file: the one given for a batch, else `name`.
    pub(crate) fn label<'a>(&'a self, name: &'a str) -> &'a str {
        self.label.as_deref().unwrap_or(name)
    }

    /// The display of an upload of `total` bytes, named `name` unless the batch named it.
    pub(crate) fn progress(&self, name: &str, total: u64) -> Progress {
        let label = self.label(name);
        let style = self.shared.style;
        let progress = if style.json {
            if style.quiet {
                Progress::quiet(total)
            } else {
                Progress::json(label, total)
            }
        } else if style.quiet {
            Progress::quiet(total)
        } else if let Some(multi) = &self.shared.multi {
            Progress::in_group(multi, label, total)
        } else {
            Progress::for_terminal(label, total, !style.no_bars && !self.in_batch())
        };
        if self.in_batch() {
            progress.within(self.shared.overall.clone())
        } else {
            progress
        }
    }

    /// A notice on standard error (above the bars), unless the output is JSON or quiet.
    pub(crate) fn note(&self, line: &str) {
        let style = self.shared.style;
        if style.json || style.quiet {
            return;
        }
        match &self.shared.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => super::eprintln_line(line),
        }
    }

    /// Reports how one file's upload ended: the whole report for a single file; a line and a
    /// row of the final table for one of several (a JSON line with `--json`). `Err` with what
    /// to do if it did not complete.
    pub(crate) fn report(&self, outcome: &Outcome<'_>) -> Result<(), CliError> {
        let style = self.shared.style;
        let Some(label) = &self.label else {
            return outcome.print(style.json, style.quiet);
        };
        let row = outcome.row(label);
        if style.json {
            // `file` names the file as every event line does; `path` is where it is here.
            let mut object = outcome.json();
            object["event"] = "file".into();
            object["path"] = object["file"].take();
            object["file"] = label.as_str().into();
            print_json_line(&object);
        } else if !style.quiet || row.error.is_some() {
            self.note(&row.line());
        }
        let failed = row.error.clone();
        self.lock_rows().push(row);
        match failed {
            Some(reason) => Err(CliError::Invalid(format!("{label}: {reason}"))),
            None => Ok(()),
        }
    }

    /// Records a file of the batch that an earlier run of the same command uploaded, as it is
    /// now, to the same place: it is not sent again.
    pub(crate) fn skipped(&self, bytes: u64) -> Result<(), CliError> {
        let label = self.label.clone().unwrap_or_default();
        let row = Row {
            file: label.clone(),
            status: "skipped",
            bytes,
            confirmed: 0,
            elapsed: std::time::Duration::ZERO,
            rate: None,
            retries: 0,
            error: None,
        };
        if self.shared.style.json {
            print_json_line(&serde_json::json!({
                "event": "file",
                "file": label,
                "status": "skipped",
                "reason": "uploaded there by an earlier run of this command, the same file since (this machine's record; --no-resume sends it again)",
            }));
        } else if !self.shared.style.quiet {
            self.note(&format!(
                "skipped {label}: uploaded there by an earlier run of this command, the same file since"
            ));
        }
        self.lock_rows().push(row);
        Ok(())
    }

    /// Records a file of the batch that did not start (`status`: `failed`, or `not-started`
    /// after an interrupt; `reason` says why and what to do); returns `false`, its success.
    pub(crate) fn not_started(
        &self,
        label: &str,
        bytes: u64,
        status: &'static str,
        reason: &str,
    ) -> bool {
        let row = Row {
            file: label.to_owned(),
            status,
            bytes,
            confirmed: 0,
            elapsed: std::time::Duration::ZERO,
            rate: None,
            retries: 0,
            error: Some(reason.to_owned()),
        };
        if self.shared.style.json {
            print_json_line(&serde_json::json!({
                "event": "file",
                "file": label,
                "status": status,
                "bytes": bytes,
                "confirmed": 0,
                "error": reason,
            }));
        } else {
            self.note(&row.line());
        }
        self.lock_rows().push(row);
        false
    }

    /// Sets the overall bar's message (how many files are done).
    pub(crate) fn files_done(&self, done: usize, of: usize, failed: usize) {
        if let Some(overall) = &self.shared.overall {
            let failed = if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            };
            overall.set_message(format!("{done} of {of} done{failed}"));
        }
    }

    /// Ends the overall bar; the rows of the files that ended, in the order they ended.
    pub(crate) fn finish(&self, message: String) -> Vec<Row> {
        if let Some(overall) = &self.shared.overall {
            overall.finish(message);
        }
        std::mem::take(&mut *self.lock_rows())
    }

    fn lock_rows(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        self.shared
            .rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The style.
    pub(crate) fn style(&self) -> Style {
        self.shared.style
    }
}

/// Prints `text` on standard output.
pub(crate) fn print_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(CliError::output)?;
    out.flush().map_err(CliError::output)
}

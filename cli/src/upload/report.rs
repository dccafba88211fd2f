//! The end of `resumable upload`: what happened, as text or as one JSON object.

use std::io::Write;
use std::path::Path;

use resumable_core::digest::SourceHashes;
use resumable_core::digest::stored::hex;
use resumable_core::graph::{Completion, UploadError};
use resumable_core::session::Failure;
use resumable_core::session::Resumption;
use resumable_core::tus::TusCompletion;
use resumable_core::wopi::{WopiCompletion, WopiError};
use resumable_reqwest::{FailureCause, UploadFailure, UploadStats, UploadSummary};
use serde_json::{Value, json};

use super::progress::{fit, plural};
use crate::error::CliError;
use crate::size::{HumanBytes, Rate};

/// The emulator's record of the file it stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredCopy {
    /// Where the client put it (`me/drive/root:/big.bin`).
    pub(crate) path: String,
    /// Its size.
    pub(crate) size: u64,
    /// Its SHA-256 (lowercase hex), as the emulator computed it from the bytes it received.
    pub(crate) sha256: String,
    /// Its QuickXorHash (base64), likewise.
    pub(crate) quick_xor: String,
}

impl StoredCopy {
    /// Whether it is the local file: by SHA-256 where the upload computed one (WOPI), else by
    /// QuickXorHash.
    fn is(&self, local: &SourceHashes) -> bool {
        match local.sha256 {
            Some(sha256) => hex(&sha256).eq_ignore_ascii_case(&self.sha256),
            None => local.quick_xor_base64().as_str() == self.quick_xor,
        }
    }
}

/// What the service said of the stored file.
#[derive(Clone, Debug)]
pub(crate) enum Completed {
    /// A Graph upload: the item JSON, `Location`.
    Graph(Completion),
    /// A WOPI upload: the host's new sequence number and item version.
    Wopi(WopiCompletion),
    /// A tus or IETF draft upload: the upload's URL, the length its `HEAD` confirmed.
    Tus(TusCompletion),
}

/// Everything the final report needs.
pub(crate) struct Outcome<'a> {
    /// The local file.
    pub(crate) file: &'a Path,
    /// Its hashes, from the reads that sent it, when it was read whole.
    pub(crate) local: Option<&'a SourceHashes>,
    /// How the upload ended.
    pub(crate) result: &'a Result<UploadSummary<Completed>, UploadFailure>,
    /// The embedded emulator's address, if the upload went there.
    pub(crate) emulator: Option<&'a str>,
    /// What the embedded emulator stored.
    pub(crate) stored: Option<&'a StoredCopy>,
    /// The checkpoint path, if any.
    pub(crate) checkpoint: Option<&'a Path>,
    /// How the upload began.
    pub(crate) resumption: &'a Resumption,
    /// The service refused the name (and the upload was cancelled for it).
    pub(crate) name_conflict: bool,
}

impl Outcome<'_> {
    /// `completed`, `failed`, `cancelled`, `stopped`, or `mismatch` (completed, but the
    /// emulator stored other bytes than the local file's).
    pub(crate) fn status(&self) -> &'static str {
        match self.result {
            Ok(_)
                if self
                    .stored
                    .is_some_and(|s| !self.local.is_some_and(|l| s.is(l))) =>
            {
                "mismatch"
            }
            Ok(_) if self.emulator.is_some() && self.stored.is_none() => "mismatch",
            Ok(_) => "completed",
            Err(failure) => match failure.cause {
                _ if self.name_conflict => "name-conflict",
                FailureCause::Cancelled => "cancelled",
                FailureCause::Stopped => "stopped",
                _ => "failed",
            },
        }
    }

    fn stats(&self) -> &UploadStats {
        match self.result {
            Ok(summary) => &summary.stats,
            Err(failure) => &failure.stats,
        }
    }

    /// The one-line reason for a non-zero exit, saying what to do.
    fn reason(&self) -> Option<String> {
        match (self.status(), self.result) {
            ("completed", _) => None,
            ("mismatch", _) => Some(match self.stored {
                Some(stored) => format!(
                    "the service stored {} bytes with QuickXorHash {}, not the local file's {}; did the file change during the upload? upload it again",
                    stored.size,
                    stored.quick_xor,
                    self.local
                        .map(|l| l.quick_xor_base64().as_str().to_owned())
                        .unwrap_or_else(|| "unknown".into())
                ),
                None => "the upload completed but the emulator lists no stored file; this is a bug, please report it".into(),
            }),
            (_, Err(_)) if self.name_conflict => Some(
                "a file with this name already exists at the destination (HTTP 409) and the conflict behaviour is `fail`; nothing of this upload was kept: run again with --conflict rename to keep both, or --conflict replace to overwrite it".into(),
            ),
            (_, Err(failure)) => Some(match (&failure.cause, self.checkpoint) {
                (FailureCause::Stopped, Some(path)) => format!(
                    "interrupted; the session and the checkpoint {} are kept: run the same command again to resume",
                    path.display()
                ),
                (FailureCause::Cancelled, None) if failure.stats.sessions == 0 => "interrupted; the upload was cancelled before it made a session: run the same command again to upload the file".into(),
                (FailureCause::Cancelled, None) => "interrupted; the upload was cancelled and its session deleted (add --checkpoint PATH to be able to resume)".into(),
                (FailureCause::Wopi(error), checkpoint) => {
                    wopi_reason(error, checkpoint).unwrap_or_else(|| failure.to_string())
                }
                // The engine's advice speaks of checkpoints in general; this run kept none.
                (FailureCause::Upload(UploadError::GaveUp { during, .. }), None)
                    if *during != resumable_core::http::RequestKind::SimpleUpload =>
                {
                    format!(
                    "{failure}; this run kept no checkpoint, so the next one starts over (add --checkpoint PATH to resume instead)"
                )
                }
                _ => failure.to_string(),
            }),
            (_, Ok(_)) => None,
        }
    }

    /// Prints the report (text on standard output, or the last JSON line, `"event":
    /// "summary"`) and turns a failure into the error `main` prints. `quiet`: no text report
    /// (the exit status and the error say it).
    pub(crate) fn print(&self, as_json: bool, quiet: bool) -> Result<(), CliError> {
        let text = if as_json {
            let mut object = self.json();
            object["event"] = "summary".into();
            let mut text = object.to_string();
            text.push('\n');
            text
        } else if quiet {
            String::new()
        } else {
            self.text()
        };
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).map_err(CliError::output)?;
        out.flush().map_err(CliError::output)?;
        let bad_url = matches!(
            self.result,
            Err(UploadFailure {
                cause: FailureCause::Upload(UploadError::ProtocolError {
                    last: Failure::BadUploadUrl,
                    ..
                }),
                ..
            })
        );
        match self.reason() {
            Some(reason) if bad_url => Err(CliError::BadUrl(reason)),
            Some(reason) => Err(CliError::Invalid(reason)),
            None => Ok(()),
        }
    }

    /// The file's row in the table of several.
    pub(crate) fn row(&self, label: &str) -> Row {
        let stats = self.stats();
        Row {
            file: label.to_owned(),
            status: self.status(),
            bytes: stats.total,
            confirmed: stats.confirmed,
            elapsed: stats.elapsed,
            rate: stats.bytes_per_second(),
            retries: stats.retries,
            error: self.reason(),
        }
    }

    /// The JSON report.
    pub(crate) fn json(&self) -> Value {
        let stats = self.stats();
        let (item, location) = match self.result {
            Ok(UploadSummary {
                completion: Completed::Graph(completion),
                ..
            }) => (
                completion.item.as_deref().map(parse_item),
                completion.location.clone(),
            ),
            _ => (None, None),
        };
        let mut object = json!({
            "status": self.status(),
            "file": self.file.display().to_string(),
            "bytes": stats.total,
            "confirmed": stats.confirmed,
            "sha256": self.local.and_then(|l| l.sha256).map(|h| hex(&h).to_ascii_lowercase()),
            "quick_xor_hash": self.local.map(|l| l.quick_xor_base64().as_str().to_owned()),
            "elapsed_ms": u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
            "retries": stats.retries,
            "resyncs": stats.resyncs,
            "sessions": stats.sessions,
            "item": item,
            "start": self.resumption.to_string(),
        });
        if let Some(location) = location {
            object["location"] = location.into();
        }
        if let Ok(UploadSummary {
            completion: Completed::Graph(completion),
            ..
        }) = self.result
        {
            object["verified"] = completion.verification.to_string().into();
        }
        if let Ok(UploadSummary {
            completion: Completed::Wopi(done),
            ..
        }) = self.result
        {
            object["verified"] = done.verification.to_string().into();
            object["sequence_number"] = done.sequence_number.into();
            object["item_version"] = done.item_version.clone().into();
            object["inline"] = done.inline.into();
        }
        if let Ok(UploadSummary {
            completion: Completed::Tus(done),
            ..
        }) = self.result
        {
            object["verified"] = "offset and length confirmed by HEAD".into();
            object["checksum"] = done.checksum.map(|a| a.name()).into();
            object["uploads"] = done.uploads.into();
        }
        if let Some(stored) = self.stored {
            object["stored"] = json!({
                "path": stored.path,
                "size": stored.size,
                "sha256": stored.sha256,
                "quick_xor_hash": stored.quick_xor,
            });
        }
        if let Some(reason) = self.reason() {
            object["error"] = reason.into();
        }
        object
    }

    /// The text report.
    fn text(&self) -> String {
        let stats = self.stats();
        let name = self.file.display();
        let counters = format!(
            "{} {}, {} {}, {} {}",
            stats.retries,
            plural(stats.retries, "retry", "retries"),
            stats.resyncs,
            plural(stats.resyncs, "resync", "resyncs"),
            stats.sessions,
            plural(stats.sessions, "session", "sessions"),
        );
        let mut lines = Vec::new();
        match self.result {
            Ok(summary) => {
                // The rate of what this run sent: a resumed upload sent only the rest.
                let secs = stats.elapsed.as_secs_f64();
                let rate = (secs > 0.0).then(|| Rate(stats.bytes_sent as f64 / secs));
                let sent = (stats.bytes_sent < stats.total)
                    .then(|| format!(", {} sent by this run", HumanBytes(stats.bytes_sent)));
                lines.push(format!(
                    "uploaded {name}: {} bytes ({}) in {secs:.2} s{}{}; {counters}",
                    stats.total,
                    HumanBytes(stats.total),
                    rate.map(|r| format!(" ({r})")).unwrap_or_default(),
                    sent.unwrap_or_default(),
                ));
                if let Some(where_to) = where_it_went(summary, self.stored, self.emulator) {
                    lines.push(where_to);
                }
            }
            Err(_) => lines.push(format!(
                "not uploaded: {name}: {} of {} bytes confirmed; {counters}",
                stats.confirmed, stats.total
            )),
        }
        match self.result {
            Ok(UploadSummary {
                completion: Completed::Graph(completion),
                ..
            }) => lines.push(format!(
                "verified against the service: {}",
                completion.verification
            )),
            Ok(UploadSummary {
                completion: Completed::Wopi(done),
                ..
            }) => lines.push(format!(
                "verified against the host's CheckFileInfo: {}",
                done.verification
            )),
            Ok(UploadSummary {
                completion: Completed::Tus(done),
                ..
            }) => lines.push(format!(
                "verified against the server: a HEAD after the last request showed all {} bytes{}",
                done.length,
                done.checksum
                    .map(|a| format!("; each request's bytes checked by the server with {a}"))
                    .unwrap_or_default()
            )),
            Err(_) => {}
        }
        if let Some(local) = self.local {
            lines.push(format!("local  QuickXorHash {}", local.quick_xor_base64()));
            if let Some(sha256) = local.sha256 {
                lines.push(format!(
                    "local  SHA-256 {}",
                    hex(&sha256).to_ascii_lowercase()
                ));
            }
        }
        if let Some(stored) = self.stored {
            let verdict = if self.local.is_some_and(|l| stored.is(l)) {
                "identical"
            } else {
                "DIFFERENT"
            };
            // Compared the way `StoredCopy::is` compares: by SHA-256 where the upload has one.
            if self.local.is_some_and(|l| l.sha256.is_some()) {
                lines.push(format!("stored SHA-256 {} ({verdict})", stored.sha256));
            } else {
                lines.push(format!(
                    "stored QuickXorHash {} ({verdict})",
                    stored.quick_xor
                ));
            }
        }
        if let Ok(UploadSummary {
            checkpoint_warning: Some(warning),
            ..
        })
        | Err(UploadFailure {
            checkpoint_warning: Some(warning),
            ..
        }) = self.result
        {
            lines.push(format!(
                "warning: checkpoints could not be saved: {warning}"
            ));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

/// One file's line in the table of several.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The file, as the table names it.
    pub(crate) file: String,
    /// As [`Outcome::status`] says it.
    pub(crate) status: &'static str,
    /// Its size.
    pub(crate) bytes: u64,
    /// What the service confirmed.
    pub(crate) confirmed: u64,
    /// How long it took.
    pub(crate) elapsed: std::time::Duration,
    /// Bytes per second.
    pub(crate) rate: Option<f64>,
    /// Retries.
    pub(crate) retries: u32,
    /// Why it did not complete, saying what to do.
    pub(crate) error: Option<String>,
}

impl Row {
    /// The line printed when the file ends.
    pub(crate) fn line(&self) -> String {
        match &self.error {
            None => format!(
                "{} {} ({}, {:.2} s)",
                self.status,
                self.file,
                HumanBytes(self.bytes),
                self.elapsed.as_secs_f64()
            ),
            Some(reason) => format!("{} {}: {reason}", self.status, self.file),
        }
    }

    /// A row of the table, `width` columns at most (the file's path is cut to fit).
    pub(crate) fn table_line(&self, width: usize) -> String {
        let rate = self
            .rate
            .map_or_else(|| "-".to_owned(), |r| Rate(r).to_string());
        let size = if self.error.is_some() && self.confirmed < self.bytes {
            format!(
                "{}/{}",
                short_bytes(self.confirmed),
                short_bytes(self.bytes)
            )
        } else {
            HumanBytes(self.bytes).to_string()
        };
        let status = match self.status {
            "name-conflict" => "conflict",
            other => other,
        };
        format!(
            "{status:<9} {size:>17} {:>7.1}s {rate:>11} {:>7}  {}",
            self.elapsed.as_secs_f64(),
            self.retries,
            fit(&self.file, width.saturating_sub(TABLE_FIXED).max(12))
        )
    }
}

/// The widest line of the table of several files.
pub(crate) const TABLE_WIDTH: usize = 100;

/// The columns of a row before the file's path.
const TABLE_FIXED: usize = 58;

/// The table's header, aligned with [`Row::table_line`].
pub(crate) fn table_header() -> String {
    format!(
        "{:<9} {:>17} {:>8} {:>11} {:>7}  {}",
        "status", "size", "time", "rate", "retries", "file"
    )
}

/// A size in at most 9 characters.
fn short_bytes(bytes: u64) -> String {
    HumanBytes(bytes).to_string().replace(' ', "")
}

/// The JSON report of an upload that could not start (bad options, a checkpoint of another
/// upload, a missing file): `--json` still prints exactly one object.
pub(crate) fn print_start_failure(file: &Path, error: &CliError) -> Result<(), CliError> {
    let object = json!({
        "event": "summary",
        "status": "failed",
        "file": file.display().to_string(),
        "error": error.to_string(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{object}").map_err(CliError::output)?;
    out.flush().map_err(CliError::output)
}

/// What to do after a WOPI `412` or `409`, naming the flag to pass.
fn wopi_reason(error: &WopiError, checkpoint: Option<&Path>) -> Option<String> {
    let resume = checkpoint
        .map(|path| {
            format!(
                " and the same --checkpoint {} (the upload goes on in its session)",
                path.display()
            )
        })
        .unwrap_or_default();
    match error {
        WopiError::SequenceMismatch {
            sent,
            host: Some(host),
            maybe_own_commit,
            ..
        } => {
            let own = if *maybe_own_commit {
                " (an earlier commit of this upload lost its answer, so the host's version may be this file already)"
            } else {
                ""
            };
            Some(format!(
                "the host refused the commit (412): the file is at sequence number {host} on the host, not {sent}, so it changed since that version was read{own}; to overwrite the host's version with this file, run again with --sequence-number {host}{resume}"
            ))
        }
        WopiError::LockMismatch { mechanism, .. } => {
            let mechanism = mechanism
                .as_deref()
                .map(|m| format!(" (by {m})"))
                .unwrap_or_default();
            Some(format!(
                "the host refused the commit (409): the file is locked{mechanism} with another lock than the one sent; run again with the lock you hold, --lock LOCK (or --coauth-lock-id ID for a coauthoring lock){resume}"
            ))
        }
        _ => None,
    }
}

/// Where the file went, from the emulator's record or the service's answer.
fn where_it_went(
    summary: &UploadSummary<Completed>,
    stored: Option<&StoredCopy>,
    emulator: Option<&str>,
) -> Option<String> {
    if let (Some(stored), Some(emulator)) = (stored, emulator) {
        return Some(format!(
            "stored by the emulator at {emulator} as {} ({} bytes)",
            stored.path, stored.size
        ));
    }
    let summary = match &summary.completion {
        Completed::Graph(completion) => completion,
        Completed::Tus(done) => {
            return Some(format!(
                "stored by the server at {}{}",
                done.url,
                if done.uploads > 1 {
                    format!(
                        " (upload {} of this file: the server lost the others)",
                        done.uploads
                    )
                } else {
                    String::new()
                }
            ));
        }
        Completed::Wopi(done) => {
            let number = done
                .sequence_number
                .map(|n| format!(", sequence number now {n}"))
                .unwrap_or_default();
            let version = done.item_version.as_deref().unwrap_or("unknown");
            return Some(format!(
                "stored by the WOPI host as version {version}{number}"
            ));
        }
    };
    if let Some(item) = summary.stored_item() {
        let mut parts = Vec::new();
        if let Some(name) = item.name {
            parts.push(format!("name {name}"));
        }
        if let Some(id) = item.id {
            parts.push(format!("id {id}"));
        }
        if let Some(url) = item.web_url {
            parts.push(url);
        }
        if !parts.is_empty() {
            return Some(format!("stored as {}", parts.join(", ")));
        }
    }
    summary
        .location
        .as_ref()
        .map(|location| format!("stored at {location}"))
}

/// The item JSON as a value (kept as a string if the service sent something else).
fn parse_item(item: &str) -> Value {
    serde_json::from_str(item).unwrap_or_else(|_| Value::String(item.to_owned()))
}

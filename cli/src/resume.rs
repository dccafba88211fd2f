//! Checkpoints kept without being asked, and `resumable resume --list | --clean`.
//!
//! An upload to a real endpoint without `--checkpoint` keeps one anyway, in the user's state
//! directory, named by a fingerprint of what is uploaded where (the protocol, the file's
//! absolute path, size and modification time, the endpoint and upload URL): running the same
//! command again after a crash or Ctrl-C finds it and resumes. It is removed when the upload
//! completes; `--no-resume` starts afresh (and keeps none). Next to each checkpoint (which holds
//! the upload URL, a credential) lies a small description without secrets, for `--list`.
//!
//! The state directory: `$RESUMABLE_STATE_DIR` if set, else `$XDG_STATE_HOME/resumable` or
//! `~/.local/state/resumable` (Linux and other Unix), `~/Library/Application Support/resumable`
//! (macOS), `%LOCALAPPDATA%\resumable` (Windows); checkpoints go in its `checkpoints` folder.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::CliError;

/// `resumable resume` options.
#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// List the uploads that have a checkpoint kept for them (no secrets are printed).
    #[arg(long, conflicts_with = "clean")]
    list: bool,
    /// Delete every kept checkpoint (their uploads then start afresh; the sessions they name
    /// are left to expire on the server).
    #[arg(long)]
    clean: bool,
}

/// Where kept checkpoints live.
pub(crate) fn checkpoint_dir() -> Result<PathBuf, CliError> {
    let base = if let Some(dir) = std::env::var_os("RESUMABLE_STATE_DIR") {
        PathBuf::from(dir)
    } else if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA")
            .map(|d| PathBuf::from(d).join("resumable"))
            .ok_or_else(no_home)?
    } else if cfg!(target_os = "macos") {
        home()?.join("Library/Application Support/resumable")
    } else if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        PathBuf::from(state).join("resumable")
    } else {
        home()?.join(".local/state/resumable")
    };
    Ok(base.join("checkpoints"))
}

fn home() -> Result<PathBuf, CliError> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(no_home)
}

fn no_home() -> CliError {
    CliError::Invalid(
        "no state directory for checkpoints (HOME is not set): pass --checkpoint PATH, or --no-resume".into(),
    )
}

/// A checkpoint kept for one upload, and its description.
#[derive(Debug)]
pub(crate) struct KeptCheckpoint {
    /// The checkpoint file.
    pub(crate) path: PathBuf,
    description: PathBuf,
    /// Present once this file, as it is now, was uploaded there by a run over several files:
    /// running the same command again skips it.
    uploaded: PathBuf,
    /// What the note of an upload must say for the file to be skipped: the file's identity
    /// beyond the key (inode, status-change time: a copy that kept the size and modification
    /// time is another file) and the token it went with (another token may be another
    /// account's drive).
    identity: String,
}

impl KeptCheckpoint {
    /// The kept checkpoint of uploading `file` with `protocol` to `endpoint` (and
    /// `upload_url`), named by their fingerprint: the same command finds the same one.
    pub(crate) fn for_upload(
        file: &Path,
        protocol: &str,
        endpoint: Option<&str>,
        upload_url: Option<&str>,
        token: Option<&str>,
    ) -> Result<KeptCheckpoint, CliError> {
        let absolute = std::fs::canonicalize(file)
            .map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
        let meta = std::fs::metadata(&absolute)
            .map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let mut hasher = Sha256::new();
        for part in [
            protocol,
            &absolute.to_string_lossy(),
            &meta.len().to_string(),
            &modified.to_string(),
            endpoint.unwrap_or(""),
            upload_url.unwrap_or(""),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let key: String = hasher
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = checkpoint_dir()?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            CliError::Invalid(format!(
                "cannot create the checkpoint folder {}: {e} (pass --checkpoint PATH, or --no-resume)",
                dir.display()
            ))
        })?;
        let kept = KeptCheckpoint {
            path: dir.join(format!("{key}.checkpoint")),
            description: dir.join(format!("{key}.json")),
            uploaded: uploaded_dir(&dir).join(key),
            identity: identity(&meta, token),
        };
        let origin = endpoint.or(upload_url).map(origin_of).unwrap_or_default();
        let description = json!({
            "file": absolute.display().to_string(),
            "bytes": meta.len(),
            "protocol": protocol,
            "destination": origin,
            "since": SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
        if !kept.description.exists() {
            let _ = std::fs::write(&kept.description, description.to_string());
        }
        Ok(kept)
    }

    /// Whether a run over several files uploaded this file there, with the same token, and
    /// the file is the same one since (path, size, modification and status-change times,
    /// inode). This is this machine's record, not the service's word: a file deleted there
    /// since is not noticed (`--no-resume` sends every file).
    pub(crate) fn was_uploaded(&self) -> bool {
        std::fs::read_to_string(&self.uploaded).is_ok_and(|noted| noted == self.identity)
    }

    /// Notes that this file is uploaded there (a run over several files then skips it). A
    /// failure to note it only means the next run uploads it again.
    pub(crate) fn mark_uploaded(&self) {
        if let Some(parent) = self.uploaded.parent()
            && std::fs::create_dir_all(parent).is_ok()
        {
            let _ = std::fs::write(&self.uploaded, &self.identity);
        }
    }

    /// After the upload: a checkpoint that is gone (completed, cancelled) takes its
    /// description with it.
    pub(crate) fn tidy(&self) {
        if !self.path.exists() {
            let _ = std::fs::remove_file(&self.description);
        }
    }
}

/// A digest of what the key leaves out: the token, and where the platform has them, the
/// inode and the status-change time (which no copy or `touch` can set back).
fn identity(meta: &std::fs::Metadata, token: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        for part in [
            meta.dev(),
            meta.ino(),
            meta.ctime().cast_unsigned(),
            meta.ctime_nsec().cast_unsigned(),
        ] {
            hasher.update(part.to_le_bytes());
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    hasher.update(token.unwrap_or("").as_bytes());
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The confirmed bytes a checkpoint records: a count (tus, WOPI) or ranges, `[[start, end],
/// …]` (Graph).
fn confirmed_bytes(confirmed: &Value) -> Option<u64> {
    if let Some(count) = confirmed.as_u64() {
        return Some(count);
    }
    confirmed.as_array()?.iter().try_fold(0u64, |sum, range| {
        let start = range.get(0)?.as_u64()?;
        let end = range.get(1)?.as_u64()?;
        Some(sum + end.saturating_sub(start))
    })
}

/// Where the notes of files uploaded by runs over several files are: beside the checkpoints.
fn uploaded_dir(checkpoints: &Path) -> PathBuf {
    checkpoints.with_file_name("uploaded")
}

/// `scheme://host[:port]` of a URL, nothing of its path or query (they may hold a token).
fn origin_of(url: &str) -> String {
    resumable_core::secret::SecretUrl::new(url)
        .origin()
        .to_owned()
}

/// Runs `resumable resume`.
pub(crate) fn run(args: ResumeArgs) -> Result<(), CliError> {
    let dir = checkpoint_dir()?;
    let mut kept = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let checkpoint = path.with_extension("checkpoint");
                let description: Value = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                kept.push((path, checkpoint, description));
            }
        }
    }
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = std::io::stdout().lock();
    if args.clean {
        // Forget the files earlier runs over several files uploaded: the next run sends them.
        let _ = std::fs::remove_dir_all(uploaded_dir(&dir));
        let mut removed = 0;
        for (description, checkpoint, _) in &kept {
            if checkpoint.exists() {
                std::fs::remove_file(checkpoint).map_err(CliError::file(checkpoint))?;
                removed += 1;
            }
            let _ = std::fs::remove_file(description);
        }
        writeln!(
            out,
            "removed {removed} kept checkpoint{} from {}",
            if removed == 1 { "" } else { "s" },
            dir.display()
        )
        .map_err(CliError::output)?;
        return Ok(());
    }
    let pending: Vec<_> = kept.iter().filter(|(_, c, _)| c.exists()).collect();
    if pending.is_empty() {
        writeln!(
            out,
            "no interrupted uploads (checkpoints in {})",
            dir.display()
        )
        .map_err(CliError::output)?;
        return Ok(());
    }
    writeln!(
        out,
        "interrupted uploads (run the same command again to resume):"
    )
    .map_err(CliError::output)?;
    for (_, checkpoint, description) in pending {
        let confirmed = std::fs::read(checkpoint)
            .ok()
            .and_then(|bytes| {
                let newline = bytes.iter().position(|&b| b == b'\n')?;
                serde_json::from_slice::<Value>(&bytes[newline + 1..]).ok()
            })
            .and_then(|c| c.get("confirmed").and_then(confirmed_bytes));
        // The file on a line of its own, what is known of it on the next: long paths and
        // URLs do not wrap into each other at 80 columns.
        let bytes = description["bytes"].as_u64().unwrap_or(0);
        writeln!(
            out,
            "  {}\n    {} to {}: {}",
            description["file"].as_str().unwrap_or("?"),
            description["protocol"].as_str().unwrap_or("?"),
            description["destination"].as_str().unwrap_or("?"),
            match confirmed {
                Some(c) => format!("{c} of {bytes} bytes confirmed"),
                None => format!("{bytes} bytes"),
            }
        )
        .map_err(CliError::output)?;
    }
    let _ = args.list;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_bytes_are_read_from_counts_and_from_ranges() {
        assert_eq!(confirmed_bytes(&json!(4096)), Some(4096));
        assert_eq!(
            confirmed_bytes(&json!([[0, 31_457_280], [40_000_000, 40_000_010]])),
            Some(31_457_290)
        );
        assert_eq!(confirmed_bytes(&json!([])), Some(0));
        assert_eq!(confirmed_bytes(&json!("x")), None);
    }
}

//! `resumable upload A B DIR`: several files, `--transfers` at a time, each in its own upload
//! and resumable on its own, then a table of how each ended.
//!
//! A directory's files go with their paths below the directory's name (`photos/2024/a.jpg`
//! for `photos`), as `rclone copy` keeps them under the destination. Where they go:
//! - graph-drive: `--endpoint` names the folder (`…/me/drive/root:/Backups`,
//!   `…/me/drive/items/{id}`, `…/me/drive/root`), each file its item below it;
//! - graph-attachment: each file one attachment of the message `--endpoint` names;
//! - tus and ietf: each file one upload at the creation URL, with `filename` and
//!   `relativePath` metadata (the names tus clients such as Uppy send);
//! - without `--endpoint`: an emulator per file, started for the command.
//!
//! A print document's and a WOPI file's URL name one file: those take one file per command.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures::StreamExt;
use resumable_core::graph::upload_session_url;
use serde_json::json;

use super::console::{Console, Style, print_out};
use super::progress::print_json_line;
use super::report::{Row, TABLE_WIDTH, table_header};
use super::{ProtocolArg, UploadArgs};
use crate::error::CliError;
use crate::size::{HumanBytes, Rate};

/// Whether the command names several files (or a directory).
pub(super) fn wanted(files: &[PathBuf]) -> bool {
    files.len() > 1 || files.first().is_some_and(|file| file.is_dir())
}

/// One file of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Where it is.
    path: PathBuf,
    /// Its name at the destination: a path with `/` below the folder.
    name: String,
    /// Its size when listed.
    size: u64,
}

/// Runs the batch; `Err` if it could not start, or naming how many files did not upload.
pub(super) async fn run(mut args: UploadArgs, style: Style) -> Result<(), CliError> {
    // One bucket for every file: --bwlimit is the command's bandwidth, as rclone's is.
    args.rate_limit = args
        .bwlimit
        .filter(|rate| *rate > 0)
        .map(resumable_reqwest::RateLimit::new);
    let listed = check(&args).and_then(|()| list(&args.files));
    let entries = match listed {
        Ok(entries) => entries,
        Err(error) => {
            if style.json {
                print_json_line(
                    &json!({"event": "summary", "status": "failed", "error": error.to_string()}),
                );
            }
            return Err(error);
        }
    };
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let count = entries.len();
    let console = Console::batch(style, count, total);
    if args.endpoint.is_none() {
        console.note(&format!(
            "no --endpoint given: {count} files to emulators on 127.0.0.1, started for this command"
        ));
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    let watch = tokio::spawn({
        let interrupted = interrupted.clone();
        async move {
            // Each running upload stops on Ctrl-C or SIGTERM by itself; the queue must not
            // start more.
            let mut terminate = super::progress::Terminate::new();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminate.recv() => {}
            }
            interrupted.store(true, Ordering::SeqCst);
        }
    });
    let started = Instant::now();
    let mut done = 0;
    let mut failed = 0;
    let mut outcomes = futures::stream::iter(entries)
        .map(|entry| {
            let console = console.for_file(entry.name.clone());
            let args = args_for(&args, &entry);
            let interrupted = interrupted.clone();
            async move {
                if interrupted.load(Ordering::SeqCst) {
                    return console.not_started(
                        &entry.name,
                        entry.size,
                        "not-started",
                        "not started: interrupted",
                    );
                }
                match args {
                    Ok(args) => match super::upload(args, &console).await {
                        Ok(reported) => reported.is_ok(),
                        Err(error) => console.not_started(
                            &entry.name,
                            entry.size,
                            "failed",
                            &error.to_string(),
                        ),
                    },
                    Err(error) => {
                        console.not_started(&entry.name, entry.size, "failed", &error.to_string())
                    }
                }
            }
        })
        .buffer_unordered(usize::from(args.transfers));
    while let Some(completed) = outcomes.next().await {
        done += 1;
        if !completed {
            failed += 1;
        }
        console.files_done(done, count, failed);
    }
    drop(outcomes);
    watch.abort();
    console.remove_done_checkpoints();
    let rows = console.finish(format!(
        "{} of {count} uploaded{}",
        count - failed,
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    ));
    let elapsed = started.elapsed();
    if style.json {
        // Checked, unlike the event lines: a summary that could not be written is a failure.
        let mut line = summary_json(&rows, total, elapsed).to_string();
        line.push('\n');
        print_out(&line)?;
    } else if !style.quiet {
        print_out(&table(rows, total, elapsed, table_width()))?;
    }
    if failed > 0 {
        return Err(CliError::Invalid(format!(
            "{failed} of {count} files not uploaded (see above); run the same command again to resume them"
        )));
    }
    Ok(())
}

/// Refuses what a batch cannot do, before anything is read or sent.
fn check(args: &UploadArgs) -> Result<(), CliError> {
    let one_file = |why: &str| {
        Err(CliError::Invalid(format!(
            "several files: {why}; upload them one per command"
        )))
    };
    match args.protocol {
        ProtocolArg::Print => {
            return one_file("a graph-print upload session is one document's");
        }
        ProtocolArg::Wopi => return one_file("a WOPI file URL names one file"),
        _ => {}
    }
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Invalid(
            "standard input (-) is uploaded on its own, not with other files".into(),
        ));
    }
    if args.checkpoint.is_some() {
        return Err(CliError::Invalid(
            "--checkpoint names one file's checkpoint; with several files each keeps its own in the state directory (leave --checkpoint out)".into(),
        ));
    }
    if args.upload_url.is_some() {
        return one_file("--upload-url continues one file's session");
    }
    if args.name.is_some() {
        return Err(CliError::Invalid(
            "--name names one file; several files keep their own names (and paths below a directory)".into(),
        ));
    }
    if let (ProtocolArg::Drive, Some(endpoint)) = (args.protocol, &args.endpoint) {
        item_url(endpoint, "check")?;
    }
    Ok(())
}

/// The files the inputs name, directories walked (in name order), each with its name at the
/// destination. Two files with one name there are refused.
fn list(inputs: &[PathBuf]) -> Result<Vec<Entry>, CliError> {
    let mut entries = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input)
            .map_err(|e| CliError::Invalid(format!("{}: {e}", input.display())))?;
        if meta.is_dir() {
            let base = dir_name(input)?;
            let before = entries.len();
            walk(input, &base, &mut entries)?;
            if entries.len() == before {
                return Err(CliError::Invalid(format!(
                    "{}: no files in this directory",
                    input.display()
                )));
            }
        } else {
            entries.push(Entry {
                path: input.clone(),
                name: super::file_name(input),
                size: meta.len(),
            });
        }
    }
    let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(CliError::Invalid(format!(
            "two of the files would be uploaded as {}: upload them in separate commands",
            twice[0]
        )));
    }
    Ok(entries)
}

/// The name a directory's files go under: its own (the working directory's for `.`).
fn dir_name(dir: &Path) -> Result<String, CliError> {
    let absolute = std::fs::canonicalize(dir)
        .map_err(|e| CliError::Invalid(format!("{}: {e}", dir.display())))?;
    Ok(absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_owned()))
}

/// Adds the files below `dir` (following symbolic links to files, not to directories, so a
/// link cannot loop).
fn walk(dir: &Path, prefix: &str, entries: &mut Vec<Entry>) -> Result<(), CliError> {
    let read = |e: std::io::Error| CliError::Invalid(format!("{}: {e}", dir.display()));
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    children.sort_by_key(std::fs::DirEntry::file_name);
    for child in children {
        let path = child.path();
        let name = format!("{prefix}/{}", child.file_name().to_string_lossy());
        let kind = child.file_type().map_err(read)?;
        if kind.is_dir() {
            walk(&path, &name, entries)?;
        } else if let Ok(meta) = std::fs::metadata(&path)
            && meta.is_file()
        {
            entries.push(Entry {
                path,
                name,
                size: meta.len(),
            });
        } else {
            // Said, not silently dropped: the table would otherwise look complete.
            super::eprintln_line(&format!(
                "ignored {}: not a regular file (a link to nothing or to a directory, a FIFO, a device)",
                path.display()
            ));
        }
    }
    Ok(())
}

/// The options for one file of the batch.
fn args_for(args: &UploadArgs, entry: &Entry) -> Result<UploadArgs, CliError> {
    let mut one = args.clone();
    one.files = vec![entry.path.clone()];
    one.file = entry.path.clone();
    match (args.protocol, &args.endpoint) {
        // The embedded emulator stores the drive item under its path.
        (ProtocolArg::Drive, None) => one.name = Some(entry.name.clone()),
        (ProtocolArg::Drive, Some(folder)) => {
            one.endpoint = Some(item_url(folder, &entry.name)?);
        }
        // The draft has no metadata.
        (ProtocolArg::Tus, _) if !one.metadata.iter().any(|(key, _)| key == "relativePath") => {
            one.metadata
                .push(("relativePath".to_owned(), entry.name.clone()));
        }
        _ => {}
    }
    Ok(one)
}

/// The `createUploadSession` URL of `name` (a path with `/`) in the drive folder `folder` (a
/// file that fits one request goes to the `content` URL beside it).
fn item_url(folder: &str, name: &str) -> Result<String, CliError> {
    upload_session_url(folder, name).map_err(|error| {
        CliError::Invalid(format!(
            "with several files, --endpoint names the drive folder they go into, such as https://graph.microsoft.com/v1.0/me/drive/root:/Backups or …/me/drive/items/FOLDER-ID ({error}; not {})",
            resumable_core::secret::SecretUrl::new(folder)
        ))
    })
}

/// The table printed at the end: one row per file, in the order they ended, then the sums.
fn table(rows: Vec<Row>, total: u64, elapsed: std::time::Duration, width: usize) -> String {
    let mut lines = vec![String::new(), table_header()];
    let mut failed = Vec::new();
    for row in &rows {
        lines.push(row.table_line(width));
        if let Some(error) = &row.error {
            failed.push(format!("{}: {error}", row.file));
        }
    }
    let counts = Counts::of(&rows);
    let rate = if elapsed.as_secs_f64() > 0.0 {
        Rate(counts.sent_bytes as f64 / elapsed.as_secs_f64()).to_string()
    } else {
        "-".to_owned()
    };
    let skipped = if counts.skipped > 0 {
        format!("; {} skipped (uploaded by an earlier run)", counts.skipped)
    } else {
        String::new()
    };
    lines.push(format!(
        "{} of {} files uploaded: {} of {} in {:.2} s ({rate}){skipped}",
        counts.uploaded,
        rows.len(),
        HumanBytes(counts.sent_bytes),
        HumanBytes(total),
        elapsed.as_secs_f64()
    ));
    if !failed.is_empty() {
        lines.push(String::new());
        lines.push("not uploaded:".to_owned());
        lines.extend(failed.into_iter().map(|line| format!("  {line}")));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The table's width: [`TABLE_WIDTH`], or the terminal's if narrower.
fn table_width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map_or(TABLE_WIDTH, |(_, columns)| {
            usize::from(columns).min(TABLE_WIDTH)
        })
}

/// How the files of a batch ended.
struct Counts {
    /// Uploaded by this run.
    uploaded: usize,
    /// Skipped: an earlier run uploaded them.
    skipped: usize,
    /// The bytes of the files this run uploaded.
    sent_bytes: u64,
}

impl Counts {
    fn of(rows: &[Row]) -> Counts {
        let done = || rows.iter().filter(|r| r.error.is_none());
        let skipped = done().filter(|r| r.status == "skipped").count();
        Counts {
            uploaded: done().count() - skipped,
            skipped,
            sent_bytes: done()
                .filter(|r| r.status != "skipped")
                .map(|r| r.bytes)
                .sum(),
        }
    }
}

/// The last JSON line of a batch.
fn summary_json(rows: &[Row], total: u64, elapsed: std::time::Duration) -> serde_json::Value {
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| json!({"file": r.file, "status": r.status, "error": r.error}))
        .collect();
    let counts = Counts::of(rows);
    json!({
        "event": "summary",
        "status": if failed.is_empty() { "completed" } else { "failed" },
        "files": rows.len(),
        "completed": counts.uploaded,
        "skipped": counts.skipped,
        "failed": failed,
        "bytes": total,
        "uploaded_bytes": counts.sent_bytes,
        "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_and_a_path_make_an_item_url() {
        let graph = "https://graph.microsoft.com/v1.0";
        assert_eq!(
            item_url(&format!("{graph}/me/drive/root:/Backups"), "photos/a b.jpg").unwrap(),
            format!("{graph}/me/drive/root:/Backups/photos/a%20b.jpg:/createUploadSession")
        );
        assert_eq!(
            item_url(&format!("{graph}/me/drive/root"), "x#1.txt").unwrap(),
            format!("{graph}/me/drive/root:/x%231.txt:/createUploadSession")
        );
        assert_eq!(
            item_url(&format!("{graph}/drives/b!x/items/01ABC"), "d/x").unwrap(),
            format!("{graph}/drives/b!x/items/01ABC:/d/x:/createUploadSession")
        );
        let error = item_url(
            &format!("{graph}/me/drive/root:/a.bin:/createUploadSession"),
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("names the drive folder"), "{error}");
    }

    #[test]
    fn directories_are_walked_in_name_order_under_their_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        std::fs::create_dir_all(root.join("2024/deep")).unwrap();
        std::fs::write(root.join("b.jpg"), b"bb").unwrap();
        std::fs::write(root.join("a.jpg"), b"a").unwrap();
        std::fs::write(root.join("2024/deep/c.jpg"), b"ccc").unwrap();
        let single = dir.path().join("notes.txt");
        std::fs::write(&single, b"n").unwrap();
        let entries = list(&[root.clone(), single]).unwrap();
        let names: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.size)).collect();
        assert_eq!(
            names,
            [
                ("photos/2024/deep/c.jpg", 3),
                ("photos/a.jpg", 1),
                ("photos/b.jpg", 2),
                ("notes.txt", 1)
            ]
        );
        let twice = list(&[root.join("a.jpg"), root.join("a.jpg")]).unwrap_err();
        assert!(twice.to_string().contains("uploaded as a.jpg"), "{twice}");
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        let empty = list(&[dir.path().join("empty")]).unwrap_err();
        assert!(empty.to_string().contains("no files"), "{empty}");
    }

    #[test]
    fn the_table_fits_100_columns() {
        let row = |file: &str, error: Option<&str>| Row {
            file: file.to_owned(),
            status: if error.is_some() {
                "failed"
            } else {
                "completed"
            },
            bytes: 1_234_567_890_123,
            confirmed: 1_234_567,
            elapsed: std::time::Duration::from_secs(98_765),
            rate: Some(987_654_321.0),
            retries: 1_000_000,
            error: error.map(str::to_owned),
        };
        let long = "a/very/long/path/of/folders/below/the/directory/named/on/the/command/line.bin";
        let rows = vec![row("a.bin", None), row(long, Some("the service said no"))];
        let text = table(
            rows.clone(),
            3,
            std::time::Duration::from_secs(1),
            TABLE_WIDTH,
        );
        for line in text.lines().take(5) {
            assert!(line.chars().count() <= TABLE_WIDTH, "{line}");
        }
        let narrow = table(rows, 3, std::time::Duration::from_secs(1), 80);
        for line in narrow.lines().take(5) {
            assert!(line.chars().count() <= 80, "{line}");
        }
        assert!(text.contains("…"), "{text}");
        assert!(
            text.contains(&format!("  {long}: the service said no")),
            "{text}"
        );
    }
}

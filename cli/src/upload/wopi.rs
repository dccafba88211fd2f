//! `resumable upload FILE --protocol wopi`: the file hashed (SpookyHash, for its ChunkId),
//! then sent to a WOPI host's upload session in framed ranges and committed with
//! `PutChunkedFile`, with the Graph path's progress, checkpoints, report and exit statuses.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use resumable_core::chunk::FragmentRule;
use resumable_core::chunk::FragmentSizing;
use resumable_core::secret::Secret;
use resumable_core::session::Resumption;
use resumable_reqwest::source::{FileSource, Source};
use resumable_reqwest::{FileCheckpointStore, WopiJob};

use super::console::Console;
use super::progress::short_label;
use super::{
    Completed, ProtocolArg, UploadArgs, embedded, eprintln_line, file_name, follow, report,
};
use crate::error::CliError;
use crate::size::HumanBytes;

/// Files at least this large get a line (or a bar) while they are hashed: the hash reads the
/// whole file before the first byte goes out.
const SHOW_HASHING_FROM: u64 = 64 << 20;

/// Uploads to the WOPI host and prints the report, as `super::upload` does for Graph.
pub(super) async fn upload(
    args: UploadArgs,
    console: &Console,
) -> Result<Result<(), CliError>, CliError> {
    let source = FileSource::open(&args.file).map_err(|e| CliError::Invalid(e.to_string()))?;
    let name = file_name(&args.file);
    if let Some(size) = args.chunk_size {
        let rule = FragmentRule::WOPI_UPLOAD_SESSION;
        rule.check(size).map_err(|error| {
            CliError::Invalid(format!(
                "invalid --chunk-size {size}: {error} (wopi ranges are {rule}, such as 8MiB)"
            ))
        })?;
    }
    let (file_url, emulator) = match &args.endpoint {
        Some(endpoint) => (endpoint.clone(), None),
        None => {
            if args.checkpoint.is_some() {
                return Err(CliError::Invalid(
                    "--checkpoint needs --endpoint: the embedded emulator ends with this command, so nothing could be resumed from it (run `resumable emulator serve` and pass its WOPI file URL)".into(),
                ));
            }
            let file_id = args.name.as_deref().unwrap_or(&name);
            let emulator = embedded::Embedded::start(ProtocolArg::Wopi, file_id).await?;
            if !console.in_batch() {
                console.note(&format!(
                    "no --endpoint given: uploading to an emulator's WOPI host on {} for this command",
                    emulator.base_url()
                ));
            }
            (emulator.create_url().to_owned(), Some(emulator))
        }
    };
    let total = source.len();
    let mut job = WopiJob::new(source, file_url).configure(|config| {
        config.retry.max_attempts = args.retries;
        if let Some(size) = args.chunk_size {
            config.range_size = FragmentSizing::Fixed(size);
        }
        if args.adaptive {
            config.range_size = super::adaptive(
                config.range_size.largest(),
                FragmentRule::WOPI_UPLOAD_SESSION,
            );
        }
    });
    if let Some(number) = args.sequence_number {
        job = job.sequence_number(number);
    }
    if let Some(lock) = &args.lock {
        job = job.lock(Secret::new(lock.as_str()));
    }
    if let Some(id) = &args.coauth_lock_id {
        job = job.coauth_lock_id(Secret::new(id.as_str()));
    }
    if let Some(stream) = &args.stream {
        job = job.stream_id(stream.as_str());
    }
    if let Some(path) = &args.checkpoint {
        job = job.checkpoint(FileCheckpointStore::new(path));
    }
    let style = console.style();
    let shown = (!style.json && !style.quiet && total >= SHOW_HASHING_FROM)
        .then(|| HashingDisplay::start(&name, total));
    if let Some(display) = &shown {
        job = job.on_hash_progress(display.reporter());
    }
    let uploader = super::uploader(&args, None)?;
    let started = uploader.start_wopi(job).await;
    if let Some(display) = shown {
        display.finish();
    }
    let task = started.map_err(|e| CliError::Invalid(e.to_string()))?;
    let resumption = task.resumption().clone();
    if resumption != Resumption::Fresh {
        console.note(&format!("{}: {resumption}", console.label(&name)));
    }
    // The bar counts the framed stream (the file and a 32-byte prefix per chunk), as the
    // host's offsets do.
    let mut progress = console.progress(&name, task.progress_total());
    let result = follow(task, &mut progress, args.checkpoint.as_deref())
        .await
        .map(|summary| summary.map_completion(Completed::Wopi));
    report(
        &args,
        &result,
        emulator.as_ref(),
        &resumption,
        &mut progress,
        console,
    )
}

/// Shows the hashing of a large file: a bar on a terminal, a line per quarter otherwise.
struct HashingDisplay {
    bar: Option<ProgressBar>,
    label: String,
}

impl HashingDisplay {
    fn start(name: &str, total: u64) -> HashingDisplay {
        let label = format!("{name}: hashing {} for its WOPI ChunkId", HumanBytes(total));
        let bar = std::io::stderr().is_terminal().then(|| {
            // 78 columns at most: the label is cut as the upload's bar cuts it.
            let style = ProgressStyle::with_template(
                "{prefix:>16} hashing [{bar:16.cyan/blue}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_prefix(short_label(name));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() {
            eprintln_line(&label);
        }
        HashingDisplay { bar, label }
    }

    /// The callback the job calls after each block hashed.
    fn reporter(&self) -> impl FnMut(u64, u64) + Send + 'static {
        let bar = self.bar.clone();
        let label = self.label.clone();
        let mut next_quarter = 1;
        move |done, total| match &bar {
            Some(bar) => bar.set_position(done),
            None => {
                let reached = (done * 4).checked_div(total).unwrap_or(4);
                if reached >= next_quarter && reached < 4 {
                    let _ = writeln!(std::io::stderr(), "{label}: {}%", reached * 25);
                    next_quarter = reached + 1;
                }
            }
        }
    }

    fn finish(self) {
        match self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln_line(&format!("{}: done", self.label)),
        }
    }
}

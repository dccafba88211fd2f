//! `resumable upload FILE --protocol tus|ietf --endpoint URL`: a tus 1.0 server or an IETF
//! resumable-upload draft server, with the Graph path's progress, checkpoints, report and exit
//! statuses. `FILE` may be `-` (standard input): its bytes are spooled to a temporary file as
//! they arrive and sent as they do, the length given to the server once input ends (tus
//! `Upload-Defer-Length`; the draft's last append says it).

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use resumable_core::digest::DigestAlgorithm;
use resumable_core::session::Resumption;
use resumable_core::tus::{ChecksumPolicy, InteropVersion, TusUpload, Variant};
use resumable_reqwest::SourceFeed;
use resumable_reqwest::source::{FileSource, Source};
use resumable_reqwest::{FileCheckpointStore, TusJob, UploadTask};

use super::console::Console;
use super::{Completed, ProtocolArg, UploadArgs, embedded, file_name, follow, report};
use crate::error::CliError;

/// `--checksum`: what each request's bytes carry (tus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ChecksumArg {
    /// The cheapest algorithm the server offers (crc32, else sha1), none if it offers none.
    Auto,
    /// None.
    Off,
    /// CRC-32; fail if the server does not offer it.
    Crc32,
    /// SHA-1; fail if the server does not offer it.
    Sha1,
}

impl ChecksumArg {
    fn policy(self) -> ChecksumPolicy {
        match self {
            ChecksumArg::Auto => ChecksumPolicy::Auto,
            ChecksumArg::Off => ChecksumPolicy::Off,
            ChecksumArg::Crc32 => ChecksumPolicy::Require(DigestAlgorithm::Crc32),
            ChecksumArg::Sha1 => ChecksumPolicy::Require(DigestAlgorithm::Sha1),
        }
    }
}

/// Parses `--metadata key=value`.
pub(crate) fn parse_metadata(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not key=value"))?;
    if !resumable_core::wire::tus_headers::is_metadata_key(key) {
        return Err(format!(
            "metadata key {key:?}: keys are non-empty ASCII without spaces or commas"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// The protocol variant the options ask for.
fn variant(args: &UploadArgs) -> Result<Variant, CliError> {
    match args.protocol {
        ProtocolArg::Tus => Ok(Variant::Tus1),
        ProtocolArg::Ietf => {
            let number = args.interop_version.unwrap_or(6);
            InteropVersion::from_number(number)
                .map(Variant::Ietf)
                .ok_or_else(|| {
                    CliError::Invalid(format!(
                        "--interop-version {number}: this client speaks 6 (drafts -04/-05, what tusd speaks) and 8 (drafts -09 and later)"
                    ))
                })
        }
        _ => Err(CliError::Invalid("not a tus protocol".into())),
    }
}

/// Uploads to the tus or draft server and prints the report, as `super::upload` does for Graph.
pub(super) async fn upload(
    args: UploadArgs,
    console: &Console,
) -> Result<Result<(), CliError>, CliError> {
    let variant = variant(&args)?;
    let from_stdin = args.file.as_os_str() == "-";
    let name = if from_stdin {
        args.name.clone().unwrap_or_else(|| "stdin".to_owned())
    } else {
        args.name.clone().unwrap_or_else(|| file_name(&args.file))
    };
    if from_stdin && args.checkpoint.is_some() {
        return Err(CliError::Invalid(
            "--checkpoint cannot resume standard input (its bytes cannot be read again): upload a file to be able to resume".into(),
        ));
    }
    let (endpoint, emulator) = match &args.endpoint {
        Some(endpoint) => (endpoint.clone(), None),
        None => {
            if args.checkpoint.is_some() {
                return Err(CliError::Invalid(
                    "--checkpoint needs --endpoint: the embedded emulator ends with this command, so nothing could be resumed from it (run `resumable emulator serve` and pass its tus endpoint)".into(),
                ));
            }
            let emulator = embedded::Embedded::start(args.protocol, &name).await?;
            if !console.in_batch() {
                console.note(&format!(
                    "no --endpoint given: uploading to an emulator's {} endpoint on {} for this command",
                    args.protocol.name(),
                    emulator.base_url()
                ));
            }
            (emulator.create_url().to_owned(), Some(emulator))
        }
    };
    let spool = if from_stdin {
        Some(Spool::start(io::stdin())?)
    } else {
        None
    };
    let source: Arc<dyn Source> = match &spool {
        Some(spool) => spool.source.clone(),
        None => {
            Arc::new(FileSource::open(&args.file).map_err(|e| CliError::Invalid(e.to_string()))?)
        }
    };
    let mut job = TusJob::shared(source.clone(), variant, endpoint).configure(|config| {
        config.retry.max_attempts = args.retries;
        if let Some(size) = args.chunk_size {
            config.chunk_size = size;
        }
        config.checksum = args.checksum.policy();
    });
    let mut metadata = args.metadata.clone();
    if !metadata.iter().any(|(key, _)| key == "filename") {
        metadata.insert(0, ("filename".to_owned(), name.clone()));
    }
    for (key, value) in metadata {
        job = job.metadata(key, value);
    }
    if spool.is_some() {
        job = job.deferred_length();
    }
    if let Some(path) = &args.checkpoint {
        job = job.checkpoint(FileCheckpointStore::new(path));
    }
    job.config()
        .validate()
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let uploader = super::uploader(&args, None)?;
    let task = uploader
        .start_tus(job)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let resumption = task.resumption().clone();
    if resumption != Resumption::Fresh {
        console.note(&format!("{}: {resumption}", console.label(&name)));
    }
    let mut progress = console.progress(&name, source.len());
    let spooled = spool.as_ref().map(|spool| spool.source.clone());
    let feeding = spool.map(|spool| spool.feed(&task));
    let result = follow(task, &mut progress, args.checkpoint.as_deref())
        .await
        .map(|mut summary| {
            if let Some(spooled) = &spooled {
                // The reads' hashes cover the input as it was when the upload started (empty):
                // hash what was spooled, in one pass over the page cache.
                summary.source_hashes = spooled.hashes();
            }
            summary.map_completion(Completed::Tus)
        });
    if let Some(feeding) = feeding {
        feeding.stop();
    }
    report(
        &args,
        &result,
        emulator.as_ref(),
        &resumption,
        &mut progress,
        console,
    )
}

/// Standard input, copied to a temporary file as it arrives, so every byte can be read again
/// for a retry.
struct Spool {
    source: Arc<GrowingFile>,
}

/// A file being appended to by the spool: bytes below `written` can be read.
struct GrowingFile {
    file: File,
    written: AtomicU64,
    ended: AtomicBool,
    failed: std::sync::Mutex<Option<String>>,
}

impl Spool {
    fn start(mut input: impl Read + Send + 'static) -> Result<Spool, CliError> {
        let file = tempfile::tempfile().map_err(|e| {
            CliError::Invalid(format!(
                "cannot create a spool file for standard input: {e}"
            ))
        })?;
        let mut writer = file
            .try_clone()
            .map_err(|e| CliError::Invalid(format!("cannot open the spool file: {e}")))?;
        let source = Arc::new(GrowingFile {
            file,
            written: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            failed: std::sync::Mutex::new(None),
        });
        let growing = source.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            loop {
                match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if let Err(e) = writer.write_all(&buf[..n]) {
                            growing.fail(format!("cannot write the spool file: {e}"));
                            return;
                        }
                        growing.written.fetch_add(n as u64, Ordering::Release);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        growing.fail(format!("cannot read standard input: {e}"));
                        return;
                    }
                }
            }
            growing.ended.store(true, Ordering::Release);
        });
        Ok(Spool { source })
    }

    /// Tells the task how far the input has come, until it ends.
    fn feed(self, task: &UploadTask<TusUpload>) -> Feeding {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let commands: SourceFeed = task.source_feed();
        let source = self.source;
        let handle = tokio::spawn(async move {
            let mut told = 0;
            while !stopping.load(Ordering::Acquire) {
                let written = source.written.load(Ordering::Acquire);
                if source.ended.load(Ordering::Acquire) {
                    commands.source_ended(written);
                    return;
                }
                if written > told {
                    commands.source_grew(written);
                    told = written;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        });
        Feeding { stop, handle }
    }
}

/// The task that reports the input's growth.
struct Feeding {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Feeding {
    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.handle.abort();
    }
}

impl GrowingFile {
    /// The hashes of every byte spooled.
    fn hashes(&self) -> Option<resumable_core::digest::SourceHashes> {
        let total = self.len();
        let mut digest = resumable_core::digest::SourceDigest::new(total);
        let range = resumable_core::range::ByteRange::new(0, total);
        if let Some(range) = range {
            let mut offset = 0;
            resumable_reqwest::source::for_each_block(self, range, &mut |block| {
                digest.update(offset, block);
                offset += block.len() as u64;
            })
            .ok()?;
        }
        digest.hashes()
    }

    fn fail(&self, why: String) {
        if let Ok(mut failed) = self.failed.lock() {
            *failed = Some(why);
        }
    }
}

impl Source for GrowingFile {
    /// Bytes spooled so far.
    fn len(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset + buf.len() as u64;
        if end > self.len() {
            let why = self
                .failed
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_else(|| format!("standard input has not reached byte {end} yet"));
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, why));
        }
        read_exact_at(&self.file, buf, offset)
    }

    fn describe(&self) -> String {
        "standard input".to_owned()
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf[filled..], offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        offset += n as u64;
    }
    Ok(())
}

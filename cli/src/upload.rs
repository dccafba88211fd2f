//! `resumable upload FILE`: one file into a Microsoft Graph upload session or a WOPI host's
//! upload session, resumable.
//!
//! Without `--endpoint` or `--upload-url` the file goes to an emulator started inside this
//! process on 127.0.0.1 (the quickest way to see the tool work); with them, to a real service
//! or to `resumable emulator serve`. The WOPI path (`--protocol wopi`) lives in `wopi.rs`; the
//! progress display and the report are shared.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use resumable_core::chunk::{FragmentRule, FragmentSizing};
use resumable_core::graph::Destination;
use resumable_core::graph::{
    ConflictBehavior, DriveItem, MailAttachment, PrintDocument, Target, UploadConfig,
};
use resumable_core::secret::{Secret, SecretUrl};
use resumable_core::session::Resumption;
use resumable_reqwest::source::{FileSource, Source};
use resumable_reqwest::{
    FileCheckpointStore, UploadFailure, UploadJob, UploadSummary, UploadTask, Uploader,
};

use crate::error::{CliError, check_url};
use crate::resume::KeptCheckpoint;
use crate::size::parse_size;

mod batch;
mod console;
mod embedded;
pub(crate) mod progress;
mod report;
mod simple;
mod tus;
mod wopi;

use console::{Console, Style};
use progress::Progress;
pub(crate) use report::{Completed, Outcome};

/// The upload-session protocols: the Graph variants and WOPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// OneDrive / SharePoint drive items (fragments of 320 KiB multiples, under 60 MiB).
    #[value(name = "graph-drive")]
    Drive,
    /// Universal Print documents (fragments under 10 MB, up to 4 at once).
    #[value(name = "graph-print")]
    Print,
    /// Outlook mail attachments (fragments of at most 4 MB, files up to 150 MB, 150 000 000 bytes).
    #[value(name = "graph-attachment")]
    Attachment,
    /// A WOPI host's upload session (`--endpoint https://host/wopi/files/ID?access_token=…`):
    /// the file is hashed first (SpookyHash), sent as framed ranges, then committed with
    /// `PutChunkedFile`.
    #[value(name = "wopi")]
    Wopi,
    /// A tus 1.0 server (`--endpoint https://host/files/`): checksums when it offers them,
    /// `FILE` may be `-` for standard input.
    #[value(name = "tus")]
    Tus,
    /// A server of the IETF resumable-upload draft (`--endpoint https://host/files/`,
    /// `--interop-version 6` for tusd, the default, or 8).
    #[value(name = "ietf")]
    Ietf,
}

impl ProtocolArg {
    /// The name as given on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ProtocolArg::Drive => "graph-drive",
            ProtocolArg::Print => "graph-print",
            ProtocolArg::Attachment => "graph-attachment",
            ProtocolArg::Wopi => "wopi",
            ProtocolArg::Tus => "tus",
            ProtocolArg::Ietf => "ietf",
        }
    }

    /// Whether this is tus 1.0 or the IETF draft.
    pub(crate) fn is_tus(self) -> bool {
        matches!(self, ProtocolArg::Tus | ProtocolArg::Ietf)
    }
}

/// The conflict behaviours, as Graph spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConflictArg {
    /// Refuse if the name is taken (the service default).
    Fail,
    /// Overwrite the existing file.
    Replace,
    /// Keep both; the service picks a new name.
    Rename,
}

/// `resumable upload` options.
#[derive(Clone, Debug, Args)]
pub(crate) struct UploadArgs {
    /// The files to upload, and directories (their files, recursively, keeping their paths
    /// below the directory's name); `-` for standard input (one file, with --protocol tus or
    /// ietf). Several files go --transfers at a time, each in its own upload, each resumable on
    /// its own; with --endpoint a graph-drive --endpoint then names the folder they go into.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The file this upload sends (one of `files`).
    #[arg(skip)]
    file: PathBuf,
    /// With several files, how many are uploaded at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    transfers: u16,
    /// No progress and no notices: only errors (and the report with --json).
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Log what the engine does on standard error (-v: retries, resyncs, sessions; -vv: every
    /// request; -vvv: everything). RUST_LOG, if set, chooses instead. Never prints a secret.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Which upload session to use.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Drive)]
    protocol: ProtocolArg,
    /// The createUploadSession URL, such as
    /// `https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession`; with
    /// --protocol wopi, the WOPI file URL with its token,
    /// `https://host/wopi/files/ID?access_token=…`. Without it (and without --upload-url) the
    /// file goes to an emulator started on 127.0.0.1 for this command.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// The bearer token for creating the session. Prefer the environment variable: a command
    /// line is visible to other users of the machine.
    #[arg(
        long,
        env = "RESUMABLE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// Fragment size, such as 10MiB. Drive items: a multiple of 320 KiB (327680 bytes) under
    /// 60 MiB; print documents: a multiple of 200000 bytes under 10 MB; mail attachments: at
    /// most 4 MB. Default: 10 MiB, 5 MB, 4 MB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    chunk_size: Option<u64>,
    /// Let the fragment size follow the link (Graph and WOPI): start at --chunk-size (or the
    /// default) and steer each fragment toward taking 2 seconds, from the smallest size the
    /// service allows to the largest, at most doubling or halving per fragment. On slow links
    /// it keeps requests short (fewer timeouts, less resent after a failure); on fast ones it
    /// spends fewer round trips.
    #[arg(long)]
    adaptive: bool,
    /// What the service does if the name is taken (drive items).
    #[arg(long, value_enum)]
    conflict: Option<ConflictArg>,
    /// Upload all bytes first and commit them with a separate request (drive items).
    #[arg(long)]
    defer_commit: bool,
    /// Drive items up to this size go in one request (`PUT …:/content`) instead of an upload
    /// session, as the service suggests for files under 4 MB; 0 sends every file in a session.
    /// At most 250MB (the service's limit).
    #[arg(long, value_name = "SIZE", value_parser = parse_cutoff, default_value = "4MB")]
    upload_cutoff: u64,
    /// Save progress here after every fragment, and resume from it if it exists (the file
    /// holds the session URL, a credential: it is created readable by you only and removed
    /// when the upload completes). Without it, an upload to an --endpoint or --upload-url keeps
    /// one in the state directory (`resumable resume --list` shows them), so running the same
    /// command again resumes.
    #[arg(long, value_name = "PATH")]
    checkpoint: Option<PathBuf>,
    /// Limit the upload bandwidth to RATE bytes per second, such as 10M (10 MiB/s) or 500KB; with
    /// several files, for all of them together. `off` (the default): no limit.
    #[arg(long, value_name = "RATE", value_parser = parse_bwlimit)]
    bwlimit: Option<u64>,
    /// The limit all of this command's uploads share (one bucket for several files).
    #[arg(skip)]
    rate_limit: Option<resumable_reqwest::RateLimit>,
    /// Start afresh: neither resume from nor keep a checkpoint in the state directory.
    #[arg(long, conflicts_with = "checkpoint")]
    no_resume: bool,
    /// Continue a session created elsewhere (its uploadUrl). With --endpoint too, a lost
    /// session is replaced by a new one.
    #[arg(long, value_name = "URL")]
    upload_url: Option<String>,
    /// The name to give the file: the print documentName, the attachment name, the tus
    /// `filename` metadata, or the drive path on the embedded emulator; default: the file's
    /// name. With --endpoint, a drive
    /// item's path and name are in the URL.
    #[arg(long)]
    name: Option<String>,
    /// Retries allowed without progress before giving up, whether blind (the waits double from
    /// 1 s up to 60 s) or asked for with Retry-After (each such wait counts too, and one over an
    /// hour gives up at once). Other bounds: 2 hours without progress; at most twice the file
    /// plus 4 fragments sent into one session; 3 sessions; 3 protocol violations or lost
    /// confirmed bytes from the service.
    #[arg(long, value_name = "N", default_value_t = 10)]
    retries: u32,
    /// Print JSON lines on standard output instead of progress and text: events as they
    /// happen (`"event"`: progress, retry, resync, session-created, session-lost, note), then
    /// the report (`"event": "summary"`: status, bytes, sha256, verified, quick_xor_hash,
    /// elapsed_ms, retries, resyncs, sessions, item). With several files each file's report
    /// is `"event": "file"` and the last line sums them up.
    #[arg(long)]
    json: bool,
    /// WOPI: the X-WOPI-SequenceNumber of the version you read (default 1). After a 412 the
    /// error names the host's number to pass here.
    #[arg(long, value_name = "N")]
    sequence_number: Option<u64>,
    /// WOPI: commit with this X-WOPI-Lock (the lock you hold from LOCK).
    #[arg(long, value_name = "LOCK")]
    lock: Option<String>,
    /// WOPI: commit with this X-WOPI-CoauthLockId (never together with --lock).
    #[arg(long, value_name = "ID")]
    coauth_lock_id: Option<String>,
    /// WOPI: the stream the file is uploaded as (a PutChunkedFile must carry MainContent).
    #[arg(long, value_name = "NAME")]
    stream: Option<String>,
    /// tus: an Upload-Metadata pair, key=value (repeat for more; the value may be any UTF-8).
    /// `filename` is sent with the file's name unless given.
    #[arg(long, value_name = "KEY=VALUE", value_parser = tus::parse_metadata)]
    metadata: Vec<(String, String)>,
    /// tus: the checksum each request's bytes carry (Upload-Checksum).
    #[arg(long, value_enum, default_value_t = tus::ChecksumArg::Auto)]
    checksum: tus::ChecksumArg,
    /// ietf: the draft's interop version, 6 (what tusd speaks; the default) or 8.
    #[arg(long, value_name = "N")]
    interop_version: Option<u8>,
}

impl UploadArgs {
    /// The tus-only flags that were given, by name.
    fn tus_flags(&self) -> Vec<&'static str> {
        let given = [
            (!self.metadata.is_empty(), "--metadata"),
            (self.checksum != tus::ChecksumArg::Auto, "--checksum"),
            (self.interop_version.is_some(), "--interop-version"),
        ];
        given
            .into_iter()
            .filter_map(|(given, name)| given.then_some(name))
            .collect()
    }

    /// The WOPI-only flags that were given, by name.
    fn wopi_flags(&self) -> Vec<&'static str> {
        let given = [
            (self.sequence_number.is_some(), "--sequence-number"),
            (self.lock.is_some(), "--lock"),
            (self.coauth_lock_id.is_some(), "--coauth-lock-id"),
            (self.stream.is_some(), "--stream"),
        ];
        given
            .into_iter()
            .filter_map(|(given, name)| given.then_some(name))
            .collect()
    }

    /// The Graph-only flags that were given, by name.
    fn graph_flags(&self) -> Vec<&'static str> {
        let given = [
            (self.conflict.is_some(), "--conflict"),
            (self.defer_commit, "--defer-commit"),
            (self.upload_url.is_some(), "--upload-url"),
            (self.name.is_some() && self.endpoint.is_some(), "--name"),
        ];
        given
            .into_iter()
            .filter_map(|(given, name)| given.then_some(name))
            .collect()
    }
}

/// Refuses flags that do not go together, and URLs that cannot be used, before anything is
/// read or sent.
fn check_combination(args: &UploadArgs) -> Result<(), CliError> {
    if let Some(endpoint) = &args.endpoint {
        check_url("--endpoint", endpoint)?;
    }
    if let Some(upload_url) = &args.upload_url {
        check_url("--upload-url", upload_url)?;
    }
    if !args.protocol.is_tus()
        && let Some(flag) = args.tus_flags().first()
    {
        return Err(CliError::Invalid(format!(
            "{flag} applies to --protocol tus or ietf only, not to {}",
            args.protocol.name()
        )));
    }
    if args.protocol.is_tus() {
        // `--name` is the tus `filename` metadata.
        let other = args
            .graph_flags()
            .into_iter()
            .chain(args.wopi_flags())
            .find(|flag| *flag != "--name");
        if let Some(flag) = other {
            return Err(CliError::Invalid(format!(
                "{flag} does not apply to --protocol {}",
                args.protocol.name()
            )));
        }
        if args.protocol == ProtocolArg::Ietf && args.checksum != tus::ChecksumArg::Auto {
            return Err(CliError::Invalid(
                "--checksum applies to --protocol tus only: the IETF draft has no per-request checksum".into(),
            ));
        }
        if args.protocol == ProtocolArg::Tus && args.interop_version.is_some() {
            return Err(CliError::Invalid(
                "--interop-version applies to --protocol ietf only".into(),
            ));
        }
        if args.chunk_size == Some(0) {
            return Err(CliError::Invalid(
                "--chunk-size must be at least 1 byte".into(),
            ));
        }
        if args.adaptive {
            return Err(CliError::Invalid(format!(
                "--adaptive applies to Graph and WOPI uploads; --protocol {} sends --chunk-size requests",
                args.protocol.name()
            )));
        }
    } else if args.file.as_os_str() == "-" {
        return Err(CliError::Invalid(format!(
            "uploading standard input (-) needs --protocol tus or ietf (a {} upload needs the length first)",
            args.protocol.name()
        )));
    } else if args.protocol == ProtocolArg::Wopi {
        if let Some(flag) = args.graph_flags().first() {
            return Err(CliError::Invalid(format!(
                "{flag} applies to Graph uploads only, not to --protocol wopi"
            )));
        }
        if args.lock.is_some() && args.coauth_lock_id.is_some() {
            return Err(CliError::Invalid(
                "give either --lock or --coauth-lock-id, not both: a WOPI host refuses a commit carrying both".into(),
            ));
        }
        if args.sequence_number == Some(0) {
            return Err(CliError::Invalid(
                "--sequence-number must be above 0 (WOPI sequence numbers start at 1)".into(),
            ));
        }
        if let Some(stream) = args.stream.as_deref().filter(|s| *s != "MainContent") {
            return Err(CliError::Invalid(format!(
                "--stream {stream}: the file can only be uploaded as MainContent, which every PutChunkedFile must carry (alternate streams go along with it)"
            )));
        }
        if let Some(endpoint) = &args.endpoint
            && !endpoint.contains("access_token=")
        {
            return Err(CliError::Invalid(
                "--endpoint for --protocol wopi is the file URL with its token: https://host/wopi/files/ID?access_token=…".into(),
            ));
        }
    } else if let Some(flag) = args.wopi_flags().first() {
        return Err(CliError::Invalid(format!(
            "{flag} applies to --protocol wopi only, not to {}",
            args.protocol.name()
        )));
    }
    Ok(())
}

/// Runs `resumable upload`.
pub(crate) fn run(mut args: UploadArgs) -> Result<(), CliError> {
    let tracing = crate::logging::start(args.verbose);
    let style = Style {
        json: args.json,
        quiet: args.quiet,
        no_bars: tracing,
    };
    if batch::wanted(&args.files) {
        return crate::runtime::block_on(batch::run(args, style));
    }
    args.file = args.files[0].clone();
    let (json, file) = (args.json, args.file.clone());
    let console = Console::single(style);
    let mut printed = true;
    let result = crate::runtime::block_on(async {
        // The outer error: the upload could not start and nothing was reported yet.
        let reported = upload(args, &console).await;
        printed = reported.is_ok();
        reported.unwrap_or_else(Err)
    });
    console.remove_done_checkpoints();
    match result {
        Err(error) if json && !printed => {
            report::print_start_failure(&file, &error)?;
            Err(error)
        }
        other => other,
    }
}

/// Uploads `args.file` and reports it through `console`. `Err` if it could not get that far;
/// `Ok` with the outcome (already reported) otherwise.
async fn upload(mut args: UploadArgs, console: &Console) -> Result<Result<(), CliError>, CliError> {
    check_combination(&args)?;
    let kept = keep_checkpoint(&mut args)?;
    if console.in_batch()
        && let Some(kept) = &kept
        && kept.was_uploaded()
    {
        let bytes = std::fs::metadata(&args.file).map_or(0, |m| m.len());
        return Ok(console.skipped(bytes));
    }
    let reported = if args.protocol == ProtocolArg::Wopi {
        wopi::upload(args, console).await
    } else if args.protocol.is_tus() {
        tus::upload(args, console).await
    } else {
        graph_upload(args, console).await
    };
    if let Some(kept) = kept {
        kept.tidy();
        if console.in_batch() && matches!(reported, Ok(Ok(()))) {
            kept.mark_uploaded();
        }
    }
    reported
}

/// Without `--checkpoint`, an upload to a real endpoint keeps one in the state directory,
/// named by what goes where, so the same command resumes after a crash (`--no-resume`: not).
fn keep_checkpoint(args: &mut UploadArgs) -> Result<Option<KeptCheckpoint>, CliError> {
    let remote = args.endpoint.is_some() || args.upload_url.is_some();
    if args.checkpoint.is_some() || args.no_resume || !remote || args.file.as_os_str() == "-" {
        return Ok(None);
    }
    let kept = KeptCheckpoint::for_upload(
        &args.file,
        args.protocol.name(),
        args.endpoint.as_deref(),
        args.upload_url.as_deref(),
        args.token.as_deref(),
    )?;
    args.checkpoint = Some(kept.path.clone());
    Ok(Some(kept))
}

/// A Graph upload (drive item, print document, mail attachment).
async fn graph_upload(
    args: UploadArgs,
    console: &Console,
) -> Result<Result<(), CliError>, CliError> {
    let source = FileSource::open(&args.file).map_err(|e| CliError::Invalid(e.to_string()))?;
    let file_name = file_name(&args.file);
    let target = target(&args, &file_name)?;
    let mut config = UploadConfig::new(target.clone(), source.len());
    if let Some(size) = args.chunk_size {
        check_chunk_size(args.protocol, &target, size)?;
        config.fragment_size = FragmentSizing::Fixed(size);
    }
    if args.adaptive {
        config.fragment_size = adaptive(config.fragment_size.largest(), target.rule());
    }
    config.retry.max_attempts = args.retries;
    // Options are checked as for a session whichever way the file goes: a command that works
    // for a small file works for a large one.
    if simple::applies(&args, source.len()) {
        return simple::upload(args, source, console).await;
    }
    config
        .validate()
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let (destination, token, emulator) = destination(&args, &file_name, console).await?;
    let uploader = uploader(&args, token)?;
    let total = source.len();
    let mut job = UploadJob::new(source, destination, target).configure(|c| *c = config);
    if let Some(path) = &args.checkpoint {
        // Kept once completed until the report is out (removed below): a process killed in
        // between finds it on the next run and reports the completion instead of uploading
        // again into a name its own file now holds.
        job = job
            .checkpoint(FileCheckpointStore::new(path))
            .keep_completed_checkpoint();
    }
    if args.defer_commit {
        job = job.commit_when_received();
    }
    let mut progress = console.progress(&file_name, total);
    let task = uploader
        .start(job)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let resumption = task.resumption().clone();
    if resumption != Resumption::Fresh {
        console.note(&format!("{}: {resumption}", console.label(&file_name)));
    }
    let result = follow(task, &mut progress, args.checkpoint.as_deref())
        .await
        .map(|summary| summary.map_completion(Completed::Graph));
    let reported = report(
        &args,
        &result,
        emulator.as_ref(),
        &resumption,
        &mut progress,
        console,
    );
    if let (Ok(_), Some(path)) = (&result, &args.checkpoint) {
        // Removed once the runtime is down, just before the process exits (see
        // `remove_when_done`).
        console.remove_when_done(path.clone());
    }
    reported
}

/// Prints how the upload ended, comparing what the service stored with the local file's
/// SHA-256, which comes from the reads that sent it (no pass of its own). `Err` if it could not
/// get that far; `Ok` with the outcome (already reported) otherwise.
pub(crate) fn report(
    args: &UploadArgs,
    result: &Result<UploadSummary<Completed>, UploadFailure>,
    emulator: Option<&embedded::Embedded>,
    resumption: &Resumption,
    progress: &mut Progress,
    console: &Console,
) -> Result<Result<(), CliError>, CliError> {
    // The local file's hashes come from the reads that sent it (no pass of their own).
    let local = result
        .as_ref()
        .ok()
        .and_then(|summary| summary.source_hashes);
    // The embedded emulator says what it stored (the service's own word was checked by the
    // engine before it called the upload complete).
    let stored = emulator.and_then(embedded::Embedded::stored);
    let outcome = Outcome {
        file: &args.file,
        local: local.as_ref(),
        result,
        emulator: emulator.map(|e| e.base_url()),
        stored: stored.as_ref(),
        checkpoint: args.checkpoint.as_deref(),
        resumption,
        name_conflict: progress.met_name_conflict() || refused_name(result),
    };
    progress.finish(outcome.status());
    Ok(console.report(&outcome))
}

/// Whether a simple upload's `PUT` was refused because the name is taken (`409` under `fail`).
fn refused_name(result: &Result<UploadSummary<Completed>, UploadFailure>) -> bool {
    use resumable_core::graph::UploadError;
    use resumable_reqwest::FailureCause;
    matches!(
        result,
        Err(UploadFailure {
            cause: FailureCause::Upload(UploadError::Rejected {
                status: 409,
                during: resumable_core::http::RequestKind::SimpleUpload,
                ..
            }),
            ..
        })
    )
}

/// Follows the task to its end; Ctrl-C stops it, keeping the session when there is a
/// checkpoint to resume from, and deletes the session otherwise.
pub(crate) async fn follow<M: resumable_reqwest::driver::TaskMachine>(
    mut task: UploadTask<M>,
    progress: &mut Progress,
    checkpoint: Option<&Path>,
) -> Result<UploadSummary<M::Completion>, UploadFailure> {
    let keep = checkpoint.is_some();
    let interrupt = move |task: &UploadTask<M>| {
        if keep {
            task.stop();
            "finishing the request in flight and keeping the session to resume"
        } else {
            task.cancel();
            if M::CANCEL_DELETES_SESSION {
                "deleting the upload session"
            } else {
                "cancelling; the host lets the session expire"
            }
        }
    };
    progress::follow(&mut task, progress, Some(&interrupt)).await;
    task.finish().await
}

/// Where the bytes go, the token to use, and the embedded emulator if one was started.
async fn destination(
    args: &UploadArgs,
    file_name: &str,
    console: &Console,
) -> Result<(Destination, Option<Secret>, Option<embedded::Embedded>), CliError> {
    let token = args.token.clone().map(Secret::new);
    match (&args.endpoint, &args.upload_url) {
        (None, None) => {
            if args.checkpoint.is_some() {
                return Err(checkpoint_needs_a_service());
            }
            let name = args.name.as_deref().unwrap_or(file_name);
            let emulator = embedded::Embedded::start(args.protocol, name).await?;
            if !console.in_batch() {
                console.note(&format!(
                    "no --endpoint given: uploading to an emulator on {} for this command",
                    emulator.base_url()
                ));
            }
            let destination = Destination::new_session(emulator.create_url());
            Ok((
                destination,
                Some(Secret::new("embedded-emulator")),
                Some(emulator),
            ))
        }
        (Some(endpoint), None) => {
            let token = token.ok_or_else(no_token)?;
            Ok((Destination::new_session(endpoint), Some(token), None))
        }
        (endpoint, Some(upload_url)) => {
            let mut destination = Destination::existing_session(SecretUrl::new(upload_url));
            if let Some(endpoint) = endpoint {
                if token.is_none() {
                    return Err(no_token());
                }
                destination = destination.with_create_url(endpoint);
            }
            Ok((destination, token, None))
        }
    }
}

/// The HTTP client for one upload: the token, and the command's bandwidth limit.
pub(crate) fn uploader(args: &UploadArgs, token: Option<Secret>) -> Result<Uploader, CliError> {
    let mut builder = Uploader::builder();
    if let Some(token) = token {
        builder = builder.token(token);
    }
    if let Some(limit) = &args.rate_limit {
        builder = builder.rate_limit(limit.clone());
    } else if let Some(rate) = args.bwlimit.filter(|rate| *rate > 0) {
        builder = builder.rate_limit(rate);
    }
    builder
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot build the HTTP client: {e}")))
}

/// `--bwlimit`: bytes per second as a size (`10M`, `500KB`, `1MiB/s`), or `off`.
fn parse_bwlimit(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let size = trimmed.strip_suffix("/s").unwrap_or(trimmed);
    if size.eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    match parse_size(size)? {
        0 => Err("--bwlimit must be above 0 bytes per second (or `off`)".into()),
        rate => Ok(rate),
    }
}

/// `--upload-cutoff`: a size, at most the service's limit for one request.
fn parse_cutoff(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size > simple::MAX_CUTOFF {
        return Err(format!(
            "{size} bytes is above 250MB, the most a drive item takes in one request"
        ));
    }
    Ok(size)
}

/// `--checkpoint` without a service to resume with.
fn checkpoint_needs_a_service() -> CliError {
    CliError::Invalid(
        "--checkpoint needs --endpoint or --upload-url: the embedded emulator ends with this command, so nothing could be resumed from it (run `resumable emulator serve` and pass its URL)".into(),
    )
}

fn no_token() -> CliError {
    CliError::Invalid(
        "creating an upload session needs an access token: set RESUMABLE_TOKEN (or pass --token)"
            .into(),
    )
}

/// The engine target the options describe.
fn target(args: &UploadArgs, file_name: &str) -> Result<Target, CliError> {
    let drive_only = |flag: &str| {
        CliError::Invalid(format!(
            "{flag} applies to graph-drive uploads only, not to {}",
            args.protocol.name()
        ))
    };
    let name = args.name.clone().unwrap_or_else(|| file_name.to_owned());
    Ok(match args.protocol {
        ProtocolArg::Drive => {
            if args.name.is_some() && args.endpoint.is_some() {
                return Err(CliError::Invalid(
                    "--name does not apply to graph-drive uploads with --endpoint: the item's path and name are in the createUploadSession URL".into(),
                ));
            }
            let mut item = DriveItem::new();
            if let Some(conflict) = args.conflict {
                item = item.on_conflict(match conflict {
                    ConflictArg::Fail => ConflictBehavior::Fail,
                    ConflictArg::Replace => ConflictBehavior::Replace,
                    ConflictArg::Rename => ConflictBehavior::Rename,
                });
            }
            if args.defer_commit {
                item = item.deferred();
            }
            Target::DriveItem(item)
        }
        _ if args.conflict.is_some() => return Err(drive_only("--conflict")),
        _ if args.defer_commit => return Err(drive_only("--defer-commit")),
        ProtocolArg::Print => {
            Target::PrintDocument(PrintDocument::new(name.as_str(), content_type(&name)))
        }
        ProtocolArg::Attachment => Target::MailAttachment(MailAttachment::new(name)),
        ProtocolArg::Wopi | ProtocolArg::Tus | ProtocolArg::Ietf => {
            return Err(CliError::Invalid(format!(
                "a {} upload has no Graph target",
                args.protocol.name()
            )));
        }
    })
}

/// Checks `--chunk-size` against the target's rule, naming the rule and sizes that would do.
/// `--adaptive`: from `initial`, toward 2 s per fragment, anywhere `rule` allows.
pub(crate) fn adaptive(initial: u64, rule: FragmentRule) -> FragmentSizing {
    FragmentSizing::Adaptive {
        initial,
        target: Duration::from_secs(2),
        min: rule.alignment(),
        max: rule.max_aligned_len(),
    }
}

fn check_chunk_size(protocol: ProtocolArg, target: &Target, size: u64) -> Result<(), CliError> {
    target.rule().check(size).map_err(|error| {
        let (what, example) = match protocol {
            ProtocolArg::Drive => ("graph-drive fragments", ", such as 5MiB or 10MiB"),
            ProtocolArg::Print => ("graph-print fragments", ", such as 5MB"),
            ProtocolArg::Attachment => ("graph-attachment fragments", ", such as 4MB"),
            ProtocolArg::Wopi => ("wopi ranges", ", such as 8MiB"),
            ProtocolArg::Tus | ProtocolArg::Ietf => ("tus requests", ", such as 8MiB"),
        };
        let rule = target.rule();
        CliError::Invalid(format!(
            "invalid --chunk-size {size}: {error} ({what} are {rule}{example})"
        ))
    })
}

/// The document's content type, from its extension (print jobs need one).
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("pdf") => "application/pdf",
        Some("xps") => "application/oxps",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload.bin".to_owned())
}

/// One line on standard error.
pub(crate) fn eprintln_line(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(test)]
mod tests;

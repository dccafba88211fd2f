//! `resumable demo`: a generated file uploaded with every Graph variant, to a WOPI host and to
//! a tus server,
//! through emulators that inject faults, with progress bars, what went wrong and how it was handled, and a check that
//! every stored copy has the file's SHA-256.
//!
//! Each variant gets its own emulator (flaky profile, its own seed), so the faults one meets do
//! not depend on how the others are scheduled; the drive upload also gets two scripted faults,
//! a lost answer and a session that expires early, so a resynchronisation and a session
//! recreation show up in every run. The WOPI upload hashes the file first (its ChunkId), then
//! goes through the emulator's WOPI host in framed ranges and one `PutChunkedFile`; the answer
//! to its second range is lost, so a resynchronisation shows up there too.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::MultiProgress;
use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::Destination;
use resumable_core::graph::{
    DriveItem, MAIL_ATTACHMENT_MAX, MailAttachment, PrintDocument, Target,
};
use resumable_core::secret::Secret;
use resumable_core::tus::Variant as TusVariant;
use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, Fault, FaultProfile, FaultScript, RequestKind,
    StorageMode,
};
use resumable_reqwest::source::{FileSource, Source};
use resumable_reqwest::{TusJob, UploadFailure, UploadJob, UploadStats, Uploader, WopiJob};

use crate::error::CliError;
use crate::size::{HumanBytes, parse_size};
use crate::upload::ProtocolArg;
use crate::upload::progress::Progress;

mod sample;
mod table;

use sample::{Prefix, write_sample};
use table::{VariantReport, print_summary};

/// `resumable demo` options.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Size of the generated file, such as 256MiB or 1GiB. The mail attachment upload takes at
    /// most its first 150 MB (150 000 000 bytes, the service's limit).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256MiB")]
    size: u64,
    /// Seeds the file's bytes and the emulators' fault plans.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// One upload of the demo.
struct Variant {
    protocol: ProtocolArg,
    fragment: FragmentSizing,
    /// The Graph target; `None` for the WOPI upload.
    target: Option<Target>,
    source: Arc<dyn Source>,
    sha256: String,
    script: FaultScript,
    seed: u64,
}

/// Runs `resumable demo`.
pub(crate) fn run(args: DemoArgs) -> Result<(), CliError> {
    if args.size == 0 {
        return Err(CliError::Invalid("--size must be at least 1 byte".into()));
    }
    crate::runtime::block_on(demo(args))
}

async fn demo(args: DemoArgs) -> Result<(), CliError> {
    let dir = tempfile::Builder::new()
        .prefix("resumable-demo-")
        .tempdir()
        .map_err(|e| CliError::Invalid(format!("cannot create a temporary directory: {e}")))?;
    let path = dir.path().join("sample.bin");
    let mail_len = args.size.min(MAIL_ATTACHMENT_MAX);
    say(&format!(
        "generating {} of pseudo-random bytes in {}",
        HumanBytes(args.size),
        path.display()
    ));
    let sample = {
        let (target, size, seed) = (path.clone(), args.size, args.seed);
        tokio::task::spawn_blocking(move || write_sample(&target, size, mail_len, seed))
            .await
            .map_err(|e| CliError::Invalid(e.to_string()))?
            .map_err(CliError::file(&path))?
    };
    let file: Arc<dyn Source> = Arc::new(FileSource::open(&path).map_err(CliError::file(&path))?);
    if mail_len < args.size {
        say(&format!(
            "mail attachments are limited to {} by the service: that upload takes the file's first {}",
            HumanBytes(MAIL_ATTACHMENT_MAX),
            HumanBytes(mail_len)
        ));
    }
    say(
        "uploading with every Graph variant, to a WOPI host and to a tus server at once, each to its own emulator with the `flaky` fault profile",
    );
    let variants = variants(&args, file, &sample, mail_len);
    let multi = MultiProgress::new();
    let reports = futures::future::join_all(
        variants
            .into_iter()
            .map(|variant| run_variant(variant, &multi)),
    )
    .await;
    let reports: Vec<VariantReport> = reports.into_iter().collect::<Result<_, _>>()?;
    let mut out = std::io::stdout().lock();
    print_summary(&mut out, &reports).map_err(CliError::output)?;
    out.flush().map_err(CliError::output)?;
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.succeeded())
        .map(|r| r.protocol.name())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "the demo failed for {}: see the table above; this is a bug, please report it",
            failed.join(", ")
        )))
    }
}

fn variants(
    args: &DemoArgs,
    file: Arc<dyn Source>,
    sample: &sample::Sample,
    mail_len: u64,
) -> Vec<Variant> {
    // A lost answer early on, and the session expiring a third of the way: the drive upload
    // must resynchronise, then replace its session and start over in it. Small files get
    // smaller fragments (at least eight of them), so the scripted faults still land.
    let drive_fragment = (args.size / 8 / 327_680 * 327_680).clamp(327_680, 32 * 327_680);
    let drive_fragments = args.size.div_ceil(drive_fragment);
    let drive_script = FaultScript::default()
        .on(RequestKind::Fragment, 2, Fault::LoseAnswer)
        .on(
            RequestKind::Fragment,
            (drive_fragments / 3).max(3),
            Fault::ExpireSession,
        );
    // The WOPI upload loses the answer to its second range: it must probe where the host is
    // and go on from there without sending again what the host has.
    let wopi_range = (args.size / 8).clamp(64 * 1024, 8 << 20);
    let wopi_script = FaultScript::default().on(RequestKind::WopiUpdate, 2, Fault::LoseAnswer);
    // The tus upload loses the answer to its second PATCH: it must ask the server where it is
    // (`HEAD`) and go on from its offset.
    let tus_chunk = (args.size / 8).clamp(64 * 1024, 8 << 20);
    let tus_script = FaultScript::default().on(RequestKind::TusAppend, 2, Fault::LoseAnswer);
    let mail_source: Arc<dyn Source> = Arc::new(Prefix::new(file.clone(), mail_len));
    vec![
        Variant {
            protocol: ProtocolArg::Drive,
            fragment: FragmentSizing::Fixed(drive_fragment),
            target: Some(Target::DriveItem(DriveItem::new())),
            source: file.clone(),
            sha256: sample.sha256.clone(),
            script: drive_script,
            seed: args.seed,
        },
        Variant {
            protocol: ProtocolArg::Print,
            fragment: FragmentSizing::Fixed(5_000_000),
            target: Some(Target::PrintDocument(PrintDocument::new(
                "sample.bin",
                "application/octet-stream",
            ))),
            source: file.clone(),
            sha256: sample.sha256.clone(),
            script: FaultScript::default(),
            seed: args.seed.wrapping_add(1),
        },
        Variant {
            protocol: ProtocolArg::Attachment,
            fragment: FragmentSizing::Fixed(4_000_000),
            target: Some(Target::MailAttachment(MailAttachment::new("sample.bin"))),
            source: mail_source,
            sha256: sample.short_sha256.clone(),
            script: FaultScript::default(),
            seed: args.seed.wrapping_add(2),
        },
        Variant {
            protocol: ProtocolArg::Wopi,
            fragment: FragmentSizing::Fixed(wopi_range),
            target: None,
            source: file.clone(),
            sha256: sample.sha256.clone(),
            script: wopi_script,
            seed: args.seed.wrapping_add(3),
        },
        Variant {
            protocol: ProtocolArg::Tus,
            fragment: FragmentSizing::Fixed(tus_chunk),
            target: None,
            source: file,
            sha256: sample.sha256.clone(),
            script: tus_script,
            seed: args.seed.wrapping_add(4),
        },
    ]
}

async fn run_variant(variant: Variant, multi: &MultiProgress) -> Result<VariantReport, CliError> {
    let config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_faults(FaultProfile::Flaky, variant.seed)
        .with_script(variant.script);
    let emulator = Emulator::start(config)
        .await
        .map_err(|e| CliError::Invalid(format!("cannot start an emulator: {e}")))?;
    let total = variant.source.len();
    let mut progress = Progress::in_group(multi, variant.protocol.name(), total);
    let outcome = match variant.target {
        None if variant.protocol == ProtocolArg::Tus => {
            tus_upload(
                &emulator,
                variant.source,
                variant.seed,
                variant.fragment,
                &mut progress,
            )
            .await?
        }
        Some(target) => {
            graph_upload(
                &emulator,
                variant.protocol,
                variant.source,
                target,
                variant.seed,
                variant.fragment,
                &mut progress,
            )
            .await?
        }
        None => {
            wopi_upload(
                &emulator,
                variant.source,
                variant.seed,
                variant.fragment,
                &mut progress,
            )
            .await?
        }
    };
    let server = emulator.stats();
    let stored = emulator.files().into_iter().last();
    let (stats, error) = match outcome {
        Ok(stats) => (stats, None),
        Err(failure) => (failure.stats.clone(), Some(failure.to_string())),
    };
    let report = VariantReport {
        protocol: variant.protocol,
        size: total,
        stats,
        error,
        expected_sha256: variant.sha256,
        stored_sha256: stored.map(|file| file.sha256),
        faults: server.faults.clone(),
        bytes_received_twice: server.bytes_received_twice,
    };
    progress.finish(if report.succeeded() {
        "SHA-256 identical"
    } else {
        "FAILED"
    });
    Ok(report)
}

/// A Graph upload of `source` as `target` to `emulator`: its counters, and its error if it
/// failed.
async fn graph_upload(
    emulator: &EmulatorHandle,
    protocol: ProtocolArg,
    source: Arc<dyn Source>,
    target: Target,
    seed: u64,
    fragment: FragmentSizing,
    progress: &mut Progress,
) -> Result<Result<UploadStats, UploadFailure>, CliError> {
    let create_url = match protocol {
        ProtocolArg::Print => emulator.print_upload_session_url("printer-1", "job-1", "document-1"),
        ProtocolArg::Attachment => emulator.mail_upload_session_url("message-1"),
        _ => emulator.drive_upload_session_url("demo/sample.bin"),
    };
    let uploader = Uploader::builder()
        .token(Secret::new("demo-token"))
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot build the HTTP client: {e}")))?;
    let job = UploadJob::shared(source, Destination::new_session(create_url), target).configure(
        |config| {
            config.seed = seed;
            config.fragment_size = fragment;
            // The emulator answers 404 for an expired session at once; a second between checks
            // is plenty here (busy SharePoint sites are why the default waits longer).
            config.session.not_found_delay = Duration::from_secs(1);
        },
    );
    let mut task = uploader
        .start(job)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    crate::upload::progress::follow(&mut task, progress, None).await;
    Ok(task.finish().await.map(|summary| summary.stats))
}

/// A WOPI upload of `source` to `emulator`'s WOPI host, in ranges of `range` bytes.
async fn wopi_upload(
    emulator: &EmulatorHandle,
    source: Arc<dyn Source>,
    seed: u64,
    range: FragmentSizing,
    progress: &mut Progress,
) -> Result<Result<UploadStats, UploadFailure>, CliError> {
    let uploader = Uploader::new()
        .map_err(|e| CliError::Invalid(format!("cannot build the HTTP client: {e}")))?;
    let url = format!(
        "{}?access_token=demo-token",
        emulator.wopi_file_url("sample.bin")
    );
    let job = WopiJob::shared(source, url).configure(|config| {
        config.seed = seed;
        config.range_size = range;
    });
    let mut task = uploader
        .start_wopi(job)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    // The bar counts the framed stream, as the host's offsets do.
    progress.set_total(task.progress_total());
    crate::upload::progress::follow(&mut task, progress, None).await;
    Ok(task.finish().await.map(|summary| summary.stats))
}

/// A tus 1.0 upload of `source` to `emulator`'s tus endpoint, in requests of `chunk` bytes,
/// each checked by the server's CRC-32.
async fn tus_upload(
    emulator: &EmulatorHandle,
    source: Arc<dyn Source>,
    seed: u64,
    chunk: FragmentSizing,
    progress: &mut Progress,
) -> Result<Result<UploadStats, UploadFailure>, CliError> {
    let uploader = Uploader::new()
        .map_err(|e| CliError::Invalid(format!("cannot build the HTTP client: {e}")))?;
    let job = TusJob::shared(source, TusVariant::Tus1, emulator.tus_endpoint())
        .metadata("filename", "sample.bin")
        .configure(|config| {
            config.seed = seed;
            config.chunk_size = chunk.largest();
        });
    let mut task = uploader
        .start_tus(job)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    crate::upload::progress::follow(&mut task, progress, None).await;
    Ok(task.finish().await.map(|summary| summary.stats))
}

/// A line on standard error (the bars live there too).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Faults by name, summed over the reports.
pub(crate) fn faults_met(reports: &[VariantReport]) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for report in reports {
        for (name, count) in &report.faults {
            *all.entry(name.clone()).or_default() += count;
        }
    }
    all
}

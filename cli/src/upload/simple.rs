//! Drive items that fit one request go as a simple upload (`PUT …:/content`), as rclone's
//! upload cutoff does: one request instead of a session, a fragment and a status read. The
//! answer names the stored item, which the engine checks against the file (size and hashes)
//! as it checks a session's end.

use resumable_core::graph::{ConflictBehavior, content_url_for_session};
use resumable_core::secret::Secret;
use resumable_reqwest::source::{FileSource, Source};
use resumable_reqwest::{SimpleJob, SimpleTask};

use super::console::Console;
use super::{
    Completed, ConflictArg, ProtocolArg, UploadArgs, embedded, file_name, no_token, progress,
    report,
};
use crate::error::CliError;

/// The largest simple upload the service takes (Graph: 250 MB).
pub(super) const MAX_CUTOFF: u64 = 250_000_000;

/// Whether the upload goes as one `PUT`: a drive item no larger than `--upload-cutoff`, new
/// (no session to continue, no checkpoint to resume, no separate commit), to an item the
/// `createUploadSession` URL names by path.
pub(super) fn applies(args: &UploadArgs, size: u64) -> bool {
    args.protocol == ProtocolArg::Drive
        && args.upload_cutoff > 0
        && size <= args.upload_cutoff
        && args.upload_url.is_none()
        && !args.defer_commit
        && !args.checkpoint.as_ref().is_some_and(|path| path.exists())
        && args
            .endpoint
            .as_deref()
            .is_none_or(|endpoint| content_url_for_session(endpoint).is_some())
}

/// Uploads the file with one `PUT` and reports it.
pub(super) async fn upload(
    args: UploadArgs,
    source: FileSource,
    console: &Console,
) -> Result<Result<(), CliError>, CliError> {
    let name = file_name(&args.file);
    let total = source.len();
    let (content_url, token, emulator) = match &args.endpoint {
        Some(endpoint) => {
            let url = content_url_for_session(endpoint)
                .ok_or_else(|| CliError::Invalid("the --endpoint names no item by path".into()))?;
            let token = args.token.clone().map(Secret::new).ok_or_else(no_token)?;
            (url, token, None)
        }
        None => {
            if args.checkpoint.is_some() {
                return Err(super::checkpoint_needs_a_service());
            }
            let path = args.name.as_deref().unwrap_or(&name);
            let emulator = embedded::Embedded::start(ProtocolArg::Drive, path).await?;
            if !console.in_batch() {
                console.note(&format!(
                    "no --endpoint given: uploading to an emulator on {} for this command",
                    emulator.base_url()
                ));
            }
            let url = emulator.content_url(path);
            (url, Secret::new("embedded-emulator"), Some(emulator))
        }
    };
    // Without --conflict, what a session does by default: refuse a taken name (a `PUT`'s own
    // default would replace the file there without a word).
    let conflict = match args.conflict {
        None | Some(ConflictArg::Fail) => ConflictBehavior::Fail,
        Some(ConflictArg::Replace) => ConflictBehavior::Replace,
        Some(ConflictArg::Rename) => ConflictBehavior::Rename,
    };
    let job = SimpleJob::new(source, content_url)
        .on_conflict(conflict)
        .configure(|config| {
            config.retry.max_attempts = args.retries;
            config.cutoff = args.upload_cutoff.max(total);
        });
    let uploader = super::uploader(&args, Some(token))?;
    let mut progress = console.progress(&name, total);
    let task = uploader
        .start_simple(job)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let resumption = task.resumption().clone();
    // Nothing to stop and resume: Ctrl-C cancels the request, and the next run sends the file
    // again (a file stored meanwhile is recognised by its hashes).
    let mut task = task;
    let interrupt = |task: &SimpleTask| {
        task.cancel();
        "cancelling the request (a file this small is sent again whole)"
    };
    progress::follow(&mut task, &mut progress, Some(&interrupt)).await;
    let result = task
        .finish()
        .await
        .map(|summary| summary.map_completion(Completed::Graph));
    // No checkpoint was kept whatever the options said.
    let mut args = args;
    args.checkpoint = None;
    report(
        &args,
        &result,
        emulator.as_ref(),
        &resumption,
        &mut progress,
        console,
    )
}

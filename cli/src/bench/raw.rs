//! The baseline: the plainest client there is, run as a process of its own
//! (`resumable bench-raw`, hidden) so it is measured the same way as `resumable upload`.
//!
//! It creates one upload (a Graph upload session, or a tus upload), then sends the file in
//! fragments one after another: read a fragment into a buffer, `PUT` (or `PATCH`) it, check the
//! status, next. No checkpoint, no retry, no hash, no check of what the service stored: what a
//! few lines of reqwest do, and the most any client can get from the link.

use std::path::PathBuf;

use clap::Args;
use resumable_reqwest::source::{FileSource, Source};

use crate::error::CliError;
use crate::size::parse_size;

/// The protocols the baseline speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RawProtocol {
    /// A Graph upload session: `POST createUploadSession`, then `PUT` with `Content-Range`.
    Graph,
    /// tus 1.0: `POST` with `Upload-Length`, then `PATCH` with `Upload-Offset`.
    Tus,
}

/// `resumable bench-raw` options (the baseline process `resumable bench` starts).
#[derive(Debug, Args)]
pub(crate) struct RawArgs {
    /// The file to send.
    file: PathBuf,
    /// Where to create the upload: a createUploadSession URL, or a tus creation URL.
    #[arg(long)]
    endpoint: String,
    /// Which protocol.
    #[arg(long, value_enum)]
    protocol: RawProtocol,
    /// Fragment size.
    #[arg(long, value_parser = parse_size)]
    chunk_size: u64,
    /// The bearer token for the creation.
    #[arg(
        long,
        env = "RESUMABLE_TOKEN",
        hide_env_values = true,
        default_value = "bench"
    )]
    token: String,
}

/// Sends the file; fails on the first status that is not a success.
pub(crate) fn run(args: RawArgs) -> Result<(), CliError> {
    crate::runtime::block_on(send(args))
}

async fn send(args: RawArgs) -> Result<(), CliError> {
    // reqwest's errors name the URL, and an upload URL carries its credential: errors are
    // shown without it.
    let fail = |what: &str, e: &dyn std::fmt::Display| CliError::Invalid(format!("{what}: {e}"));
    let source = FileSource::open(&args.file).map_err(|e| fail("cannot open the file", &e))?;
    let total = source.len();
    let client = reqwest::Client::new();
    let url = match args.protocol {
        RawProtocol::Graph => {
            let created = client
                .post(&args.endpoint)
                .bearer_auth(&args.token)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"item":{{"@microsoft.graph.conflictBehavior":"replace","fileSize":{total}}}}}"#
                ))
                .send()
                .await
                .map_err(|e| fail("create", &e.without_url()))?;
            let status = created.status();
            let body = created
                .text()
                .await
                .map_err(|e| fail("create", &e.without_url()))?;
            let session: serde_json::Value = serde_json::from_str(&body)
                .map_err(|_| fail("create", &format!("status {status}, not a session")))?;
            session["uploadUrl"]
                .as_str()
                .ok_or_else(|| fail("create", &format!("status {status}, no uploadUrl")))?
                .to_owned()
        }
        RawProtocol::Tus => {
            let created = client
                .post(&args.endpoint)
                .header("tus-resumable", "1.0.0")
                .header("upload-length", total.to_string())
                .send()
                .await
                .map_err(|e| fail("create", &e.without_url()))?;
            let location = created
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| fail("create", &format!("status {}", created.status())))?;
            reqwest::Url::parse(&args.endpoint)
                .and_then(|base| base.join(location))
                .map_err(|e| fail("create", &e))?
                .to_string()
        }
    };
    let mut offset = 0;
    while offset < total {
        let len = args.chunk_size.min(total - offset);
        let mut buf = vec![0u8; usize::try_from(len).map_err(|e| fail("chunk size", &e))?];
        source
            .read_exact_at(offset, &mut buf)
            .map_err(|e| fail("read", &e))?;
        let request = match args.protocol {
            RawProtocol::Graph => client.put(&url).header(
                "content-range",
                format!("bytes {offset}-{}/{total}", offset + len - 1),
            ),
            RawProtocol::Tus => client
                .patch(&url)
                .header("tus-resumable", "1.0.0")
                .header("upload-offset", offset.to_string())
                .header("content-type", "application/offset+octet-stream"),
        };
        let answer = request
            .body(buf)
            .send()
            .await
            .map_err(|e| fail("send", &e.without_url()))?;
        let status = answer.status();
        answer
            .bytes()
            .await
            .map_err(|e| fail("answer", &e.without_url()))?;
        if !status.is_success() {
            return Err(fail(
                "send",
                &format!("bytes {offset}+{len} answered {status}"),
            ));
        }
        offset += len;
    }
    Ok(())
}

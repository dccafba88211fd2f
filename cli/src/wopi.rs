//! `resumable wopi ...`: ChunkIds, and encoding and decoding WOPI frame streams.
//!
//! Files are read in fixed-size pieces, whatever their size: memory stays flat.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use resumable_core::wopi::{ChunkId, spooky::SpookyHasher};

use crate::error::CliError;

mod decode;
mod encode;

/// Size of the pieces files are read in.
const READ_BUFFER: usize = 1 << 20;

/// The `wopi` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum WopiCommand {
    /// Print each file's ChunkId (SpookyHash V2, base64) and length.
    ChunkId {
        /// Files to hash.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a framed body to standard output, each file one chunk (the FullFile scheme).
    Encode(EncodeArgs),
    /// List the frames of a body and check it; exits non-zero on a malformed one.
    Decode {
        /// The body to read.
        file: PathBuf,
        /// Which body the file holds (by default: a PutChunkedFile body if it begins with
        /// MessageJSON, else an upload-session stream).
        #[arg(long, value_enum)]
        kind: Option<BodyArg>,
    },
}

/// What `encode` writes.
#[derive(Debug, Args)]
#[group(skip)]
#[command(group = clap::ArgGroup::new("format")
    .required(true)
    .multiple(false)
    .args(["session_stream", "put_chunked_file"]))]
pub(crate) struct EncodeArgs {
    /// An upload-session binary stream: one Chunk frame per file.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    session_stream: Vec<PathBuf>,
    /// A PutChunkedFile body: the first file is MainContent, the others are alternate streams
    /// named after their file names.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    put_chunked_file: Vec<PathBuf>,
    /// With --put-chunked-file: commit this upload session (its stream holds the chunks, so
    /// the body carries none).
    #[arg(long, requires = "put_chunked_file")]
    session_token: Option<String>,
}

/// The body kinds `decode` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum BodyArg {
    /// MessageJSON, Chunk frames, EndFrame.
    PutChunkedFile,
    /// Chunk frames only.
    SessionStream,
    /// Any valid frames in any order.
    Any,
}

/// Runs a `wopi` subcommand.
pub(crate) fn run(command: WopiCommand) -> Result<(), CliError> {
    match command {
        WopiCommand::ChunkId { files } => chunk_ids(&files),
        WopiCommand::Encode(args) if !args.session_stream.is_empty() => {
            encode::session_stream(&args.session_stream)
        }
        WopiCommand::Encode(args) => {
            encode::put_chunked_file(&args.put_chunked_file, args.session_token)
        }
        WopiCommand::Decode { file, kind } => decode::run(&file, kind),
    }
}

fn chunk_ids(files: &[PathBuf]) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut out = io::stdout().lock();
    for path in files {
        let (id, len) = chunk_id_of_file(path)?;
        writeln!(out, "{id}  {len:>12}  {}", path.display()).map_err(CliError::output)?;
    }
    Ok(())
}

/// Hashes a file in pieces: its ChunkId and length.
pub(crate) fn chunk_id_of_file(path: &Path) -> Result<(ChunkId, u64), CliError> {
    let mut file = File::open(path).map_err(CliError::file(path))?;
    let mut hasher = SpookyHasher::default();
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CliError::file(path)(e)),
        };
        hasher.update(&buffer[..n]);
    }
    Ok((ChunkId::of_hasher(&hasher), hasher.len()))
}

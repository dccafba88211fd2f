//! `resumable wopi encode`: frame files into an upload-session stream or a PutChunkedFile body.
//!
//! The bodies are built the way the upload engine builds them: the core describes them as
//! segments (frame prefixes inline, chunk bytes as ranges of the source), and this module copies
//! each source range from the files to standard output in fixed-size pieces. The source is the
//! files one after another.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use resumable_core::http::Segment;
use resumable_core::range::ByteRange;
use resumable_core::secret::Secret;
use resumable_core::wopi::{
    MAIN_CONTENT, PutChunkedFileMessage, StreamChunk, StreamSignature, UploadStream,
    put_chunked_file_body,
};

use super::{READ_BUFFER, chunk_id_of_file};
use crate::error::CliError;

/// The files, one after another, as one source.
struct ConcatSource {
    /// Each file and where it starts in the source.
    files: Vec<(PathBuf, u64)>,
    buffer: Vec<u8>,
}

impl ConcatSource {
    /// Hashes every file: the source and one FullFile chunk per file (empty files have none).
    fn hash(paths: &[PathBuf]) -> Result<(ConcatSource, Vec<Option<StreamChunk>>), CliError> {
        let mut files = Vec::new();
        let mut chunks = Vec::new();
        let mut offset = 0u64;
        for path in paths {
            let (id, len) = chunk_id_of_file(path)?;
            files.push((path.clone(), offset));
            chunks.push((len > 0).then_some(StreamChunk {
                id,
                source_offset: offset,
                len,
            }));
            offset += len;
        }
        let buffer = vec![0u8; READ_BUFFER];
        Ok((ConcatSource { files, buffer }, chunks))
    }

    /// Copies `range` of the source to `out`. Chunks never span files, so a range lies in one.
    fn copy(&mut self, range: ByteRange, out: &mut impl Write) -> Result<(), CliError> {
        let index = self
            .files
            .partition_point(|(_, start)| *start <= range.start())
            - 1;
        let (path, start) = &self.files[index];
        let mut file = File::open(path).map_err(CliError::file(path))?;
        file.seek(SeekFrom::Start(range.start() - start))
            .map_err(CliError::file(path))?;
        let mut left = range.len();
        while left > 0 {
            let want = left.min(self.buffer.len() as u64) as usize;
            let n = match file.read(&mut self.buffer[..want]) {
                Ok(0) => return Err(changed(path)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CliError::file(path)(e)),
            };
            out.write_all(&self.buffer[..n]).map_err(CliError::output)?;
            left -= n as u64;
        }
        Ok(())
    }

    fn write_segments(&mut self, segments: &[Segment]) -> Result<(), CliError> {
        let mut out = io::BufWriter::with_capacity(READ_BUFFER, io::stdout().lock());
        for segment in segments {
            match segment {
                Segment::Inline(bytes) => out.write_all(bytes).map_err(CliError::output)?,
                Segment::Source(range) => self.copy(*range, &mut out)?,
            }
        }
        out.flush().map_err(CliError::output)
    }
}

fn changed(path: &Path) -> CliError {
    CliError::Invalid(format!(
        "{}: the file shrank while it was being encoded",
        path.display()
    ))
}

/// Writes the upload-session stream of `paths` (one Chunk frame per non-empty file).
pub(super) fn session_stream(paths: &[PathBuf]) -> Result<(), CliError> {
    let (mut source, chunks) = ConcatSource::hash(paths)?;
    let stream = UploadStream::from_chunks(chunks.into_iter().flatten())
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let Some(whole) = ByteRange::new(0, stream.len()) else {
        return Ok(()); // only empty files: an empty stream
    };
    let segments = stream
        .segments(whole)
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    source.write_segments(&segments)
}

/// Writes a PutChunkedFile body: MainContent from the first file, alternate streams from the
/// others; chunks inline unless a session token says the session holds them.
pub(super) fn put_chunked_file(
    paths: &[PathBuf],
    session_token: Option<String>,
) -> Result<(), CliError> {
    let (mut source, chunks) = ConcatSource::hash(paths)?;
    let mut signatures = Vec::new();
    for (index, (path, chunk)) in paths.iter().zip(&chunks).enumerate() {
        let stream_id = if index == 0 {
            MAIN_CONTENT.to_string()
        } else {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("Stream{index}"))
        };
        signatures.push(match chunk {
            Some(c) => StreamSignature::full_file(stream_id, c.id, c.len),
            None => StreamSignature::full_file(stream_id, Default::default(), 0),
        });
    }
    let mut message = PutChunkedFileMessage::new(signatures);
    let inline: Vec<StreamChunk> = match session_token {
        Some(token) => {
            message = message.with_session_token(Secret::new(token));
            Vec::new()
        }
        None => chunks.into_iter().flatten().collect(),
    };
    let segments =
        put_chunked_file_body(&message, &inline).map_err(|e| CliError::Invalid(e.to_string()))?;
    source.write_segments(&segments)
}

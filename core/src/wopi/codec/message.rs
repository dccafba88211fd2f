//! The `MessageJSON` of a `PutChunkedFile` request: content properties, the file signature of
//! each stream, and the upload session to commit.
//!
//! Property names are PascalCase on the wire (`ContentProperties`, `StreamId`, ...). The session
//! token is a [`Secret`]: it serialises in full (the host needs it) but never prints.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::chunk_id::ChunkId;
use crate::secret::Secret;

/// The name of the stream every `PutChunkedFile` must carry: the document itself.
pub const MAIN_CONTENT: &str = "MainContent";

/// The `MessageJSON` of a `PutChunkedFile` request.
///
/// ```
/// use resumable_core::secret::Secret;
/// use resumable_core::wopi::{ChunkId, PutChunkedFileMessage, StreamSignature};
/// let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file(
///     "MainContent", ChunkId::of(b"SomeRandomText"), 14)])
///     .with_session_token(Secret::new("session-7"));
/// assert_eq!(
///     serde_json::to_string(&message).unwrap(),
///     r#"{"ContentProperties":[],"Signatures":[{"StreamId":"MainContent","ChunkingScheme":"FullFile","ChunkSignatures":[{"ChunkId":"pBw0Ufss5SPFsfoEWGi2+w==","Length":14}]}],"UploadSessionTokenToCommit":"session-7"}"#
/// );
/// assert!(!format!("{message:?}").contains("session-7"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutChunkedFileMessage {
    /// Content properties to store with the file.
    #[serde(default)]
    pub content_properties: Vec<ContentProperty>,
    /// The file signature of each stream; `MainContent` must be one of them.
    pub signatures: Vec<StreamSignature>,
    /// The upload session whose stream the host reads as if it were inline.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_token",
        deserialize_with = "deserialize_token"
    )]
    pub upload_session_token_to_commit: Option<Secret>,
}

impl PutChunkedFileMessage {
    /// A message with these signatures, no content properties and no session.
    pub fn new(signatures: Vec<StreamSignature>) -> Self {
        PutChunkedFileMessage {
            content_properties: Vec::new(),
            signatures,
            upload_session_token_to_commit: None,
        }
    }

    /// Names the upload session to commit.
    pub fn with_session_token(mut self, token: Secret) -> Self {
        self.upload_session_token_to_commit = Some(token);
        self
    }

    /// The `MainContent` stream's signature, if present.
    pub fn main_content(&self) -> Option<&StreamSignature> {
        self.signatures.iter().find(|s| s.stream_id == MAIN_CONTENT)
    }
}

/// A content property (`Name`, `Value`, `ContentPropertyRetention`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContentProperty {
    /// Whether the property survives a content change by other means.
    pub content_property_retention: Retention,
    /// The property name (at most 256 characters).
    pub name: String,
    /// The property value (at most 1 KB).
    pub value: String,
}

/// Whether a content property survives a content change made by other means than
/// `PutChunkedFile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Retention {
    /// Kept.
    KeepOnContentChange,
    /// Deleted.
    DeleteOnContentChange,
}

/// How a stream is cut into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChunkingScheme {
    /// The whole stream is one chunk (an empty stream is zero chunks).
    FullFile,
    /// A zip archive cut along its entries.
    Zip,
}

/// One stream's file signature: its chunks, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSignature {
    /// The stream's name (`MainContent` or an alternate stream's).
    pub stream_id: String,
    /// How it is chunked.
    pub chunking_scheme: ChunkingScheme,
    /// Its chunks, in order.
    pub chunk_signatures: Vec<ChunkSignature>,
}

impl StreamSignature {
    /// The `FullFile` signature of a stream of `len` bytes whose ChunkId is `id`: one chunk, or
    /// none for an empty stream.
    ///
    /// ```
    /// use resumable_core::wopi::{ChunkId, StreamSignature};
    /// assert_eq!(StreamSignature::full_file("MainContent", ChunkId::of(b"abc"), 3).chunk_signatures.len(), 1);
    /// assert!(StreamSignature::full_file("MainContent", ChunkId::of(b""), 0).chunk_signatures.is_empty());
    /// ```
    pub fn full_file(stream_id: impl Into<String>, id: ChunkId, len: u64) -> Self {
        let mut chunk_signatures = Vec::new();
        if len > 0 {
            chunk_signatures.push(ChunkSignature {
                chunk_id: id,
                length: len,
            });
        }
        StreamSignature {
            stream_id: stream_id.into(),
            chunking_scheme: ChunkingScheme::FullFile,
            chunk_signatures,
        }
    }

    /// The stream's length: the sum of its chunks' lengths (saturating).
    pub fn len(&self) -> u64 {
        self.chunk_signatures
            .iter()
            .fold(0u64, |sum, c| sum.saturating_add(c.length))
    }

    /// Whether the stream has no chunks.
    pub fn is_empty(&self) -> bool {
        self.chunk_signatures.is_empty()
    }
}

/// One chunk in a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChunkSignature {
    /// The chunk's ChunkId.
    pub chunk_id: ChunkId,
    /// The chunk's length in bytes.
    pub length: u64,
}

// The token must reach the host in full; `Secret` only refuses to *print* it.
fn serialize_token<S: serde::Serializer>(
    token: &Option<Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match token {
        Some(token) => serializer.serialize_str(token.expose()),
        None => serializer.serialize_none(),
    }
}

fn deserialize_token<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(Secret::new))
}

#[cfg(test)]
mod tests;

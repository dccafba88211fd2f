//! How a tus or IETF draft upload is made: which protocol, where, how large, with what
//! metadata, in what pieces, with which checksum, how persistent.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::digest::DigestAlgorithm;
use crate::retry::RetryPolicy;
use crate::secret::SecretUrl;
use crate::time::Duration;
use crate::wire::tus_headers::is_metadata_key;

/// Which protocol the server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// tus 1.0.0: `OPTIONS` discovery, `POST` creation, `PATCH` with
    /// `application/offset+octet-stream`, completion at offset == length.
    Tus1,
    /// The IETF "Resumable Uploads for HTTP" draft at one interop version: creation with
    /// `Upload-Complete`, `PATCH` with `application/partial-upload`, `Upload-Limit`.
    Ietf(InteropVersion),
}

impl Variant {
    /// The IETF draft at its current interop version.
    pub const IETF_CURRENT: Variant = Variant::Ietf(InteropVersion::V8);
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variant::Tus1 => f.write_str("tus 1.0.0"),
            Variant::Ietf(version) => write!(
                f,
                "IETF resumable upload (interop version {})",
                version.number()
            ),
        }
    }
}

/// The IETF draft's interop versions this client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InteropVersion {
    /// Version 6 (drafts -04 and -05): what tusd and tus-js-client speak.
    V6,
    /// Version 8 (drafts -09 and later): the current one.
    V8,
}

impl InteropVersion {
    /// The number sent in `Upload-Draft-Interop-Version`.
    pub const fn number(self) -> u8 {
        match self {
            InteropVersion::V6 => 6,
            InteropVersion::V8 => 8,
        }
    }

    /// The version numbered `number`, if this client speaks it.
    pub const fn from_number(number: u8) -> Option<Self> {
        match number {
            6 => Some(InteropVersion::V6),
            8 => Some(InteropVersion::V8),
            _ => None,
        }
    }
}

/// Whether to send a checksum with each request's bytes (tus only: the draft has none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumPolicy {
    /// Use the cheapest algorithm the server offers (CRC-32, else SHA-1), none if it offers
    /// none.
    #[default]
    Auto,
    /// Send none.
    Off,
    /// Use this algorithm; fail before sending any byte if the server does not offer it.
    Require(DigestAlgorithm),
}

/// What makes a tus or IETF draft upload.
#[derive(Clone, Serialize, Deserialize)]
pub struct TusConfig {
    /// The protocol.
    pub variant: Variant,
    /// The creation URL (tus: the endpoint `POST` goes to, `OPTIONS` too).
    pub endpoint: SecretUrl,
    /// The source's size; `None` when it is not known yet (tus `Upload-Defer-Length`; the
    /// transport tells the machine as the source grows and when it ends).
    pub total: Option<u64>,
    /// `Upload-Metadata` pairs (tus): keys ASCII without spaces or commas, values any UTF-8.
    pub metadata: Vec<(String, String)>,
    /// The most bytes one request carries. tus lets a client send everything in one `PATCH`;
    /// smaller requests bound what a failure costs, give checksums something to cover and
    /// checkpoints something to record.
    pub chunk_size: u64,
    /// Whether each request's bytes carry a checksum.
    pub checksum: ChecksumPolicy,
    /// Whether the creation `POST` carries the first bytes when the server offers
    /// `creation-with-upload` (one request fewer; a small file goes in one).
    pub creation_with_upload: bool,
    /// Retries, backoff and stall limits.
    pub retry: RetryPolicy,
    /// New uploads allowed after the server lost one (`404`, `410`, `403`, expiry).
    pub max_new_uploads: u32,
    /// How long before `Upload-Expires` an upload counts as gone.
    pub expiry_margin: Duration,
    /// Seeds the backoff's jitter.
    pub seed: u64,
}

impl fmt::Debug for TusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TusConfig")
            .field("variant", &self.variant)
            .field("endpoint", &self.endpoint)
            .field("total", &self.total)
            .field("metadata_keys", &self.metadata.len())
            .field("chunk_size", &self.chunk_size)
            .field("checksum", &self.checksum)
            .field("creation_with_upload", &self.creation_with_upload)
            .field("retry", &self.retry)
            .field("max_new_uploads", &self.max_new_uploads)
            .finish_non_exhaustive()
    }
}

/// The default request size: 8 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 << 20;

/// The smallest request size a `413` may bring a request down to.
pub const MIN_CHUNK_SIZE: u64 = 64 << 10;

impl TusConfig {
    /// An upload of `total` bytes (`None`: not known yet) to `endpoint` in `variant`, with the
    /// defaults: 8 MiB requests, checksums when offered, creation-with-upload when offered, 2 new
    /// uploads after a loss.
    ///
    /// ```
    /// use resumable_core::tus::{TusConfig, Variant};
    /// let config = TusConfig::new(Variant::Tus1, "https://tus.example/files/", Some(10));
    /// assert!(config.validate().is_ok());
    /// assert!(!format!("{config:?}").contains("tus.example/files"));
    /// ```
    pub fn new(variant: Variant, endpoint: impl Into<String>, total: Option<u64>) -> Self {
        TusConfig {
            variant,
            endpoint: SecretUrl::new(endpoint),
            total,
            metadata: Vec::new(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            checksum: ChecksumPolicy::Auto,
            creation_with_upload: true,
            retry: RetryPolicy::default(),
            max_new_uploads: 2,
            expiry_margin: Duration::from_secs(60),
            seed: 0x7475_7331,
        }
    }

    /// Checks what can be checked before any request.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let endpoint = self.endpoint.expose();
        let lower = endpoint.get(..8).unwrap_or(endpoint).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(ConfigError::Endpoint);
        }
        if self.chunk_size == 0 {
            return Err(ConfigError::ChunkSize);
        }
        for (i, (key, _)) in self.metadata.iter().enumerate() {
            if !is_metadata_key(key) {
                return Err(ConfigError::MetadataKey { key: key.clone() });
            }
            if self.metadata[..i].iter().any(|(other, _)| other == key) {
                return Err(ConfigError::DuplicateMetadataKey { key: key.clone() });
            }
        }
        Ok(())
    }
}

/// A configuration that cannot make an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The endpoint is not an `http(s)` URL.
    Endpoint,
    /// The request size is zero.
    ChunkSize,
    /// A metadata key is empty, not ASCII, or holds a space or a comma.
    MetadataKey {
        /// The key.
        key: String,
    },
    /// A metadata key is given twice.
    DuplicateMetadataKey {
        /// The key.
        key: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Endpoint => f.write_str("the endpoint must be an http:// or https:// URL"),
            ConfigError::ChunkSize => f.write_str("the request size must be at least 1 byte"),
            ConfigError::MetadataKey { key } => write!(
                f,
                "metadata key {key:?} is not usable: keys are non-empty ASCII without spaces or commas"
            ),
            ConfigError::DuplicateMetadataKey { key } => {
                write!(f, "metadata key {key:?} is given twice")
            }
        }
    }
}

impl core::error::Error for ConfigError {}

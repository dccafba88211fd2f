//! What to upload to a WOPI host and how: the streams and their chunks, the commit's sequence
//! number and lock, range sizes, retries, the session's lifetime and what to do on a `412`.
//!
//! A configuration is part of every [`WopiCheckpoint`](super::WopiCheckpoint), so it is
//! serialisable and holds no clock readings. The lock values are [`Secret`]s: they print
//! redacted, and serialise in full because a resumed commit needs them.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::chunk::FragmentSizing;
use crate::chunk::{ChunkPlanner, FragmentRule};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::time::Duration;
use crate::wopi::{ChunkId, ContentProperty, MAIN_CONTENT};

use super::error::ConfigError;
use super::file_streams::WopiStream;

/// What the engine does when a commit answers `412` (the host's `X-WOPI-SequenceNumber` differs
/// from the one sent: the file changed since the caller read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SequenceConflictPolicy {
    /// Stop with [`WopiError::SequenceMismatch`](super::WopiError::SequenceMismatch), which
    /// carries the host's number.
    Fail,
    /// Report [`WopiEvent::SequenceConflict`](super::WopiEvent::SequenceConflict) and wait in
    /// [`WopiState::SequenceConflict`](super::WopiState::SequenceConflict) for
    /// [`WopiUpload::commit_with_sequence_number`](super::WopiUpload::commit_with_sequence_number)
    /// or [`WopiUpload::cancel`](super::WopiUpload::cancel). The session is kept alive meanwhile
    /// when [`WopiConfig::keep_alive`] allows.
    Ask,
    /// Commit again with the host's number, at most `max` times per upload. This overwrites
    /// whatever version the host holds: allow it only when that is wanted.
    Adopt {
        /// How many times the host's number may be adopted.
        max: u32,
    },
}

/// Everything a [`WopiUpload`](super::WopiUpload) needs besides the endpoint URL.
///
/// ```
/// use resumable_core::wopi::{WopiConfig, ConfigError, WopiStream};
/// use resumable_core::secret::Secret;
/// use resumable_core::wopi::ChunkId;
///
/// let file = b"hello world";
/// let mut config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(file), 11)]);
/// config.sequence_number = 7;
/// config.lock = Some(Secret::new("lock-1"));
/// assert!(config.validate().is_ok());
/// config.coauth_lock_id = Some(Secret::new("coauth-1"));
/// assert_eq!(config.validate(), Err(ConfigError::LockAndCoauthLock));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WopiConfig {
    /// The file's streams; one must be `MainContent`.
    pub streams: Vec<WopiStream>,
    /// Chunks the host holds already (those of the version it served, from its chunk list):
    /// they are neither uploaded nor sent inline. Empty by default.
    pub host_chunks: Vec<ChunkId>,
    /// `ContentProperties` for the commit's `MessageJSON`.
    pub content_properties: Vec<ContentProperty>,
    /// `X-WOPI-SequenceNumber` of the commit: the number of the version the caller read. Above
    /// 0. Default 1.
    pub sequence_number: u64,
    /// `X-WOPI-Lock` on the commit. Never together with `coauth_lock_id`.
    pub lock: Option<Secret>,
    /// `X-WOPI-CoauthLockId` on the commit. Never together with `lock`.
    pub coauth_lock_id: Option<Secret>,
    /// The size of each `UpdateUploadSession` range of the framed stream. Default 8 MiB.
    pub range_size: FragmentSizing,
    /// The length of the smallest update the engine sends: the probe after an unclear outcome
    /// (see the module documentation) and a keep-alive. Default 1 byte.
    pub probe_len: u64,
    /// Backoff and retry budget.
    pub retry: RetryPolicy,
    /// How long a session lives after its last successful update (WOPI: 30 minutes). Lower it
    /// for a host on a scaled clock.
    pub session_lifetime: Duration,
    /// How long before the session's expiry the engine acts (keep-alive or warning) when it is
    /// idle. At most a quarter of the lifetime is used. Default 5 minutes.
    pub expiry_margin: Duration,
    /// The most sessions one upload may create (the first included). Default 3.
    pub max_sessions: u32,
    /// Whether an idle session (the caller paused, or a `412` waits for the caller) is kept
    /// alive with a minimal update before it expires. Default on. Off, the engine warns
    /// instead ([`WopiEvent::ExpiryWarning`](super::WopiEvent::ExpiryWarning)).
    pub keep_alive: bool,
    /// What a `412` on the commit leads to. Default [`SequenceConflictPolicy::Fail`].
    pub on_sequence_conflict: SequenceConflictPolicy,
    /// Whether a host that answers `501` to `CreateUploadSession` gets one `PutChunkedFile`
    /// with every chunk inline instead. Default on.
    pub fallback_on_501: bool,
    /// Seeds the retry jitter, so a run can be replayed exactly.
    pub seed: u64,
}

impl WopiConfig {
    /// The default range size: 8 MiB.
    pub const DEFAULT_RANGE_SIZE: u64 = 8 * 1024 * 1024;

    /// The default lifetime of a session after its last update: 30 minutes.
    pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(30 * 60);

    /// A configuration for `streams` with the defaults.
    pub fn new(streams: Vec<WopiStream>) -> Self {
        WopiConfig {
            streams,
            host_chunks: Vec::new(),
            content_properties: Vec::new(),
            sequence_number: 1,
            lock: None,
            coauth_lock_id: None,
            range_size: FragmentSizing::Fixed(Self::DEFAULT_RANGE_SIZE),
            probe_len: 1,
            retry: RetryPolicy::default(),
            session_lifetime: Self::DEFAULT_SESSION_LIFETIME,
            expiry_margin: Duration::from_secs(5 * 60),
            max_sessions: 3,
            keep_alive: true,
            on_sequence_conflict: SequenceConflictPolicy::Fail,
            fallback_on_501: true,
            seed: 0,
        }
    }

    /// Checks what can be checked before any request.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.lock.is_some() && self.coauth_lock_id.is_some() {
            return Err(ConfigError::LockAndCoauthLock);
        }
        if self.sequence_number == 0 {
            return Err(ConfigError::ZeroSequenceNumber);
        }
        if !self.streams.iter().any(|s| s.stream_id == MAIN_CONTENT) {
            return Err(ConfigError::NoMainContent);
        }
        for (index, stream) in self.streams.iter().enumerate() {
            stream.validate()?;
            if self.streams[..index]
                .iter()
                .any(|s| s.stream_id == stream.stream_id)
            {
                return Err(ConfigError::DuplicateStream(stream.stream_id.clone()));
            }
        }
        self.range_size
            .check(FragmentRule::WOPI_UPLOAD_SESSION)
            .map_err(ConfigError::RangeSize)?;
        if self.probe_len == 0 {
            return Err(ConfigError::ZeroProbe);
        }
        if self.max_sessions == 0 {
            return Err(ConfigError::NoSessions);
        }
        if self.session_lifetime.is_zero() {
            return Err(ConfigError::ZeroLifetime);
        }
        Ok(())
    }

    /// The range planner this configuration asks for.
    pub(crate) fn planner(&self) -> ChunkPlanner {
        self.range_size.planner(FragmentRule::WOPI_UPLOAD_SESSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::FragmentSizeError;

    fn config() -> WopiConfig {
        WopiConfig::new(alloc::vec![WopiStream::main_content(
            ChunkId::of(b"abc"),
            3
        )])
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
    }

    /// Spoils one setting of a valid configuration.
    type Spoil = fn(&mut WopiConfig);

    #[test]
    fn each_invalid_setting_is_named() {
        let cases: [(Spoil, ConfigError); 8] = [
            (|c| c.sequence_number = 0, ConfigError::ZeroSequenceNumber),
            (
                |c| c.streams[0].stream_id = "Other".into(),
                ConfigError::NoMainContent,
            ),
            (
                |c| {
                    let again = c.streams[0].clone();
                    c.streams.push(again);
                },
                ConfigError::DuplicateStream(MAIN_CONTENT.into()),
            ),
            (
                |c| c.range_size = FragmentSizing::Fixed(0),
                ConfigError::RangeSize(FragmentSizeError::Zero),
            ),
            (
                |c| c.range_size = FragmentSizing::Fixed(1 << 40),
                ConfigError::RangeSize(FragmentSizeError::TooLarge {
                    size: 1 << 40,
                    max_len: 64 * 1024 * 1024,
                }),
            ),
            (|c| c.probe_len = 0, ConfigError::ZeroProbe),
            (|c| c.max_sessions = 0, ConfigError::NoSessions),
            (
                |c| c.session_lifetime = Duration::ZERO,
                ConfigError::ZeroLifetime,
            ),
        ];
        for (spoil, expected) in cases {
            let mut config = config();
            spoil(&mut config);
            assert_eq!(config.validate(), Err(expected));
        }
    }

    #[test]
    fn locks_print_redacted() {
        let mut config = config();
        config.lock = Some(Secret::new("lock-value-xyz"));
        assert!(!alloc::format!("{config:?}").contains("lock-value-xyz"));
    }
}

//! How an emulator is set up: address, storage, faults, time scale and the services' limits.
//!
//! Every field has the default the services have (SPEC.md); tests change what they need with the
//! `with_*` methods or by setting the public fields. Names given on a command line (`flaky`,
//! `discard`, `60`) parse with `FromStr`, so a CLI builds the same values.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use resumable_core::secret::Secret;

use crate::clock::TimeScale;
use crate::faults::{FaultProfile, FaultScript};

/// Everything an [`Emulator`](crate::Emulator) needs to start.
///
/// Tokens are [`Secret`]s: `Debug` never prints them.
///
/// ```
/// use resumable_emulator::{EmulatorConfig, FaultProfile, StorageMode};
/// let config = EmulatorConfig::default()
///     .with_faults("flaky".parse().unwrap(), 7)
///     .with_time_scale("60".parse().unwrap())
///     .with_storage(StorageMode::Discard)
///     .with_bearer_token("hunter2");
/// assert_eq!(config.faults.profile, FaultProfile::Flaky);
/// assert_eq!(config.addr.to_string(), "127.0.0.1:0");
/// assert!(!format!("{config:?}").contains("hunter2"));
/// ```
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free port (read it from the handle).
    pub addr: SocketAddr,
    /// Where received bytes go.
    pub storage: StorageMode,
    /// Which faults to inject.
    pub faults: FaultConfig,
    /// How much faster than real time expiries and creation delays run.
    pub time_scale: TimeScale,
    /// The bearer token create requests must carry; `None` accepts any non-empty bearer token.
    pub bearer_token: Option<Secret>,
    /// Fragment and file size limits.
    pub limits: Limits,
    /// Graph upload-session behaviour.
    pub graph: GraphConfig,
    /// Workbook-session behaviour.
    pub workbook: WorkbookConfig,
    /// WOPI host behaviour.
    pub wopi: WopiConfig,
    /// tus 1.0 and IETF draft endpoint behaviour.
    pub tus: TusHostConfig,
    /// The emulated network link: bandwidth and latency.
    pub link: LinkConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: StorageMode::TempDir,
            faults: FaultConfig::default(),
            time_scale: TimeScale::REAL_TIME,
            bearer_token: None,
            limits: Limits::default(),
            graph: GraphConfig::default(),
            workbook: WorkbookConfig::default(),
            wopi: WopiConfig::default(),
            tus: TusHostConfig::default(),
            link: LinkConfig::default(),
        }
    }
}

impl EmulatorConfig {
    /// Listens on `addr`.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Stores received bytes as `storage` says.
    pub fn with_storage(mut self, storage: StorageMode) -> Self {
        self.storage = storage;
        self
    }

    /// Injects faults from `profile`, seeded with `seed` (any script is kept).
    pub fn with_faults(mut self, profile: FaultProfile, seed: u64) -> Self {
        self.faults.profile = profile;
        self.faults.seed = seed;
        self
    }

    /// Injects the faults of `script` at the requests it names, on top of the profile.
    pub fn with_script(mut self, script: FaultScript) -> Self {
        self.faults.script = script;
        self
    }

    /// Runs expiries and creation delays `scale` times faster than real time.
    pub fn with_time_scale(mut self, scale: TimeScale) -> Self {
        self.time_scale = scale;
        self
    }

    /// Requires create requests to carry exactly this bearer token.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Secret::new(token));
        self
    }

    /// Requires WOPI requests to carry exactly this `access_token`.
    pub fn with_wopi_access_token(mut self, token: impl Into<String>) -> Self {
        self.wopi.access_token = Some(Secret::new(token));
        self
    }
}

/// The network between client and emulator, as the emulator makes it look: request bodies
/// arrive no faster than `bandwidth` (all connections together, as on one link), and every
/// answer is held back by `latency` once its request is handled (a round trip per request).
/// Loopback has neither, so by default both are off.
///
/// ```
/// use resumable_emulator::EmulatorConfig;
/// use std::time::Duration;
/// let mut config = EmulatorConfig::default();
/// config.set("bandwidth", "12500000").unwrap(); // 100 Mbit/s
/// config.set("latency", "40ms").unwrap();
/// assert_eq!(config.link.bandwidth, Some(12_500_000));
/// assert_eq!(config.link.latency, Duration::from_millis(40));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkConfig {
    /// Body bytes per second received over all connections; `None`: as fast as they come.
    pub bandwidth: Option<u64>,
    /// How long each answer is held back (the link's round-trip time).
    pub latency: Duration,
}

/// Where received bytes go.
///
/// ```
/// use resumable_emulator::StorageMode;
/// assert_eq!("discard".parse::<StorageMode>().unwrap(), StorageMode::Discard);
/// assert_eq!("temp".parse::<StorageMode>().unwrap(), StorageMode::TempDir);
/// assert_eq!(
///     "dir:/var/tmp/up".parse::<StorageMode>().unwrap(),
///     StorageMode::Directory("/var/tmp/up".into())
/// );
/// assert!("tape".parse::<StorageMode>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum StorageMode {
    /// Files in a fresh temporary directory, deleted when the emulator stops.
    #[default]
    TempDir,
    /// Files in this directory (created if missing), kept after the emulator stops.
    Directory(PathBuf),
    /// Nothing on disk: only each file's size and SHA-256 are kept (for throughput benchmarks).
    Discard,
}

impl FromStr for StorageMode {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text.trim() {
            "temp" | "tempdir" => Ok(StorageMode::TempDir),
            "discard" => Ok(StorageMode::Discard),
            other => match other.strip_prefix("dir:") {
                Some(path) if !path.is_empty() => Ok(StorageMode::Directory(PathBuf::from(path))),
                _ => Err(ConfigError::new(
                    "storage",
                    text,
                    "expected `temp`, `discard` or `dir:PATH`",
                )),
            },
        }
    }
}

/// Which faults to inject: a profile drawn from a seed, plus scripted faults at named requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultConfig {
    /// The random fault mix.
    pub profile: FaultProfile,
    /// The seed of the fault plan: the same seed and request sequence give the same faults.
    pub seed: u64,
    /// Faults at exact requests; they take the place of whatever the profile would inject there.
    pub script: FaultScript,
}

/// Size limits of the services (SPEC 1.1–1.3). The defaults are the services' own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Drive items: every fragment but the last is a multiple of this, or ends on a multiple of
    /// it counted from the start of the file.
    pub drive_alignment: u64,
    /// Drive items: each request is *under* this many bytes (60 MiB).
    pub drive_request_limit: u64,
    /// Print documents: each request is *under* this many bytes (10 MB = 10 000 000).
    pub print_request_limit: u64,
    /// Print documents: at most this many fragment requests in flight on one session.
    pub print_concurrency: u32,
    /// Mail attachments: each request is *at most* this many bytes. "4 MB" is read as
    /// 4 000 000 bytes, the stricter of its two readings, so a client that passes here is
    /// accepted whichever reading the service uses.
    pub mail_request_max: u64,
    /// Mail attachments: the largest file (SPEC's 150 MB, read as 150 000 000 bytes).
    pub mail_file_max: u64,
    /// Drive items: a `fileSize` above this answers `507 Insufficient Storage`.
    pub drive_quota: u64,
    /// Drive items: the largest file (250 GB, SPEC 1.1). A larger `fileSize`, or a larger total
    /// in the first fragment's `Content-Range`, answers `400`: no quota can make room for it.
    pub drive_file_max: u64,
    /// Drive items: the largest body of a simple upload (`PUT …:/content`), 250 MB as Microsoft
    /// documents it today ("up to 250 MB"), read as 250 000 000 bytes, the stricter reading. A
    /// larger `Content-Length` answers `413` before any byte is read.
    pub simple_upload_max: u64,
    /// Print documents: the largest declared `size` (`400` above it). The service publishes no
    /// figure; 250 GB, the drive's, bounds it so that impossible sizes are refused.
    pub print_file_max: u64,
    /// Gaps tracked per print session (print fragments may come in any order).
    pub print_max_gaps: usize,
    /// The emulator's own limit: live sessions of every kind together (Graph upload, WOPI
    /// upload, workbook). A create beyond it answers `503` with `Retry-After` (the time until
    /// the first live session expires). Expired sessions are swept away periodically, so only
    /// sessions in use count.
    pub max_live_sessions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            drive_alignment: 327_680,
            drive_request_limit: 60 * 1024 * 1024,
            print_request_limit: 10_000_000,
            print_concurrency: 4,
            mail_request_max: 4_000_000,
            mail_file_max: 150_000_000,
            drive_quota: u64::MAX,
            drive_file_max: 250_000_000_000,
            simple_upload_max: 250_000_000,
            print_file_max: 250_000_000_000,
            print_max_gaps: crate::graph::session::PRINT_GAP_CAPACITY,
            max_live_sessions: 4096,
        }
    }
}

/// How `nextExpectedRanges` items of drive items are written.
///
/// ```
/// use resumable_emulator::RangeForm;
/// assert_eq!("closed".parse::<RangeForm>().unwrap(), RangeForm::Closed);
/// assert_eq!(RangeForm::Open.to_string(), "open");
/// assert!("bare".parse::<RangeForm>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RangeForm {
    /// `"26-"`, as OneDrive writes them.
    #[default]
    Open,
    /// `"26-4533321"`, as SharePoint writes them.
    Closed,
}

impl fmt::Display for RangeForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeForm::Open => "open",
            RangeForm::Closed => "closed",
        })
    }
}

impl FromStr for RangeForm {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text.trim() {
            "open" => Ok(RangeForm::Open),
            "closed" => Ok(RangeForm::Closed),
            _ => Err(ConfigError::new(
                "range form",
                text,
                "expected open or closed",
            )),
        }
    }
}

/// Which hashes a drive item reports in `file.hashes`.
///
/// ```
/// use resumable_emulator::DriveHashes;
/// assert_eq!("personal".parse::<DriveHashes>().unwrap(), DriveHashes::Personal);
/// assert_eq!(DriveHashes::Business.to_string(), "business");
/// assert!("sha256".parse::<DriveHashes>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DriveHashes {
    /// `quickXorHash` only, as OneDrive for work or school and SharePoint report.
    #[default]
    Business,
    /// `quickXorHash`, `sha1Hash` and `crc32Hash`, as personal OneDrive reports.
    Personal,
}

impl fmt::Display for DriveHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriveHashes::Business => "business",
            DriveHashes::Personal => "personal",
        })
    }
}

impl FromStr for DriveHashes {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text.trim() {
            "business" => Ok(DriveHashes::Business),
            "personal" => Ok(DriveHashes::Personal),
            _ => Err(ConfigError::new(
                "drive hashes",
                text,
                "expected business or personal",
            )),
        }
    }
}

/// Graph upload-session behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphConfig {
    /// How long a session lives after its creation and after each accepted fragment (service
    /// time; divided by the time scale). The services do not publish the figure; 15 minutes is
    /// short enough for expiry to be tested and long enough for any sane fragment.
    pub session_lifetime: Duration,
    /// The form of drive `nextExpectedRanges`.
    pub drive_range_form: RangeForm,
    /// The hashes drive items report. Never `sha256Hash`: Microsoft documents it as not
    /// supported, so a client must not rely on it.
    pub drive_hashes: DriveHashes,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            session_lifetime: Duration::from_secs(15 * 60),
            drive_range_form: RangeForm::Open,
            drive_hashes: DriveHashes::Business,
        }
    }
}

/// Workbook-session behaviour (SPEC 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkbookConfig {
    /// How long `createSession` takes (service time).
    pub creation_delay: Duration,
    /// With `Prefer: respond-async`, creations that take at least this long answer `202` and an
    /// operation to poll; shorter ones answer `201` after the delay.
    pub async_threshold: Duration,
    /// Answer every `createSession` with `202` and an operation, `Prefer` or not.
    pub always_async: bool,
    /// Inactivity expiry of persistent sessions (current documentation: about 5 minutes).
    pub persistent_idle: Duration,
    /// Inactivity expiry of non-persistent sessions (current documentation: about 7 minutes).
    pub non_persistent_idle: Duration,
}

impl Default for WorkbookConfig {
    fn default() -> Self {
        WorkbookConfig {
            creation_delay: Duration::ZERO,
            async_threshold: Duration::from_secs(5),
            always_async: false,
            persistent_idle: Duration::from_secs(5 * 60),
            non_persistent_idle: Duration::from_secs(7 * 60),
        }
    }
}

/// WOPI host behaviour (SPEC 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WopiConfig {
    /// Whether the host supports upload sessions; without them `CREATE_UPLOAD_SESSION` answers
    /// `501` and clients fall back to a single `PUT_CHUNKED_FILE`.
    pub upload_sessions: bool,
    /// The access token WOPI requests must carry; `None` accepts any non-empty token.
    pub access_token: Option<Secret>,
    /// Sliding expiry of an upload session after its creation and each update (30 minutes).
    pub session_idle: Duration,
    /// The largest file a commit may produce (and the largest chunk a frame may carry: chunks
    /// are streamed to storage, never held whole); larger answers `413` or `400`. Declared
    /// lengths are checked against it before a body is read: an update whose range ends past
    /// this size plus room for frame headers (a 1024th of it, and 1 MiB), or a
    /// `PUT_CHUNKED_FILE` declaring more than that and 1 MiB for its message, answers `413`
    /// and its connection closes.
    pub max_file_size: u64,
    /// The file ids that exist; `None`: every id exists. Others answer `404`.
    pub known_files: Option<Vec<String>>,
}

impl Default for WopiConfig {
    fn default() -> Self {
        WopiConfig {
            upload_sessions: true,
            access_token: None,
            session_idle: Duration::from_secs(30 * 60),
            max_file_size: 250 * 1000 * 1000 * 1000,
            known_files: None,
        }
    }
}

/// Behaviour of the tus 1.0 (`/tus/files/`) and IETF draft (`/ietf/files/`) endpoints.
///
/// ```
/// use std::time::Duration;
/// use resumable_emulator::TusHostConfig;
/// let tus = TusHostConfig::default();
/// assert_eq!(tus.upload_lifetime, Duration::from_secs(24 * 3600));
/// assert_eq!(tus.max_size, 250_000_000_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TusHostConfig {
    /// The largest upload (`Tus-Max-Size`, the draft's `Upload-Limit: max-size`): a creation
    /// declaring more answers `413`, and no append may take an upload of unknown length past
    /// it. 250 GB by default, the figure of the other services' largest files.
    pub max_size: u64,
    /// How long an upload lives after its creation and after each append that stored bytes
    /// (service time; divided by the time scale): `Upload-Expires`, the draft's `max-age`.
    /// tus servers choose their own figure (tusd keeps uploads until an operator's cleanup);
    /// a day is what hosted tus services commonly promise.
    pub upload_lifetime: Duration,
}

impl Default for TusHostConfig {
    fn default() -> Self {
        TusHostConfig {
            max_size: 250_000_000_000,
            upload_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// A configuration value that did not parse: which setting, what was given, what is expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    setting: &'static str,
    given: String,
    expected: String,
}

impl ConfigError {
    /// The setting that did not parse (`time scale`, `fault`, an option name, ...).
    pub fn setting(&self) -> &str {
        self.setting
    }

    /// The same refusal, naming `setting` (an option name) as the one that did not parse.
    pub(crate) fn for_setting(self, setting: &'static str) -> Self {
        ConfigError { setting, ..self }
    }

    pub(crate) fn new(setting: &'static str, given: &str, expected: impl Into<String>) -> Self {
        ConfigError {
            setting,
            given: given.to_owned(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} `{}`: {}",
            self.setting, self.given, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

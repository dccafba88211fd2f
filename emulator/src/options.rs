//! Every setting of an [`EmulatorConfig`] by name, as a command line gives it.
//!
//! [`OPTIONS`] lists them (the name is the flag without its `--`, the syntax is what its value
//! parses as, the field is where it lands); [`EmulatorConfig::set`] applies one. A CLI can map
//! each option to a flag of its own, or loop over `--NAME VALUE` pairs and call `set`: either
//! way the names, syntaxes and checks are the emulator's, written once.

use std::str::FromStr;
use std::time::Duration;

use resumable_core::secret::Secret;

use crate::clock::ServiceDuration;
use crate::config::{ConfigError, EmulatorConfig};

/// One named setting: its flag name, value syntax, the config field it sets, and what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigOption {
    /// The flag name without `--` (`time-scale`).
    pub name: &'static str,
    /// The value syntax (`NUMBER (0.001 to 1000000, or x60)`).
    pub syntax: &'static str,
    /// The [`EmulatorConfig`] field it sets (`time_scale`).
    pub field: &'static str,
    /// What it changes.
    pub help: &'static str,
    /// A value it accepts.
    pub example: &'static str,
}

const fn option(
    name: &'static str,
    syntax: &'static str,
    field: &'static str,
    help: &'static str,
    example: &'static str,
) -> ConfigOption {
    ConfigOption {
        name,
        syntax,
        field,
        help,
        example,
    }
}

const DURATION: &str = "DURATION (30s, 250ms, 1.5m, 2h; a bare number is seconds)";
const BYTES: &str = "BYTES (an integer)";
const BOOL: &str = "true|false";

/// Every option [`EmulatorConfig::set`] accepts, in the order a help text lists them.
pub const OPTIONS: &[ConfigOption] = &[
    option(
        "addr",
        "IP:PORT",
        "addr",
        "where to listen (port 0 picks a free one)",
        "127.0.0.1:8080",
    ),
    option(
        "storage",
        "temp|discard|dir:PATH",
        "storage",
        "where received bytes go",
        "discard",
    ),
    option(
        "faults",
        "none|flaky|hostile",
        "faults.profile",
        "the random fault mix",
        "flaky",
    ),
    option(
        "seed",
        "INTEGER",
        "faults.seed",
        "the seed of the fault plan",
        "7",
    ),
    option(
        "script",
        "TARGET#N|*|N/K=FAULT[, ...] (see FaultScript)",
        "faults.script",
        "faults at exact requests",
        "fragment#2=lose-answer, workbook-create#1=status:504",
    ),
    option(
        "time-scale",
        "NUMBER (0.001 to 1000000, or x60)",
        "time_scale",
        "how much faster than real time expiries and delays run",
        "60",
    ),
    option(
        "bearer-token",
        "TOKEN",
        "bearer_token",
        "the only bearer token creates accept (default: any non-empty token)",
        "test-token",
    ),
    option(
        "session-lifetime",
        DURATION,
        "graph.session_lifetime",
        "Graph upload session lifetime, renewed by each fragment (service time)",
        "5m",
    ),
    option(
        "drive-range-form",
        "open|closed",
        "graph.drive_range_form",
        "drive nextExpectedRanges as \"26-\" (OneDrive) or \"26-4533321\" (SharePoint)",
        "closed",
    ),
    option(
        "drive-hashes",
        "business|personal",
        "graph.drive_hashes",
        "drive items report quickXorHash (business) or also sha1Hash and crc32Hash (personal)",
        "personal",
    ),
    option(
        "drive-alignment",
        BYTES,
        "limits.drive_alignment",
        "drive fragments but the last are multiples of this (or end on it)",
        "65536",
    ),
    option(
        "drive-request-limit",
        BYTES,
        "limits.drive_request_limit",
        "drive fragments are under this size",
        "10485760",
    ),
    option(
        "drive-quota",
        BYTES,
        "limits.drive_quota",
        "a drive fileSize above this answers 507",
        "1000000000",
    ),
    option(
        "drive-file-max",
        BYTES,
        "limits.drive_file_max",
        "the largest drive file; a larger fileSize or total answers 400",
        "1000000000",
    ),
    option(
        "simple-upload-max",
        BYTES,
        "limits.simple_upload_max",
        "the largest simple upload (PUT …:/content); a larger body answers 413",
        "4000000",
    ),
    option(
        "print-file-max",
        BYTES,
        "limits.print_file_max",
        "the largest print document; a larger size answers 400",
        "100000000",
    ),
    option(
        "print-request-limit",
        BYTES,
        "limits.print_request_limit",
        "print fragments are under this size",
        "4000000",
    ),
    option(
        "print-concurrency",
        "INTEGER (at least 1)",
        "limits.print_concurrency",
        "print fragments in flight at once on one document",
        "2",
    ),
    option(
        "print-max-gaps",
        "INTEGER (1 to 1024)",
        "limits.print_max_gaps",
        "separate missing ranges a print document may have",
        "16",
    ),
    option(
        "mail-request-max",
        BYTES,
        "limits.mail_request_max",
        "mail fragments are at most this size",
        "1000000",
    ),
    option(
        "mail-file-max",
        BYTES,
        "limits.mail_file_max",
        "the largest mail attachment",
        "50000000",
    ),
    option(
        "max-live-sessions",
        "INTEGER (at least 1)",
        "limits.max_live_sessions",
        "live sessions of all kinds; creates beyond answer 503 with Retry-After",
        "100",
    ),
    option(
        "workbook-creation-delay",
        DURATION,
        "workbook.creation_delay",
        "how long createSession takes (service time)",
        "10s",
    ),
    option(
        "workbook-async-threshold",
        DURATION,
        "workbook.async_threshold",
        "with Prefer: respond-async, creations at least this long answer 202",
        "1s",
    ),
    option(
        "workbook-always-async",
        BOOL,
        "workbook.always_async",
        "answer every createSession with 202 and an operation",
        "true",
    ),
    option(
        "workbook-persistent-idle",
        DURATION,
        "workbook.persistent_idle",
        "inactivity expiry of persistent workbook sessions",
        "1m",
    ),
    option(
        "workbook-non-persistent-idle",
        DURATION,
        "workbook.non_persistent_idle",
        "inactivity expiry of non-persistent workbook sessions",
        "2m",
    ),
    option(
        "wopi-upload-sessions",
        BOOL,
        "wopi.upload_sessions",
        "false: CREATE_UPLOAD_SESSION answers 501 (a host without upload sessions)",
        "false",
    ),
    option(
        "wopi-access-token",
        "TOKEN",
        "wopi.access_token",
        "the only access_token WOPI requests accept (default: any non-empty token)",
        "wopi-token",
    ),
    option(
        "wopi-session-idle",
        DURATION,
        "wopi.session_idle",
        "sliding expiry of WOPI upload sessions",
        "10m",
    ),
    option(
        "wopi-max-file-size",
        BYTES,
        "wopi.max_file_size",
        "the largest file a WOPI commit may produce",
        "1000000000",
    ),
    option(
        "wopi-known-files",
        "ID[,ID...]|any",
        "wopi.known_files",
        "the WOPI file ids that exist (others answer 404); any: every id exists",
        "doc1,doc2",
    ),
    option(
        "tus-max-size",
        BYTES,
        "tus.max_size",
        "the largest tus or IETF draft upload (Tus-Max-Size, Upload-Limit max-size)",
        "1000000000",
    ),
    option(
        "tus-upload-lifetime",
        DURATION,
        "tus.upload_lifetime",
        "how long a tus or IETF draft upload lives after its creation and each append",
        "10m",
    ),
    option(
        "bandwidth",
        "BYTES (per second, an integer; 0: unlimited)",
        "link.bandwidth",
        "request bodies arrive no faster than this, all connections together",
        "12500000",
    ),
    option(
        "latency",
        DURATION,
        "link.latency",
        "each answer is held back this long (a round-trip time per request)",
        "40ms",
    ),
];

/// Parses a value of a standard type (numbers, addresses, booleans): a refusal names the syntax.
fn parse<T: FromStr>(option: &ConfigOption, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(option.name, value, option.syntax))
}

/// Parses a value of one of the emulator's types, whose refusals say what is wrong in detail.
fn parse_detailed<T>(option: &ConfigOption, value: &str) -> Result<T, ConfigError>
where
    T: FromStr<Err = ConfigError>,
{
    value
        .parse()
        .map_err(|e: ConfigError| e.for_setting(option.name))
}

fn at_least_one<T>(option: &ConfigOption, value: &str) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + From<u8>,
{
    let number: T = parse(option, value)?;
    if number < T::from(1) {
        return Err(ConfigError::new(option.name, value, option.syntax));
    }
    Ok(number)
}

fn duration(option: &ConfigOption, value: &str) -> Result<Duration, ConfigError> {
    parse_detailed::<ServiceDuration>(option, value).map(Duration::from)
}

fn token(option: &ConfigOption, value: &str) -> Result<Secret, ConfigError> {
    let token = value.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        // The value is not echoed: it is meant to be a secret.
        return Err(ConfigError::new(
            option.name,
            "[redacted]",
            "a non-empty token without spaces",
        ));
    }
    Ok(Secret::new(token))
}

impl EmulatorConfig {
    /// Sets the option `name` (an [`OPTIONS`] name, without `--`) from its text `value`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resumable_emulator::{EmulatorConfig, RangeForm};
    /// let mut config = EmulatorConfig::default();
    /// config.set("drive-range-form", "closed").unwrap();
    /// config.set("workbook-creation-delay", "10s").unwrap();
    /// config.set("wopi-upload-sessions", "false").unwrap();
    /// assert_eq!(config.graph.drive_range_form, RangeForm::Closed);
    /// assert_eq!(config.workbook.creation_delay, Duration::from_secs(10));
    /// assert!(!config.wopi.upload_sessions);
    /// assert!(config.set("time-scale", "0").is_err());
    /// assert!(config.set("colour", "blue").is_err());
    /// ```
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let name = name.trim().trim_start_matches("--");
        let Some(option) = OPTIONS.iter().find(|o| o.name == name) else {
            let names: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
            return Err(ConfigError::new(
                "option",
                name,
                format!("one of {}", names.join(", ")),
            ));
        };
        let limits = &mut self.limits;
        match option.name {
            "addr" => self.addr = parse(option, value)?,
            "storage" => self.storage = parse_detailed(option, value)?,
            "faults" => self.faults.profile = parse_detailed(option, value)?,
            "seed" => self.faults.seed = parse(option, value)?,
            "script" => self.faults.script = parse_detailed(option, value)?,
            "time-scale" => self.time_scale = parse_detailed(option, value)?,
            "bearer-token" => self.bearer_token = Some(token(option, value)?),
            "session-lifetime" => self.graph.session_lifetime = duration(option, value)?,
            "drive-range-form" => self.graph.drive_range_form = parse_detailed(option, value)?,
            "drive-hashes" => self.graph.drive_hashes = parse_detailed(option, value)?,
            "drive-alignment" => limits.drive_alignment = at_least_one(option, value)?,
            "drive-request-limit" => limits.drive_request_limit = at_least_one(option, value)?,
            "drive-quota" => limits.drive_quota = parse(option, value)?,
            "drive-file-max" => limits.drive_file_max = at_least_one(option, value)?,
            "simple-upload-max" => limits.simple_upload_max = parse(option, value)?,
            "print-file-max" => limits.print_file_max = at_least_one(option, value)?,
            "print-request-limit" => limits.print_request_limit = at_least_one(option, value)?,
            "print-concurrency" => limits.print_concurrency = at_least_one(option, value)?,
            "print-max-gaps" => {
                let gaps: u64 = at_least_one(option, value)?;
                let capacity = crate::graph::session::PRINT_GAP_CAPACITY;
                limits.print_max_gaps = usize::try_from(gaps)
                    .ok()
                    .filter(|gaps| *gaps <= capacity)
                    .ok_or_else(|| ConfigError::new(option.name, value, option.syntax))?;
            }
            "mail-request-max" => limits.mail_request_max = at_least_one(option, value)?,
            "mail-file-max" => limits.mail_file_max = at_least_one(option, value)?,
            "max-live-sessions" => {
                let max: u64 = at_least_one(option, value)?;
                limits.max_live_sessions = usize::try_from(max)
                    .map_err(|_| ConfigError::new(option.name, value, option.syntax))?;
            }
            "workbook-creation-delay" => self.workbook.creation_delay = duration(option, value)?,
            "workbook-async-threshold" => self.workbook.async_threshold = duration(option, value)?,
            "workbook-always-async" => self.workbook.always_async = parse(option, value)?,
            "workbook-persistent-idle" => self.workbook.persistent_idle = duration(option, value)?,
            "workbook-non-persistent-idle" => {
                self.workbook.non_persistent_idle = duration(option, value)?;
            }
            "wopi-upload-sessions" => self.wopi.upload_sessions = parse(option, value)?,
            "wopi-access-token" => self.wopi.access_token = Some(token(option, value)?),
            "wopi-session-idle" => self.wopi.session_idle = duration(option, value)?,
            "wopi-max-file-size" => self.wopi.max_file_size = at_least_one(option, value)?,
            "wopi-known-files" => {
                self.wopi.known_files = match value.trim() {
                    "any" => None,
                    list => {
                        let ids: Vec<String> = list
                            .split(',')
                            .map(str::trim)
                            .filter(|id| !id.is_empty())
                            .map(str::to_owned)
                            .collect();
                        if ids.is_empty() {
                            return Err(ConfigError::new(option.name, value, option.syntax));
                        }
                        Some(ids)
                    }
                };
            }
            "tus-max-size" => self.tus.max_size = at_least_one(option, value)?,
            "tus-upload-lifetime" => self.tus.upload_lifetime = duration(option, value)?,
            "bandwidth" => {
                let rate: u64 = parse(option, value)?;
                self.link.bandwidth = (rate > 0).then_some(rate);
            }
            "latency" => self.link.latency = duration(option, value)?,
            // Every name in OPTIONS has an arm above; the table test checks it.
            _ => {
                return Err(ConfigError::new(
                    "option",
                    name,
                    "an option this build sets",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DriveHashes, RangeForm};

    #[test]
    fn every_option_accepts_its_example_and_changes_its_field() {
        let mut names = std::collections::HashSet::new();
        for option in OPTIONS {
            assert!(names.insert(option.name), "{} listed twice", option.name);
            let mut config = EmulatorConfig::default();
            let before = format!("{config:?}");
            config
                .set(option.name, option.example)
                .unwrap_or_else(|e| panic!("{}: {e}", option.name));
            // Every example differs from the default (a token shows as `Some([redacted])`).
            assert_ne!(
                format!("{config:?}"),
                before,
                "{} changed nothing",
                option.name
            );
        }
    }

    #[test]
    fn the_unreachable_behaviours_are_reachable() {
        let mut config = EmulatorConfig::default();
        for (name, value) in [
            ("--bearer-token", "b-token"),
            ("wopi-access-token", "w-token"),
            ("wopi-upload-sessions", "false"),
            ("drive-range-form", "closed"),
            ("drive-hashes", "personal"),
            ("workbook-creation-delay", "1.5m"),
            ("workbook-always-async", "true"),
            ("wopi-known-files", "a, b"),
        ] {
            config.set(name, value).unwrap();
        }
        assert_eq!(config.bearer_token.as_ref().unwrap().expose(), "b-token");
        assert_eq!(
            config.wopi.access_token.as_ref().unwrap().expose(),
            "w-token"
        );
        assert!(!config.wopi.upload_sessions);
        assert_eq!(config.graph.drive_range_form, RangeForm::Closed);
        assert_eq!(config.graph.drive_hashes, DriveHashes::Personal);
        assert_eq!(config.workbook.creation_delay, Duration::from_secs(90));
        assert!(config.workbook.always_async);
        assert_eq!(
            config.wopi.known_files,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("b-token") && !debug.contains("w-token"),
            "{debug}"
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_option_named() {
        let mut config = EmulatorConfig::default();
        for (name, value) in [
            ("time-scale", "1e-300"),
            ("seed", "-1"),
            ("workbook-creation-delay", "forever"),
            ("workbook-creation-delay", "100000000h"),
            ("wopi-upload-sessions", "maybe"),
            ("print-concurrency", "0"),
            ("print-max-gaps", "5000"),
            ("max-live-sessions", "0"),
            ("wopi-known-files", " , "),
            ("bearer-token", "two words"),
            ("bearer-token", ""),
            ("drive-range-form", "bare"),
            ("drive-hashes", "sha256"),
        ] {
            let error = config.set(name, value).unwrap_err();
            assert_eq!(error.setting(), name.trim_start_matches("--"), "{name}");
        }
        let secret = config.set("wopi-access-token", "a secret").unwrap_err();
        assert!(!secret.to_string().contains("a secret"));
        assert_eq!(config.set("nope", "1").unwrap_err().setting(), "option");
    }
}

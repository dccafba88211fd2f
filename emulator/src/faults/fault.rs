//! One injected fault and its textual form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::RequestKind;
use crate::config::ConfigError;

/// The longest `Retry-After` the emulator writes (a year): longer figures are capped when the
/// answer is written and refused in fault scripts.
pub const MAX_RETRY_AFTER_SECS: u64 = 365 * 24 * 3600;

/// The longest `slow` delay (an hour): longer ones are capped, and refused in fault scripts.
pub const MAX_SLOW_MS: u64 = 3600 * 1000;

/// How a `Retry-After` header is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "form", content = "secs")]
pub enum RetryAfterForm {
    /// Delta-seconds (`Retry-After: 2`); the figure is service seconds, scaled and rounded up.
    Seconds(u64),
    /// An HTTP-date that many service seconds from now (`Retry-After: Thu, 29 Jan 2026 …`).
    HttpDate(u64),
}

impl RetryAfterForm {
    /// The service seconds the client is asked to wait.
    pub const fn service_secs(self) -> u64 {
        match self {
            RetryAfterForm::Seconds(secs) | RetryAfterForm::HttpDate(secs) => secs,
        }
    }
}

/// A fault the emulator can inject into one request.
///
/// The text form is what fault scripts use, and `Display` writes it back:
///
/// ```
/// use resumable_emulator::{Fault, RetryAfterForm};
/// assert_eq!("lose-answer".parse::<Fault>().unwrap(), Fault::LoseAnswer);
/// assert_eq!("drop-mid-body:1000".parse::<Fault>().unwrap(), Fault::DropMidBody { after_bytes: 1000 });
/// assert_eq!("status:503".parse::<Fault>().unwrap(), Fault::Status(503));
/// let throttle: Fault = "throttle:429:date:3".parse().unwrap();
/// assert_eq!(throttle, Fault::Throttle { status: 429, retry_after: RetryAfterForm::HttpDate(3) });
/// assert_eq!(throttle.to_string(), "throttle:429:date:3");
/// assert!("status:200".parse::<Fault>().is_err());
/// assert_eq!("wrong-size:0".parse::<Fault>().unwrap(), Fault::WrongSize { reported: Some(0) });
/// assert_eq!("malformed-create:no-url".parse::<Fault>().unwrap(), Fault::MalformedCreate { no_url: true });
/// ```
/// In JSON (fault scripts given as JSON) a fault is its text form.
///
/// ## Faults that break the protocol
///
/// The faults from [`PrematureItem`](Fault::PrematureItem) on are not accidents of the network
/// but lies: answers that an independent, hostile Graph or WOPI server gave a client, and that
/// a correct client must not believe (it checks the item's size and hashes, the ranges the
/// server claims, the offset it answers, the item it finds by path). The server's real state
/// stays truthful unless a fault says otherwise: a `GET` on the upload URL after a lie tells
/// where the server really is. The [`FaultProfile`](crate::FaultProfile) mixes never draw
/// them: a client is meant to survive the profiles and to refuse these, so they come from fault
/// scripts only. Each is counted only when it struck a request it could lie about (a
/// `premature-item` on the last fragment is no lie, and nothing is counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Fault {
    /// Close the connection before reading the body. Nothing happens on the server.
    DropBeforeBody,
    /// Read this many bytes of the body, then close the connection. Nothing is stored.
    DropMidBody {
        /// Body bytes read before the connection closes (at least 1; a body no longer than
        /// this is read whole, and the drop is counted as `drop-after-body`).
        after_bytes: u64,
    },
    /// Read the whole request, then close the connection without doing anything.
    DropAfterBody,
    /// Do everything the request asks (store the bytes, create the session), then close the
    /// connection without an answer: the case that makes clients send twice.
    LoseAnswer,
    /// Store only the first `keep` bytes of the fragment and answer truthfully (the answer's
    /// ranges or offset show what is missing). A fragment of one byte cannot be stored in part:
    /// it goes through whole and nothing is counted.
    PartialStore {
        /// Bytes of the fragment that are stored (at least 1, at most its length minus one).
        keep: u64,
    },
    /// Store only the first `keep` bytes of the fragment, then close without an answer.
    PartialStoreLost {
        /// Bytes of the fragment that are stored (at least 1, at most its length minus one).
        keep: u64,
    },
    /// Answer this server error (500, 502, 503 or 504) without doing anything.
    Status(u16),
    /// Answer `429` or `503` with a `Retry-After` (at most [`MAX_RETRY_AFTER_SECS`]), without
    /// doing anything.
    Throttle {
        /// 429 or 503.
        status: u16,
        /// The header's form and figure.
        retry_after: RetryAfterForm,
    },
    /// Do the request, then wait this long (real time, at most [`MAX_SLOW_MS`]) before
    /// answering.
    Slow {
        /// Real milliseconds of delay.
        delay_ms: u64,
    },
    /// Expire the session now: this request and all later ones get the expired answer.
    ExpireSession,
    /// Answer `404` although the session is alive (busy SharePoint sites do).
    Transient404,
    /// The asynchronous workbook-session creation this request starts ends `failed`.
    FailOperation,
    /// On a Graph fragment that does not complete the upload: store it, then answer `201
    /// Created` with the finished resource as if it did: a drive item whose `size` is the total
    /// (its hashes are of the bytes stored so far), a print document of the total size, or a
    /// mail attachment's empty `201` with `Location`. Nothing is committed: the session stays
    /// alive at its true position, and the item is not in the drive.
    PrematureItem,
    /// On the request that finishes a drive item or print document (the last fragment, the
    /// commit of a deferred or conflicted upload, or a simple upload): complete it truthfully,
    /// but answer a `size` that is not the stored file's.
    WrongSize {
        /// The size reported; `None`: the true size plus one. A figure that happens to be the
        /// true size is reported plus one, so the size is always wrong.
        reported: Option<u64>,
    },
    /// On the request that finishes a drive item (a simple upload too): complete it
    /// truthfully, but answer hashes of other bytes: `quickXorHash` (and `sha1Hash`,
    /// `crc32Hash` on personal drives) are those of as many zero bytes as the file has (of
    /// `0xFF` bytes when the file is all zeros).
    WrongHash,
    /// On the last fragment of a drive item: read the body, store nothing and close the
    /// connection (as `drop-after-body`); the session ends, so it answers `404` to everything
    /// from now on; and the item's path now holds someone else's older file: the same size,
    /// other content (the hashes of that many zero bytes), `createdDateTime` and
    /// `lastModifiedDateTime` a day before the session was created. A client that looks the
    /// item up by path after losing the answer finds that file.
    OldItem,
    /// On a drive or mail fragment that does not complete the upload: store it, then answer
    /// `nextExpectedRanges` that start `bytes` past its end (at most at the last byte), claiming
    /// bytes the client never sent. The server's position stays where the bytes end: a fragment
    /// sent from the claimed start answers `416`. On a tus or IETF draft append that does not
    /// complete the upload: store it, then answer an `Upload-Offset` `bytes` past the true one
    /// (at most the upload's length, when it is known); an append from the claimed offset
    /// answers `409`.
    SkipAhead {
        /// How far past the received bytes the claimed ranges start (at least 1).
        bytes: u64,
    },
    /// On a drive or mail fragment: store it, then forget every byte of the session (the part
    /// file is emptied) and answer in-progress with `["0-"]` (mail: `["0"]`). On every third
    /// fragment (`fragment#3/3=regress`) an upload of more than three fragments never ends.
    /// On a tus or IETF draft append: store it, then forget every byte of the upload and
    /// answer `Upload-Offset: 0` (the upload is not complete, whatever the append said).
    Regress,
    /// On the last fragment of a drive item created without `deferCommit`: store it, but
    /// answer `202 Accepted` with `nextExpectedRanges: []` and no item, as if commit were
    /// deferred. The file is created only when the client commits (`POST {uploadUrl}` with
    /// `Content-Length: 0`, or the explicit commit); until then `GET {uploadUrl}` answers
    /// `{"nextExpectedRanges": []}`.
    EmptyAccept,
    /// On a Graph `createUploadSession`: create the session, but answer an
    /// `expirationDateTime` an hour in the past (a server whose clock is off). The session
    /// lives as long as any other. On a tus creation: create the upload, but answer an
    /// `Upload-Expires` an hour in the past (the IETF draft: `Upload-Limit` with `max-age=0`).
    ExpiredSession,
    /// On a `createUploadSession` (Graph) or `CREATE_UPLOAD_SESSION` (WOPI): create nothing,
    /// and answer success (`200`; mail `201`) with a body that is not JSON although
    /// `Content-Type` says it is; with `no_url`, a JSON session without `uploadUrl` (WOPI:
    /// without `UploadSessionToken`). On a tus or IETF draft creation: create nothing, and
    /// answer `201` with a `Location` that is no `http(s)` URL (`ftp://…`); with `no_url`,
    /// without `Location`.
    MalformedCreate {
        /// Answer JSON without the URL instead of a body that is not JSON.
        no_url: bool,
    },
    /// On a WOPI `UPDATE_UPLOAD_SESSION`: do the update, but answer an
    /// `X-WOPI-UploadSessionCurrentOffset` `bytes` larger than what the host has. The host's
    /// offset stays true: an update sent from the claimed offset answers `400`.
    WopiOffsetJump {
        /// How many bytes the answered offset exceeds the host's (at least 1).
        bytes: u64,
    },
}

/// The default of `skip-ahead`: one drive alignment unit (320 KiB) past the received bytes.
const SKIP_AHEAD_BYTES: u64 = 327_680;

/// The default of `wopi-offset-jump`.
const OFFSET_JUMP_BYTES: u64 = 65_536;

impl Fault {
    /// The name under which the fault is counted in `/_emulator/stats`.
    pub fn counter_name(&self) -> String {
        match self {
            Fault::DropBeforeBody => "drop-before-body".into(),
            Fault::DropMidBody { .. } => "drop-mid-body".into(),
            Fault::DropAfterBody => "drop-after-body".into(),
            Fault::LoseAnswer => "lose-answer".into(),
            Fault::PartialStore { .. } => "partial-store".into(),
            Fault::PartialStoreLost { .. } => "partial-store-lost".into(),
            Fault::Status(status) => format!("status-{status}"),
            Fault::Throttle {
                status,
                retry_after: RetryAfterForm::Seconds(_),
            } => format!("throttle-{status}-seconds"),
            Fault::Throttle {
                status,
                retry_after: RetryAfterForm::HttpDate(_),
            } => format!("throttle-{status}-date"),
            Fault::Slow { .. } => "slow".into(),
            Fault::ExpireSession => "expire-session".into(),
            Fault::Transient404 => "transient-404".into(),
            Fault::FailOperation => "fail-operation".into(),
            Fault::PrematureItem => "premature-item".into(),
            Fault::WrongSize { .. } => "wrong-size".into(),
            Fault::WrongHash => "wrong-hash".into(),
            Fault::OldItem => "old-item".into(),
            Fault::SkipAhead { .. } => "skip-ahead".into(),
            Fault::Regress => "regress".into(),
            Fault::EmptyAccept => "empty-accept".into(),
            Fault::ExpiredSession => "expired-session".into(),
            Fault::MalformedCreate { no_url: false } => "malformed-create".into(),
            Fault::MalformedCreate { no_url: true } => "malformed-create-no-url".into(),
            Fault::WopiOffsetJump { .. } => "wopi-offset-jump".into(),
        }
    }

    /// Whether the fault is a lie of a hostile server (see [Faults that break the
    /// protocol](Fault#faults-that-break-the-protocol)): the handler builds it, and it is
    /// counted only when the handler could tell it.
    pub fn breaks_protocol(&self) -> bool {
        matches!(
            self,
            Fault::PrematureItem
                | Fault::WrongSize { .. }
                | Fault::WrongHash
                | Fault::OldItem
                | Fault::SkipAhead { .. }
                | Fault::Regress
                | Fault::EmptyAccept
                | Fault::ExpiredSession
                | Fault::MalformedCreate { .. }
                | Fault::WopiOffsetJump { .. }
        )
    }

    /// Whether the fault can be injected into a request of `kind`; `in_session` says whether the
    /// request addresses a live session.
    pub fn applies_to(&self, kind: RequestKind, in_session: bool) -> bool {
        if kind == RequestKind::Other {
            return false;
        }
        match self {
            Fault::DropBeforeBody
            | Fault::DropAfterBody
            | Fault::Status(_)
            | Fault::Throttle { .. }
            | Fault::Slow { .. } => true,
            Fault::DropMidBody { .. } => kind.carries_upload(),
            Fault::LoseAnswer => kind.changes_state(),
            Fault::PartialStore { .. } | Fault::PartialStoreLost { .. } => {
                in_session && kind.appends_bytes()
            }
            Fault::ExpireSession => in_session && kind.addresses_session(),
            Fault::Transient404 => in_session && kind.is_graph_upload(),
            Fault::FailOperation => kind == RequestKind::WorkbookCreate,
            Fault::PrematureItem | Fault::OldItem | Fault::EmptyAccept => {
                in_session && kind == RequestKind::Fragment
            }
            Fault::SkipAhead { .. } | Fault::Regress => {
                in_session && matches!(kind, RequestKind::Fragment | RequestKind::TusAppend)
            }
            Fault::WrongSize { .. } | Fault::WrongHash => {
                (in_session && matches!(kind, RequestKind::Fragment | RequestKind::Commit))
                    || matches!(
                        kind,
                        RequestKind::ExplicitCommit | RequestKind::SimpleUpload
                    )
            }
            Fault::ExpiredSession => kind.creates_graph_upload() || kind == RequestKind::TusCreate,
            Fault::MalformedCreate { .. } => {
                kind.creates_graph_upload()
                    || matches!(kind, RequestKind::WopiCreate | RequestKind::TusCreate)
            }
            Fault::WopiOffsetJump { .. } => in_session && kind == RequestKind::WopiUpdate,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::DropBeforeBody => f.write_str("drop-before-body"),
            Fault::DropMidBody { after_bytes } => write!(f, "drop-mid-body:{after_bytes}"),
            Fault::DropAfterBody => f.write_str("drop-after-body"),
            Fault::LoseAnswer => f.write_str("lose-answer"),
            Fault::PartialStore { keep } => write!(f, "partial-store:{keep}"),
            Fault::PartialStoreLost { keep } => write!(f, "partial-store-lost:{keep}"),
            Fault::Status(status) => write!(f, "status:{status}"),
            Fault::Throttle {
                status,
                retry_after,
            } => match retry_after {
                RetryAfterForm::Seconds(secs) => write!(f, "throttle:{status}:seconds:{secs}"),
                RetryAfterForm::HttpDate(secs) => write!(f, "throttle:{status}:date:{secs}"),
            },
            Fault::Slow { delay_ms } => write!(f, "slow:{delay_ms}"),
            Fault::ExpireSession => f.write_str("expire-session"),
            Fault::Transient404 => f.write_str("transient-404"),
            Fault::FailOperation => f.write_str("fail-operation"),
            Fault::PrematureItem => f.write_str("premature-item"),
            Fault::WrongSize { reported: None } => f.write_str("wrong-size"),
            Fault::WrongSize {
                reported: Some(size),
            } => write!(f, "wrong-size:{size}"),
            Fault::WrongHash => f.write_str("wrong-hash"),
            Fault::OldItem => f.write_str("old-item"),
            Fault::SkipAhead { bytes } => write!(f, "skip-ahead:{bytes}"),
            Fault::Regress => f.write_str("regress"),
            Fault::EmptyAccept => f.write_str("empty-accept"),
            Fault::ExpiredSession => f.write_str("expired-session"),
            Fault::MalformedCreate { no_url: false } => f.write_str("malformed-create"),
            Fault::MalformedCreate { no_url: true } => f.write_str("malformed-create:no-url"),
            Fault::WopiOffsetJump { bytes } => write!(f, "wopi-offset-jump:{bytes}"),
        }
    }
}

impl From<Fault> for String {
    fn from(fault: Fault) -> String {
        fault.to_string()
    }
}

impl TryFrom<String> for Fault {
    type Error = ConfigError;

    fn try_from(text: String) -> Result<Self, ConfigError> {
        text.parse()
    }
}

impl FromStr for Fault {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let bad = |expected: &str| ConfigError::new("fault", text, expected.to_owned());
        let number = |part: Option<&str>, what: &str| -> Result<u64, ConfigError> {
            part.and_then(|p| p.parse().ok())
                .ok_or_else(|| bad(&format!("expected {what}")))
        };
        // A cut or a partial store of nothing would not be the fault its name says.
        let positive = |part: Option<&str>, what: &str| -> Result<u64, ConfigError> {
            match number(part, what)? {
                0 => Err(bad(&format!("expected {what} of at least 1"))),
                n => Ok(n),
            }
        };
        let mut parts = text.trim().split(':');
        let name = parts.next().unwrap_or("");
        let fault = match name {
            "drop-before-body" => Fault::DropBeforeBody,
            "drop-mid-body" => Fault::DropMidBody {
                after_bytes: positive(parts.next(), "drop-mid-body:BYTES")?,
            },
            "drop-after-body" => Fault::DropAfterBody,
            "lose-answer" => Fault::LoseAnswer,
            "partial-store" => Fault::PartialStore {
                keep: positive(parts.next(), "partial-store:BYTES")?,
            },
            "partial-store-lost" => Fault::PartialStoreLost {
                keep: positive(parts.next(), "partial-store-lost:BYTES")?,
            },
            "status" => {
                let status = number(parts.next(), "status:500|502|503|504")?;
                match status {
                    500 | 502 | 503 | 504 => Fault::Status(status as u16),
                    _ => return Err(bad("status:500|502|503|504")),
                }
            }
            "throttle" => {
                let status = match number(parts.next(), "throttle:429|503:seconds|date:SECS")? {
                    429 => 429,
                    503 => 503,
                    _ => return Err(bad("throttle:429|503:seconds|date:SECS")),
                };
                let form = parts.next();
                let secs = number(parts.next(), "throttle:429|503:seconds|date:SECS")?;
                if secs > MAX_RETRY_AFTER_SECS {
                    return Err(bad("throttle SECS of at most 31536000 (a year)"));
                }
                let retry_after = match form {
                    Some("seconds") => RetryAfterForm::Seconds(secs),
                    Some("date") => RetryAfterForm::HttpDate(secs),
                    _ => return Err(bad("throttle:429|503:seconds|date:SECS")),
                };
                Fault::Throttle {
                    status,
                    retry_after,
                }
            }
            "slow" => Fault::Slow {
                delay_ms: match number(parts.next(), "slow:MILLISECONDS")? {
                    ms if ms <= MAX_SLOW_MS => ms,
                    _ => return Err(bad("slow:MILLISECONDS of at most 3600000 (an hour)")),
                },
            },
            "expire-session" => Fault::ExpireSession,
            "transient-404" => Fault::Transient404,
            "fail-operation" => Fault::FailOperation,
            "premature-item" => Fault::PrematureItem,
            "wrong-size" => Fault::WrongSize {
                reported: match parts.next() {
                    None => None,
                    part => Some(number(part, "wrong-size:BYTES")?),
                },
            },
            "wrong-hash" => Fault::WrongHash,
            "old-item" => Fault::OldItem,
            "skip-ahead" => Fault::SkipAhead {
                bytes: match parts.next() {
                    None => SKIP_AHEAD_BYTES,
                    part => positive(part, "skip-ahead:BYTES")?,
                },
            },
            "regress" => Fault::Regress,
            "empty-accept" => Fault::EmptyAccept,
            "expired-session" => Fault::ExpiredSession,
            "malformed-create" => Fault::MalformedCreate {
                no_url: match parts.next() {
                    None => false,
                    Some("no-url") => true,
                    Some(_) => return Err(bad("malformed-create or malformed-create:no-url")),
                },
            },
            "wopi-offset-jump" => Fault::WopiOffsetJump {
                bytes: match parts.next() {
                    None => OFFSET_JUMP_BYTES,
                    part => positive(part, "wopi-offset-jump:BYTES")?,
                },
            },
            _ => {
                return Err(bad(
                    "one of drop-before-body, drop-mid-body:N, drop-after-body, lose-answer, \
                     partial-store:N, partial-store-lost:N, status:CODE, \
                     throttle:CODE:seconds|date:SECS, slow:MS, expire-session, transient-404, \
                     fail-operation, premature-item, wrong-size[:N], wrong-hash, old-item, \
                     skip-ahead[:N], regress, empty-accept, expired-session, \
                     malformed-create[:no-url], wopi-offset-jump[:N]",
                ));
            }
        };
        if parts.next().is_some() {
            return Err(bad("no further `:` parts"));
        }
        Ok(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        let faults = [
            Fault::DropBeforeBody,
            Fault::DropMidBody { after_bytes: 7 },
            Fault::DropAfterBody,
            Fault::LoseAnswer,
            Fault::PartialStore { keep: 10 },
            Fault::PartialStoreLost { keep: 11 },
            Fault::Status(500),
            Fault::Status(502),
            Fault::Throttle {
                status: 503,
                retry_after: RetryAfterForm::Seconds(4),
            },
            Fault::Throttle {
                status: 429,
                retry_after: RetryAfterForm::HttpDate(2),
            },
            Fault::Slow { delay_ms: 250 },
            Fault::ExpireSession,
            Fault::Transient404,
            Fault::FailOperation,
            Fault::PrematureItem,
            Fault::WrongSize { reported: None },
            Fault::WrongSize { reported: Some(0) },
            Fault::WrongHash,
            Fault::OldItem,
            Fault::SkipAhead { bytes: 5 },
            Fault::Regress,
            Fault::EmptyAccept,
            Fault::ExpiredSession,
            Fault::MalformedCreate { no_url: false },
            Fault::MalformedCreate { no_url: true },
            Fault::WopiOffsetJump { bytes: 9 },
        ];
        for fault in faults {
            assert_eq!(fault.to_string().parse::<Fault>().unwrap(), fault);
            let json = serde_json::to_string(&fault).unwrap();
            assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), fault);
        }
    }

    #[test]
    fn malformed_faults_are_refused() {
        for text in [
            "",
            "status",
            "status:404",
            "throttle:500:seconds:1",
            "throttle:429:minutes:1",
            "throttle:429:seconds",
            "slow:soon",
            "lose-answer:3",
            "partial-store",
            "partial-store:0",
            "partial-store-lost:0",
            "drop-mid-body:0",
            "premature-item:1",
            "wrong-size:big",
            "skip-ahead:0",
            "malformed-create:html",
            "wopi-offset-jump:0",
            "regress:3",
        ] {
            assert!(text.parse::<Fault>().is_err(), "{text:?} parsed");
        }
        assert_eq!(
            "skip-ahead".parse::<Fault>().unwrap(),
            Fault::SkipAhead { bytes: 327_680 }
        );
        assert_eq!(
            "wopi-offset-jump".parse::<Fault>().unwrap(),
            Fault::WopiOffsetJump { bytes: 65_536 }
        );
    }

    #[test]
    fn applicability_follows_the_request() {
        assert!(Fault::PartialStore { keep: 1 }.applies_to(RequestKind::Fragment, true));
        assert!(!Fault::PartialStore { keep: 1 }.applies_to(RequestKind::Fragment, false));
        assert!(!Fault::PartialStore { keep: 1 }.applies_to(RequestKind::Status, true));
        assert!(!Fault::LoseAnswer.applies_to(RequestKind::Status, true));
        assert!(Fault::LoseAnswer.applies_to(RequestKind::CreateDrive, false));
        assert!(Fault::Status(504).applies_to(RequestKind::WorkbookCreate, false));
        assert!(!Fault::Status(504).applies_to(RequestKind::Other, false));
        assert!(Fault::Transient404.applies_to(RequestKind::Status, true));
        assert!(!Fault::Transient404.applies_to(RequestKind::WopiUpdate, true));
        assert!(Fault::ExpireSession.applies_to(RequestKind::WopiUpdate, true));
        assert!(Fault::PrematureItem.applies_to(RequestKind::Fragment, true));
        assert!(!Fault::PrematureItem.applies_to(RequestKind::Status, true));
        assert!(Fault::WrongHash.applies_to(RequestKind::Commit, true));
        assert!(Fault::WrongHash.applies_to(RequestKind::SimpleUpload, false));
        assert!(Fault::LoseAnswer.applies_to(RequestKind::SimpleUpload, false));
        assert!(Fault::DropMidBody { after_bytes: 1 }.applies_to(RequestKind::SimpleUpload, false));
        assert!(!Fault::PartialStore { keep: 1 }.applies_to(RequestKind::SimpleUpload, false));
        assert!(Fault::WrongSize { reported: None }.applies_to(RequestKind::ExplicitCommit, false));
        assert!(Fault::ExpiredSession.applies_to(RequestKind::CreateMail, false));
        assert!(!Fault::ExpiredSession.applies_to(RequestKind::WopiCreate, false));
        assert!(Fault::MalformedCreate { no_url: true }.applies_to(RequestKind::WopiCreate, false));
        assert!(
            !Fault::MalformedCreate { no_url: true }.applies_to(RequestKind::WorkbookCreate, false)
        );
        assert!(Fault::PartialStore { keep: 1 }.applies_to(RequestKind::TusAppend, true));
        assert!(Fault::LoseAnswer.applies_to(RequestKind::TusAppend, true));
        assert!(Fault::LoseAnswer.applies_to(RequestKind::TusCreate, false));
        assert!(!Fault::LoseAnswer.applies_to(RequestKind::TusHead, true));
        assert!(Fault::DropMidBody { after_bytes: 1 }.applies_to(RequestKind::TusAppend, true));
        assert!(!Fault::DropMidBody { after_bytes: 1 }.applies_to(RequestKind::TusDelete, true));
        assert!(Fault::ExpireSession.applies_to(RequestKind::TusHead, true));
        assert!(Fault::Regress.applies_to(RequestKind::TusAppend, true));
        assert!(Fault::SkipAhead { bytes: 1 }.applies_to(RequestKind::TusAppend, true));
        assert!(!Fault::PrematureItem.applies_to(RequestKind::TusAppend, true));
        assert!(!Fault::Transient404.applies_to(RequestKind::TusAppend, true));
        assert!(Fault::ExpiredSession.applies_to(RequestKind::TusCreate, false));
        assert!(Fault::MalformedCreate { no_url: false }.applies_to(RequestKind::TusCreate, false));
        let jump = Fault::WopiOffsetJump { bytes: 1 };
        assert!(jump.applies_to(RequestKind::WopiUpdate, true));
        assert!(!jump.applies_to(RequestKind::Fragment, true));
    }
}

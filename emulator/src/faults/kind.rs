//! The kinds of request the emulator tells apart, for statistics and for fault scripts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// What a request asks for. Names are kebab-case (`fragment`, `wopi-update`), the same in
/// `/_emulator/stats` and in fault scripts.
///
/// ```
/// use resumable_emulator::RequestKind;
/// let kind: RequestKind = "fragment".parse().unwrap();
/// assert_eq!(kind, RequestKind::Fragment);
/// assert_eq!("tus-append".parse::<RequestKind>().unwrap(), RequestKind::TusAppend);
/// assert_eq!("simple-upload".parse::<RequestKind>().unwrap(), RequestKind::SimpleUpload);
/// assert_eq!(RequestKind::WopiUpdate.to_string(), "wopi-update");
/// assert!("upload".parse::<RequestKind>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RequestKind {
    /// `createUploadSession` for a drive item.
    CreateDrive,
    /// `createUploadSession` for a print document.
    CreatePrint,
    /// `createUploadSession` for a mail attachment.
    CreateMail,
    /// `PUT {uploadUrl}`: a fragment.
    Fragment,
    /// `GET {uploadUrl}`: where is the server?
    Status,
    /// `DELETE {uploadUrl}`.
    Cancel,
    /// `POST {uploadUrl}`: deferred commit.
    Commit,
    /// `PUT …/items/{parent}:/{name}:` with `@microsoft.graph.sourceUrl`: explicit commit.
    ExplicitCommit,
    /// `PUT …/{parent}:/{name}:/content` with the whole file: a simple upload (no session).
    SimpleUpload,
    /// `GET …/{parent}:/{name}:` (or `GET …/root:/{path}`): a drive item by path.
    GetItem,
    /// `POST …/workbook/createSession`.
    WorkbookCreate,
    /// `GET …/workbook/operations/{id}`.
    WorkbookOperation,
    /// `GET …/workbook/sessionInfoResource(key='…')`.
    WorkbookSessionInfo,
    /// `POST …/workbook/refreshSession`.
    WorkbookRefresh,
    /// `POST …/workbook/closeSession`.
    WorkbookClose,
    /// A sample workbook call: `GET …/workbook/worksheets`.
    WorkbookCall,
    /// WOPI `CREATE_UPLOAD_SESSION`.
    WopiCreate,
    /// WOPI `UPDATE_UPLOAD_SESSION`.
    WopiUpdate,
    /// WOPI `PUT_CHUNKED_FILE`.
    WopiCommit,
    /// WOPI `CheckFileInfo` (`GET /wopi/files/{id}`).
    WopiCheckFileInfo,
    /// tus `OPTIONS /tus/files/`: what the server offers.
    TusOptions,
    /// tus `POST /tus/files/` or IETF draft `POST /ietf/files/`: a new upload (possibly with
    /// its first bytes).
    TusCreate,
    /// tus or IETF draft `HEAD` on an upload: where is the server?
    TusHead,
    /// tus or IETF draft `PATCH` on an upload: the next bytes.
    TusAppend,
    /// tus or IETF draft `DELETE` on an upload (termination).
    TusDelete,
    /// Anything else (unknown routes, malformed WOPI overrides); never faulted.
    Other,
}

impl RequestKind {
    /// Every kind, in a fixed order.
    pub const ALL: [RequestKind; 26] = [
        RequestKind::CreateDrive,
        RequestKind::CreatePrint,
        RequestKind::CreateMail,
        RequestKind::Fragment,
        RequestKind::Status,
        RequestKind::Cancel,
        RequestKind::Commit,
        RequestKind::ExplicitCommit,
        RequestKind::SimpleUpload,
        RequestKind::GetItem,
        RequestKind::WorkbookCreate,
        RequestKind::WorkbookOperation,
        RequestKind::WorkbookSessionInfo,
        RequestKind::WorkbookRefresh,
        RequestKind::WorkbookClose,
        RequestKind::WorkbookCall,
        RequestKind::WopiCreate,
        RequestKind::WopiUpdate,
        RequestKind::WopiCommit,
        RequestKind::WopiCheckFileInfo,
        RequestKind::TusOptions,
        RequestKind::TusCreate,
        RequestKind::TusHead,
        RequestKind::TusAppend,
        RequestKind::TusDelete,
        RequestKind::Other,
    ];

    /// The kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            RequestKind::CreateDrive => "create-drive",
            RequestKind::CreatePrint => "create-print",
            RequestKind::CreateMail => "create-mail",
            RequestKind::Fragment => "fragment",
            RequestKind::Status => "status",
            RequestKind::Cancel => "cancel",
            RequestKind::Commit => "commit",
            RequestKind::ExplicitCommit => "explicit-commit",
            RequestKind::SimpleUpload => "simple-upload",
            RequestKind::GetItem => "get-item",
            RequestKind::WorkbookCreate => "workbook-create",
            RequestKind::WorkbookOperation => "workbook-operation",
            RequestKind::WorkbookSessionInfo => "workbook-session-info",
            RequestKind::WorkbookRefresh => "workbook-refresh",
            RequestKind::WorkbookClose => "workbook-close",
            RequestKind::WorkbookCall => "workbook-call",
            RequestKind::WopiCreate => "wopi-create",
            RequestKind::WopiUpdate => "wopi-update",
            RequestKind::WopiCommit => "wopi-commit",
            RequestKind::WopiCheckFileInfo => "wopi-check-file-info",
            RequestKind::TusOptions => "tus-options",
            RequestKind::TusCreate => "tus-create",
            RequestKind::TusHead => "tus-head",
            RequestKind::TusAppend => "tus-append",
            RequestKind::TusDelete => "tus-delete",
            RequestKind::Other => "other",
        }
    }

    /// Whether the request carries upload bytes (a body worth cutting in the middle). A tus
    /// creation may carry the first bytes (`creation-with-upload`, or the draft's creation with
    /// a body).
    pub const fn carries_upload(self) -> bool {
        matches!(
            self,
            RequestKind::Fragment
                | RequestKind::SimpleUpload
                | RequestKind::WopiUpdate
                | RequestKind::WopiCommit
                | RequestKind::TusCreate
                | RequestKind::TusAppend
        )
    }

    /// Whether the request changes server state (so losing its answer leaves the client unsure).
    pub const fn changes_state(self) -> bool {
        !matches!(
            self,
            RequestKind::Status
                | RequestKind::GetItem
                | RequestKind::WorkbookOperation
                | RequestKind::WorkbookSessionInfo
                | RequestKind::WorkbookCall
                | RequestKind::WopiCheckFileInfo
                | RequestKind::TusOptions
                | RequestKind::TusHead
                | RequestKind::Other
        )
    }

    /// Whether the request addresses an existing session that can expire.
    pub const fn addresses_session(self) -> bool {
        matches!(
            self,
            RequestKind::Fragment
                | RequestKind::Status
                | RequestKind::Commit
                | RequestKind::WopiUpdate
                | RequestKind::WopiCommit
                | RequestKind::WorkbookRefresh
                | RequestKind::WorkbookCall
                | RequestKind::TusHead
                | RequestKind::TusAppend
        )
    }

    /// Whether the request creates a Graph upload session (drive item, print document or mail
    /// attachment).
    pub const fn creates_graph_upload(self) -> bool {
        matches!(
            self,
            RequestKind::CreateDrive | RequestKind::CreatePrint | RequestKind::CreateMail
        )
    }

    /// Whether the request appends bytes to an upload at an offset the client names (Graph
    /// fragments, WOPI updates, tus and IETF draft appends): the requests a partial store can
    /// strike.
    pub const fn appends_bytes(self) -> bool {
        matches!(
            self,
            RequestKind::Fragment | RequestKind::WopiUpdate | RequestKind::TusAppend
        )
    }

    /// Whether the request belongs to a Graph upload session (where `404` may be transient).
    pub const fn is_graph_upload(self) -> bool {
        matches!(
            self,
            RequestKind::Fragment | RequestKind::Status | RequestKind::Commit
        )
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RequestKind {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        RequestKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = RequestKind::ALL.iter().map(|k| k.name()).collect();
                ConfigError::new("request kind", text, format!("one of {}", names.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in RequestKind::ALL {
            assert_eq!(kind.name().parse::<RequestKind>().unwrap(), kind);
            assert!(seen.insert(kind.name()));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
    }
}

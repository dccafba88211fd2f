//! The `invalidSession…` error codes: which ones allow a new session and which ones mean stop.

use alloc::string::String;
use core::fmt;

/// A second-level Graph error code saying the session named in a request is no longer valid.
///
/// Only [`InvalidSessionCode::ReCreatable`] invites a new session. Every other code means that
/// creating a new session with the same request is not expected to work (the workbook is gone,
/// locked by another client, unsupported, or the caller's credentials are wrong), so the session
/// machine stops and names the code instead of recreating blindly.
///
/// ```
/// use resumable_core::workbook::InvalidSessionCode;
/// assert_eq!(InvalidSessionCode::parse("invalidSessionReCreatable"), Some(InvalidSessionCode::ReCreatable));
/// assert_eq!(InvalidSessionCode::parse("INVALIDSESSIONNOTFOUND"), Some(InvalidSessionCode::NotFound));
/// assert_eq!(InvalidSessionCode::parse("itemNotFound"), None);
/// assert!(InvalidSessionCode::ReCreatable.allows_recreation());
/// assert!(!InvalidSessionCode::AccessConflict.allows_recreation());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidSessionCode {
    /// `invalidSessionReCreatable`: the session is gone or broken by a transient error; a new one
    /// may be created and the work resumed.
    ReCreatable,
    /// `invalidSessionNotFound`: the workbook cannot be found.
    NotFound,
    /// `invalidSessionAuthentication`: the credentials do not allow the session.
    Authentication,
    /// `invalidSessionAccessConflict`: another client holds the workbook (for example locked for
    /// editing).
    AccessConflict,
    /// `invalidSessionUnsupportedWorkbook`: the workbook has unsupported features or is too large.
    UnsupportedWorkbook,
    /// `invalidSessionRestricted`: service configuration or restrictions forbid the session.
    Restricted,
    /// `invalidSessionUnexpected`: the service hit an unexpected problem with the session.
    Unexpected,
    /// Another `invalidSession…` code, as the server wrote it. Unknown codes are treated as
    /// final: recreating is only done when the server says it may be.
    Other(String),
}

/// The known codes, spelled as the documentation spells them.
const KNOWN: [(&str, InvalidSessionCode); 7] = [
    ("invalidSessionReCreatable", InvalidSessionCode::ReCreatable),
    ("invalidSessionNotFound", InvalidSessionCode::NotFound),
    (
        "invalidSessionAuthentication",
        InvalidSessionCode::Authentication,
    ),
    (
        "invalidSessionAccessConflict",
        InvalidSessionCode::AccessConflict,
    ),
    (
        "invalidSessionUnsupportedWorkbook",
        InvalidSessionCode::UnsupportedWorkbook,
    ),
    ("invalidSessionRestricted", InvalidSessionCode::Restricted),
    ("invalidSessionUnexpected", InvalidSessionCode::Unexpected),
];

const PREFIX: &str = "invalidSession";

impl InvalidSessionCode {
    /// Reads a Graph error code, ASCII case-insensitively (Graph error codes are
    /// case-insensitive). `None` if it is not an `invalidSession…` code.
    pub fn parse(code: &str) -> Option<InvalidSessionCode> {
        let code = code.trim();
        if let Some((_, known)) = KNOWN
            .iter()
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(code))
        {
            return Some(known.clone());
        }
        let prefix = code.get(..PREFIX.len())?;
        prefix
            .eq_ignore_ascii_case(PREFIX)
            .then(|| InvalidSessionCode::Other(String::from(code)))
    }

    /// The code as the documentation spells it (an [`InvalidSessionCode::Other`] as received).
    pub fn as_str(&self) -> &str {
        match self {
            InvalidSessionCode::Other(code) => code,
            known => KNOWN
                .iter()
                .find(|(_, k)| k == known)
                .map_or(PREFIX, |(spelling, _)| spelling),
        }
    }

    /// Whether the server invites a new session (only `invalidSessionReCreatable` does).
    pub fn allows_recreation(&self) -> bool {
        matches!(self, InvalidSessionCode::ReCreatable)
    }
}

impl fmt::Display for InvalidSessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_known_code_round_trips_in_any_case() {
        for (spelling, code) in KNOWN.iter() {
            assert_eq!(InvalidSessionCode::parse(spelling).as_ref(), Some(code));
            assert_eq!(
                InvalidSessionCode::parse(&spelling.to_ascii_uppercase()).as_ref(),
                Some(code)
            );
            assert_eq!(code.as_str(), *spelling);
            assert_eq!(code.to_string(), *spelling);
        }
    }

    #[test]
    fn unknown_invalid_session_codes_are_kept_and_final() {
        let code = InvalidSessionCode::parse("invalidSessionSomethingNew").unwrap();
        assert_eq!(
            code,
            InvalidSessionCode::Other("invalidSessionSomethingNew".into())
        );
        assert_eq!(code.as_str(), "invalidSessionSomethingNew");
        assert!(!code.allows_recreation());
    }

    #[test]
    fn other_codes_are_not_session_codes() {
        for code in [
            "",
            "invalid",
            "itemNotFound",
            "accessConflict",
            "invalidSessio",
            "é",
        ] {
            assert_eq!(InvalidSessionCode::parse(code), None, "{code:?}");
        }
    }
}

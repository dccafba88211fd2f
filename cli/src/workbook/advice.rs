//! What to do about a workbook session that failed: the last line of `resumable workbook open`
//! and the `hint` of its JSON `failed` object.

use resumable_core::http::RequestKind;
use resumable_core::workbook::{InvalidSessionCode, WorkbookError};
use resumable_reqwest::workbook::SessionError;

/// The message `main` prints for a session that did not close cleanly: what happened (with the
/// service's codes), then what to do.
pub(crate) fn for_session_error(error: &SessionError) -> String {
    match error {
        SessionError::Failed(error) => format!("{error}; {}", hint(error)),
        SessionError::Closed => {
            "the workbook session was closed before the command closed it".into()
        }
        _ => format!(
            "{error}; if a session was created, it expires on its own after the inactivity limit"
        ),
    }
}

/// What the user can do about `error`.
pub(crate) fn hint(error: &WorkbookError) -> String {
    match error {
        WorkbookError::Rejected { status: 401, .. } => {
            "the access token was refused: get a new one and set RESUMABLE_TOKEN (or pass --token)".into()
        }
        WorkbookError::Rejected { status: 403, .. } => {
            "the token may not open this workbook: use one with Files.ReadWrite (or Files.ReadWrite.All, Sites.ReadWrite.All for other users' files) that can edit it".into()
        }
        WorkbookError::Rejected {
            status: 404,
            request: RequestKind::CreateSession,
            ..
        } => "no workbook at this URL: check the item id or path (the file must be an .xlsx in OneDrive or SharePoint)".into(),
        WorkbookError::Rejected { status: 400 | 405 | 415, .. } => {
            "the service does not take this as a workbook request: check that the URL is the workbook base of an .xlsx file".into()
        }
        WorkbookError::Rejected { status, .. } => {
            format!("the service refused the request (HTTP {status}); check the URL and the token")
        }
        WorkbookError::OperationFailed { .. } => {
            "the service could not create the session; the codes above say why: try again later, or open the workbook in Excel to check it".into()
        }
        WorkbookError::CreationTimedOut { .. } => {
            "the service is still creating the session: try again later".into()
        }
        WorkbookError::SessionInvalid { code, .. } => invalid_session_hint(code).into(),
        WorkbookError::GaveUp { .. } => {
            "the service kept failing: try again later, or with more --retries".into()
        }
        WorkbookError::RecreationBudgetExhausted { .. } => {
            "every new session expired at once: if --inactivity is longer than the service's limit, shorten it".into()
        }
        WorkbookError::MalformedAnswer { .. } => {
            "the answers are not Graph workbook answers: check that the URL points at Microsoft Graph (or an emulator of it)".into()
        }
        WorkbookError::Transport { .. } => {
            "the service could not be reached: check the URL and the network".into()
        }
        _ => "see the message above".into(),
    }
}

/// What to do about a session the service declared invalid, by code (SPEC 3: none of these is
/// fixed by opening another session at once).
fn invalid_session_hint(code: &InvalidSessionCode) -> &'static str {
    match code {
        InvalidSessionCode::ReCreatable => "open a new session",
        InvalidSessionCode::NotFound => "the workbook is gone (deleted or moved): check the URL",
        InvalidSessionCode::Authentication => {
            "the token no longer grants access to the workbook: get a new one and set RESUMABLE_TOKEN"
        }
        InvalidSessionCode::AccessConflict => {
            "another client holds the workbook (it may be locked for editing): close it there, or try again later"
        }
        InvalidSessionCode::UnsupportedWorkbook => {
            "the workbook has features the service cannot open in a session, or is too large: open it in Excel to check"
        }
        InvalidSessionCode::Restricted => {
            "the tenant's configuration forbids sessions on this workbook: ask its administrator"
        }
        InvalidSessionCode::Unexpected => "the service hit an unexpected problem: try again later",
        _ => "the service refused the session: try again later",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::workbook::GraphError;

    fn graph_error(code: &str, inner: &[&str]) -> GraphError {
        GraphError {
            code: code.into(),
            message: "Details.".into(),
            inner_codes: inner.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        let rejected = |status| {
            SessionError::Failed(WorkbookError::Rejected {
                request: RequestKind::CreateSession,
                status,
                error: Some(graph_error("accessDenied", &[])),
            })
        };
        assert_eq!(
            for_session_error(&rejected(401)),
            "createSession refused with HTTP 401: accessDenied: Details.; the access token was refused: get a new one and set RESUMABLE_TOKEN (or pass --token)"
        );
        assert!(for_session_error(&rejected(403)).contains("Files.ReadWrite"));
        assert!(for_session_error(&rejected(404)).contains("check the item id or path"));
    }

    #[test]
    fn failed_operations_keep_their_codes() {
        let failed = SessionError::Failed(WorkbookError::OperationFailed {
            error: Some(graph_error("internalServerError", &["workbookTooLarge"])),
        });
        let message = for_session_error(&failed);
        assert!(
            message.contains("internalServerError: Details. (inner codes: workbookTooLarge)"),
            "{message}"
        );
        assert!(
            message.contains("could not create the session"),
            "{message}"
        );
    }

    #[test]
    fn every_invalid_session_code_has_its_own_advice() {
        let codes = [
            InvalidSessionCode::NotFound,
            InvalidSessionCode::Authentication,
            InvalidSessionCode::AccessConflict,
            InvalidSessionCode::UnsupportedWorkbook,
            InvalidSessionCode::Restricted,
            InvalidSessionCode::Unexpected,
        ];
        let mut seen = std::collections::HashSet::new();
        for code in codes {
            let error = WorkbookError::SessionInvalid {
                code: code.clone(),
                error: graph_error("badRequest", &[&code.to_string()]),
            };
            let message = for_session_error(&SessionError::Failed(error));
            assert!(message.contains(&code.to_string()), "{message}");
            assert!(seen.insert(hint_of(&message)), "{message}");
        }
    }

    fn hint_of(message: &str) -> String {
        message
            .rsplit_once("; ")
            .map(|(_, hint)| hint.to_owned())
            .unwrap()
    }
}

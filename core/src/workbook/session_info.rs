//! The session resource: `{"id": ..., "persistChanges": ...}`.

use serde_json::Value;

use super::error::AnswerProblem;
use crate::json::{json_object, property, string_property};
use crate::secret::Secret;

/// A workbook session as `createSession` (201) or the operation's `resourceLocation` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SessionInfo {
    /// The session id: it grants access to the session, so it stays wrapped.
    pub(crate) id: Secret,
    /// Whether the server says changes persist; `None` if it did not say.
    pub(crate) persist_changes: Option<bool>,
}

impl SessionInfo {
    /// Reads a session body. The id must be a non-empty string.
    pub(crate) fn parse(body: &[u8]) -> Result<SessionInfo, AnswerProblem> {
        let object = json_object(body).ok_or(AnswerProblem::NotJson)?;
        let id = string_property(&object, "id")
            .filter(|id| !id.is_empty())
            .ok_or(AnswerProblem::MissingProperty("id"))?;
        Ok(SessionInfo {
            id: Secret::new(id),
            persist_changes: property(&object, "persistChanges").and_then(Value::as_bool),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_bodies() {
        let info = SessionInfo::parse(
            br#"{"@odata.context":"x","id":"cluster=PN1&session=15.SN3","persistChanges":false}"#,
        )
        .unwrap();
        assert_eq!(info.id.expose(), "cluster=PN1&session=15.SN3");
        assert_eq!(info.persist_changes, Some(false));
        let pascal = SessionInfo::parse(br#"{"Id":"s","PersistChanges":true}"#).unwrap();
        assert_eq!(
            (pascal.id.expose(), pascal.persist_changes),
            ("s", Some(true))
        );
        let unsaid = SessionInfo::parse(br#"{"id":"s"}"#).unwrap();
        assert_eq!(unsaid.persist_changes, None);
    }

    #[test]
    fn bodies_without_an_id_are_refused() {
        for body in [
            &br#"{}"#[..],
            br#"{"id":""}"#,
            br#"{"id":42}"#,
            br#"{"id":null}"#,
        ] {
            assert_eq!(
                SessionInfo::parse(body),
                Err(AnswerProblem::MissingProperty("id")),
                "{body:?}"
            );
        }
        assert_eq!(SessionInfo::parse(b""), Err(AnswerProblem::NotJson));
    }
}

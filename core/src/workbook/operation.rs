//! The long-running operation behind `Prefer: respond-async`: its status and the poll answer.

use alloc::string::String;
use core::fmt;

use super::error::AnswerProblem;
use super::graph_error::GraphError;
use crate::json::{json_object, property, string_property};

/// The status of a long-running session creation, as a poll of the operation reports it.
///
/// The Graph guide spells the statuses `notStarted`, `running`, `succeeded`, `failed`; the
/// resource reference spells them `NotStarted`, `Running`, `Completed`, `Failed`. Both are
/// accepted in any case.
///
/// ```
/// use resumable_core::workbook::OperationStatus;
/// assert_eq!(OperationStatus::parse("notStarted"), Some(OperationStatus::NotStarted));
/// assert_eq!(OperationStatus::parse("Completed"), Some(OperationStatus::Succeeded));
/// assert_eq!(OperationStatus::parse("SUCCEEDED"), Some(OperationStatus::Succeeded));
/// assert_eq!(OperationStatus::parse("paused"), None);
/// assert!(OperationStatus::Failed.is_finished());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationStatus {
    /// Queued; poll again.
    NotStarted,
    /// In progress; poll again.
    Running,
    /// Done: the session exists at the operation's `resourceLocation`. Polling stops here.
    Succeeded,
    /// Done without a session; the answer's `error` says why.
    Failed,
}

impl OperationStatus {
    /// Reads a status in either documented spelling, ASCII case-insensitively.
    pub fn parse(text: &str) -> Option<OperationStatus> {
        let text = text.trim();
        let spellings = [
            ("notStarted", OperationStatus::NotStarted),
            ("running", OperationStatus::Running),
            ("succeeded", OperationStatus::Succeeded),
            ("completed", OperationStatus::Succeeded),
            ("failed", OperationStatus::Failed),
        ];
        spellings
            .iter()
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(text))
            .map(|&(_, status)| status)
    }

    /// The status as the Graph guide spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            OperationStatus::NotStarted => "notStarted",
            OperationStatus::Running => "running",
            OperationStatus::Succeeded => "succeeded",
            OperationStatus::Failed => "failed",
        }
    }

    /// Whether the operation is over (succeeded or failed): no further poll is useful.
    pub const fn is_finished(self) -> bool {
        matches!(self, OperationStatus::Succeeded | OperationStatus::Failed)
    }
}

impl fmt::Display for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a successful (2xx) poll of the operation says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OperationAnswer {
    /// Not finished yet.
    Pending(OperationStatus),
    /// Finished: the session is at this URL (possibly relative).
    Succeeded { resource_location: String },
    /// Finished without a session; the error object, if the server wrote one.
    Failed { error: Option<GraphError> },
}

impl OperationAnswer {
    /// Reads a poll answer body: `{"id": ..., "status": ..., "resourceLocation": ..., "error": ...}`.
    /// The HTTP status of a failed operation is 200, so the body decides.
    pub(crate) fn parse(body: &[u8]) -> Result<OperationAnswer, AnswerProblem> {
        let object = json_object(body).ok_or(AnswerProblem::NotJson)?;
        let text =
            string_property(&object, "status").ok_or(AnswerProblem::MissingProperty("status"))?;
        let status =
            OperationStatus::parse(text).ok_or_else(|| AnswerProblem::unknown_status(text))?;
        Ok(match status {
            OperationStatus::NotStarted | OperationStatus::Running => {
                OperationAnswer::Pending(status)
            }
            OperationStatus::Succeeded => OperationAnswer::Succeeded {
                resource_location: string_property(&object, "resourceLocation")
                    .filter(|location| !location.trim().is_empty())
                    .ok_or(AnswerProblem::MissingProperty("resourceLocation"))?
                    .trim()
                    .into(),
            },
            OperationStatus::Failed => OperationAnswer::Failed {
                error: property(&object, "error").and_then(GraphError::from_value),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn every_spelling_in_any_case() {
        let cases = [
            ("notStarted", OperationStatus::NotStarted),
            ("NotStarted", OperationStatus::NotStarted),
            ("NOTSTARTED", OperationStatus::NotStarted),
            ("running", OperationStatus::Running),
            ("Running", OperationStatus::Running),
            ("succeeded", OperationStatus::Succeeded),
            ("Completed", OperationStatus::Succeeded),
            ("completed", OperationStatus::Succeeded),
            ("failed", OperationStatus::Failed),
            ("Failed", OperationStatus::Failed),
            (" running ", OperationStatus::Running),
        ];
        for (text, status) in cases {
            assert_eq!(OperationStatus::parse(text), Some(status), "{text:?}");
        }
        for text in ["", "not started", "done", "unknownFutureValue", "runnin"] {
            assert_eq!(OperationStatus::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn poll_answers() {
        assert_eq!(
            OperationAnswer::parse(br#"{"id":"op","status":"Running"}"#),
            Ok(OperationAnswer::Pending(OperationStatus::Running))
        );
        assert_eq!(
            OperationAnswer::parse(
                br#"{"id":"op","Status":"succeeded","ResourceLocation":" https://g/s(key='1') "}"#
            ),
            Ok(OperationAnswer::Succeeded {
                resource_location: "https://g/s(key='1')".into()
            })
        );
        let failed = OperationAnswer::parse(
            br#"{"status":"failed","error":{"code":"x","message":"m","innerError":{"code":"y"}}}"#,
        )
        .unwrap();
        let OperationAnswer::Failed { error: Some(error) } = failed else {
            panic!("{failed:?}");
        };
        assert_eq!((error.code.as_str(), error.message.as_str()), ("x", "m"));
        assert_eq!(error.inner_codes, vec!["y"]);
        assert_eq!(
            OperationAnswer::parse(br#"{"status":"Failed"}"#),
            Ok(OperationAnswer::Failed { error: None })
        );
    }

    #[test]
    fn malformed_poll_answers_are_typed_problems() {
        assert_eq!(OperationAnswer::parse(b""), Err(AnswerProblem::NotJson));
        assert_eq!(
            OperationAnswer::parse(br#"{"id":"op"}"#),
            Err(AnswerProblem::MissingProperty("status"))
        );
        assert_eq!(
            OperationAnswer::parse(br#"{"status":7}"#),
            Err(AnswerProblem::MissingProperty("status"))
        );
        assert_eq!(
            OperationAnswer::parse(br#"{"status":"succeeded"}"#),
            Err(AnswerProblem::MissingProperty("resourceLocation"))
        );
        assert_eq!(
            OperationAnswer::parse(br#"{"status":"paused"}"#),
            Err(AnswerProblem::UnknownStatus("paused".into()))
        );
    }
}

//! What was wrong with an answer.

use alloc::string::String;
use core::fmt;

/// What was wrong with an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// The body is not a JSON object.
    NotJson,
    /// A required property is missing or has the wrong type.
    MissingProperty(&'static str),
    /// The operation status is none of the documented ones (kept up to 64 bytes).
    UnknownStatus(String),
    /// A `202` without a `Location` header.
    MissingLocation,
    /// A `Location` or `resourceLocation` that does not resolve to an `http`/`https` URL.
    BadLocation,
}

impl AnswerProblem {
    /// An unknown status, cut to 64 bytes so a hostile answer cannot bloat the error.
    pub(crate) fn unknown_status(text: &str) -> AnswerProblem {
        let mut end = text.len().min(64);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        AnswerProblem::UnknownStatus(String::from(&text[..end]))
    }
}

impl fmt::Display for AnswerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerProblem::NotJson => f.write_str("the body is not a JSON object"),
            AnswerProblem::MissingProperty(name) => {
                write!(f, "property `{name}` is missing or not of the right type")
            }
            AnswerProblem::UnknownStatus(status) => {
                write!(f, "unknown operation status {status:?}")
            }
            AnswerProblem::MissingLocation => f.write_str("202 Accepted without a Location header"),
            AnswerProblem::BadLocation => {
                f.write_str("the location does not resolve to an http or https URL")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn unknown_status_is_bounded() {
        let long = "é".repeat(100);
        let AnswerProblem::UnknownStatus(kept) = AnswerProblem::unknown_status(&long) else {
            unreachable!()
        };
        assert!(kept.len() <= 64 && long.starts_with(&kept));
        assert_eq!(
            AnswerProblem::UnknownStatus("paused".into()).to_string(),
            "unknown operation status \"paused\""
        );
    }
}

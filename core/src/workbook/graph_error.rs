//! Graph error objects: `code`, `message` and the chain of `innerError` codes.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde_json::{Map, Value};

use super::invalid_session::InvalidSessionCode;
use crate::json::{json_object, property, string_property};

/// How deep an `innerError` chain is followed. Real chains have two or three levels; a hostile
/// body could nest thousands, and the codes past this depth would only bloat the error.
const MAX_INNER_DEPTH: usize = 16;

/// The longest code or message kept, in bytes. Longer text is cut at a character boundary, so a
/// hostile answer cannot make an error value (and every log line printing it) arbitrarily large.
const MAX_TEXT: usize = 1024;

/// An error object as the Excel APIs in Graph write it, in a regular error answer
/// (`{"error": {...}}`) or inside a failed long-running operation (`{"status": "failed",
/// "error": {...}}`).
///
/// The top-level `code` is bound to the HTTP status (`invalidRequest`, `resourceNotFound`, ...);
/// the specific reason is usually in the first `innerError` (`invalidSessionReCreatable`,
/// `accessConflict`, ...). Codes are case-insensitive.
///
/// ```
/// use resumable_core::workbook::GraphError;
/// let body = br#"{"error": {"code": "itemNotFound", "message": "Not here",
///     "innerError": {"code": "invalidSessionReCreatable", "innerError": {"code": "sessionGone"}}}}"#;
/// let error = GraphError::from_body(body).unwrap();
/// assert_eq!(error.code, "itemNotFound");
/// assert_eq!(error.message, "Not here");
/// assert_eq!(error.inner_codes, ["invalidSessionReCreatable", "sessionGone"]);
/// assert!(error.has_code("INVALIDSESSIONRECREATABLE"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphError {
    /// The top-level code (empty if the server gave none).
    pub code: String,
    /// The top-level message, for developers (empty if the server gave none). Do not branch on
    /// it: Microsoft says messages change at any time.
    pub message: String,
    /// The codes of the nested `innerError` objects, outermost first.
    pub inner_codes: Vec<String>,
}

impl GraphError {
    /// Reads the `error` object of an answer body. `None` if the body is not a JSON object with an
    /// `error` object in it.
    pub fn from_body(body: &[u8]) -> Option<GraphError> {
        let object = json_object(body)?;
        GraphError::from_value(property(&object, "error")?)
    }

    /// Reads an error object itself (`{"code": ..., "message": ..., "innerError": ...}`).
    /// `None` if `value` is not an object.
    pub(crate) fn from_value(value: &Value) -> Option<GraphError> {
        let object = value.as_object()?;
        let mut inner_codes = Vec::new();
        let mut inner = inner_error(object);
        while let Some(level) = inner {
            if inner_codes.len() == MAX_INNER_DEPTH {
                break;
            }
            if let Some(code) = string_property(level, "code").filter(|c| !c.is_empty()) {
                inner_codes.push(bounded(code));
            }
            inner = inner_error(level);
        }
        Some(GraphError {
            code: string_property(object, "code").map_or_else(String::new, bounded),
            message: string_property(object, "message").map_or_else(String::new, bounded),
            inner_codes,
        })
    }

    /// Every code, the top-level one first, then the inner ones outermost first.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        core::iter::once(self.code.as_str())
            .chain(self.inner_codes.iter().map(String::as_str))
            .filter(|code| !code.is_empty())
    }

    /// Whether any code in the chain is `code` (ASCII case-insensitive).
    pub fn has_code(&self, code: &str) -> bool {
        self.codes().any(|c| c.eq_ignore_ascii_case(code))
    }

    /// The first `invalidSession…` code in the chain, if any.
    ///
    /// ```
    /// use resumable_core::workbook::{GraphError, InvalidSessionCode};
    /// let body = br#"{"error":{"code":"badRequest","innerError":{"code":"invalidSessionAccessConflict"}}}"#;
    /// let error = GraphError::from_body(body).unwrap();
    /// assert_eq!(error.invalid_session_code(), Some(InvalidSessionCode::AccessConflict));
    /// ```
    pub fn invalid_session_code(&self) -> Option<InvalidSessionCode> {
        self.codes().find_map(InvalidSessionCode::parse)
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = if self.code.is_empty() {
            "(no code)"
        } else {
            &self.code
        };
        f.write_str(code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if !self.inner_codes.is_empty() {
            f.write_str(" (inner codes:")?;
            for inner in &self.inner_codes {
                write!(f, " {inner}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn inner_error(object: &Map<String, Value>) -> Option<&Map<String, Value>> {
    property(object, "innerError").and_then(Value::as_object)
}

fn bounded(text: &str) -> String {
    if text.len() <= MAX_TEXT {
        return String::from(text);
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    String::from(&text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn failed_operation_error_object_is_read() {
        let value: Value = serde_json::from_str(
            r#"{"code":"internalServerError","message":"The operation failed.",
                "InnerError":{"code":"unsupportedWorkbook","message":"too big",
                  "innererror":{"code":"workbookTooLarge"}}}"#,
        )
        .unwrap();
        let error = GraphError::from_value(&value).unwrap();
        assert_eq!(error.code, "internalServerError");
        assert_eq!(error.message, "The operation failed.");
        assert_eq!(
            error.inner_codes,
            ["unsupportedWorkbook", "workbookTooLarge"]
        );
        assert_eq!(
            error.to_string(),
            "internalServerError: The operation failed. (inner codes: unsupportedWorkbook workbookTooLarge)"
        );
    }

    #[test]
    fn missing_parts_are_empty_not_errors() {
        let error = GraphError::from_body(br#"{"error":{}}"#).unwrap();
        assert_eq!(error.codes().count(), 0);
        assert_eq!(error.to_string(), "(no code)");
        let odata = GraphError::from_body(
            br#"{"error":{"code":"x","innerError":{"@odata.type":"odata.error"}}}"#,
        )
        .unwrap();
        assert!(odata.inner_codes.is_empty());
        // Wrong types are ignored rather than trusted.
        let typed = GraphError::from_body(br#"{"error":{"code":5,"message":[],"innerError":"x"}}"#)
            .unwrap();
        assert_eq!(typed.code, "");
        assert_eq!(typed.message, "");
    }

    #[test]
    fn bodies_without_an_error_object_give_none() {
        for body in [&b""[..], b"{}", b"{\"error\":\"x\"}", b"[1]", b"not json"] {
            assert_eq!(GraphError::from_body(body), None, "{body:?}");
        }
    }

    #[test]
    fn hostile_depth_and_length_are_bounded() {
        let mut body = String::from("{\"error\":{\"code\":\"top\"");
        for level in 0..100 {
            body.push_str(&format!(",\"innerError\":{{\"code\":\"c{level}\""));
        }
        body.push_str(&"}".repeat(102));
        let error = GraphError::from_body(body.as_bytes()).unwrap();
        assert_eq!(error.inner_codes.len(), MAX_INNER_DEPTH);
        assert_eq!(error.inner_codes[0], "c0");

        let long = "é".repeat(MAX_TEXT);
        let body = format!("{{\"error\":{{\"code\":\"x\",\"message\":\"{long}\"}}}}");
        let error = GraphError::from_body(body.as_bytes()).unwrap();
        assert!(error.message.len() <= MAX_TEXT);
        assert!(long.starts_with(&error.message));
    }

    #[test]
    fn invalid_session_code_is_found_anywhere_in_the_chain() {
        let top = GraphError::from_body(br#"{"error":{"code":"InvalidSessionNotFound"}}"#).unwrap();
        assert_eq!(
            top.invalid_session_code(),
            Some(InvalidSessionCode::NotFound)
        );
        let none = GraphError::from_body(br#"{"error":{"code":"itemNotFound"}}"#).unwrap();
        assert_eq!(none.invalid_session_code(), None);
    }
}

//! Reading JSON answers whatever the casing of their property names.
//!
//! Graph writes `nextExpectedRanges`, `persistChanges`, `resourceLocation` and `innerError`, but
//! the same services also answer in PascalCase (`NextExpectedRanges` stalled one SDK), OData error
//! objects appear as `innererror`, and WOPI hosts write `UploadSessionToken` in whatever case their
//! JSON library likes. Every property the machines read goes through [`property`], so none of them
//! depends on the server's casing.

use alloc::string::String;

use serde_json::{Map, Value};

/// The value of property `name` in `object`, matched ASCII case-insensitively. An exact match
/// wins over a differently cased one, so a body that carries both is read predictably.
pub(crate) fn property<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// The string value of property `name`, if it is present and a string.
pub(crate) fn string_property<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    property(object, name).and_then(Value::as_str)
}

/// Parses an answer body as a JSON object; `None` for anything else (empty, not JSON, an array).
pub(crate) fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case_and_exact_wins() {
        let object = json_object(br#"{"PersistChanges": true, "id": "a", "ID": "b"}"#).unwrap();
        assert_eq!(
            property(&object, "persistChanges"),
            Some(&Value::Bool(true))
        );
        assert_eq!(string_property(&object, "id"), Some("a"));
        // Two differently cased candidates and no exact match: either is acceptable.
        assert!(matches!(string_property(&object, "Id"), Some("a" | "b")));
        assert_eq!(property(&object, "missing"), None);
    }

    #[test]
    fn non_objects_are_refused() {
        for body in [&b""[..], b"[]", b"null", b"\"id\"", b"{", b"{\"id\":}"] {
            assert!(json_object(body).is_none(), "{body:?}");
        }
    }
}

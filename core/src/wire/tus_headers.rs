//! tus 1.0 and IETF resumable-upload header names, and the readings of their values: lists,
//! offsets, metadata, `Upload-Limit`, structured-field booleans, and `Location` resolution.

use alloc::string::String;
use alloc::vec::Vec;

use crate::digest::base64_string;

/// `Tus-Resumable`: the protocol version, on every tus request but `OPTIONS`.
pub const RESUMABLE: &str = "Tus-Resumable";
/// The one tus version this client speaks.
pub const TUS_VERSION_1: &str = "1.0.0";
/// `Tus-Version`: the versions a server supports (`OPTIONS`, `412`).
pub const VERSION: &str = "Tus-Version";
/// `Tus-Extension`: the extensions a server offers.
pub const EXTENSION: &str = "Tus-Extension";
/// `Tus-Max-Size`: the largest upload a server accepts.
pub const MAX_SIZE: &str = "Tus-Max-Size";
/// `Tus-Checksum-Algorithm`: the checksum algorithms a server offers.
pub const CHECKSUM_ALGORITHM: &str = "Tus-Checksum-Algorithm";
/// `Upload-Offset`: bytes the server holds (answers), where a request's bytes start (requests).
pub const OFFSET: &str = "Upload-Offset";
/// `Upload-Length`: the upload's size.
pub const LENGTH: &str = "Upload-Length";
/// `Upload-Defer-Length: 1`: the size is not known yet.
pub const DEFER_LENGTH: &str = "Upload-Defer-Length";
/// `Upload-Metadata`: `key base64(value)` pairs.
pub const METADATA: &str = "Upload-Metadata";
/// `Upload-Expires`: when an unfinished upload may be gone (an HTTP date).
pub const EXPIRES: &str = "Upload-Expires";
/// `Upload-Checksum`: `{algorithm} {base64 digest}` of the request's body.
pub const CHECKSUM: &str = "Upload-Checksum";
/// `Content-Type` of a tus `PATCH` (and of a creation carrying bytes).
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// `Content-Type` of an IETF draft append.
pub const PARTIAL_UPLOAD: &str = "application/partial-upload";
/// IETF draft: `Upload-Complete: ?1|?0`.
pub const COMPLETE: &str = "Upload-Complete";
/// IETF draft: `Upload-Draft-Interop-Version`.
pub const INTEROP_VERSION: &str = "Upload-Draft-Interop-Version";
/// IETF draft: `Upload-Limit`, a dictionary of limits.
pub const LIMIT: &str = "Upload-Limit";

/// The extensions `Tus-Extension` may list that this client uses.
pub mod extension {
    /// `POST` creates uploads.
    pub const CREATION: &str = "creation";
    /// The creation `POST` may carry the first bytes.
    pub const CREATION_WITH_UPLOAD: &str = "creation-with-upload";
    /// The length may be given later (`Upload-Defer-Length: 1`).
    pub const CREATION_DEFER_LENGTH: &str = "creation-defer-length";
    /// `Upload-Expires`.
    pub const EXPIRATION: &str = "expiration";
    /// `Upload-Checksum`.
    pub const CHECKSUM: &str = "checksum";
    /// `DELETE`.
    pub const TERMINATION: &str = "termination";
}

/// The items of a comma-separated header value, trimmed, empty ones left out.
///
/// ```
/// use resumable_core::wire::tus_headers::list;
/// assert_eq!(list(" creation, termination ,,"), ["creation", "termination"]);
/// ```
pub fn list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

/// An offset or length: ASCII digits only (no sign, no spaces inside), fitting `u64`.
///
/// ```
/// use resumable_core::wire::tus_headers::non_negative;
/// assert_eq!(non_negative(" 42 "), Some(42));
/// assert_eq!(non_negative("-1"), None);
/// assert_eq!(non_negative("1e3"), None);
/// assert_eq!(non_negative("99999999999999999999"), None);
/// ```
pub fn non_negative(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A structured-field boolean (`?1`, `?0`).
///
/// ```
/// use resumable_core::wire::tus_headers::sf_boolean;
/// assert_eq!(sf_boolean("?1"), Some(true));
/// assert_eq!(sf_boolean("?0"), Some(false));
/// assert_eq!(sf_boolean("1"), None);
/// ```
pub fn sf_boolean(value: &str) -> Option<bool> {
    match value.trim() {
        "?1" => Some(true),
        "?0" => Some(false),
        _ => None,
    }
}

/// Whether `key` may be an `Upload-Metadata` key: non-empty ASCII, printable, without spaces or
/// commas.
pub fn is_metadata_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// The `Upload-Metadata` value for `pairs`: `key base64(utf-8 value)`, comma-separated (an
/// empty value is sent as the key alone). Keys must pass [`is_metadata_key`].
///
/// ```
/// use resumable_core::wire::tus_headers::metadata;
/// let pairs = [("filename".to_owned(), "世界.txt".to_owned()), ("empty".to_owned(), String::new())];
/// assert_eq!(metadata(&pairs), "filename 5LiW55WMLnR4dA==,empty");
/// ```
pub fn metadata(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(key);
        if !value.is_empty() {
            out.push(' ');
            out.push_str(&base64_string(value.as_bytes()));
        }
    }
    out
}

/// The limits of an IETF draft `Upload-Limit` dictionary this client acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadLimit {
    /// `max-size`: the largest upload.
    pub max_size: Option<u64>,
    /// `max-append-size`: the most bytes one append may carry.
    pub max_append_size: Option<u64>,
    /// `min-append-size`: the fewest bytes an append other than the last may carry.
    pub min_append_size: Option<u64>,
    /// `max-age`: seconds the upload has left.
    pub max_age: Option<u64>,
}

/// Reads an `Upload-Limit` dictionary. Unknown keys are ignored; a known key whose value is not
/// a non-negative integer makes the whole field ignored (`None`), as the draft says.
///
/// ```
/// use resumable_core::wire::tus_headers::upload_limit;
/// let limit = upload_limit("min-size=0, max-append-size=1000, x-other=\"a\", max-age=60").unwrap();
/// assert_eq!((limit.max_append_size, limit.max_age, limit.max_size), (Some(1000), Some(60), None));
/// assert_eq!(upload_limit("max-size=?1"), None);
/// // A comma inside a quoted string does not start a member.
/// assert_eq!(upload_limit(r#"x="a,max-size=1,b", max-age=9"#).unwrap().max_size, None);
/// ```
pub fn upload_limit(value: &str) -> Option<UploadLimit> {
    let mut limit = UploadLimit::default();
    for member in members(value) {
        let member = member.trim();
        if member.is_empty() {
            continue;
        }
        let (key, item) = member.split_once('=').unwrap_or((member, "?1"));
        // Parameters (`;a=b`) belong to the item and are not limits.
        let item = item.split(';').next().unwrap_or(item);
        let slot = match key.trim() {
            "max-size" => &mut limit.max_size,
            "max-append-size" => &mut limit.max_append_size,
            "min-append-size" => &mut limit.min_append_size,
            "max-age" => &mut limit.max_age,
            "min-size" => {
                non_negative(item)?;
                continue;
            }
            _ => continue,
        };
        *slot = Some(non_negative(item)?);
    }
    Some(limit)
}

/// The members of a structured-field dictionary: split at commas outside quoted strings.
fn members(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// Why a `Location` cannot be used as an upload URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationError {
    /// It is empty.
    Empty,
    /// It is absolute but not `http(s)`, or carries user information.
    NotHttp,
}

/// Resolves a `Location` against the URL of the request it answered (RFC 3986 reference
/// resolution for the forms servers use: absolute, scheme-relative `//host/p`, absolute path
/// `/p`, and relative path `p` or `../p`). The result must be `http(s)` without user
/// information.
///
/// ```
/// use resumable_core::wire::tus_headers::resolve_location;
/// let base = "http://127.0.0.1:1082/files/?a=1";
/// assert_eq!(resolve_location(base, "/files/abc").unwrap(), "http://127.0.0.1:1082/files/abc");
/// assert_eq!(resolve_location(base, "abc").unwrap(), "http://127.0.0.1:1082/files/abc");
/// assert_eq!(resolve_location("http://h/files", "abc").unwrap(), "http://h/abc");
/// assert_eq!(resolve_location("http://h/a/b/", "../c").unwrap(), "http://h/a/c");
/// assert_eq!(resolve_location(base, "//other:9/x").unwrap(), "http://other:9/x");
/// assert_eq!(resolve_location(base, "https://cdn.example/u/1").unwrap(), "https://cdn.example/u/1");
/// assert_eq!(resolve_location("http://h/upload.php", "?id=5").unwrap(), "http://h/upload.php?id=5");
/// assert!(resolve_location(base, "ftp://x/y").is_err());
/// assert!(resolve_location(base, "http://user:pw@x/y").is_err());
/// ```
pub fn resolve_location(base: &str, location: &str) -> Result<String, LocationError> {
    let location = location.trim();
    if location.is_empty() {
        return Err(LocationError::Empty);
    }
    let scheme_end = base.find("://").ok_or(LocationError::NotHttp)?;
    let scheme = &base[..scheme_end];
    let after_scheme = &base[scheme_end + 3..];
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let origin = &base[..scheme_end + 3 + authority_end];
    let base_path_and_query = &after_scheme[authority_end..];
    let base_path = &base_path_and_query[..base_path_and_query
        .find(['?', '#'])
        .unwrap_or(base_path_and_query.len())];
    let resolved = if has_scheme(location) {
        String::from(location)
    } else if location.starts_with('?') || location.starts_with('#') {
        // A query (or fragment) alone keeps the base's path (RFC 3986 §5.2.2).
        let query_kept = if location.starts_with('#') {
            base_path_and_query
                .find('#')
                .map_or(base_path_and_query, |i| &base_path_and_query[..i])
        } else {
            base_path
        };
        alloc::format!("{origin}{query_kept}{location}")
    } else if let Some(rest) = location.strip_prefix("//") {
        alloc::format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        alloc::format!("{origin}{}", remove_dots(location))
    } else {
        let directory = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        let directory = if directory.is_empty() { "/" } else { directory };
        alloc::format!(
            "{origin}{}",
            remove_dots(&alloc::format!("{directory}{location}"))
        )
    };
    check_http(&resolved)?;
    Ok(resolved)
}

fn has_scheme(location: &str) -> bool {
    location.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && scheme.as_bytes()[0].is_ascii_alphabetic()
    })
}

fn check_http(url: &str) -> Result<(), LocationError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(LocationError::NotHttp);
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.is_empty() || authority.contains('@') {
        return Err(LocationError::NotHttp);
    }
    Ok(())
}

/// Removes `.` and `..` segments of an absolute path (its query kept as it is).
fn remove_dots(path: &str) -> String {
    let (path, query) = match path.find(['?', '#']) {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *segment {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if last {
                    segments.push("");
                }
            }
            other => segments.push(other),
        }
    }
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out.push_str(query);
    out
}

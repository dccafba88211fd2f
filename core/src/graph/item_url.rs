//! Drive item URLs built from a folder URL and a relative path, for both ways of uploading:
//! the simple upload (`…:/content`) and the upload session (`…:/createUploadSession`), and the
//! item itself (`…:`, what a lookup reads).
//!
//! A program that uploads a tree names a destination folder once and each file by its path
//! below it; Graph wants one path-addressed URL per file, each segment percent-encoded (a name
//! may hold spaces, `#`, `%` or `?`). Pure string work, so a command-line tool and the engines
//! share one spelling.

use alloc::format;
use alloc::string::String;
use core::fmt;

/// Why a folder URL and a relative path make no item URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemUrlError {
    /// The folder URL does not end in `/root`, `/root:/{path}`, `/items/{id}` or
    /// `/items/{id}:/{path}` (a trailing `:` or `/` is allowed), or it carries a query.
    NotAFolder,
    /// The relative path names nothing (empty, or only separators).
    EmptyPath,
    /// A segment of the relative path is `.` or `..`, or holds a control character: it cannot
    /// name an item below the folder.
    BadSegment,
}

impl fmt::Display for ItemUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemUrlError::NotAFolder => {
                "the folder URL must end in /root, /root:/{path}, /items/{id} or /items/{id}:/{path}, without a query; give the drive folder's Graph URL"
            }
            ItemUrlError::EmptyPath => "the relative path is empty; name the file below the folder",
            ItemUrlError::BadSegment => {
                "the relative path has a `.` or `..` segment or a control character; give a plain path below the folder"
            }
        })
    }
}

impl core::error::Error for ItemUrlError {}

/// The item at `relative_path` below `folder_url`, addressed by path and ending in `:`
/// (what `GET` reads, and what `/content` or `/createUploadSession` follow). Each segment of
/// `relative_path` (separated by `/`; empty segments are dropped) is percent-encoded; the
/// folder URL is taken as given (already encoded).
///
/// ```
/// use resumable_core::graph::item_url;
/// let drive = "https://graph.microsoft.com/v1.0/me/drive";
/// assert_eq!(
///     item_url(&format!("{drive}/root:/Backups"), "a/b c.txt").unwrap(),
///     format!("{drive}/root:/Backups/a/b%20c.txt:")
/// );
/// assert_eq!(item_url(&format!("{drive}/items/01ID"), "x").unwrap(), format!("{drive}/items/01ID:/x:"));
/// assert_eq!(item_url(&format!("{drive}/root"), "x").unwrap(), format!("{drive}/root:/x:"));
/// ```
pub fn item_url(folder_url: &str, relative_path: &str) -> Result<String, ItemUrlError> {
    let folder = folder_url.trim_end_matches('/');
    let folder = folder.strip_suffix(':').unwrap_or(folder);
    let folder = folder.trim_end_matches('/');
    let joiner = folder_joiner(folder).ok_or(ItemUrlError::NotAFolder)?;
    let mut path = String::new();
    for segment in relative_path.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.chars().any(char::is_control) {
            return Err(ItemUrlError::BadSegment);
        }
        if !path.is_empty() {
            path.push('/');
        }
        encode_segment(segment, &mut path);
    }
    if path.is_empty() {
        return Err(ItemUrlError::EmptyPath);
    }
    Ok(format!("{folder}{joiner}{path}:"))
}

/// The simple-upload URL (`PUT` with the whole file) of the item at `relative_path` below
/// `folder_url`; see [`item_url`].
///
/// ```
/// use resumable_core::graph::content_url;
/// let drive = "https://graph.microsoft.com/v1.0/drives/b!x";
/// assert_eq!(
///     content_url(&format!("{drive}/root:/Backups"), "a/b c.txt").unwrap(),
///     format!("{drive}/root:/Backups/a/b%20c.txt:/content")
/// );
/// assert_eq!(content_url(&format!("{drive}/items/ID"), "x").unwrap(), format!("{drive}/items/ID:/x:/content"));
/// assert_eq!(content_url(&format!("{drive}/root"), "x").unwrap(), format!("{drive}/root:/x:/content"));
/// ```
pub fn content_url(folder_url: &str, relative_path: &str) -> Result<String, ItemUrlError> {
    item_url(folder_url, relative_path).map(|item| format!("{item}/content"))
}

/// The `createUploadSession` URL of the item at `relative_path` below `folder_url`; see
/// [`item_url`].
///
/// ```
/// use resumable_core::graph::upload_session_url;
/// assert_eq!(
///     upload_session_url("https://g/v1.0/me/drive/root:/Backups:", "big.iso").unwrap(),
///     "https://g/v1.0/me/drive/root:/Backups/big.iso:/createUploadSession"
/// );
/// ```
pub fn upload_session_url(folder_url: &str, relative_path: &str) -> Result<String, ItemUrlError> {
    item_url(folder_url, relative_path).map(|item| format!("{item}/createUploadSession"))
}

/// The simple-upload URL of the item a `createUploadSession` URL names
/// (`…:/createUploadSession` → `…:/content`), or `None` if it does not name an item by path
/// (`…/items/{id}/createUploadSession`, a print or mail session).
///
/// ```
/// use resumable_core::graph::content_url_for_session;
/// assert_eq!(
///     content_url_for_session("https://g/v1.0/me/drive/root:/a%20b.bin:/createUploadSession").as_deref(),
///     Some("https://g/v1.0/me/drive/root:/a%20b.bin:/content")
/// );
/// assert_eq!(content_url_for_session("https://g/v1.0/me/messages/m/attachments/createUploadSession"), None);
/// ```
pub fn content_url_for_session(create_session_url: &str) -> Option<String> {
    let (base, query) = split_query(create_session_url);
    let item = base.strip_suffix(":/createUploadSession")?;
    if !item.contains(":/") {
        return None;
    }
    Some(format!("{item}:/content{query}"))
}

/// The item a simple-upload URL writes (`…:/content` → `…:`, `…/items/{id}/content` →
/// `…/items/{id}`), without any query: what a lookup reads. `None` if it does not end in
/// `/content`.
///
/// ```
/// use resumable_core::graph::item_url_of_content;
/// assert_eq!(
///     item_url_of_content("https://g/v1.0/me/drive/root:/a.bin:/content?x=1").as_deref(),
///     Some("https://g/v1.0/me/drive/root:/a.bin:")
/// );
/// assert_eq!(item_url_of_content("https://g/v1.0/me/drive/root:/a.bin:"), None);
/// ```
pub fn item_url_of_content(content_url: &str) -> Option<String> {
    let (base, _) = split_query(content_url);
    let item = base.strip_suffix("/content")?;
    (!item.is_empty() && !item.ends_with('/')).then(|| String::from(item))
}

/// What goes between a folder URL and an item path: `:/` after `…/root` or `…/items/{id}`,
/// `/` after a folder addressed by path (`…/root:/docs`, `…/items/{id}:/docs`). `None` for
/// anything else.
fn folder_joiner(folder: &str) -> Option<&'static str> {
    if folder.contains(['?', '#']) {
        return None;
    }
    // Past the scheme and authority (whose port has a `:` of its own), the first `:` is where
    // addressing by path begins: nothing after it is a drive prefix.
    let after_scheme = folder.find("://").map_or(0, |at| at + 3);
    let path_start = folder[after_scheme..]
        .find('/')
        .map_or(folder.len(), |at| after_scheme + at);
    let path = &folder[path_start..];
    let (base, by_path) = match path.split_once(':') {
        Some((base, rest)) => (base, Some(rest)),
        None => (path, None),
    };
    if !names_item(base) {
        return None;
    }
    match by_path {
        None => Some(":/"),
        // A second `:` closes the path: what follows is an action or a property
        // (`…:/a.bin:/createUploadSession`, `…:/a.bin:/content`), not a folder.
        Some(rest) if rest.starts_with('/') && rest.len() > 1 && !rest.contains(':') => Some("/"),
        Some(_) => None,
    }
}

/// Whether a path ends at an item addressed by id: `…/root` or `…/items/{id}`.
fn names_item(base: &str) -> bool {
    if base.ends_with("/root") {
        return true;
    }
    base.rsplit_once("/items/")
        .is_some_and(|(_, id)| !id.is_empty() && !id.contains('/'))
}

/// Splits `url` at its query: (`…`, `?…` or empty).
fn split_query(url: &str) -> (&str, &str) {
    match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    }
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters, so a
/// name's spaces, `#`, `%`, `?`, `:` and non-ASCII letters survive the trip.
fn encode_segment(segment: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in segment.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const DRIVE: &str = "https://graph.microsoft.com/v1.0/drives/b!x";

    #[test]
    fn folders_of_every_form_take_a_relative_path() {
        let cases = [
            (
                "/root:/Backups",
                "a/b c.txt",
                "/root:/Backups/a/b%20c.txt:/content",
            ),
            ("/root:/Backups/", "a", "/root:/Backups/a:/content"),
            ("/root:/Backups:", "a", "/root:/Backups/a:/content"),
            ("/root:/Backups:/", "a", "/root:/Backups/a:/content"),
            ("/root", "x", "/root:/x:/content"),
            ("/root:", "x", "/root:/x:/content"),
            ("/root/", "x", "/root:/x:/content"),
            ("/items/ID", "x", "/items/ID:/x:/content"),
            ("/items/ID:/sub", "x/y", "/items/ID:/sub/x/y:/content"),
            ("/items/ID:/sub:", "x", "/items/ID:/sub/x:/content"),
            ("/items/root:/docs", "x", "/items/root:/docs/x:/content"),
            ("/root:/a/items/b", "x", "/root:/a/items/b/x:/content"),
        ];
        for (folder, path, want) in cases {
            let folder = format!("{DRIVE}{folder}");
            assert_eq!(
                content_url(&folder, path).unwrap(),
                format!("{DRIVE}{want}"),
                "{folder} + {path}"
            );
        }
    }

    #[test]
    fn segments_are_percent_encoded_one_by_one() {
        let url = content_url(&format!("{DRIVE}/root"), "//a b/#1%/q?/ü:x//").unwrap();
        assert_eq!(
            url,
            format!("{DRIVE}/root:/a%20b/%231%25/q%3F/%C3%BC%3Ax:/content")
        );
        let url = item_url(&format!("{DRIVE}/root"), "a+b&c=d;e'f(g)~h").unwrap();
        assert_eq!(
            url,
            format!("{DRIVE}/root:/a%2Bb%26c%3Dd%3Be%27f%28g%29~h:")
        );
    }

    #[test]
    fn what_names_no_item_is_refused() {
        let root = format!("{DRIVE}/root");
        assert_eq!(item_url(&root, ""), Err(ItemUrlError::EmptyPath));
        assert_eq!(item_url(&root, "//"), Err(ItemUrlError::EmptyPath));
        assert_eq!(item_url(&root, "a/../b"), Err(ItemUrlError::BadSegment));
        assert_eq!(item_url(&root, "./b"), Err(ItemUrlError::BadSegment));
        assert_eq!(item_url(&root, "a\nb"), Err(ItemUrlError::BadSegment));
        for folder in [
            "https://g/v1.0/me/drive",
            "https://g/v1.0/me/drive/rootx",
            "https://g/v1.0/me/drive/root:",
            "https://g/v1.0/me/drive/items/",
            "https://g/v1.0/me/drive/items/a/b",
            "https://g/v1.0/me/drive/items/a:x",
            "https://g/v1.0/me/drive/root?x=1",
            "https://g/v1.0/me/drive/root:/a/content",
            // An item's action or content, not a folder: its path is closed by a `:`.
            "https://g/v1.0/me/drive/root:/a.bin:/createUploadSession",
            "https://g/v1.0/me/drive/root:/a.bin:/content",
            "https://g/v1.0/me/drive/items/p:/a.bin:/createUploadSession",
        ] {
            let refused = item_url(folder, "x");
            if folder.ends_with("/root:") || folder.ends_with("/root:/a/content") {
                // `root:` is the root; `root:/a/content` is a folder named content.
                assert!(refused.is_ok(), "{folder}");
            } else {
                assert_eq!(refused, Err(ItemUrlError::NotAFolder), "{folder}");
            }
        }
        assert!(ItemUrlError::NotAFolder.to_string().contains("folder URL"));
    }

    #[test]
    fn session_and_content_urls_turn_into_each_other() {
        let create = format!("{DRIVE}/root:/a/b%20c.txt:/createUploadSession");
        let content = content_url_for_session(&create).unwrap();
        assert_eq!(content, format!("{DRIVE}/root:/a/b%20c.txt:/content"));
        assert_eq!(
            item_url_of_content(&content).unwrap(),
            format!("{DRIVE}/root:/a/b%20c.txt:")
        );
        assert_eq!(
            upload_session_url(&format!("{DRIVE}/root:/a"), "b c.txt").unwrap(),
            create
        );
        assert_eq!(
            content_url_for_session(&format!("{DRIVE}/items/01X/createUploadSession")),
            None
        );
        assert_eq!(
            item_url_of_content(&format!("{DRIVE}/items/01X/content")).unwrap(),
            format!("{DRIVE}/items/01X")
        );
        assert_eq!(item_url_of_content("/content"), None);
    }
}

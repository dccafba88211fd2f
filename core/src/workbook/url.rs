//! The workbook base URL, the action URLs derived from it, and resolution of the URLs the server
//! names (`Location`, `resourceLocation`).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The URL of a workbook: `{graph}/me/drive/items/{id}/workbook`,
/// `{graph}/me/drive/root:/{path}:/workbook` or any other `…/workbook` the caller addresses.
///
/// The session actions are derived from it; the operation and resource URLs come from the server.
///
/// ```
/// use resumable_core::workbook::WorkbookUrl;
/// let url = WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook/").unwrap();
/// assert_eq!(url.as_str(), "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook");
/// assert_eq!(url.create_session(), "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook/createSession");
/// assert_eq!(url.refresh_session(), "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook/refreshSession");
/// assert_eq!(url.close_session(), "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook/closeSession");
/// assert!(WorkbookUrl::new("graph.microsoft.com/workbook").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WorkbookUrl {
    /// `scheme://authority/path`, without a trailing `/`, query or fragment.
    base: String,
    /// `?query` as given, or empty; appended to every derived URL.
    query: String,
}

impl WorkbookUrl {
    /// Checks and keeps a workbook base URL: it must be absolute `http` or `https` with a host. A
    /// trailing `/` and any `#fragment` are dropped; a `?query` is kept and appended to the action
    /// URLs.
    pub fn new(url: impl Into<String>) -> Result<WorkbookUrl, WorkbookUrlError> {
        let url: String = url.into();
        let url = url.trim();
        let without_fragment = url.split('#').next().unwrap_or_default();
        let (path_part, query) = match without_fragment.find('?') {
            Some(at) => without_fragment.split_at(at),
            None => (without_fragment, ""),
        };
        let parts = UrlParts::split(path_part).ok_or(WorkbookUrlError::NotAbsolute)?;
        if !parts.scheme.eq_ignore_ascii_case("http") && !parts.scheme.eq_ignore_ascii_case("https")
        {
            return Err(WorkbookUrlError::UnsupportedScheme);
        }
        if parts.authority.is_empty() {
            return Err(WorkbookUrlError::MissingHost);
        }
        if url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        {
            return Err(WorkbookUrlError::InvalidCharacter);
        }
        Ok(WorkbookUrl {
            base: String::from(path_part.trim_end_matches('/')),
            query: String::from(query),
        })
    }

    /// The base URL, without trailing `/`, query or fragment.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `POST` here to create a session.
    pub fn create_session(&self) -> String {
        self.action("createSession")
    }

    /// `POST` here (with the session header) to keep a session alive.
    pub fn refresh_session(&self) -> String {
        self.action("refreshSession")
    }

    /// `POST` here (with the session header) to close a session.
    pub fn close_session(&self) -> String {
        self.action("closeSession")
    }

    fn action(&self, name: &str) -> String {
        let mut url = String::with_capacity(self.base.len() + name.len() + self.query.len() + 1);
        url.push_str(&self.base);
        url.push('/');
        url.push_str(name);
        url.push_str(&self.query);
        url
    }
}

impl fmt::Debug for WorkbookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkbookUrl({}{})", self.base, self.query)
    }
}

impl fmt::Display for WorkbookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Why a workbook base URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkbookUrlError {
    /// The URL has no `scheme://` (it must be absolute).
    NotAbsolute,
    /// The scheme is neither `http` nor `https`.
    UnsupportedScheme,
    /// Nothing between `://` and the path.
    MissingHost,
    /// Whitespace or a control character inside the URL.
    InvalidCharacter,
}

impl fmt::Display for WorkbookUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkbookUrlError::NotAbsolute => {
                "the workbook URL must be absolute (scheme://host/...)"
            }
            WorkbookUrlError::UnsupportedScheme => "the workbook URL must use http or https",
            WorkbookUrlError::MissingHost => "the workbook URL has no host",
            WorkbookUrlError::InvalidCharacter => {
                "the workbook URL contains whitespace or a control character"
            }
        })
    }
}

impl core::error::Error for WorkbookUrlError {}

/// An absolute URL cut into `scheme`, `authority` and the rest (path, query, fragment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct UrlParts<'a> {
    scheme: &'a str,
    authority: &'a str,
    rest: &'a str,
}

impl<'a> UrlParts<'a> {
    /// `None` unless `url` starts with a valid scheme followed by `://`.
    fn split(url: &'a str) -> Option<UrlParts<'a>> {
        let (scheme, after) = url.split_once("://")?;
        let mut chars = scheme.chars();
        let starts_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_alpha || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            return None;
        }
        let authority_len = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(authority_len);
        Some(UrlParts {
            scheme,
            authority,
            rest,
        })
    }

    /// Whether both name the same origin: scheme and host compared case-insensitively, default
    /// ports made explicit.
    fn same_origin(&self, other: &UrlParts<'_>) -> bool {
        fn port_of<'s>(scheme: &str, authority: &'s str) -> (&'s str, &'s str) {
            let host_port = authority.rsplit('@').next().unwrap_or(authority);
            // An IPv6 literal holds colons: the port is after the closing bracket.
            let port_at = match host_port.rfind(']') {
                Some(bracket) => host_port[bracket..].find(':').map(|at| at + bracket),
                None => host_port.rfind(':'),
            };
            match port_at {
                Some(at) => (&host_port[..at], &host_port[at + 1..]),
                None if scheme.eq_ignore_ascii_case("https") => (host_port, "443"),
                None if scheme.eq_ignore_ascii_case("http") => (host_port, "80"),
                None => (host_port, ""),
            }
        }
        let (host_a, port_a) = port_of(self.scheme, self.authority);
        let (host_b, port_b) = port_of(other.scheme, other.authority);
        self.scheme.eq_ignore_ascii_case(other.scheme)
            && host_a.eq_ignore_ascii_case(host_b)
            && port_a == port_b
    }
}

impl WorkbookUrl {
    /// Whether `url` (absolute) has the workbook's origin: scheme, host and port. The bearer
    /// token goes only there, the way HTTP clients drop `Authorization` on a redirect to another
    /// host. The judge is always the workbook's base URL, never the URL of the request whose
    /// answer named `url`: an operation on a foreign host could otherwise name a session on
    /// its own host and receive the token.
    pub(crate) fn is_same_origin(&self, url: &str) -> bool {
        match (UrlParts::split(&self.base), UrlParts::split(url)) {
            (Some(base), Some(other)) => base.same_origin(&other),
            _ => false,
        }
    }
}

/// Resolves `reference` (a `Location` header, a `resourceLocation`) against the absolute URL
/// `base` (the URL of the request it answered) as RFC 3986 section 5.2 does. `None` if `base` is
/// not absolute, or if the result is not an `http` or `https` URL with a host (the server must
/// not make us fetch anything else). Whether the result may get the token is a separate
/// question: [`WorkbookUrl::is_same_origin`].
pub(crate) fn resolve(base: &str, reference: &str) -> Option<String> {
    let reference = reference.trim();
    let base_parts = UrlParts::split(base)?;
    let target = if let Some(scheme) = scheme_of(reference) {
        // An absolute reference: only the `scheme://authority` form can name a web resource.
        let parts = UrlParts::split(reference).filter(|p| p.scheme.len() == scheme.len())?;
        join(parts.scheme, parts.authority, parts.rest)
    } else if let Some(network_path) = reference.strip_prefix("//") {
        let authority_len = network_path
            .find(['/', '?', '#'])
            .unwrap_or(network_path.len());
        let (authority, rest) = network_path.split_at(authority_len);
        join(base_parts.scheme, authority, rest)
    } else {
        let (base_path, base_query) = path_and_query(base_parts.rest);
        let rest = if reference.is_empty() {
            let mut same = String::from(base_path);
            same.push_str(base_query);
            same
        } else if reference.starts_with('/') {
            String::from(reference)
        } else if reference.starts_with('?') {
            let mut with_query = String::from(base_path);
            with_query.push_str(reference);
            with_query
        } else if reference.starts_with('#') {
            let mut with_fragment = String::from(base_path);
            with_fragment.push_str(base_query);
            with_fragment.push_str(reference);
            with_fragment
        } else {
            // Merge: the base path up to its last `/`, then the reference.
            let directory = match base_path.rfind('/') {
                Some(at) => &base_path[..=at],
                None => "/",
            };
            let mut merged = String::from(directory);
            merged.push_str(reference);
            merged
        };
        join(base_parts.scheme, base_parts.authority, &rest)
    };
    let parts = UrlParts::split(&target)?;
    let web =
        parts.scheme.eq_ignore_ascii_case("http") || parts.scheme.eq_ignore_ascii_case("https");
    if !web || parts.authority.is_empty() {
        return None;
    }
    Some(target)
}

/// The scheme of an absolute reference (the text before the first `:`, if it is a valid scheme
/// and comes before any `/`, `?` or `#`); `None` for a relative reference.
fn scheme_of(reference: &str) -> Option<&str> {
    let end = reference.find([':', '/', '?', '#'])?;
    if reference.as_bytes().get(end) != Some(&b':') {
        return None;
    }
    let scheme = &reference[..end];
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then_some(scheme)
}

/// `scheme://authority` followed by `rest` with its dot segments removed.
fn join(scheme: &str, authority: &str, rest: &str) -> String {
    let (path, suffix) = path_and_query(rest);
    let mut url = String::with_capacity(scheme.len() + authority.len() + rest.len() + 4);
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(authority);
    url.push_str(&remove_dot_segments(path));
    url.push_str(suffix);
    url
}

/// Splits `rest` into the path and what follows it (`?query#fragment`).
fn path_and_query(rest: &str) -> (&str, &str) {
    let at = rest.find(['?', '#']).unwrap_or(rest.len());
    rest.split_at(at)
}

/// RFC 3986 section 5.2.4 for a path that starts with `/` (or is empty).
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let mut kept: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    kept.pop();
                }
                // A trailing dot segment names a directory: keep its trailing `/`.
                if index == last {
                    kept.push("");
                }
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests;

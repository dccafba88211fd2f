//! Values that must never be printed whole: upload URLs, access tokens, session tokens.
//!
//! [`Secret`] and [`SecretUrl`] hold such values. Their `Debug` and `Display` redact them, so a
//! secret that reaches a log line, an error message or a panic shows as `[redacted]` (a URL keeps
//! its scheme and host, which say where an upload goes without letting anyone else write to it).
//! [`Secret::expose`] is the one way to read the value, and it is greppable.
//!
//! With the `serde` feature they serialise *unredacted*: checkpoints hold the session URL because
//! resuming needs it. Treat a checkpoint file like a password.

use alloc::string::String;
use core::fmt;

/// A secret string (a token). Prints as `[redacted]`.
///
/// ```
/// use resumable_core::secret::Secret;
/// let token = Secret::new("eyJ0eXAiOiJKV1QiLCJhbGciOi");
/// assert_eq!(format!("{token:?}"), "Secret([redacted])");
/// assert_eq!(token.to_string(), "[redacted]");
/// assert_eq!(token.expose(), "eyJ0eXAiOiJKV1QiLCJhbGciOi");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Every call site is a place a secret leaves its wrapper.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A URL that carries its own credentials (an `uploadUrl` with `tempauth=`, a WOPI URL with
/// `access_token=`). Prints as `scheme://host[:port]/[redacted]`.
///
/// ```
/// use resumable_core::secret::SecretUrl;
/// let url = SecretUrl::new("https://sn3302.up.1drv.com/up/fe6987415ace7X4e1eF866337?tempauth=abc");
/// assert_eq!(url.to_string(), "https://sn3302.up.1drv.com/[redacted]");
/// assert_eq!(format!("{url:?}"), "SecretUrl(https://sn3302.up.1drv.com/[redacted])");
/// assert!(url.expose().ends_with("tempauth=abc"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        SecretUrl(url.into())
    }

    /// The URL itself, credentials included.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL to send to, with any user information (`user:password@`) taken out: an HTTP
    /// client would turn it into an `Authorization: Basic` header, and no request of these
    /// protocols may carry a credential it was not given. An `@` in the path or query stays.
    ///
    /// ```
    /// use resumable_core::secret::SecretUrl;
    /// let url = SecretUrl::new("https://user:secret@up.example/s?tempauth=t");
    /// assert_eq!(url.without_user_info(), "https://up.example/s?tempauth=t");
    /// let plain = SecretUrl::new("http://127.0.0.1:8080/x?a=b@c");
    /// assert_eq!(plain.without_user_info(), "http://127.0.0.1:8080/x?a=b@c");
    /// ```
    pub fn without_user_info(&self) -> String {
        let url = self.0.as_str();
        let Some(scheme_end) = url.find("://") else {
            return url.into();
        };
        let rest = &url[scheme_end + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        match authority.rfind('@') {
            Some(at) => alloc::format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
            None => url.into(),
        }
    }

    /// `scheme://authority`, the part that is safe to show (any `user:password@` is dropped).
    /// Empty if the URL has no `://`.
    pub fn origin(&self) -> &str {
        let Some(scheme_end) = self.0.find("://") else {
            return "";
        };
        let rest = &self.0[scheme_end + 3..];
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        match authority.rfind('@') {
            // Userinfo would be a credential; show nothing of the authority rather than it.
            Some(_) => &self.0[..scheme_end + 3],
            None => &self.0[..scheme_end + 3 + authority_len],
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/[redacted]", self.origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn url_redaction_hides_path_query_and_userinfo() {
        let cases = [
            (
                "http://127.0.0.1:8080/upload/s1?token=xyz",
                "http://127.0.0.1:8080/[redacted]",
            ),
            ("https://host?access_token=t", "https://host/[redacted]"),
            ("https://user:pw@host/x", "https:///[redacted]"),
            ("not a url token=abc", "/[redacted]"),
            ("", "/[redacted]"),
        ];
        for (url, shown) in cases {
            let secret = SecretUrl::new(url);
            assert_eq!(secret.to_string(), shown);
            assert!(!format!("{secret:?}").contains("xyz"));
        }
    }

    #[test]
    fn token_never_shows() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}{s}{s:#?}").contains("hunter2"));
    }
}

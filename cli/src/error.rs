//! The error every subcommand returns.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why a command failed; printed by `main` as `resumable: {error}`.
#[derive(Debug)]
pub(crate) enum CliError {
    /// Reading or writing a file failed.
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// Writing to standard output failed.
    Output(io::Error),
    /// The reader of our standard output went away (`| head`): not an error for the user.
    BrokenPipe,
    /// The input is not what the command expects.
    Invalid(String),
    /// A URL that cannot be used (not `http(s)`, does not parse, carries user information),
    /// given on the command line or by the service: exit status 2, nothing retried.
    BadUrl(String),
}

impl CliError {
    /// Wraps an I/O error on `path`.
    pub(crate) fn file(path: &Path) -> impl FnOnce(io::Error) -> CliError + '_ {
        move |source| CliError::File {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps an error writing standard output.
    pub(crate) fn output(source: io::Error) -> CliError {
        if source.kind() == io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Output(source)
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::File { path, source } => write!(f, "{}: {source}", path.display()),
            CliError::Output(source) => write!(f, "writing output: {source}"),
            CliError::BrokenPipe => f.write_str("output closed"),
            CliError::Invalid(message) | CliError::BadUrl(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

/// Checks a URL given on the command line as `flag`: `http` or `https`, a host, no user
/// information (an HTTP client would send it as an `Authorization` header, and the services
/// authenticate otherwise). The message never repeats the URL (it may hold a token).
pub(crate) fn check_url(flag: &str, url: &str) -> Result<(), CliError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        CliError::BadUrl(format!(
            "{flag} is not a URL ({e}); give the full address, such as https://graph.microsoft.com/v1.0/me/drive/root:/big.iso:/createUploadSession"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CliError::BadUrl(format!(
            "{flag} must be an http:// or https:// URL, not {}:",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(CliError::BadUrl(format!("{flag} has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CliError::BadUrl(format!(
            "{flag} carries a user name or password (user@host): the services take a token instead (RESUMABLE_TOKEN); remove it from the URL"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_user_information() {
        assert!(check_url("--endpoint", "https://graph.example/v1.0/x").is_ok());
        assert!(check_url("--endpoint", "http://127.0.0.1:8080/x?tempauth=t").is_ok());
        for (url, says) in [
            ("graph.example/x", "is not a URL"),
            ("ftp://graph.example/x", "must be an http"),
            ("file:///etc/passwd", "must be an http"),
            (
                "https://user:secret@graph.example/x",
                "user name or password",
            ),
            ("http://", "is not a URL"),
        ] {
            let error = check_url("--endpoint", url).unwrap_err();
            assert!(matches!(error, CliError::BadUrl(_)));
            let text = error.to_string();
            assert!(text.contains(says), "{url}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }
}

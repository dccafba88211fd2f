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
            CliError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

//! The emulator `resumable upload` starts on 127.0.0.1 when it is given no destination.

use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, StorageMode};

use super::ProtocolArg;
use super::report::StoredCopy;
use crate::error::CliError;

/// A running emulator and the creation URL (the WOPI file URL) for this upload.
pub(crate) struct Embedded {
    handle: EmulatorHandle,
    create_url: String,
}

impl Embedded {
    /// Starts an emulator on a free loopback port. It keeps only each file's size and SHA-256
    /// (nothing of it survives the command, so there is no point writing the bytes anywhere).
    pub(crate) async fn start(
        protocol: ProtocolArg,
        file_name: &str,
    ) -> Result<Embedded, CliError> {
        let config = EmulatorConfig::default().with_storage(StorageMode::Discard);
        let handle = Emulator::start(config)
            .await
            .map_err(|e| CliError::Invalid(format!("cannot start the embedded emulator: {e}")))?;
        let create_url = match protocol {
            ProtocolArg::Drive => handle.drive_upload_session_url(file_name),
            ProtocolArg::Print => {
                handle.print_upload_session_url("printer-1", "job-1", "document-1")
            }
            ProtocolArg::Attachment => handle.mail_upload_session_url("message-1"),
            // The embedded host takes any access token.
            ProtocolArg::Wopi => format!(
                "{}?access_token=embedded-emulator",
                handle.wopi_file_url(file_name)
            ),
            ProtocolArg::Tus => handle.tus_endpoint(),
            ProtocolArg::Ietf => handle.ietf_endpoint(),
        };
        Ok(Embedded { handle, create_url })
    }

    /// The drive item's `content` URL for a simple upload of `path`.
    pub(crate) fn content_url(&self, path: &str) -> String {
        self.handle.drive_content_url(path)
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> &str {
        self.handle.base_url()
    }

    /// The `createUploadSession` URL for the upload (for WOPI, the file URL with its
    /// `access_token`).
    pub(crate) fn create_url(&self) -> &str {
        &self.create_url
    }

    /// The file the emulator stored last, if any (the command uploads one file).
    pub(crate) fn stored(&self) -> Option<StoredCopy> {
        self.handle
            .files()
            .into_iter()
            .last()
            .map(|file| StoredCopy {
                path: file.path,
                size: file.size,
                sha256: file.sha256,
                quick_xor: file.quick_xor_hash,
            })
    }
}

//! How a [`WopiUpload`] decides that it is done: the commit's `200`, then the host's own word on
//! the stored file, `CheckFileInfo` (`GET /wopi/files/{id}`), whose `Size` must be the
//! `MainContent` stream's and whose `SHA256`, where the host gives one, the source's. A host
//! without `CheckFileInfo` (or refusing it) leaves the commit's answer as the only word, and the
//! completion says nothing was checked.

use serde_json::Value;

use crate::digest::stored::{HashKind, Mismatch, Verification, check_hash};
use crate::digest::{HashKinds, SourceHashes};
use crate::http::{RequestKind, Response};
use crate::json::property;
use crate::retry::StatusClass;
use crate::time::Instant;
use crate::wopi::MAIN_CONTENT;

use super::error::WopiError;
use super::event::WopiCompletion;
use super::upload::{Phase, WopiUpload};

impl WopiUpload {
    /// Gives the source's hashes (the transport computes them in the pass that reads the source
    /// for its ChunkIds). **A transport must give them** when the machine waits for them
    /// ([`Driven::awaits_source_hashes`](crate::session::Driven::awaits_source_hashes)); the host's `SHA256` is checked against them.
    pub fn set_source_hashes(&mut self, now: Instant, hashes: SourceHashes) {
        self.source_hashes = Some(hashes);
        if let Phase::VerifyingFile { completion, sha256 } = &self.phase {
            let (completion, sha256) = (completion.clone(), sha256.clone());
            self.judge_file(now, completion, Some(sha256));
        }
    }

    /// Reports that the source could not be read to compute its hashes: the upload fails with
    /// [`WopiError::SourceRead`].
    pub fn source_unreadable(&mut self, now: Instant) {
        let _ = now;
        if !self.is_over() {
            self.fail(WopiError::SourceRead);
        }
    }

    /// The hashes a WOPI upload needs of the source: SHA-256, which `CheckFileInfo` reports.
    /// A transport computes them in the pass that reads the source for its ChunkIds.
    pub const SOURCE_HASH_KINDS: HashKinds = HashKinds {
        sha1: false,
        sha256: true,
    };

    /// The commit was answered `200`: ask the host what it stored.
    pub(crate) fn committed(&mut self, completion: WopiCompletion) {
        self.core.in_flight.clear();
        self.core.schedule.open();
        self.core.expiry.clear();
        self.token = None;
        self.phase = Phase::CheckingFile(completion);
    }

    /// The answer to `CheckFileInfo` after the commit.
    pub(crate) fn on_file_info(&mut self, now: Instant, response: &Response) {
        let Phase::CheckingFile(completion) = &self.phase else {
            return;
        };
        let completion = completion.clone();
        match StatusClass::of(response.status) {
            StatusClass::Success => {
                let Ok(Value::Object(info)) = serde_json::from_slice::<Value>(&response.body)
                else {
                    // Not a CheckFileInfo answer: nothing to check, as with a host without one.
                    return self.unchecked(completion);
                };
                let size = property(&info, "Size").and_then(Value::as_u64);
                if let (Some(stored), Some(source)) = (size, self.main_content_len())
                    && stored != source
                {
                    return self.differs(Mismatch::Size { source, stored });
                }
                let verification = Verification {
                    size: size.is_some(),
                    ..Verification::default()
                };
                let completion = WopiCompletion {
                    verification,
                    ..completion
                };
                let sha256 = property(&info, "SHA256")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(alloc::string::String::from);
                self.judge_file(now, completion, sha256);
            }
            StatusClass::Throttled | StatusClass::Transient => {
                self.retry_status(now, RequestKind::FetchResource, response);
            }
            // No CheckFileInfo to be had: the commit's answer is the only word.
            _ => self.unchecked(completion),
        }
    }

    /// Nothing could be checked: the commit's answer stands, unless the question was whether
    /// the host's version is this upload's own (then the conflict stands).
    fn unchecked(&mut self, completion: WopiCompletion) {
        match self.own_commit_check.take() {
            Some(conflict) => self.fail(conflict),
            None => self.complete(completion),
        }
    }

    /// The stored file is not the source: after this upload's commit, a failure; when asking
    /// whether the host's version is this upload's own, the conflict stands.
    fn differs(&mut self, mismatch: Mismatch) {
        match self.own_commit_check.take() {
            Some(conflict) => self.fail(conflict),
            None => self.fail(WopiError::StoredFileDiffers(mismatch)),
        }
    }

    /// Compares the host's `SHA256` (if any) with the source's, waiting for the source's
    /// hashes if they are not known yet.
    fn judge_file(
        &mut self,
        now: Instant,
        mut completion: WopiCompletion,
        sha256: Option<alloc::string::String>,
    ) {
        let _ = now;
        let Some(sha256) = sha256 else {
            return self.unchecked(completion);
        };
        if !self.main_content_is_the_source() {
            // The source holds other streams too: its hashes are not the file's.
            return self.unchecked(completion);
        }
        let Some(source) = self.source_hashes.filter(|h| h.sha256.is_some()) else {
            self.phase = Phase::VerifyingFile { completion, sha256 };
            return;
        };
        match check_hash(HashKind::Sha256, &sha256, &source) {
            Ok(false) => self.unchecked(completion),
            Ok(true) => {
                completion.verification.hashes.push(HashKind::Sha256);
                self.own_commit_check = None;
                self.complete(completion);
            }
            Err(mismatch) => self.differs(mismatch),
        }
    }

    /// Whether the `MainContent` stream is the whole source (one stream from byte 0), so the
    /// source's hashes are the stored file's. Unknown (true) until the hashes come.
    fn main_content_is_the_source(&self) -> bool {
        let main = self
            .config
            .streams
            .iter()
            .find(|s| s.stream_id == MAIN_CONTENT);
        let from_start = main.is_some_and(|s| s.source_offset == 0);
        from_start
            && self
                .source_hashes
                .is_none_or(|h| Some(h.size) == self.main_content_len())
    }

    /// The length of the `MainContent` stream: the stored file's size.
    fn main_content_len(&self) -> Option<u64> {
        self.config
            .streams
            .iter()
            .find(|s| s.stream_id == MAIN_CONTENT)
            .map(|s| s.chunks.iter().map(|c| c.length).sum())
    }
}

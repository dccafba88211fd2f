//! How an [`Upload`] decides that it is done, and when to stop trusting the service.
//!
//! The one promise: [`Event::Completed`] means the service holds this source's bytes. So an
//! answer that names the finished file is only a *candidate*: it must come after every byte
//! was confirmed in this session's account (else it is a protocol violation), and the stored
//! file's size and every hash the service reports must match the source's
//! ([`SourceHashes`](crate::digest::SourceHashes), which the transport computes from the reads
//! that send the bytes). A file found by looking it up after a lost answer must also prove it is
//! this upload's: matching hashes, or, without any, a modification time after this upload's
//! session was made. Otherwise it is someone else's file and the upload goes on.
//!
//! Answers that cannot be true (bytes claimed that were never sent, a finished file before the
//! last byte, confirmed bytes forgotten) lead to asking the service where it is; after a few,
//! the upload gives up on the service, deleting the session, rather than loop or believe it.

use crate::digest::HashKinds;
use crate::digest::stored::{HashKind, Mismatch, StoredItem, Verification};
use crate::range::ByteRange;
use crate::time::{Instant, UnixTime};

use super::config::Target;
use super::error::SessionLossCause;
use super::error::UploadError;
use super::event::{Completion, Event};
use super::upload::{Candidate, Phase, Sent, Upload};
use crate::session::Violation;

impl Upload {
    /// The service named the finished file in answer to this upload's own request. Only once
    /// every byte is in this session's account: every byte went out in it (or was there when it
    /// was taken over), or the confirmed bytes with `range` (the request's own fragment, if it
    /// carried one) and the fragments in flight make the whole file.
    pub(crate) fn answer_names_file(
        &mut self,
        now: Instant,
        range: Option<ByteRange>,
        completion: Completion,
    ) {
        if self.fragments_in_flight() > 0 {
            // Other fragments are on their way (print documents): the file cannot hold their
            // bytes before they land. Judge it once they are answered.
            self.pending_candidate = Some((range, completion));
            return;
        }
        // This answer decides; an earlier one waiting for the fragments in flight is moot.
        self.pending_candidate = None;
        // A file named after the last fragment's answer was lost (a status or a commit naming
        // it) stands on every byte having gone out; otherwise the confirmed bytes and this
        // request's own fragment must make the whole file.
        let after_lost_answer = range.is_none() && self.unsent.is_complete();
        if !after_lost_answer && !self.would_complete(range) {
            let violation = Violation::PrematureEnd {
                confirmed: self.missing.received(),
                total: self.config.total,
            };
            self.violation(now, violation);
            return;
        }
        self.finish_candidate(
            now,
            Candidate {
                completion,
                looked_up: false,
            },
        );
    }

    /// Judges the file the service named while fragments were in flight, once none are.
    pub(crate) fn revisit_pending_candidate(&mut self, now: Instant) {
        if self.fragments_in_flight() > 0 || self.is_over() {
            return;
        }
        if let Some((range, completion)) = self.pending_candidate.take() {
            self.answer_names_file(now, range, completion);
        }
    }

    /// Whether the service would hold every byte with `range` and the fragments in flight.
    pub(crate) fn would_complete(&self, range: Option<ByteRange>) -> bool {
        let mut rest = self.missing.clone();
        let in_flight = self.core.in_flight.notes().filter_map(|sent| match sent {
            Sent::Fragment(fragment) => Some(fragment.range),
            _ => None,
        });
        for sent in range.into_iter().chain(in_flight) {
            if rest.mark_received(sent).is_err() {
                return false;
            }
        }
        rest.is_complete()
    }

    /// Checks a stored file the service named against the source, and ends the upload when it
    /// matches. Waits in [`Phase::Verifying`] when the service reported hashes and the source's
    /// are not known yet.
    pub(crate) fn finish_candidate(&mut self, now: Instant, candidate: Candidate) {
        let Some(item) = candidate.completion.item.as_deref() else {
            let is_mail = matches!(self.config.target, Target::MailAttachment(_));
            if is_mail && candidate.completion.location.is_some() {
                // A mail attachment: `201` with its `Location`; nothing else to check.
                let verification = Verification {
                    location: true,
                    ..Verification::default()
                };
                return self.complete(Completion {
                    verification,
                    ..candidate.completion
                });
            }
            // "Done" with nothing to check (no item, no attachment Location): as good as a lost
            // answer. Read the item where only this upload can have made it, else say so.
            self.maybe_completed = true;
            self.awaiting_caller = false;
            if self.completion_check_url().is_some() && !candidate.looked_up {
                self.core.in_flight.clear();
                self.phase = Phase::CheckingCompletion;
            } else {
                self.fail(self.completion_unconfirmed());
            }
            return;
        };
        let stored = match StoredItem::parse_graph(item) {
            Ok(stored) => stored,
            Err(mismatch) => return self.reject_candidate(now, candidate.looked_up, mismatch),
        };
        let size_required = self.is_drive_item() || candidate.looked_up;
        if let Err(mismatch) = stored.check_size(self.config.total, size_required) {
            return self.reject_candidate(now, candidate.looked_up, mismatch);
        }
        // The file holding a name this upload was refused must prove its content: a recent
        // modification is no proof there (it may be someone else's).
        let unproven = !self.made_during_session(&stored) || self.checking_conflict;
        if candidate.looked_up && stored.hashes.is_empty() && unproven {
            return self.reject_candidate(now, true, Mismatch::NotProven);
        }
        let verification = if stored.hashes.is_empty() {
            Verification {
                size: stored.size.is_some(),
                ..Verification::default()
            }
        } else {
            // A cheap hash (QuickXorHash, CRC-32) the reads computed proves the content; if the
            // service reports only costly ones, the source's must be computed for them.
            let cheap = stored
                .hashes
                .iter()
                .any(|(kind, _)| matches!(kind, HashKind::QuickXor | HashKind::Crc32));
            let wanted = if self.checking_conflict {
                // A file that held the name before this upload must match every hash it
                // reports, cheap or not.
                HashKinds::CHEAP.union(stored.reported_kinds())
            } else if cheap {
                HashKinds::CHEAP
            } else {
                stored.reported_kinds()
            };
            let usable = self.source_hashes.filter(|h| h.kinds().covers(wanted));
            let Some(source) = usable else {
                if self.wanted_kinds.covers(wanted) && self.source_hashes.is_some() {
                    // Asked for and still not given: nothing proves the file.
                    return self.fail(UploadError::SourceRead);
                }
                self.wanted_kinds = self.wanted_kinds.union(wanted);
                self.core.in_flight.clear();
                self.core.schedule.open();
                self.phase = Phase::Verifying(candidate);
                return;
            };
            match stored.check(&source, size_required) {
                // QuickXorHash and CRC-32 are linear: a file crafted to match them is easily
                // made. One that was there before this upload is taken for it only on a
                // cryptographic hash (SHA-1, SHA-256), every reported hash compared.
                Ok(verification)
                    if self.checking_conflict
                        && (!verification.unchecked.is_empty()
                            || !verification
                                .hashes
                                .iter()
                                .any(|k| matches!(k, HashKind::Sha1 | HashKind::Sha256))) =>
                {
                    return self.reject_candidate(now, true, Mismatch::NotProven);
                }
                Ok(verification) => verification,
                Err(mismatch) => return self.reject_candidate(now, candidate.looked_up, mismatch),
            }
        };
        self.complete(Completion {
            verification,
            ..candidate.completion
        });
    }

    /// Whether a looked-up item was last modified after this upload's session was created
    /// (both on the server's clock).
    fn made_during_session(&self, stored: &StoredItem) -> bool {
        let modified = stored
            .modified
            .as_deref()
            .and_then(|text| UnixTime::parse_rfc3339(text).ok());
        matches!((modified, self.session_created), (Some(m), Some(c)) if m >= c)
    }

    /// A candidate that is not the source: after a lookup, someone else's file (upload again in
    /// a new session); in answer to this upload's request, a failure.
    fn reject_candidate(&mut self, now: Instant, looked_up: bool, mismatch: Mismatch) {
        if looked_up && self.checking_conflict {
            // Another file holds the name: the conflict the service reported.
            return self.declare_name_conflict();
        }
        if looked_up {
            self.core.events.push(Event::NotThisUpload(mismatch));
            self.maybe_completed = false;
            self.awaiting_caller = false;
            self.lose_session(now, SessionLossCause::NotFound);
        } else {
            self.fail(UploadError::StoredFileDiffers {
                destination: self.config.target.kind(),
                mismatch,
            });
        }
    }

    /// An answer broke the protocol: ask the service where it is, or give up on it after
    /// [`SessionPolicy::max_violations`](super::SessionPolicy::max_violations).
    pub(crate) fn violation(&mut self, now: Instant, violation: Violation) {
        self.violations += 1;
        self.core.events.push(Event::ProtocolViolation(violation));
        if self.violations > self.config.session.max_violations {
            let times = self.violations;
            return self.abandon_session(UploadError::ServiceMisbehaved { violation, times });
        }
        let _ = now;
        // Nothing the answer said is taken: the next request asks where the service is.
        self.phase = Phase::Resync;
    }

    /// The session lost bytes it had confirmed: go on from what it holds, or give up on it
    /// after [`SessionPolicy::max_regressions`](super::SessionPolicy::max_regressions).
    /// Returns whether the upload goes on.
    pub(crate) fn regressed(&mut self, from: u64, to: u64) -> bool {
        self.regressions += 1;
        let violation = Violation::Regressed { from, to };
        self.core.events.push(Event::ProtocolViolation(violation));
        if self.regressions > self.config.session.max_regressions {
            let times = self.regressions;
            self.abandon_session(UploadError::ServiceMisbehaved { violation, times });
            return false;
        }
        true
    }

    /// Gives up: deletes the session if there is one (it may hold bytes, and nothing else
    /// will use it), then fails with `error`.
    pub(crate) fn abandon_session(&mut self, error: UploadError) {
        self.core.in_flight.clear();
        self.core.schedule.open();
        if self.upload_url.is_some() {
            self.phase = Phase::Abandoning(error);
        } else {
            self.fail(error);
        }
    }

    /// The budget of source bytes one session may be sent: a multiple of the file plus four of
    /// the largest fragments, plus what the session confirmed (progress justifies the bytes
    /// that bought it).
    pub(crate) fn send_budget(&self) -> u64 {
        let files = u64::from(self.config.session.send_budget_files.max(1));
        self.config
            .total
            .saturating_mul(files)
            .saturating_add(self.config.largest_fragment().saturating_mul(4))
            .saturating_add(self.high_water)
    }

    pub(crate) fn is_drive_item(&self) -> bool {
        matches!(self.config.target, Target::DriveItem(_))
    }
}

//! How the [`Upload`] keeps track of its session: what the server says it lacks, the source
//! fingerprint, retries, lost and expired sessions, and the ends of the upload.

use crate::http::RequestKind;
use crate::range::ByteRange;
use crate::range_set::RangeSet;
use crate::time::{Duration, Instant};

use super::checkpoint::FragmentCrc;
use super::config::{ConflictBehavior, SessionLoss, Target};
use super::error::SessionLossCause;
use super::error::UploadError;
use super::event::{Completion, Event};
use super::upload::{Missing, Phase, Sent, Upload};
use crate::session::Failure;
use crate::session::Violation;
use crate::wire::graph_answer::SessionStatus;

impl Upload {
    /// Takes in a session object from the server. `authoritative` answers replace what the
    /// engine believed; others (answers overtaken by concurrent requests) can only add to what
    /// the server has, since a server never loses bytes it confirmed within a session.
    ///
    /// An answer that claims bytes this upload never sent into the session is not taken (a
    /// protocol violation: the service is asked again); on a resume that cannot vouch for the
    /// source, such bytes make the session unusable. A session that lost confirmed bytes is
    /// counted against [`SessionPolicy::max_regressions`](super::SessionPolicy::max_regressions).
    /// Returns whether the upload goes on from this answer (`false`: it changed course, and
    /// the caller must not act on the answer any further).
    pub(crate) fn apply_status(
        &mut self,
        now: Instant,
        status: &SessionStatus,
        authoritative: bool,
    ) -> bool {
        self.session_answered = true;
        if let Some(expires) = status.expires {
            self.set_expiry(now, expires);
        }
        let Some(ranges) = &status.next_expected else {
            return true;
        };
        let before = self.missing.received();
        let server: Missing = missing_from(ranges, self.config.total);
        if self.baseline_pending && authoritative {
            // A session made elsewhere, or resumed with the source vouched for: what it holds
            // is the account it starts from.
            self.baseline_pending = false;
            self.unsent = server.clone();
        }
        if let Some(range) = self.claimed_unsent(&server) {
            if core::mem::take(&mut self.unverified_resume) {
                self.lose_session(now, SessionLossCause::Unverifiable);
            } else {
                self.violation(now, Violation::ClaimedUnsent { range });
            }
            return false;
        }
        self.unverified_resume = false;
        if authoritative {
            self.missing = server;
        } else {
            let mut merged = self.missing.clone();
            let mut offset = 0;
            let mut fits = true;
            for gap in server
                .iter()
                .chain(ByteRange::new(self.config.total, u64::MAX))
            {
                if let Some(held) = ByteRange::new(offset, gap.start().min(self.config.total)) {
                    fits &= merged.mark_received(held).is_ok();
                }
                offset = gap.end();
            }
            self.missing = if fits { merged } else { server };
        }
        let received = self.missing.received();
        // Lost what the last answer had confirmed (not the most ever: after one regression,
        // every answer while the lost bytes go again would count once more).
        if authoritative && received < before && !self.regressed(before, received) {
            return false;
        }
        if (authoritative || self.fragments_in_flight() == 0) && !self.missing.is_complete() {
            // The session is alive and still lacks bytes: whatever request was in doubt did not
            // finish the upload, so a later 404 means "lost", not "maybe done"; and the bytes
            // are not waiting for the caller but for the engine. (The test is the one from
            // before answers could be stale: nothing in flight when the answer came. A status
            // request sent before the doubt arose can still pass it; telling those apart would
            // need the order in which the doubt arose.)
            self.maybe_completed = false;
            self.awaiting_caller = false;
        }
        if received > self.high_water.max(before) {
            // Only progress beyond the most the session ever held forgives earlier 404s and
            // refills the retry budget: a server that forgets and is sent the same bytes again,
            // or alternates "not found" with "alive, nothing new", must not loop forever.
            self.not_found = 0;
            self.core.schedule.progress(now);
        }
        self.high_water = self.high_water.max(received);
        self.settle_fingerprints();
        true
    }

    /// The first range the server claims to hold (not listed in `server`) that is not in this
    /// session's account.
    fn claimed_unsent(&self, server: &Missing) -> Option<ByteRange> {
        let total = self.config.total;
        let mut offset = 0;
        for gap in server.iter().chain(ByteRange::new(total, u64::MAX)) {
            if let Some(held) = ByteRange::new(offset, gap.start().min(total)) {
                let claimed = self.unsent.iter().find_map(|u| held.intersection(&u));
                if claimed.is_some() {
                    return claimed;
                }
            }
            offset = gap.end();
        }
        None
    }

    /// Records that `range` goes out in a fragment: it joins this session's account.
    pub(crate) fn account_sent(&mut self, range: ByteRange) {
        self.sent_in_session = self.sent_in_session.saturating_add(range.len());
        if self.unsent.mark_received(range).is_err() {
            // Only a set split into more gaps than it holds gets here: stop judging claims
            // rather than judge them wrongly.
            self.unsent = Missing::complete(self.config.total);
        }
    }

    /// Takes an expiry from an answer of the session. One already past on the server's clock
    /// (as far as the engine can place it) comes from a skewed clock: the session just
    /// answered, so it is alive; keep what was known and let later answers say.
    pub(crate) fn set_expiry(&mut self, now: Instant, expires: crate::time::UnixTime) {
        if self
            .core
            .clock
            .unix_at(now)
            .is_some_and(|server_now| expires <= server_now)
        {
            return;
        }
        self.core
            .expiry
            .set_absolute(now, expires, &self.core.clock);
    }

    /// Moves fragments whose fate was open into the fingerprint when the server has all of their
    /// bytes, and drops fingerprints of bytes the server says it lacks.
    pub(crate) fn settle_fingerprints(&mut self) {
        let in_flight: alloc::vec::Vec<ByteRange> = self
            .core
            .in_flight
            .notes()
            .filter_map(|sent| match sent {
                Sent::Fragment(fragment) => Some(fragment.range),
                _ => None,
            })
            .collect();
        let missing = &self.missing;
        let lacks = |range: ByteRange| missing.iter().any(|gap| gap.intersection(&range).is_some());
        for fragment in core::mem::take(&mut self.unsettled) {
            if !lacks(fragment.range) && !self.fingerprints.contains(&fragment) {
                self.fingerprints.push(fragment);
            } else if in_flight.contains(&fragment.range) {
                // The same range is being sent again; its own answer will settle it.
                self.unsettled.push(fragment);
            }
        }
        self.fingerprints.retain(|fragment| !lacks(fragment.range));
        self.fingerprints.sort_by_key(|fragment| fragment.range);
    }

    /// Notes a fragment whose request ended, with its CRC if the transport gave one.
    pub(crate) fn unsettle(&mut self, range: ByteRange, crc32: Option<u32>) {
        if let Some(crc32) = crc32 {
            self.unsettled.push(FragmentCrc { range, crc32 });
        }
    }

    /// Whether a fragment carrying `range`, whose answer is in doubt, could have finished the
    /// upload: with its bytes (and those of the fragments still in flight) the server would hold
    /// every byte. Not under a deferred commit, where only the commit finishes it. With print
    /// documents this need not be the fragment that ends the file.
    pub(crate) fn could_finish(&self, range: ByteRange) -> bool {
        if self.config.target.defer_commit() {
            return false;
        }
        let mut rest = self.missing.clone();
        let in_flight = self.core.in_flight.notes().filter_map(|sent| match sent {
            Sent::Fragment(fragment) => Some(fragment.range),
            _ => None,
        });
        for sent in core::iter::once(range).chain(in_flight) {
            if rest.mark_received(sent).is_err() {
                // Marking received only fails on a range outside the file: be cautious.
                return true;
            }
        }
        rest.is_complete()
    }

    /// Whether fragments are in flight.
    pub(crate) fn fragments_in_flight(&self) -> usize {
        self.core
            .in_flight
            .notes()
            .filter(|sent| matches!(sent, Sent::Fragment(_)))
            .count()
    }

    /// The server has every byte, as far as the answers so far tell (`authoritative`: the last
    /// of them gave the session's whole state; otherwise the account was built by adding up
    /// answers that may be stale). A deferred commit waits for the caller; otherwise the file is
    /// being (or was) created without the answer saying so, which the engine checks where it can.
    pub(crate) fn all_received(&mut self, authoritative: bool) {
        self.awaiting_caller = true;
        if self.name_conflict {
            self.phase = Phase::NameConflict;
            self.core.events.push(Event::NameConflict);
        } else if self.config.target.defer_commit() {
            self.phase = Phase::CommitPending;
            self.core.events.push(Event::CommitPending {
                expires: self.core.expiry.wall(),
            });
        } else {
            // Every byte is in but no file was named. Ask the session once; if it still holds
            // everything without a file, commit it (`POST uploadUrl`, SPEC 1.1); if it is gone
            // (404), the file was made: find it and check it.
            self.awaiting_caller = false;
            self.maybe_completed = true;
            // Only an answer that gave the session's whole state confirms the end; one added up
            // from answers that may be stale sends the engine to ask again, alone this time.
            let confirmed = core::mem::replace(&mut self.confirming_end, true) && authoritative;
            self.phase = if confirmed {
                Phase::Committing(super::upload::CommitRoute::Post)
            } else {
                Phase::Resync
            };
        }
    }

    /// Schedules a retry after `failure` of a `kind` request; the upload fails if the budget is
    /// spent. Returns whether a retry was scheduled.
    pub(crate) fn retry_later(
        &mut self,
        now: Instant,
        kind: RequestKind,
        failure: Failure,
        retry_after: Option<Duration>,
    ) -> bool {
        let retrying = |at, delay| Event::RetryScheduled {
            reason: failure,
            at,
            delay,
        };
        match self.core.retry(now, failure, retry_after, retrying) {
            Ok(()) => {
                self.retrying = kind;
                true
            }
            Err(_) if kind == RequestKind::Cancel => {
                self.finish_cancelled();
                false
            }
            Err(reason) => {
                self.fail(UploadError::GaveUp {
                    during: kind,
                    last: failure,
                    reason,
                });
                false
            }
        }
    }

    /// A `404`/`410` on the session: retried a few times after a delay (busy SharePoint sites
    /// answer 404 for a moment), then the session counts as lost. The count resets only on
    /// progress, and the waits count toward the stall limit.
    pub(crate) fn session_not_found(&mut self, now: Instant, kind: RequestKind, status: u16) {
        self.not_found += 1;
        // Past its recorded expiry, a 404 is the expiry, not a busy site.
        let expired = !self.session_answered && self.core.expiry.has_expired(now);
        if expired || self.not_found > self.config.session.not_found_retries {
            self.lose_session(now, SessionLossCause::NotFound);
            return;
        }
        let delay = self.config.session.not_found_delay;
        match self.core.schedule.wait_unless_stalled(now, delay) {
            Ok(at) => self.core.events.push(Event::RetryScheduled {
                reason: Failure::Status(status),
                at,
                delay: at.saturating_duration_since(now),
            }),
            Err(reason) => self.fail(UploadError::GaveUp {
                during: kind,
                last: Failure::Status(status),
                reason,
            }),
        }
    }

    /// The session is gone. If the last request may have finished the upload, check that first.
    /// If the bytes were waiting for the caller, report it and stop: the caller decides. Otherwise
    /// start over in a new session where allowed, or fail.
    pub(crate) fn lose_session(&mut self, now: Instant, cause: SessionLossCause) {
        self.core.in_flight.clear();
        self.not_found = 0;
        if self.maybe_completed {
            if self.completion_check_url().is_some() {
                self.phase = Phase::CheckingCompletion;
            } else {
                self.fail(self.completion_unconfirmed());
            }
            return;
        }
        if self.awaiting_caller {
            self.core.events.push(Event::SessionLost {
                cause,
                starting_over: false,
            });
            self.fail(UploadError::UncommittedSessionLost {
                cause,
                name_conflict: self.name_conflict,
            });
            return;
        }
        let policy = self.config.session;
        let can_recreate = self.create_url.is_some();
        let starting_over = can_recreate
            && policy.on_loss == SessionLoss::StartOver
            && self.sessions < policy.max_sessions;
        self.core.events.push(Event::SessionLost {
            cause,
            starting_over,
        });
        if !starting_over {
            self.fail(UploadError::SessionLost {
                sessions: self.sessions,
                can_recreate,
            });
            return;
        }
        if cause != SessionLossCause::NotFound {
            // Alive, as far as anyone knows: delete it rather than leave its bytes behind.
            self.discard.extend(self.upload_url.take());
        }
        self.upload_url = None;
        self.explicit_commit = None;
        self.unsent = Missing::new(self.config.total);
        self.baseline_pending = false;
        self.unverified_resume = false;
        self.sent_in_session = 0;
        self.high_water = 0;
        self.session_created = None;
        self.session_answered = false;
        self.confirming_end = false;
        self.pending_candidate = None;
        self.missing = Missing::new(self.config.total);
        self.fingerprints.clear();
        self.unsettled.clear();
        self.core.expiry.clear();
        self.core.schedule.progress(now);
        self.phase = Phase::Creating;
    }

    /// Declares the session expired if its deadline passed while nothing is in flight (a request
    /// in flight will be answered, and its answer extends the expiry or says the session is gone).
    pub(crate) fn check_expiry(&mut self, now: Instant) {
        // A session is never dropped without a request: on resume, the first answer says
        // whether the recorded expiry still holds.
        if self.expiry_applies() && self.session_answered && self.core.expiry.has_expired(now) {
            self.lose_session(now, SessionLossCause::Expired);
        }
    }

    /// Whether the session's expiry is a deadline the machine acts on now.
    pub(crate) fn expiry_applies(&self) -> bool {
        self.upload_url.is_some()
            && self.core.in_flight.is_empty()
            && matches!(
                self.phase,
                Phase::Uploading | Phase::Resync | Phase::CommitPending | Phase::NameConflict
            )
    }

    /// Where to read the item to learn whether a request whose answer was lost completed the
    /// upload: the explicit commit's item under `fail`, else [`Upload::item_url`].
    pub(crate) fn completion_check_url(&self) -> Option<&str> {
        match &self.explicit_commit {
            Some(commit) => {
                (commit.conflict == ConflictBehavior::Fail).then_some(commit.item_url.as_str())
            }
            None => self.item_url(),
        }
    }

    /// Whether a request that could finish the upload is out, or may go out before the next
    /// acknowledgement: a commit (or the wait for one: the caller may commit right after a
    /// snapshot), a completion check, or a fragment while what is left once the fragments in
    /// flight land fits in one more round of fragments (then, with a deferred commit, the commit).
    pub(crate) fn next_requests_may_finish(&self) -> bool {
        if self.maybe_completed {
            return true;
        }
        match self.phase {
            Phase::CommitPending
            | Phase::NameConflict
            | Phase::Committing(_)
            | Phase::CheckingCompletion
            | Phase::Verifying(_) => return true,
            Phase::Uploading | Phase::Resync => {}
            _ => return false,
        }
        // Under a deferred commit the last fragments cannot finish the upload, but a caller
        // may commit the moment they land, before the next snapshot: count them too.
        let mut after_in_flight = self.missing.clone();
        for sent in self.core.in_flight.notes() {
            if let Sent::Fragment(fragment) = sent {
                // Fails only on a range outside the file: count it as not landing.
                let _ = after_in_flight.mark_received(fragment.range);
            }
        }
        let in_flight = u64::try_from(self.config.max_in_flight()).unwrap_or(u64::MAX);
        let round = self.config.largest_fragment().saturating_mul(in_flight);
        after_in_flight.remaining() <= round
    }

    /// The drive item's URL, derived from the creation URL, when reading the item can confirm a
    /// completion whose answer was lost. Only for a new item by path (`...:/name:/createUploadSession`)
    /// under the `fail` conflict behaviour: then an item at that path with the file's size can
    /// only be this upload's (an older file there would have made the last fragment answer 409,
    /// leaving the session alive). Under `replace` or `rename`, or when replacing an item by id,
    /// an older file could pass the check, so the engine reports the completion unconfirmed.
    pub(crate) fn item_url(&self) -> Option<&str> {
        let Target::DriveItem(item) = &self.config.target else {
            return None;
        };
        if !matches!(item.conflict, None | Some(ConflictBehavior::Fail)) || self.name_conflict {
            return None;
        }
        let url = self.create_url.as_ref()?.expose();
        let path_end = url.find(['?', '#']).unwrap_or(url.len());
        let path = &url[..path_end];
        let suffix = ":/createUploadSession";
        let cut = path.len().checked_sub(suffix.len())?;
        path.get(cut..)?
            .eq_ignore_ascii_case(suffix)
            .then(|| &url[..=cut])
    }

    /// The error for a completion that cannot be confirmed.
    pub(crate) fn completion_unconfirmed(&self) -> UploadError {
        UploadError::CompletionUnconfirmed {
            destination: self.config.target.kind(),
            size: self.config.total,
        }
    }

    pub(crate) fn complete(&mut self, completion: Completion) {
        self.maybe_completed = false;
        self.core.end(Event::Completed(completion.clone()));
        self.phase = Phase::Completed(completion);
    }

    /// The caller declined the last retry: a cancel that cannot be confirmed ends as
    /// cancelled (as when retries run out), anything else fails, the session kept.
    pub(crate) fn decline_retry(&mut self) {
        let Some((last, reason)) = self.core.decline_retry() else {
            return;
        };
        if self.retrying == RequestKind::Cancel {
            self.finish_cancelled();
        } else {
            self.fail(UploadError::GaveUp {
                during: self.retrying,
                last,
                reason,
            });
        }
    }

    pub(crate) fn fail(&mut self, error: UploadError) {
        self.core.end(Event::Failed(error));
        self.phase = Phase::Failed;
    }

    pub(crate) fn finish_cancelled(&mut self) {
        self.core.end(Event::Cancelled);
        self.phase = Phase::Cancelled;
    }
}

/// The missing set a server list describes. A list longer than the set holds is folded: from
/// the last gap that fits, everything counts as missing. Over-counting is safe (the server
/// answers 416 and is asked again); under-counting would skip bytes.
pub(crate) fn missing_from<const N: usize>(ranges: &[ByteRange], total: u64) -> RangeSet<N> {
    let mut set = RangeSet::<N>::complete(total);
    let capacity = RangeSet::<N>::CAPACITY;
    for (i, range) in ranges.iter().enumerate() {
        let folded = if set.len() + 1 >= capacity && i + 1 < ranges.len() {
            ByteRange::new(range.start(), total)
        } else {
            Some(*range)
        };
        let Some(gap) = folded else { continue };
        if set.mark_missing(gap).is_err() {
            // Ranges come sorted and inside the total, so only a full set gets here: fold.
            let _ = ByteRange::new(range.start(), total).map(|tail| set.mark_missing(tail));
            break;
        }
        if folded != Some(*range) {
            break;
        }
    }
    set
}

//! How a [`WopiUpload`] keeps its session: the host's offset, the sliding expiry (keep-alive,
//! warning, lapse), lost sessions, retries, and the ends of the upload.

use alloc::string::String;

use crate::http::{RequestKind, Response};
use crate::session::{Failure, retry_after};
use crate::time::{Duration, Instant};

use super::error::WopiError;
use super::event::{WopiCompletion, WopiEvent, WopiSessionLoss};
use super::upload::{Phase, UpdateInFlight, WopiUpload};
use crate::wire::wopi_headers::failure_reason;

/// Answers that break the protocol (or lose confirmed bytes) tolerated before the engine gives
/// up on the host.
const MAX_VIOLATIONS: u32 = 3;
impl WopiUpload {
    /// Whether the machine waits for the caller (paused, or a `412` to decide): only
    /// keep-alives go out.
    pub(crate) fn is_idle(&self) -> bool {
        self.paused || matches!(self.phase, Phase::SequenceConflict { .. })
    }

    /// Whether an idle session may be kept alive at all.
    fn can_keep_alive(&self) -> bool {
        self.keep_alive && !self.keep_alive_refused && self.token.is_some() && !self.inline
    }

    /// Whether a keep-alive update should go at `now`: idle, allowed, nothing in flight, and
    /// the expiry is within its margin.
    pub(crate) fn keep_alive_due(&self, now: Instant) -> bool {
        self.is_idle()
            && self.can_keep_alive()
            && self.core.in_flight.is_empty()
            && self.core.expiry.deadline().is_some_and(|at| at <= now)
    }

    /// Acts on the session's expiry at `now` with nothing in flight (a request in flight will be
    /// answered, and its answer extends the expiry or says the session is gone): past the
    /// expiry, the session is lost; within the margin, an idle session that cannot be kept
    /// alive gets its warning.
    pub(crate) fn check_expiry(&mut self, now: Instant) {
        if self.token.is_none() || !self.core.in_flight.is_empty() {
            return;
        }
        if self.core.expiry.expires_at().is_some_and(|at| at <= now) {
            self.host_reason = None;
            self.lose_session(now, WopiSessionLoss::Expired);
            return;
        }
        let within_margin = self.core.expiry.deadline().is_some_and(|at| at <= now);
        if within_margin && self.is_idle() && !self.can_keep_alive() && !self.warned {
            self.warn_expiry();
        }
    }

    pub(crate) fn warn_expiry(&mut self) {
        if let Some(expires_at) = self.core.expiry.expires_at() {
            self.warned = true;
            self.core
                .events
                .push(WopiEvent::ExpiryWarning { expires_at });
        }
    }

    /// The earliest moment the session's expiry asks for an action, if any.
    pub(crate) fn expiry_timer(&self) -> Option<Instant> {
        if self.token.is_none() || !self.core.in_flight.is_empty() {
            return None;
        }
        let lapse = self.core.expiry.expires_at();
        // A retry wait decides when the next keep-alive may go; without one, act at the margin.
        let act = (self.is_idle()
            && self.core.schedule.deadline().is_none()
            && (self.can_keep_alive() || !self.warned))
            .then(|| self.core.expiry.deadline())
            .flatten();
        match (lapse, act) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes the host's offset `reported` after update `update` succeeded (`2xx`): the host's
    /// word beats local counting, and the session lives another lifetime from when the update
    /// was sent (the host saw it no earlier, so this never overestimates).
    pub(crate) fn accept_update(&mut self, now: Instant, update: UpdateInFlight, reported: u64) {
        if !self.take_offset(now, update.offset + update.len, reported) {
            return;
        }
        self.core
            .expiry
            .set_sliding(update.issued, self.config.session_lifetime);
        self.warned = false;
        if update.len > 0 && reported == update.offset + update.len {
            let elapsed = now.saturating_duration_since(update.started.unwrap_or(update.issued));
            self.planner.record(update.len, elapsed);
            self.core.throughput.record(update.len, elapsed);
        }
        self.core.events.push(WopiEvent::Acknowledged {
            offset: update.offset,
            len: update.len,
            confirmed: self.offset,
            total: self.stream.len(),
        });
        if update.keep_alive
            && let Some(expires_at) = self.core.expiry.expires_at()
        {
            self.core.events.push(WopiEvent::KeptAlive { expires_at });
        }
    }

    /// The budget of stream bytes one session may be sent: twice the stream plus four of the
    /// largest ranges.
    pub(crate) fn send_budget(&self) -> u64 {
        self.stream
            .len()
            .saturating_mul(2)
            .saturating_add(self.config.range_size.largest().saturating_mul(4))
    }

    /// Moves to the host's offset `reported` where the engine believed `believed`. Returns
    /// whether the offset was usable (an offset past the stream ends the upload).
    pub(crate) fn take_offset(&mut self, now: Instant, believed: u64, reported: u64) -> bool {
        let stream_len = self.stream.len();
        if reported > stream_len {
            self.fail(WopiError::HostOffsetOutOfRange {
                offset: reported,
                stream_len,
                host_reason: self.host_reason.clone(),
            });
            return false;
        }
        let claimed = self
            .sent_end
            .and_then(|sent| crate::range::ByteRange::new(sent, reported));
        let regressed = reported < self.offset && !self.unsure;
        if claimed.is_some() || regressed {
            // The host claims bytes it was never sent, or lost bytes it had confirmed: take
            // nothing from it, probe where it is, and give up on it if it insists.
            let violation = match claimed {
                Some(range) => crate::session::Violation::ClaimedUnsent { range },
                None => crate::session::Violation::Regressed {
                    from: self.offset,
                    to: reported,
                },
            };
            self.violations += 1;
            self.core
                .events
                .push(WopiEvent::ProtocolViolation(violation));
            if self.violations > MAX_VIOLATIONS {
                let times = self.violations;
                self.fail(WopiError::HostMisbehaved { violation, times });
                return false;
            }
            if claimed.is_some() {
                self.unsure = true;
                return false;
            }
        }
        if self.sent_end.is_none() {
            // The first answer of a resumed session: what it holds is its account.
            self.sent_end = Some(reported.max(believed));
        }
        if reported > self.offset {
            self.core.schedule.progress(now);
        }
        if reported != believed {
            self.core.events.push(WopiEvent::Resynchronised {
                believed,
                offset: reported,
            });
        }
        self.offset = reported;
        self.unsure = false;
        if matches!(self.phase, Phase::Uploading | Phase::Committing) {
            self.phase = self.working_phase();
        }
        true
    }

    /// The session is gone. A new one follows where the budget allows (once unpaused, if
    /// paused), and the stream starts again from its first byte; otherwise the upload fails.
    pub(crate) fn lose_session(&mut self, now: Instant, cause: WopiSessionLoss) {
        self.core.in_flight.clear();
        self.token = None;
        self.core.expiry.clear();
        self.offset = 0;
        self.unsure = false;
        self.sent_end = Some(0);
        self.sent_in_session = 0;
        self.keep_alive_refused = false;
        self.warned = false;
        let starting_over = self.sessions < self.config.max_sessions;
        self.core.events.push(WopiEvent::SessionLost {
            cause,
            starting_over,
        });
        if !starting_over {
            let sessions = self.sessions;
            let host_reason = self.host_reason.clone();
            self.fail(if self.commit_unclear {
                WopiError::CommitUnconfirmed {
                    sessions,
                    host_reason,
                }
            } else {
                WopiError::SessionLost {
                    sessions,
                    host_reason,
                }
            });
            return;
        }
        self.core.schedule.progress(now);
        if !matches!(self.phase, Phase::SequenceConflict { .. }) {
            self.phase = Phase::Creating;
        }
    }

    /// Schedules a retry after `failure` of a `kind` request; the upload fails if the budget is
    /// spent.
    pub(crate) fn retry_later(
        &mut self,
        now: Instant,
        kind: RequestKind,
        failure: Failure,
        wait: Option<Duration>,
        host_reason: Option<String>,
    ) {
        let reason_given = host_reason.clone();
        let retrying = |at, delay| WopiEvent::RetryScheduled {
            reason: failure,
            at,
            delay,
            host_reason: reason_given,
        };
        if let Err(reason) = self.core.retry(now, failure, wait, retrying) {
            self.fail(WopiError::GaveUp {
                during: kind,
                last: failure,
                reason,
                host_reason,
            });
        } else {
            self.retrying = kind;
        }
    }

    /// The caller declined the last retry: the upload fails, its session kept.
    pub(crate) fn decline_retry(&mut self) {
        if let Some((last, reason)) = self.core.decline_retry() {
            self.fail(WopiError::GaveUp {
                during: self.retrying,
                last,
                reason,
                host_reason: self.host_reason.clone(),
            });
        }
    }

    /// Retries after an answer whose status asks for it, honouring its `Retry-After`.
    pub(crate) fn retry_status(&mut self, now: Instant, kind: RequestKind, response: &Response) {
        let unplaced = self.config.retry.max_backoff;
        let wait = retry_after(response, now, &self.core.clock, unplaced);
        let failure = Failure::Status(response.status);
        self.retry_later(now, kind, failure, wait, failure_reason(response));
    }

    pub(crate) fn reject(&mut self, during: RequestKind, response: &Response) {
        self.fail(WopiError::Rejected {
            during,
            status: response.status,
            host_reason: failure_reason(response),
        });
    }

    pub(crate) fn complete(&mut self, completion: WopiCompletion) {
        self.core.expiry.clear();
        self.token = None;
        self.core.end(WopiEvent::Completed(completion.clone()));
        self.phase = Phase::Completed(completion);
    }

    pub(crate) fn fail(&mut self, error: WopiError) {
        self.core.end(WopiEvent::Failed(error));
        self.phase = Phase::Failed;
    }
}

//! How an [`Upload`] reads each answer and each missing answer.
//!
//! The rules (SPEC 1 and 4): a request that looked failed may have succeeded, so after a
//! timeout, a dropped connection, a 5xx or a 416 the engine asks the server where it is before
//! sending more; `Retry-After` is never undercut; a 404 on the session is retried a few times
//! before the session counts as lost; the server's word beats local bookkeeping.

use crate::http::{RequestKind, Response, TransportError};
use crate::retry::StatusClass;
use crate::time::Instant;

use super::error::SessionLossCause;
use super::error::UploadError;
use super::event::{Completion, Event};
use super::upload::{Candidate, CommitRoute, FragmentInFlight, Phase, Sent, Upload};
use crate::session::Failure;
use crate::session::retry_after;
use crate::wire::graph_answer::{Answer, parse_answer, service_error};

/// Session-creation answers that cannot be used, tolerated before the upload stops.
const MAX_MALFORMED: u32 = 3;

impl Upload {
    /// A session given up on was deleted (or not: it expires on its own).
    pub(crate) fn on_discarded(&mut self) {
        if let Phase::Abandoning(error) = &self.phase {
            let error = error.clone();
            // Deleted: nothing is left to resume or to delete again.
            self.upload_url = None;
            self.fail(error);
        }
    }

    pub(crate) fn dispatch_transport_error(
        &mut self,
        now: Instant,
        sent: Sent,
        error: TransportError,
    ) {
        if matches!(sent, Sent::Discard) {
            return self.on_discarded();
        }
        if error == TransportError::SourceRead {
            self.fail(UploadError::SourceRead);
            return;
        }
        if self.cancel_requested && matches!(sent, Sent::Create) {
            // A session may exist, unknown to us; it expires on its own.
            self.finish_cancelled();
            return;
        }
        let failure = Failure::Transport(error);
        let kind = match sent {
            Sent::Create => RequestKind::CreateSession,
            Sent::Fragment(fragment) => {
                if error.is_ambiguous() {
                    self.unsettle(fragment.range, fragment.crc32);
                    self.maybe_completed |= self.could_finish(fragment.range);
                    self.enter_resync();
                }
                RequestKind::Fragment
            }
            Sent::Status => RequestKind::Status,
            Sent::Commit => {
                self.maybe_completed |= error.is_ambiguous();
                RequestKind::Commit
            }
            Sent::CheckCompletion => RequestKind::FetchResource,
            Sent::Cancel | Sent::Discard => RequestKind::Cancel,
        };
        self.retry_later(now, kind, failure, None);
    }

    pub(crate) fn on_create(&mut self, now: Instant, response: &Response) {
        let kind = RequestKind::CreateSession;
        if self.cancel_requested {
            // Cancelled while the session was being made: delete it if it exists, else stop.
            match parse_answer(response, self.config.total) {
                Ok(Answer::Session(status))
                    if StatusClass::of(response.status) == StatusClass::Success
                        && status.upload_url.is_some() =>
                {
                    self.upload_url = status.upload_url;
                    self.phase = Phase::Cancelling;
                }
                _ => self.finish_cancelled(),
            }
            return;
        }
        match StatusClass::of(response.status) {
            StatusClass::Success => {
                let status = match parse_answer(response, self.config.total) {
                    Ok(Answer::Session(status))
                        if status.upload_url.as_ref().is_some_and(is_usable_url) =>
                    {
                        status
                    }
                    Ok(Answer::Session(status)) if status.upload_url.is_some() => {
                        return self.malformed(now, kind, Failure::BadUploadUrl);
                    }
                    Ok(_) => return self.malformed(now, kind, Failure::NoUploadUrl),
                    Err(error) => return self.malformed(now, kind, Failure::Unreadable(error)),
                };
                self.upload_url = status.upload_url.clone();
                self.sessions += 1;
                self.session_created = self.core.clock.unix_at(now);
                self.session_answered = true;
                self.core.schedule.progress(now);
                if status.next_expected.as_ref().is_some_and(|r| !r.is_empty()) {
                    if !self.apply_status(now, &status, true) {
                        return;
                    }
                } else if let Some(expires) = status.expires {
                    self.set_expiry(now, expires);
                }
                self.core.events.push(Event::SessionCreated {
                    number: self.sessions,
                    expires: self.core.expiry.wall(),
                });
                self.phase = Phase::Uploading;
            }
            StatusClass::Throttled | StatusClass::Transient => {
                self.retry_status(now, kind, response)
            }
            StatusClass::Resync | StatusClass::SessionGone | StatusClass::Fatal => {
                self.reject(kind, response)
            }
        }
    }

    pub(crate) fn on_fragment(
        &mut self,
        now: Instant,
        fragment: FragmentInFlight,
        response: &Response,
    ) {
        let kind = RequestKind::Fragment;
        let total = self.config.total;
        let is_last = fragment.range.end() == total;
        let could_finish = self.could_finish(fragment.range);
        self.unsettle(fragment.range, fragment.crc32);
        match StatusClass::of(response.status) {
            StatusClass::Success => match parse_answer(response, total) {
                Ok(Answer::Session(status)) if status.next_expected.is_some() => {
                    let authoritative = self.answered_alone(Some(fragment.order));
                    let before = self.missing.received();
                    if !self.apply_status(now, &status, authoritative) {
                        return;
                    }
                    if self.missing.received() == before && self.missing.is_missing(fragment.range)
                    {
                        // "Accepted", yet none of it stored: a retry like any failure, so a
                        // server that never moves meets the budget instead of an endless loop.
                        let failure = Failure::NoProgress(response.status);
                        self.retry_later(now, kind, failure, None);
                        return;
                    }
                    self.measure(now, &fragment);
                    self.core.events.push(Event::Acknowledged {
                        range: fragment.range,
                        confirmed: self.missing.received(),
                        total,
                    });
                    if self.missing.is_complete() && self.fragments_in_flight() == 0 {
                        self.all_received(authoritative);
                    }
                }
                // 202 means "accepted, more needed", whatever the body looks like.
                Ok(Answer::Item(item)) if response.status != 202 => {
                    self.measure(now, &fragment);
                    let location = response.header("location").map(Into::into);
                    let completion = Completion::new(response.status, Some(item), location);
                    self.answer_names_file(now, Some(fragment.range), completion);
                }
                Ok(Answer::Location(location)) if response.status != 202 => {
                    let completion = Completion::new(response.status, None, Some(location));
                    self.answer_names_file(now, Some(fragment.range), completion);
                }
                Ok(Answer::Empty) if is_last && response.status != 202 => {
                    let completion = Completion::new(response.status, None, None);
                    self.answer_names_file(now, Some(fragment.range), completion);
                }
                other => {
                    let failure = match other {
                        Err(error) => Failure::Unreadable(error),
                        _ => Failure::Status(response.status),
                    };
                    self.maybe_completed |= could_finish;
                    self.enter_resync();
                    self.retry_later(now, kind, failure, None);
                }
            },
            StatusClass::Resync => {
                // The fragment overlaps what the server has, or skips ahead of it: ask.
                self.enter_resync();
                self.retry_later(now, kind, Failure::Status(response.status), None);
            }
            StatusClass::Throttled => {
                // Refused before anything was stored: the same bytes go again after the wait.
                self.retry_status(now, kind, response);
            }
            StatusClass::Transient => {
                self.maybe_completed |= could_finish;
                self.enter_resync();
                self.retry_status(now, kind, response);
            }
            StatusClass::SessionGone => {
                self.enter_resync();
                self.session_not_found(now, kind, response.status);
            }
            // Only a drive item has a name to conflict over; its way out is an explicit commit.
            StatusClass::Fatal if response.status == 409 && is_last && self.is_drive_item() => {
                // The service took the bytes and refused the name: they are held, and stay.
                let _ = self.missing.mark_received(fragment.range);
                self.settle_fingerprints();
                self.name_conflict()
            }
            StatusClass::Fatal => self.reject(kind, response),
        }
    }

    /// Whether the answer to a request that went out at `order` gives the session's state
    /// after every answer taken so far (see [`IssueOrder`](super::upload::IssueOrder)).
    fn answered_alone(&self, order: Option<super::upload::IssueOrder>) -> bool {
        order.is_some_and(|order| {
            order.alone
                && order.fragments_before == self.fragments_issued
                && self.fragments_in_flight() == 0
        })
    }

    pub(crate) fn on_status(&mut self, now: Instant, response: &Response) {
        let kind = RequestKind::Status;
        match StatusClass::of(response.status) {
            StatusClass::Success => match parse_answer(response, self.config.total) {
                Ok(Answer::Session(status)) if status.next_expected.is_some() => {
                    let authoritative = self.answered_alone(self.status_order);
                    if !self.apply_status(now, &status, authoritative) {
                        return;
                    }
                    let offset = self
                        .missing
                        .first_gap()
                        .map_or(self.config.total, |g| g.start());
                    self.core.events.push(Event::Resynchronised {
                        offset,
                        confirmed: self.missing.received(),
                    });
                    if !matches!(self.phase, Phase::Resync) {
                        return;
                    }
                    if self.missing.is_complete() && self.fragments_in_flight() == 0 {
                        self.all_received(authoritative);
                    } else {
                        self.phase = Phase::Uploading;
                    }
                }
                Ok(Answer::Item(item)) => {
                    let completion = Completion::new(response.status, Some(item), None);
                    self.answer_names_file(now, None, completion);
                }
                Ok(_) => {
                    self.retry_later(now, kind, Failure::Status(response.status), None);
                }
                Err(error) => {
                    self.retry_later(now, kind, Failure::Unreadable(error), None);
                }
            },
            StatusClass::Throttled | StatusClass::Transient | StatusClass::Resync => {
                self.retry_status(now, kind, response)
            }
            StatusClass::SessionGone => self.session_not_found(now, kind, response.status),
            StatusClass::Fatal => self.reject(kind, response),
        }
    }

    pub(crate) fn on_commit(&mut self, now: Instant, response: &Response) {
        let kind = RequestKind::Commit;
        match StatusClass::of(response.status) {
            StatusClass::Success => match parse_answer(response, self.config.total) {
                Ok(Answer::Session(status))
                    if status.next_expected.as_ref().is_some_and(|r| !r.is_empty()) =>
                {
                    // The server lacks bytes after all: upload them, then commit again.
                    if self.apply_status(now, &status, true) {
                        self.phase = Phase::Uploading;
                    }
                }
                Ok(Answer::Session(_)) => {
                    self.retry_later(now, kind, Failure::Status(response.status), None);
                }
                Ok(Answer::Item(item)) => {
                    let location = response.header("location").map(Into::into);
                    let completion = Completion::new(response.status, Some(item), location);
                    self.answer_names_file(now, None, completion);
                }
                Ok(Answer::Location(location)) => {
                    let completion = Completion::new(response.status, None, Some(location));
                    self.answer_names_file(now, None, completion);
                }
                Ok(Answer::Empty) => {
                    let completion = Completion::new(response.status, None, None);
                    self.answer_names_file(now, None, completion);
                }
                Err(error) => {
                    self.maybe_completed = true;
                    self.retry_later(now, kind, Failure::Unreadable(error), None);
                }
            },
            StatusClass::Throttled => self.retry_status(now, kind, response),
            StatusClass::Transient => {
                self.maybe_completed = true;
                self.retry_status(now, kind, response);
            }
            StatusClass::SessionGone => self.session_not_found(now, kind, response.status),
            StatusClass::Fatal if response.status == 409 && self.is_drive_item() => {
                self.name_conflict()
            }
            StatusClass::Resync | StatusClass::Fatal => self.reject(kind, response),
        }
    }

    pub(crate) fn on_check_completion(&mut self, now: Instant, response: &Response) {
        let kind = RequestKind::FetchResource;
        match StatusClass::of(response.status) {
            StatusClass::Success => {
                // Found by path: it must prove it is this upload's (size, hashes, or a
                // modification after this session was made), else it is someone else's file.
                let item = alloc::string::String::from_utf8_lossy(&response.body).into();
                let candidate = Candidate {
                    completion: Completion::new(response.status, Some(item), None),
                    looked_up: true,
                };
                self.finish_candidate(now, candidate);
            }
            // The item that held the name is gone, or cannot be read: the conflict stands.
            _ if self.checking_conflict
                && !matches!(
                    StatusClass::of(response.status),
                    StatusClass::Throttled | StatusClass::Transient
                ) =>
            {
                self.declare_name_conflict()
            }
            StatusClass::SessionGone => {
                self.maybe_completed = false;
                self.lose_session(now, SessionLossCause::NotFound);
            }
            StatusClass::Throttled | StatusClass::Transient => {
                self.retry_status(now, kind, response)
            }
            StatusClass::Resync | StatusClass::Fatal => self.fail(self.completion_unconfirmed()),
        }
    }

    pub(crate) fn on_cancel(&mut self, now: Instant, response: &Response) {
        match StatusClass::of(response.status) {
            StatusClass::Throttled | StatusClass::Transient => {
                self.retry_status(now, RequestKind::Cancel, response)
            }
            // Deleted, already gone, or refused: either way nothing more is sent, and a session
            // left behind expires on its own.
            _ => self.finish_cancelled(),
        }
    }

    /// Retries after an answer whose status asks for it, honouring its `Retry-After`. A date
    /// that nothing places (no `Date`, no wall clock from the caller) waits the longest
    /// `Retry-After` the policy accepts, never less than an acceptable ask.
    fn retry_status(&mut self, now: Instant, kind: RequestKind, response: &Response) {
        let unplaced = self.config.retry.max_retry_after;
        let wait = retry_after(response, now, &self.core.clock, unplaced);
        self.retry_later(now, kind, Failure::Status(response.status), wait);
    }

    fn reject(&mut self, during: RequestKind, response: &Response) {
        let to_upload_url = match during {
            RequestKind::Fragment | RequestKind::Status | RequestKind::Cancel => true,
            RequestKind::Commit => matches!(self.phase, Phase::Committing(CommitRoute::Post)),
            _ => false,
        };
        if to_upload_url && response.status == 401 {
            // No bearer token went there: the URL's own credential was refused.
            return self.fail(UploadError::UploadUrlRefused {
                during,
                status: response.status,
            });
        }
        let (code, message) = service_error(&response.body);
        self.fail(UploadError::Rejected {
            during,
            status: response.status,
            code,
            message,
        });
    }

    fn name_conflict(&mut self) {
        // Under `fail` the name may be held by this very file: an earlier run that stored it
        // and was killed before it could say so, or a copy uploaded before. Read the item
        // first: the same size and hashes are this file's bytes, and the upload's goal is met.
        if !self.conflict_checked && self.completion_check_url().is_some() {
            self.conflict_checked = true;
            self.checking_conflict = true;
            self.core.in_flight.clear();
            self.phase = Phase::CheckingCompletion;
            return;
        }
        self.declare_name_conflict();
    }

    /// The name is held by another file: the bytes wait in the session for the caller.
    pub(crate) fn declare_name_conflict(&mut self) {
        self.checking_conflict = false;
        self.name_conflict = true;
        self.awaiting_caller = true;
        self.phase = Phase::NameConflict;
        self.core.events.push(Event::NameConflict);
    }

    /// A session-creation answer that cannot be used: retried, at most [`MAX_MALFORMED`] times.
    /// An `uploadUrl` that is not a usable URL ends the upload at once: the service chose it,
    /// and asking again would only bring another.
    fn malformed(&mut self, now: Instant, kind: RequestKind, failure: Failure) {
        self.malformed += 1;
        if self.malformed >= MAX_MALFORMED || failure == Failure::BadUploadUrl {
            return self.fail(UploadError::ProtocolError {
                during: kind,
                last: failure,
                times: self.malformed,
            });
        }
        self.retry_later(now, kind, failure, None);
    }

    /// After an unclear outcome, no fragment goes out before the server said where it is.
    pub(crate) fn enter_resync(&mut self) {
        if matches!(self.phase, Phase::Uploading | Phase::Resync) {
            self.phase = Phase::Resync;
        }
    }

    fn measure(&mut self, now: Instant, fragment: &FragmentInFlight) {
        let elapsed = now.saturating_duration_since(fragment.started.unwrap_or(fragment.issued));
        self.planner.record(fragment.range.len(), elapsed);
        self.core.throughput.record(fragment.range.len(), elapsed);
    }
}

/// Whether a URL the service gave can be used: `http` or `https`, a host, no user information
/// (which an HTTP client would turn into an `Authorization` header), no spaces or control
/// characters.
pub(crate) fn is_usable_url(url: &crate::secret::SecretUrl) -> bool {
    let text = url.expose();
    let lower = |n: usize| text.get(..n).map(str::to_ascii_lowercase);
    let rest = if lower(8).as_deref() == Some("https://") {
        &text[8..]
    } else if lower(7).as_deref() == Some("http://") {
        &text[7..]
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty()
        && !authority.starts_with(':')
        && !authority.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

//! How a [`WopiUpload`] reads each answer and each missing answer (SPEC 2.3 and 4).
//!
//! - The host's `X-WOPI-UploadSessionCurrentOffset` beats local counting, on a `200` (a partial
//!   store answers with a shorter offset), on a `400` (an offset mismatch), and on a `5xx` that
//!   carries it.
//! - After an unclear outcome (timeout, lost connection, a `5xx` without an offset) the next
//!   update is a probe at the last confirmed offset; see the module documentation.
//! - `410` (and `404`) on the session: a new session, and the stream again from its start.
//! - On the commit: `409` is fatal with the host's lock, `412` follows the sequence policy,
//!   `413` is fatal; on creation, `501` falls back to one `PutChunkedFile`.

use crate::http::{RequestKind, Response};
use crate::retry::StatusClass;
use crate::secret::Secret;
use crate::session::Failure;
use crate::time::Instant;

use super::config::SequenceConflictPolicy;
use super::error::WopiError;
use super::event::{WopiCompletion, WopiEvent, WopiSessionLoss};
use super::upload::{Phase, UpdateInFlight, WopiUpload};
use crate::wire::wopi_headers::{
    CONFLICTING_MECHANISM, ITEM_VERSION, LOCK, current_offset, failure_reason, host_text,
    sequence_number, session_token,
};

impl WopiUpload {
    pub(crate) fn on_create(&mut self, now: Instant, issued: Instant, response: &Response) {
        let kind = RequestKind::CreateSession;
        match response.status {
            200..=299 => match session_token(response) {
                Ok(token) => {
                    self.token = Some(token);
                    self.sessions += 1;
                    self.offset = 0;
                    self.unsure = false;
                    self.keep_alive_refused = false;
                    self.warned = false;
                    self.core
                        .expiry
                        .set_sliding(issued, self.config.session_lifetime);
                    self.core.schedule.progress(now);
                    self.core.events.push(WopiEvent::SessionCreated {
                        number: self.sessions,
                    });
                    if matches!(self.phase, Phase::Creating) {
                        self.phase = self.working_phase();
                    }
                }
                Err(error) => {
                    let reason = failure_reason(response);
                    self.retry_later(now, kind, Failure::Unreadable(error), None, reason);
                }
            },
            501 if self.config.fallback_on_501 && self.sessions == 0 => {
                self.inline = true;
                self.core.events.push(WopiEvent::FallingBack);
                self.phase = Phase::Committing;
            }
            _ => self.retry_or_reject(now, kind, response),
        }
    }

    pub(crate) fn on_update(&mut self, now: Instant, update: UpdateInFlight, response: &Response) {
        let kind = update_kind(update);
        let reported = current_offset(response);
        match response.status {
            200..=299 => match reported {
                Ok(Some(offset)) => self.accept_update(now, update, offset),
                // A host that leaves the offset out is taken to have stored the whole body.
                Ok(None) => self.accept_update(now, update, update.offset + update.len),
                Err(error) => {
                    self.unsure = true;
                    let reason = failure_reason(response);
                    self.retry_later(now, kind, Failure::Unreadable(error), None, reason);
                }
            },
            400 => match reported {
                Ok(Some(offset)) if offset != update.offset => {
                    self.offset_mismatch(now, update, offset, response)
                }
                // The host is where the probe says, yet refused it: it may still be busy with
                // the update whose answer was lost (hosts refuse an update while another of the
                // same session runs). Ask again after a backoff, within the budget.
                Ok(Some(_)) if update.probe && update.len > 0 => {
                    let reason = failure_reason(response);
                    self.retry_later(now, kind, Failure::Status(400), None, reason);
                }
                _ if update.keep_alive => self.keep_alive_refused(),
                // The host's position after an unclear outcome cannot be learnt: start again.
                Ok(None) | Err(_) if update.probe => {
                    self.lose_session(now, WopiSessionLoss::PositionUnknown)
                }
                _ => self.reject(kind, response),
            },
            404 | 410 => self.lose_session(now, WopiSessionLoss::Gone),
            status => match StatusClass::of(status) {
                StatusClass::Throttled => self.retry_status(now, kind, response),
                StatusClass::Transient => {
                    match reported {
                        Ok(Some(offset)) => {
                            if !self.take_offset(now, update.offset + update.len, offset) {
                                return;
                            }
                        }
                        _ => self.unsure = true,
                    }
                    self.retry_status(now, kind, response);
                }
                _ => self.reject(kind, response),
            },
        }
    }

    /// A `400` whose offset is not the one sent: the host is elsewhere. Moving forward is
    /// progress and the next update goes at once; otherwise it waits, within the budget, so a
    /// host that keeps moving backwards cannot make the engine loop.
    fn offset_mismatch(
        &mut self,
        now: Instant,
        update: UpdateInFlight,
        reported: u64,
        response: &Response,
    ) {
        let before = self.offset;
        if !self.take_offset(now, update.offset, reported) {
            return;
        }
        if reported <= before {
            let reason = failure_reason(response);
            self.retry_later(now, update_kind(update), Failure::Status(400), None, reason);
        }
    }

    /// The host refused a keep-alive it could have taken (an empty update, most likely): no
    /// more keep-alives in this session; the caller is warned instead.
    fn keep_alive_refused(&mut self) {
        self.keep_alive_refused = true;
        if !self.warned {
            self.warn_expiry();
        }
    }

    pub(crate) fn on_commit(&mut self, now: Instant, response: &Response) {
        let kind = RequestKind::Commit;
        match response.status {
            200..=299 => self.committed(WopiCompletion {
                sequence_number: sequence_number(response),
                item_version: host_text(response, ITEM_VERSION),
                sessions: self.sessions,
                inline: self.inline,
                verification: Default::default(),
            }),
            409 => self.fail(WopiError::LockMismatch {
                lock: response.header(LOCK).map(Secret::new),
                mechanism: host_text(response, CONFLICTING_MECHANISM),
                host_reason: failure_reason(response),
            }),
            412 => self.sequence_conflict(response),
            404 | 410 if !self.inline => self.lose_session(now, WopiSessionLoss::Gone),
            status => {
                if StatusClass::of(status) == StatusClass::Transient {
                    self.commit_unclear = true;
                }
                self.retry_or_reject(now, kind, response);
            }
        }
    }

    /// A `412`: the host's version is not the one the sequence number names.
    fn sequence_conflict(&mut self, response: &Response) {
        let host = sequence_number(response).filter(|n| *n > 0);
        let sent = self.sequence_number;
        let retrying = match (self.config.on_sequence_conflict, host) {
            (SequenceConflictPolicy::Adopt { max }, Some(host)) if self.adoptions < max => {
                self.adoptions += 1;
                self.sequence_number = host;
                true
            }
            _ => false,
        };
        self.core.events.push(WopiEvent::SequenceConflict {
            sent,
            host,
            retrying,
            maybe_own_commit: self.commit_unclear,
        });
        if retrying {
            return;
        }
        if self.commit_unclear && self.own_commit_check.is_none() {
            // An earlier commit of this upload lost its answer: the host's newer version may
            // be this very file. CheckFileInfo tells: the source's size and SHA-256 prove it;
            // anything else leaves the conflict as it is.
            self.own_commit_check = Some(WopiError::SequenceMismatch {
                sent,
                host,
                maybe_own_commit: true,
                host_reason: failure_reason(response),
            });
            return self.committed(WopiCompletion {
                sequence_number: host,
                item_version: host_text(response, ITEM_VERSION),
                sessions: self.sessions,
                inline: self.inline,
                verification: Default::default(),
            });
        }
        if self.config.on_sequence_conflict == SequenceConflictPolicy::Ask {
            self.phase = Phase::SequenceConflict { host };
        } else {
            self.fail(WopiError::SequenceMismatch {
                sent,
                host,
                maybe_own_commit: self.commit_unclear,
                host_reason: failure_reason(response),
            });
        }
    }

    /// Retries what may be retried (`429`, `5xx`, `408`), refuses the rest.
    fn retry_or_reject(&mut self, now: Instant, kind: RequestKind, response: &Response) {
        match StatusClass::of(response.status) {
            StatusClass::Throttled | StatusClass::Transient => {
                self.retry_status(now, kind, response)
            }
            _ => self.reject(kind, response),
        }
    }
}

/// The kind an update was sent as.
pub(crate) fn update_kind(update: UpdateInFlight) -> RequestKind {
    if update.keep_alive {
        RequestKind::Refresh
    } else {
        RequestKind::Fragment
    }
}

//! How the session machine reads the answer to each of its requests.

use super::{CreationRun, LiveSession, Phase, Sent, ServerUrl, WorkbookSession};
use crate::http::{RequestKind, Response, TransportError};
use crate::retry::{GiveUp, StatusClass, requested_wait};
use crate::secret::SecretUrl;
use crate::time::{Duration, Instant};
use crate::workbook::error::RetryCause;
use crate::workbook::error::{AnswerProblem, WorkbookError};
use crate::workbook::event::{Creation, ExpiryReason, WorkbookEvent};
use crate::workbook::graph_error::GraphError;
use crate::workbook::keep_alive::KeepAlive;
use crate::workbook::operation::{OperationAnswer, OperationStatus};
use crate::workbook::session_info::SessionInfo;
use crate::workbook::url::resolve;

impl WorkbookSession {
    pub(super) fn on_create_answer(&mut self, now: Instant, flight: &Sent, answer: &Response) {
        match answer.status {
            202 => {
                let Some(location) = answer.header("Location") else {
                    return self.malformed(flight, answer, AnswerProblem::MissingLocation);
                };
                let Some(operation) = self.server_url(&flight.url, location) else {
                    return self.malformed(flight, answer, AnswerProblem::BadLocation);
                };
                self.retrier.progress(now);
                if self.close_requested {
                    // Nothing exists yet; polling only to close what it yields is not worth
                    // minutes of waiting, and an abandoned session expires on its own.
                    return self.finish(WorkbookEvent::Closed { session_id: None });
                }
                if let Some(creation) = self.creation.as_mut() {
                    creation.how = Creation::LongRunning;
                }
                self.phase = Phase::Poll {
                    operation,
                    at: now + self.poll_wait(now, answer),
                    deadline: now + self.config.max_creation_wait,
                };
            }
            200..=299 => match SessionInfo::parse(&answer.body) {
                Ok(info) => self.session_ready(now, info),
                Err(problem) => self.malformed(flight, answer, problem),
            },
            _ if self.close_requested => self.finish(WorkbookEvent::Closed { session_id: None }),
            // 404 here means the workbook itself is not found: not a session expiry.
            _ => self.retry_or_reject(now, flight, answer),
        }
    }

    pub(super) fn on_poll_answer(&mut self, now: Instant, flight: &Sent, answer: &Response) {
        match answer.status {
            200..=299 => {}
            404 | 410 => return self.restart_creation(now, RetryCause::Status(answer.status)),
            _ => return self.retry_or_reject(now, flight, answer),
        }
        let parsed = match OperationAnswer::parse(&answer.body) {
            Ok(parsed) => parsed,
            Err(problem) => return self.malformed(flight, answer, problem),
        };
        self.retrier.progress(now);
        match parsed {
            OperationAnswer::Pending(status) => {
                self.events.push(WorkbookEvent::Polling { status });
                // The session did not exist when this poll was answered, so its idle clock
                // cannot have started before the poll was sent.
                if let Some(creation) = self.creation.as_mut() {
                    creation.floor = flight.sent_at;
                }
                let wait = self.poll_wait(now, answer);
                let Phase::Poll { at, deadline, .. } = &mut self.phase else {
                    return;
                };
                if now >= *deadline {
                    self.fail(WorkbookError::CreationTimedOut {
                        waited: self.config.max_creation_wait,
                    });
                } else {
                    *at = now + wait;
                }
            }
            OperationAnswer::Succeeded { resource_location } => {
                self.events.push(WorkbookEvent::Polling {
                    status: OperationStatus::Succeeded,
                });
                match self.server_url(&flight.url, &resource_location) {
                    // Polling stops here: the next request fetches the session.
                    Some(resource) => self.phase = Phase::Fetch { resource, at: now },
                    None => self.malformed(flight, answer, AnswerProblem::BadLocation),
                }
            }
            OperationAnswer::Failed { error } => {
                self.events.push(WorkbookEvent::Polling {
                    status: OperationStatus::Failed,
                });
                self.fail(WorkbookError::OperationFailed { error });
            }
        }
    }

    pub(super) fn on_fetch_answer(&mut self, now: Instant, flight: &Sent, answer: &Response) {
        match answer.status {
            200..=299 => match SessionInfo::parse(&answer.body) {
                Ok(info) => self.session_ready(now, info),
                Err(problem) => self.malformed(flight, answer, problem),
            },
            _ if self.close_requested => self.finish(WorkbookEvent::Closed { session_id: None }),
            404 | 410 => self.restart_creation(now, RetryCause::Status(answer.status)),
            _ => self.retry_or_reject(now, flight, answer),
        }
    }

    pub(super) fn on_refresh_answer(&mut self, now: Instant, flight: &Sent, answer: &Response) {
        if (200..300).contains(&answer.status) {
            let Some(session) = self.session.as_mut() else {
                return;
            };
            session.keep_alive.refreshed(flight.sent_at);
            let next_refresh = session.keep_alive.refresh_due();
            self.retrier.progress(now);
            self.recreations_in_a_row = 0;
            self.events.push(WorkbookEvent::Refreshed { next_refresh });
            return;
        }
        let error = GraphError::from_body(&answer.body);
        if let Some(code) = error.as_ref().and_then(GraphError::invalid_session_code) {
            if code.allows_recreation() {
                return self.begin_recreation(now, ExpiryReason::ReCreatable);
            }
            let error = error.unwrap_or_default();
            return self.fail(WorkbookError::SessionInvalid { code, error });
        }
        if matches!(answer.status, 404 | 410) {
            return self.begin_recreation(now, ExpiryReason::NotFound);
        }
        self.retry_or_reject(now, flight, answer);
    }

    pub(super) fn on_close_answer(&mut self, now: Instant, flight: &Sent, answer: &Response) {
        let gone = matches!(answer.status, 404 | 410)
            || GraphError::from_body(&answer.body)
                .is_some_and(|error| error.invalid_session_code().is_some());
        if (200..300).contains(&answer.status) || gone {
            // A session the server no longer knows is as closed as it gets.
            let session_id = self.session.as_ref().map(|session| session.id.clone());
            return self.finish(WorkbookEvent::Closed { session_id });
        }
        self.retry_or_reject(now, flight, answer);
    }

    pub(super) fn on_transport_error(
        &mut self,
        now: Instant,
        flight: &Sent,
        error: TransportError,
    ) {
        let creating = matches!(
            flight.kind,
            RequestKind::CreateSession | RequestKind::FetchResource
        );
        if creating && self.close_requested {
            return self.finish(WorkbookEvent::Closed { session_id: None });
        }
        if error == TransportError::SourceRead {
            // Workbook requests carry no source bytes; a transport that says otherwise has a
            // bug that retrying cannot fix.
            return self.fail(WorkbookError::Transport {
                request: flight.kind,
                error,
            });
        }
        // An ambiguous createSession may have created a session we never hear of; it expires on
        // its own, so creating again is safe. The other requests are idempotent.
        self.retry(now, flight.kind, RetryCause::Transport(error), None);
    }

    /// A session exists: make it live (or close it at once if the caller asked).
    fn session_ready(&mut self, now: Instant, info: SessionInfo) {
        let creation = self.creation.take().unwrap_or(CreationRun {
            replacing: None,
            how: Creation::Immediate,
            floor: now,
            restarts: 0,
        });
        let persist_changes = info.persist_changes.unwrap_or(self.config.persist_changes);
        self.generation += 1;
        let keep_alive = KeepAlive::new(
            creation.floor,
            self.config.inactivity.limit_for(persist_changes),
            self.config.refresh_interval(persist_changes),
        );
        self.retrier.progress(now);
        self.events.push(match creation.replacing {
            Some(old_session_id) => WorkbookEvent::Recreated {
                old_session_id,
                new_session_id: info.id.clone(),
                persist_changes,
                how: creation.how,
            },
            None => WorkbookEvent::Created {
                session_id: info.id.clone(),
                persist_changes,
                how: creation.how,
            },
        });
        self.session = Some(LiveSession {
            id: info.id,
            persist_changes,
            generation: self.generation,
            keep_alive,
        });
        self.phase = if self.close_requested {
            Phase::Close { at: now }
        } else {
            Phase::Live
        };
    }

    /// The operation or the created session vanished before we got it: start over with a new
    /// `createSession`. This is the same creation tried again, not a recreation after an
    /// expiry, so it spends nothing of [`WorkbookConfig::max_recreations`]; it is bounded by the
    /// retry budget ([`RetryPolicy::max_attempts`](crate::retry::RetryPolicy::max_attempts)
    /// restarts per creation), so a server that keeps losing operations cannot loop us forever.
    ///
    /// [`WorkbookConfig::max_recreations`]: crate::workbook::WorkbookConfig::max_recreations
    fn restart_creation(&mut self, now: Instant, cause: RetryCause) {
        if self.close_requested {
            return self.finish(WorkbookEvent::Closed { session_id: None });
        }
        let limit = self.config.retry.max_attempts;
        let Some(creation) = self.creation.as_mut() else {
            return;
        };
        if creation.restarts >= limit {
            let attempts = creation.restarts;
            return self.fail(WorkbookError::GaveUp {
                request: RequestKind::CreateSession,
                cause,
                reason: GiveUp::BudgetExhausted { attempts },
            });
        }
        creation.restarts += 1;
        creation.how = Creation::Immediate;
        self.phase = Phase::Create { at: now };
        self.events.push(WorkbookEvent::Retrying {
            request: RequestKind::CreateSession,
            cause,
            wait: Duration::ZERO,
        });
    }

    /// An error answer that is not about the session: retry it if SPEC section 4 says so,
    /// otherwise stop.
    fn retry_or_reject(&mut self, now: Instant, flight: &Sent, answer: &Response) {
        match StatusClass::of(answer.status) {
            StatusClass::Throttled | StatusClass::Transient => {
                let wait = self.requested_wait(now, answer);
                self.retry(now, flight.kind, RetryCause::Status(answer.status), wait);
            }
            StatusClass::Success
            | StatusClass::Resync
            | StatusClass::SessionGone
            | StatusClass::Fatal => self.fail(WorkbookError::Rejected {
                request: flight.kind,
                status: answer.status,
                error: GraphError::from_body(&answer.body),
            }),
        }
    }

    /// Schedules the same request again after the retrier's wait (never before `asked`), or stops
    /// when the retry policy gives up.
    fn retry(
        &mut self,
        now: Instant,
        request: RequestKind,
        cause: RetryCause,
        asked: Option<Duration>,
    ) {
        let mut wait = match self.retrier.schedule(now, asked) {
            Ok(wait) => wait,
            Err(reason) => {
                return self.fail(WorkbookError::GaveUp {
                    request,
                    cause,
                    reason,
                });
            }
        };
        match &mut self.phase {
            Phase::Create { at } | Phase::Poll { at, .. } | Phase::Fetch { at, .. } => {
                *at = now + wait;
            }
            Phase::Close { at } => *at = now + wait,
            Phase::Live => {
                let Some(session) = self.session.as_mut() else {
                    return;
                };
                if asked.is_none() {
                    // A blind retry of the keep-alive must still land before the expiry.
                    wait = session.keep_alive.cap_blind_wait(now, wait);
                }
                session.keep_alive.defer_until(now + wait);
            }
            Phase::Finished => return,
        }
        self.events.push(WorkbookEvent::Retrying {
            request,
            cause,
            wait,
        });
    }

    /// How long to wait before the next poll of a long-running creation. The client's own
    /// interval is the configured one, at most [`MAX_POLL_INTERVAL`] (Microsoft's ceiling) and
    /// at most the refresh interval: the session may come into being right after a poll, and
    /// must not sit unrefreshed past its inactivity limit before the next poll finds it (this
    /// matters for short, scaled limits). Those caps bound the client's choice only: a longer
    /// `Retry-After` is waited out in full (SPEC 4: never earlier than asked), even past the
    /// inactivity limit, since the server knows when its session will exist.
    fn poll_wait(&self, now: Instant, answer: &Response) -> Duration {
        let unrefreshed = self.config.refresh_interval(self.config.persist_changes);
        let own = self
            .config
            .effective_poll_interval()
            .min(unrefreshed.max(Duration::from_millis(1)));
        self.requested_wait(now, answer)
            .map_or(own, |asked| asked.max(own))
    }

    /// The wait an answer's `Retry-After` asks for, on the server's clock (see
    /// [`requested_wait`]).
    fn requested_wait(&self, now: Instant, answer: &Response) -> Option<Duration> {
        requested_wait(
            answer.header("Retry-After"),
            answer.header("Date"),
            self.clock.unix_at(now),
            self.config.retry.max_retry_after,
        )
    }

    /// Resolves a URL the server named against the URL of the request it answered; the bearer
    /// token may go there only if it has the workbook's own origin.
    fn server_url(&self, request_url: &SecretUrl, reference: &str) -> Option<ServerUrl> {
        let url = resolve(request_url.expose(), reference)?;
        Some(ServerUrl {
            same_origin: self.url.is_same_origin(&url),
            url: SecretUrl::new(url),
        })
    }

    fn malformed(&mut self, flight: &Sent, answer: &Response, problem: AnswerProblem) {
        self.fail(WorkbookError::MalformedAnswer {
            request: flight.kind,
            status: answer.status,
            problem,
        });
    }
}

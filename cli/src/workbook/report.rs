//! What `resumable workbook open` prints: one line (or one JSON object) per event, and a summary.
//!
//! Session ids are credentials: they are never printed. A session is named by a tag, the first
//! eight hex digits of the SHA-256 of its id, enough to tell a replacement from the original.

use std::io::Write;
use std::time::Duration;

use resumable_core::http::RequestKind;
use resumable_core::secret::Secret;
use resumable_core::workbook::{RetryCause, WorkbookError, WorkbookEvent};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::duration::format_seconds;
use crate::error::CliError;

/// The tag a session is shown by.
pub(crate) fn session_tag(id: &Secret) -> String {
    Sha256::digest(id.expose().as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What happened, counted from the events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) polls: u32,
    pub(crate) refreshes: u32,
    pub(crate) expiries: u32,
    pub(crate) recreations: u32,
    pub(crate) retries: u32,
}

impl Tally {
    fn count(&mut self, event: &WorkbookEvent) {
        match event {
            WorkbookEvent::Polling { .. } => self.polls += 1,
            WorkbookEvent::Refreshed { .. } => self.refreshes += 1,
            WorkbookEvent::Expired { .. } => self.expiries += 1,
            WorkbookEvent::Recreated { .. } => self.recreations += 1,
            WorkbookEvent::Retrying { .. } => self.retries += 1,
            _ => {}
        }
    }
}

/// How the hold ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Held for the whole duration and closed.
    Closed,
    /// The session machine stopped with an error.
    Failed,
    /// Ctrl-C, or the session's task ended without a word.
    Interrupted,
}

impl Ending {
    fn name(self) -> &'static str {
        match self {
            Ending::Closed => "closed",
            Ending::Failed => "failed",
            Ending::Interrupted => "interrupted",
        }
    }
}

/// Prints events as text lines or JSON objects, timed from the start of the command.
pub(crate) struct Report {
    json: bool,
    started: tokio::time::Instant,
    pub(crate) tally: Tally,
}

impl Report {
    pub(crate) fn new(json: bool) -> Self {
        Report {
            json,
            started: tokio::time::Instant::now(),
            tally: Tally::default(),
        }
    }

    /// Time since the report was made (just before the session was opened), for the lines.
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Prints one event. In text, a failure is left to the command's last line.
    pub(crate) fn event(&mut self, event: &WorkbookEvent) -> Result<(), CliError> {
        self.tally.count(event);
        if self.json {
            let mut object = event_json(event);
            object["at_ms"] = json!(self.elapsed().as_millis() as u64);
            return self.print_json(object);
        }
        if matches!(event, WorkbookEvent::Failed(_)) {
            return Ok(());
        }
        let line = format!(
            "{:>8.3}s  {:<10} {}",
            self.elapsed().as_secs_f64(),
            event.name(),
            event_text(event)
        );
        self.print_line(&line)
    }

    /// The closing summary.
    pub(crate) fn summary(&self, ending: Ending, held: Duration) -> Result<(), CliError> {
        let tally = &self.tally;
        if self.json {
            return self.print_json(json!({
                "event": "summary",
                "status": ending.name(),
                "held_ms": held.as_millis() as u64,
                "polls": tally.polls,
                "refreshes": tally.refreshes,
                "expiries": tally.expiries,
                "recreations": tally.recreations,
                "retries": tally.retries,
            }));
        }
        let line = format!(
            "{}: held {}, {} refreshes, {} polls, {} expiries, {} recreations, {} retries",
            ending.name(),
            format_seconds(held),
            tally.refreshes,
            tally.polls,
            tally.expiries,
            tally.recreations,
            tally.retries
        );
        self.print_line(&line)
    }

    fn print_json(&self, object: Value) -> Result<(), CliError> {
        self.print_line(&object.to_string())
    }

    fn print_line(&self, line: &str) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(CliError::output)
    }
}

/// The JSON object for a command that stopped before a session was opened (bad options, no
/// token, the embedded emulator would not start): the same `failed` event a session failure
/// prints, so a reader of the JSON lines sees every failure the same way.
pub(crate) fn print_start_failure(error: &CliError) -> Result<(), CliError> {
    let object = json!({ "event": "failed", "message": error.to_string() });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{object}")
        .and_then(|()| out.flush())
        .map_err(CliError::output)
}

fn kind(persist: bool) -> &'static str {
    if persist {
        "persistent"
    } else {
        "non-persistent"
    }
}

/// The text after the event's name.
fn event_text(event: &WorkbookEvent) -> String {
    match event {
        WorkbookEvent::Created {
            session_id,
            persist_changes,
            how,
        } => format!(
            "session {} ({}, {how})",
            session_tag(session_id),
            kind(*persist_changes)
        ),
        WorkbookEvent::Polling { status } => format!("the creation is {status}"),
        WorkbookEvent::Refreshed { next_refresh } => {
            format!(
                "next refresh at {}",
                format_seconds(Duration::from_millis(next_refresh.as_millis()))
            )
        }
        WorkbookEvent::Expired { session_id, reason } => format!(
            "session {} is gone ({reason}); creating a new one",
            session_tag(session_id)
        ),
        WorkbookEvent::Recreated {
            old_session_id,
            new_session_id,
            persist_changes,
            how,
        } => format!(
            "session {} replaces {} ({}, {how})",
            session_tag(new_session_id),
            session_tag(old_session_id),
            kind(*persist_changes)
        ),
        WorkbookEvent::Closed {
            session_id: Some(id),
        } => format!("session {}", session_tag(id)),
        WorkbookEvent::Closed { session_id: None } => "before a session existed".to_owned(),
        // Retries and failures name no session: the core's line says it.
        other => {
            let line = other.to_string();
            match line.split_once(": ") {
                Some((_, rest)) => rest.to_owned(),
                None => line,
            }
        }
    }
}

/// The event as a JSON object (without the time).
fn event_json(event: &WorkbookEvent) -> Value {
    let name = event.name();
    match event {
        WorkbookEvent::Created {
            session_id,
            persist_changes,
            how,
        } => json!({
            "event": name,
            "session": session_tag(session_id),
            "persist": persist_changes,
            "how": how.to_string(),
        }),
        WorkbookEvent::Polling { status } => json!({ "event": name, "status": status.to_string() }),
        WorkbookEvent::Refreshed { next_refresh } => {
            json!({ "event": name, "next_refresh_ms": next_refresh.as_millis() })
        }
        WorkbookEvent::Expired { session_id, reason } => json!({
            "event": name,
            "session": session_tag(session_id),
            "reason": reason.to_string(),
        }),
        WorkbookEvent::Recreated {
            old_session_id,
            new_session_id,
            persist_changes,
            how,
        } => json!({
            "event": name,
            "session": session_tag(new_session_id),
            "old_session": session_tag(old_session_id),
            "persist": persist_changes,
            "how": how.to_string(),
        }),
        WorkbookEvent::Retrying {
            request,
            cause,
            wait,
        } => {
            let mut object = json!({
                "event": name,
                "request": request_name(*request),
                "cause": cause.to_string(),
                "wait_ms": wait.as_millis() as u64,
            });
            if let RetryCause::Status(status) = cause {
                object["status"] = json!(status);
            }
            object
        }
        WorkbookEvent::Closed { session_id } => json!({
            "event": name,
            "session": session_id.as_ref().map(session_tag),
        }),
        WorkbookEvent::Failed(error) => failure_json(error),
        other => json!({ "event": name, "message": other.to_string() }),
    }
}

/// The request's name in the JSON objects: the Graph action, or what the request does.
fn request_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::CreateSession => "createSession",
        RequestKind::PollOperation => "poll",
        RequestKind::FetchResource => "fetchSession",
        RequestKind::Refresh => "refreshSession",
        RequestKind::Close => "closeSession",
        _ => "other",
    }
}

/// A failure with its codes: the Graph error's code and inner codes, the HTTP status if a request
/// was refused.
fn failure_json(error: &WorkbookError) -> Value {
    let mut object = json!({
        "event": "failed",
        "message": error.to_string(),
        "hint": super::advice::hint(error),
    });
    if let Some(graph) = error.graph_error() {
        object["code"] = json!(graph.code);
        object["inner_codes"] = json!(graph.inner_codes);
    }
    match error {
        WorkbookError::Rejected { status, .. } | WorkbookError::MalformedAnswer { status, .. } => {
            object["status"] = json!(status);
        }
        WorkbookError::SessionInvalid { code, .. } => {
            object["invalid_session_code"] = json!(code.to_string());
        }
        _ => {}
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::time::Instant;
    use resumable_core::workbook::{Creation, ExpiryReason, GraphError, InvalidSessionCode};

    const ID: &str = "cluster=FR1&session=15.VI1PEPF00000C88.A82.1.V24";

    #[test]
    fn no_line_or_object_holds_a_session_id() {
        let old = Secret::new(ID);
        let new = Secret::new("cluster=FR1&session=16.other");
        let events = [
            WorkbookEvent::Created {
                session_id: old.clone(),
                persist_changes: true,
                how: Creation::LongRunning,
            },
            WorkbookEvent::Expired {
                session_id: old.clone(),
                reason: ExpiryReason::ReCreatable,
            },
            WorkbookEvent::Recreated {
                old_session_id: old.clone(),
                new_session_id: new.clone(),
                persist_changes: false,
                how: Creation::Immediate,
            },
            WorkbookEvent::Closed {
                session_id: Some(new.clone()),
            },
        ];
        for event in &events {
            let text = event_text(event);
            let object = event_json(event).to_string();
            for id in [ID, "16.other", "session="] {
                assert!(
                    !text.contains(id) && !object.contains(id),
                    "{text} {object}"
                );
            }
        }
        assert_eq!(
            event_text(&events[2]),
            format!(
                "session {} replaces {} (non-persistent, immediate)",
                session_tag(&new),
                session_tag(&old)
            )
        );
        assert_eq!(session_tag(&old).len(), 8);
        assert_ne!(session_tag(&old), session_tag(&new));
        let created = event_json(&events[0]);
        assert_eq!(created["how"], "long-running");
        assert_eq!(created["persist"], true);
    }

    #[test]
    fn failures_carry_their_codes() {
        let error = GraphError {
            code: "internalServerError".into(),
            message: "The workbook session could not be created.".into(),
            inner_codes: vec!["internalServerError".into()],
        };
        let failed = WorkbookEvent::Failed(WorkbookError::OperationFailed {
            error: Some(error.clone()),
        });
        let object = event_json(&failed);
        assert_eq!(object["event"], "failed");
        assert_eq!(object["code"], "internalServerError");
        assert_eq!(object["inner_codes"], json!(["internalServerError"]));
        let invalid = event_json(&WorkbookEvent::Failed(WorkbookError::SessionInvalid {
            code: InvalidSessionCode::AccessConflict,
            error,
        }));
        assert_eq!(
            invalid["invalid_session_code"],
            "invalidSessionAccessConflict"
        );
        let rejected = event_json(&WorkbookEvent::Failed(WorkbookError::Rejected {
            request: RequestKind::CreateSession,
            status: 403,
            error: None,
        }));
        assert_eq!(rejected["status"], 403);
        assert_eq!(rejected["message"], "createSession refused with HTTP 403");
    }

    #[test]
    fn retries_and_refreshes_read_plainly() {
        let retry = WorkbookEvent::Retrying {
            request: RequestKind::CreateSession,
            cause: RetryCause::Status(504),
            wait: Duration::from_millis(750),
        };
        assert_eq!(
            event_text(&retry),
            "createSession failed (HTTP 504); again in 750 ms"
        );
        let object = event_json(&retry);
        assert_eq!(object["request"], "createSession");
        assert_eq!(
            (object["status"].clone(), object["wait_ms"].clone()),
            (json!(504), json!(750))
        );
        let refreshed = WorkbookEvent::Refreshed {
            next_refresh: Instant::from_millis(2500),
        };
        assert_eq!(event_text(&refreshed), "next refresh at 2.5s");
        let mut tally = Tally::default();
        for event in [&retry, &refreshed, &refreshed] {
            tally.count(event);
        }
        assert_eq!((tally.retries, tally.refreshes), (1, 2));
    }
}

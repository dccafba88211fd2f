//! The background task that drives one workbook session machine: creation, polling, keep-alive,
//! recreation and close go through the generic driver loop; events move the handle's state.

use std::sync::Arc;
use std::time::Duration;

use resumable_core::http::{Request, RequestKind};
use resumable_core::session::StateMachine;
use resumable_core::time::Instant;
use resumable_core::workbook::{WorkbookEvent, WorkbookSession as SessionMachine};
use tokio::sync::{mpsc, watch};

use super::state::SessionState;
use crate::clock::Clock;
use crate::driver::{Command, DriveEnd, DrivenMachine, drive};
use crate::exchange::Exchange;

/// Called with every event, on the session's task, before the event goes to the stream.
pub type WorkbookEventCallback = Box<dyn FnMut(&WorkbookEvent) + Send>;

/// The time limit of the machine's requests other than refreshes. A `createSession` without
/// `Prefer: respond-async` is held open while the service creates the session, which can take a
/// while on a large workbook; the gateway answers `504` long before this.
pub(crate) const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(120);

/// The shortest time limit of a refresh, whatever the (scaled) inactivity limit.
const MIN_REFRESH_TIME_LIMIT: Duration = Duration::from_millis(250);

impl DrivenMachine for SessionMachine {
    /// A refresh gets the safety margin of its schedule: it was sent that long before the
    /// assumed expiry, so an answer later than that comes too late to matter, while giving up
    /// then lets the retry go out on a new connection before the server's clock runs out. Every
    /// other request gets two minutes.
    fn time_limit(&self, request: &Request) -> Duration {
        if request.kind != RequestKind::Refresh {
            return REQUEST_TIME_LIMIT;
        }
        let config = self.config();
        let persist = self.persist_changes().unwrap_or(config.persist_changes);
        let margin = config
            .inactivity
            .limit_for(persist)
            .saturating_sub(config.refresh_interval(persist));
        margin.clamp(MIN_REFRESH_TIME_LIMIT, REQUEST_TIME_LIMIT)
    }

    /// The handle went away: close the session rather than leave it to expire.
    fn abandon(&mut self, now: Instant) -> bool {
        self.close(now);
        true
    }
}

/// Where the task reports.
pub(crate) struct TaskOutputs {
    pub(crate) state: Arc<watch::Sender<SessionState>>,
    pub(crate) events: mpsc::UnboundedSender<WorkbookEvent>,
    pub(crate) callback: Option<WorkbookEventCallback>,
}

/// Drives `machine` until it finishes: each event updates the state, goes to the callback and
/// then to the stream.
pub(crate) async fn run(
    mut machine: SessionMachine,
    exchange: Arc<Exchange>,
    clock: Clock,
    commands: mpsc::UnboundedReceiver<Command<SessionMachine>>,
    mut outputs: TaskOutputs,
) {
    machine.set_wall_clock(clock.wall_clock());
    let end = drive(
        &mut machine,
        &exchange,
        &clock,
        commands,
        |_machine: &mut SessionMachine, event: WorkbookEvent| {
            if let Some(next) = SessionState::after(&event) {
                outputs.state.send_replace(next);
            }
            if let Some(callback) = outputs.callback.as_mut() {
                callback(&event);
            }
            let _ = outputs.events.send(event);
        },
    )
    .await;
    if end != DriveEnd::Finished || !machine.is_finished() {
        outputs.state.send_if_modified(|state| {
            let open = !state.is_ended();
            if open {
                *state = SessionState::Interrupted;
            }
            open
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::http::{Auth, Body, Method, RequestId};
    use resumable_core::secret::SecretUrl;
    use resumable_core::workbook::{InactivityLimits, WorkbookConfig, WorkbookUrl};

    fn request(kind: RequestKind) -> Request {
        Request {
            id: RequestId(0),
            kind,
            method: Method::Post,
            url: SecretUrl::new("https://example.com/workbook/refreshSession"),
            headers: Vec::new(),
            auth: Auth::Bearer,
            body: Body::Empty,
        }
    }

    fn machine(limit: Duration) -> SessionMachine {
        let url = WorkbookUrl::new("https://example.com/v1.0/me/drive/items/1/workbook").unwrap();
        let config = WorkbookConfig {
            inactivity: InactivityLimits::uniform(limit),
            ..WorkbookConfig::new(true)
        };
        SessionMachine::new(url, config, Instant::ZERO).unwrap()
    }

    #[test]
    fn a_refresh_waits_no_longer_than_its_margin() {
        // Five minutes: refreshed after four, so a refresh has one minute to answer.
        let real = machine(Duration::from_secs(300));
        assert_eq!(
            real.time_limit(&request(RequestKind::Refresh)),
            Duration::from_secs(60)
        );
        assert_eq!(
            real.time_limit(&request(RequestKind::CreateSession)),
            REQUEST_TIME_LIMIT
        );
        // Two seconds: refreshed after one, one second to answer.
        let fast = machine(Duration::from_secs(2));
        assert_eq!(
            fast.time_limit(&request(RequestKind::Refresh)),
            Duration::from_secs(1)
        );
        // Never below the floor, never above the general limit.
        let tiny = machine(Duration::from_millis(100));
        assert_eq!(
            tiny.time_limit(&request(RequestKind::Refresh)),
            MIN_REFRESH_TIME_LIMIT
        );
    }

    #[test]
    fn abandoning_closes() {
        let mut session = machine(Duration::from_secs(300));
        assert!(session.abandon(Instant::ZERO));
        // Nothing was created yet: closing ends the machine at once.
        assert!(session.is_finished());
        assert_eq!(
            session.poll_event(),
            Some(WorkbookEvent::Closed { session_id: None })
        );
    }
}

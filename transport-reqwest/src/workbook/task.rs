//! The background task that drives one workbook session machine: creation, polling, keep-alive,
//! recreation and close go through the generic driver loop; events move the handle's state.

use std::sync::Arc;

use resumable_core::session::StateMachine;

use resumable_core::workbook::{WorkbookEvent, WorkbookSession as SessionMachine};
use tokio::sync::{mpsc, watch};

use super::state::SessionState;
use crate::clock::Clock;
use crate::driver::{Command, DriveEnd, drive};
use crate::exchange::Exchange;

/// Called with every event, on the session's task, before the event goes to the stream.
pub(crate) type WorkbookEventCallback = Box<dyn FnMut(&WorkbookEvent) + Send>;

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

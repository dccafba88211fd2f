//! The driver loop, blocking: any of the core's machines, one request at a time.
//!
//! It follows the contract of [`resumable_core::session`]: feed input with the current time,
//! drain `poll_request` (every request the machine hands out is queued and sent in order, one
//! after another, each answer handed in before the next request goes), drain `poll_event`,
//! give the source's hashes when the machine waits for them, then wait for the machine's
//! deadline or a command. It knows nothing of Graph, WOPI or workbooks: what it needs from a
//! machine is the core's [`Driven`] trait.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};

use resumable_core::http::Request;
use resumable_core::session::Driven;
use resumable_core::time::Instant;

use crate::clock::Clock;
use crate::exchange::{Delivery, Exchange};

/// An action on a machine at a given time (a cancel, a commit, a close).
pub(crate) type Action<M> = Box<dyn FnOnce(&mut M, Instant) + Send>;

/// Something to do to the machine, from another thread or from an event callback.
pub(crate) enum Command<M> {
    /// Runs this on the machine, with the current time.
    Apply(Action<M>),
    /// Stops the loop: the requests the machine already handed out are sent and answered (a
    /// fragment on its way is neither cut off nor forgotten), nothing new is asked for, and the
    /// session is left as it is, to resume later from a checkpoint.
    Stop,
}

/// What the loop does when every sender of commands is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WhenAlone {
    /// Nothing: the loop runs on, and ends as [`DriveEnd::Idle`] if the machine then waits for
    /// a command.
    Continue,
    /// The caller went away: the machine is [abandoned](Driven::abandon) and the loop runs on
    /// until it winds down.
    Abandon,
}

/// Why [`drive`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DriveEnd {
    /// The machine finished (completed, failed or cancelled); its last events were handed on.
    Finished,
    /// A [`Command::Stop`] came: the machine is left where it was.
    Stopped,
    /// The machine waits for a command (a decision) and nothing can send one.
    Idle,
    /// The caller went away and the machine could not wind down.
    Abandoned,
}

/// Drives `machine` until it finishes, sending its requests through `exchange`.
///
/// `on_event` gets each event with the machine (to save a checkpoint, or to act on the event).
/// Commands are applied between requests and while waiting for a deadline.
pub(crate) fn drive<M, F>(
    machine: &mut M,
    exchange: &mut Exchange,
    clock: &Clock,
    commands: &Receiver<Command<M>>,
    when_alone: WhenAlone,
    mut on_event: F,
) -> DriveEnd
where
    M: Driven,
    F: FnMut(&mut M, M::Event),
{
    let mut queue: VecDeque<Request> = VecDeque::new();
    let mut stopping = false;
    let mut connected = true;
    // A command, or the news that no more can come; `false` if the loop must end at once.
    let take = |machine: &mut M, command: Option<Command<M>>, stopping: &mut bool| {
        match command {
            Some(Command::Apply(action)) => action(machine, clock.now()),
            Some(Command::Stop) => *stopping = true,
            None if when_alone == WhenAlone::Abandon => return machine.abandon(clock.now()),
            None => {}
        }
        true
    };
    loop {
        while connected {
            let command = match commands.try_recv() {
                Ok(command) => Some(command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    connected = false;
                    None
                }
            };
            if !take(machine, command, &mut stopping) {
                return DriveEnd::Abandoned;
            }
        }
        let now = clock.now();
        while let Some(request) = (!stopping).then(|| machine.poll_request(now)).flatten() {
            queue.push_back(request);
        }
        let mut handled = false;
        while let Some(event) = machine.poll_event() {
            on_event(machine, event);
            handled = true;
        }
        if handled {
            // `on_event` may have acted on the machine (a commit once all bytes are in): poll
            // it again before sending or waiting.
            continue;
        }
        if machine.awaits_source_hashes() {
            let hashes = exchange.source_hashes(machine.wanted_hash_kinds()).ok();
            machine.give_source_hashes(clock.now(), hashes);
            continue;
        }
        if machine.is_finished() {
            return DriveEnd::Finished;
        }
        if let Some(mut request) = queue.pop_front() {
            let limit = machine.time_limit(&request);
            let delivery = match machine.body_digest(&request) {
                Some(digest) => match exchange.body_digest(&request, digest) {
                    Ok(header) => {
                        request.headers.push(header);
                        exchange.send(&request, limit)
                    }
                    Err(_) => Delivery::unread(request.id),
                },
                None => exchange.send(&request, limit),
            };
            hand_in(machine, clock, delivery);
            continue;
        }
        if stopping {
            return DriveEnd::Stopped;
        }
        let deadline = machine.poll_timeout();
        let waited = match (deadline, connected) {
            (Some(at), true) => commands.recv_timeout(clock.until(at)),
            (None, true) => commands.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (Some(at), false) => {
                std::thread::sleep(clock.until(at));
                Err(RecvTimeoutError::Timeout)
            }
            (None, false) if when_alone == WhenAlone::Abandon => return DriveEnd::Abandoned,
            (None, false) => return DriveEnd::Idle,
        };
        let command = match waited {
            Ok(command) => Some(command),
            Err(RecvTimeoutError::Timeout) => {
                machine.handle_timeout(clock.now());
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                connected = false;
                None
            }
        };
        if !take(machine, command, &mut stopping) {
            return DriveEnd::Abandoned;
        }
    }
}

/// Hands one request's outcome to the machine: the body's CRC first, then the answer.
fn hand_in<M: Driven>(machine: &mut M, clock: &Clock, delivery: Delivery) {
    if let Some(crc) = delivery.source_crc {
        let started = delivery.body_started.map(|at| clock.at(at));
        machine.body_sent(delivery.id, crc, started);
    }
    let now = clock.now();
    match delivery.result {
        Ok(response) => machine.handle_response(now, delivery.id, response),
        Err(error) => machine.handle_transport_error(now, delivery.id, error),
    }
}

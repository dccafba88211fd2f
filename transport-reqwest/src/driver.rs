//! For writing your own loop: the driver loop that runs any of the core's state machines over
//! real HTTP on tokio, and the pieces it is made of.
//!
//! | item | what it is |
//! |---|---|
//! | [`drive`], [`Command`], [`Action`], [`DriveEnd`] | the loop, what a caller may tell it between turns, and why it returned |
//! | [`drive_held`], [`Hold`] | the loop, where handling an event may hold back what is sent next |
//! | [`Exchange`], [`HttpClients`], [`Delivery`] | sending one request a machine described (reading its body from the source, under the machine's time limit) and what became of it |
//! | [`Clock`] | the monotonic clock the loop feeds the machines, on tokio's clock |
//! | [`TaskMachine`] | what an [`UploadTask`](crate::UploadTask) needs of the machine it runs |
//!
//! [`drive`] follows the contract of [`StateMachine`](resumable_core::session::StateMachine):
//! feed input with the current time,
//! drain `poll_request` (each request goes out concurrently, under the time limit the machine
//! computed), drain `poll_event`, then wait for the first of an answer, the machine's deadline or
//! a command from the caller. It knows nothing of Graph, WOPI or workbooks: what it needs from a
//! machine beyond the driver loop is the core's [`Driven`] trait, so the upload task of
//! this crate and drivers of other machines share one loop.

use resumable_core::time::Instant;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use resumable_core::session::Driven;
use tokio::sync::mpsc;

pub use crate::clock::Clock;
pub use crate::exchange::{Delivery, Exchange, HttpClients};
pub use crate::task_machine::TaskMachine;

/// An action on a machine at a given time (a cancel, a commit).
pub type Action<M> = Box<dyn FnOnce(&mut M, Instant) + Send>;

/// Something to do to the machine, from the caller, between two turns of the loop.
pub enum Command<M> {
    /// Runs this on the machine, with the current time.
    Apply(Action<M>),
    /// Stops the loop: nothing new is sent, the answers to requests in flight are awaited and
    /// handed in (so a fragment on its way is neither cut off nor forgotten), and the session
    /// is left as it is, to resume later from a checkpoint.
    Stop,
}

impl<M> Command<M> {
    /// A command that runs `action` on the machine, with the current time.
    pub fn apply(action: impl FnOnce(&mut M, Instant) + Send + 'static) -> Self {
        Command::Apply(Box::new(action))
    }
}

/// Why [`drive`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveEnd {
    /// The machine finished (completed, failed or cancelled); its last events were handed on.
    Finished,
    /// A [`Command::Stop`] came: the machine is left where it was.
    Stopped,
    /// The caller went away and the machine could not wind down.
    Abandoned,
}

/// Drives `machine` until it finishes, sending its requests through `exchange`.
///
/// `on_event` gets each event with the machine (to take a checkpoint, or to act on the event
/// with a command of its own). Commands from `commands` are applied between turns; when every
/// sender is gone, the machine is [abandoned](Driven::abandon) and the loop runs on until
/// it winds down. After [`Command::Stop`] the loop sends nothing new and returns once the
/// requests in flight are answered. Requests still in flight when the machine finishes are dropped (their
/// connections closed): the machine ignores their answers anyway.
pub async fn drive<M, F>(
    machine: &mut M,
    exchange: &Exchange,
    clock: &Clock,
    commands: mpsc::UnboundedReceiver<Command<M>>,
    mut on_event: F,
) -> DriveEnd
where
    M: Driven,
    F: FnMut(&mut M, M::Event),
{
    drive_held(
        machine,
        exchange,
        clock,
        commands,
        |machine, event| {
            on_event(machine, event);
            None
        },
        |_| None,
    )
    .await
}

/// A wait that [`drive_held`]'s `on_event` hands back: the loop sends nothing new until it is
/// over (a checkpoint save that must land first).
pub type Hold = BoxFuture<'static, ()>;

/// [`drive`], where the caller may hold the loop back: the requests the machine has ready are
/// not sent until every [`Hold`] handed back by the turn's events (`on_event`), then by
/// `before_send` (called once the events are handled, in a turn that readied requests), is
/// over. Answers and the machine's deadline are not watched meanwhile, so a hold should be
/// short. The upload task holds the next fragment until the checkpoint before the newest is on
/// disk (a crash never loses more than one fragment's worth of confirmed progress however slow
/// the disk), and a request that may finish the upload until a checkpoint that knows it is.
pub async fn drive_held<M, F, G>(
    machine: &mut M,
    exchange: &Exchange,
    clock: &Clock,
    mut commands: mpsc::UnboundedReceiver<Command<M>>,
    mut on_event: F,
    mut before_send: G,
) -> DriveEnd
where
    M: Driven,
    F: FnMut(&mut M, M::Event) -> Option<Hold>,
    G: FnMut(&mut M) -> Option<Hold>,
{
    let mut in_flight: FuturesUnordered<BoxFuture<'_, Delivery>> = FuturesUnordered::new();
    let mut caller_present = true;
    let mut stopping = false;
    loop {
        let now = clock.now();
        loop {
            let mut readied = false;
            while let Some(request) = (!stopping).then(|| machine.poll_request(now)).flatten() {
                readied = true;
                let limit = machine.time_limit(&request);
                let digest = machine.body_digest(&request);
                in_flight.push(Box::pin(async move {
                    match digest {
                        Some(digest) => exchange.send_digested(request, digest, limit).await,
                        None => exchange.send(&request, limit).await,
                    }
                }));
            }
            let mut handled = false;
            while let Some(event) = machine.poll_event() {
                if let Some(hold) = on_event(machine, event) {
                    hold.await;
                }
                handled = true;
            }
            if readied && let Some(hold) = before_send(machine) {
                hold.await;
            }
            // `on_event` may have given the machine a command (a commit once all bytes are
            // in): poll for requests again, or that request would wait for the next wake-up,
            // which may never come.
            if !handled {
                break;
            }
        }
        if machine.awaits_source_hashes() {
            let hashes = exchange.source_hashes(machine.wanted_hash_kinds()).await;
            machine.give_source_hashes(clock.now(), hashes.ok());
            continue;
        }
        if machine.is_finished() {
            // Events pushed by `on_event` itself (none expected) would be lost otherwise.
            while let Some(event) = machine.poll_event() {
                if let Some(hold) = on_event(machine, event) {
                    hold.await;
                }
            }
            return DriveEnd::Finished;
        }
        if stopping && in_flight.is_empty() {
            return DriveEnd::Stopped;
        }
        let deadline = machine
            .poll_timeout()
            .filter(|_| !stopping)
            .map(|at| clock.tokio_instant(at));
        if in_flight.is_empty() && deadline.is_none() && !caller_present {
            // The machine waits for a command that cannot come.
            return DriveEnd::Abandoned;
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(delivery) = in_flight.next(), if !in_flight.is_empty() => {
                hand_in(machine, clock, delivery);
            }
            () = sleep => machine.handle_timeout(clock.now()),
            command = commands.recv(), if caller_present => match command {
                Some(Command::Apply(action)) => action(machine, clock.now()),
                Some(Command::Stop) => stopping = true,
                None => {
                    caller_present = false;
                    if !machine.abandon(clock.now()) {
                        return DriveEnd::Abandoned;
                    }
                }
            },
        }
    }
}

/// Hands one request's outcome to the machine: the body's CRC first, then the answer.
fn hand_in<M: Driven>(machine: &mut M, clock: &Clock, delivery: Delivery) {
    let now = clock.now();
    if let Some(crc) = delivery.source_crc {
        let started = delivery.body_started.map(|at| clock.at(at));
        machine.body_sent(delivery.id, crc, started);
    }
    match delivery.result {
        Ok(response) => machine.handle_response(now, delivery.id, response),
        Err(error) => machine.handle_transport_error(now, delivery.id, error),
    }
}

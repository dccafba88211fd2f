//! Virtual time for tests whose client and emulator share one runtime, and real-time waits for
//! a condition instead of sleeps for a guess.
//!
//! Under `#[tokio::test(start_paused = true)]` tokio moves its paused clock to the next timer
//! whenever the runtime has nothing to run, and it does so even while a request is on its way
//! over loopback: a time limit, a keep-alive or the emulator's inactivity clock would then jump
//! forward in the middle of an exchange. [`FrozenClock`] holds that auto-advance off (a
//! blocking task that runs does, as `tokio::time::pause` documents), so the clock moves only
//! when the test moves it, and only once the exchanges in flight are done: a test about minutes
//! of service time runs in milliseconds and reads the same on a loaded machine.
//!
//! `transport-reqwest/tests/common/clock.rs` includes this file: one copy for both crates.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// How long a test waits, in real time, for something that should happen at once: generous,
/// so a loaded machine never fails a test that would pass.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Turns of the runtime given to woken tasks before and after the exchanges are checked: a
/// timer that fired starts its request within one or two, an answer on loopback is read
/// within a few.
const SETTLE_TURNS: usize = 32;

/// Waits, in real time, until `condition` holds, checking every few milliseconds; fails the
/// test if it does not hold within [`PATIENCE`]. (Not under a [`FrozenClock`], whose timers
/// never fire by themselves: there, [`FrozenClock::until`].)
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        // The poll interval of a wait for a condition, not a guess at how long it takes.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Tokio's paused clock, moved only by the test while this lives. Create it first thing in a
/// `#[tokio::test(start_paused = true)]`.
pub struct FrozenClock {
    release: Option<mpsc::Sender<()>>,
    /// Set if the clock was held for [`PATIENCE`] of real time: the test then waited on a timer
    /// nobody moved, and fails when the clock is dropped.
    gave_out: Arc<AtomicBool>,
}

impl FrozenClock {
    /// Holds the paused clock still.
    pub fn hold() -> Self {
        let (release, held) = mpsc::channel::<()>();
        let gave_out = Arc::new(AtomicBool::new(false));
        let watch = gave_out.clone();
        // While this blocking task runs, tokio does not auto-advance the paused clock. It ends
        // when the clock is dropped, or after PATIENCE: a test that waits on a timer it does
        // not move would otherwise hang, and then pass.
        tokio::task::spawn_blocking(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = held.recv_timeout(PATIENCE) {
                watch.store(true, Ordering::SeqCst);
            }
        });
        FrozenClock {
            release: Some(release),
            gave_out,
        }
    }

    /// Waits, in real time and without letting time pass, until `condition` holds; fails the
    /// test if it does not hold within [`PATIENCE`].
    pub async fn until(&self, what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + PATIENCE;
        while !condition() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: not within {PATIENCE:?}"
            );
            tokio::task::yield_now().await;
        }
    }

    /// Lets `by` pass at once, then gives the tasks whose timers fired their turns. For tests
    /// that move time only between their own requests, when nothing is on its way.
    pub async fn advance(&self, by: Duration) {
        tokio::time::advance(by).await;
        for _ in 0..SETTLE_TURNS {
            tokio::task::yield_now().await;
        }
    }

    /// Lets `by` pass, `step` at a time, each step only once `quiet` says no exchange is on
    /// its way (and the tasks woken by the last step have run).
    pub async fn pass(&self, by: Duration, step: Duration, mut quiet: impl FnMut() -> bool) {
        let end = tokio::time::Instant::now() + by;
        while tokio::time::Instant::now() < end {
            settle(&mut quiet).await;
            let left = end - tokio::time::Instant::now();
            tokio::time::advance(step.min(left)).await;
        }
        settle(&mut quiet).await;
    }

    /// Runs `work` to its end, letting time pass `step` at a time whenever `quiet` holds and
    /// `work` waits: what tokio's auto-advance does, but never during an exchange.
    pub async fn run<T>(
        &self,
        step: Duration,
        mut quiet: impl FnMut() -> bool,
        work: impl Future<Output = T>,
    ) -> T {
        let mut work = pin!(work);
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let advance = async {
                settle(&mut quiet).await;
                tokio::time::advance(step).await;
            };
            tokio::select! {
                biased;
                out = &mut work => return out,
                () = advance => {}
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the work did not end within {PATIENCE:?} of real time"
            );
        }
    }
}

impl Drop for FrozenClock {
    fn drop(&mut self) {
        self.release.take();
        if self.gave_out.load(Ordering::SeqCst) && !std::thread::panicking() {
            panic!(
                "the test waited {PATIENCE:?} of real time on a timer the frozen clock never moved"
            );
        }
    }
}

/// Gives woken tasks their turns, waits (in real time) until `quiet` holds, then gives the
/// tasks that hand in answers their turns.
async fn settle(quiet: &mut impl FnMut() -> bool) {
    for _ in 0..SETTLE_TURNS {
        tokio::task::yield_now().await;
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while !quiet() {
        assert!(
            std::time::Instant::now() < deadline,
            "exchanges still on their way after {PATIENCE:?} of real time"
        );
        tokio::task::yield_now().await;
    }
    for _ in 0..SETTLE_TURNS {
        tokio::task::yield_now().await;
    }
}

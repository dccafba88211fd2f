//! Virtual time for tests whose client and emulator share one runtime: the emulator's tests'
//! [`FrozenClock`] and condition waits (one file, included here: test helpers are not shared
//! between crates otherwise), and a `quiet` rule for uploads whose requests cannot be counted.

#[path = "../../../emulator/tests/common/clock.rs"]
mod frozen;

#[allow(unused_imports)]
pub use frozen::{FrozenClock, PATIENCE, eventually};

/// A `quiet` for [`FrozenClock`] from what the emulator saw: no new request arrived since the
/// last look. For uploads whose requests cannot all be counted as they leave (fragments carry
/// no token): a request on its way reaches the emulator within the turns the clock gives before
/// each look, so the clock moves between exchanges.
pub fn arrivals_settled(emulator: &resumable_emulator::EmulatorHandle) -> impl FnMut() -> bool {
    let mut seen = u64::MAX;
    move || {
        let now = emulator.stats().requests_total;
        std::mem::replace(&mut seen, now) == now
    }
}

//! Keep-alive: a session held for a day never lapses, and a busy session is never refreshed.

use std::vec::Vec;

use resumable_core::http::{RequestKind, TransportError};
use resumable_core::time::{Duration, Instant};
use resumable_core::workbook::{InactivityLimits, LimitBasis, WorkbookConfig, WorkbookEvent};

use crate::network::{Simulation, minutes, secs};
use crate::server::{Route, Scripted, ServerConfig};

const DAY: Instant = Instant::from_millis(24 * 3600 * 1000);

fn swapped_limits() -> ServerConfig {
    // Older copies of the documentation give the figures the other way round.
    ServerConfig {
        persistent_limit: Duration::from_secs(7 * 60),
        non_persistent_limit: Duration::from_secs(5 * 60),
        ..ServerConfig::default()
    }
}

/// Asserts the service never dropped a session for inactivity, up to the end of the run.
fn assert_no_lapse(sim: &Simulation) {
    assert_eq!(sim.server.lapses, []);
    assert_eq!(
        sim.server.idle_past_limit(sim.now),
        Vec::<std::string::String>::new()
    );
    assert_eq!(sim.server.violations, Vec::<std::string::String>::new());
    let expired = sim
        .event_list()
        .into_iter()
        .filter(|e| matches!(e, WorkbookEvent::Expired { .. } | WorkbookEvent::Failed(_)))
        .count();
    assert_eq!(expired, 0, "{:?}", sim.event_list());
}

#[test]
fn a_day_of_keep_alive_with_zero_lapses() {
    for persist in [true, false] {
        for server in [ServerConfig::default(), swapped_limits()] {
            let mut sim = Simulation::new(WorkbookConfig::new(persist), server).with_latency(
                Duration::from_millis(20),
                Duration::from_millis(900),
                7,
            );
            sim.run_until(DAY);
            assert_no_lapse(&sim);
            assert_eq!(sim.server.count(Route::Create), 1);
            // One refresh per 4 idle minutes: 360 in a day.
            let refreshes = sim.server.count(Route::Refresh);
            assert!((355..=360).contains(&refreshes), "{refreshes}");
            // Every gap between two touches of the session stays under the limit.
            let mut touches = sim.server.times(Route::Create);
            touches.extend(sim.server.times(Route::Refresh));
            let longest = touches.windows(2).map(|w| w[1] - w[0]).max().unwrap();
            assert!(longest < Duration::from_secs(5 * 60), "{longest:?}");
            sim.close();
            assert_eq!(sim.server.closed.len(), 1);
        }
    }
}

#[test]
fn a_busy_session_is_never_refreshed() {
    // The caller reads a range about every 70 s for 12 hours, then goes idle.
    let mut rng = resumable_core::retry::JitterRng::new(3);
    let mut times = Vec::new();
    let mut at = secs(5);
    while at < secs(12 * 3600) {
        times.push(at);
        at += Duration::from_secs(40 + rng.below_or_equal(60));
    }
    let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default())
        .with_latency(Duration::from_millis(10), Duration::from_millis(400), 9)
        .with_calls(times.clone());
    sim.run_until(DAY);
    assert_no_lapse(&sim);
    assert_eq!(sim.client.calls.len(), times.len(), "every call went out");
    let last_call = *times.last().unwrap();
    let refreshes = sim.sent(RequestKind::Refresh);
    assert!(
        refreshes.iter().all(|&at| at > last_call),
        "refreshed while busy: {:?}",
        refreshes
            .iter()
            .filter(|&&at| at <= last_call)
            .collect::<Vec<_>>()
    );
    // Once idle, the keep-alive takes over: one refresh per 4 minutes of the idle half.
    assert!(
        (175..=180).contains(&refreshes.len()),
        "{}",
        refreshes.len()
    );
    assert_eq!(refreshes[0] - last_call, Duration::from_secs(240));
}

#[test]
fn bursts_of_work_push_the_refresh_back() {
    // Busy for 20 minutes (a call every 30 s), idle for 20, six times over.
    let mut times = Vec::new();
    for burst in 0..6u64 {
        for call in 0..40u64 {
            times.push(minutes(burst * 40) + Duration::from_secs(call * 30));
        }
    }
    let mut sim = Simulation::new(WorkbookConfig::new(false), ServerConfig::default())
        .with_latency(Duration::ZERO, Duration::from_secs(2), 11)
        .with_calls(times.clone());
    sim.run_until(minutes(6 * 40));
    assert_no_lapse(&sim);
    let interval = Duration::from_secs(240);
    for refresh in sim.sent(RequestKind::Refresh) {
        // Activity counts once its answer is back: no call answered before the refresh was
        // sent within the refresh interval before it.
        let busy = sim
            .client
            .calls
            .iter()
            .any(|c| c.answered_at <= refresh && refresh - c.sent_at < interval);
        assert!(!busy, "refresh at {refresh:?} while the session was busy");
    }
    // Each idle stretch runs 20.5 minutes from the last call of a burst: refreshes 4, 8, 12, 16
    // and 20 minutes after it.
    assert_eq!(sim.sent(RequestKind::Refresh).len(), 6 * 5);
}

#[test]
fn failed_refreshes_are_retried_before_the_deadline() {
    let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default()).with_latency(
        Duration::from_millis(50),
        Duration::from_millis(500),
        5,
    );
    for status in [503, 500, 502] {
        sim.server.script(
            Route::Refresh,
            Scripted::Answer(crate::network::answer(status)),
        );
    }
    sim.server.script(
        Route::Refresh,
        Scripted::LoseAnswer(TransportError::Timeout),
    );
    sim.server.script(
        Route::Refresh,
        Scripted::Answer(crate::network::answer(429).with_header("Retry-After", "20")),
    );
    sim.run_until(minutes(60));
    assert_no_lapse(&sim);
    let retries: Vec<_> = sim
        .events
        .iter()
        .filter(|e| matches!(e, WorkbookEvent::Retrying { .. }))
        .collect();
    assert_eq!(retries.len(), 5, "{retries:?}");
    // The four blind retries all went out before the first expiry (5 minutes after creation).
    let refreshes = sim.sent(RequestKind::Refresh);
    assert!(
        refreshes[..5].iter().all(|&at| at < secs(300)),
        "{refreshes:?}"
    );
    // The throttled one waited at least what the server asked.
    let throttled = sim
        .server
        .received
        .iter()
        .position(|r| r.route == Route::Refresh && r.status == 429)
        .unwrap();
    let throttled_at = sim.server.received[throttled].at;
    let next = sim.server.received[throttled + 1..]
        .iter()
        .find(|r| r.route == Route::Refresh)
        .unwrap();
    assert!(next.at - throttled_at >= Duration::from_secs(20));
}

#[test]
fn the_strict_server_notices_a_lapse() {
    // Scheduling a non-persistent session from its own 7 minutes against a service whose
    // non-persistent limit is 5 lets it lapse: the service must notice, or the zero-lapse
    // results above would mean nothing.
    let config = WorkbookConfig {
        inactivity: InactivityLimits {
            basis: LimitBasis::OwnKind,
            ..InactivityLimits::default()
        },
        ..WorkbookConfig::new(false)
    };
    let mut sim = Simulation::new(config, swapped_limits());
    sim.run_until(minutes(30));
    assert!(!sim.server.lapses.is_empty());
    assert!(sim.server.lapses[0].idle > Duration::from_secs(300));
    // The machine recovers: it sees the 404 and recreates the session.
    assert!(
        sim.event_list()
            .iter()
            .any(|e| matches!(e, WorkbookEvent::Recreated { .. }))
    );
}

#[test]
fn a_scaled_inactivity_limit_is_followed() {
    // A service with a fast clock: sessions die after 3 seconds of idleness.
    let server = ServerConfig {
        persistent_limit: Duration::from_secs(3),
        non_persistent_limit: Duration::from_secs(3),
        ..ServerConfig::default()
    };
    let config = WorkbookConfig {
        inactivity: InactivityLimits::uniform(Duration::from_secs(3)),
        ..WorkbookConfig::new(true)
    };
    let mut sim = Simulation::new(config, server).with_latency(
        Duration::from_millis(1),
        Duration::from_millis(200),
        2,
    );
    sim.run_until(minutes(60));
    assert_no_lapse(&sim);
    // Refreshed every 1.5 s: 2400 times in an hour.
    let refreshes = sim.server.count(Route::Refresh);
    assert!((2390..=2400).contains(&refreshes), "{refreshes}");
}

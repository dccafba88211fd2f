//! Property: whatever the caller's activity and the network's delays, the session never lapses,
//! and no refresh goes out while the caller keeps the session busy.

use std::vec::Vec;

use proptest::prelude::*;
use resumable_core::http::RequestKind;
use resumable_core::time::{Duration, Instant};
use resumable_core::workbook::{WorkbookConfig, WorkbookEvent};

use crate::network::{Simulation, secs};
use crate::server::{self, ServerConfig, Spelling};

/// Six simulated hours per case.
const RUN: Instant = Instant::from_millis(6 * 3600 * 1000);

fn activity() -> impl Strategy<Value = Vec<Instant>> {
    // Gaps between the caller's calls: bursts of quick calls and long idle stretches.
    prop::collection::vec(prop_oneof![0u64..=30, 30u64..=300, 300u64..=3600], 0..200).prop_map(
        |gaps| {
            let mut at = 0;
            gaps.into_iter()
                .map(|gap| {
                    at += gap;
                    secs(at)
                })
                .filter(|&t| t < RUN)
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_lapse_whatever_the_activity_and_delays(
        calls in activity(),
        persist in any::<bool>(),
        respond_async in any::<bool>(),
        swapped in any::<bool>(),
        max_latency_ms in 0u64..=20_000,
        seed in any::<u64>(),
    ) {
        let (persistent, non_persistent) = if swapped { (7, 5) } else { (5, 7) };
        let server = ServerConfig {
            persistent_limit: Duration::from_secs(persistent * 60),
            non_persistent_limit: Duration::from_secs(non_persistent * 60),
            creation: server::Creation::LongRunning {
                not_started: 1,
                running: 2,
                spelling: Spelling::Guide,
                retry_after: None,
                failure: None,
            },
            ..ServerConfig::default()
        };
        let config = WorkbookConfig { respond_async, seed, ..WorkbookConfig::new(persist) };
        let mut sim = Simulation::new(config.clone(), server)
            .with_latency(Duration::ZERO, Duration::from_millis(max_latency_ms), seed)
            .with_calls(calls);
        sim.run_until(RUN);

        prop_assert_eq!(&sim.server.lapses, &[]);
        prop_assert!(sim.server.idle_past_limit(sim.now).is_empty());
        prop_assert!(sim.server.violations.is_empty(), "{:?}", sim.server.violations);
        prop_assert_eq!(sim.server.polls_after_finish, 0);
        let trouble = sim.event_list().into_iter().filter(|e| {
            matches!(e, WorkbookEvent::Expired { .. } | WorkbookEvent::Failed(_))
        }).count();
        prop_assert_eq!(trouble, 0);

        // No refresh while busy: none goes out within the refresh interval of a call that had
        // already been answered successfully.
        let interval = config.refresh_interval(persist);
        for refresh in sim.sent(RequestKind::Refresh) {
            let busy = sim.client.calls.iter().any(|call| {
                call.answered_at <= refresh
                    && refresh - call.sent_at < interval
                    && call.outcome == Some(resumable_core::workbook::CallOutcome::Succeeded)
            });
            prop_assert!(!busy, "refresh at {:?} while busy", refresh);
        }
    }
}

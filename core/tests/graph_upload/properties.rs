//! Property tests: random fault seeds × random sizes, for every target. Each upload completes
//! with byte-identical content or fails with a clear error within its budget, and never breaks a
//! protocol rule on the way (the harness and the strict server record any slip).

use proptest::prelude::*;

use resumable_core::engine::UploadError;
use resumable_core::http::{Auth, RequestKind};
use resumable_core::time::Instant;

use super::harness::{Outcome, Sim, random_faults, upload};
use super::server::{Service, UPLOAD_HOST};

fn check(service: Service, total: u64, seed: u64, percent: u64) -> Result<(), TestCaseError> {
    let mut sim = Sim::new(service, total, seed).with_faults(random_faults(percent));
    let mut up = upload(service, total, seed);
    let outcome = sim.run(&mut up);
    prop_assert!(
        sim.violations.is_empty(),
        "harness saw {:?}",
        sim.violations
    );
    prop_assert!(
        sim.server.violations.is_empty(),
        "server saw {:?}",
        sim.server.violations
    );
    let limit = if service == Service::Print { 4 } else { 1 };
    prop_assert!(sim.server.max_in_flight_seen <= limit);
    for request in &sim.requests {
        if request.url.expose().starts_with(UPLOAD_HOST) {
            prop_assert_eq!(request.auth, Auth::None);
        }
    }
    match outcome {
        Outcome::Completed(_) => {
            prop_assert_eq!(sim.server.files.len(), 1);
            let stored = sim.server.files.values().next().unwrap();
            prop_assert!(stored == &sim.source, "stored bytes differ");
        }
        Outcome::Failed(error) => {
            prop_assert!(
                matches!(
                    error,
                    UploadError::GaveUp { .. }
                        | UploadError::SessionLost { .. }
                        | UploadError::CompletionUnconfirmed
                ),
                "unexpected failure {error:?}"
            );
            let text = error.to_string();
            prop_assert!(!text.contains("tempauth"));
            prop_assert!(text.contains(';'), "says what to do: {text}");
        }
        Outcome::Cancelled => prop_assert!(false, "nobody cancelled"),
    }
    // Within budget: three sessions of at most two stalled hours each.
    prop_assert!(sim.now < Instant::from_millis(6 * 3600 * 1000));
    let fragments = sim
        .requests
        .iter()
        .filter(|r| r.kind == RequestKind::Fragment)
        .count();
    prop_assert!(fragments < 2_000);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn drive_uploads_complete_intact_or_fail_clearly(
        seed in any::<u64>(),
        total in 1u64..1_700_000,
        percent in 0u64..40,
    ) {
        check(Service::Drive, total, seed, percent)?;
    }

    #[test]
    fn print_uploads_complete_intact_or_fail_clearly(
        seed in any::<u64>(),
        total in 1u64..1_700_000,
        percent in 0u64..40,
    ) {
        check(Service::Print, total, seed, percent)?;
    }

    #[test]
    fn mail_uploads_complete_intact_or_fail_clearly(
        seed in any::<u64>(),
        total in 1u64..1_700_000,
        percent in 0u64..40,
    ) {
        check(Service::Mail, total, seed, percent)?;
    }
}

//! The sliding expiry on the virtual clock: 410 and the session budget, pauses kept alive for
//! hours, pauses left to lapse, and a host on a scaled clock.

use resumable_core::http::RequestKind;
use resumable_core::time::{Duration, Instant};
use resumable_core::wopi::{WopiError, WopiEvent, WopiSessionLoss, WopiState};

use super::harness::{Fault, Outcome, Sim, config, streams};

#[test]
fn a_410_starts_the_stream_again_in_a_new_session_and_stores_the_file() {
    let mut sim = Sim::new(3_000, &[], 2).with_script(vec![(4, Fault::Expire)]);
    let mut upload = sim.upload(&[], 400, 2);
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.sessions == 2),
        "{outcome:?}"
    );
    assert!(sim.events.contains(&WopiEvent::SessionLost {
        cause: WopiSessionLoss::Gone,
        starting_over: true
    }));
    assert_eq!(sim.server.sessions_created, 2);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn sessions_lost_beyond_the_budget_end_the_upload() {
    let mut sim = Sim::new(3_000, &[], 2).with_faults(Box::new(|request, _, _, _| {
        if request.kind == RequestKind::Fragment {
            Fault::Expire
        } else {
            Fault::None
        }
    }));
    let mut config = config(streams(&sim.source, &[]), 400, 2);
    config.max_sessions = 3;
    let mut upload = sim.upload_with(config);
    let outcome = sim.run(&mut upload);
    assert_eq!(
        outcome,
        Outcome::Failed(WopiError::SessionLost {
            sessions: 3,
            host_reason: Some("the upload session is unknown or has expired".into())
        })
    );
    assert_eq!(sim.server.sessions_created, 3);
}

#[test]
fn a_pause_of_hours_is_kept_alive_and_the_upload_finishes_in_one_session() {
    let mut sim = Sim::new(20_000, &[], 4);
    let mut upload = sim.upload(&[], 1_000, 4);
    sim.run_until(&mut upload, |_, up| up.confirmed() >= 5_000);
    upload.pause(sim.now).unwrap();
    let paused_at = sim.now;
    sim.idle_until(&mut upload, paused_at + Duration::from_secs(3 * 3600));
    assert_eq!(upload.state(), WopiState::Paused);
    let kept = sim
        .events
        .iter()
        .filter(|e| matches!(e, WopiEvent::KeptAlive { .. }))
        .count();
    // One keep-alive every 25 minutes (30 less the 5-minute margin) over three hours.
    assert_eq!(kept, 7);
    assert!(
        sim.server.live_session(sim.now).is_some(),
        "the session is alive"
    );
    upload.unpause(sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.sessions == 1),
        "{outcome:?}"
    );
    assert_eq!(sim.server.sessions_created, 1);
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn a_pause_left_to_lapse_warns_first_then_a_new_session_follows_the_unpause() {
    let mut sim = Sim::new(20_000, &[], 5);
    let mut config = config(streams(&sim.source, &[]), 1_000, 5);
    config.keep_alive = false;
    let mut upload = sim.upload_with(config);
    sim.run_until(&mut upload, |_, up| up.confirmed() >= 5_000);
    upload.pause(sim.now).unwrap();
    let expires = upload.expires_at().unwrap();
    sim.idle_until(&mut upload, expires + Duration::from_secs(3600));
    let warning = sim
        .events
        .iter()
        .position(|e| {
            e == &WopiEvent::ExpiryWarning {
                expires_at: expires,
            }
        })
        .expect("warned");
    let lost = sim
        .events
        .iter()
        .position(|e| {
            e == &WopiEvent::SessionLost {
                cause: WopiSessionLoss::Expired,
                starting_over: true,
            }
        })
        .expect("lost");
    assert!(warning < lost);
    assert_eq!(
        sim.server.live_session(sim.now),
        None,
        "the host dropped it too"
    );
    upload.unpause(sim.now).unwrap();
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.sessions == 2),
        "{outcome:?}"
    );
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn on_a_scaled_clock_a_retry_wait_past_the_expiry_never_sends_into_a_dead_session() {
    // Sessions live 20 s; the host asks to wait 30 s before the third range.
    let mut sim = Sim::new(3_000, &[], 6).with_script(vec![(3, Fault::Status(503, Some("30")))]);
    sim.server.lifetime = Duration::from_secs(20);
    let mut config = config(streams(&sim.source, &[]), 400, 6);
    config.session_lifetime = Duration::from_secs(20);
    let mut upload = sim.upload_with(config);
    let outcome = sim.run(&mut upload);
    assert!(
        matches!(&outcome, Outcome::Completed(done) if done.sessions == 2),
        "{outcome:?}"
    );
    assert!(sim.events.contains(&WopiEvent::SessionLost {
        cause: WopiSessionLoss::Expired,
        starting_over: true
    }));
    for seen in sim.updates() {
        assert!(
            seen.host_offset.is_some(),
            "sent into a dead session: {seen:?}"
        );
    }
    sim.assert_clean(1);
    sim.assert_stored_source();
}

#[test]
fn the_engine_knows_the_deadline_the_host_enforces() {
    let mut sim = Sim::new(3_000, &[], 7);
    let mut upload = sim.upload(&[], 400, 7);
    sim.run_until(&mut upload, |_, up| up.confirmed() >= 800);
    let expires = upload.expires_at().unwrap();
    // Counted from when the last update was sent, so never after the host's own deadline.
    let (_, host_expires) = sim.server.live_session(sim.now).unwrap();
    assert!(expires <= host_expires, "{expires:?} > {host_expires:?}");
    assert!(host_expires.saturating_duration_since(expires) < Duration::from_secs(1));
    assert!(expires > Instant::ZERO + Duration::from_secs(29 * 60));
}

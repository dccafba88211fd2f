//! The sliding expiry of an idle session: keep-alive, warning, lapse, and 410.

use alloc::vec;

use crate::http::{Body, RequestKind, Response};
use crate::session::StateMachine;
use crate::time::Instant;

use super::super::*;
use super::{Drive, STREAM, at, config, offset_of};

#[test]
fn a_410_starts_the_stream_again_in_a_new_session_within_the_budget() {
    let mut config = config();
    config.max_sessions = 2;
    let mut drive = Drive::new(config);
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    let second = drive.request();
    drive.answer(&second, Response::new(410));
    assert_eq!(drive.up.state(), WopiState::CreatingSession);
    drive.start();
    let again = drive.request();
    assert_eq!(offset_of(&again), 0);
    drive.answer(
        &again,
        Response::new(410).with_header(
            "X-WOPI-FailureReason",
            "the upload session is unknown or has expired",
        ),
    );
    let events = drive.events();
    assert!(events.contains(&WopiEvent::SessionLost {
        cause: WopiSessionLoss::Gone,
        starting_over: false
    }));
    assert_eq!(
        events.last(),
        Some(&WopiEvent::Failed(WopiError::SessionLost {
            sessions: 2,
            host_reason: Some("the upload session is unknown or has expired".into())
        }))
    );
}

#[test]
fn a_paused_session_is_kept_alive_before_it_expires() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    drive.up.pause(drive.now).unwrap();
    assert_eq!(drive.up.state(), WopiState::Paused);
    drive.no_request();
    // Sent at 10 ms: expires at 60.01 s; the keep-alive goes 10 s before.
    let expires = drive.up.expires_at().unwrap();
    assert_eq!(expires, Instant::from_millis(60_010));
    assert_eq!(drive.up.poll_timeout(), Some(Instant::from_millis(50_010)));
    drive.jump(Instant::from_millis(50_010));
    let keep_alive = drive.request();
    assert_eq!(keep_alive.kind, RequestKind::Refresh);
    assert_eq!((offset_of(&keep_alive), keep_alive.body.len()), (400, 1));
    drive.answer(&keep_alive, at(200, 401));
    let events = drive.events();
    assert!(events.contains(&WopiEvent::KeptAlive {
        expires_at: Instant::from_millis(110_010)
    }));
    drive.no_request();
    drive.up.unpause(drive.now).unwrap();
    let next = drive.request();
    assert_eq!(offset_of(&next), 401);
}

#[test]
fn with_keep_alive_off_a_paused_session_warns_then_lapses_and_a_new_one_follows_the_unpause() {
    let mut config = config();
    config.keep_alive = false;
    let mut drive = Drive::new(config);
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    drive.up.pause(drive.now).unwrap();
    let warn_at = drive.up.poll_timeout().unwrap();
    drive.jump(warn_at);
    drive.no_request();
    assert_eq!(
        drive.events(),
        vec![
            WopiEvent::SessionCreated { number: 1 },
            WopiEvent::Acknowledged {
                offset: 0,
                len: 400,
                confirmed: 400,
                total: STREAM
            },
            WopiEvent::ExpiryWarning {
                expires_at: Instant::from_millis(60_010)
            },
        ]
    );
    assert_eq!(drive.up.poll_timeout(), Some(Instant::from_millis(60_010)));
    drive.jump(Instant::from_millis(60_010));
    assert_eq!(
        drive.events(),
        vec![WopiEvent::SessionLost {
            cause: WopiSessionLoss::Expired,
            starting_over: true
        }]
    );
    assert_eq!(drive.up.poll_timeout(), None);
    drive.no_request();
    drive.up.unpause(drive.now).unwrap();
    assert_eq!(drive.request().kind, RequestKind::CreateSession);
}

#[test]
fn an_empty_keep_alive_the_host_refuses_turns_into_a_warning() {
    let mut config = config();
    config.on_sequence_conflict = SequenceConflictPolicy::Ask;
    let mut drive = Drive::new(config);
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive.answer(
        &commit,
        Response::new(412).with_header("X-WOPI-SequenceNumber", "9"),
    );
    assert_eq!(drive.up.state(), WopiState::SequenceConflict);
    let act = drive.up.poll_timeout().unwrap();
    drive.jump(act);
    let keep_alive = drive.request();
    assert_eq!(keep_alive.body, Body::Empty);
    assert_eq!(keep_alive.header("X-WOPI-ContentRangeLength"), Some("0"));
    drive.answer(&keep_alive, at(400, STREAM));
    let events = drive.events();
    assert!(
        matches!(events.last(), Some(WopiEvent::ExpiryWarning { .. })),
        "{events:?}"
    );
    drive.no_request();
    drive.up.commit_with_sequence_number(9, drive.now).unwrap();
    let again = drive.request();
    assert_eq!(again.header("X-WOPI-SequenceNumber"), Some("9"));
}

/// The commands take the time: what the expiry did by then is decided at the command, not at
/// the next timeout the caller happens to hand in.
#[test]
fn an_unpause_after_the_lapse_reports_the_loss_at_once_and_creates_a_session() {
    let mut config = config();
    config.keep_alive = false;
    let mut drive = Drive::new(config);
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    drive.up.pause(drive.now).unwrap();
    drive.events();
    // No timeout handed in: the caller unpauses one millisecond after the 60.01 s expiry.
    drive.now = Instant::from_millis(60_011);
    drive.up.unpause(drive.now).unwrap();
    assert_eq!(
        drive.events(),
        vec![WopiEvent::SessionLost {
            cause: WopiSessionLoss::Expired,
            starting_over: true
        }]
    );
    assert_eq!(drive.request().kind, RequestKind::CreateSession);
}

#[test]
fn an_unpause_one_millisecond_before_the_lapse_goes_on_in_the_session() {
    let mut config = config();
    config.keep_alive = false;
    let mut drive = Drive::new(config);
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    drive.up.pause(drive.now).unwrap();
    drive.events();
    drive.now = Instant::from_millis(60_009);
    drive.up.unpause(drive.now).unwrap();
    assert_eq!(drive.events(), vec![]);
    let next = drive.request();
    assert_eq!((next.kind, offset_of(&next)), (RequestKind::Fragment, 400));
}

#[test]
fn keep_alive_turned_off_inside_the_margin_warns_at_that_moment() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    drive.up.pause(drive.now).unwrap();
    drive.events();
    // Inside the 10 s margin before the 60.01 s expiry, before the keep-alive was polled.
    drive.now = Instant::from_millis(55_000);
    drive.up.set_keep_alive(false, drive.now);
    assert_eq!(
        drive.events(),
        vec![WopiEvent::ExpiryWarning {
            expires_at: Instant::from_millis(60_010)
        }]
    );
    drive.no_request();
    // Turned on again: the keep-alive goes at once, the margin being passed.
    drive.up.set_keep_alive(true, drive.now);
    let keep_alive = drive.request();
    assert_eq!(keep_alive.kind, RequestKind::Refresh);
}

#[test]
fn a_commit_decided_after_the_lapse_uploads_again_in_a_new_session() {
    let mut config = config();
    config.on_sequence_conflict = SequenceConflictPolicy::Ask;
    config.keep_alive = false;
    let mut drive = Drive::new(config);
    drive.start();
    drive.upload_all();
    let commit = drive.request();
    drive.answer(
        &commit,
        Response::new(412).with_header("X-WOPI-SequenceNumber", "9"),
    );
    drive.events();
    let expires = drive.up.expires_at().unwrap();
    drive.now = expires + crate::time::Duration::from_millis(1);
    drive.up.commit_with_sequence_number(9, drive.now).unwrap();
    assert_eq!(
        drive.events(),
        vec![WopiEvent::SessionLost {
            cause: WopiSessionLoss::Expired,
            starting_over: true
        }]
    );
    assert_eq!(drive.request().kind, RequestKind::CreateSession);
}

#[test]
fn a_cancel_stops_every_timer() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    drive.up.pause(drive.now).unwrap();
    assert!(drive.up.poll_timeout().is_some());
    drive.up.cancel(drive.now).unwrap();
    assert_eq!(drive.up.poll_timeout(), None);
    assert_eq!(drive.up.expires_at(), None);
}

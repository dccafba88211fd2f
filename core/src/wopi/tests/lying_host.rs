//! Hosts that lie about their offset: bytes never sent claimed, confirmed bytes forgotten.

use super::*;

#[test]
fn an_offset_past_the_bytes_sent_is_not_taken_and_the_host_is_probed() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    // 400 bytes went out; the host claims 800.
    drive.answer(&first, at(200, 800));
    let events = drive.events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            WopiEvent::ProtocolViolation(crate::session::Violation::ClaimedUnsent { range })
                if range.start() == 400 && range.end() == 800
        )),
        "{events:?}"
    );
    assert_eq!(drive.up.confirmed(), 0, "nothing taken from the lie");
    let probe = drive.request();
    assert_eq!(offset_of(&probe), 0, "a probe where the host last was");
    assert!(probe.body.len() <= 400);
}

#[test]
fn a_host_that_insists_on_bytes_never_sent_is_given_up_on() {
    let mut drive = Drive::new(config());
    drive.start();
    for _ in 0..4 {
        let update = drive.request();
        drive.answer(&update, at(200, STREAM - 1));
    }
    let events = drive.events();
    let Some(WopiEvent::Failed(WopiError::HostMisbehaved { times, .. })) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(*times, 4);
    assert!(drive.up.is_finished());
}

#[test]
fn a_host_that_keeps_forgetting_is_given_up_on() {
    let mut drive = Drive::new(config());
    drive.start();
    let mut updates = 0;
    while let Some(update) = drive.up.poll_request(drive.now) {
        updates += 1;
        // Every third update, the host has forgotten everything.
        let end = offset_of(&update) + update.body.len();
        let offset = if updates % 3 == 0 { 0 } else { end };
        drive.answer(&update, at(200, offset));
        assert!(updates < 40, "bounded");
    }
    let events = drive.events();
    // The regressions or the send budget, whichever comes first, end it.
    assert!(
        matches!(
            events.last(),
            Some(WopiEvent::Failed(
                WopiError::HostMisbehaved {
                    violation: crate::session::Violation::Regressed { .. },
                    ..
                } | WopiError::SendBudgetSpent { .. }
            ))
        ),
        "{events:?}"
    );
    assert!(drive.up.is_finished());
}

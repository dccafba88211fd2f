//! When the machine sends: poll intervals, `Retry-After` in every form, creation time limits.

use super::*;

#[test]
fn poll_waits_honour_retry_after_and_cap_only_the_clients_own_interval() {
    let cases = [
        (None, 30, 30),
        (Some("5"), 30, 30),
        (Some("45"), 30, 45),
        (Some("600"), 30, 600),
        (Some("soon"), 30, 30),
        // The client's own interval is capped at 4 minutes; the server's ask is not.
        (None, 600, 240),
        (Some("300"), 600, 300),
    ];
    for (retry_after, interval, wait) in cases {
        let config = WorkbookConfig {
            respond_async: true,
            poll_interval: Duration::from_secs(interval),
            inactivity: crate::workbook::InactivityLimits::uniform(Duration::from_secs(3600)),
            ..WorkbookConfig::new(true)
        };
        let mut session = machine(config);
        let create = session.poll_request(Instant::ZERO).unwrap();
        let mut accepted = Response::new(202).with_header("Location", "/op");
        if let Some(value) = retry_after {
            accepted = accepted.with_header("Retry-After", value);
        }
        session.handle_response(secs(10), create.id, accepted);
        assert_eq!(
            session.poll_timeout(),
            Some(secs(10 + wait)),
            "{retry_after:?} {interval}"
        );
    }
    // An HTTP-date is measured against the answer's own Date.
    let mut session = machine(WorkbookConfig::new(true));
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.handle_response(
        secs(10),
        create.id,
        Response::new(202)
            .with_header("Location", "/op")
            .with_header("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
            .with_header("Retry-After", "Thu, 01 Jan 2026 00:01:40 GMT"),
    );
    assert_eq!(session.poll_timeout(), Some(secs(110)));
}

#[test]
fn polls_come_often_enough_for_a_short_inactivity_limit_unless_the_server_asks_otherwise() {
    // Sessions die after 10 s of idleness: a session created right after a poll must be found
    // and refreshed within 5 s, whatever the configured poll interval says.
    let config = WorkbookConfig {
        inactivity: crate::workbook::InactivityLimits::uniform(Duration::from_secs(10)),
        ..WorkbookConfig::new(true)
    };
    let mut session = machine(config.clone());
    let create = session.poll_request(Instant::ZERO).unwrap();
    let answer = Response::new(202).with_header("Location", "/op");
    session.handle_response(Instant::ZERO, create.id, answer);
    assert_eq!(session.poll_timeout(), Some(secs(5)));
    // A server that asks for 60 s gets 60 s: never poll earlier than Retry-After.
    let mut session = machine(config);
    let create = session.poll_request(Instant::ZERO).unwrap();
    let answer = Response::new(202)
        .with_header("Location", "/op")
        .with_header("Retry-After", "60");
    session.handle_response(Instant::ZERO, create.id, answer);
    assert_eq!(session.poll_timeout(), Some(secs(60)));
}

#[test]
fn creation_times_out_when_the_operation_never_ends() {
    let config = WorkbookConfig {
        max_creation_wait: Duration::from_secs(100),
        ..WorkbookConfig::new(true)
    };
    let mut session = accepted(config, "/op", Instant::ZERO);
    let mut polls = 0;
    let mut now = Instant::ZERO;
    while !session.is_finished() {
        now = session.poll_timeout().unwrap();
        session.handle_timeout(now);
        if let Some(poll) = session.poll_request(now) {
            polls += 1;
            session.handle_response(now, poll.id, operation("notStarted"));
        }
    }
    assert_eq!(polls, 3, "at 30, 60 and 90 s");
    assert_eq!(now, secs(100));
    assert_eq!(
        events(&mut session).pop(),
        Some(WorkbookEvent::Failed(WorkbookError::CreationTimedOut {
            waited: Duration::from_secs(100)
        }))
    );
}

#[test]
fn retry_after_dates_without_a_date_header_use_the_callers_wall_clock() {
    let mut session = machine(WorkbookConfig::new(true));
    let anchor = crate::time::UnixTime::parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT").unwrap();
    session.set_wall_clock(crate::time::WallClock::new(Instant::ZERO, anchor));
    let create = session.poll_request(Instant::ZERO).unwrap();
    let busy = Response::new(429).with_header("Retry-After", "Thu, 01 Jan 2026 00:01:40 GMT");
    session.handle_response(secs(10), create.id, busy);
    // 00:01:40 is 100 s after the anchor, 90 s after the answer; jitter adds at most 1 s.
    let at = session.poll_timeout().unwrap();
    assert!(at >= secs(100) && at <= secs(101), "{at:?}");
    assert!(
        session.poll_request(secs(99)).is_none(),
        "never earlier than asked"
    );
}

#[test]
fn retry_after_dates_without_any_clock_wait_the_longest_accepted_wait() {
    let mut session = machine(WorkbookConfig::new(true));
    let create = session.poll_request(Instant::ZERO).unwrap();
    let busy = Response::new(429).with_header("Retry-After", "Thu, 01 Jan 2026 00:01:40 GMT");
    session.handle_response(secs(10), create.id, busy);
    let longest = session.config().retry.max_retry_after;
    assert!(session.poll_timeout().unwrap() >= secs(10) + longest);
}

//! A caller's retry policy: the last retry is shown as a [`RetryAttempt`], and declining it
//! ends the upload as a failure that keeps the session.

use alloc::string::ToString;

use super::*;
use crate::retry::GiveUp;
use crate::session::{RetryAttempt, Transfer};

#[test]
fn the_last_retry_is_shown_with_its_attempt_reason_and_delay() {
    let mut up = created(3 * CHUNK);
    let _ = events(&mut up);
    assert_eq!(up.last_retry(), None);
    let mut now = Instant::ZERO;
    for attempt in 1..=3 {
        let put = up.poll_request(now).expect("the fragment goes out (again)");
        up.handle_response(now, put.id, Response::new(503));
        let Some(Event::RetryScheduled { delay, .. }) = events(&mut up).pop() else {
            panic!("a retry was scheduled");
        };
        let shown = up.last_retry().unwrap();
        assert_eq!(
            shown,
            RetryAttempt::new(attempt, Failure::Status(503), delay)
        );
        // Allowed: the retry goes out once its wait is over.
        now += delay;
        up.handle_timeout(now);
    }
}

#[test]
fn a_declined_retry_fails_the_upload_and_keeps_the_session() {
    let mut up = created(3 * CHUNK);
    let _ = events(&mut up);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 500, "");
    assert!(matches!(
        events(&mut up).as_slice(),
        [Event::RetryScheduled { .. }]
    ));
    Transfer::decline_retry(&mut up, Instant::ZERO);
    let ended = events(&mut up);
    let [Event::Failed(error)] = ended.as_slice() else {
        panic!("{ended:?}");
    };
    assert_eq!(
        *error,
        UploadError::GaveUp {
            during: RequestKind::Fragment,
            last: Failure::Status(500),
            reason: GiveUp::Declined { attempt: 1 },
        }
    );
    assert!(
        error
            .to_string()
            .contains("the retry hook declined retry 1"),
        "{error}"
    );
    assert!(up.is_finished());
    assert!(up.poll_request(Instant::from_millis(3_600_000)).is_none());
    assert!(
        up.session_left_behind().is_some() && up.checkpoint().upload_url().is_some(),
        "the session stays for a resume"
    );
    assert_eq!(up.last_retry(), None);
    // Declining again, or after the end, changes nothing.
    Transfer::decline_retry(&mut up, Instant::ZERO);
    assert!(events(&mut up).is_empty());
}

#[test]
fn nothing_to_decline_without_a_retry() {
    let mut up = created(3 * CHUNK);
    let _ = events(&mut up);
    Transfer::decline_retry(&mut up, Instant::ZERO);
    assert!(events(&mut up).is_empty());
    assert!(!up.is_finished());
    assert!(up.poll_request(Instant::ZERO).is_some());
}

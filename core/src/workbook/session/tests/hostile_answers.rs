//! Property tests: arbitrary answers never break the machine.

use super::*;
use alloc::string::ToString;
use proptest::prelude::*;

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(r#"{"id":"s","persistChanges":true}"#.into()),
        Just(r#"{"id":""}"#.into()),
        Just(r#"{"status":"running"}"#.into()),
        Just(r#"{"status":"succeeded","resourceLocation":"../s"}"#.into()),
        Just(r#"{"status":"succeeded","resourceLocation":"mailto:x"}"#.into()),
        Just(r#"{"status":"failed","error":{"code":"x","innerError":{"code":"y"}}}"#.into()),
        Just(r#"{"error":{"innerError":{"code":"invalidSessionReCreatable"}}}"#.into()),
        Just(r#"{"error":{"code":"invalidSessionWhatever"}}"#.into()),
        "[ -~é]{0,40}",
    ]
}

fn answer() -> impl Strategy<Value = Response> {
    (
        prop_oneof![
            Just(200u16),
            Just(201),
            Just(202),
            Just(204),
            Just(404),
            Just(429),
            Just(503),
            Just(504),
            any::<u16>()
        ],
        proptest::option::of(prop_oneof![
            Just("operations/op".to_string()),
            Just("https://elsewhere/op".to_string()),
            "[ -~é]{0,30}",
        ]),
        proptest::option::of(prop_oneof![
            Just("0".to_string()),
            Just("999999999999999999999".to_string()),
            "[ -~é]{0,20}",
        ]),
        body(),
    )
        .prop_map(|(status, location, retry_after, body)| {
            let mut answer = Response::new(status).with_body(body);
            if let Some(location) = location {
                answer = answer.with_header("Location", location);
            }
            if let Some(retry_after) = retry_after {
                answer = answer.with_header("Retry-After", retry_after);
            }
            answer
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the server answers, the machine never panics, never hands out a request
    /// after it finished, and always either has a request to send, a deadline, or is done.
    #[test]
    fn arbitrary_answers_never_break_the_machine(
        answers in proptest::collection::vec(answer(), 1..40),
        respond_async in any::<bool>(),
        close_after in proptest::option::of(0usize..40),
    ) {
        let config = WorkbookConfig { respond_async, ..WorkbookConfig::new(true) };
        let mut session = machine(config);
        let mut now = Instant::ZERO;
        for (step, answer) in answers.into_iter().enumerate() {
            if close_after == Some(step) {
                session.close(now);
            }
            let request = match session.poll_request(now) {
                Some(request) => request,
                None => match session.poll_timeout() {
                    Some(deadline) => {
                        now = now.max(deadline);
                        session.handle_timeout(now);
                        match session.poll_request(now) {
                            Some(request) => request,
                            None => {
                                prop_assert!(session.is_finished());
                                break;
                            }
                        }
                    }
                    None => {
                        prop_assert!(session.is_finished());
                        break;
                    }
                },
            };
            prop_assert!(!session.is_finished());
            session.handle_response(now, request.id, answer);
            let _ = events(&mut session);
        }
        if session.is_finished() {
            prop_assert!(session.poll_request(Instant::MAX).is_none());
            prop_assert_eq!(session.poll_timeout(), None);
        }
    }
}

use super::*;
use alloc::borrow::ToOwned;
use alloc::string::ToString;

fn session(body: &str, total: u64) -> SessionStatus {
    match parse_answer(&Response::new(202).with_body(body.to_owned()), total) {
        Ok(Answer::Session(status)) => status,
        other => panic!("{body}: {other:?}"),
    }
}

fn range(start: u64, end: u64) -> ByteRange {
    ByteRange::new(start, end).unwrap()
}

#[test]
fn every_next_expected_ranges_form() {
    let total = 100_000;
    let cases: &[(&str, &[ByteRange])] = &[
        (r#"{"nextExpectedRanges":["26-"]}"#, &[range(26, total)]),
        (
            r#"{"nextExpectedRanges":["5242-8255"]}"#,
            &[range(5242, 8256)],
        ),
        (
            r#"{"nextExpectedRanges":["77829-99375","12345-55232"]}"#,
            &[range(12345, 55233), range(77829, 99376)],
        ),
        (r#"{"NextExpectedRanges":["2097"]}"#, &[range(2097, total)]),
        (r#"{"nextExpectedRanges":[]}"#, &[]),
        (
            r#"{"nextExpectedRanges":"0-9,20-"}"#,
            &[range(0, 10), range(20, total)],
        ),
        (r#"{"nextExpectedRanges":[4096]}"#, &[range(4096, total)]),
        (r#"{"nextExpectedRanges":[" 7- "]}"#, &[range(7, total)]),
    ];
    for (body, expected) in cases {
        assert_eq!(
            session(body, total).next_expected.as_deref(),
            Some(*expected),
            "{body}"
        );
    }
}

#[test]
fn any_casing_of_every_property() {
    let status = session(
        r#"{"UPLOADURL":"https://up/x?tempauth=t","expirationdatetime":"2026-01-29T09:21:55.523Z"}"#,
        10,
    );
    assert_eq!(
        status.upload_url.unwrap().expose(),
        "https://up/x?tempauth=t"
    );
    assert_eq!(
        status.expires.unwrap().to_string(),
        "2026-01-29T09:21:55.523Z"
    );
    assert_eq!(status.next_expected, None);
}

#[test]
fn finished_forms() {
    let item = Response::new(201).with_body(r#"{"id":"01","name":"a","size":3}"#);
    assert!(matches!(parse_answer(&item, 3), Ok(Answer::Item(json)) if json.contains("\"id\"")));
    assert_eq!(parse_answer(&Response::new(204), 3), Ok(Answer::Empty));
    let mail = Response::new(201)
        .with_header("location", "https://o/a")
        .with_body("  ");
    assert_eq!(
        parse_answer(&mail, 3),
        Ok(Answer::Location("https://o/a".into()))
    );
}

#[test]
fn malformed_answers_are_typed_errors() {
    let total = 100;
    let cases: &[(&str, AnswerError)] = &[
        ("<html>", AnswerError::NotJson),
        ("[1,2]", AnswerError::NotAnObject),
        (
            r#"{"nextExpectedRanges":{}}"#,
            AnswerError::WrongType("nextExpectedRanges"),
        ),
        (
            r#"{"nextExpectedRanges":[true]}"#,
            AnswerError::WrongType("nextExpectedRanges"),
        ),
        (
            r#"{"nextExpectedRanges":[-1]}"#,
            AnswerError::WrongType("nextExpectedRanges"),
        ),
        (r#"{"uploadUrl":5}"#, AnswerError::WrongType("uploadUrl")),
        (
            r#"{"nextExpectedRanges":["100-"]}"#,
            AnswerError::Range(RangeError::PastTotal),
        ),
        (
            r#"{"nextExpectedRanges":["26--"]}"#,
            AnswerError::Range(RangeError::Syntax { at: 3 }),
        ),
        (
            r#"{"nextExpectedRanges":["9-3"]}"#,
            AnswerError::Range(RangeError::Reversed),
        ),
    ];
    for (body, error) in cases {
        let answer = Response::new(202).with_body(*body);
        assert_eq!(parse_answer(&answer, total), Err(*error), "{body}");
    }
    let bad_time = Response::new(202)
        .with_body(r#"{"expirationDateTime":"tomorrow","nextExpectedRanges":[]}"#);
    assert!(matches!(
        parse_answer(&bad_time, total),
        Err(AnswerError::Expiry(_))
    ));
}

#[test]
fn service_error_codes_are_kept_short() {
    let body = br#"{"error":{"code":"nameAlreadyExists","message":"..."}}"#;
    assert_eq!(
        service_error_code(body).as_deref(),
        Some("nameAlreadyExists")
    );
    assert_eq!(service_error_code(b"<html>"), None);
    assert_eq!(
        service_error_code(br#"{"Error":{"Code":"quotaLimitReached"}}"#).as_deref(),
        Some("quotaLimitReached")
    );
    let long = alloc::format!(r#"{{"error":{{"code":"{}"}}}}"#, "x".repeat(200));
    assert_eq!(service_error_code(long.as_bytes()), None);
    assert_eq!(
        service_error_code(br#"{"error":{"code":"has space"}}"#),
        None
    );
}

#[test]
fn service_messages_are_repeated_short_and_without_anything_like_a_credential() {
    let body = br#"{"error":{"code":"invalidRequest","message":"The file is larger\nthan the drive takes."}}"#;
    assert_eq!(
        service_error(body),
        (
            Some("invalidRequest".into()),
            Some("The file is larger than the drive takes.".into())
        )
    );
    let quoting = br#"{"error":{"message":"Bad URL https://up.example/s?tempauth=abc for token eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30 here"}}"#;
    let (code, message) = service_error(quoting);
    assert_eq!(code, None);
    assert_eq!(message.as_deref(), Some("Bad URL […] for token […] here"));
    let long = alloc::format!(r#"{{"error":{{"message":"{}"}}}}"#, "word ".repeat(100));
    let message = service_error(long.as_bytes()).1.unwrap();
    assert!(
        message.ends_with(" …") && message.chars().count() <= 162,
        "{message}"
    );
    assert_eq!(
        service_error(br#"{"error":{"message":"  "}}"#),
        (None, None)
    );
    assert_eq!(service_error(b"not json"), (None, None));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), total in 1u64..u64::MAX) {
        let _ = parse_answer(&Response::new(202).with_body(body.clone()), total);
        let _ = service_error_code(&body);
        let (_, message) = service_error(&body);
        if let Some(message) = message {
            proptest::prop_assert!(message.chars().count() <= 160);
            proptest::prop_assert!(!message.contains("://"));
        }
    }

    #[test]
    fn parsed_ranges_lie_inside_the_file(first in 0u64..2_000, len in 0u64..2_000, total in 1u64..3_000) {
        let body = alloc::format!(r#"{{"nextExpectedRanges":["{first}-{}", "{first}"]}}"#, first + len);
        if let Ok(Answer::Session(status)) = parse_answer(&Response::new(202).with_body(body), total) {
            for range in status.next_expected.unwrap() {
                proptest::prop_assert!(range.end() <= total);
            }
        }
    }
}

//! The end of an upload: completions, conflicts, commits, lost answers and the caller's
//! commands.

use super::*;

#[test]
fn a_lost_last_answer_under_replace_is_reported_unconfirmed() {
    let item = DriveItem::new()
        .named("a.bin")
        .on_conflict(ConflictBehavior::Replace);
    let mut config = UploadConfig::new(Target::DriveItem(item), 10);
    config.session.not_found_retries = 0;
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.handle_transport_error(Instant::ZERO, put.id, TransportError::Timeout);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    let status = up.poll_request(at).unwrap();
    answer(&mut up, &status, 404, "");
    // An older file may hold the name under `replace`: reading it would prove nothing.
    assert_eq!(
        events(&mut up).pop(),
        Some(Event::Failed(UploadError::CompletionUnconfirmed {
            destination: TargetKind::DriveItem,
            size: 10
        }))
    );
}

#[test]
fn a_409_on_the_last_print_or_mail_fragment_is_a_refusal_not_a_name_conflict() {
    let targets = [
        Target::PrintDocument(PrintDocument::new("d.pdf", "application/pdf")),
        Target::MailAttachment(MailAttachment::new("a.pdf")),
    ];
    for target in targets {
        let config = UploadConfig::new(target.clone(), 10);
        let mut up =
            Upload::create("https://g/x/createUploadSession", config, Instant::ZERO).unwrap();
        let create = up.poll_request(Instant::ZERO).unwrap();
        answer(&mut up, &create, 200, SESSION);
        let put = up.poll_request(Instant::ZERO).unwrap();
        answer(&mut up, &put, 409, r#"{"error":{"code":"conflict"}}"#);
        let error = UploadError::Rejected {
            during: RequestKind::Fragment,
            status: 409,
            code: Some("conflict".into()),
            message: None,
        };
        assert_eq!(
            events(&mut up).pop(),
            Some(Event::Failed(error.clone())),
            "{target:?}"
        );
        assert!(
            error.to_string().contains("print job or message"),
            "{error}"
        );
    }
}

#[test]
fn a_completion_never_prints_or_persists_the_download_link() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    let item = r#"{"id":"01ABC","name":"a.bin","size":10,"@microsoft.graph.downloadUrl":"https://dl.example/x?tempauth=SECRET","file":{"hashes":{}}}"#;
    answer(&mut up, &put, 201, item);
    let events = events(&mut up);
    let Some(Event::Completed(done)) = events.last() else {
        panic!("{events:?}")
    };
    // The caller gets the whole item...
    assert_eq!(done.item.as_deref(), Some(item));
    // ...but nothing prints the pre-authenticated link.
    let printed = format!("{events:?} {up:?} {:?} {done:?}", up.checkpoint());
    assert!(!printed.contains("SECRET"), "{printed}");
    assert!(printed.contains("01ABC"), "{printed}");
    // A checkpoint does not need it, so it does not keep it.
    let bytes = up.checkpoint().to_bytes();
    assert!(!alloc::string::String::from_utf8_lossy(&bytes).contains("SECRET"));
    let mut resumed =
        Upload::resume(Checkpoint::from_bytes(&bytes).unwrap(), Instant::ZERO).unwrap();
    let Some(Event::Completed(again)) = resumed.poll_event() else {
        panic!()
    };
    let kept = again.item.unwrap();
    assert!(kept.contains("01ABC") && kept.contains("hashes"), "{kept}");
    assert!(!kept.to_ascii_lowercase().contains("downloadurl"), "{kept}");
}

/// A deferred upload of 10 bytes whose session expires at `expires` (server clock = caller's),
/// all bytes stored, waiting for the commit.
fn pending_commit(expires: &str) -> Upload {
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new().deferred()), 10);
    config.fragment_size = FragmentSizing::Fixed(CHUNK);
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let anchor = crate::time::UnixTime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    up.set_wall_clock(crate::time::WallClock::new(Instant::ZERO, anchor));
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    let body = format!(r#"{{"expirationDateTime":"{expires}","nextExpectedRanges":[]}}"#);
    answer(&mut up, &put, 202, &body);
    assert_eq!(up.state(), State::CommitPending);
    let _ = events(&mut up);
    up
}

#[test]
fn commands_take_the_time_and_act_on_an_expired_session() {
    // Ten minutes of life, less the 10 s margin.
    let late = Instant::from_millis(600_000);
    let mut up = pending_commit("2026-01-01T00:10:00Z");
    let refused = up.commit(late).unwrap_err();
    assert_eq!(
        refused,
        UploadError::WrongState {
            command: "commit",
            state: State::Failed
        }
    );
    assert_eq!(
        events(&mut up),
        [
            Event::SessionLost {
                cause: SessionLossCause::Expired,
                starting_over: false
            },
            Event::Failed(UploadError::UncommittedSessionLost {
                cause: SessionLossCause::Expired,
                name_conflict: false
            })
        ]
    );
    // In time, the commit goes out.
    let mut up = pending_commit("2026-01-01T00:10:00Z");
    up.commit(Instant::from_millis(60_000)).unwrap();
    let commit = up.poll_request(Instant::from_millis(60_000)).unwrap();
    assert_eq!(
        (commit.method, commit.kind),
        (Method::Post, RequestKind::Commit)
    );
    // Cancelling an expired session sends nothing into it.
    let mut up = pending_commit("2026-01-01T00:10:00Z");
    up.cancel(late).unwrap();
    assert_eq!(events(&mut up), [Event::Cancelled]);
    assert!(up.poll_request(late).is_none());
}

#[test]
fn bytes_found_missing_after_a_commit_pending_resume_are_uploaded_like_any_others() {
    // Persisted while waiting for a commit; on resume the server says it lacks bytes after all.
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new().deferred()), 10);
    config.session.not_found_retries = 0;
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(up.state(), State::CommitPending);
    let mut resumed = Upload::resume(up.checkpoint(), Instant::ZERO).unwrap();
    let status = resumed.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut resumed,
        &status,
        200,
        r#"{"nextExpectedRanges":["5-"]}"#,
    );
    assert_eq!(resumed.state(), State::Uploading);
    // The session dies under the missing bytes: nothing waited for the caller, and nothing
    // could have finished the upload, so a new session starts.
    let put = resumed.poll_request(Instant::ZERO).unwrap();
    answer(&mut resumed, &put, 404, "");
    assert_eq!(resumed.state(), State::CreatingSession);
    assert!(events(&mut resumed).contains(&Event::SessionLost {
        cause: SessionLossCause::NotFound,
        starting_over: true
    }));
}

mod hostile_answers {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Whatever the service answers, the machine never panics, stalls or prints a secret,
        /// and completes only on a file proven to be the source (the checks live in the fuzz
        /// target's body).
        #[test]
        fn hostile_answers_never_complete_on_another_file(data in prop::collection::vec(any::<u8>(), 0..800)) {
            crate::fuzz_targets::graph::graph_upload_hostile_answers(&data);
        }
    }
}

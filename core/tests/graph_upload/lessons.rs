//! One test per lesson of SPEC section 5 that concerns upload sessions, named after it.

use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::{
    Checkpoint, DriveItem, Event, Stage, State, Target, Upload, UploadConfig,
};
use resumable_core::http::{Auth, Body, Method, RequestKind, Response};
use resumable_core::range::ByteRange;
use resumable_core::secret::SecretUrl;
use resumable_core::session::{Driven, StateMachine};
use resumable_core::time::{Duration, Instant};

use super::harness::{Fault, Sim, completes, config, create_url, random_faults, upload};
use super::server::{Service, UPLOAD_HOST};

const CHUNK: u64 = 327_680;

fn fragment_ranges(sim: &Sim) -> Vec<ByteRange> {
    sim.fragments()
        .iter()
        .map(|r| match r.body {
            Body::Source(range) => range,
            _ => panic!("fragment without a source body"),
        })
        .collect()
}

#[test]
fn lesson_01_lost_answer_after_store_is_resynced_not_resent_whole() {
    let total = 4 * CHUNK + 10;
    // Request 0 creates the session; request 2 is the second fragment: stored, answer lost.
    let mut sim = Sim::new(Service::Drive, total, 11).with_script(vec![(2, Fault::LostAnswer)]);
    let mut up = upload(Service::Drive, total, 11);
    completes(&mut sim, &mut up);
    let kinds: Vec<RequestKind> = sim.requests.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds[3],
        RequestKind::Status,
        "asks where the server is next"
    );
    let ranges = fragment_ranges(&sim);
    assert_eq!(
        ranges,
        vec![
            ByteRange::new(0, CHUNK).unwrap(),
            ByteRange::new(CHUNK, 2 * CHUNK).unwrap(),
            // The lost fragment is not sent again: the server had it.
            ByteRange::new(2 * CHUNK, 3 * CHUNK).unwrap(),
            ByteRange::new(3 * CHUNK, 4 * CHUNK).unwrap(),
            ByteRange::new(4 * CHUNK, total).unwrap(),
        ]
    );
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::Resynchronised { offset, .. } if *offset == 2 * CHUNK
    )));
}

#[test]
fn lesson_01_partial_store_is_trimmed_and_realigned() {
    let total = 3 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 12).with_script(vec![(2, Fault::CutOff(1_000))]);
    let mut up = upload(Service::Drive, total, 12);
    completes(&mut sim, &mut up);
    let ranges = fragment_ranges(&sim);
    // Only the part the server lacks goes again, and it ends back on the 320 KiB grid.
    assert_eq!(ranges[2], ByteRange::new(CHUNK + 1_000, 2 * CHUNK).unwrap());
    assert_eq!(ranges[3], ByteRange::new(2 * CHUNK, 3 * CHUNK).unwrap());
}

#[test]
fn lesson_01_416_leads_to_status_then_the_missing_part() {
    let total = 3 * CHUNK;
    let mut sim =
        Sim::new(Service::Drive, total, 13).with_script(vec![(2, Fault::Status(416, None))]);
    let mut up = upload(Service::Drive, total, 13);
    completes(&mut sim, &mut up);
    assert_eq!(sim.requests[3].kind, RequestKind::Status);
    assert_eq!(sim.requests[3].method, Method::Get);
    // The 416 changed nothing on the server, so the same range follows.
    assert_eq!(
        fragment_ranges(&sim)[2],
        ByteRange::new(CHUNK, 2 * CHUNK).unwrap()
    );
}

#[test]
fn lesson_02_no_authorization_on_the_upload_url() {
    for seed in 0..40 {
        let total = 5 * CHUNK + 3;
        let mut sim = Sim::new(Service::Drive, total, seed).with_faults(random_faults(25));
        let mut up = upload(Service::Drive, total, seed);
        let _ = sim.run(&mut up);
        for request in &sim.requests {
            let to_session = request.url.expose().starts_with(UPLOAD_HOST);
            assert_eq!(request.auth == Auth::None, to_session, "{request:?}");
        }
        sim.assert_clean();
    }
}

#[test]
fn lesson_03_the_last_byte_is_sent() {
    for total in [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 1] {
        let mut sim = Sim::new(Service::Drive, total, total);
        let mut up = upload(Service::Drive, total, total);
        completes(&mut sim, &mut up);
        let last = *fragment_ranges(&sim).last().unwrap();
        assert_eq!(last.end(), total, "size {total}");
        let sent: u64 = fragment_ranges(&sim).iter().map(ByteRange::len).sum();
        assert_eq!(sent, total, "size {total}: every byte once");
    }
}

#[test]
fn lesson_04_a_small_file_completes_with_exactly_one_put() {
    let total = 1_000;
    let mut sim = Sim::new(Service::Drive, total, 4);
    let mut up = upload(Service::Drive, total, 4);
    completes(&mut sim, &mut up);
    assert_eq!(
        fragment_ranges(&sim),
        vec![ByteRange::new(0, total).unwrap()]
    );
    assert_eq!(sim.requests.len(), 2, "create and one PUT, nothing else");
}

#[test]
fn lesson_05_open_ranges_are_not_mangled() {
    use resumable_core::wire::graph_answer::{Answer, parse_answer};
    let answer = Response::new(202).with_body(r#"{"nextExpectedRanges":["26-"]}"#);
    let Ok(Answer::Session(status)) = parse_answer(&answer, 100) else {
        panic!("a session answer")
    };
    assert_eq!(
        status.next_expected,
        Some(vec![ByteRange::new(26, 100).unwrap()])
    );
    // End to end: the drive server answers open ranges; every Content-Range stays well formed.
    let total = 2 * CHUNK + 26;
    let mut sim = Sim::new(Service::Drive, total, 5).with_script(vec![(1, Fault::CutOff(26))]);
    let mut up = upload(Service::Drive, total, 5);
    completes(&mut sim, &mut up);
    for fragment in sim.fragments() {
        let header = fragment.header("content-range").unwrap();
        assert!(!header.contains("--"), "{header}");
    }
    assert_eq!(fragment_ranges(&sim)[1].start(), 26);
}

#[test]
fn lesson_06_resume_reads_the_source_at_the_server_offset() {
    let total = 5 * CHUNK + 7;
    let mut sim = Sim::new(Service::Drive, total, 6);
    let mut up = upload(Service::Drive, total, 6);
    // Run until the first fragment is acknowledged, and keep that checkpoint.
    while up.confirmed() == 0 {
        assert!(sim.step(&mut up).is_none());
    }
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.confirmed(), [ByteRange::new(0, CHUNK).unwrap()]);
    // The old process goes on a little (its answers never reach disk), then dies; what it had
    // sent still reaches the server.
    while fragment_ranges(&sim).len() < 3 {
        assert!(sim.step(&mut up).is_none());
    }
    drop(up);
    sim.abandon_in_flight();
    let url = checkpoint.upload_url().unwrap().expose().to_owned();
    let server_offset = sim.server.position(&url).unwrap();
    assert!(
        server_offset > CHUNK,
        "the server is ahead of the checkpoint"
    );
    let bytes = checkpoint.to_bytes();
    let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
    checkpoint
        .verify(total, |r| {
            Ok::<_, ()>(crc32fast::hash(
                &sim.source[r.start() as usize..r.end() as usize],
            ))
        })
        .unwrap();
    let mut resumed = Upload::resume(checkpoint, sim.now).unwrap();
    resumed.accept_held_bytes(); // the same source, unchanged
    let before = sim.requests.len();
    completes(&mut sim, &mut resumed);
    let after = &sim.requests[before..];
    assert_eq!(after[0].kind, RequestKind::Status, "resume asks first");
    let Body::Source(first) = after[1].body else {
        panic!("a fragment follows")
    };
    assert_eq!(
        first.start(),
        server_offset,
        "reads the source at the server's offset"
    );
}

/// The engine half of lesson 7. A sans-IO core holds no bytes, so it cannot compress them: all
/// it can get wrong is the description (a source range, no `Content-Encoding`). The transport
/// half, that no compression or other transform touches the bytes on the wire, is tested in
/// `transport-reqwest`.
#[test]
fn lesson_07_engine_half_fragment_bodies_are_described_as_plain_source_ranges() {
    let total = 3 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 7).with_faults(random_faults(20));
    let mut up = upload(Service::Drive, total, 7);
    let _ = sim.run(&mut up);
    for fragment in sim.fragments() {
        assert!(matches!(fragment.body, Body::Source(_)));
        assert!(fragment.header("content-encoding").is_none());
        assert!(fragment.header("transfer-encoding").is_none());
    }
}

#[test]
fn lesson_08_drive_fragments_strictly_in_order_one_at_a_time() {
    for seed in 0..30 {
        let total = 6 * CHUNK + 99;
        let mut sim = Sim::new(Service::Drive, total, seed).with_faults(random_faults(20));
        let mut up = upload(Service::Drive, total, seed);
        let _ = sim.run(&mut up);
        assert!(sim.server.max_in_flight_seen <= 1, "seed {seed}");
        sim.assert_clean();
    }
}

/// The engine half of lesson 9: a retry describes the same source range again, for the
/// transport to read afresh (it never hands out a consumed stream). The transport half, that
/// the body really is read again and sent whole on a retry, is tested in `transport-reqwest`.
#[test]
fn lesson_09_engine_half_retries_describe_the_same_source_range_again() {
    let total = 3 * CHUNK;
    let mut sim = Sim::new(Service::Drive, total, 9)
        .with_script(vec![(2, Fault::Connect), (3, Fault::Status(500, None))]);
    let mut up = upload(Service::Drive, total, 9);
    completes(&mut sim, &mut up);
    let ranges = fragment_ranges(&sim);
    // The same fragment is described again and read again from the source.
    assert_eq!(ranges[1], ranges[2]);
    assert_eq!(ranges[2], ranges[3]);
}

#[test]
fn lesson_10_property_names_in_any_casing() {
    use resumable_core::wire::graph_answer::{Answer, parse_answer};
    let answer = Response::new(200).with_body(
        r#"{"EXPIRATIONDATETIME":"2026-01-29T09:21:55.523Z","nextexpectedranges":"5-9, 20-"}"#,
    );
    let Ok(Answer::Session(status)) = parse_answer(&answer, 30) else {
        panic!("a session answer")
    };
    assert_eq!(
        status.next_expected,
        Some(vec![
            ByteRange::new(5, 10).unwrap(),
            ByteRange::new(20, 30).unwrap()
        ])
    );
    assert!(status.expires.is_some());
    // The mail service answers in PascalCase; the upload must not stall.
    let total = 3_500_000;
    let mut sim = Sim::new(Service::Mail, total, 10);
    let mut up = upload(Service::Mail, total, 10);
    completes(&mut sim, &mut up);
}

#[test]
fn lesson_11_deferred_commit_is_a_state_of_its_own() {
    let total = 2 * CHUNK + 1;
    let mut sim = Sim::new(Service::Drive, total, 11);
    let mut config = config(Service::Drive, total, 11);
    config.target = Target::DriveItem(DriveItem::new().named("file.bin").deferred());
    let mut up = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap();
    while up.state() != State::CommitPending {
        assert!(sim.step(&mut up).is_none(), "finished before the commit");
    }
    sim.pump(&mut up);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, Event::CommitPending { .. }))
    );
    assert!(sim.server.files.is_empty(), "not committed yet");
    // Nothing is sent while waiting: the only deadline is the session's expiry.
    assert!(up.poll_request(sim.now).is_none());
    assert!(up.poll_timeout().is_some());
    up.commit(sim.now).unwrap();
    completes(&mut sim, &mut up);
    let commit = sim.requests.last().unwrap();
    assert_eq!(
        (commit.method, commit.kind, commit.auth),
        (Method::Post, RequestKind::Commit, Auth::None)
    );
    assert!(commit.body.is_empty());
}

#[test]
fn lesson_12_timeouts_scale_with_fragment_size_and_throughput() {
    let mib = 1024 * 1024;
    let total = 40 * mib;
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new()), total);
    config.fragment_size = FragmentSizing::Adaptive {
        initial: 16 * CHUNK,
        target: Duration::from_secs(2),
        min: CHUNK,
        max: 96 * CHUNK,
    };
    let mut probe = Upload::create(
        create_url(Service::Drive),
        UploadConfig::new(Target::DriveItem(DriveItem::new()), total),
        Instant::ZERO,
    )
    .unwrap();
    let create = probe.poll_request(Instant::ZERO).unwrap();
    let bodiless_limit = probe.time_limit(&create);

    let mut sim = Sim::new(Service::Drive, total, 12);
    sim.link.rate = Some(20_000_000);
    let mut up = Upload::create(create_url(Service::Drive), config, Instant::ZERO).unwrap();
    completes(&mut sim, &mut up);
    let sizes: Vec<u64> = fragment_ranges(&sim).iter().map(ByteRange::len).collect();
    assert!(
        sizes.iter().any(|&s| s > 16 * CHUNK),
        "fragments grew on a fast link: {sizes:?}"
    );
    let big = sim
        .fragments()
        .iter()
        .max_by_key(|r| r.body.len())
        .copied()
        .unwrap()
        .clone();
    // A big fragment on an unmeasured link gets far longer than a bodiless request...
    let unmeasured = probe.time_limit(&big);
    assert!(
        unmeasured > bodiless_limit + Duration::from_secs(60),
        "{unmeasured:?}"
    );
    // ...and once the link is measured fast, the same fragment gets a tighter limit.
    assert!(up.time_limit(&big) < unmeasured);
    assert!(up.bytes_per_second().unwrap() > 1_000_000);
}

#[test]
fn lesson_13_completion_is_tracked_locally() {
    let total = 2 * CHUNK;
    // The last fragment's answer is lost: the session is gone, a GET answers 404.
    let mut sim = Sim::new(Service::Drive, total, 13).with_script(vec![(2, Fault::LostAnswer)]);
    let mut up = upload(Service::Drive, total, 13);
    completes(&mut sim, &mut up);
    assert!(
        sim.requests
            .iter()
            .any(|r| r.kind == RequestKind::FetchResource),
        "confirmed by reading the item"
    );
    let checkpoint = up.checkpoint();
    assert!(matches!(checkpoint.stage(), Stage::Completed(_)));
    // Resuming a completed upload sends nothing and reports completion.
    let mut resumed = Upload::resume(checkpoint, sim.now).unwrap();
    resumed.accept_held_bytes(); // the same source, unchanged
    assert!(resumed.poll_request(sim.now).is_none());
    assert!(matches!(resumed.poll_event(), Some(Event::Completed(_))));
    assert!(resumed.is_finished());
}

#[test]
fn lesson_14_the_server_offset_is_trusted_and_64_bit() {
    // A 5 GiB file, driven by hand: the server's offsets pass 4 GiB.
    let total: u64 = 5 * 1024 * 1024 * 1024;
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new()), total);
    config.fragment_size = FragmentSizing::Fixed(32 * CHUNK);
    // A session another process made and filled to 4 GiB: what it holds is its account.
    let url = SecretUrl::new("https://up.sim.example/s?tempauth=x");
    let mut up = Upload::continue_session(url, config, Instant::ZERO).unwrap();
    let now = Instant::ZERO;
    let status = up.poll_request(now).unwrap();
    up.handle_response(
        now,
        status.id,
        Response::new(200).with_body(r#"{"nextExpectedRanges":["4294967296-"]}"#),
    );
    let next = up.poll_request(now).unwrap();
    // 2^32 is not on the 320 KiB grid: the fragment ends on it, within the preferred size.
    assert_eq!(
        next.body,
        Body::Source(ByteRange::new(4_294_967_296, 13_139 * CHUNK).unwrap())
    );
    assert_eq!(
        next.header("content-range"),
        Some("bytes 4294967296-4305387519/5368709120")
    );
    assert_eq!(up.confirmed(), 4_294_967_296);
}

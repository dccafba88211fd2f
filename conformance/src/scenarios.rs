//! The scenarios, each a function of the transport: the same steps and the same assertions for
//! every transport. What is asserted is what the emulator recorded (the stored bytes' SHA-256,
//! the faults it injected, what it refused, what it received twice) and what the transport
//! reported, in the terms of [`Outcome`].

use std::time::Duration;

use resumable_core::graph::Checkpoint;
use resumable_core::retry::RetryPolicy;
use resumable_core::workbook::{CallOutcome, InactivityLimits, WorkbookConfig};
use resumable_emulator::{EmulatorConfig, StorageMode, TimeScale};

use crate::harness::{Env, KIB320, data, sha256};
use crate::transport::{
    Ending, GraphRun, Interrupt, Outcome, Start, Transport, WopiRun, WorkbookRun,
};

/// Six whole fragments and a short last one.
const SIZE: usize = 6 * KIB320 as usize + 1234;

/// Where the emulator keeps a drive upload to `name`.
fn drive_path(name: &str) -> String {
    format!("me/drive/root:/{name}")
}

/// A drive upload of `bytes` as `name` in whole-unit fragments, from a file.
fn graph_run(env: &Env, name: &str, bytes: &[u8]) -> GraphRun {
    GraphRun {
        create_url: env.emulator().drive_upload_session_url(name),
        source: env.file(name, bytes),
        fragment: KIB320,
        checkpoint: None,
        interrupt: None,
    }
}

/// The upload completed, the emulator holds exactly `bytes` at `path`, and the client broke no
/// protocol rule.
fn assert_stored<T: Transport>(
    transport: &T,
    env: &Env,
    outcome: &Outcome,
    path: &str,
    bytes: &[u8],
) {
    assert_stored_despite(transport, env, outcome, path, bytes, &[]);
}

/// [`assert_stored`], where answers with a status in `expected` were the service's word, not
/// a refusal of something the client did wrong.
fn assert_stored_despite<T: Transport>(
    transport: &T,
    env: &Env,
    outcome: &Outcome,
    path: &str,
    bytes: &[u8],
    expected: &[&str],
) {
    let name = transport.name();
    assert!(outcome.completed(), "{name}: {outcome:?}");
    let stored = env
        .stored(path)
        .unwrap_or_else(|| panic!("{name}: nothing at {path}"));
    assert_eq!(
        stored.sha256,
        sha256(bytes),
        "{name}: the stored bytes differ"
    );
    let stats = env.stats();
    let refused: Vec<_> = stats
        .refusals
        .iter()
        .filter(|(status, _)| !expected.contains(&status.as_str()))
        .collect();
    assert!(refused.is_empty(), "{name}: refused {refused:?}");
}

/// A drive upload without faults stores the file byte for byte, sends each byte once, and
/// checks the service's QuickXorHash against the source's.
pub fn graph_byte_identical<T: Transport>(transport: &T) {
    let env = Env::with_script("");
    let bytes = data(SIZE, 1);
    let outcome = transport.graph(&env, &graph_run(&env, "plain.bin", &bytes));
    assert_stored(transport, &env, &outcome, &drive_path("plain.bin"), &bytes);
    let Ending::Completed { verified } = &outcome.ending else {
        unreachable!()
    };
    assert!(verified.contains("quickXorHash"), "{verified}");
    assert_eq!(outcome.start, Start::Fresh);
    assert_eq!(outcome.bytes_sent, SIZE as u64);
    assert_eq!(outcome.sessions, 1);
    let fragments: Vec<u64> = (1..=7).map(|i| (i * KIB320).min(SIZE as u64)).collect();
    assert_eq!(
        outcome.progress,
        fragments,
        "{}: progress",
        transport.name()
    );
    let stats = env.stats();
    assert_eq!(stats.bytes_received_twice, 0);
    assert_eq!(env.requests("fragment"), 7);
    assert_eq!(stats.sessions_created, 1);
}

/// Under the fault `script`, whose injection the emulator counts as `counter`, the upload still
/// stores the file byte for byte, re-sending at most one fragment's worth; answers with a
/// status in `expected` are the service's word.
fn survives<T: Transport>(transport: &T, script: &str, counter: &str, seed: u8, expected: &[&str]) {
    let env = Env::with_script(script);
    let bytes = data(SIZE, seed);
    let outcome = transport.graph(&env, &graph_run(&env, "f.bin", &bytes));
    let path = drive_path("f.bin");
    assert_stored_despite(transport, &env, &outcome, &path, &bytes, expected);
    let stats = env.stats();
    let injected = stats.faults.get(counter).copied().unwrap_or(0);
    assert!(injected > 0, "{script}: not injected: {:?}", stats.faults);
    assert!(
        stats.bytes_received_twice <= KIB320,
        "{script}: {} bytes received twice",
        stats.bytes_received_twice
    );
}

/// Four server errors in a row on one fragment (500, 502, 503, 504): retried with backoff
/// until the fifth try goes through.
pub fn graph_5xx_storm<T: Transport>(transport: &T) {
    survives(
        transport,
        "fragment#2=status:500, fragment#3=status:502, fragment#4=status:503, fragment#5=status:504",
        "status-504",
        2,
        &[],
    );
}

/// The connection drops a thousand bytes into a fragment's body: the fragment is sent again.
pub fn graph_drop_mid_body<T: Transport>(transport: &T) {
    survives(
        transport,
        "fragment#3=drop-mid-body:1000",
        "drop-mid-body",
        3,
        &[],
    );
}

/// A fragment is stored but its answer is lost: the client asks where the server is rather
/// than guess, and goes on from there.
pub fn graph_stored_but_answer_lost<T: Transport>(transport: &T) {
    survives(transport, "fragment#2=lose-answer", "lose-answer", 4, &[]);
}

/// The last fragment is stored but its answer (the item) is lost: the client must find out
/// that the upload completed, and prove the stored file is its own. A finished session answers
/// `404` to the status query, as the service does.
pub fn graph_last_answer_lost<T: Transport>(transport: &T) {
    survives(
        transport,
        "fragment#7=lose-answer",
        "lose-answer",
        5,
        &["404"],
    );
}

/// Stopped after three fragments (as a crash would: session and checkpoint kept), the upload
/// resumes from the checkpoint where the server is, sends only what the server lacks, and ends
/// byte-identical in the same session; the checkpoint is removed.
pub fn graph_resume<T: Transport>(transport: &T) {
    let env = Env::with_script("");
    let bytes = data(SIZE, 6);
    let checkpoint = env.path("r.checkpoint");
    let mut run = graph_run(&env, "r.bin", &bytes);
    run.checkpoint = Some(checkpoint.clone());
    run.interrupt = Some(Interrupt::StopAfter(3));
    let first = transport.graph(&env, &run);
    assert_eq!(first.ending, Ending::Stopped, "{}", transport.name());
    let saved = std::fs::read(&checkpoint).expect("a checkpoint was saved");
    let saved = Checkpoint::from_bytes(&saved).expect("a checkpoint the core reads");
    let confirmed = saved.confirmed_bytes();
    assert!(
        (3 * KIB320..SIZE as u64).contains(&confirmed),
        "{confirmed} bytes confirmed at the stop"
    );

    run.interrupt = None;
    let second = transport.graph(&env, &run);
    assert_stored(transport, &env, &second, &drive_path("r.bin"), &bytes);
    assert_eq!(second.start, Start::Resumed { confirmed });
    assert_eq!(
        second.bytes_sent,
        SIZE as u64 - confirmed,
        "only what the server lacked"
    );
    assert!(
        second.bytes_sent < SIZE as u64,
        "fewer bytes the second time"
    );
    let stats = env.stats();
    assert_eq!(stats.bytes_received_twice, 0);
    assert_eq!(stats.sessions_created, 1, "the same session");
    assert!(!checkpoint.exists(), "removed once the upload completed");
}

/// Cancelled after two fragments: the upload ends as cancelled, its session is deleted,
/// nothing is stored, and the checkpoint (which could only lead to a deleted session) is
/// removed.
pub fn graph_cancel<T: Transport>(transport: &T) {
    let env = Env::with_script("");
    let checkpoint = env.path("x.checkpoint");
    let mut run = graph_run(&env, "x.bin", &data(SIZE, 12));
    run.checkpoint = Some(checkpoint.clone());
    run.interrupt = Some(Interrupt::CancelAfter(2));
    let outcome = transport.graph(&env, &run);
    let name = transport.name();
    assert_eq!(outcome.ending, Ending::Cancelled, "{name}");
    assert_eq!(env.requests("cancel"), 1, "{name}: the session was deleted");
    assert!(env.emulator().files().is_empty(), "{name}");
    assert!(!checkpoint.exists(), "{name}");
}

/// The source changed (one byte inside what the server already holds) between the stop and
/// the resume: the upload starts over in a new session and stores the new content.
pub fn graph_changed_source_restarts<T: Transport>(transport: &T) {
    let env = Env::with_script("");
    let old = data(SIZE, 7);
    let checkpoint = env.path("c.checkpoint");
    let mut run = graph_run(&env, "c.bin", &old);
    run.checkpoint = Some(checkpoint.clone());
    run.interrupt = Some(Interrupt::StopAfter(2));
    assert_eq!(transport.graph(&env, &run).ending, Ending::Stopped);

    let mut new = old.clone();
    new[1000] ^= 0xFF;
    env.file("c.bin", &new);
    run.interrupt = None;
    let outcome = transport.graph(&env, &run);
    assert_stored(transport, &env, &outcome, &drive_path("c.bin"), &new);
    assert_eq!(outcome.start, Start::Restarted);
    assert_eq!(
        outcome.bytes_sent, SIZE as u64,
        "everything, into the new session"
    );
    assert_eq!(env.stats().sessions_created, 2);
}

/// A server that names a finished item after every fragment, long before the last byte, is
/// given up on: the upload fails, says the service broke the protocol, and stores nothing.
pub fn graph_hostile_premature_item<T: Transport>(transport: &T) {
    let env = Env::with_script("fragment#*=premature-item");
    let outcome = transport.graph(&env, &graph_run(&env, "liar.bin", &data(SIZE, 8)));
    let Ending::Failed(message) = &outcome.ending else {
        panic!("{}: {outcome:?}", transport.name())
    };
    assert!(message.contains("broke the protocol"), "{message}");
    assert!(env.emulator().files().is_empty());
}

/// A server whose item reports another QuickXorHash than the source's: the upload fails and
/// says the stored file is not this source.
pub fn graph_hostile_wrong_hash<T: Transport>(transport: &T) {
    let mut config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_script("fragment#7=wrong-hash".parse().expect("a fault script"));
    config.set("drive-hashes", "personal").expect("a setting");
    let env = Env::new(config);
    let outcome = transport.graph(&env, &graph_run(&env, "hash.bin", &data(SIZE, 9)));
    let Ending::Failed(message) = &outcome.ending else {
        panic!("{}: {outcome:?}", transport.name())
    };
    assert!(message.contains("the upload is NOT complete"), "{message}");
}

/// The access token the emulator's WOPI host takes.
const WOPI_TOKEN: &str = "wopi-access-token-42";

fn wopi_env() -> Env {
    Env::new(
        EmulatorConfig::default()
            .with_storage(StorageMode::Discard)
            .with_wopi_access_token(WOPI_TOKEN),
    )
}

fn wopi_run(env: &Env, id: &str, bytes: &[u8]) -> WopiRun {
    WopiRun {
        file_url: format!(
            "{}?access_token={WOPI_TOKEN}",
            env.emulator().wopi_file_url(id)
        ),
        source: env.file(id, bytes),
        range: 200_000,
        checkpoint: None,
        interrupt: None,
    }
}

/// Where the emulator keeps WOPI file `id`.
fn wopi_path(id: &str) -> String {
    format!("wopi/files/{id}")
}

/// A WOPI upload stores the file byte for byte, its ranges in order, each byte once, and the
/// host's size and SHA-256 are checked.
pub fn wopi_byte_identical<T: Transport>(transport: &T) {
    let env = wopi_env();
    let bytes = data(1_234_567, 10);
    let outcome = transport.wopi(&env, &wopi_run(&env, "plain", &bytes));
    assert_stored(transport, &env, &outcome, &wopi_path("plain"), &bytes);
    let Ending::Completed { verified } = &outcome.ending else {
        unreachable!()
    };
    assert!(verified.contains("sha256Hash"), "{verified}");
    assert_eq!(outcome.bytes_sent, bytes.len() as u64);
    let stats = env.stats();
    assert_eq!(env.requests("wopi-update"), 7);
    assert_eq!(env.requests("wopi-commit"), 1);
    assert_eq!(stats.bytes_received_twice, 0);
    assert_eq!(stats.wopi_updates_out_of_order, 0);
    assert_eq!(stats.wopi_confirmed_bytes_resent, 0);
}

/// Stopped after two ranges, a WOPI upload resumes from its checkpoint where the host is and
/// ends byte-identical, sending only what the host lacked.
pub fn wopi_resume<T: Transport>(transport: &T) {
    let env = wopi_env();
    let bytes = data(1_234_567, 11);
    let checkpoint = env.path("w.checkpoint");
    let mut run = wopi_run(&env, "resumed", &bytes);
    run.checkpoint = Some(checkpoint.clone());
    run.interrupt = Some(Interrupt::StopAfter(2));
    let first = transport.wopi(&env, &run);
    assert_eq!(first.ending, Ending::Stopped, "{}", transport.name());
    assert!(checkpoint.exists());

    run.interrupt = None;
    let second = transport.wopi(&env, &run);
    assert_stored(transport, &env, &second, &wopi_path("resumed"), &bytes);
    assert!(
        matches!(second.start, Start::Resumed { .. }),
        "{:?}",
        second.start
    );
    assert_eq!(
        first.bytes_sent + second.bytes_sent,
        bytes.len() as u64,
        "each byte sent once over both runs"
    );
    let stats = env.stats();
    assert_eq!(stats.bytes_received_twice, 0);
    assert_eq!(stats.wopi_confirmed_bytes_resent, 0);
    assert_eq!(env.requests("wopi-create"), 1, "the same session");
    assert!(!checkpoint.exists());
}

/// A workbook session is opened, kept alive by refreshes while the caller is idle (well past
/// the inactivity limit), used, and closed: never a session the service had dropped, one
/// session, one close.
pub fn workbook_kept_alive_and_closed<T: Transport>(transport: &T) {
    // Five minutes of inactivity are half a second here: refreshes every quarter second.
    let scale = TimeScale::new(600.0).expect("a scale");
    let env = Env::new(EmulatorConfig::default().with_time_scale(scale));
    let run = WorkbookRun {
        url: env.emulator().workbook_url("01BOOK"),
        config: WorkbookConfig {
            inactivity: InactivityLimits::uniform(Duration::from_millis(500)),
            poll_interval: Duration::from_millis(40),
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(100),
                ..RetryPolicy::default()
            },
            ..WorkbookConfig::new(true)
        },
        refreshes: 3,
    };
    let outcome = transport.workbook(&env, &run);
    let name = transport.name();
    assert!(
        outcome.count("refreshed") >= 3,
        "{name}: {:?}",
        outcome.events
    );
    assert!(outcome.same_session, "{name}: the session was replaced");
    assert_eq!(outcome.call, (200, CallOutcome::Succeeded), "{name}");
    assert_eq!(outcome.closed, Ok(()), "{name}");
    assert_eq!(outcome.events.first(), Some(&"created"), "{name}");
    assert_eq!(outcome.events.last(), Some(&"closed"), "{name}");
    assert_eq!(outcome.count("expired"), 0, "{name}: {:?}", outcome.events);
    let stats = env.stats();
    assert_eq!(stats.refusals.get("404"), None, "{name}: a session lapsed");
    assert_eq!(stats.sessions_created, 1);
    assert_eq!(env.requests("workbook-call"), 1);
    assert_eq!(env.requests("workbook-close"), 1);
    assert_eq!(
        env.requests("workbook-refresh") as usize,
        outcome.count("refreshed"),
        "{name}: every refresh sent was answered and reported"
    );
}

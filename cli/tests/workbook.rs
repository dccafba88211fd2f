//! `resumable workbook open` run as a user runs it: the real binary, real HTTP on loopback,
//! against its embedded emulator and against an emulator started by the test with a scaled
//! clock and workbook faults. The JSON lines are read back and checked event by event, and the
//! emulator's counters say what the service saw.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultScript, StatsSnapshot, TimeScale, WorkbookConfig,
};
use serde_json::Value;

mod common;

use common::{resumable, text};

/// Service time runs this many times faster than real time: a persistent session expires after
/// one idle second.
const SCALE: f64 = 300.0;
/// What the keep-alive is told, as the command line gives it.
const INACTIVITY: &str = "1s";
/// The bearer token the test emulator accepts; it must never be printed.
const TOKEN: &str = "token-6f1d2a-must-not-be-printed";

/// An emulator on its own runtime, alive while the test runs the binary.
struct Service {
    emulator: EmulatorHandle,
    _runtime: tokio::runtime::Runtime,
}

impl Service {
    fn start(workbook: WorkbookConfig, script: &str) -> Service {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let script: FaultScript = script.parse().expect("fault script");
        let config = EmulatorConfig {
            workbook,
            ..EmulatorConfig::default()
        }
        .with_time_scale(TimeScale::new(SCALE).unwrap())
        .with_script(script)
        .with_bearer_token(TOKEN);
        let emulator = runtime.block_on(Emulator::start(config)).unwrap();
        Service {
            emulator,
            _runtime: runtime,
        }
    }

    fn url(&self, item: &str) -> String {
        self.emulator.workbook_url(item)
    }

    fn stats(&self) -> StatsSnapshot {
        self.emulator.stats()
    }

    /// `resumable workbook open URL --json --inactivity 1s --hold HOLD ARGS`, the token in the
    /// environment.
    fn open(&self, item: &str, hold: &str, args: &[&str]) -> Output {
        resumable()
            .args(["workbook", "open", "--json", "--inactivity", INACTIVITY])
            .args(["--hold", hold])
            .arg(self.url(item))
            .args(args)
            .env("RESUMABLE_TOKEN", TOKEN)
            .output()
            .unwrap()
    }
}

fn requests(stats: &StatsSnapshot, kind: &str) -> u64 {
    stats.requests.get(kind).copied().unwrap_or(0)
}

/// The JSON objects of standard output, one per line; any other line fails the test.
fn events(out: &Output) -> Vec<Value> {
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(TOKEN), "the token was printed: {stdout}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

fn count(events: &[Value], name: &str) -> usize {
    names(events).iter().filter(|n| **n == name).count()
}

fn first<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", names(events)))
}

/// Checks the shape every clean run has: created first (after any polls and retries), then
/// only refreshes (and the expiry and recreation a fault may cause), closed, and the summary.
fn assert_clean_run(events: &[Value]) {
    let names = names(events);
    let created = names.iter().position(|n| *n == "created").expect("created");
    assert!(
        names[..created]
            .iter()
            .all(|n| ["polling", "retrying"].contains(n)),
        "{names:?}"
    );
    let closed = names.len() - 2;
    assert_eq!(&names[closed..], ["closed", "summary"], "{names:?}");
    assert!(
        names[created + 1..closed]
            .iter()
            .all(|n| ["refreshed", "expired", "recreated"].contains(n)),
        "{names:?}"
    );
    let summary = &events[names.len() - 1];
    assert_eq!(summary["status"], "closed", "{summary}");
    assert_eq!(summary["refreshes"], count(events, "refreshed"));
    let at: Vec<u64> = events[..closed + 1]
        .iter()
        .map(|e| e["at_ms"].as_u64().unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
}

#[test]
fn the_embedded_emulator_shows_refreshes_over_a_hold_and_closes() {
    let out = resumable()
        .args(["workbook", "open", "--hold", "6s", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "no WORKBOOK_URL given: opening the session on an emulator on http://127.0.0.1:"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("the keep-alive assumes 2s"), "{stderr}");
    let events = events(&out);
    assert_clean_run(&events);
    let created = first(&events, "created");
    assert_eq!(
        (&created["how"], &created["persist"]),
        (&Value::from("immediate"), &Value::from(true))
    );
    let session = created["session"].as_str().unwrap();
    assert_eq!(session.len(), 8, "{created}");
    assert_eq!(first(&events, "closed")["session"], session);
    // Six seconds held, a 2 s limit, a refresh after each idle second: five or six refreshes,
    // and no session lost.
    let refreshes = count(&events, "refreshed");
    assert!((5..=7).contains(&refreshes), "{refreshes}");
    let summary = events.last().unwrap();
    assert_eq!(
        (
            &summary["expiries"],
            &summary["recreations"],
            &summary["held_ms"]
        ),
        (&Value::from(0), &Value::from(0), &Value::from(6000))
    );
}

#[test]
fn the_embedded_emulator_in_text_shows_one_line_per_event() {
    let out = resumable()
        .args([
            "workbook",
            "open",
            "--hold",
            "2500ms",
            "--async",
            "--no-persist",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(kinds.first(), Some(&"polling"), "{stdout}");
    assert!(kinds.contains(&"created"), "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("created") && l.contains("(non-persistent, long-running)")),
        "{stdout}"
    );
    assert!(
        kinds.iter().filter(|k| **k == "refreshed").count() >= 2,
        "{stdout}"
    );
    assert!(
        lines.last().unwrap().starts_with("closed: held 2.5s, "),
        "{stdout}"
    );
}

#[test]
fn a_hold_much_longer_than_the_limit_keeps_one_session_without_a_lapse() {
    let service = Service::start(WorkbookConfig::default(), "");
    let out = service.open("01HOLD", "5s", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    let events = events(&out);
    assert_clean_run(&events);
    assert_eq!(count(&events, "expired") + count(&events, "recreated"), 0);
    // Five seconds on a one-second limit, refreshed after each idle half second.
    let refreshes = count(&events, "refreshed");
    assert!((7..=11).contains(&refreshes), "{refreshes}");
    let stats = service.stats();
    assert_eq!(stats.sessions_created, 1);
    // Every refresh answered was reported; one may have been on its way when the hold ended,
    // and closing does not wait for its answer.
    let sent = requests(&stats, "workbook-refresh");
    assert!(
        sent == refreshes as u64 || sent == refreshes as u64 + 1,
        "{sent} sent, {refreshes} reported"
    );
    assert_eq!(requests(&stats, "workbook-close"), 1);
    assert_eq!(stats.sessions_live, 0, "closed at the end");
    assert!(stats.refusals.is_empty(), "{:?}", stats.refusals);
}

#[test]
fn a_long_running_creation_is_polled_to_success_and_no_further() {
    // Five minutes of service time (one second); polls every 30 s, which the one-second limit
    // cuts to half a second (a session born after a poll must be found before it lapses).
    let workbook = WorkbookConfig {
        creation_delay: Duration::from_secs(5 * 60),
        always_async: true,
        ..WorkbookConfig::default()
    };
    let service = Service::start(workbook, "");
    let out = service.open("01LONG", "2s", &["--async", "--no-persist"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = events(&out);
    assert_clean_run(&events);
    let polls: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "polling")
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(polls.first(), Some(&"notStarted"), "{polls:?}");
    assert!(polls.len() >= 2, "{polls:?}");
    assert_eq!(polls.last(), Some(&"succeeded"), "{polls:?}");
    assert_eq!(polls.iter().filter(|s| **s == "succeeded").count(), 1);
    let created = first(&events, "created");
    assert_eq!(created["how"], "long-running");
    assert_eq!(created["persist"], false);
    let stats = service.stats();
    assert_eq!(
        requests(&stats, "workbook-operation"),
        polls.len() as u64,
        "no poll after the success"
    );
    assert_eq!(requests(&stats, "workbook-session-info"), 1);
    assert_eq!(events.last().unwrap()["polls"], polls.len());
}

#[test]
fn a_504_on_create_is_repeated() {
    let service = Service::start(
        WorkbookConfig::default(),
        "workbook-create#1=status:504, workbook-create#2=status:504",
    );
    let out = service.open("01GATEWAY", "1s", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = events(&out);
    assert_clean_run(&events);
    let retries: Vec<&Value> = events.iter().filter(|e| e["event"] == "retrying").collect();
    assert_eq!(retries.len(), 2, "{:?}", names(&events));
    for retry in retries {
        assert_eq!(
            (&retry["request"], &retry["status"]),
            (&Value::from("createSession"), &Value::from(504)),
            "{retry}"
        );
    }
    assert_eq!(events.last().unwrap()["retries"], 2);
    let stats = service.stats();
    assert_eq!(requests(&stats, "workbook-create"), 3);
    assert_eq!(stats.sessions_created, 1);
}

#[test]
fn a_forced_expiry_is_reported_and_the_session_replaced() {
    let service = Service::start(
        WorkbookConfig::default(),
        "workbook-refresh#2=expire-session",
    );
    let out = service.open("01EXPIRE", "3s", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = events(&out);
    assert_clean_run(&events);
    let first_session = first(&events, "created")["session"].as_str().unwrap();
    let expired = first(&events, "expired");
    assert_eq!(expired["session"], first_session);
    assert_eq!(expired["reason"], "invalidSessionReCreatable");
    let recreated = first(&events, "recreated");
    assert_eq!(recreated["old_session"], first_session, "{recreated}");
    let new_session = recreated["session"].as_str().unwrap();
    assert_ne!(new_session, first_session);
    assert_eq!(first(&events, "closed")["session"], new_session);
    let names = names(&events);
    let after = names.iter().position(|n| *n == "recreated").unwrap();
    assert!(
        names[after..].contains(&"refreshed"),
        "the new session is kept alive too: {names:?}"
    );
    let summary = events.last().unwrap();
    assert_eq!(
        (&summary["expiries"], &summary["recreations"]),
        (&1.into(), &1.into())
    );
    let stats = service.stats();
    assert_eq!(stats.sessions_created, 2);
    assert_eq!(stats.faults.get("expire-session"), Some(&1));
}

#[test]
fn a_failed_creation_names_its_codes_and_exits_non_zero() {
    let workbook = WorkbookConfig {
        always_async: true,
        ..WorkbookConfig::default()
    };
    let service = Service::start(workbook, "workbook-create#1=fail-operation");
    let out = service.open("01FAIL", "10s", &["--async"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let events = events(&out);
    let failed = first(&events, "failed");
    assert_eq!(failed["code"], "internalServerError", "{failed}");
    assert_eq!(
        failed["inner_codes"],
        serde_json::json!(["internalServerError"])
    );
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("The workbook session could not be created."),
        "{failed}"
    );
    assert!(failed["hint"].as_str().unwrap().contains("try again later"));
    assert_eq!(count(&events, "created"), 0);
    assert_eq!(events.last().unwrap()["status"], "failed");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("resumable: the session creation failed: internalServerError: The workbook session could not be created. (inner codes: internalServerError); "),
        "{stderr}"
    );
    // Without --json the failure is the last line, on standard error, after the summary.
    let service = Service::start(
        WorkbookConfig {
            always_async: true,
            ..WorkbookConfig::default()
        },
        "workbook-create#1=fail-operation",
    );
    let out = resumable()
        .args(["workbook", "open", "--hold", "1s", "--async"])
        .args(["--inactivity", INACTIVITY])
        .arg(service.url("01FAIL"))
        .env("RESUMABLE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), stderr);
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("failed: held 0s"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("internalServerError"),
        "said once, on stderr: {stdout}"
    );
}

#[test]
fn a_refused_token_says_what_to_do_and_is_never_printed() {
    let service = Service::start(WorkbookConfig::default(), "");
    let wrong = "wrong-token-0c4e9b-secret";
    let out = resumable()
        .args(["workbook", "open", "--hold", "1s", "--token", wrong])
        .arg(service.url("01AUTH"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    assert!(
        stderr.contains("createSession refused with HTTP 401: InvalidAuthenticationToken"),
        "{stderr}"
    );
    assert!(
        stderr.contains("get a new one and set RESUMABLE_TOKEN (or pass --token)"),
        "{stderr}"
    );
    assert!(
        stdout.ends_with(
            "failed: held 0s, 0 refreshes, 0 polls, 0 expiries, 0 recreations, 0 retries\n"
        ),
        "{stdout}"
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let service = Service::start(WorkbookConfig::default(), "");
    // A duration that is not one: a usage error, as for `resumable upload`.
    let out = resumable()
        .args(["workbook", "open", "--hold", "ten seconds"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("`ten seconds` is not a duration (examples: 90s, 5m, 1m30s, 500ms, 2h)"),
        "{}",
        text(&out.stderr)
    );
    let zero = resumable()
        .args(["workbook", "open", "--hold", "1s", "--inactivity", "0s"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(1));
    assert!(text(&zero.stderr).contains("--inactivity must be longer than zero"));
    // An action URL instead of the base; with --json the refusal is a JSON object too.
    let action = format!("{}/createSession", service.url("01X"));
    let out = resumable()
        .args(["workbook", "open", "--hold", "1s", "--json", &action])
        .env("RESUMABLE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let events = events(&out);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "failed");
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/me/drive/items/01X/workbook); the command adds createSession, refreshSession and closeSession itself"),
        "{}",
        events[0]
    );
    // No token for a real URL.
    let out = resumable()
        .args(["workbook", "open", "--hold", "1s"])
        .arg(service.url("01X"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "resumable: opening a workbook session needs an access token: set RESUMABLE_TOKEN (or pass --token)\n"
    );
    assert_eq!(service.stats().requests_total, 0);
}

/// Reads JSON lines from `child` until one is the event `name`.
fn wait_for(child: &mut Child, lines: &mut impl Iterator<Item = String>, name: &str) -> Value {
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["event"] == name {
            return event;
        }
    }
    let _ = child.kill();
    panic!("the command ended before {name}");
}

#[test]
fn ctrl_c_closes_the_session_before_exiting() {
    let service = Service::start(WorkbookConfig::default(), "");
    let mut child = resumable()
        .args([
            "workbook",
            "open",
            "--json",
            "--inactivity",
            INACTIVITY,
            "--hold",
            "60s",
        ])
        .arg(service.url("01INT"))
        .env("RESUMABLE_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map(Result::unwrap);
    let created = wait_for(&mut child, &mut lines, "created");
    wait_for(&mut child, &mut lines, "refreshed");
    assert_eq!(service.stats().sessions_live, 1);
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let rest: Vec<Value> = lines
        .map(|line| serde_json::from_str(&line).unwrap())
        .collect();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "interrupted, as `resumable upload` says it"
    );
    let names = names(&rest);
    assert_eq!(
        &names[names.len() - 2..],
        ["closed", "summary"],
        "{names:?}"
    );
    assert_eq!(rest[names.len() - 2]["session"], created["session"]);
    assert_eq!(rest.last().unwrap()["status"], "interrupted");
    let stats = service.stats();
    assert_eq!(requests(&stats, "workbook-close"), 1);
    assert_eq!(stats.sessions_live, 0);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("interrupted: closing the workbook session"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("resumable: interrupted; the workbook session was closed\n"),
        "{stderr}"
    );
}

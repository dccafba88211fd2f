//! One seed's run: a source file, an emulator with the plan's faults, and the same
//! `resumable upload` command run again and again (killed with `SIGKILL` as the plan says)
//! until it ends by itself; then what the service holds against what was sent.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, StorageMode};
use sha2::{Digest, Sha256};

use super::plan::{Expect, Plan, Protocol, Rng};

/// How one seed ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// The command said completed and the service holds exactly the source.
    Completed,
    /// The answer to the last request was lost with the session (a kill or a lost answer right
    /// then) and the service offers nothing to read back (a print document, a mail
    /// attachment): the command said the upload may have completed and where to check, and
    /// the service holds no wrong copy.
    Unconfirmed,
    /// The command failed, saying why, where the schedule made success impossible (a lie it
    /// could not prove wrong, an outage), and the service holds no wrong copy.
    FailedCleanly,
    /// The command failed although the schedule allowed success (accidents only).
    FailedNeedlessly,
    /// The service holds a copy that is not the source, or the command said completed while
    /// the service holds no copy of it: the worst bug an upload engine can have.
    Corrupted,
    /// A run did not end within the deadline.
    Hung,
}

impl Outcome {
    /// Whether the seed shows a bug: everything but a completion or a clean failure.
    pub(crate) fn is_bad(self) -> bool {
        !matches!(
            self,
            Outcome::Completed | Outcome::Unconfirmed | Outcome::FailedCleanly
        )
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::FailedCleanly => "failed cleanly",
            Outcome::FailedNeedlessly => "failed needlessly",
            Outcome::Corrupted => "corrupted",
            Outcome::Hung => "hung",
        }
    }
}

/// How the command says the upload may have completed without proof (the core's
/// `UploadError::CompletionUnconfirmed`).
const UNCONFIRMED: &str = "may have completed but its answer was lost";

/// What one seed's run measured.
#[derive(Clone, Debug)]
pub(crate) struct Report {
    pub(crate) plan: Plan,
    pub(crate) outcome: Outcome,
    /// Upload processes started (the killed ones and the last).
    pub(crate) runs: u32,
    /// Kills that landed (the process was still running).
    pub(crate) crashes: u32,
    /// Payload bytes the service received, all attempts and sessions together.
    pub(crate) bytes_received: u64,
    pub(crate) sessions_created: u64,
    /// Sessions left open on the service that no kept checkpoint can resume.
    pub(crate) abandoned: u64,
    pub(crate) elapsed: Duration,
    /// The last line the command printed on standard error (its error, when it failed).
    pub(crate) last_words: String,
    /// Why the outcome is what it is, when it is bad.
    pub(crate) detail: String,
    /// Where the seed's files were kept (a bad run under `--keep`): the source, the
    /// checkpoints and each run's standard error.
    pub(crate) kept: Option<PathBuf>,
}

/// What the run needs beyond the plan.
pub(crate) struct Setting<'a> {
    /// The `resumable` binary (this one).
    pub(crate) program: &'a Path,
    /// Where the seed's files go (a directory of its own is made in it).
    pub(crate) scratch: &'a Path,
    /// How long one upload process may run before it counts as hung.
    pub(crate) deadline: Duration,
    pub(crate) runtime: &'a tokio::runtime::Handle,
    /// Keep the files of bad runs.
    pub(crate) keep: bool,
}

/// Runs `plan` to its end.
pub(crate) fn run(plan: Plan, setting: &Setting<'_>) -> Result<Report, String> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix(&format!("soak-{}-", plan.seed))
        .tempdir_in(setting.scratch)
        .map_err(|e| {
            format!(
                "cannot make a directory in {}: {e}",
                setting.scratch.display()
            )
        })?;
    let source = dir.path().join("soak.bin");
    let sha256 = write_source(&source, plan.seed, plan.size)
        .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
    let mut config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_script(plan.script.clone());
    if let Some(profile) = plan.profile {
        config = config.with_faults(profile, plan.seed);
    }
    let emulator = setting
        .runtime
        .block_on(Emulator::start(config))
        .map_err(|e| format!("cannot start an emulator: {e}"))?;
    let command = command(&plan, setting.program, &emulator, dir.path(), &source);
    let stderr_of = |run: u32| dir.path().join(format!("run-{run}.stderr"));
    let mut runs = 0;
    let mut crashes = 0;
    let mut ended: Option<ExitStatus> = None;
    let mut hung = false;
    for after in plan
        .kills
        .iter()
        .copied()
        .map(Some)
        .chain(std::iter::once(None))
    {
        runs += 1;
        let mut child = spawn(&command, &stderr_of(runs))?;
        let limit = after.unwrap_or(setting.deadline);
        match wait(&mut child, limit)? {
            Some(status) => {
                ended = Some(status);
                break;
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                match after {
                    Some(_) => crashes += 1,
                    None => hung = true,
                }
            }
        }
    }
    let stats = emulator.stats();
    if setting.keep {
        // What the service saw, for a bad run's files (no secret: counts and fault names).
        let _ = std::fs::write(
            dir.path().join("emulator-stats.json"),
            serde_json::to_vec_pretty(&stats).unwrap_or_default(),
        );
    }
    let stored = emulator.files();
    let kept_checkpoint = std::fs::read_dir(dir.path().join("state").join("checkpoints"))
        .map(|entries| {
            entries
                .flatten()
                .any(|e| !e.file_name().to_string_lossy().contains(".tmp."))
        })
        .unwrap_or(false);
    emulator.stop();
    let last_words = std::fs::read_to_string(stderr_of(runs))
        .unwrap_or_default()
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_owned();
    let stored: Vec<(&str, &str)> = stored
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let ended = match (hung, ended) {
        (true, _) | (_, None) => Ended::Hung(setting.deadline),
        (false, Some(status)) => Ended::Exited(status.code()),
    };
    let readable = matches!(plan.protocol, Protocol::Print | Protocol::Mail);
    let (outcome, detail) = classify(&sha256, &stored, ended, &last_words, plan.expect, readable);
    let abandoned = stats
        .sessions_live
        .saturating_sub(u64::from(kept_checkpoint && outcome != Outcome::Completed));
    Ok(Report {
        plan,
        outcome,
        runs,
        crashes,
        bytes_received: stats.bytes_received,
        sessions_created: stats.sessions_created,
        abandoned,
        elapsed: started.elapsed(),
        last_words,
        detail,
        kept: (setting.keep && outcome.is_bad()).then(|| dir.keep()),
    })
}

/// How the last run ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ended {
    /// It exited by itself, with this code (none: ended by a signal of its own, an abort).
    Exited(Option<i32>),
    /// It was still running after this long.
    Hung(Duration),
}

/// The outcome of a seed, from the source's SHA-256, the files the service holds (path,
/// SHA-256), how the last run ended, the last line it printed on standard error and what the
/// schedule allowed, and whether the destination offers nothing to read back (print, mail:
/// only there may a lost last answer leave the upload unconfirmed); with why, when the outcome
/// is bad.
pub(crate) fn classify(
    sha256: &str,
    stored: &[(&str, &str)],
    ended: Ended,
    last_words: &str,
    expect: Expect,
    unreadable: bool,
) -> (Outcome, String) {
    let wrong: Vec<&str> = stored
        .iter()
        .filter(|(_, hash)| *hash != sha256)
        .map(|(path, _)| *path)
        .collect();
    if !wrong.is_empty() {
        return (
            Outcome::Corrupted,
            format!("the service holds other bytes at {}", wrong.join(", ")),
        );
    }
    let right = !stored.is_empty();
    match ended {
        Ended::Hung(deadline) => (
            Outcome::Hung,
            format!("a run went on past {} s", deadline.as_secs()),
        ),
        Ended::Exited(Some(0)) if right => (Outcome::Completed, String::new()),
        Ended::Exited(Some(0)) => (
            Outcome::Corrupted,
            "the command said completed; the service holds no copy".into(),
        ),
        // A failure is clean only as the command reports one: status 1 and its one line.
        Ended::Exited(code) if code != Some(1) || !last_words.starts_with("resumable: ") => (
            Outcome::FailedNeedlessly,
            format!(
                "the command ended with {} without its error line (a crash?)",
                code.map_or("a signal".into(), |c| format!("status {c}"))
            ),
        ),
        Ended::Exited(_) if unreadable && last_words.contains(UNCONFIRMED) => {
            (Outcome::Unconfirmed, String::new())
        }
        Ended::Exited(_) if expect == Expect::Complete => (
            Outcome::FailedNeedlessly,
            "only accidents were scheduled, yet the command failed".into(),
        ),
        Ended::Exited(_) => (Outcome::FailedCleanly, String::new()),
    }
}

/// The upload command of the plan: the same every time it is run. Checkpoints go to the
/// state directory (as for a user who runs the same command again), in the seed's directory.
fn command(
    plan: &Plan,
    program: &Path,
    emulator: &EmulatorHandle,
    dir: &Path,
    source: &Path,
) -> Command {
    let mut command = Command::new(program);
    command
        .env("RESUMABLE_TOKEN", "soak")
        .env("RESUMABLE_STATE_DIR", dir.join("state"))
        .args(["upload", "--quiet"]);
    // Accidents only: the default retry budget (10 without progress), as a user runs it, so
    // a storm next to other accidents is survived. Lies and outages end in failure by design:
    // a budget of 4 ends them in seconds rather than minutes of backoff.
    if plan.expect != Expect::Complete {
        command.args(["--retries", "4"]);
    }
    let (protocol, endpoint) = match plan.protocol {
        Protocol::Drive | Protocol::DriveDeferred => {
            ("graph-drive", emulator.drive_upload_session_url("soak.bin"))
        }
        Protocol::Print => (
            "graph-print",
            emulator.print_upload_session_url("printer-1", "job-1", "document-1"),
        ),
        Protocol::Mail => (
            "graph-attachment",
            emulator.mail_upload_session_url("message-1"),
        ),
        Protocol::Wopi => (
            "wopi",
            format!("{}?access_token=soak", emulator.wopi_file_url("soak")),
        ),
        Protocol::Tus => ("tus", emulator.tus_endpoint()),
        Protocol::Ietf => ("ietf", emulator.ietf_endpoint()),
    };
    command.args(["--protocol", protocol, "--endpoint", &endpoint]);
    if let Some(chunk) = plan.chunk {
        command.args(["--chunk-size", &chunk.to_string()]);
    }
    if matches!(plan.protocol, Protocol::Drive | Protocol::DriveDeferred) && !plan.simple {
        command.args(["--upload-cutoff", "0"]);
    }
    if plan.protocol == Protocol::DriveDeferred {
        command.arg("--defer-commit");
    }
    command
        .arg(source)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn spawn(command: &Command, stderr: &Path) -> Result<Child, String> {
    let file = std::fs::File::create(stderr)
        .map_err(|e| format!("cannot create {}: {e}", stderr.display()))?;
    let mut command = clone(command);
    command
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))
}

/// `Command` is not `Clone`: the same program, arguments and environment.
fn clone(command: &Command) -> Command {
    let mut copy = Command::new(command.get_program());
    copy.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => copy.env(key, value),
            None => copy.env_remove(key),
        };
    }
    copy.stdin(Stdio::null()).stdout(Stdio::null());
    copy
}

/// Waits up to `limit` for `child` to end; `None` if it is still running.
fn wait(child: &mut Child, limit: Duration) -> Result<Option<ExitStatus>, String> {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cannot wait: {e}"))? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= until {
            return Ok(None);
        }
        std::thread::sleep((until - now).min(Duration::from_millis(2)));
    }
}

/// Writes `size` bytes drawn from `seed` to `path`; returns their SHA-256 (lowercase hex).
fn write_source(path: &PathBuf, seed: u64, size: u64) -> std::io::Result<String> {
    let mut rng = Rng::new(seed ^ 0x5EED_F11E);
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next().to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    file.flush()?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "5eed";

    fn outcome(stored: &[(&str, &str)], ended: Ended, said: &str, expect: Expect) -> Outcome {
        classify(SOURCE, stored, ended, said, expect, true).0
    }

    const OK: Ended = Ended::Exited(Some(0));
    const FAILED: Ended = Ended::Exited(Some(1));

    #[test]
    fn success_needs_the_right_bytes_on_the_service() {
        let right = [("me/drive/root:/soak.bin", SOURCE)];
        let wrong = [("me/drive/root:/soak.bin", "0ther")];
        assert_eq!(
            outcome(&right, OK, "", Expect::Complete),
            Outcome::Completed
        );
        // A false success: said completed, holds nothing, or holds other bytes.
        assert_eq!(outcome(&[], OK, "", Expect::Lies), Outcome::Corrupted);
        assert_eq!(outcome(&wrong, OK, "", Expect::Lies), Outcome::Corrupted);
        // Other bytes stored are corruption even when the command failed, or beside a good copy.
        assert_eq!(
            outcome(&wrong, FAILED, "resumable: x", Expect::Lies),
            Outcome::Corrupted
        );
        let both = [right[0], ("tus/2", "0ther")];
        assert_eq!(outcome(&both, OK, "", Expect::Complete), Outcome::Corrupted);
    }

    #[test]
    fn failures_are_clean_only_where_the_schedule_allowed_no_success() {
        let said = "resumable: gave up after 4 retries without progress";
        assert_eq!(
            outcome(&[], FAILED, said, Expect::Outage),
            Outcome::FailedCleanly
        );
        assert_eq!(
            outcome(&[], FAILED, said, Expect::Lies),
            Outcome::FailedCleanly
        );
        assert_eq!(
            outcome(&[], FAILED, said, Expect::Complete),
            Outcome::FailedNeedlessly
        );
        assert_eq!(
            outcome(&[], FAILED, "  ", Expect::Outage),
            Outcome::FailedNeedlessly
        );
        // A panic (101), a signal: no clean failure, whatever the schedule.
        let panicked = "note: run with `RUST_BACKTRACE=1` to display a backtrace";
        assert_eq!(
            outcome(&[], Ended::Exited(Some(101)), panicked, Expect::Lies),
            Outcome::FailedNeedlessly
        );
        assert_eq!(
            outcome(&[], Ended::Exited(None), said, Expect::Outage),
            Outcome::FailedNeedlessly
        );
        // Unconfirmed only where nothing can be read back.
        let doubt = format!("resumable: the upload {UNCONFIRMED} and the session is gone");
        let (drive, _) = classify(SOURCE, &[], FAILED, &doubt, Expect::Complete, false);
        assert_eq!(drive, Outcome::FailedNeedlessly);
        let doubt = format!("resumable: the upload {UNCONFIRMED} and the session is gone");
        assert_eq!(
            outcome(&[], FAILED, &doubt, Expect::Complete),
            Outcome::Unconfirmed
        );
        let hung = Ended::Hung(Duration::from_secs(120));
        assert_eq!(
            outcome(&[("a", SOURCE)], hung, "", Expect::Complete),
            Outcome::Hung
        );
        assert!(Outcome::Hung.is_bad() && Outcome::Corrupted.is_bad());
        assert!(!Outcome::Unconfirmed.is_bad() && !Outcome::FailedCleanly.is_bad());
    }
}

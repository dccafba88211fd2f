//! `resumable emulator serve` settings as a user gives them: `--options` lists them, `--set`
//! applies them to the running server, and a bad one is refused before anything listens.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

mod common;

use common::text;

/// The binary, with no token from the environment for the emulator either.
fn resumable() -> Command {
    let mut command = common::resumable();
    command.env_remove("RESUMABLE_EMULATOR_TOKEN");
    command
}

/// A server that is killed when the test ends, pass or fail.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Server {
    let mut child = resumable()
        .args(["emulator", "serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Server { child, base }
}

/// Runs `emulator serve` with `--set setting` and returns what it said when it refused it.
fn serve_refused(setting: &str) -> std::process::Output {
    resumable()
        .args([
            "emulator",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--set",
            setting,
        ])
        .output()
        .unwrap()
}

fn upload(server: &Server, name: &str, len: usize) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, vec![7u8; len]).unwrap();
    resumable()
        .env("RESUMABLE_TOKEN", "any")
        .args(["upload", "--retries", "1", "--endpoint"])
        .arg(format!(
            "{}/v1.0/me/drive/root:/{name}:/createUploadSession",
            server.base
        ))
        .arg(&path)
        .output()
        .unwrap()
}

#[test]
fn options_lists_every_setting_with_an_example() {
    let out = resumable()
        .args(["emulator", "serve", "--options"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for option in resumable_emulator::OPTIONS {
        let example = format!("--set {}={}", option.name, option.example);
        assert!(listing.contains(&example), "{example} missing:\n{listing}");
    }
}

#[test]
fn a_setting_changes_what_the_server_accepts() {
    // The same 5000-byte upload is stored by a default server and refused by one whose drive
    // takes at most 4000 bytes per file.
    let default = serve(&[]);
    let out = upload(&default, "a.bin", 5000);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let small = serve(&["--set", "drive-file-max=4000"]);
    let out = upload(&small, "a.bin", 5000);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("HTTP 400"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_setting_is_refused_with_what_to_do() {
    // A value that is not NAME=VALUE is a usage error (2); a name or value the emulator
    // refuses is an error of the command (1).
    for (setting, code, expected) in [
        ("colour=blue", 1, "invalid option `colour`"),
        ("drive-file-max=lots", 1, "invalid drive-file-max `lots`"),
        ("no-equals-sign", 2, "is not NAME=VALUE"),
    ] {
        let out = serve_refused(setting);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{setting}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{setting}: {stderr}");
        assert!(stderr.contains("--options"), "{setting}: {stderr}");
        assert!(out.stdout.is_empty(), "nothing listened for {setting}");
    }
}

#[test]
fn a_token_setting_is_never_echoed() {
    let out = serve_refused("bearer-token=sec ret");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("sec ret"), "{stderr}");
    assert!(stderr.contains("[redacted]"), "{stderr}");
}

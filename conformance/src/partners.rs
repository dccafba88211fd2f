//! Real tus servers that nobody on this project wrote, on 127.0.0.1: found running, or started
//! with the partners' own script (`start-tus-partners.sh`, found through
//! `RESUMABLE_TUS_PARTNERS` or next to the checkout as `../shared/partners`). A partner that is
//! not up after that is reported by name and skipped, never silently.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// One tus server under test.
#[derive(Clone, Debug)]
pub struct Partner {
    /// Its name, for messages.
    pub name: &'static str,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it stores uploads (the file is named after the last segment of the upload URL).
    pub data_dir: PathBuf,
    /// Whether it offers the checksum extension.
    pub checksums: bool,
    /// Whether it speaks the IETF draft (interop version 6) besides tus 1.0.
    pub ietf_draft: bool,
}

impl Partner {
    /// The creation URL, directly or through `via` (a proxy in front of it).
    pub fn endpoint(&self, via: Option<SocketAddr>) -> String {
        format!("http://{}/files/", via.unwrap_or(self.addr))
    }

    /// The stored bytes of the upload at `url`.
    pub fn stored(&self, url: &str) -> std::io::Result<Vec<u8>> {
        let id = url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        std::fs::read(self.data_dir.join(id))
    }
}

/// The partners' directory (installs, data, pid files), as the script uses it.
fn partners_dir() -> PathBuf {
    std::env::var_os("TUS_PARTNERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tus-partners"))
}

fn script() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("RESUMABLE_TUS_PARTNERS") {
        candidates.push(PathBuf::from(dir));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    candidates.push(root.join("../shared/partners"));
    candidates.push(PathBuf::from("/work/shared/partners"));
    candidates
        .into_iter()
        .map(|dir| dir.join("start-tus-partners.sh"))
        .find(|script| script.is_file())
}

/// Writes a line straight to the process's stderr: the test harness captures `eprintln!`, and a
/// skipped partner must be seen.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

const ALL: [(&str, u16, &str, bool, bool); 3] = [
    ("tusd", 1080, "tusd", false, true),
    ("@tus/server", 1081, "node", false, false),
    ("asgi-tus", 1082, "asgi", true, false),
];

/// The partners that are up, starting them once per process if none is. Each one missing is
/// named on stderr.
pub fn partners() -> &'static [Partner] {
    static PARTNERS: OnceLock<Vec<Partner>> = OnceLock::new();
    PARTNERS.get_or_init(|| {
        let dir = partners_dir();
        let up = |port: u16| listening(SocketAddr::from(([127, 0, 0, 1], port)));
        if !ALL.iter().all(|(_, port, ..)| up(*port)) {
            match script() {
                Some(script) => {
                    say(&format!("starting the tus partners with {} (about a minute)", script.display()));
                    let status = Command::new("bash")
                        .arg(&script)
                        .env("TUS_PARTNERS_DIR", &dir)
                        .status();
                    if !matches!(status, Ok(s) if s.success()) {
                        say(&format!("SKIPPED partners: {} failed ({status:?})", script.display()));
                    }
                }
                None => say(
                    "SKIPPED partners: start-tus-partners.sh not found (set RESUMABLE_TUS_PARTNERS to its folder)",
                ),
            }
        }
        ALL.iter()
            .filter_map(|&(name, port, data, checksums, ietf_draft)| {
                if !up(port) {
                    say(&format!("SKIPPED partner {name}: nothing listens on 127.0.0.1:{port}"));
                    return None;
                }
                Some(Partner {
                    name,
                    addr: SocketAddr::from(([127, 0, 0, 1], port)),
                    data_dir: dir.join("data").join(data),
                    checksums,
                    ietf_draft,
                })
            })
            .collect()
    })
}

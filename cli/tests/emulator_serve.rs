//! `resumable emulator serve --time-scale`: the served sessions expire that many times sooner
//! in real time, as the expiry dates they answer say and as a session that lapses shows.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use resumable_core::time::UnixTime;
use serde_json::{Value, json};

mod common;

use common::{PATIENCE, poll_until};

/// A running `emulator serve`, killed when the test ends, pass or fail.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_resumable"))
        .env_remove("RESUMABLE_EMULATOR_TOKEN")
        .args(["emulator", "serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Served { child, base }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Creates a drive upload session on `served`; answers the session and the real milliseconds
/// from now until its `expirationDateTime`.
async fn create_session(client: &reqwest::Client, served: &Served) -> (Value, i64) {
    let url = format!(
        "{}/v1.0/me/drive/root:/scaled.bin:/createUploadSession",
        served.base
    );
    let before = now_millis();
    let answer = client
        .post(url)
        .bearer_auth("any")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    let session: Value = answer.json().await.unwrap();
    let expiry = session["expirationDateTime"].as_str().unwrap();
    let expiry = UnixTime::parse_rfc3339(expiry).unwrap().as_millis();
    (session, expiry - before)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn time_scale_60_makes_a_session_expire_60_times_sooner() {
    let runtime = runtime();
    let client = reqwest::Client::new();
    // A drive session lives 15 minutes of service time by default.
    let unscaled = serve(&[]);
    let (_, lifetime) = runtime.block_on(create_session(&client, &unscaled));
    assert!(
        (899_000..=901_000).contains(&lifetime),
        "unscaled lifetime {lifetime} ms"
    );
    let scaled = serve(&["--time-scale", "60"]);
    let (_, lifetime) = runtime.block_on(create_session(&client, &scaled));
    assert!(
        (14_000..=15_500).contains(&lifetime),
        "at 60x the 15 minutes last 15 s, not {lifetime} ms"
    );
}

#[test]
fn a_scaled_session_lapses_in_real_time() {
    // At 900x, the 15-minute lifetime is one real second.
    let runtime = runtime();
    let client = reqwest::Client::new();
    let served = serve(&["--time-scale", "900"]);
    let created = Instant::now();
    let (session, lifetime) = runtime.block_on(create_session(&client, &served));
    assert!((500..=1_100).contains(&lifetime), "{lifetime} ms");
    let upload_url = session["uploadUrl"].as_str().unwrap().to_owned();
    let status = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status() }
    };
    assert_eq!(
        runtime.block_on(status(upload_url.clone())),
        reqwest::StatusCode::OK,
        "alive at first"
    );
    // Watched until it lapses (a status query does not extend a session), rather than slept
    // past its lifetime: alive until then, gone after.
    let mut answers = Vec::new();
    let lapsed = poll_until(PATIENCE, || {
        let answer = runtime.block_on(status(upload_url.clone()));
        answers.push(answer);
        answer == reqwest::StatusCode::NOT_FOUND
    });
    let lapsed_after = created.elapsed();
    assert!(lapsed, "still alive after {PATIENCE:?}");
    assert!(
        answers[..answers.len() - 1]
            .iter()
            .all(|a| *a == reqwest::StatusCode::OK),
        "{answers:?}"
    );
    assert!(
        lapsed_after >= Duration::from_millis(lifetime as u64 / 2),
        "gone {lapsed_after:?} after creation, its lifetime {lifetime} ms"
    );
}

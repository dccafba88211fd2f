//! A server out of file descriptors cannot accept connections: it must wait for descriptors to
//! come back, backing off, rather than retry every few milliseconds, and serve the waiting
//! client once they do.
//!
//! Alone in its test binary: it exhausts the process's descriptors.

#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::clock::FrozenClock;
use common::*;
use resumable_emulator::EmulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The backoff runs on tokio's clock, frozen for the test and moved 10 ms at a time: the
/// number of failed accepts in 1.5 s is the backoff's own, however slow the machine.
#[tokio::test(start_paused = true)]
async fn accept_failures_back_off_and_the_client_is_served_when_descriptors_return() {
    let clock = FrozenClock::hold();
    let step = Duration::from_millis(10);
    let emulator = start(EmulatorConfig::default()).await;
    let mut hoard = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hoard.push(file);
    }
    // One descriptor for the client; the server has none left to accept it with.
    hoard.pop();
    let mut stream = tokio::net::TcpStream::connect(emulator.addr())
        .await
        .unwrap();
    stream
        .write_all(b"GET /_emulator/files HTTP/1.1\r\nhost: emulator\r\n\r\n")
        .await
        .unwrap();
    clock.pass(Duration::from_millis(1500), step, || true).await;
    let failures = emulator.stats().accept_errors;
    drop(hoard);
    let mut answer = vec![0u8; 1024];
    let back = tokio::time::Instant::now();
    let read = clock
        .run(step, || true, stream.read(&mut answer))
        .await
        .unwrap();
    // The backoff is at most a second: served within it.
    assert!(
        back.elapsed() <= Duration::from_secs(1),
        "served once descriptors are back, {:?} later",
        back.elapsed()
    );
    assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
    // Doubling from 10 ms: 10+20+40+80+160+320+640 ms covers 1.27 s; a fixed 10 ms retry would
    // have failed about 150 times.
    assert!(
        (1..=12).contains(&failures),
        "{failures} failed accepts in 1.5 s"
    );
}

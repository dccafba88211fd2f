//! The counters a WOPI client's order is judged by: an update past the host's offset is out of
//! order; bytes below the offset the host had told the client are confirmed bytes sent again;
//! bytes below an offset whose answer was lost are not (the client could not know).

mod common;

use common::*;
use reqwest::StatusCode;
use resumable_emulator::EmulatorConfig;

fn offset_of(answer: &reqwest::Response) -> u64 {
    answer.headers()["x-wopi-uploadsessioncurrentoffset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn out_of_order_updates_and_confirmed_bytes_sent_again_are_counted() {
    let script = "wopi-update#3=lose-answer".parse().unwrap();
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let (_, bytes) = full_file_stream(&data(10_000, 5));
    let token = wopi_create(&emulator, &client, "f9").await.unwrap();
    let update = |offset: u64, range: std::ops::Range<usize>| {
        wopi_update(&emulator, &client, "f9", &token, offset, &bytes[range])
    };
    let counters = || {
        let stats = emulator.stats();
        (
            stats.wopi_confirmed_bytes_resent,
            stats.wopi_updates_out_of_order,
        )
    };
    // #1: 0..100 confirmed.
    assert_eq!(update(0, 0..100).await.status(), StatusCode::OK);
    // #2: 40 bytes the host had told the client it had, sent again: refused, counted.
    let again = update(60, 60..120).await;
    assert_eq!(
        (again.status(), offset_of(&again)),
        (StatusCode::BAD_REQUEST, 100)
    );
    assert_eq!(counters(), (40, 0));
    // #3: 100..300 stored, answer lost (the connection drops: a send error).
    let lost = client
        .post(format!("{}?access_token=t", emulator.wopi_file_url("f9")))
        .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
        .header("x-wopi-uploadsessiontoken", &token)
        .header("x-wopi-contentrangeoffset", "100")
        .header("x-wopi-contentrangelength", "200")
        .body(bytes[100..300].to_vec())
        .send()
        .await;
    assert!(lost.is_err(), "the answer was lost");
    // #4: the same range again is no re-send of confirmed bytes (the client never heard of
    // them), though the host received them twice.
    assert_eq!(offset_of(&update(100, 100..300).await), 300);
    assert_eq!(counters(), (40, 0));
    assert!(emulator.stats().bytes_received_twice >= 200 + 40);
    // #5: the refusal told the client 300; a range past it is out of order.
    assert_eq!(
        update(500, 500..600).await.status(),
        StatusCode::BAD_REQUEST
    );
    // #6: and 300 is confirmed now: sending from 250 again counts 50.
    assert_eq!(
        update(250, 250..400).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(counters(), (90, 1));
    // In order again, nothing more is counted.
    assert_eq!(update(300, 300..1000).await.status(), StatusCode::OK);
    assert_eq!(counters(), (90, 1));
}

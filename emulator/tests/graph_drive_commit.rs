//! Drive-item upload sessions through real HTTP: commits (deferred, explicit, conflicting),
//! expiry, cancellation and the other ways of addressing a drive item.

mod common;

use std::time::Duration;

use common::clock::FrozenClock;
use common::*;
use reqwest::{Method, StatusCode};
use resumable_core::time::UnixTime;
use resumable_emulator::{EmulatorConfig, RangeForm, TimeScale};
use serde_json::json;

#[tokio::test]
async fn deferred_commit_is_a_state_of_its_own() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(5000, 10);
    let url = drive_session(
        &emulator,
        &client,
        "defer.bin",
        json!({"deferCommit": true}),
    )
    .await;
    let (status, all_in) = json(
        put_range(&client, &url, &file, 0, file.len())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(all_in["nextExpectedRanges"], json!([]));
    assert!(emulator.files().is_empty(), "not committed yet");
    let (status, still) = json(call(&client, Method::GET, &url).await.unwrap()).await;
    assert_eq!(
        (status, &still["nextExpectedRanges"]),
        (StatusCode::OK, &json!([]))
    );
    let with_body = client.post(&url).body("x").send().await.unwrap();
    assert_eq!(with_body.status(), StatusCode::BAD_REQUEST);
    let head = format!("POST {} HTTP/1.1", path_of(&url));
    let no_length = RawRequest::send(&emulator, &head, b"").await.answer().await;
    assert!(no_length.starts_with("HTTP/1.1 411"), "{no_length}");
    let (status, item) = json(call(&client, Method::POST, &url).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(item["size"], 5000);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_commit_before_every_byte_arrived_is_refused() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = drive_session(
        &emulator,
        &client,
        "early.bin",
        json!({"deferCommit": true}),
    )
    .await;
    assert_eq!(
        call(&client, Method::POST, &url).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn conflict_behaviors_and_the_explicit_commit() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let first = data(100, 11);
    let url = drive_session(&emulator, &client, "c/a.bin", json!({})).await;
    assert_eq!(
        put_range(&client, &url, &first, 0, 100)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );

    // Default behaviour is fail: 409 on the last fragment, and the session stays alive.
    let second = data(200, 12);
    let url = drive_session(&emulator, &client, "c/a.bin", json!({})).await;
    let (status, error) = json(put_range(&client, &url, &second, 0, 200).await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "nameAlreadyExists");
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::OK
    );
    let commit_url = format!("{}/me/drive/root:/c/a.bin:", emulator.graph_url());
    let without_source = client
        .put(&commit_url)
        .header("authorization", TOKEN)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(without_source.status(), StatusCode::BAD_REQUEST);
    let commit = json!({"name": "b.bin", "@microsoft.graph.conflictBehavior": "fail", "@microsoft.graph.sourceUrl": url});
    let unauthenticated = client
        .put(&commit_url)
        .body(commit.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let answer = client
        .put(&commit_url)
        .header("authorization", TOKEN)
        .body(commit.to_string())
        .send()
        .await
        .unwrap();
    let (status, item) = json(answer).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(item["name"], "b.bin");

    // Replace keeps the item id; rename picks a free name.
    let third = data(300, 13);
    let url = drive_session(
        &emulator,
        &client,
        "c/a.bin",
        json!({"item": {"@microsoft.graph.conflictBehavior": "replace"}}),
    )
    .await;
    let (status, replaced) = json(put_range(&client, &url, &third, 0, 300).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["size"], 300);
    let url = drive_session(
        &emulator,
        &client,
        "c/a.bin",
        json!({"item": {"@microsoft.graph.conflictBehavior": "rename"}}),
    )
    .await;
    let (status, renamed) = json(put_range(&client, &url, &third, 0, 300).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(renamed["name"], "a 1.bin");

    // A session created on the item id replaces it.
    let by_id = format!(
        "{}/me/drive/items/{}/createUploadSession",
        emulator.graph_url(),
        replaced["id"].as_str().unwrap()
    );
    let (status, session) = post_json(&client, &by_id, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let url = session["uploadUrl"].as_str().unwrap();
    let (status, again) = json(put_range(&client, url, &first, 0, 100).await.unwrap()).await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &replaced["id"]));
    let unknown = format!(
        "{}/me/drive/items/01NOPE/createUploadSession",
        emulator.graph_url()
    );
    assert_eq!(
        post_json(&client, &unknown, json!({})).await.0,
        StatusCode::NOT_FOUND
    );

    let paths: Vec<String> = emulator.files().into_iter().map(|f| f.path).collect();
    assert_eq!(
        paths,
        [
            "me/drive/root:/c/a.bin",
            "me/drive/root:/c/b.bin",
            "me/drive/root:/c/a.bin",
            "me/drive/root:/c/a 1.bin",
            "me/drive/root:/c/a.bin"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn sessions_expire_and_each_fragment_extends_them() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    // 15 minutes of service time under ×900: one real second.
    let config = EmulatorConfig::default().with_time_scale(TimeScale::new(900.0).unwrap());
    let emulator = start(config).await;
    let client = client();
    let total = 3 * KIB320;
    let file = data(total, 14);
    let url = drive_session(&emulator, &client, "expiry.bin", json!({})).await;
    let (_, created) = json(call(&client, Method::GET, &url).await.unwrap()).await;
    let created_expiry =
        UnixTime::parse_rfc3339(created["expirationDateTime"].as_str().unwrap()).unwrap();
    clock.advance(Duration::from_millis(600)).await;
    // The answers write their expiry on the wall clock, to the millisecond, and the frozen
    // clock does not move it: a real moment passes, so an expiry moved by the fragment shows.
    std::thread::sleep(Duration::from_millis(5));
    let (status, progress) = json(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let extended =
        UnixTime::parse_rfc3339(progress["expirationDateTime"].as_str().unwrap()).unwrap();
    assert!(
        extended > created_expiry,
        "{extended:?} > {created_expiry:?}"
    );
    clock.advance(Duration::from_millis(600)).await;
    // 1.2 s after creation, 0.6 s after the fragment: still alive.
    let alive = put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, total)
        .await
        .unwrap();
    assert_eq!(alive.status(), StatusCode::ACCEPTED);
    clock.advance(Duration::from_millis(1200)).await;
    let gone = put_range(&client, &url, &file[2 * KIB320..], 2 * KIB320, total)
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn delete_cancels_the_session() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = drive_session(&emulator, &client, "cancel.bin", json!({})).await;
    assert_eq!(
        call(&client, Method::DELETE, &url).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&client, Method::DELETE, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn other_drive_addressing_and_sharepoint_ranges() {
    let config = EmulatorConfig {
        graph: resumable_emulator::GraphConfig {
            drive_range_form: RangeForm::Closed,
            ..Default::default()
        },
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await;
    let client = client();
    let create = format!(
        "{}/drives/b!drive/items/01PARENT:/report%20final.bin:/createUploadSession",
        emulator.graph_url()
    );
    let (status, session) = post_json(&client, &create, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let url = session["uploadUrl"].as_str().unwrap();
    let total = KIB320 + 10;
    let file = data(total, 15);
    let (_, progress) = json(
        put_range(&client, url, &file[..KIB320], 0, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        progress["nextExpectedRanges"],
        json!([format!("{KIB320}-{}", total - 1)])
    );
    let (_, item) = json(
        put_range(&client, url, &file[KIB320..], KIB320, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(item["name"], "report final.bin");
    assert_eq!(
        emulator.files()[0].path,
        "drives/b!drive/items/01PARENT:/report final.bin"
    );
    let nowhere = client
        .post(format!("{}/me/drive/somewhere", emulator.graph_url()))
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_item_path_names_the_same_item_however_it_is_spelled() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(1000, 20);
    let url = drive_session(&emulator, &client, "docs/a.bin", json!({})).await;
    let created = put_range(&client, &url, &file, 0, 1000).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].path, "me/drive/root:/docs/a.bin");
    // As Kiota writes it: the path percent-encoded after `items/root:`; and with a stray slash
    // and other casing. Each names the item just stored, so `fail` must conflict.
    let spellings = [
        "me/drive/items/root:%2Fdocs%2Fa.bin:",
        "me/drive/items/root:/docs/a.bin:",
        "me/drive/root:/docs//a.bin:",
        "me/drive/root:/Docs/A.BIN:",
    ];
    for spelling in spellings {
        let create = format!("{}/{spelling}/createUploadSession", emulator.graph_url());
        let (status, session) = post_json(
            &client,
            &create,
            json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{spelling}: {session}");
        let url = session["uploadUrl"].as_str().unwrap();
        let answer = put_range(&client, url, &file, 0, 1000).await.unwrap();
        assert_eq!(answer.status(), StatusCode::CONFLICT, "{spelling}");
    }
    // Under a parent given by id, a sub-path is a folder below it.
    let under_id = format!(
        "{}/drives/d1/items/01PARENT:%2Fsub%2Fb.bin:/createUploadSession",
        emulator.graph_url()
    );
    let (status, session) = post_json(&client, &under_id, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let url = session["uploadUrl"].as_str().unwrap();
    assert_eq!(
        put_range(&client, url, &file, 0, 1000)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        emulator.files().last().unwrap().path,
        "drives/d1/items/01PARENT:/sub/b.bin"
    );
}

#[tokio::test]
async fn a_committed_item_can_be_looked_up_by_its_path() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(3000, 12);
    let lookup = |path: &str| {
        client
            .get(format!("{}/me/drive/{path}", emulator.graph_url()))
            .header("authorization", TOKEN)
            .send()
    };
    let (status, missing) = json(lookup("root:/docs/look.bin:").await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "itemNotFound");

    let url = drive_session(&emulator, &client, "docs/look.bin", json!({})).await;
    let (_, item) = json(put_range(&client, &url, &file, 0, 3000).await.unwrap()).await;
    // Every spelling of the path finds the item; names compare without regard to case.
    for path in [
        "root:/docs/look.bin:",
        "root:/docs/look.bin",
        "items/root:/DOCS/Look.bin:",
    ] {
        let (status, found) = json(lookup(path).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(found, item, "{path}");
    }
    // A lookup is a Graph call like any other: it needs the bearer token.
    let anonymous = client
        .get(format!(
            "{}/me/drive/root:/docs/look.bin",
            emulator.graph_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(emulator.stats().requests["get-item"], 5);
}

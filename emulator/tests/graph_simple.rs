//! Simple uploads (`PUT …:/content`, the whole file in one request) through real HTTP: the
//! rules refuse the wrong request with the right status, the conflict behaviours act as on a
//! session's commit, what is stored is what was sent, and the faults strike as named.

mod common;

use common::*;
use reqwest::{Client, StatusCode};
use resumable_emulator::{EmulatorConfig, Limits, Protocol};

/// `PUT url` with `body`, its length (which reqwest leaves out for an empty body) and the
/// bearer token.
async fn put(client: &Client, url: &str, body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
    client
        .put(url)
        .header("authorization", TOKEN)
        .header("content-length", body.len())
        .body(body)
        .send()
        .await
}

#[tokio::test]
async fn a_simple_upload_stores_exactly_what_was_sent() {
    let emulator = start(EmulatorConfig::default().with_bearer_token("test-token")).await;
    let client = client();
    let url = emulator.drive_content_url("docs/a b.txt");
    assert!(url.ends_with("/v1.0/me/drive/root:/docs/a%20b.txt:/content"));
    for size in [0, 1, KIB320, 3_999_999] {
        let file = data(size, 3);
        let name = format!("docs/s{size}.bin");
        let answer = put(&client, &emulator.drive_content_url(&name), file.clone())
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::CREATED, "{size}");
        let (_, item) = json(answer).await;
        assert_eq!(item["size"], size);
        assert_eq!(item["name"], format!("s{size}.bin"));
        assert_eq!(item["file"]["hashes"]["quickXorHash"], quick_xor(&file));
        let stored = emulator
            .files()
            .into_iter()
            .find(|f| f.path == format!("me/drive/root:/{name}"))
            .unwrap();
        assert_eq!((stored.size, stored.sha256), (size as u64, sha256(&file)));
        assert_eq!(stored.quick_xor_hash, quick_xor(&file));
        assert_eq!(stored.protocol, Protocol::GraphDrive);
        let on_disk = std::fs::read(stored.disk_path.unwrap()).unwrap();
        assert_eq!(on_disk, file);
    }
    let stats = emulator.stats();
    assert_eq!(stats.requests["simple-upload"], 4);
    assert_eq!(stats.sessions_created, 0);
    assert!(part_files(&emulator).is_empty());
}

#[tokio::test]
async fn a_simple_upload_needs_a_bearer_token_and_a_length() {
    let emulator = start(EmulatorConfig::default().with_bearer_token("test-token")).await;
    let client = client();
    let url = emulator.drive_content_url("a.bin");
    let missing = client.put(&url).body("abc").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .put(&url)
        .header("authorization", "Bearer other")
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // A chunked body declares no length.
    let raw = RawRequest::send(
        &emulator,
        &format!(
            "PUT {} HTTP/1.1\r\nauthorization: {TOKEN}\r\ntransfer-encoding: chunked",
            path_of(&url)
        ),
        b"3\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert!(raw.answer().await.starts_with("HTTP/1.1 411"));
    let bad = put(
        &client,
        &format!("{url}?@microsoft.graph.conflictBehavior=overwrite"),
        vec![1],
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_before_they_are_read() {
    let limits = Limits {
        simple_upload_max: 4_000_000,
        ..Limits::default()
    };
    let emulator = start(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    })
    .await;
    let client = client();
    let at_limit = put(
        &client,
        &emulator.drive_content_url("max.bin"),
        data(4_000_000, 1),
    )
    .await
    .unwrap();
    assert_eq!(at_limit.status(), StatusCode::CREATED);
    let over = put(
        &client,
        &emulator.drive_content_url("over.bin"),
        data(4_000_001, 1),
    )
    .await
    .unwrap();
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, error) = json(over).await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upload session")
    );
    assert_eq!(emulator.files().len(), 1);
    assert_eq!(Limits::default().simple_upload_max, 250_000_000);
}

#[tokio::test]
async fn conflict_behaviours_act_as_on_a_commit() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = emulator.drive_content_url("c.txt");
    let with = |behaviour: &str| format!("{url}?@microsoft.graph.conflictBehavior={behaviour}");
    let first = put(&client, &with("fail"), b"one".to_vec()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let (_, first) = json(first).await;
    let taken = put(&client, &with("fail"), b"two".to_vec()).await.unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let (_, error) = json(taken).await;
    assert_eq!(error["error"]["code"], "nameAlreadyExists");
    let replaced = put(&client, &with("replace"), b"three".to_vec())
        .await
        .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    let (_, replaced) = json(replaced).await;
    assert_eq!(
        (replaced["id"].clone(), replaced["size"].clone()),
        (first["id"].clone(), 5.into())
    );
    let renamed = put(&client, &with("rename"), b"four".to_vec())
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::CREATED);
    let (_, renamed) = json(renamed).await;
    assert_eq!(renamed["name"], "c 1.txt");
    // Without a behaviour a PUT replaces.
    let plain = put(&client, &url, b"five!".to_vec()).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    let paths: Vec<String> = emulator.files().into_iter().map(|f| f.path).collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(part_files(&emulator).is_empty());
}

#[tokio::test]
async fn simple_uploads_take_items_by_parent_id_too() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = format!(
        "{}/drives/d1/items/01PARENT:/x.bin:/content",
        emulator.graph_url()
    );
    let answer = put(&client, &url, b"xyz".to_vec()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].path, "drives/d1/items/01PARENT:/x.bin");
}

#[tokio::test]
async fn faults_strike_simple_uploads() {
    let script = "simple-upload#1=status:503, simple-upload#2=drop-mid-body:1000, \
                  simple-upload#3=lose-answer, simple-upload#4=wrong-size, simple-upload#5=wrong-hash";
    let emulator = start(EmulatorConfig::default().with_script(script.parse().unwrap())).await;
    let client = client();
    let file = data(5000, 9);
    let url = emulator.drive_content_url("f.bin");
    let unavailable = put(&client, &url, file.clone()).await.unwrap();
    assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        put(&client, &url, file.clone()).await.is_err(),
        "dropped mid-body"
    );
    assert!(emulator.files().is_empty());
    assert!(
        put(&client, &url, file.clone()).await.is_err(),
        "answer lost"
    );
    assert_eq!(
        emulator.files().len(),
        1,
        "stored before the answer was lost"
    );
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    let (status, item) = json(put(&client, &url, file.clone()).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(item["size"], 5001);
    let (_, item) = json(put(&client, &url, file.clone()).await.unwrap()).await;
    assert_eq!(item["size"], 5000);
    assert_ne!(item["file"]["hashes"]["quickXorHash"], quick_xor(&file));
    let stats = emulator.stats();
    for name in [
        "status-503",
        "drop-mid-body",
        "lose-answer",
        "wrong-size",
        "wrong-hash",
    ] {
        assert_eq!(stats.faults[name], 1, "{name}");
    }
    // What was stored is the truth, whatever the answers said.
    assert!(emulator.files().iter().all(|f| f.sha256 == sha256(&file)));
    assert!(part_files(&emulator).is_empty());
}

#[tokio::test]
async fn an_existing_item_takes_new_content_by_id_and_is_read_by_id() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let created = put(
        &client,
        &emulator.drive_content_url("v.txt"),
        b"one".to_vec(),
    )
    .await
    .unwrap();
    let (_, item) = json(created).await;
    let id = item["id"].as_str().unwrap();
    let by_id = format!("{}/me/drive/items/{id}", emulator.graph_url());
    // Under `fail` too: new content for an item named by id replaces it.
    let url = format!("{by_id}/content?@microsoft.graph.conflictBehavior=fail");
    let replaced = put(&client, &url, b"two!".to_vec()).await.unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    let read = client
        .get(&by_id)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    let (status, item) = json(read).await;
    assert_eq!((status, item["size"].clone()), (StatusCode::OK, 4.into()));
    assert_eq!(item["name"], "v.txt");
    let unknown = format!("{}/me/drive/items/NOPE/content", emulator.graph_url());
    let missing = put(&client, &unknown, b"x".to_vec()).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let files = emulator.files();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.path == "me/drive/root:/v.txt"));
    assert_eq!(files[1].sha256, sha256(b"two!"));
}

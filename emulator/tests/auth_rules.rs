//! Credential rules on every Graph upload kind: an upload URL refuses any `Authorization` header
//! whatever the method (the URL carries its own token), and every create needs a bearer token.
//! A refused request must leave the session exactly as it was.

mod common;

use common::*;
use reqwest::{Client, Method, StatusCode};
use resumable_emulator::{EmulatorConfig, EmulatorHandle};
use serde_json::json;

/// Every method an upload URL answers, sent with a bearer header: each must be `401` with the
/// Graph error code `unauthenticated`.
async fn assert_every_method_refuses_authorization(client: &Client, url: &str, total: usize) {
    for method in [Method::PUT, Method::GET, Method::DELETE, Method::POST] {
        let mut request = client
            .request(method.clone(), url)
            .header("authorization", TOKEN);
        request = if method == Method::PUT {
            request
                .header("content-range", format!("bytes 0-9/{total}"))
                .body(vec![7u8; 10])
        } else if method == Method::POST {
            request.header("content-length", "0")
        } else {
            request
        };
        let (status, body) = json(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} with a bearer");
        assert_eq!(body["error"]["code"], "unauthenticated", "{method}: {body}");
    }
}

/// The position the session reports to a proper (header-less) `GET`.
async fn position(client: &Client, url: &str) -> Option<u64> {
    let (status, body) = json(call(client, Method::GET, url).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    next_start(&body)
}

#[tokio::test]
async fn a_drive_upload_url_refuses_authorization_on_every_method_and_stays_intact() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let size = 2 * KIB320;
    let file = data(size, 9);
    let url = drive_session(
        &emulator,
        &client,
        "auth/a.bin",
        json!({"deferCommit": true}),
    )
    .await;
    assert_every_method_refuses_authorization(&client, &url, size).await;
    // The refused PUT stored nothing and the refused DELETE cancelled nothing.
    assert_eq!(position(&client, &url).await, Some(0));
    put_range(&client, &url, &file, 0, size).await.unwrap();
    // All bytes are in, commit pending: a commit with a bearer is refused and creates no file.
    let (status, _) = json(
        client
            .post(&url)
            .header("authorization", TOKEN)
            .header("content-length", "0")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(emulator.files().is_empty(), "{:?}", emulator.files());
    let commit = call(&client, Method::POST, &url).await.unwrap();
    assert_eq!(commit.status(), StatusCode::CREATED);
    let stored = emulator.files();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sha256, sha256(&file));
    assert_eq!(emulator.stats().refusals.get("401"), Some(&5));
}

#[tokio::test]
async fn a_print_upload_url_refuses_authorization_on_every_method() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let size = 1000;
    let url = print_session(&emulator, &client, size).await;
    assert!(
        url.contains("tempauthtoken="),
        "print URLs carry tempauthtoken"
    );
    assert_every_method_refuses_authorization(&client, &url, size).await;
    assert_eq!(position(&client, &url).await, Some(0));
    let file = data(size, 3);
    let done = put_range(&client, &url, &file, 0, size).await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn a_mail_upload_url_refuses_authorization_on_every_method() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let size = 3_000_000;
    let url = mail_session(&emulator, &client, size).await;
    assert!(url.contains("authtoken="), "mail URLs carry authtoken");
    assert_every_method_refuses_authorization(&client, &url, size).await;
    assert_eq!(position(&client, &url).await, Some(0));
    let file = data(size, 4);
    let done = put_range(&client, &url, &file, 0, size).await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

/// A create of each kind with no `Authorization`, then with a non-bearer scheme, then with the
/// wrong token: all `401 InvalidAuthenticationToken`, and no session is created.
async fn assert_create_needs_the_bearer(emulator: &EmulatorHandle, url: &str, body: &str) {
    let client = client();
    let attempts = [None, Some("Basic dGVzdDp0ZXN0"), Some("Bearer wrong-token")];
    for authorization in attempts {
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let (status, answer) = json(request.send().await.unwrap()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{authorization:?} on {url}"
        );
        assert_eq!(answer["error"]["code"], "InvalidAuthenticationToken");
    }
    assert_eq!(emulator.stats().sessions_created, 0);
}

#[tokio::test]
async fn print_and_mail_creates_need_the_bearer_token() {
    let emulator = start(EmulatorConfig::default().with_bearer_token("test-token")).await;
    let print = json!({"properties": {"documentName": "t.pdf", "size": 1000}}).to_string();
    let print_url = emulator.print_upload_session_url("p1", "j1", "d1");
    assert_create_needs_the_bearer(&emulator, &print_url, &print).await;
    let mail =
        json!({"AttachmentItem": {"attachmentType": "file", "name": "a.pdf", "size": 3_000_000}})
            .to_string();
    let mail_url = emulator.mail_upload_session_url("m1");
    assert_create_needs_the_bearer(&emulator, &mail_url, &mail).await;
    // The same requests with the right token succeed, so the refusals were about the token.
    let client = client();
    let created = |url: String, body: String| {
        let request = client.post(url).header("authorization", TOKEN).body(body);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(created(print_url, print).await, StatusCode::OK);
    assert_eq!(created(mail_url, mail).await, StatusCode::CREATED);
    assert_eq!(emulator.stats().sessions_created, 2);
}

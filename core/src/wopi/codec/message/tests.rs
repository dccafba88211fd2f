use super::*;
use alloc::vec;
use std::format;
use std::string::ToString;

#[test]
fn parses_the_spec_example() {
    let json = r#"{"ContentProperties": [], "Signatures": [{"StreamId": "MainContent", "ChunkingScheme": "FullFile",
      "ChunkSignatures": [{"ChunkId": "P4oXyRH4V/AHALoD7GZ9Yw==", "Length": 199999}]}],
     "UploadSessionTokenToCommit": "tok-123"}"#;
    let message: PutChunkedFileMessage = serde_json::from_str(json).unwrap();
    let main = message.main_content().unwrap();
    assert_eq!(main.chunking_scheme, ChunkingScheme::FullFile);
    assert_eq!(main.len(), 199_999);
    assert_eq!(
        main.chunk_signatures[0].chunk_id.to_string(),
        "P4oXyRH4V/AHALoD7GZ9Yw=="
    );
    assert_eq!(
        message
            .upload_session_token_to_commit
            .as_ref()
            .map(Secret::expose),
        Some("tok-123")
    );
    assert!(!format!("{message:?}").contains("tok-123"));
}

#[test]
fn several_streams_and_content_properties() {
    let message = PutChunkedFileMessage {
        content_properties: vec![ContentProperty {
            content_property_retention: Retention::DeleteOnContentChange,
            name: "Author".into(),
            value: "Ada".into(),
        }],
        signatures: vec![
            StreamSignature::full_file(MAIN_CONTENT, ChunkId::of(b"doc"), 3),
            StreamSignature::full_file("Thumbnail", ChunkId::of(b""), 0),
        ],
        upload_session_token_to_commit: None,
    };
    let json = serde_json::to_string(&message).unwrap();
    assert_eq!(
        json,
        r#"{"ContentProperties":[{"ContentPropertyRetention":"DeleteOnContentChange","Name":"Author","Value":"Ada"}],"Signatures":[{"StreamId":"MainContent","ChunkingScheme":"FullFile","ChunkSignatures":[{"ChunkId":"R0lo84m5PiiUNtdA4r1zFQ==","Length":3}]},{"StreamId":"Thumbnail","ChunkingScheme":"FullFile","ChunkSignatures":[]}]}"#
            .replace("R0lo84m5PiiUNtdA4r1zFQ==", &ChunkId::of(b"doc").to_string())
    );
    let back: PutChunkedFileMessage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, message);
    assert!(back.signatures[1].is_empty());
}

#[test]
fn refuses_malformed_messages() {
    for json in [
        r#"{"Signatures": [{"StreamId": "MainContent", "ChunkingScheme": "Rolling", "ChunkSignatures": []}]}"#,
        r#"{"Signatures": [{"StreamId": "MainContent", "ChunkingScheme": "FullFile", "ChunkSignatures": [{"ChunkId": "short", "Length": 1}]}]}"#,
        r#"{"Signatures": [{"StreamId": "MainContent", "ChunkingScheme": "FullFile", "ChunkSignatures": [{"ChunkId": "P4oXyRH4V/AHALoD7GZ9Yw==", "Length": -1}]}]}"#,
        r#"{"ContentProperties": []}"#,
        "[]",
    ] {
        assert!(
            serde_json::from_str::<PutChunkedFileMessage>(json).is_err(),
            "{json}"
        );
    }
    let no_main: PutChunkedFileMessage = serde_json::from_str(r#"{"Signatures": []}"#).unwrap();
    assert!(no_main.main_content().is_none());
}

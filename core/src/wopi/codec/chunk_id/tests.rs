use super::*;
use proptest::prelude::*;
use std::string::ToString;

#[test]
fn some_random_text() {
    let id = ChunkId::of(b"SomeRandomText");
    assert_eq!(id.to_string(), "pBw0Ufss5SPFsfoEWGi2+w==");
    assert_eq!(std::format!("{id:?}"), "ChunkId(pBw0Ufss5SPFsfoEWGi2+w==)");
}

#[test]
fn bytes_are_the_two_results_little_endian() {
    let id = ChunkId::from_hash((0x0102_0304_0506_0708, 0x1112_1314_1516_1718));
    assert_eq!(
        id.to_bytes(),
        [
            8, 7, 6, 5, 4, 3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11
        ]
    );
    assert_eq!(ChunkId::from_bytes(id.to_bytes()), id);
    assert_eq!(ChunkId::from(*id.as_bytes()), id);
}

#[test]
fn base64_edges() {
    assert_eq!(
        ChunkId::from_bytes([0; 16]).to_string(),
        "AAAAAAAAAAAAAAAAAAAAAA=="
    );
    assert_eq!(
        ChunkId::from_bytes([0xff; 16]).to_string(),
        "/////////////////////w=="
    );
    assert_eq!(
        "/////////////////////w==".parse::<ChunkId>(),
        Ok(ChunkId::from_bytes([0xff; 16]))
    );
}

#[test]
fn refuses_malformed_text() {
    let cases: &[(&str, ChunkIdError)] = &[
        ("", ChunkIdError::Length(0)),
        ("pBw0Ufss5SPFsfoEWGi2+w=", ChunkIdError::Length(23)),
        ("pBw0Ufss5SPFsfoEWGi2+w===", ChunkIdError::Length(25)),
        ("pBw0Ufss5SPFsfoEWGi2+wAA", ChunkIdError::Padding),
        ("pBw0Ufss5SPFsfoEWGi2+w=A", ChunkIdError::Padding),
        (
            "pBw0Ufss5SPFsfoEWGi2-w==",
            ChunkIdError::Character { position: 20 },
        ),
        (
            "pBw0Ufss5SPFsfoEWGi2_w==",
            ChunkIdError::Character { position: 20 },
        ),
        (
            " Bw0Ufss5SPFsfoEWGi2+w==",
            ChunkIdError::Character { position: 0 },
        ),
        (
            "pBw0Ufss5SPFsfoEWGi2+===",
            ChunkIdError::Character { position: 21 },
        ),
        ("pBw0Ufss5SPFsfoEWGi2+x==", ChunkIdError::NonCanonical),
    ];
    for (text, err) in cases {
        assert_eq!(text.parse::<ChunkId>(), Err(*err), "{text:?}");
        assert!(!err.to_string().is_empty());
    }
    // Multi-byte UTF-8 counts bytes, and never panics on a char boundary.
    assert_eq!(
        "é".repeat(12).parse::<ChunkId>(),
        Err(ChunkIdError::Padding)
    );
    assert_eq!(
        std::format!("{}==", "é".repeat(11)).parse::<ChunkId>(),
        Err(ChunkIdError::Character { position: 0 })
    );
}

#[test]
fn serde_is_the_base64_string() {
    let id = ChunkId::of(b"SomeRandomText");
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, r#""pBw0Ufss5SPFsfoEWGi2+w==""#);
    assert_eq!(serde_json::from_str::<ChunkId>(&json).unwrap(), id);
    assert!(serde_json::from_str::<ChunkId>(r#""pBw0""#).is_err());
    assert!(serde_json::from_str::<ChunkId>("12").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn base64_round_trips(bytes in any::<[u8; 16]>()) {
        let id = ChunkId::from_bytes(bytes);
        let text = id.to_string();
        prop_assert_eq!(text.len(), 24);
        prop_assert_eq!(text.parse::<ChunkId>(), Ok(id));
    }

    #[test]
    fn parsing_never_panics_and_accepts_only_canonical_text(text in "[A-Za-z0-9+/=]{20,26}") {
        if let Ok(id) = text.parse::<ChunkId>() {
            prop_assert_eq!(id.to_string(), text);
        }
    }
}

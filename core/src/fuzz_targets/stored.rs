//! The item a Graph service describes a finished file with (`size`, `file.hashes`), read and
//! checked against the source: what decides whether an upload is proven.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::Choices;
use crate::digest::Base64;
use crate::digest::SourceHashes;
use crate::digest::stored::{HashKind, Mismatch, StoredItem, check_graph_item, hex};

const KINDS: [HashKind; 4] = [
    HashKind::QuickXor,
    HashKind::Sha1,
    HashKind::Crc32,
    HashKind::Sha256,
];

/// `check_graph_item` on any text, or on an item built from the source's true hashes in every
/// form a service writes them (hex in either case, CRC-32 in either byte order, SHA-256 as hex
/// or base64; sizes as numbers or numeric strings; property names in any casing), some of them
/// damaged. Never a panic. Raw text: an item that passes reports the source's size (or none, if
/// none is required) and only hashes equal to the source's. Built items: the size is checked
/// first, then the hashes in order, and the verdict is exactly the one the damage calls for.
pub fn stored_item(data: &[u8]) {
    let mut choices = Choices(data);
    let len = usize::from(choices.byte() % 64);
    let content: Vec<u8> = (0..len).map(|_| choices.byte()).collect();
    let source = SourceHashes::of(&content);
    let size_required = choices.byte() & 1 == 1;
    if choices.byte() & 1 == 0 {
        let text = String::from_utf8_lossy(choices.0);
        if let Ok(verified) = check_graph_item(&text, &source, size_required) {
            let item = StoredItem::parse_graph(&text).expect("a verified item was read");
            assert!(item.size == Some(source.size) || item.size.is_none() && !size_required);
            for kind in &verified.hashes {
                let stored = item.hash(*kind).expect("a verified hash was reported");
                assert!(
                    true_forms(*kind, &source)
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case(stored.trim()))
                );
            }
        }
        return;
    }
    let wanted = choices.byte();
    let damaged = usize::from(choices.byte() % 6);
    let size_form = choices.byte() % 5;
    let mut hashes = Vec::new();
    for (i, kind) in KINDS.into_iter().enumerate() {
        if wanted & (1 << i) == 0 {
            continue;
        }
        let forms = true_forms(kind, &source);
        let mut text = forms[usize::from(choices.byte()) % forms.len()].clone();
        if kind != HashKind::QuickXor && kind != HashKind::Sha256 || text.len() == 64 {
            // Hex may be written in either case.
            if choices.byte() & 1 == 1 {
                text = text.to_ascii_lowercase();
            }
        }
        if damaged == i {
            text = damage(&text, usize::from(choices.byte()));
        }
        hashes.push(format!(
            r#""{}":"{text}""#,
            casing(kind.name(), choices.byte())
        ));
    }
    let size = match size_form {
        0 => None,
        1 => Some(format!(r#""{}""#, source.size)),
        2 => Some(format!("{}", source.size + 1)),
        _ => Some(format!("{}", source.size)),
    };
    let mut members = Vec::new();
    if let Some(size) = &size {
        members.push(format!(r#""{}":{size}"#, casing("size", choices.byte())));
    }
    if !hashes.is_empty() {
        members.push(format!(
            r#""{}":{{"{}":{{{}}}}}"#,
            casing("file", choices.byte()),
            casing("hashes", choices.byte()),
            hashes.join(",")
        ));
    }
    let item = format!("{{{}}}", members.join(","));
    let verdict = check_graph_item(&item, &source, size_required);
    let included = |i: usize| wanted & (1 << i) != 0;
    match verdict {
        Err(Mismatch::Size { source: s, stored }) => {
            assert!(
                size_form == 2 && s == source.size && stored == source.size + 1,
                "{item}"
            )
        }
        Err(Mismatch::Unreadable) => assert!(size.is_none() && size_required, "{item}"),
        Err(Mismatch::Hash { kind, .. }) => {
            assert!(
                size_form != 2 && (size.is_some() || !size_required),
                "{item}"
            );
            assert!(
                damaged < 4 && included(damaged) && kind == KINDS[damaged],
                "{item}"
            );
        }
        Err(Mismatch::NotProven) => panic!("a check of an answered item is never NotProven"),
        Ok(verified) => {
            assert!(
                size_form != 2 && (size.is_some() || !size_required),
                "{item}"
            );
            assert!(damaged >= 4 || !included(damaged), "{item}");
            let expected: Vec<HashKind> =
                (0..4).filter(|&i| included(i)).map(|i| KINDS[i]).collect();
            assert_eq!(verified.hashes, expected, "{item}");
            assert_eq!(verified.size, size.is_some());
        }
    }
}

/// Every way a service may write the source's hash of `kind`.
fn true_forms(kind: HashKind, source: &SourceHashes) -> Vec<String> {
    match kind {
        HashKind::QuickXor => alloc::vec![source.quick_xor_base64().as_str().into()],
        HashKind::Sha1 => alloc::vec![hex(&source.sha1.expect("all kinds were computed"))],
        HashKind::Crc32 => alloc::vec![
            hex(&source.crc32.to_le_bytes()),
            hex(&source.crc32.to_be_bytes())
        ],
        HashKind::Sha256 => {
            let sha256 = source.sha256.expect("all kinds were computed");
            alloc::vec![hex(&sha256), Base64::<44>::encode(&sha256).as_str().into()]
        }
    }
}

/// `text` with the character at `at` (modulo its length) replaced by one that changes the value:
/// another hex digit for hex, another base64 letter otherwise.
fn damage(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    // Padding (`=`) and base64's last letter before it may carry unused bits: damage the
    // first half, which always carries value.
    let i = at % (bytes.len() / 2).max(1);
    bytes[i] = match bytes[i] {
        b'0'..=b'8' | b'a'..=b'e' | b'A'..=b'E' => bytes[i] + 1,
        b'9' => b'0',
        b'f' | b'F' => b'0',
        b'z' | b'Z' => b'a',
        other => other.wrapping_add(1),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `name` in a casing picked by `pick`: as is, all upper, all lower or the first letter raised.
fn casing(name: &str, pick: u8) -> String {
    match pick % 4 {
        0 => name.to_ascii_uppercase(),
        1 => name.to_ascii_lowercase(),
        2 => {
            let mut raised = String::from(name);
            if let Some(first) = raised.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            raised
        }
        _ => name.into(),
    }
}

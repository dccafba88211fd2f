//! Whether a stored file is the source: its size and every hash the service reported, compared
//! with the source's [`SourceHashes`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde_json::Value;

use crate::json::property;

use super::source::{HashKinds, SourceHashes};

/// A hash a service may report for a stored file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum HashKind {
    /// Graph `quickXorHash` (base64).
    QuickXor,
    /// Graph `sha1Hash` (hex).
    Sha1,
    /// Graph `crc32Hash` (hex; OneDrive writes it little-endian, either order is read).
    Crc32,
    /// Graph `sha256Hash` or WOPI `SHA256` (hex or base64).
    Sha256,
}

impl HashKind {
    /// The name the service uses.
    pub const fn name(self) -> &'static str {
        match self {
            HashKind::QuickXor => "quickXorHash",
            HashKind::Sha1 => "sha1Hash",
            HashKind::Crc32 => "crc32Hash",
            HashKind::Sha256 => "sha256Hash",
        }
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was checked of a stored file before the upload was called done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Verification {
    /// The stored size was compared with the source's (and matched).
    pub size: bool,
    /// Hashes the service reported that matched the source's.
    pub hashes: Vec<HashKind>,
    /// What the service said of the stored file that could be checked beyond size and hashes
    /// (for mail attachments: the `Location` of the attachment).
    pub location: bool,
    /// Hashes the service reported that were not computed of the source (a costly one, where a
    /// cheap one that was computed matched).
    #[cfg_attr(feature = "serde", serde(default))]
    pub unchecked: Vec<HashKind>,
}

impl Verification {
    /// Whether a hash matched: the service holds the source's bytes, not only as many.
    pub fn has_hash(&self) -> bool {
        !self.hashes.is_empty()
    }
}

impl fmt::Display for Verification {
    /// `size and quickXorHash checked`, `size checked, no hash returned`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<&str> = Vec::new();
        if self.size {
            parts.push("size");
        }
        parts.extend(self.hashes.iter().map(|h| h.name()));
        if parts.is_empty() && self.location {
            return f.write_str("location returned; no size or hash returned");
        }
        if parts.is_empty() {
            return f.write_str("nothing returned to check");
        }
        for (i, part) in parts.iter().enumerate() {
            match i {
                0 => {}
                _ if i + 1 == parts.len() => f.write_str(" and ")?,
                _ => f.write_str(", ")?,
            }
            f.write_str(part)?;
        }
        f.write_str(" checked")?;
        if !self.has_hash() && self.unchecked.is_empty() {
            f.write_str(", no hash returned")?;
        }
        for kind in &self.unchecked {
            write!(f, "; {kind} not computed")?;
        }
        Ok(())
    }
}

/// How a stored file differs from the source.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The stored size is not the source's.
    Size {
        /// The source's size.
        source: u64,
        /// What the service reported.
        stored: u64,
    },
    /// A hash differs.
    Hash {
        /// Which.
        kind: HashKind,
        /// The source's, as the service writes it.
        source: String,
        /// What the service reported.
        stored: String,
    },
    /// The service described the file without a size, or not as JSON.
    Unreadable,
    /// A file found by looking it up carries no hash and was last modified before this
    /// upload's session was made (or when is unknown): nothing shows it is this upload's.
    NotProven,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Size { source, stored } => write!(
                f,
                "the service stored {stored} bytes, the source has {source}"
            ),
            Mismatch::Hash {
                kind,
                source,
                stored,
            } => write!(
                f,
                "the stored file's {kind} is {stored}, the source's is {source}"
            ),
            Mismatch::Unreadable => {
                f.write_str("the service described the stored file without a readable size")
            }
            Mismatch::NotProven => f.write_str(
                "the file found there has no hash and is not newer than this upload's session",
            ),
        }
    }
}

impl core::error::Error for Mismatch {}

/// What a Graph answer says of a stored file (drive item or print document JSON): its id,
/// name, size, the hashes in `file.hashes`, its web URL and when it was last modified. Property
/// names in any casing; what the answer leaves out is `None`.
///
/// The engine checks a stored file with it; a caller gets it for a completed upload from
/// [`Completion::stored_item`](crate::graph::Completion::stored_item), whose `item` keeps the
/// raw JSON.
///
/// ```
/// use resumable_core::digest::stored::{HashKind, StoredItem};
/// let item = StoredItem::parse_graph(
///     r#"{"id":"01ABC","name":"big.bin","size":11,"webUrl":"https://contoso.example/big.bin",
///         "file":{"hashes":{"quickXorHash":"aCgDG9jwBhDc4Q1yawMZAAAAAAA=","sha1Hash":"2AAE6C35C94FCFB415DBE95F408B9CE91EE846ED"}}}"#,
/// )
/// .unwrap();
/// assert_eq!(item.id.as_deref(), Some("01ABC"));
/// assert_eq!(item.name.as_deref(), Some("big.bin"));
/// assert_eq!(item.size, Some(11));
/// assert_eq!(item.web_url.as_deref(), Some("https://contoso.example/big.bin"));
/// assert_eq!(item.hash(HashKind::QuickXor), Some("aCgDG9jwBhDc4Q1yawMZAAAAAAA="));
/// assert_eq!(item.hash(HashKind::Sha1), Some("2AAE6C35C94FCFB415DBE95F408B9CE91EE846ED"));
/// assert_eq!(item.hash(HashKind::Sha256), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredItem {
    /// `id`, if given.
    pub id: Option<String>,
    /// `name`, if given.
    pub name: Option<String>,
    /// `size`, if given (a number, or a numeric string).
    pub size: Option<u64>,
    /// The hashes given, as written (`quickXorHash` base64, the others hex), in the order
    /// `quickXorHash`, `sha1Hash`, `crc32Hash`, `sha256Hash`; [`StoredItem::hash`] finds one.
    pub hashes: Vec<(HashKind, String)>,
    /// `webUrl`, if given: the item's page for a person (not a download link).
    pub web_url: Option<String>,
    /// `lastModifiedDateTime`, as written.
    pub modified: Option<String>,
}

impl StoredItem {
    /// Reads the item JSON. Not JSON, not an object, or a `size` that is not a number is
    /// [`Mismatch::Unreadable`].
    pub fn parse_graph(item: &str) -> Result<StoredItem, Mismatch> {
        let Ok(Value::Object(item)) = serde_json::from_str::<Value>(item) else {
            return Err(Mismatch::Unreadable);
        };
        let size = match property(&item, "size") {
            None | Some(Value::Null) => None,
            Some(value) => Some(size_of(value).ok_or(Mismatch::Unreadable)?),
        };
        let mut hashes = Vec::new();
        let listed = property(&item, "file")
            .and_then(Value::as_object)
            .and_then(|file| property(file, "hashes"))
            .and_then(Value::as_object);
        for kind in [
            HashKind::QuickXor,
            HashKind::Sha1,
            HashKind::Crc32,
            HashKind::Sha256,
        ] {
            match listed.and_then(|hashes| property(hashes, kind.name())) {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) if text.is_empty() => {}
                Some(Value::String(text)) => hashes.push((kind, text.clone())),
                Some(other) => hashes.push((kind, other.to_string())),
            }
        }
        let text = |name: &str| {
            property(&item, name)
                .and_then(Value::as_str)
                .map(String::from)
        };
        Ok(StoredItem {
            id: text("id"),
            name: text("name"),
            size,
            hashes,
            web_url: text("webUrl"),
            modified: text("lastModifiedDateTime"),
        })
    }

    /// The hash of `kind` the service reported, as written, if it did.
    pub fn hash(&self, kind: HashKind) -> Option<&str> {
        self.hashes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, value)| value.as_str())
    }

    /// Compares the size with the source's `total`; a missing size is a mismatch when
    /// `required`. Returns whether a size was compared.
    pub fn check_size(&self, total: u64, required: bool) -> Result<bool, Mismatch> {
        match self.size {
            Some(stored) if stored == total => Ok(true),
            Some(stored) => Err(Mismatch::Size {
                source: total,
                stored,
            }),
            None if required => Err(Mismatch::Unreadable),
            None => Ok(false),
        }
    }

    /// The costly hashes the item reports: those the source's hashes must hold for every
    /// reported hash to be compared.
    pub fn reported_kinds(&self) -> HashKinds {
        HashKinds {
            sha1: self.hashes.iter().any(|(k, _)| *k == HashKind::Sha1),
            sha256: self.hashes.iter().any(|(k, _)| *k == HashKind::Sha256),
        }
    }

    /// Compares the size and every hash given with the source's (a costly hash the source's
    /// hashes lack is listed as unchecked).
    pub fn check(
        &self,
        source: &SourceHashes,
        size_required: bool,
    ) -> Result<Verification, Mismatch> {
        let size = self.check_size(source.size, size_required)?;
        let mut hashes = Vec::new();
        let mut unchecked = Vec::new();
        for (kind, stored) in &self.hashes {
            if check_hash(*kind, stored, source)? {
                hashes.push(*kind);
            } else {
                unchecked.push(*kind);
            }
        }
        Ok(Verification {
            size,
            hashes,
            location: false,
            unchecked,
        })
    }
}

/// Checks a Graph item (drive item or print document JSON) against the source: `size` (which
/// must be there when `size_required`) and each of `file.hashes.{quickXorHash, sha1Hash,
/// crc32Hash, sha256Hash}` present. Property names in any casing.
///
/// ```
/// use resumable_core::digest::SourceHashes;
/// use resumable_core::digest::stored::{check_graph_item, HashKind, Mismatch};
/// let source = SourceHashes::of(b"hello world");
/// let item = r#"{"size": 11, "file": {"hashes": {"quickXorHash": "aCgDG9jwBhDc4Q1yawMZAAAAAAA="}}}"#;
/// let checked = check_graph_item(item, &source, true).unwrap();
/// assert_eq!(checked.hashes, vec![HashKind::QuickXor]);
/// assert_eq!(checked.to_string(), "size and quickXorHash checked");
/// let short = r#"{"size": 10}"#;
/// assert_eq!(check_graph_item(short, &source, true), Err(Mismatch::Size { source: 11, stored: 10 }));
/// assert_eq!(check_graph_item(r#"{"size": 11}"#, &source, true).unwrap().to_string(),
///     "size checked, no hash returned");
/// ```
pub fn check_graph_item(
    item: &str,
    source: &SourceHashes,
    size_required: bool,
) -> Result<Verification, Mismatch> {
    StoredItem::parse_graph(item)?.check(source, size_required)
}

/// Checks one reported hash against the source's: `Ok(true)` if it matches, `Ok(false)` if the
/// source's hashes lack that kind (not computed).
///
/// ```
/// use resumable_core::digest::SourceHashes;
/// use resumable_core::digest::stored::{check_hash, HashKind};
/// let source = SourceHashes::of(b"abc");
/// // crc32("abc") = 0x352441C2; OneDrive writes it little-endian.
/// assert_eq!(check_hash(HashKind::Crc32, "C2412435", &source), Ok(true));
/// assert_eq!(check_hash(HashKind::Crc32, "352441c2", &source), Ok(true));
/// assert!(check_hash(HashKind::Crc32, "00000000", &source).is_err());
/// ```
pub fn check_hash(kind: HashKind, stored: &str, source: &SourceHashes) -> Result<bool, Mismatch> {
    let stored = stored.trim();
    let matches = match kind {
        HashKind::QuickXor => stored == source.quick_xor_base64().as_str(),
        HashKind::Sha1 => match &source.sha1 {
            Some(sha1) => hex_eq(stored, sha1),
            None => return Ok(false),
        },
        HashKind::Crc32 => {
            hex_eq(stored, &source.crc32.to_be_bytes())
                || hex_eq(stored, &source.crc32.to_le_bytes())
        }
        HashKind::Sha256 => match &source.sha256 {
            Some(sha256) => {
                hex_eq(stored, sha256) || stored == super::Base64::<44>::encode(sha256).as_str()
            }
            None => return Ok(false),
        },
    };
    if matches {
        return Ok(true);
    }
    Err(Mismatch::Hash {
        kind,
        source: written(kind, source),
        stored: stored.chars().take(100).collect(),
    })
}

/// The source's hash as a service writes it.
fn written(kind: HashKind, source: &SourceHashes) -> String {
    match kind {
        HashKind::QuickXor => source.quick_xor_base64().as_str().into(),
        HashKind::Sha1 => source.sha1.map(|h| hex(&h)).unwrap_or_default(),
        HashKind::Crc32 => hex(&source.crc32.to_le_bytes()),
        HashKind::Sha256 => source.sha256.map(|h| hex(&h)).unwrap_or_default(),
    }
}

/// Upper-case hex, as Graph writes hashes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn hex_eq(text: &str, bytes: &[u8]) -> bool {
    text.len() == bytes.len() * 2
        && text
            .as_bytes()
            .chunks_exact(2)
            .zip(bytes)
            .all(|(pair, &b)| {
                let nibble = |c: u8| char::from(c).to_digit(16);
                matches!((nibble(pair[0]), nibble(pair[1])), (Some(h), Some(l)) if h * 16 + l == u32::from(b))
            })
}

/// A size written as a number (or, by some services, a numeric string).
fn size_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reported_hash_is_compared() {
        let source = SourceHashes::of(b"hello world");
        let good = alloc::format!(
            r#"{{"Size":11,"File":{{"Hashes":{{"quickXorHash":"{}","sha1Hash":"{}","crc32Hash":"{}","sha256Hash":"{}"}}}}}}"#,
            source.quick_xor_base64(),
            hex(&source.sha1.unwrap()),
            hex(&source.crc32.to_le_bytes()),
            hex(&source.sha256.unwrap()).to_lowercase(),
        );
        let checked = check_graph_item(&good, &source, true).unwrap();
        assert_eq!(checked.hashes.len(), 4);
        assert_eq!(
            checked.to_string(),
            "size, quickXorHash, sha1Hash, crc32Hash and sha256Hash checked"
        );
        for (name, wrong) in [
            ("quickXorHash", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ("sha1Hash", "0000000000000000000000000000000000000000"),
            ("crc32Hash", "00000000"),
            ("sha256Hash", "00"),
        ] {
            let bad = alloc::format!(r#"{{"size":11,"file":{{"hashes":{{"{name}":"{wrong}"}}}}}}"#);
            let error = check_graph_item(&bad, &source, true).unwrap_err();
            assert!(matches!(error, Mismatch::Hash { .. }), "{name}: {error}");
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn sizes_must_be_there_when_required_and_equal() {
        let source = SourceHashes::of(b"abc");
        assert_eq!(
            check_graph_item("{}", &source, true),
            Err(Mismatch::Unreadable)
        );
        assert_eq!(
            check_graph_item("not json", &source, false),
            Err(Mismatch::Unreadable)
        );
        assert_eq!(
            check_graph_item("{}", &source, false).unwrap().to_string(),
            "nothing returned to check"
        );
        assert_eq!(
            check_graph_item(r#"{"size":0}"#, &source, true),
            Err(Mismatch::Size {
                source: 3,
                stored: 0
            })
        );
        assert_eq!(
            check_graph_item(r#"{"size":"3"}"#, &source, true).map(|v| v.size),
            Ok(true)
        );
    }
}

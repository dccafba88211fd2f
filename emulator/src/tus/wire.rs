//! The header names the tus endpoints read and write, as the core's wire layer spells them,
//! and the readings of the values only a server checks: `Upload-Metadata` and
//! `Upload-Checksum`.

use std::collections::HashSet;
use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderName};
use resumable_core::digest::DigestAlgorithm;
use resumable_core::wire::tus_headers as names;

/// A header name as the core's wire layer spells it (the one place tus names are written).
fn tus_name(name: &'static str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|_| HeaderName::from_static("x-invalid"))
}

pub(super) static RESUMABLE: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::RESUMABLE));
pub(super) static VERSION: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::VERSION));
pub(super) static EXTENSION: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::EXTENSION));
pub(super) static MAX_SIZE: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::MAX_SIZE));
pub(super) static CHECKSUM_ALGORITHM: LazyLock<HeaderName> =
    LazyLock::new(|| tus_name(names::CHECKSUM_ALGORITHM));
pub(super) static OFFSET: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::OFFSET));
pub(super) static LENGTH: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::LENGTH));
pub(super) static DEFER_LENGTH: LazyLock<HeaderName> =
    LazyLock::new(|| tus_name(names::DEFER_LENGTH));
pub(super) static METADATA: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::METADATA));
pub(super) static EXPIRES: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::EXPIRES));
pub(super) static CHECKSUM: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::CHECKSUM));
pub(super) static COMPLETE: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::COMPLETE));
pub(super) static INTEROP_VERSION: LazyLock<HeaderName> =
    LazyLock::new(|| tus_name(names::INTEROP_VERSION));
pub(super) static LIMIT: LazyLock<HeaderName> = LazyLock::new(|| tus_name(names::LIMIT));
/// `X-HTTP-Method-Override`: tus servers must take a `POST` carrying it as that method (for
/// clients whose stack cannot send `PATCH` or `DELETE`).
pub(super) static METHOD_OVERRIDE: LazyLock<HeaderName> =
    LazyLock::new(|| HeaderName::from_static("x-http-method-override"));

/// The extensions `OPTIONS` lists: everything this server does.
pub(super) const EXTENSIONS: &str =
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum";

/// The checksum algorithms `OPTIONS` lists.
pub(super) const CHECKSUM_ALGORITHMS: &str = "crc32,sha1";

/// The IETF draft interop versions this server speaks.
pub(super) const INTEROP_VERSIONS: [u8; 2] = [6, 8];

/// A header's value as text, trimmed; `None` when absent or not visible ASCII.
pub(super) fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Whether the request's `Content-Type` is `media_type` (parameters and case aside).
pub(super) fn has_media_type(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media_type))
}

/// The bytes of standard, padded base64 (`None` if it is not that). An empty text is empty
/// bytes.
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let groups = bytes.len() / 4;
    for (i, group) in bytes.chunks_exact(4).enumerate() {
        let padding = group.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && i + 1 != groups) {
            return None;
        }
        let mut n = 0u32;
        for &c in &group[..4 - padding] {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * padding as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

/// Checks an `Upload-Metadata` value: comma-separated `key base64` pairs (the value and its
/// space may be left out), keys non-empty visible ASCII without commas, each key once, every
/// value valid base64. The refusal says which pair is wrong.
pub(super) fn check_metadata(value: &str) -> Result<(), String> {
    let mut keys = HashSet::new();
    for pair in value.split(',') {
        let pair = pair.trim();
        let mut parts = pair.split(' ');
        let key = parts.next().unwrap_or("");
        let encoded = parts.next().unwrap_or("");
        if parts.next().is_some() {
            return Err(format!(
                "Upload-Metadata pair `{pair}` is not `key base64value`"
            ));
        }
        if !names::is_metadata_key(key) {
            return Err(format!(
                "Upload-Metadata key `{key}` is empty or holds a character keys cannot"
            ));
        }
        if !keys.insert(key) {
            return Err(format!("Upload-Metadata key `{key}` is given twice"));
        }
        if decode_base64(encoded).is_none() {
            return Err(format!(
                "Upload-Metadata value of `{key}` is not base64 (standard alphabet, padded)"
            ));
        }
    }
    Ok(())
}

/// An `Upload-Checksum`: the algorithm and the digest the body must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Checksum {
    pub(super) algorithm: DigestAlgorithm,
    pub(super) digest: Vec<u8>,
}

/// Reads `Upload-Checksum: <algorithm> <base64 digest>`: `None` when the request has none; a
/// refusal's reason when the algorithm is not offered or the digest is malformed (both
/// `400`).
pub(super) fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, String> {
    let Some(value) = header(headers, &CHECKSUM) else {
        return Ok(None);
    };
    let (name, encoded) = value.split_once(' ').unwrap_or((value, ""));
    let Some(algorithm) = DigestAlgorithm::from_name(name) else {
        return Err(format!(
            "checksum algorithm `{name}` is not supported: this server offers {CHECKSUM_ALGORITHMS}"
        ));
    };
    let expected_len = match algorithm {
        DigestAlgorithm::Crc32 => 4,
        DigestAlgorithm::Sha1 => 20,
    };
    match decode_base64(encoded.trim()) {
        Some(digest) if digest.len() == expected_len => Ok(Some(Checksum { algorithm, digest })),
        _ => Err(format!(
            "Upload-Checksum must be `{algorithm} <base64 of the {expected_len}-byte digest>`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_padded_standard_text_only() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_base64("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(
            decode_base64("5LiW55WMLnR4dA==").unwrap(),
            "世界.txt".as_bytes()
        );
        for bad in [
            "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!mFy", "Zm9-YmFy", "Zm 9",
        ] {
            assert!(decode_base64(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn metadata_pairs_are_checked() {
        assert!(
            check_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential").is_ok()
        );
        assert!(check_metadata("a ,b Zg==").is_ok());
        for bad in ["", "a Zg==,", "a Zg==,a Zg==", "a !!", "a Zg== x", "é Zg=="] {
            assert!(check_metadata(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksums_name_an_offered_algorithm_and_a_digest_of_its_size() {
        let mut headers = HeaderMap::new();
        assert_eq!(checksum(&headers), Ok(None));
        headers.insert(CHECKSUM.clone(), "crc32 DUoRhQ==".parse().unwrap());
        assert_eq!(
            checksum(&headers).unwrap().unwrap(),
            Checksum {
                algorithm: DigestAlgorithm::Crc32,
                digest: vec![0x0d, 0x4a, 0x11, 0x85]
            }
        );
        for bad in ["md5 DUoRhQ==", "sha1 DUoRhQ==", "crc32 !!", "crc32"] {
            headers.insert(CHECKSUM.clone(), bad.parse().unwrap());
            assert!(checksum(&headers).is_err(), "{bad}");
        }
    }
}

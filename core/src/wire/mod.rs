//! The protocols' vocabulary: header names, answer and error parsing, URL building. The
//! engines speak through it, so a header is spelled once.
//!
//! | module | holds |
//! |---|---|
//! | [`graph_answer`] | Graph upload-session answers: `nextExpectedRanges`, `expirationDateTime`, `uploadUrl` |
//! | [`tus_headers`] | tus 1.0 and IETF resumable-upload header names and value readings |
//! | [`workbook_headers`] | the workbook session header |
//! | [`wopi_headers`] | WOPI header names and `X-WOPI-Override` values, as the engine sends and reads them and the emulator checks them |

pub mod graph_answer;
pub mod tus_headers;
pub mod wopi_headers;
pub mod workbook_headers;

/// Every header the machines put on a request, and whether its value is a credential (sent
/// marked sensitive, never printed). Transports that rebuild a request from another client's
/// type keep only these.
#[cfg(feature = "http")]
pub(crate) const REQUEST_HEADERS: &[(&str, bool)] = &[
    ("Content-Type", false),
    ("Content-Range", false),
    ("Prefer", false),
    ("if-match", false),
    ("if-none-match", false),
    (wopi_headers::OVERRIDE, false),
    (wopi_headers::RANGE_OFFSET, false),
    (wopi_headers::RANGE_LENGTH, false),
    (wopi_headers::SEQUENCE_NUMBER, false),
    (wopi_headers::LOCK, true),
    (wopi_headers::COAUTH_LOCK_ID, true),
    (wopi_headers::SESSION_TOKEN, true),
    (workbook_headers::SESSION_HEADER, true),
    (tus_headers::RESUMABLE, false),
    (tus_headers::OFFSET, false),
    (tus_headers::LENGTH, false),
    (tus_headers::DEFER_LENGTH, false),
    (tus_headers::METADATA, false),
    (tus_headers::CHECKSUM, false),
    (tus_headers::COMPLETE, false),
    (tus_headers::INTEROP_VERSION, false),
];

//! The protocols' vocabulary: header names, answer and error parsing, URL building. The
//! engines speak through it, so a header is spelled once.
//!
//! | module | holds |
//! |---|---|
//! | [`graph_answer`] | Graph upload-session answers: `nextExpectedRanges`, `expirationDateTime`, `uploadUrl` |
//! | `wopi_headers` (internal) | WOPI header names, the `X-WOPI-*` values the engine sends and reads |

pub mod graph_answer;
pub(crate) mod wopi_headers;

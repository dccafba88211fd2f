//! The protocols' vocabulary: header names, answer and error parsing, URL building. The
//! engines speak through it, so a header is spelled once.
//!
//! | module | holds |
//! |---|---|
//! | [`graph_answer`] | Graph upload-session answers: `nextExpectedRanges`, `expirationDateTime`, `uploadUrl` |
//! | [`wopi_headers`] | WOPI header names and `X-WOPI-Override` values, as the engine sends and reads them and the emulator checks them |

pub mod graph_answer;
pub mod wopi_headers;

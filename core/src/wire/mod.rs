//! The protocols' vocabulary: header names, answer and error parsing, URL building. The
//! engines, the emulator and the command-line tool all speak through it, so a header is
//! spelled once.
//!
//! | module | holds |
//! |---|---|
//! | [`graph_answer`] | Graph upload-session answers: `nextExpectedRanges`, `expirationDateTime`, `uploadUrl`, error codes |
//! | [`wopi_headers`] | WOPI header names, the `X-WOPI-*` values the engine sends and reads |

pub mod graph_answer;
pub mod wopi_headers;

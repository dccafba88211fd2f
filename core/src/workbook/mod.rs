//! Graph workbook sessions: the answers the service gives and the URLs it names.
//!
//! A workbook session makes a series of Excel API calls cheap and consistent. This module reads
//! what the service answers when sessions are created: Graph error objects with their chain of
//! inner codes, the `invalidSession…` codes, the status of a long-running creation, the session
//! resource, and the URLs it names (resolved as RFC 3986 says).

// The readers below are crate-private; the session machine that uses them is not here yet.
#![allow(dead_code)]

mod error;
mod graph_error;
mod invalid_session;
mod operation;
mod property;
mod session_info;
mod url;

pub use error::AnswerProblem;
pub use graph_error::GraphError;
pub use invalid_session::InvalidSessionCode;
pub use operation::OperationStatus;
pub use url::{WorkbookUrl, WorkbookUrlError};

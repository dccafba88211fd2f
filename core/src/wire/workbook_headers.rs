//! The header that names a Graph workbook session.

/// The header that names the session on every workbook request (a credential: it is sent
/// marked sensitive).
pub const SESSION_HEADER: &str = "workbook-session-id";

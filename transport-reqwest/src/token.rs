//! Bearer tokens for the service API (session creation, explicit commits).
//!
//! Requests to an upload URL never carry a token; only requests the core marks
//! [`Auth::Bearer`](resumable_core::http::Auth::Bearer) do. The transport asks the caller's
//! [`TokenProvider`] for a token before each such request, and once more with `refresh: true`
//! when the service answers 401, so an expired token is renewed without failing the upload.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use resumable_core::secret::Secret;

/// Supplies bearer tokens.
///
/// ```
/// use futures::future::BoxFuture;
/// use resumable_core::secret::Secret;
/// use resumable_reqwest::token::{TokenError, TokenProvider};
///
/// struct FromEnvironment;
/// impl TokenProvider for FromEnvironment {
///     fn token(&self, _refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
///         Box::pin(async {
///             std::env::var("GRAPH_TOKEN")
///                 .map(Secret::new)
///                 .map_err(|_| TokenError::new("GRAPH_TOKEN is not set"))
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync {
    /// A token for the next request. `refresh` is true when the service rejected the last token
    /// (401): return a new one if you can.
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>>;
}

/// A fixed token (a token given on the command line).
#[derive(Clone, Debug)]
pub(crate) struct StaticToken(Secret);

impl StaticToken {
    /// A provider that always returns `token`.
    pub(crate) fn new(token: Secret) -> Self {
        StaticToken(token)
    }
}

impl TokenProvider for StaticToken {
    fn token(&self, _refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
        (**self).token(refresh)
    }
}

/// A token could not be obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError(String);

impl TokenError {
    /// An error with a message saying what went wrong (never the token itself).
    pub fn new(message: impl Into<String>) -> Self {
        TokenError(message.into())
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no access token: {}", self.0)
    }
}

impl std::error::Error for TokenError {}

//! Opening a workbook session: the URL, the session's configuration, the credentials, the
//! limits; then the background task.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use resumable_core::secret::Secret;
use resumable_core::workbook::{
    ConfigError, WorkbookConfig, WorkbookEvent, WorkbookSession as SessionMachine, WorkbookUrl,
};
use tokio::sync::{mpsc, watch};

use super::caller::{CallSender, WorkbookCaller};
use super::handle::WorkbookSession;
use super::state::SessionState;
use super::task::{self, TaskOutputs, WorkbookEventCallback};
use crate::clock::Clock;
use crate::exchange::{Exchange, HttpClients};
use crate::timeouts::TimeoutPolicy;
use crate::token::{StaticToken, TokenProvider};
use resumable_core::workbook::REQUEST_TIME_LIMIT;
use resumable_io::source::BytesSource;

/// The longest answer to a caller's request that is read by default: a large range read is a
/// few megabytes; more than this is a runaway answer.
const DEFAULT_MAX_ANSWER_LEN: usize = 64 << 20;

impl WorkbookSession {
    /// Configures a session on the workbook at `url` (`…/items/{id}/workbook`).
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use resumable_core::secret::Secret;
    /// use resumable_core::workbook::{WorkbookConfig, WorkbookUrl};
    /// use resumable_reqwest::workbook::WorkbookSession;
    ///
    /// let url = WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook")?;
    /// let session = WorkbookSession::builder(url)
    ///     .config(WorkbookConfig { respond_async: true, ..WorkbookConfig::new(false) })
    ///     .token(Secret::new("eyJ0eXAi..."))
    ///     .open()?;
    /// session.ready().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: WorkbookUrl) -> WorkbookSessionBuilder {
        WorkbookSessionBuilder::new(url)
    }
}

/// Configures and opens a [`WorkbookSession`]; made by [`WorkbookSession::builder`].
pub struct WorkbookSessionBuilder {
    url: WorkbookUrl,
    config: WorkbookConfig,
    api_client: Option<reqwest::Client>,
    tokens: Option<Arc<dyn TokenProvider>>,
    timeouts: TimeoutPolicy,
    callback: Option<WorkbookEventCallback>,
    call_time_limit: Duration,
    max_answer_len: usize,
}

impl fmt::Debug for WorkbookSessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkbookSessionBuilder")
            .field("url", &self.url)
            .field("config", &self.config)
            .field("has_tokens", &self.tokens.is_some())
            .field("call_time_limit", &self.call_time_limit)
            .finish_non_exhaustive()
    }
}

impl WorkbookSessionBuilder {
    pub(crate) fn new(url: WorkbookUrl) -> Self {
        WorkbookSessionBuilder {
            url,
            config: WorkbookConfig::default(),
            api_client: None,
            tokens: None,
            timeouts: TimeoutPolicy::default(),
            callback: None,
            call_time_limit: REQUEST_TIME_LIMIT,
            max_answer_len: DEFAULT_MAX_ANSWER_LEN,
        }
    }

    /// The session's configuration: persistent or not, `Prefer: respond-async`, the inactivity
    /// limits the keep-alive is scheduled from, polling, retries. Default:
    /// [`WorkbookConfig::default`] (persistent, created synchronously, 5/7-minute limits).
    pub fn config(mut self, config: WorkbookConfig) -> Self {
        self.config = config;
        self
    }

    /// Gets bearer tokens from `provider` (asked again with `refresh` after a `401`).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// Uses one fixed bearer token.
    pub fn token(self, token: Secret) -> Self {
        self.token_provider(StaticToken::new(token))
    }

    /// Sends every request (the session's and the caller's) through `client`.
    pub fn api_client(mut self, client: reqwest::Client) -> Self {
        self.api_client = Some(client);
        self
    }

    /// The connect and idle limits of this crate's own client.
    pub fn timeouts(mut self, timeouts: TimeoutPolicy) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Calls `callback` with every event, on the session's task, before the event goes to the
    /// stream.
    pub fn on_event(mut self, callback: impl FnMut(&WorkbookEvent) + Send + 'static) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// How long one of the caller's requests may take, answer included (default 120 s).
    pub fn call_time_limit(mut self, limit: Duration) -> Self {
        self.call_time_limit = limit;
        self
    }

    /// The longest answer to a caller's request that is read (default 64 MiB); a longer one is
    /// [`CallError::AnswerTooLarge`](super::CallError::AnswerTooLarge).
    pub fn max_answer_len(mut self, limit: usize) -> Self {
        self.max_answer_len = limit;
        self
    }

    /// Starts the session's task on the current tokio runtime and returns the handle at once;
    /// the session is created in the background ([`WorkbookSession::ready`] waits for it).
    pub fn open(self) -> Result<WorkbookSession, OpenError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| OpenError::NoRuntime)?;
        let tokens = self.tokens.ok_or(OpenError::NoToken)?;
        let clients = match self.api_client {
            Some(api) => HttpClients::with_api_client(api, &self.timeouts),
            None => HttpClients::new(&self.timeouts),
        }
        .map_err(OpenError::Client)?;
        let clock = Clock::new();
        let machine = SessionMachine::create(self.url.clone(), self.config, clock.now())
            .map_err(OpenError::Config)?;
        let http = Arc::new(CallSender {
            client: clients.api().clone(),
            tokens: tokens.clone(),
            workbook: self.url.as_str().to_owned(),
            time_limit: self.call_time_limit,
            max_answer_len: self.max_answer_len,
        });
        // Workbook requests carry JSON or nothing; the exchange never reads this source.
        let exchange = Arc::new(Exchange::new(
            clients,
            Some(tokens),
            Arc::new(BytesSource::new(Bytes::new())),
            self.timeouts,
        ));
        let (state_sender, state) = watch::channel(SessionState::Creating);
        let state_sender = Arc::new(state_sender);
        let (events_sender, events) = mpsc::unbounded_channel();
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let task = runtime.spawn(task::run(
            machine,
            exchange,
            clock,
            command_receiver,
            TaskOutputs {
                state: state_sender.clone(),
                events: events_sender,
                callback: self.callback,
            },
        ));
        let caller = WorkbookCaller {
            commands,
            state,
            state_sender,
            http,
        };
        Ok(WorkbookSession::new(self.url, caller, events, task))
    }
}

/// Why a session could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// No token provider: creating a session needs a bearer token.
    NoToken,
    /// The configuration cannot work (a zero inactivity limit or poll interval).
    Config(ConfigError),
    /// The HTTP client could not be built.
    Client(reqwest::Error),
    /// Not called within a tokio runtime.
    NoRuntime,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NoToken => f.write_str("opening a workbook session needs an access token"),
            OpenError::Config(error) => write!(f, "invalid workbook session settings: {error}"),
            OpenError::Client(error) => write!(f, "cannot build the HTTP client: {error}"),
            OpenError::NoRuntime => f.write_str("a workbook session needs a tokio runtime"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Config(error) => Some(error),
            OpenError::Client(error) => Some(error),
            _ => None,
        }
    }
}

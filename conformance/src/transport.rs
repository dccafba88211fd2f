//! What a transport does for the suite, and what it reports back.

use std::path::PathBuf;

use resumable_core::workbook::{CallOutcome, WorkbookConfig};

use crate::harness::Env;

/// A transport under test.
pub trait Transport {
    /// Its name, for messages.
    fn name(&self) -> &'static str;

    /// Uploads `run.source` into a Graph drive upload session created at `run.create_url`,
    /// with [`quick_graph`](crate::quick_graph) settings.
    fn graph(&self, env: &Env, run: &GraphRun) -> Outcome;

    /// Uploads `run.source` to the WOPI file at `run.file_url`, with
    /// [`quick_wopi`](crate::quick_wopi) settings.
    fn wopi(&self, env: &Env, run: &WopiRun) -> Outcome;

    /// Opens a workbook session, waits for `run.refreshes` refreshes, reads the worksheets
    /// under it, and closes it.
    fn workbook(&self, env: &Env, run: &WorkbookRun) -> WorkbookOutcome;
}

/// One Graph upload.
#[derive(Clone, Debug)]
pub struct GraphRun {
    /// The `createUploadSession` URL.
    pub create_url: String,
    /// The file to upload.
    pub source: PathBuf,
    /// The fragment size.
    pub fragment: u64,
    /// Where to keep a checkpoint (and resume from it), if anywhere.
    pub checkpoint: Option<PathBuf>,
    /// What to do partway, if anything.
    pub interrupt: Option<Interrupt>,
}

/// One WOPI upload.
#[derive(Clone, Debug)]
pub struct WopiRun {
    /// The file URL, `access_token` included.
    pub file_url: String,
    /// The file to upload.
    pub source: PathBuf,
    /// The range size.
    pub range: u64,
    /// Where to keep a checkpoint (and resume from it), if anywhere.
    pub checkpoint: Option<PathBuf>,
    /// What to do partway, if anything.
    pub interrupt: Option<Interrupt>,
}

/// What the caller does to an upload partway, once a number of fragments (Graph) or ranges
/// (WOPI) are confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// Stop, as a crash would: the session and the checkpoint are kept, to resume.
    StopAfter(u32),
    /// Cancel: the upload ends and a Graph session is deleted.
    CancelAfter(u32),
}

impl Interrupt {
    /// What to do once the `confirmed`-th fragment or range is confirmed, if anything.
    pub fn at(interrupt: Option<Interrupt>, confirmed: u32) -> Option<Interrupt> {
        interrupt.filter(|interrupt| match interrupt {
            Interrupt::StopAfter(n) | Interrupt::CancelAfter(n) => *n == confirmed,
        })
    }
}

/// How an upload began, whatever the transport calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// Without a checkpoint.
    Fresh,
    /// From a checkpoint that recorded `confirmed` bytes.
    Resumed {
        /// Bytes the checkpoint recorded as confirmed.
        confirmed: u64,
    },
    /// The checkpoint could not be used; the upload started over.
    Restarted,
    /// The checkpoint says the upload completed.
    AlreadyCompleted,
    /// The upload did not start.
    NotStarted,
}

/// How an upload ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The service holds the file, checked: what was checked.
    Completed {
        /// The completion's verification, as the core prints it.
        verified: String,
    },
    /// Stopped on request.
    Stopped,
    /// Cancelled on request.
    Cancelled,
    /// It failed, with this one-line message.
    Failed(String),
}

/// What a transport reports of one upload.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How it began.
    pub start: Start,
    /// How it ended.
    pub ending: Ending,
    /// Source bytes handed to connections.
    pub bytes_sent: u64,
    /// Sessions made or used.
    pub sessions: u32,
    /// The confirmed bytes of the source the transport reported on the way (Graph uploads).
    pub progress: Vec<u64>,
}

impl Outcome {
    /// The outcome of an upload that could not start.
    pub fn not_started(message: String) -> Outcome {
        Outcome {
            start: Start::NotStarted,
            ending: Ending::Failed(message),
            bytes_sent: 0,
            sessions: 0,
            progress: Vec::new(),
        }
    }

    /// Whether it completed.
    pub fn completed(&self) -> bool {
        matches!(self.ending, Ending::Completed { .. })
    }
}

/// One workbook session.
#[derive(Clone, Debug)]
pub struct WorkbookRun {
    /// The workbook URL.
    pub url: String,
    /// The session's configuration.
    pub config: WorkbookConfig,
    /// Refreshes to wait for before the call.
    pub refreshes: usize,
}

/// What a transport reports of one workbook session.
#[derive(Clone, Debug)]
pub struct WorkbookOutcome {
    /// The names of the events, in order.
    pub events: Vec<&'static str>,
    /// Whether the session id stayed the same from `ready` to the call.
    pub same_session: bool,
    /// The call's status and what it meant.
    pub call: (u16, CallOutcome),
    /// How the close went.
    pub closed: Result<(), String>,
}

impl WorkbookOutcome {
    /// How many events called `name` came.
    pub fn count(&self, name: &str) -> usize {
        self.events.iter().filter(|event| **event == name).count()
    }
}

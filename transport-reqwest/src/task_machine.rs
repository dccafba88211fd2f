//! What an [`UploadTask`](crate::UploadTask) needs of its machine: the core's
//! [`Transfer`] contract, with values that can cross to the task's thread.

use resumable_core::session::Transfer;

use crate::outcome::FailureCause;

/// A machine an [`UploadTask`](crate::UploadTask) can run: any core [`Transfer`] (the Graph
/// upload, the WOPI upload) whose events, completion and errors can cross threads.
pub trait TaskMachine:
    Transfer<Event: Clone + Send + 'static, Completion: Send + 'static, Error: Into<FailureCause>>
    + Send
    + 'static
{
}

impl<M> TaskMachine for M where
    M: Transfer<
            Event: Clone + Send + 'static,
            Completion: Send + 'static,
            Error: Into<FailureCause>,
        > + Send
        + 'static
{
}

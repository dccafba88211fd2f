//! The async runtime the network commands run on.

use std::future::Future;

use crate::error::CliError;

/// Runs `command` on a multi-threaded tokio runtime and returns its result.
pub(crate) fn block_on(
    command: impl Future<Output = Result<(), CliError>>,
) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(command)
}

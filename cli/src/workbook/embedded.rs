//! The emulator `resumable workbook open` starts on 127.0.0.1 when it is given no URL.
//!
//! Its clock runs [`TIME_SCALE`] times faster than real time, so the documented five-minute
//! inactivity limit is two seconds and a ten-second hold shows about ten refreshes. Creating a
//! session takes a minute of service time (0.4 s), which is long enough for `--async` to get a
//! long-running operation to poll.

use std::time::Duration;

use resumable_core::workbook::{InactivityLimits, WorkbookUrl};
use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, StorageMode, TimeScale, WorkbookConfig,
};

use crate::duration::format_seconds;
use crate::error::CliError;

/// How much faster than real time the embedded emulator's clock runs.
pub(crate) const TIME_SCALE: f64 = 150.0;

/// The token sent to the embedded emulator (it accepts any).
pub(crate) const TOKEN: &str = "embedded-emulator";

/// The item whose workbook the session is opened on.
const ITEM: &str = "01EMBEDDEDWORKBOOK";

/// How long the emulator takes to create a session, in service time.
const CREATION_DELAY: Duration = Duration::from_secs(60);

/// The poll interval Microsoft suggests for long-running operations, in service time.
const POLL_INTERVAL: Duration = Duration::from_secs(30);

/// A running emulator with a fast clock.
pub(crate) struct Embedded {
    handle: EmulatorHandle,
    scale: TimeScale,
    workbook: WorkbookConfig,
}

impl Embedded {
    /// Starts the emulator on a free loopback port.
    pub(crate) async fn start() -> Result<Embedded, CliError> {
        let scale = TimeScale::new(TIME_SCALE).ok_or_else(|| {
            CliError::Invalid(format!("{TIME_SCALE} is not a valid emulator time scale"))
        })?;
        let workbook = WorkbookConfig {
            creation_delay: CREATION_DELAY,
            ..WorkbookConfig::default()
        };
        let config = EmulatorConfig {
            workbook: workbook.clone(),
            ..EmulatorConfig::default()
        }
        .with_storage(StorageMode::Discard)
        .with_time_scale(scale);
        let handle = Emulator::start(config)
            .await
            .map_err(|e| CliError::Invalid(format!("cannot start the embedded emulator: {e}")))?;
        Ok(Embedded {
            handle,
            scale,
            workbook,
        })
    }

    /// The workbook the session is opened on.
    pub(crate) fn workbook_url(&self) -> Result<WorkbookUrl, CliError> {
        WorkbookUrl::new(self.handle.workbook_url(ITEM))
            .map_err(|e| CliError::Invalid(format!("the embedded emulator's workbook URL: {e}")))
    }

    /// The emulator's inactivity limit in real time: the shorter of its two (scaled) limits,
    /// which is what the keep-alive schedules from by default.
    pub(crate) fn inactivity_limit(&self) -> Duration {
        self.scale.real(
            self.workbook
                .persistent_idle
                .min(self.workbook.non_persistent_idle),
        )
    }

    /// Microsoft's suggested poll interval, in the emulator's time.
    pub(crate) fn poll_interval(&self) -> Duration {
        self.scale.real(POLL_INTERVAL)
    }

    /// The line on standard error that says where the session is, how fast the clock runs, and
    /// what the keep-alive assumes.
    pub(crate) fn announcement(&self, assumed: InactivityLimits) -> String {
        format!(
            "no WORKBOOK_URL given: opening the session on an emulator on {} for this command; its clock runs {TIME_SCALE}x fast, so idle sessions expire after {} (persistent) or {} (non-persistent) instead of 5 or 7 minutes; the keep-alive assumes {}",
            self.handle.base_url(),
            format_seconds(self.scale.real(self.workbook.persistent_idle)),
            format_seconds(self.scale.real(self.workbook.non_persistent_idle)),
            format_seconds(assumed.limit_for(true)),
        )
    }
}

//! `resumable workbook open`: open a Graph workbook session, keep it alive for a while, close it.
//!
//! The command shows the keep-alive at work: the session is refreshed before the service's
//! inactivity limit, replaced if the service drops it, and closed at the end (or on Ctrl-C).
//! Without a URL it runs against an emulator started inside this process, whose clock runs
//! fast so that a few seconds show several refreshes.

use std::time::Duration;

use clap::{Args, Subcommand};
use futures::StreamExt;
use resumable_core::secret::Secret;
use resumable_core::workbook::{InactivityLimits, WorkbookConfig, WorkbookEvent, WorkbookUrl};
use resumable_reqwest::workbook::WorkbookSession;

use crate::duration::parse_duration;
use crate::error::CliError;

mod advice;
mod embedded;
mod report;
mod target;

use report::{Ending, Report};

/// The `workbook` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkbookCommand {
    /// Open a workbook session, keep it alive for --hold, print what happens, then close it.
    /// Without WORKBOOK_URL it runs against an emulator started for the command.
    Open(OpenArgs),
}

/// `resumable workbook open` options.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// The workbook's base URL, such as
    /// `https://graph.microsoft.com/v1.0/me/drive/items/{item-id}/workbook` or
    /// `…/me/drive/root:/{path}:/workbook`. Without it, the session is opened on an emulator
    /// started on 127.0.0.1 for this command, whose clock runs 150 times faster.
    #[arg(value_name = "WORKBOOK_URL")]
    url: Option<String>,
    /// Changes made in the session are saved to the workbook (the default).
    #[arg(long, overrides_with = "no_persist")]
    persist: bool,
    /// Changes are made to a temporary copy, thrown away with the session.
    #[arg(long, overrides_with = "persist")]
    no_persist: bool,
    /// Ask for a long-running creation (`Prefer: respond-async`): the service may answer 202
    /// and an operation, which is polled until it succeeds.
    #[arg(long = "async")]
    respond_async: bool,
    /// The bearer token. Prefer the environment variable: a command line is visible to other
    /// users of the machine.
    #[arg(
        long,
        env = "RESUMABLE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// The inactivity limit the keep-alive is scheduled from, such as 5m (default: 5m, the
    /// shorter documented limit; on the embedded emulator, its scaled 2s). Refreshes go out a
    /// minute before it, or at half of it if it is shorter than two minutes.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    inactivity: Option<Duration>,
    /// How long to keep the session open once it exists, such as 30s or 10m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    hold: Duration,
    /// Blind retries of a failing request (429, 5xx, no answer) before giving up.
    #[arg(long, value_name = "N", default_value_t = 10)]
    retries: u32,
    /// One JSON object per line for each event (created, polling, refreshed, expired,
    /// recreated, retrying, closed, failed), then a summary object.
    #[arg(long)]
    json: bool,
}

impl OpenArgs {
    fn persist(&self) -> bool {
        !self.no_persist
    }
}

/// Runs a `workbook` subcommand.
pub(crate) fn run(command: WorkbookCommand) -> Result<(), CliError> {
    let WorkbookCommand::Open(args) = command;
    let json = args.json;
    let mut opened = false;
    let result = crate::runtime::block_on(async {
        // The outer error: the session could not be opened and nothing was printed yet.
        let outcome = open(args).await;
        opened = outcome.is_ok();
        outcome.unwrap_or_else(Err)
    });
    match result {
        Err(error) if json && !opened => {
            report::print_start_failure(&error)?;
            Err(error)
        }
        other => other,
    }
}

/// Where the session is opened, with what token, and the emulator that serves it if it was
/// started here.
struct Destination {
    url: WorkbookUrl,
    token: Secret,
    config: WorkbookConfig,
    emulator: Option<embedded::Embedded>,
}

/// Opens, holds and closes the session. `Err` if it could not be opened (nothing printed yet);
/// `Ok` with how it ended (already printed) otherwise.
async fn open(args: OpenArgs) -> Result<Result<(), CliError>, CliError> {
    if args.inactivity.is_some_and(|limit| limit.is_zero()) {
        return Err(CliError::Invalid(
            "--inactivity must be longer than zero (the documented limits are 5m for persistent sessions and 7m for non-persistent ones)".into(),
        ));
    }
    let destination = destination(&args).await?;
    if let Some(emulator) = &destination.emulator {
        crate::upload::eprintln_line(&emulator.announcement(destination.config.inactivity));
    }
    // The report's clock starts just before the session's, so an event is never printed at a
    // time earlier than the session's clock says it happened (`next_refresh` is on the latter).
    let mut report = Report::new(args.json);
    let mut session = WorkbookSession::builder(destination.url)
        .config(destination.config)
        .token(destination.token)
        .open()
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let ended = hold_and_close(&mut session, &mut report, args.hold).await;
    // The emulator serves the session until it is closed.
    drop(destination.emulator);
    Ok(ended)
}

/// Holds the session, closes it, prints the last events and the summary, and says how it
/// ended: `Ok` if it was held for the whole time and closed.
async fn hold_and_close(
    session: &mut WorkbookSession,
    report: &mut Report,
    duration: Duration,
) -> Result<(), CliError> {
    let (ending, held) = hold(session, report, duration).await?;
    let closed = session.close().await;
    while let Some(event) = session.next().await {
        report.event(&event)?;
    }
    let ending = match (ending, &closed) {
        (Ending::Closed, Err(_)) => Ending::Failed,
        (ending, _) => ending,
    };
    report.summary(ending, held)?;
    match (ending, closed) {
        (_, Err(error)) => Err(CliError::Invalid(advice::for_session_error(&error))),
        (Ending::Interrupted, Ok(())) => Err(CliError::Invalid(
            "interrupted; the workbook session was closed".into(),
        )),
        _ => Ok(()),
    }
}

/// Prints events until the session has been held for `hold` after its creation, it failed, or
/// Ctrl-C. Gives how it ended and how long the session was held.
async fn hold(
    session: &mut WorkbookSession,
    report: &mut Report,
    hold: Duration,
) -> Result<(Ending, Duration), CliError> {
    let mut created_at: Option<tokio::time::Instant> = None;
    let held = |created_at: Option<tokio::time::Instant>| {
        created_at.map_or(Duration::ZERO, |at| at.elapsed())
    };
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    loop {
        let hold_end = created_at.map(|at| at + hold);
        tokio::select! {
            event = session.next() => {
                let Some(event) = event else {
                    return Ok((Ending::Interrupted, held(created_at)));
                };
                report.event(&event)?;
                match event {
                    WorkbookEvent::Created { .. } => created_at = Some(tokio::time::Instant::now()),
                    WorkbookEvent::Failed(_) => return Ok((Ending::Failed, held(created_at))),
                    WorkbookEvent::Closed { .. } => return Ok((Ending::Closed, held(created_at))),
                    _ => {}
                }
            }
            () = sleep_until(hold_end) => return Ok((Ending::Closed, hold)),
            _ = &mut interrupt => {
                crate::upload::eprintln_line(
                    "interrupted: closing the workbook session (Ctrl-C again to exit now)",
                );
                tokio::spawn(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        crate::upload::eprintln_line("interrupted again: exiting now");
                        std::process::exit(130);
                    }
                });
                return Ok((Ending::Interrupted, held(created_at)));
            }
        }
    }
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The workbook, token and session configuration the options describe.
async fn destination(args: &OpenArgs) -> Result<Destination, CliError> {
    let mut config = WorkbookConfig {
        respond_async: args.respond_async,
        ..WorkbookConfig::new(args.persist())
    };
    config.retry.max_attempts = args.retries;
    let Some(url) = &args.url else {
        let emulator = embedded::Embedded::start().await?;
        config.inactivity = InactivityLimits::uniform(emulator.inactivity_limit());
        config.poll_interval = emulator.poll_interval();
        if let Some(limit) = args.inactivity {
            config.inactivity = InactivityLimits::uniform(limit);
        }
        return Ok(Destination {
            url: emulator.workbook_url()?,
            token: Secret::new(embedded::TOKEN),
            config,
            emulator: Some(emulator),
        });
    };
    let url = target::workbook_url(url)?;
    let token = args.token.clone().map(Secret::new).ok_or_else(|| {
        CliError::Invalid(
            "opening a workbook session needs an access token: set RESUMABLE_TOKEN (or pass --token)".into(),
        )
    })?;
    if let Some(limit) = args.inactivity {
        config.inactivity = InactivityLimits::uniform(limit);
    }
    Ok(Destination {
        url,
        token,
        config,
        emulator: None,
    })
}

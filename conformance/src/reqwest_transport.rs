//! `resumable-reqwest` under the suite: its async API, run on the scenario's runtime.

use std::time::Duration;

use futures::StreamExt;
use resumable_core::graph::{Destination, DriveItem, Event, Target};
use resumable_core::secret::Secret;
use resumable_core::session::Resumption;
use resumable_core::wopi::WopiEvent;
use resumable_core::workbook::WorkbookUrl;
use resumable_reqwest::driver::TaskMachine;
use resumable_reqwest::source::FileSource;
use resumable_reqwest::workbook::{WorkbookRequest, WorkbookSession};
use resumable_reqwest::{
    FailureCause, FileCheckpointStore, UploadFailure, UploadJob, UploadSummary, UploadTask,
    Uploader, WopiJob,
};

use crate::harness::{Env, quick_graph, quick_wopi};
use crate::transport::{
    Ending, GraphRun, Interrupt, Outcome, Start, Transport, WopiRun, WorkbookOutcome, WorkbookRun,
};

/// The bearer token the emulator is given.
const TOKEN: &str = "conformance-token";

/// How long a scenario waits for workbook events before it gives up on the transport.
const EVENT_PATIENCE: Duration = Duration::from_secs(20);

/// The async transport over reqwest and tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReqwestTransport;

impl Transport for ReqwestTransport {
    fn name(&self) -> &'static str {
        "resumable-reqwest"
    }

    fn graph(&self, env: &Env, run: &GraphRun) -> Outcome {
        env.runtime().block_on(async {
            let uploader = Uploader::builder()
                .token(Secret::new(TOKEN))
                .build()
                .expect("a client");
            let source = match FileSource::open(&run.source) {
                Ok(source) => source,
                Err(error) => return Outcome::not_started(error.to_string()),
            };
            let fragment = run.fragment;
            let mut job = UploadJob::new(
                source,
                Destination::new_session(run.create_url.clone()),
                Target::DriveItem(DriveItem::new()),
            )
            .configure(|config| quick_graph(config, fragment));
            if let Some(path) = &run.checkpoint {
                job = job.checkpoint(FileCheckpointStore::new(path));
            }
            let mut task = match uploader.start(job).await {
                Ok(task) => task,
                Err(error) => return Outcome::not_started(error.to_string()),
            };
            let start = start_of(task.resumption());
            let (mut fragments, mut progress) = (0, Vec::new());
            while let Some(event) = task.next().await {
                match event {
                    Event::Acknowledged { confirmed, .. } => {
                        progress.push(confirmed);
                        fragments += 1;
                        interrupt(&task, Interrupt::at(run.interrupt, fragments));
                    }
                    // The last fragment's answer names the file: everything is confirmed.
                    Event::Completed(_) if progress.last() != Some(&task.total()) => {
                        progress.push(task.total());
                    }
                    _ => {}
                }
            }
            let outcome = task
                .finish()
                .await
                .map(|summary| summary.map_completion(|done| done.verification.to_string()));
            Outcome {
                progress,
                ..outcome_of(start, outcome)
            }
        })
    }

    fn wopi(&self, env: &Env, run: &WopiRun) -> Outcome {
        env.runtime().block_on(async {
            let source = match FileSource::open(&run.source) {
                Ok(source) => source,
                Err(error) => return Outcome::not_started(error.to_string()),
            };
            let range = run.range;
            let mut job = WopiJob::new(source, run.file_url.clone())
                .configure(|config| quick_wopi(config, range));
            if let Some(path) = &run.checkpoint {
                job = job.checkpoint(FileCheckpointStore::new(path));
            }
            let uploader = Uploader::new().expect("a client");
            let mut task = match uploader.start_wopi(job).await {
                Ok(task) => task,
                Err(error) => return Outcome::not_started(error.to_string()),
            };
            let start = start_of(task.resumption());
            let mut ranges = 0;
            while let Some(event) = task.next().await {
                if let WopiEvent::Acknowledged { .. } = event {
                    ranges += 1;
                    interrupt(&task, Interrupt::at(run.interrupt, ranges));
                }
            }
            let outcome = task
                .finish()
                .await
                .map(|summary| summary.map_completion(|done| done.verification.to_string()));
            outcome_of(start, outcome)
        })
    }

    fn workbook(&self, env: &Env, run: &WorkbookRun) -> WorkbookOutcome {
        env.runtime().block_on(async {
            let url = WorkbookUrl::new(run.url.clone()).expect("a workbook URL");
            let mut session = WorkbookSession::builder(url)
                .config(run.config.clone())
                .token(Secret::new(TOKEN))
                .open()
                .expect("the session opens");
            let first = session.ready().await.expect("a session");
            let mut events = Vec::new();
            while events.iter().filter(|name| **name == "refreshed").count() < run.refreshes {
                let next = tokio::time::timeout(EVENT_PATIENCE, session.next()).await;
                match next {
                    Ok(Some(event)) => events.push(event.name()),
                    _ => break,
                }
            }
            let answer = session
                .send(WorkbookRequest::get("worksheets"))
                .await
                .expect("an answer");
            let same_session = session.session_id() == Some(first);
            let closed = session.close().await.map_err(|error| error.to_string());
            events.extend(session.collect::<Vec<_>>().await.iter().map(|e| e.name()));
            WorkbookOutcome {
                events,
                same_session,
                call: (answer.status, answer.outcome),
                closed,
            }
        })
    }
}

/// Stops or cancels `task` as `what` says.
fn interrupt<M: TaskMachine>(task: &UploadTask<M>, what: Option<Interrupt>) {
    match what {
        Some(Interrupt::StopAfter(_)) => task.stop(),
        Some(Interrupt::CancelAfter(_)) => task.cancel(),
        None => {}
    }
}

fn start_of(resumption: &Resumption) -> Start {
    match resumption {
        Resumption::Fresh => Start::Fresh,
        Resumption::Resumed { confirmed, .. } => Start::Resumed {
            confirmed: *confirmed,
        },
        Resumption::AlreadyCompleted => Start::AlreadyCompleted,
        _ => Start::Restarted,
    }
}

fn outcome_of(start: Start, result: Result<UploadSummary<String>, UploadFailure>) -> Outcome {
    match result {
        Ok(summary) => Outcome {
            start,
            ending: Ending::Completed {
                verified: summary.completion,
            },
            bytes_sent: summary.stats.bytes_sent,
            sessions: summary.stats.sessions,
            progress: Vec::new(),
        },
        Err(failure) => Outcome {
            start,
            ending: match failure.cause {
                FailureCause::Stopped => Ending::Stopped,
                FailureCause::Cancelled => Ending::Cancelled,
                _ => Ending::Failed(failure.to_string()),
            },
            bytes_sent: failure.stats.bytes_sent,
            sessions: failure.stats.sessions,
            progress: Vec::new(),
        },
    }
}

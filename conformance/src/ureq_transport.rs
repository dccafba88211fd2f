//! `resumable-ureq` under the suite: its blocking API, on the test's thread.

use std::sync::mpsc;
use std::time::Duration;

use resumable_core::graph::Destination;
use resumable_core::graph::{DriveItem, Event, Target};
use resumable_core::secret::Secret;
use resumable_core::session::Resumption;
use resumable_core::session::Transfer;
use resumable_core::wopi::WopiEvent;
use resumable_core::workbook::WorkbookUrl;
use resumable_ureq::source::FileSource;
use resumable_ureq::workbook::{WorkbookRequest, WorkbookSession};
use resumable_ureq::{
    Failure, FailureCause, FileCheckpointStore, Summary, UploadHandle, UploadJob, Uploader, WopiJob,
};

use crate::harness::{Env, quick_graph, quick_wopi};
use crate::transport::{
    Ending, GraphRun, Interrupt, Outcome, Start, Transport, WopiRun, WorkbookOutcome, WorkbookRun,
};

/// The bearer token the emulator is given.
const TOKEN: &str = "conformance-token";

/// How long a scenario waits for workbook events before it gives up on the transport.
const EVENT_PATIENCE: Duration = Duration::from_secs(20);

/// The blocking transport over ureq.
#[derive(Clone, Copy, Debug, Default)]
pub struct UreqTransport;

impl Transport for UreqTransport {
    fn name(&self) -> &'static str {
        "resumable-ureq"
    }

    fn graph(&self, _env: &Env, run: &GraphRun) -> Outcome {
        let uploader = Uploader::builder().token(Secret::new(TOKEN)).build();
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
        let handle = job.handle();
        let what = run.interrupt;
        let mut fragments = 0;
        let (seen, progress) = mpsc::channel();
        let job = job
            .on_event(move |event| {
                if let Event::Acknowledged { .. } = event {
                    fragments += 1;
                    interrupt(&handle, Interrupt::at(what, fragments));
                }
            })
            .on_progress(move |now| {
                let _ = seen.send(now.confirmed);
            });
        let outcome = outcome_of(
            uploader
                .upload(job)
                .map(|summary| summary.map_completion(|done| done.verification.to_string())),
        );
        Outcome {
            progress: progress.try_iter().collect(),
            ..outcome
        }
    }

    fn wopi(&self, _env: &Env, run: &WopiRun) -> Outcome {
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
        let handle = job.handle();
        let what = run.interrupt;
        let mut ranges = 0;
        let job = job.on_event(move |event| {
            if let WopiEvent::Acknowledged { .. } = event {
                ranges += 1;
                interrupt(&handle, Interrupt::at(what, ranges));
            }
        });
        outcome_of(
            Uploader::new()
                .upload_wopi(job)
                .map(|summary| summary.map_completion(|done| done.verification.to_string())),
        )
    }

    fn workbook(&self, _env: &Env, run: &WorkbookRun) -> WorkbookOutcome {
        let url = WorkbookUrl::new(run.url.clone()).expect("a workbook URL");
        let (seen, names) = mpsc::channel();
        let mut session = WorkbookSession::builder(url)
            .config(run.config.clone())
            .token(Secret::new(TOKEN))
            .on_event(move |event| {
                let _ = seen.send(event.name());
            })
            .open()
            .expect("the session opens");
        let first = session.ready().expect("a session");
        let mut events = Vec::new();
        while events.iter().filter(|name| **name == "refreshed").count() < run.refreshes {
            match names.recv_timeout(EVENT_PATIENCE) {
                Ok(name) => events.push(name),
                Err(_) => break,
            }
        }
        let answer = session
            .send(WorkbookRequest::get("worksheets"))
            .expect("an answer");
        let same_session = session.session_id() == Some(first);
        let closed = session.close().map_err(|error| error.to_string());
        drop(session);
        events.extend(names.try_iter());
        WorkbookOutcome {
            events,
            same_session,
            call: (answer.status, answer.outcome),
            closed,
        }
    }
}

/// Stops or cancels the upload behind `handle` as `what` says.
fn interrupt<M: Transfer>(handle: &UploadHandle<M>, what: Option<Interrupt>) {
    match what {
        Some(Interrupt::StopAfter(_)) => handle.stop(),
        Some(Interrupt::CancelAfter(_)) => handle.cancel(),
        None => {}
    }
}

fn outcome_of(result: Result<Summary<String>, Failure>) -> Outcome {
    match result {
        Ok(summary) => Outcome {
            start: start_of(Some(&summary.resumption)),
            ending: Ending::Completed {
                verified: summary.completion,
            },
            bytes_sent: summary.stats.bytes_sent,
            sessions: summary.stats.sessions,
            progress: Vec::new(),
        },
        Err(failure) => Outcome {
            start: start_of(failure.resumption.as_ref()),
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

fn start_of(resumption: Option<&Resumption>) -> Start {
    match resumption {
        None => Start::NotStarted,
        Some(Resumption::Fresh) => Start::Fresh,
        Some(Resumption::Resumed { confirmed, .. }) => Start::Resumed {
            confirmed: *confirmed,
        },
        Some(Resumption::AlreadyCompleted) => Start::AlreadyCompleted,
        Some(_) => Start::Restarted,
    }
}

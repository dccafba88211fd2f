//! The emulator's shared state and its routes.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get};
use tokio::time::Instant;

use crate::answer::Style;
use crate::config::EmulatorConfig;
use crate::faults::plan::FaultPlan;
use crate::graph::drive::DriveNamespace;
use crate::graph::session::{GraphSession, GraphSessions, lock};
use crate::graph::{self, query_value};
use crate::ids::IdSource;
use crate::link::Link;
use crate::slots::{SessionSlots, sessions_exhausted};
use crate::stats::{Stats, StatsSnapshot};
use crate::storage::Storage;
use crate::workbook::WorkbookRegistry;
use crate::{inspect, tus, wopi};

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub(crate) base_url: String,
    pub(crate) storage: Storage,
    pub(crate) stats: Stats,
    pub(crate) faults: FaultPlan,
    pub(crate) ids: IdSource,
    pub(crate) graph: GraphSessions,
    pub(crate) drive: DriveNamespace,
    pub(crate) workbook: WorkbookRegistry,
    pub(crate) wopi: wopi::WopiHost,
    pub(crate) tus: tus::TusHost,
    /// Live sessions of every kind, against [`Limits::max_live_sessions`](crate::Limits).
    pub(crate) slots: Arc<SessionSlots>,
    /// The emulated network link.
    pub(crate) link: Arc<Link>,
}

impl AppState {
    pub(crate) fn new(config: EmulatorConfig, base_url: String, storage: Storage) -> Self {
        let slots = Arc::new(SessionSlots::new(config.limits.max_live_sessions));
        AppState {
            faults: FaultPlan::new(&config.faults),
            link: Arc::new(Link::new(&config.link)),
            config,
            base_url,
            storage,
            stats: Stats::default(),
            ids: IdSource::new(),
            graph: GraphSessions::new(slots.clone()),
            drive: DriveNamespace::default(),
            workbook: WorkbookRegistry::new(slots.clone()),
            wopi: wopi::WopiHost::new(slots.clone()),
            tus: tus::TusHost::new(slots.clone()),
            slots,
        }
    }

    /// Forgets every session that expired by `now`, removing the part files of uploads that
    /// will never complete; answers how many sessions went.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        let retention = WorkbookRegistry::retention(self.config.time_scale);
        let swept = self.graph.sweep(now)
            + self.wopi.sweep(now)
            + self.workbook.sweep(now, retention)
            + self.tus.sweep(now);
        self.stats.sessions_expired(swept as u64);
        swept
    }

    /// The refusal of a create when every session slot is taken: `503`, with `Retry-After` the
    /// time until the first live session expires.
    pub(crate) fn sessions_exhausted(&self, style: Style) -> Response {
        let now = Instant::now();
        let first = [
            self.graph.earliest_expiry(),
            self.wopi.earliest_expiry(),
            self.workbook.earliest_expiry(),
            self.tus.earliest_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now);
        sessions_exhausted(style, first.saturating_duration_since(now))
    }

    /// The counters, with the number of live sessions.
    pub(crate) fn stats_snapshot(&self) -> StatsSnapshot {
        let mut snapshot = self.stats.snapshot();
        snapshot.sessions_live = self.slots.live() as u64;
        snapshot
    }

    /// The session's upload URL: on this server, token in the query parameter its service uses.
    pub(crate) fn upload_url(&self, session: &GraphSession) -> String {
        format!(
            "{}/_up/{}?{}={}",
            self.base_url,
            session.id,
            session.variant.token_param(),
            session.token
        )
    }

    /// The live session an upload URL names, if the URL is this server's and its token is right.
    pub(crate) fn session_of_url(&self, url: &str) -> Option<Arc<Mutex<GraphSession>>> {
        let rest = url.strip_prefix(&self.base_url)?.strip_prefix("/_up/")?;
        let (id, query) = rest.split_once('?').unwrap_or((rest, ""));
        let session = self.graph.get(id)?;
        {
            let guard = lock(&session);
            let token = query_value(query, guard.variant.token_param())?;
            if token != guard.token || guard.is_gone(Instant::now()) {
                return None;
            }
        }
        Some(session)
    }
}

/// The emulator's routes.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/_emulator/files", get(inspect::files))
        .route("/_emulator/stats", get(inspect::stats))
        .route("/v1.0/{*rest}", any(graph::dispatch))
        .route("/_up/{id}", any(graph::upload_url))
        .route("/wopi/files/{id}", any(wopi::files))
        .route("/wopi/files/{id}/contents", any(wopi::contents))
        .route("/tus/files", any(tus::tus_collection))
        .route("/tus/files/", any(tus::tus_collection))
        .route("/tus/files/{id}", any(tus::tus_upload))
        .route("/ietf/files", any(tus::ietf_collection))
        .route("/ietf/files/", any(tus::ietf_collection))
        .route("/ietf/files/{id}", any(tus::ietf_upload))
        .fallback(graph::dispatch)
        .with_state(state)
}

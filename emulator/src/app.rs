//! The emulator's shared state and its routes.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get};
use tokio::time::Instant;

use crate::config::EmulatorConfig;
use crate::faults::plan::FaultPlan;
use crate::graph::drive::DriveNamespace;
use crate::graph::session::{GraphSession, GraphSessions, lock};
use crate::graph::{self, query_value};
use crate::ids::IdSource;
use crate::stats::Stats;
use crate::storage::Storage;
use crate::workbook::WorkbookRegistry;
use crate::{inspect, wopi};

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
}

impl AppState {
    pub(crate) fn new(config: EmulatorConfig, base_url: String, storage: Storage) -> Self {
        AppState {
            faults: FaultPlan::new(&config.faults),
            config,
            base_url,
            storage,
            stats: Stats::default(),
            ids: IdSource::new(),
            graph: GraphSessions::default(),
            drive: DriveNamespace::default(),
            workbook: WorkbookRegistry::default(),
            wopi: wopi::WopiHost::default(),
        }
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
        .fallback(graph::dispatch)
        .with_state(state)
}

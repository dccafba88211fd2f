//! `/_emulator/…`: what the emulator stored and counted. Never faulted, never counted.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::app::AppState;
use crate::stats::StatsSnapshot;
use crate::storage::StoredFile;

/// `GET /_emulator/files`: every completed upload, oldest first.
pub(crate) async fn files(State(state): State<Arc<AppState>>) -> Json<Vec<StoredFile>> {
    Json(state.storage.files())
}

/// `GET /_emulator/stats`.
pub(crate) async fn stats(State(state): State<Arc<AppState>>) -> Json<StatsSnapshot> {
    Json(state.stats_snapshot())
}

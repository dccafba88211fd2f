//! Counters behind `GET /_emulator/stats`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::faults::{Fault, RequestKind};

/// How many injected faults `recent_faults` keeps.
const RECENT_FAULTS: usize = 256;

/// One injected fault, as listed in `recent_faults`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedFault {
    /// 1 for the first fault the emulator injected.
    pub seq: u64,
    /// The request it struck.
    pub kind: RequestKind,
    /// The fault in its script form (`lose-answer`, `status:503`).
    pub fault: String,
}

/// What `GET /_emulator/stats` answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Requests by kind (every request the emulator answered or dropped, inspection excluded).
    pub requests: BTreeMap<String, u64>,
    /// Sum of `requests`.
    pub requests_total: u64,
    /// Injected faults by counter name (`lose-answer`, `status-503`, `throttle-429-date`).
    pub faults: BTreeMap<String, u64>,
    /// Sum of `faults`.
    pub faults_total: u64,
    /// The most recent injected faults, oldest first (at most 256).
    pub recent_faults: Vec<InjectedFault>,
    /// Requests refused by a protocol rule, by status code (injected faults not included).
    pub refusals: BTreeMap<String, u64>,
    /// Body bytes read from upload requests (fragments, WOPI updates and commits).
    pub bytes_received: u64,
    /// Body bytes of uploads that the server already had when they arrived (retries after a
    /// lost answer, overlapping fragments, and resends to a Graph upload that has completed:
    /// those answer `404`, but the emulator knows it stored the bytes).
    pub bytes_received_twice: u64,
    /// WOPI updates whose offset was past the session's current offset: a client that sent a
    /// range out of order (skipping bytes). Refused with `400`.
    #[serde(default)]
    pub wopi_updates_out_of_order: u64,
    /// Bytes of WOPI updates that lay below the offset the host had already *told the client*
    /// (in an answer that was delivered, not lost by a fault): bytes re-sent although the
    /// client had been told the host had them. Re-sends after a lost answer are not counted
    /// here (the client could not know); they are in `bytes_received_twice`.
    #[serde(default)]
    pub wopi_confirmed_bytes_resent: u64,
    /// Sessions created (upload, WOPI and workbook).
    pub sessions_created: u64,
    /// Sessions live now (created, not yet completed, cancelled or expired and swept).
    pub sessions_live: u64,
    /// Sessions forgotten because they expired (by the periodic sweep; sessions found expired
    /// when a request touched them are not counted here).
    pub sessions_expired: u64,
    /// Files completed (listed in `/_emulator/files`).
    pub files_completed: u64,
    /// Connections the server failed to accept (out of file descriptors, typically); it backs
    /// off between attempts, up to a second.
    pub accept_errors: u64,
}

#[derive(Default)]
struct Tallies {
    requests: BTreeMap<RequestKind, u64>,
    faults: BTreeMap<String, u64>,
    recent_faults: VecDeque<InjectedFault>,
    faults_total: u64,
    refusals: BTreeMap<u16, u64>,
    sessions_created: u64,
    sessions_expired: u64,
    files_completed: u64,
}

/// The emulator's counters. Byte counters are atomics because they move on every body frame.
#[derive(Default)]
pub(crate) struct Stats {
    tallies: Mutex<Tallies>,
    bytes_received: AtomicU64,
    bytes_received_twice: AtomicU64,
    wopi_updates_out_of_order: AtomicU64,
    wopi_confirmed_bytes_resent: AtomicU64,
    accept_errors: AtomicU64,
}

impl Stats {
    fn tallies(&self) -> std::sync::MutexGuard<'_, Tallies> {
        self.tallies.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn request(&self, kind: RequestKind) {
        *self.tallies().requests.entry(kind).or_default() += 1;
    }

    pub(crate) fn fault(&self, kind: RequestKind, fault: &Fault) {
        let mut tallies = self.tallies();
        *tallies.faults.entry(fault.counter_name()).or_default() += 1;
        tallies.faults_total += 1;
        let seq = tallies.faults_total;
        if tallies.recent_faults.len() == RECENT_FAULTS {
            tallies.recent_faults.pop_front();
        }
        tallies.recent_faults.push_back(InjectedFault {
            seq,
            kind,
            fault: fault.to_string(),
        });
    }

    pub(crate) fn refusal(&self, status: u16) {
        *self.tallies().refusals.entry(status).or_default() += 1;
    }

    pub(crate) fn session_created(&self) {
        self.tallies().sessions_created += 1;
    }

    pub(crate) fn sessions_expired(&self, count: u64) {
        self.tallies().sessions_expired += count;
    }

    pub(crate) fn file_completed(&self) {
        self.tallies().files_completed += 1;
    }

    pub(crate) fn received(&self, bytes: u64) {
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn received_twice(&self, bytes: u64) {
        self.bytes_received_twice
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// A WOPI update came with an offset past the session's.
    pub(crate) fn wopi_update_out_of_order(&self) {
        self.wopi_updates_out_of_order
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A WOPI update carried `bytes` the client had been told the host had.
    pub(crate) fn wopi_confirmed_resent(&self, bytes: u64) {
        self.wopi_confirmed_bytes_resent
            .fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let tallies = self.tallies();
        let requests: BTreeMap<String, u64> = tallies
            .requests
            .iter()
            .map(|(kind, n)| (kind.name().to_owned(), *n))
            .collect();
        StatsSnapshot {
            requests_total: requests.values().sum(),
            requests,
            faults: tallies.faults.clone(),
            faults_total: tallies.faults_total,
            recent_faults: tallies.recent_faults.iter().cloned().collect(),
            refusals: tallies
                .refusals
                .iter()
                .map(|(status, n)| (status.to_string(), *n))
                .collect(),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            bytes_received_twice: self.bytes_received_twice.load(Ordering::Relaxed),
            wopi_updates_out_of_order: self.wopi_updates_out_of_order.load(Ordering::Relaxed),
            wopi_confirmed_bytes_resent: self.wopi_confirmed_bytes_resent.load(Ordering::Relaxed),
            sessions_created: tallies.sessions_created,
            sessions_live: 0,
            sessions_expired: tallies.sessions_expired,
            files_completed: tallies.files_completed,
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_and_keeps_recent_faults_bounded() {
        let stats = Stats::default();
        stats.request(RequestKind::Fragment);
        stats.request(RequestKind::Fragment);
        stats.request(RequestKind::Status);
        for _ in 0..300 {
            stats.fault(RequestKind::Fragment, &Fault::LoseAnswer);
        }
        stats.fault(RequestKind::Status, &Fault::Status(503));
        stats.refusal(416);
        stats.received(10);
        stats.received_twice(4);
        stats.wopi_update_out_of_order();
        stats.wopi_confirmed_resent(3);
        stats.wopi_confirmed_resent(2);
        let snap = stats.snapshot();
        assert_eq!(
            (
                snap.wopi_updates_out_of_order,
                snap.wopi_confirmed_bytes_resent
            ),
            (1, 5)
        );
        assert_eq!(snap.requests["fragment"], 2);
        assert_eq!(snap.requests_total, 3);
        assert_eq!(snap.faults["lose-answer"], 300);
        assert_eq!(snap.faults["status-503"], 1);
        assert_eq!(snap.faults_total, 301);
        assert_eq!(snap.recent_faults.len(), RECENT_FAULTS);
        assert_eq!(snap.recent_faults.last().unwrap().seq, 301);
        assert_eq!(snap.recent_faults.last().unwrap().fault, "status:503");
        assert_eq!(snap.refusals["416"], 1);
        assert_eq!((snap.bytes_received, snap.bytes_received_twice), (10, 4));
    }
}

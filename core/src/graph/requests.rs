//! The requests an [`Upload`] sends.
//!
//! Only two carry the caller's bearer token: the session creation and the explicit commit (both
//! go to the Graph API), and the completion check (also the Graph API). Everything sent to the
//! `uploadUrl` goes with [`Auth::None`]: the URL carries its own token, and an `Authorization`
//! header there causes intermittent 401s (SPEC 5, lesson 2).

use alloc::vec::Vec;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::http::{Auth, Body, Header, Method, Request, RequestKind};
use crate::range::{ByteRange, ContentRange};
use crate::secret::SecretUrl;
use crate::time::Instant;

use super::config::ExplicitCommit;
use super::config::Target;
use super::error::UploadError;
use super::upload::{CommitRoute, FragmentInFlight, IssueOrder, Phase, Sent, Upload};

impl Upload {
    /// The next request the current phase needs, if it may go now.
    pub(crate) fn next_request(&mut self, now: Instant) -> Option<Request> {
        let has =
            |upload: &Upload, kind: fn(&Sent) -> bool| upload.core.in_flight.notes().any(kind);
        if let Some(url) = self.discard.pop() {
            return Some(self.delete_request(url));
        }
        match &self.phase {
            Phase::Creating if !has(self, |s| matches!(s, Sent::Create)) => {
                Some(self.create_request())
            }
            Phase::Resync if !has(self, |s| matches!(s, Sent::Status)) => {
                let order = self.issue_order(false);
                let request =
                    self.session_request(Sent::Status, Method::Get, RequestKind::Status)?;
                self.status_order = Some(order);
                Some(request)
            }
            Phase::Uploading
                if self.fragments_in_flight() < self.config.max_in_flight()
                    && self.pending_candidate.is_none() =>
            {
                let range = self.next_fragment()?;
                if self.sent_in_session.saturating_add(range.len()) > self.send_budget() {
                    self.abandon_session(UploadError::SendBudgetSpent {
                        sent: self.sent_in_session,
                        total: self.config.total,
                    });
                    return self.next_request(now);
                }
                Some(self.fragment_request(range, now)?)
            }
            Phase::Abandoning(_) if !has(self, |s| matches!(s, Sent::Discard)) => {
                let url = self.upload_url.clone()?;
                Some(self.delete_request(url))
            }
            Phase::Committing(CommitRoute::Post) if !has(self, |s| matches!(s, Sent::Commit)) => {
                Some(self.session_request(Sent::Commit, Method::Post, RequestKind::Commit)?)
            }
            Phase::Committing(CommitRoute::SourceUrl(commit))
                if !has(self, |s| matches!(s, Sent::Commit)) =>
            {
                let commit = commit.clone();
                Some(self.explicit_commit_request(&commit)?)
            }
            Phase::CheckingCompletion if !has(self, |s| matches!(s, Sent::CheckCompletion)) => {
                Some(self.check_completion_request()?)
            }
            Phase::Cancelling
                if !has(self, |s| matches!(s, Sent::Cancel)) && self.upload_url.is_some() =>
            {
                Some(self.session_request(Sent::Cancel, Method::Delete, RequestKind::Cancel)?)
            }
            _ => None,
        }
    }

    /// The next fragment: drives and mail send from the server's first gap, in order and one at a
    /// time; print documents take the first listed gap not already in flight. Either way the
    /// fragment stays inside its gap: bytes the server lists as held are never sent again (the
    /// server would answer 416). A fragment that ends where held bytes begin may end off the
    /// 320 KiB grid; the next one starts at the next gap.
    fn next_fragment(&self) -> Option<ByteRange> {
        if self.config.target.is_sequential() {
            if self.fragments_in_flight() > 0 {
                return None;
            }
            return self.planner.next_fragment(&self.missing);
        }
        let mut available = self.missing.clone();
        for sent in self.core.in_flight.notes() {
            if let Sent::Fragment(fragment) = sent {
                available.mark_received(fragment.range).ok()?;
            }
        }
        self.planner.next_fragment(&available)
    }

    fn create_request(&mut self) -> Request {
        let url = self
            .create_url
            .clone()
            .unwrap_or_else(|| SecretUrl::new(""));
        let mut headers = Vec::new();
        if let Target::DriveItem(item) = &self.config.target {
            if let Some(tag) = &item.if_match {
                headers.push(Header::new("if-match", tag.as_str()));
            }
            if let Some(tag) = &item.if_none_match {
                headers.push(Header::new("if-none-match", tag.as_str()));
            }
        }
        headers.push(Header::new("Content-Type", "application/json"));
        let body = Body::Json(self.config.target.create_body(self.config.total));
        let id = self.core.in_flight.issue(Sent::Create);
        Request {
            id,
            kind: RequestKind::CreateSession,
            method: Method::Post,
            url,
            headers,
            auth: Auth::Bearer,
            body,
        }
    }

    /// Where a request going now stands among the fragments; counts it if it is one.
    fn issue_order(&mut self, fragment: bool) -> IssueOrder {
        let alone = self.fragments_in_flight() == 0;
        if fragment {
            self.fragments_issued += 1;
        }
        IssueOrder {
            fragments_before: self.fragments_issued,
            alone,
        }
    }

    fn fragment_request(&mut self, range: ByteRange, now: Instant) -> Option<Request> {
        let url = self.upload_url.clone()?;
        let content_range = ContentRange::new(range, self.config.total).ok()?;
        let headers = alloc::vec![
            Header::new("Content-Range", alloc::format!("{content_range}")),
            Header::new("Content-Type", "application/octet-stream"),
        ];
        self.account_sent(range);
        let order = self.issue_order(true);
        let id = self.core.in_flight.issue(Sent::Fragment(FragmentInFlight {
            range,
            issued: now,
            started: None,
            crc32: None,
            order,
        }));
        Some(Request {
            id,
            kind: RequestKind::Fragment,
            method: Method::Put,
            url,
            headers,
            auth: Auth::None,
            body: Body::Source(range),
        })
    }

    /// A body-less request to the upload URL (status, commit, cancel).
    fn session_request(
        &mut self,
        sent: Sent,
        method: Method,
        kind: RequestKind,
    ) -> Option<Request> {
        let url = self.upload_url.clone()?;
        let id = self.core.in_flight.issue(sent);
        Some(Request {
            id,
            kind,
            method,
            url,
            headers: Vec::new(),
            auth: Auth::None,
            body: Body::Empty,
        })
    }

    /// `DELETE` of a session given up on; its answer changes nothing.
    fn delete_request(&mut self, url: SecretUrl) -> Request {
        let id = self.core.in_flight.issue(Sent::Discard);
        Request {
            id,
            kind: RequestKind::Cancel,
            method: Method::Delete,
            url,
            headers: Vec::new(),
            auth: Auth::None,
            body: Body::Empty,
        }
    }

    fn explicit_commit_request(&mut self, commit: &ExplicitCommit) -> Option<Request> {
        let source = self.upload_url.clone()?;
        let mut fields = Map::new();
        fields.insert("name".into(), commit.name.as_str().into());
        fields.insert(
            "@microsoft.graph.conflictBehavior".into(),
            commit.conflict.as_str().into(),
        );
        fields.insert("@microsoft.graph.sourceUrl".into(), source.expose().into());
        let json = serde_json::to_vec(&Value::Object(fields)).ok()?;
        let id = self.core.in_flight.issue(Sent::Commit);
        Some(Request {
            id,
            kind: RequestKind::Commit,
            method: Method::Put,
            url: SecretUrl::new(commit.item_url.as_str()),
            headers: alloc::vec![Header::new("Content-Type", "application/json")],
            auth: Auth::Bearer,
            body: Body::Json(Bytes::from(json)),
        })
    }

    fn check_completion_request(&mut self) -> Option<Request> {
        let url = SecretUrl::new(self.completion_check_url()?);
        let id = self.core.in_flight.issue(Sent::CheckCompletion);
        Some(Request {
            id,
            kind: RequestKind::FetchResource,
            method: Method::Get,
            url,
            headers: Vec::new(),
            auth: Auth::Bearer,
            body: Body::Empty,
        })
    }
}

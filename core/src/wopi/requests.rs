//! The requests a [`WopiUpload`] sends.
//!
//! All go with [`Auth::None`]: the `access_token` is in the URL, and an `Authorization` header
//! is no part of WOPI. The session token travels in `X-WOPI-UploadSessionToken` and the locks in
//! `X-WOPI-Lock` / `X-WOPI-CoauthLockId`, all [`Header::sensitive`], so a logged request never
//! shows them. Bodies are [`Body::Segments`]: frame prefixes and the `MessageJSON` inline, chunk
//! bytes as source ranges the transport reads.

use alloc::vec::Vec;

use crate::http::{Auth, Body, Header, Method, Request, RequestKind};
use crate::range::ByteRange;
use crate::time::Instant;
use crate::wopi::{PutChunkedFileMessage, StreamChunk, put_chunked_file_body};

use super::upload::{Phase, Sent, UpdateInFlight, WopiUpload};
use crate::wire::wopi_headers::{
    COAUTH_LOCK_ID, CREATE_UPLOAD_SESSION, LOCK, OVERRIDE, PUT_CHUNKED_FILE, RANGE_LENGTH,
    RANGE_OFFSET, SEQUENCE_NUMBER, SESSION_TOKEN, UPDATE_UPLOAD_SESSION,
};

impl WopiUpload {
    /// The next request the current phase needs, if one may go at `now`. One at a time: an
    /// update's answer decides where the next one starts.
    pub(crate) fn next_request(&mut self, now: Instant) -> Option<Request> {
        if !self.core.in_flight.is_empty() {
            return None;
        }
        if self.is_idle() {
            return self
                .keep_alive_due(now)
                .then(|| self.update_request(now, true))?;
        }
        match self.phase {
            Phase::Creating => Some(self.create_request(now)),
            Phase::Uploading => self.update_request(now, false),
            Phase::Committing => self.commit_request(),
            Phase::CheckingFile(_) => Some(self.file_info_request()),
            _ => None,
        }
    }

    /// `CheckFileInfo`: `GET` on the file URL (its `access_token` is the only credential).
    fn file_info_request(&mut self) -> Request {
        let id = self.core.in_flight.issue(Sent::FileInfo);
        Request {
            id,
            kind: RequestKind::FetchResource,
            method: Method::Get,
            url: self.file_url.clone(),
            headers: alloc::vec::Vec::new(),
            auth: Auth::None,
            body: Body::Empty,
        }
    }

    fn create_request(&mut self, now: Instant) -> Request {
        let id = self.core.in_flight.issue(Sent::Create { issued: now });
        Request {
            id,
            kind: RequestKind::CreateSession,
            method: Method::Post,
            url: self.file_url.clone(),
            headers: alloc::vec![Header::new(OVERRIDE, CREATE_UPLOAD_SESSION)],
            auth: Auth::None,
            body: Body::Empty,
        }
    }

    /// An update at the host's offset: a planned range, a probe after an unclear outcome, or a
    /// keep-alive (the probe's size; empty if the host has the whole stream).
    fn update_request(&mut self, now: Instant, keep_alive: bool) -> Option<Request> {
        let token = self.token.as_ref()?.expose();
        let stream_len = self.stream.len();
        let rest = ByteRange::new(self.offset, stream_len);
        let range = match rest {
            None if keep_alive => None,
            None => return None,
            Some(rest) if keep_alive || self.unsure => rest.truncated(self.config.probe_len),
            Some(rest) => Some(self.planner.fragment_in(rest)),
        };
        let body = match range {
            // The map covers the whole stream, so a range inside it always resolves.
            Some(range) => Body::Segments(self.stream.segments(range).ok()?),
            None => Body::Empty,
        };
        let len = range.map_or(0, |range| range.len());
        let headers = alloc::vec![
            Header::new(OVERRIDE, UPDATE_UPLOAD_SESSION),
            Header::sensitive(SESSION_TOKEN, token),
            Header::new(RANGE_OFFSET, alloc::format!("{}", self.offset)),
            Header::new(RANGE_LENGTH, alloc::format!("{len}")),
            Header::new("Content-Type", "application/octet-stream"),
        ];
        self.sent_in_session = self.sent_in_session.saturating_add(len);
        if self.sent_in_session > self.send_budget() {
            self.fail(super::WopiError::SendBudgetSpent {
                sent: self.sent_in_session - len,
                stream_len: self.stream.len(),
            });
            return None;
        }
        let end = self.offset + len;
        self.sent_end = self.sent_end.map(|sent| sent.max(end));
        let id = self.core.in_flight.issue(Sent::Update(UpdateInFlight {
            offset: self.offset,
            len,
            issued: now,
            started: None,
            keep_alive,
            probe: self.unsure,
        }));
        Some(Request {
            id,
            kind: if keep_alive {
                RequestKind::Refresh
            } else {
                RequestKind::Fragment
            },
            method: Method::Post,
            url: self.file_url.clone(),
            headers,
            auth: Auth::None,
            body,
        })
    }

    /// `PutChunkedFile`: the signatures of every stream and the session to commit, then the
    /// chunks the host has neither in the session nor from before (all of them when there is no
    /// session), then `EndFrame`.
    fn commit_request(&mut self) -> Option<Request> {
        let signatures = self.config.streams.iter().map(|s| s.signature()).collect();
        let mut message = PutChunkedFileMessage::new(signatures);
        message.content_properties = self.config.content_properties.clone();
        let inline: Vec<StreamChunk> = if self.inline {
            self.stream
                .frames()
                .iter()
                .map(|frame| frame.chunk)
                .collect()
        } else {
            message = message.with_session_token(self.token.clone()?);
            Vec::new()
        };
        // The configuration was validated: MainContent is there and every chunk is listed.
        let segments = put_chunked_file_body(&message, &inline).ok()?;
        let mut headers = alloc::vec![
            Header::new(OVERRIDE, PUT_CHUNKED_FILE),
            Header::new(SEQUENCE_NUMBER, alloc::format!("{}", self.sequence_number)),
        ];
        if let Some(lock) = &self.config.lock {
            headers.push(Header::sensitive(LOCK, lock.expose()));
        }
        if let Some(coauth) = &self.config.coauth_lock_id {
            headers.push(Header::sensitive(COAUTH_LOCK_ID, coauth.expose()));
        }
        headers.push(Header::new("Content-Type", "application/octet-stream"));
        let id = self.core.in_flight.issue(Sent::Commit);
        Some(Request {
            id,
            kind: RequestKind::Commit,
            method: Method::Post,
            url: self.contents_url.clone(),
            headers,
            auth: Auth::None,
            body: Body::Segments(segments),
        })
    }
}

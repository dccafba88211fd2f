//! A strict in-memory workbook service: it keeps sessions with an inactivity clock, creates them
//! at once or as long-running operations, and writes down everything a real service would
//! reject and every session that lapsed.

use std::collections::{HashMap, VecDeque};
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use resumable_core::http::{Auth, Body, Method, Request, Response, TransportError};
use resumable_core::time::{Duration, Instant};
use resumable_core::wire::workbook_headers::SESSION_HEADER;

use crate::sim::Reply;

/// The workbook base URL the service answers on.
pub(crate) const BASE: &str = "https://graph.test/v1.0/me/drive/items/01AB/workbook";

/// How long-running creations report their status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spelling {
    /// `notStarted`, `running`, `succeeded`, `failed` (the Graph guide).
    Guide,
    /// `NotStarted`, `Running`, `Completed`, `Failed` (the resource reference).
    Reference,
    /// `NOTSTARTED`, `RUNNING`, `SUCCEEDED`, `FAILED`.
    Upper,
    /// `notstarted`, `running`, `completed`, `failed`.
    Lower,
}

impl Spelling {
    pub(crate) const ALL: [Spelling; 4] = [
        Spelling::Guide,
        Spelling::Reference,
        Spelling::Upper,
        Spelling::Lower,
    ];

    fn words(self) -> [&'static str; 4] {
        match self {
            Spelling::Guide => ["notStarted", "running", "succeeded", "failed"],
            Spelling::Reference => ["NotStarted", "Running", "Completed", "Failed"],
            Spelling::Upper => ["NOTSTARTED", "RUNNING", "SUCCEEDED", "FAILED"],
            Spelling::Lower => ["notstarted", "running", "completed", "failed"],
        }
    }
}

/// How the service creates sessions when the client sends `Prefer: respond-async`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Creation {
    /// `201` at once, whatever the client prefers.
    Immediate,
    /// `202` and an operation that reports `notStarted` for `not_started` polls, `running` for
    /// `running` polls, then success (or `failure`).
    LongRunning {
        not_started: u32,
        running: u32,
        spelling: Spelling,
        /// `Retry-After` seconds on the `202` and on every unfinished poll.
        retry_after: Option<u64>,
        /// End in `failed` with this error object instead of success.
        failure: Option<String>,
    },
}

/// What an expired (or dropped) session answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpiryAnswer {
    /// `404` with `itemNotFound`.
    NotFound,
    /// This status with the inner code `invalidSessionReCreatable`.
    ReCreatable(u16),
}

/// A scripted answer for the next request of one route.
#[derive(Clone, Debug)]
pub(crate) enum Scripted {
    /// Answer this instead; the request has no effect.
    Answer(Response),
    /// Handle the request, then lose the answer: the client sees this transport error.
    LoseAnswer(TransportError),
}

/// The requests the service knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    Create,
    Poll,
    Resource,
    Refresh,
    Close,
    /// A workbook call of the caller's own (reading a range).
    Call,
}

#[derive(Clone, Debug)]
pub(crate) struct ServerConfig {
    pub(crate) persistent_limit: Duration,
    pub(crate) non_persistent_limit: Duration,
    pub(crate) creation: Creation,
    pub(crate) expiry_answer: ExpiryAnswer,
    /// Name the operation with an absolute `Location` (else relative).
    pub(crate) absolute_locations: bool,
}

impl Default for ServerConfig {
    /// The documented 5 and 7 minutes, creation at once, expiry as a 404.
    fn default() -> Self {
        ServerConfig {
            persistent_limit: Duration::from_secs(5 * 60),
            non_persistent_limit: Duration::from_secs(7 * 60),
            creation: Creation::Immediate,
            expiry_answer: ExpiryAnswer::NotFound,
            absolute_locations: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Session {
    persist: bool,
    created_at: Instant,
    last_touch: Instant,
}

impl Session {
    fn limit(&self, config: &ServerConfig) -> Duration {
        if self.persist {
            config.persistent_limit
        } else {
            config.non_persistent_limit
        }
    }
}

#[derive(Clone, Debug)]
struct Operation {
    persist: bool,
    polls: u32,
    /// When the client last heard from the operation (the 202, then each poll). A session the
    /// operation creates is born right after it: the worst case for the client.
    last_contact: Instant,
    /// The session, once the operation succeeded.
    session: Option<String>,
    finished: bool,
}

/// One request the service received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) at: Instant,
    pub(crate) route: Route,
    /// The session id the request carried, if any.
    pub(crate) session: Option<String>,
    pub(crate) status: u16,
}

/// A session the service dropped for inactivity while the client still held it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lapse {
    pub(crate) session: String,
    pub(crate) idle: Duration,
    pub(crate) noticed_at: Instant,
}

pub(crate) struct WorkbookServer {
    pub(crate) config: ServerConfig,
    sessions: HashMap<String, Session>,
    operations: HashMap<String, Operation>,
    next_id: u32,
    script: HashMap<Route, VecDeque<Scripted>>,
    forced_expiries: Vec<Instant>,
    pub(crate) received: Vec<Received>,
    pub(crate) violations: Vec<String>,
    pub(crate) lapses: Vec<Lapse>,
    pub(crate) polls_after_finish: u32,
    pub(crate) closed: Vec<String>,
}

impl WorkbookServer {
    pub(crate) fn new(config: ServerConfig) -> Self {
        WorkbookServer {
            config,
            sessions: HashMap::new(),
            operations: HashMap::new(),
            next_id: 0,
            script: HashMap::new(),
            forced_expiries: Vec::new(),
            received: Vec::new(),
            violations: Vec::new(),
            lapses: Vec::new(),
            polls_after_finish: 0,
            closed: Vec::new(),
        }
    }

    /// The next request on `route` gets `scripted` (scripts per route run in order).
    pub(crate) fn script(&mut self, route: Route, scripted: Scripted) {
        self.script.entry(route).or_default().push_back(scripted);
    }

    /// Drops every session that exists at `at` (a service restart): the next request for one
    /// of them gets the expiry answer. Not a lapse: the client could not have prevented it.
    pub(crate) fn expire_sessions_at(&mut self, at: Instant) {
        self.forced_expiries.push(at);
    }

    /// Sessions the client holds that have been idle past their limit at `now`, besides the
    /// lapses already noticed.
    pub(crate) fn idle_past_limit(&self, now: Instant) -> Vec<String> {
        self.sessions
            .iter()
            .filter(|(_, s)| now - s.last_touch > s.limit(&self.config))
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub(crate) fn count(&self, route: Route) -> usize {
        self.received.iter().filter(|r| r.route == route).count()
    }

    pub(crate) fn times(&self, route: Route) -> Vec<Instant> {
        self.received
            .iter()
            .filter(|r| r.route == route)
            .map(|r| r.at)
            .collect()
    }

    /// Handles a request of the machine's.
    pub(crate) fn handle(&mut self, now: Instant, request: &Request) -> Reply {
        let url = request.url.expose();
        let Some(path) = url.strip_prefix(BASE) else {
            return self.reject(now, None, 404, format!("unknown URL {url}"));
        };
        let route = match path {
            "/createSession" => Route::Create,
            "/refreshSession" => Route::Refresh,
            "/closeSession" => Route::Close,
            p if p.starts_with("/operations/") => Route::Poll,
            p if p.starts_with("/sessionInfoResource(key='") => Route::Resource,
            _ => return self.reject(now, None, 404, format!("unknown path {path}")),
        };
        if request.auth != Auth::Bearer {
            return self.reject(now, Some(route), 401, "no bearer token".into());
        }
        let expected_method = match route {
            Route::Poll | Route::Resource => Method::Get,
            _ => Method::Post,
        };
        if request.method != expected_method {
            let problem = format!("{:?} with {}", route, request.method);
            return self.reject(now, Some(route), 405, problem);
        }
        let header = request.header(SESSION_HEADER).map(String::from);
        if let Some(reply) = self.scripted(now, route, header.clone()) {
            return reply;
        }
        let answer = match route {
            Route::Create => self.create(now, request),
            Route::Poll => self.poll(now, path.trim_start_matches("/operations/")),
            Route::Resource => self.resource(path),
            Route::Refresh | Route::Close => {
                if request.body != Body::Empty {
                    return self.reject(now, Some(route), 400, "body on a session action".into());
                }
                let Some(id) = header.clone() else {
                    return self.reject(now, Some(route), 400, "no session header".into());
                };
                self.session_action(now, route, &id)
            }
            Route::Call => unreachable!("calls come through handle_call"),
        };
        self.finish(now, route, header, answer)
    }

    /// Handles one of the caller's own workbook calls carrying `header` (a range read).
    pub(crate) fn handle_call(&mut self, now: Instant, header: Option<&str>) -> Reply {
        let header = header.map(String::from);
        if let Some(reply) = self.scripted(now, Route::Call, header.clone()) {
            return reply;
        }
        let Some(id) = header.clone() else {
            return self.reject(now, Some(Route::Call), 400, "call without session".into());
        };
        let answer = self.session_action(now, Route::Call, &id);
        self.finish(now, Route::Call, header, answer)
    }

    fn scripted(&mut self, now: Instant, route: Route, header: Option<String>) -> Option<Reply> {
        let scripted = self.script.get_mut(&route)?.pop_front()?;
        Some(match scripted {
            Scripted::Answer(answer) => {
                self.received.push(Received {
                    at: now,
                    route,
                    session: header,
                    status: answer.status,
                });
                Reply::Answer(answer)
            }
            Scripted::LoseAnswer(error) => {
                // The request takes effect; only its answer is lost.
                let reply = match route {
                    Route::Refresh | Route::Close | Route::Call => {
                        let id = header.clone().unwrap_or_default();
                        self.session_action(now, route, &id)
                    }
                    _ => {
                        let problem = "lost answers are only scripted for session actions";
                        self.violations.push(problem.into());
                        Response::new(500)
                    }
                };
                self.finish(now, route, header, reply);
                Reply::Lost(error)
            }
        })
    }

    fn finish(
        &mut self,
        now: Instant,
        route: Route,
        session: Option<String>,
        answer: Response,
    ) -> Reply {
        self.received.push(Received {
            at: now,
            route,
            session,
            status: answer.status,
        });
        Reply::Answer(answer)
    }

    fn reject(
        &mut self,
        now: Instant,
        route: Option<Route>,
        status: u16,
        problem: String,
    ) -> Reply {
        self.violations.push(format!("{now:?}: {problem}"));
        if let Some(route) = route {
            self.received.push(Received {
                at: now,
                route,
                session: None,
                status,
            });
        }
        Reply::Answer(Response::new(status))
    }

    fn new_session(&mut self, now: Instant, persist: bool) -> String {
        self.next_id += 1;
        let id = format!("cluster=T1&session={}.secret", self.next_id);
        self.sessions.insert(
            id.clone(),
            Session {
                persist,
                created_at: now,
                last_touch: now,
            },
        );
        id
    }

    fn create(&mut self, now: Instant, request: &Request) -> Response {
        let Body::Json(body) = &request.body else {
            self.violations
                .push(format!("{now:?}: createSession without a JSON body"));
            return Response::new(400);
        };
        let persist = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(object)) if object.len() == 1 => object
                .get("persistChanges")
                .and_then(serde_json::Value::as_bool),
            _ => None,
        };
        let Some(persist) = persist else {
            self.violations
                .push(format!("{now:?}: createSession body {body:?}"));
            return Response::new(400);
        };
        let respond_async = match request.header("Prefer") {
            None => false,
            Some("respond-async") => true,
            Some(other) => {
                self.violations.push(format!("{now:?}: Prefer: {other}"));
                return Response::new(400);
            }
        };
        match &self.config.creation {
            Creation::LongRunning { retry_after, .. } if respond_async => {
                self.next_id += 1;
                let op = format!("op{}", self.next_id);
                self.operations.insert(
                    op.clone(),
                    Operation {
                        persist,
                        polls: 0,
                        last_contact: now,
                        session: None,
                        finished: false,
                    },
                );
                let location = if self.config.absolute_locations {
                    format!("{BASE}/operations/{op}")
                } else {
                    format!("operations/{op}")
                };
                let mut answer = Response::new(202).with_header("Location", location);
                if let Some(seconds) = retry_after {
                    answer = answer.with_header("Retry-After", seconds.to_string());
                }
                answer
            }
            _ => {
                let id = self.new_session(now, persist);
                session_body(201, &id, persist)
            }
        }
    }

    fn poll(&mut self, now: Instant, op: &str) -> Response {
        let Creation::LongRunning {
            not_started,
            running,
            spelling,
            retry_after,
            failure,
        } = self.config.creation.clone()
        else {
            self.violations
                .push("poll without a long-running creation".into());
            return Response::new(404);
        };
        let Some(operation) = self.operations.get_mut(op) else {
            return Response::new(404);
        };
        if operation.finished {
            self.polls_after_finish += 1;
        }
        operation.polls += 1;
        let born = operation.last_contact + Duration::from_millis(1);
        operation.last_contact = now;
        let [not_started_word, running_word, success_word, failed_word] = spelling.words();
        let pending = |word: &str| {
            let answer =
                Response::new(200).with_body(format!(r#"{{"id":"{op}","status":"{word}"}}"#));
            match retry_after {
                Some(seconds) => answer.with_header("Retry-After", seconds.to_string()),
                None => answer,
            }
        };
        if operation.polls <= not_started {
            return pending(not_started_word);
        }
        if operation.polls <= not_started + running {
            return pending(running_word);
        }
        operation.finished = true;
        if let Some(error) = failure {
            return Response::new(200).with_body(format!(
                r#"{{"id":"{op}","status":"{failed_word}","error":{error}}}"#
            ));
        }
        let persist = operation.persist;
        let existing = operation.session.clone();
        // The session came into being just after the previous contact, and has been idle since.
        let id = existing.unwrap_or_else(|| {
            let id = self.new_session(born, persist);
            if let Some(operation) = self.operations.get_mut(op) {
                operation.session = Some(id.clone());
            }
            id
        });
        // Relative to the operation's own URL, `..` leads back to the workbook.
        let resource = format!("sessionInfoResource(key='{id}')");
        let location = if self.config.absolute_locations {
            format!("{BASE}/{resource}")
        } else {
            format!("../{resource}")
        };
        Response::new(200).with_body(format!(
            r#"{{"id":"{op}","status":"{success_word}","resourceLocation":"{location}"}}"#
        ))
    }

    fn resource(&mut self, path: &str) -> Response {
        let key = path
            .trim_start_matches("/sessionInfoResource(key='")
            .trim_end_matches("')");
        match self.sessions.get(key) {
            Some(session) => session_body(200, key, session.persist),
            None => Response::new(404),
        }
    }

    /// refreshSession, closeSession or a caller's call on session `id`.
    fn session_action(&mut self, now: Instant, route: Route, id: &str) -> Response {
        let Some(session) = self.sessions.get(id).cloned() else {
            return self.expiry_answer();
        };
        let forced = self
            .forced_expiries
            .iter()
            .any(|&at| at <= now && session.created_at < at);
        let idle = now - session.last_touch;
        if forced || idle > session.limit(&self.config) {
            if !forced {
                self.lapses.push(Lapse {
                    session: id.into(),
                    idle,
                    noticed_at: now,
                });
            }
            self.sessions.remove(id);
            return self.expiry_answer();
        }
        match route {
            Route::Close => {
                self.sessions.remove(id);
                self.closed.push(id.into());
                Response::new(204)
            }
            Route::Refresh => {
                self.touch(id, now);
                Response::new(204)
            }
            _ => {
                self.touch(id, now);
                Response::new(200).with_body(r#"{"values":[[1,2]]}"#)
            }
        }
    }

    fn touch(&mut self, id: &str, now: Instant) {
        if let Some(session) = self.sessions.get_mut(id) {
            session.last_touch = now;
        }
    }

    fn expiry_answer(&self) -> Response {
        match self.config.expiry_answer {
            ExpiryAnswer::NotFound => Response::new(404).with_body(
                r#"{"error":{"code":"itemNotFound","message":"The requested resource doesn't exist."}}"#,
            ),
            ExpiryAnswer::ReCreatable(status) => Response::new(status).with_body(
                r#"{"error":{"code":"badRequest","message":"The session is invalid.","innerError":{"code":"invalidSessionReCreatable"}}}"#,
            ),
        }
    }
}

fn session_body(status: u16, id: &str, persist: bool) -> Response {
    Response::new(status).with_body(format!(
        r#"{{"@odata.context":"{BASE}/$metadata#microsoft.graph.sessionInfo","id":"{id}","persistChanges":{persist}}}"#
    ))
}

//! Graph upload sessions (drive items, print documents, mail attachments), simple uploads
//! (`PUT …:/content`) and the `/v1.0` dispatcher, which also routes workbook requests.

pub(crate) mod commit;
mod control;
mod create;
pub(crate) mod drive;
mod fragment;
mod misbehave;
pub(crate) mod path;
pub(crate) mod session;
mod simple;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use resumable_core::range_set::RangeSet;
use serde_json::Value;
use tokio::time::Instant;

use self::create::DriveCreate;
use self::path::{GraphRoute, percent_decode};
use self::session::{GraphSession, PRINT_GAP_CAPACITY, lock};
use crate::answer::{Style, graph_error};
use crate::app::AppState;
use crate::body::{BodyReader, discard_body};
use crate::exchange::{SessionRef, exchange, refuse_before_faults};
use crate::faults::RequestKind;

/// Create requests carry small JSON bodies; anything larger is refused.
const JSON_LIMIT: usize = 64 * 1024;

/// Every `/v1.0/…` request.
pub(crate) async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let route = request
        .uri()
        .path()
        .strip_prefix("/v1.0/")
        .and_then(percent_decode)
        .and_then(|path| path::parse(&path));
    let method = request.method().clone();
    let Some(route) = route else {
        return unknown(&state, request, StatusCode::NOT_FOUND).await;
    };
    let creates = matches!(
        (&method, &route),
        (
            &Method::POST,
            GraphRoute::CreateDrive(_)
                | GraphRoute::CreateDriveReplace { .. }
                | GraphRoute::CreatePrint { .. }
                | GraphRoute::CreateMail { .. }
        ) | (&Method::PUT | &Method::GET, GraphRoute::ItemByPath(_))
            | (
                &Method::PUT,
                GraphRoute::Content(_) | GraphRoute::ContentById { .. }
            )
            | (&Method::GET, GraphRoute::ItemById { .. })
    );
    if creates && let Err(answer) = require_bearer(&state, request.headers()) {
        let kind = match &route {
            GraphRoute::CreatePrint { .. } => RequestKind::CreatePrint,
            GraphRoute::CreateMail { .. } => RequestKind::CreateMail,
            GraphRoute::ItemByPath(_) | GraphRoute::ItemById { .. } if method == Method::GET => {
                RequestKind::GetItem
            }
            GraphRoute::ItemByPath(_) => RequestKind::ExplicitCommit,
            GraphRoute::Content(_) | GraphRoute::ContentById { .. } => RequestKind::SimpleUpload,
            _ => RequestKind::CreateDrive,
        };
        return refuse_before_faults(&state, request, kind, answer).await;
    }
    let graph = |kind: RequestKind| (kind, Style::Graph);
    match (method, route) {
        (Method::POST, GraphRoute::CreateDrive(target)) => {
            let (kind, style) = graph(RequestKind::CreateDrive);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| create::drive(state, request, DriveCreate::Path(target), fault),
            )
            .await
        }
        (Method::POST, GraphRoute::CreateDriveReplace { item, .. }) => {
            let (kind, style) = graph(RequestKind::CreateDrive);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| create::drive(state, request, DriveCreate::Replace(item), fault),
            )
            .await
        }
        (Method::POST, GraphRoute::CreatePrint { document }) => {
            let (kind, style) = graph(RequestKind::CreatePrint);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| create::print(state, request, document, fault),
            )
            .await
        }
        (Method::POST, GraphRoute::CreateMail { message }) => {
            let (kind, style) = graph(RequestKind::CreateMail);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| create::mail(state, request, message, fault),
            )
            .await
        }
        (Method::PUT, GraphRoute::ItemByPath(target)) => {
            let (kind, style) = graph(RequestKind::ExplicitCommit);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| control::explicit_commit(state, request, target, fault),
            )
            .await
        }
        (Method::PUT, GraphRoute::Content(target)) => {
            let (kind, style) = graph(RequestKind::SimpleUpload);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| simple::put(state, request, simple::Place::Path(target), fault),
            )
            .await
        }
        (Method::PUT, GraphRoute::ContentById { item }) => {
            let (kind, style) = graph(RequestKind::SimpleUpload);
            exchange(
                &state.clone(),
                request,
                kind,
                style,
                None,
                |request, fault| simple::put(state, request, simple::Place::Id(item), fault),
            )
            .await
        }
        (Method::GET, GraphRoute::ItemById { item }) => {
            let (kind, style) = graph(RequestKind::GetItem);
            exchange(&state.clone(), request, kind, style, None, |request, _| {
                control::get_item_by_id(state, request, item)
            })
            .await
        }
        (Method::GET, GraphRoute::ItemByPath(target)) => {
            let (kind, style) = graph(RequestKind::GetItem);
            exchange(&state.clone(), request, kind, style, None, |request, _| {
                control::get_item(state, request, target)
            })
            .await
        }
        (method, GraphRoute::Workbook { item, op }) => {
            crate::workbook::dispatch(state, request, method, item, op).await
        }
        _ => unknown(&state, request, StatusCode::METHOD_NOT_ALLOWED).await,
    }
}

/// A request the emulator does not serve: counted, never faulted.
async fn unknown(state: &Arc<AppState>, request: Request, status: StatusCode) -> Response {
    exchange(
        state,
        request,
        RequestKind::Other,
        Style::Graph,
        None,
        |request, _| async move {
            let _ = BodyReader::new(request, &state.stats, false).drain().await;
            let code = if status == StatusCode::NOT_FOUND {
                "itemNotFound"
            } else {
                "invalidRequest"
            };
            graph_error(status, code, "The emulator does not serve this request.")
        },
    )
    .await
}

/// Every request on an upload URL (`/_up/{id}?{token}`).
pub(crate) async fn upload_url(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let kind = match *request.method() {
        Method::PUT => RequestKind::Fragment,
        Method::GET => RequestKind::Status,
        Method::DELETE => RequestKind::Cancel,
        Method::POST => RequestKind::Commit,
        _ => return unknown(&state, request, StatusCode::METHOD_NOT_ALLOWED).await,
    };
    let query = request.uri().query().unwrap_or("").to_owned();
    let session = match check_access(&state, &request, &query, &id) {
        Ok(session) => session,
        Err(answer) => return refuse_before_faults(&state, request, kind, answer).await,
    };
    let session_ref = {
        let ordinal = lock(&session).ordinal;
        let (state, session) = (state.clone(), session.clone());
        SessionRef {
            ordinal,
            expire: Box::new(move || {
                state.graph.retire(&session);
            }),
        }
    };
    exchange(
        &state.clone(),
        request,
        kind,
        Style::Graph,
        Some(session_ref),
        |request, fault| async move {
            match kind {
                RequestKind::Fragment => fragment::put(state, session, request, fault).await,
                RequestKind::Commit => control::commit(state, session, request, fault).await,
                RequestKind::Status => {
                    drain(&state, request, kind).await;
                    control::status(&state, &session)
                }
                _ => {
                    drain(&state, request, kind).await;
                    control::cancel(&state, &session)
                }
            }
        },
    )
    .await
}

/// The checks every upload-URL request passes before its method matters, and before the fault
/// plan sees it: no `Authorization` header (`401`), a known session (`404`), the right token in
/// the right parameter (`401`), not expired (`404`).
fn check_access(
    state: &AppState,
    request: &Request,
    query: &str,
    id: &str,
) -> Result<Arc<Mutex<GraphSession>>, Response> {
    if request.headers().contains_key(header::AUTHORIZATION) {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Requests to an upload URL must not carry an Authorization header.",
        ));
    }
    let Some(session) = state.graph.get(id) else {
        if request.method() == Method::PUT
            && let Some((range, total)) = fragment::declared_range(request)
        {
            let twice = state.graph.resent_bytes(id, query, range, total);
            state.stats.received_twice(twice);
        }
        return Err(Style::Graph.expired());
    };
    let (param, token, gone) = {
        let guard = lock(&session);
        (
            guard.variant.token_param(),
            guard.token.clone(),
            guard.is_gone(Instant::now()),
        )
    };
    if query_value(query, param).as_deref() != Some(token.as_str()) {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The upload URL's token is missing or wrong.",
        ));
    }
    if gone {
        state.graph.retire(&session);
        return Err(Style::Graph.expired());
    }
    Ok(session)
}

async fn drain(state: &AppState, request: Request, kind: RequestKind) {
    discard_body(&state.stats, request, kind.carries_upload()).await;
}

/// The value of query parameter `name`, percent-decoded.
pub(crate) fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| percent_decode(&value.replace('+', " ")))
}

/// Create requests (and workbook requests) need `Authorization: Bearer {token}` (the
/// configured token, if any); checked before the fault plan sees the request.
pub(crate) fn require_bearer(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    let accepted = match (&state.config.bearer_token, given) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(expected), Some(given)) => expected.expose() == given,
    };
    if accepted {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        ))
    }
}

/// Reads a small JSON object body; an empty body is `{}` where `allow_empty`.
pub(crate) async fn read_json(
    state: &AppState,
    request: Request,
    allow_empty: bool,
) -> Result<Value, Response> {
    let bad = |message: &str| graph_error(StatusCode::BAD_REQUEST, "invalidRequest", message);
    let mut body = BodyReader::new(request, &state.stats, false);
    let Ok(bytes) = body.collect(JSON_LIMIT).await else {
        return Err(bad("The request body is too large or could not be read."));
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if allow_empty {
            Ok(Value::Object(Default::default()))
        } else {
            Err(bad("A JSON request body is required."))
        };
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(bad("The request body must be a JSON object.")),
    }
}

/// A property of a JSON object, its name matched case-insensitively (Graph accepts any casing).
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// A fresh set of missing ranges for a print document of `total` bytes.
pub(crate) fn range_set_for(total: u64) -> Box<RangeSet<PRINT_GAP_CAPACITY>> {
    Box::new(RangeSet::new(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_found_and_decoded() {
        assert_eq!(
            query_value("a=1&tempauth=x%2By", "tempauth").as_deref(),
            Some("x+y")
        );
        assert_eq!(query_value("tempauthtoken=1", "tempauth"), None);
        assert_eq!(query_value("", "tempauth"), None);
    }

    #[test]
    fn fields_match_any_casing() {
        let value = serde_json::json!({"AttachmentItem": {"Size": 3}});
        let item = field(&value, "attachmentItem").unwrap();
        assert_eq!(field(item, "size").unwrap(), 3);
        assert!(field(&value, "missing").is_none());
    }
}

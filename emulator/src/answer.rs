//! The shapes of answers: Graph error bodies, WOPI failure headers, JSON bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use resumable_core::time::UnixTime;
use serde_json::{Value, json};

use crate::clock::{TimeScale, wall_now};
use crate::faults::{MAX_RETRY_AFTER_SECS, RetryAfterForm};

/// Which family of services an answer comes from; it decides the error shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Graph upload sessions: `{"error":{"code","message","innerError"}}`.
    Graph,
    /// Graph workbook sessions: the Graph shape, with the workbook's inner codes.
    Workbook,
    /// WOPI: an empty body and `X-WOPI-FailureReason`.
    Wopi,
    /// tus 1.0 and the IETF draft: a short `text/plain` reason, as tusd writes it (the
    /// dialect's version header is added by the endpoint to every answer).
    Tus,
}

impl Style {
    /// A refusal with `status`; `code` is the Graph error code (unused by WOPI).
    pub(crate) fn error(self, status: StatusCode, code: &str, message: &str) -> Response {
        match self {
            Style::Graph | Style::Workbook => graph_error(status, code, message),
            Style::Wopi => wopi_failure(status, message),
            Style::Tus => text_answer(status, message),
        }
    }

    /// The answer to a request on an expired (or early-expired) session.
    pub(crate) fn expired(self) -> Response {
        match self {
            Style::Graph => graph_error(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                "The upload session was not found or has expired.",
            ),
            Style::Workbook => workbook_session_gone(),
            Style::Wopi => wopi_failure(StatusCode::GONE, "the upload session has expired"),
            // tus: `410` for an upload the server remembers and has let go.
            Style::Tus => text_answer(StatusCode::GONE, "the upload has expired"),
        }
    }

    /// A server error injected as a fault.
    pub(crate) fn server_error(self, status: u16) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match status.as_u16() {
            502 => "badGateway",
            503 => "serviceNotAvailable",
            504 => "gatewayTimeout",
            _ => "generalException",
        };
        self.error(status, code, "The service is temporarily unable to answer.")
    }

    /// A throttling answer with `Retry-After` in the requested form.
    pub(crate) fn throttled(self, status: u16, form: RetryAfterForm, scale: TimeScale) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "activityLimitReached"
        } else {
            "serviceNotAvailable"
        };
        let mut response = self.error(status, code, "Too many requests; retry later.");
        response.headers_mut().insert(
            header::RETRY_AFTER,
            retry_after_value(form, scale, wall_now()),
        );
        response
    }
}

/// The `Retry-After` value for `form`, its figure scaled to real seconds.
pub(crate) fn retry_after_value(
    form: RetryAfterForm,
    scale: TimeScale,
    now: UnixTime,
) -> HeaderValue {
    let secs = scale
        .real_secs(form.service_secs())
        .min(MAX_RETRY_AFTER_SECS);
    let text = match form {
        RetryAfterForm::Seconds(_) => secs.to_string(),
        RetryAfterForm::HttpDate(_) => {
            // An HTTP-date has whole seconds: round the target up so the wait is never shorter.
            let wait_ms = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
            let at_ms = now.as_millis().saturating_add(wait_ms);
            let rounded = at_ms.saturating_add(999).div_euclid(1000);
            UnixTime::from_secs(rounded).http_date().to_string()
        }
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("1"))
}

/// A Graph error answer.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_answer(status, graph_error_body(code, message, None))
}

/// The Graph error body; `inner` is the second-level code (workbook errors carry one).
pub(crate) fn graph_error_body(code: &str, message: &str, inner: Option<&str>) -> Value {
    let now = wall_now();
    let mut inner_error = json!({
        "date": now.to_string(),
        "request-id": format!("{:016x}", now.as_millis()),
    });
    if let Some(inner) = inner {
        inner_error["code"] = Value::from(inner);
    }
    json!({ "error": { "code": code, "message": message, "innerError": inner_error } })
}

/// `404` for a workbook session that expired or never existed: `invalidSessionReCreatable`
/// tells the client to create a new one.
pub(crate) fn workbook_session_gone() -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        graph_error_body(
            "itemNotFound",
            "The target session is invalid or has expired.",
            Some("invalidSessionReCreatable"),
        ),
    )
}

/// A WOPI failure: empty body, reason in `X-WOPI-FailureReason`.
pub(crate) fn wopi_failure(status: StatusCode, reason: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(reason) {
        response
            .headers_mut()
            .insert(crate::wopi::FAILURE_REASON.clone(), value);
    }
    response
}

/// A plain-text answer: `reason` and a new line, as tus servers explain a refusal.
pub(crate) fn text_answer(status: StatusCode, reason: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{reason}\n"),
    )
        .into_response()
}

/// A JSON answer.
pub(crate) fn json_answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let scale = TimeScale::new(60.0).unwrap();
        let now = UnixTime::from_millis(784_111_777_500);
        assert_eq!(
            retry_after_value(RetryAfterForm::Seconds(120), scale, now),
            "2"
        );
        // 1.5 s past a whole second plus 1 s, rounded up: 784 111 779.
        assert_eq!(
            retry_after_value(RetryAfterForm::HttpDate(1), TimeScale::REAL_TIME, now),
            "Sun, 06 Nov 1994 08:49:39 GMT"
        );
    }

    #[test]
    fn huge_retry_after_figures_are_capped_at_a_year() {
        let now = UnixTime::from_millis(784_111_777_000);
        let year = MAX_RETRY_AFTER_SECS as i64;
        for form in [
            RetryAfterForm::HttpDate(u64::MAX),
            RetryAfterForm::HttpDate(1 << 62),
        ] {
            let value = retry_after_value(form, TimeScale::SLOWEST, now);
            let at = UnixTime::parse_http_date(value.to_str().unwrap()).unwrap();
            assert_eq!(at, UnixTime::from_secs(784_111_777 + year));
        }
        let seconds = retry_after_value(RetryAfterForm::Seconds(u64::MAX), TimeScale::SLOWEST, now);
        assert_eq!(seconds, year.to_string().as_str());
    }

    #[test]
    fn graph_errors_have_the_documented_shape() {
        let body = graph_error_body("invalidRange", "no", Some("inner"));
        assert_eq!(body["error"]["code"], "invalidRange");
        assert_eq!(body["error"]["message"], "no");
        assert_eq!(body["error"]["innerError"]["code"], "inner");
        assert!(body["error"]["innerError"]["date"].is_string());
    }
}

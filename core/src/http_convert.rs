//! Conversions between [`crate::http`]'s requests and answers and the `http` crate's types
//! (feature `http`), for transports built on `http`-based clients. No
//! [`HttpConversionError`] holds a URL, a header value or a body: they can be credentials.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::http::{Auth, Body, Header, Method, Request, RequestId, RequestKind, Response};
use crate::secret::SecretUrl;
use crate::wire::REQUEST_HEADERS;

/// Why a conversion to or from the `http` crate's types failed. Says what was wrong, never
/// the URL, a header value or a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpConversionError {
    /// The URL is not one `http::Uri` accepts.
    Url,
    /// A header name or value `http` refuses (a control character, say); the name is the
    /// header's when it is one the protocols use.
    Header(Option<&'static str>),
    /// A status outside `100..=999`.
    Status,
    /// A method other than `GET`, `PUT`, `POST` and `DELETE`, which are all the protocols use.
    Method,
    /// A request header the protocols never send (converting back into a [`Request`] keeps
    /// only the headers the core's requests carry; `Authorization` belongs to the transport).
    UnknownHeader,
    /// An `http::Request` without the extension that names this part of the core's request:
    /// only requests that came from a [`Request`] convert back.
    MissingExtension(&'static str),
}

impl fmt::Display for HttpConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpConversionError::Url => f.write_str("the URL is not a valid HTTP URI"),
            HttpConversionError::Header(Some(name)) => {
                write!(f, "the {name} header is not a valid HTTP header")
            }
            HttpConversionError::Header(None) => f.write_str("a header is not a valid HTTP header"),
            HttpConversionError::Status => f.write_str("the status is not a valid HTTP status"),
            HttpConversionError::Method => {
                f.write_str("the method is not one the upload protocols use")
            }
            HttpConversionError::UnknownHeader => {
                f.write_str("a header is not one the upload protocols send")
            }
            HttpConversionError::MissingExtension(what) => write!(
                f,
                "the request carries no {what} extension: it did not come from a core request"
            ),
        }
    }
}

impl core::error::Error for HttpConversionError {}

/// The headers the protocols' requests carry, and whether each is a credential.
const fn to_http_method(method: Method) -> http::Method {
    match method {
        Method::Get => http::Method::GET,
        Method::Put => http::Method::PUT,
        Method::Post => http::Method::POST,
        Method::Delete => http::Method::DELETE,
        Method::Head => http::Method::HEAD,
        Method::Options => http::Method::OPTIONS,
        Method::Patch => http::Method::PATCH,
    }
}

fn from_http_method(method: &http::Method) -> Result<Method, HttpConversionError> {
    Ok(match *method {
        http::Method::GET => Method::Get,
        http::Method::PUT => Method::Put,
        http::Method::POST => Method::Post,
        http::Method::DELETE => Method::Delete,
        http::Method::HEAD => Method::Head,
        http::Method::OPTIONS => Method::Options,
        http::Method::PATCH => Method::Patch,
        _ => return Err(HttpConversionError::Method),
    })
}

impl TryFrom<&Request> for http::Request<()> {
    type Error = HttpConversionError;

    fn try_from(request: &Request) -> Result<Self, HttpConversionError> {
        let uri: http::Uri = request
            .url
            .expose()
            .parse()
            .map_err(|_| HttpConversionError::Url)?;
        let mut out = http::Request::new(());
        *out.method_mut() = to_http_method(request.method);
        *out.uri_mut() = uri;
        let headers = out.headers_mut();
        for header in &request.headers {
            let invalid = HttpConversionError::Header(Some(header.name));
            let name = http::HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| invalid)?;
            let mut value = http::HeaderValue::from_str(&header.value).map_err(|_| invalid)?;
            value.set_sensitive(header.sensitive);
            headers.append(name, value);
        }
        if matches!(request.body, Body::Json(_)) && request.header("content-type").is_none() {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        if matches!(request.method, Method::Put | Method::Post) {
            headers.insert(http::header::CONTENT_LENGTH, request.body.len().into());
        }
        let extensions = out.extensions_mut();
        extensions.insert(request.id);
        extensions.insert(request.kind);
        extensions.insert(request.auth);
        extensions.insert(request.body.clone());
        Ok(out)
    }
}

impl TryFrom<http::Request<()>> for Request {
    type Error = HttpConversionError;

    fn try_from(request: http::Request<()>) -> Result<Self, HttpConversionError> {
        let (parts, ()) = request.into_parts();
        let method = from_http_method(&parts.method)?;
        let mut headers = Vec::new();
        for (name, value) in &parts.headers {
            if *name == http::header::CONTENT_LENGTH {
                continue; // derived from the body
            }
            let &(known, secret) = REQUEST_HEADERS
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name.as_str()))
                .ok_or(HttpConversionError::UnknownHeader)?;
            let value = value
                .to_str()
                .map_err(|_| HttpConversionError::Header(Some(known)))?;
            headers.push(Header {
                name: known,
                value: value.to_string(),
                sensitive: secret || value_is_sensitive(&parts.headers, name),
            });
        }
        let extension = |what| HttpConversionError::MissingExtension(what);
        Ok(Request {
            id: *parts
                .extensions
                .get::<RequestId>()
                .ok_or(extension("RequestId"))?,
            kind: *parts
                .extensions
                .get::<RequestKind>()
                .ok_or(extension("RequestKind"))?,
            method,
            url: SecretUrl::new(parts.uri.to_string()),
            headers,
            auth: *parts.extensions.get::<Auth>().ok_or(extension("Auth"))?,
            body: parts
                .extensions
                .get::<Body>()
                .cloned()
                .ok_or(extension("Body"))?,
        })
    }
}

/// Whether any value of `name` was marked sensitive on the way (by a middleware, say).
fn value_is_sensitive(headers: &http::HeaderMap, name: &http::HeaderName) -> bool {
    headers
        .get_all(name)
        .iter()
        .any(http::HeaderValue::is_sensitive)
}

impl From<http::Response<Bytes>> for Response {
    fn from(response: http::Response<Bytes>) -> Self {
        let (parts, body) = response.into_parts();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = match value.to_str() {
                    Ok(text) => text.to_string(),
                    Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
                };
                (name.as_str().to_string(), value)
            })
            .collect();
        Response {
            status: parts.status.as_u16(),
            headers,
            body,
        }
    }
}

impl TryFrom<Response> for http::Response<Bytes> {
    type Error = HttpConversionError;

    fn try_from(response: Response) -> Result<Self, HttpConversionError> {
        let status =
            http::StatusCode::from_u16(response.status).map_err(|_| HttpConversionError::Status)?;
        let mut out = http::Response::new(response.body);
        *out.status_mut() = status;
        let headers = out.headers_mut();
        for (name, value) in &response.headers {
            let invalid = HttpConversionError::Header(None);
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid)?;
            let value = http::HeaderValue::from_str(value).map_err(|_| invalid)?;
            headers.append(name, value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec;

    use super::*;
    use crate::range::ByteRange;

    fn fragment() -> Request {
        Request {
            id: RequestId(7),
            kind: RequestKind::Fragment,
            method: Method::Put,
            url: SecretUrl::new("https://up.example/s1?tempauth=SECRET-URL-TOKEN"),
            headers: vec![
                Header::new("Content-Range", "bytes 0-9/100"),
                Header::sensitive(
                    crate::wire::workbook_headers::SESSION_HEADER,
                    "SECRET-SESSION",
                ),
            ],
            auth: Auth::None,
            body: Body::Source(ByteRange::new(0, 10).unwrap()),
        }
    }

    #[test]
    fn a_request_goes_to_http_and_back_unchanged() {
        let request = fragment();
        let outgoing = http::Request::try_from(&request).unwrap();
        assert_eq!(outgoing.method(), http::Method::PUT);
        assert_eq!(
            outgoing.uri().to_string(),
            "https://up.example/s1?tempauth=SECRET-URL-TOKEN"
        );
        assert_eq!(outgoing.headers()["content-range"], "bytes 0-9/100");
        assert_eq!(outgoing.headers()["content-length"], "10");
        assert!(outgoing.headers()["workbook-session-id"].is_sensitive());
        assert!(!format!("{outgoing:?}").contains("SECRET-SESSION"));
        assert_eq!(
            outgoing.extensions().get::<RequestId>(),
            Some(&RequestId(7))
        );

        let back = Request::try_from(outgoing).unwrap();
        assert_eq!(back.id, request.id);
        assert_eq!(back.kind, request.kind);
        assert_eq!(back.method, request.method);
        assert_eq!(back.url.expose(), request.url.expose());
        assert_eq!(back.headers, request.headers);
        assert_eq!(back.auth, request.auth);
        assert_eq!(back.body, request.body);
    }

    #[test]
    fn a_json_body_is_labelled_and_a_get_has_no_length() {
        let mut request = fragment();
        request.body = Body::Json(Bytes::from_static(b"{}"));
        request.method = Method::Post;
        let outgoing = http::Request::try_from(&request).unwrap();
        assert_eq!(outgoing.headers()["content-type"], "application/json");
        assert_eq!(outgoing.headers()["content-length"], "2");

        request.method = Method::Get;
        request.body = Body::Empty;
        let outgoing = http::Request::try_from(&request).unwrap();
        assert!(outgoing.headers().get("content-length").is_none());
    }

    #[test]
    fn errors_never_hold_the_url_or_a_header_value() {
        let mut request = fragment();
        request.url = SecretUrl::new("https://up.example/s 1?tempauth=SECRET-URL-TOKEN");
        let error = http::Request::try_from(&request).unwrap_err();
        assert_eq!(error, HttpConversionError::Url);

        let mut request = fragment();
        request.headers.push(Header::sensitive(
            "X-WOPI-Lock",
            "SECRET-LOCK\r\nInjected: yes",
        ));
        let error = http::Request::try_from(&request).unwrap_err();
        assert_eq!(error, HttpConversionError::Header(Some("X-WOPI-Lock")));

        let response = Response::new(200).with_header("Location", "https://x/SECRET-LOC\n");
        let error = http::Response::try_from(response).unwrap_err();
        for error in [
            HttpConversionError::Url,
            HttpConversionError::Header(Some("X-WOPI-Lock")),
            error,
        ] {
            let text = format!("{error} {error:?}");
            assert!(!text.contains("SECRET"), "{text}");
        }
    }

    #[test]
    fn only_requests_from_the_core_convert_back() {
        let plain = http::Request::put("https://up.example/s1")
            .body(())
            .unwrap();
        assert_eq!(
            Request::try_from(plain).unwrap_err(),
            HttpConversionError::MissingExtension("RequestId")
        );

        let mut outgoing = http::Request::try_from(&fragment()).unwrap();
        outgoing.headers_mut().insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer SECRET-TOKEN"),
        );
        let error = Request::try_from(outgoing).unwrap_err();
        assert_eq!(error, HttpConversionError::UnknownHeader);
        assert!(!format!("{error}").contains("SECRET"));

        let trace = http::Request::builder()
            .method(http::Method::TRACE)
            .uri("https://up.example/s1")
            .body(())
            .unwrap();
        assert_eq!(
            Request::try_from(trace).unwrap_err(),
            HttpConversionError::Method
        );
    }

    #[test]
    fn responses_go_both_ways() {
        let answer = http::Response::builder()
            .status(202)
            .header("Retry-After", "5")
            .header("X-Odd", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(Bytes::from_static(br#"{"nextExpectedRanges":["26-"]}"#))
            .unwrap();
        let response = Response::from(answer);
        assert_eq!(response.status, 202);
        assert_eq!(response.header("retry-after"), Some("5"));
        assert_eq!(response.header("x-odd"), Some("caf\u{fffd}"));
        assert_eq!(&response.body[..], br#"{"nextExpectedRanges":["26-"]}"#);

        let back = http::Response::try_from(response.clone()).unwrap();
        assert_eq!(back.status(), 202);
        assert_eq!(back.headers()["retry-after"], "5");
        assert_eq!(back.body(), &response.body);

        assert_eq!(
            http::Response::try_from(Response::new(1000)).unwrap_err(),
            HttpConversionError::Status
        );
    }
}

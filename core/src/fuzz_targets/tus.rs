//! The tus / IETF draft machine against a server whose every answer is chosen by the fuzzer:
//! it must never complete unless a `HEAD` just said offset == length, never send a byte past
//! the source or an offset other than its body's start, never have two requests in flight, and
//! end within its budget once the server stops answering.

use alloc::format;
use alloc::string::{String, ToString};

use super::Choices;
use crate::digest::DigestAlgorithm;
use crate::http::{Body, Method, Response, TransportError};
use crate::session::StateMachine;
use crate::time::{Duration, Instant, UnixTime, WallClock};
use crate::tus::{ChecksumPolicy, InteropVersion, TusConfig, TusEvent, TusUpload, Variant};

/// Runs one upload against answers read off `data`; answers whether it completed.
pub fn tus_upload_hostile_answers(data: &[u8]) -> bool {
    use crate::session::Transfer;
    let mut choices = Choices(data);
    let total = u64::from(choices.u16() % 3_000);
    let chunk = (u64::from(choices.byte()) + 1) * 16;
    let variant = choices.pick(&[
        Variant::Tus1,
        Variant::Tus1,
        Variant::Ietf(InteropVersion::V6),
        Variant::Ietf(InteropVersion::V8),
    ]);
    let mut config = TusConfig::new(variant, "https://tus.example/files/", Some(total));
    config.chunk_size = chunk;
    config.checksum = choices.pick(&[
        ChecksumPolicy::Auto,
        ChecksumPolicy::Off,
        ChecksumPolicy::Require(DigestAlgorithm::Sha1),
    ]);
    config.retry.max_attempts = 3;
    config.max_new_uploads = 1;
    let Ok(mut upload) = TusUpload::create(config, Instant::ZERO) else {
        return false;
    };
    let mut completed = false;
    let mut honest = Honest::default();
    upload.anchor(WallClock::new(
        Instant::ZERO,
        UnixTime::from_secs(1_800_000_000),
    ));
    let mut now = Instant::ZERO;
    let mut exhausted_steps = 0;
    for _ in 0..20_000 {
        if upload.is_finished() {
            break;
        }
        let Some(request) = upload.poll_request(now) else {
            if upload.is_finished() {
                break;
            }
            match upload.poll_timeout() {
                Some(at) => {
                    now = at.max(now);
                    upload.handle_timeout(now);
                    continue;
                }
                None => panic!("stuck: no request, no timer, not finished: {upload:?}"),
            }
        };
        assert!(upload.poll_request(now).is_none(), "two requests in flight");
        let tus = variant == Variant::Tus1;
        if request.method == Method::Options {
            assert!(request.header("Tus-Resumable").is_none());
        } else if tus {
            assert_eq!(request.header("Tus-Resumable"), Some("1.0.0"));
        } else {
            assert!(request.header("Upload-Draft-Interop-Version").is_some());
        }
        if let Body::Source(range) = request.body {
            assert!(range.end() <= total, "bytes past the source");
            if request.method == Method::Patch {
                let offset = request.header("Upload-Offset").and_then(|o| o.parse().ok());
                assert_eq!(offset, Some(range.start()), "offset header and body differ");
            }
        }
        now += Duration::from_millis(u64::from(choices.byte()) * 50);
        if choices.is_empty() {
            // The server went silent: the machine must give up within its budget.
            exhausted_steps += 1;
            assert!(exhausted_steps < 200, "no end after the server went silent");
            upload.handle_transport_error(now, request.id, TransportError::ConnectionLost);
            continue;
        }
        if choices.one_in(11) {
            upload.handle_transport_error(now, request.id, TransportError::Timeout);
            continue;
        }
        if !choices.one_in(3) {
            // Most answers are an honest server's.
            let answer = honest.answer(&request, total);
            let proof = request.method == Method::Head && honest.offset == total;
            upload.handle_response(now, request.id, answer);
            while let Some(event) = upload.poll_event() {
                if let TusEvent::Completed(done) = &event {
                    assert!(proof, "completed without a HEAD showing every byte");
                    assert_eq!(done.length, total);
                    completed = true;
                }
            }
            continue;
        }
        let status = choices.pick(&[
            200, 201, 204, 204, 204, 204, 400, 403, 404, 409, 410, 412, 413, 417, 423, 460, 500,
            503,
        ]);
        let offset = match choices.byte() % 6 {
            0 => None,
            1 => Some("garbage".to_string()),
            2 => Some(total.to_string()),
            3 => Some((total + 1).to_string()),
            4 => match request.body {
                Body::Source(range) => Some(range.end().to_string()),
                _ => Some("0".to_string()),
            },
            _ => Some((u64::from(choices.u16()) % (total + 2)).to_string()),
        };
        let mut answer = Response::new(status);
        if let Some(offset) = &offset {
            answer = answer.with_header("Upload-Offset", offset.as_str());
        }
        if choices.one_in(3) {
            answer = answer.with_header(
                "Upload-Length",
                choices.pick(&[total, total, total + 1]).to_string(),
            );
        }
        if choices.one_in(2) {
            answer = answer.with_header(
                "Location",
                choices.pick(&["/files/a", "b", "ftp://x/y", "", "https://u:p@h/x"]),
            );
        }
        if choices.one_in(3) {
            answer = answer.with_header("Upload-Complete", choices.pick(&["?1", "?0", "1"]));
        }
        if choices.one_in(4) {
            answer = answer.with_header("Tus-Version", choices.pick(&["1.0.0", "0.2.2", ""]));
        }
        if choices.one_in(2) {
            let extensions: String = format!(
                "creation,{}{}{}",
                choices.pick(&["", "checksum,"]),
                choices.pick(&["", "termination,"]),
                choices.pick(&["", "creation-with-upload"])
            );
            answer = answer.with_header("Tus-Extension", extensions).with_header(
                "Tus-Checksum-Algorithm",
                choices.pick(&["crc32", "sha1", "md5"]),
            );
        }
        if choices.one_in(5) {
            let at = UnixTime::from_secs(1_800_000_000 + i64::from(choices.u16()));
            answer = answer.with_header("Upload-Expires", format!("{}", at.http_date()));
        }
        if choices.one_in(6) {
            answer = answer.with_header(
                "Upload-Limit",
                choices.pick(&[
                    "max-append-size=100",
                    "max-age=5",
                    "max-size=1",
                    "max-size=?1",
                ]),
            );
        }
        // The proof the machine may complete on: a 2xx answer to a HEAD with offset == length.
        let proof = request.method == Method::Head
            && (200..300).contains(&status)
            && offset.as_deref() == Some(total.to_string().as_str());
        upload.handle_response(now, request.id, answer);
        while let Some(event) = upload.poll_event() {
            if let TusEvent::Completed(done) = &event {
                assert!(proof, "completed without a HEAD showing every byte");
                assert_eq!(done.length, total);
                assert_eq!(upload.confirmed_source_bytes(), total);
                completed = true;
            }
        }
    }
    completed
}

#[cfg(test)]
mod tests {
    /// Pseudo-random inputs, so `cargo test` runs the target on thousands of server behaviours.
    #[test]
    fn thousands_of_random_servers_never_make_a_false_success_or_a_loop() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut completed = 0;
        for case in 0..3_000usize {
            let len = 16 + case % 600;
            let data: alloc::vec::Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 32) as u8
                })
                .collect();
            completed += usize::from(super::tus_upload_hostile_answers(&data));
        }
        assert!(
            completed > 30,
            "only {completed} of 3000 random servers let an upload complete"
        );
    }
}

/// What an honest server holds, to answer most requests truthfully.
#[derive(Default)]
struct Honest {
    offset: u64,
    complete: bool,
}

impl Honest {
    fn answer(&mut self, request: &crate::http::Request, total: u64) -> Response {
        let range = match request.body {
            Body::Source(range) => Some((range.start(), range.end())),
            _ => None,
        };
        match request.method {
            Method::Options => Response::new(204)
                .with_header("Tus-Version", "1.0.0")
                .with_header(
                    "Tus-Extension",
                    "creation,creation-with-upload,termination,checksum",
                )
                .with_header("Tus-Checksum-Algorithm", "crc32,sha1"),
            Method::Post => {
                self.offset = range.map_or(0, |(_, end)| end);
                self.complete = false;
                Response::new(201)
                    .with_header("Location", "/files/a")
                    .with_header("Upload-Offset", self.offset.to_string())
            }
            Method::Patch => {
                let start: u64 = request
                    .header("Upload-Offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(u64::MAX);
                if start != self.offset {
                    return Response::new(409)
                        .with_header("Upload-Offset", self.offset.to_string());
                }
                self.offset = range.map_or(start, |(_, end)| end);
                if request.header("Upload-Complete") == Some("?1") {
                    self.complete = true;
                }
                Response::new(204).with_header("Upload-Offset", self.offset.to_string())
            }
            Method::Head => {
                let mut answer = Response::new(200)
                    .with_header("Upload-Offset", self.offset.to_string())
                    .with_header("Upload-Length", total.to_string());
                if request.header("Upload-Draft-Interop-Version").is_some() {
                    answer = answer
                        .with_header("Upload-Complete", if self.complete { "?1" } else { "?0" });
                }
                answer
            }
            _ => Response::new(204),
        }
    }
}

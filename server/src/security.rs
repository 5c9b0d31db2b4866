//! Loopback-only, same-origin-only: the host answers the user's own browser tab and nothing else.
//!
//! Binding to 127.0.0.1 keeps other machines out, but not other *web sites* open in the same
//! browser: a page on evil.example can point its own DNS name at 127.0.0.1 (DNS rebinding) or
//! send cross-origin requests to it. So every request must name a loopback `Host`, and a
//! request that carries an `Origin` (or `Sec-Fetch-Site`) must come from this very origin.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use thiserror::Error;

use crate::error::ApiError;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BindError {
    #[error("refusing to listen on {0}: Mac Status serves loopback only (127.0.0.1 or ::1)")]
    NotLoopback(SocketAddr),
}

/// Start-up check: the listen address must be loopback.
pub fn check_bind(addr: SocketAddr) -> Result<(), BindError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(BindError::NotLoopback(addr))
    }
}

/// `host:port` (or `[v6]:port`) split strictly: brackets closed right before the port, the
/// port all digits. `None` for anything else (`[::1]junk`, a missing port, `:+80`).
fn split_authority(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':')?)
        }
        None => {
            let (host, port) = authority.rsplit_once(':')?;
            if host.contains(':') {
                return None;
            }
            (host, port)
        }
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host, port.parse().ok()?))
}

/// Whether a `Host` header names this very server: `localhost` or the bound address, and the
/// bound port — a DNS-rebound name, another port or a malformed header does not.
pub fn is_this_host(authority: &str, bound: SocketAddr) -> bool {
    split_authority(authority).is_some_and(|(host, port)| {
        port == bound.port()
            && (host.eq_ignore_ascii_case("localhost")
                || host.parse::<IpAddr>().is_ok_and(|ip| ip == bound.ip()))
    })
}

/// Why a request was turned away, for the log and the response body.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("this host only answers requests addressed to its own address and port (127.0.0.1 or localhost)")]
    BadHost,
    #[error("cross-origin requests are not allowed")]
    CrossOrigin,
}

/// `bound`: the address the host listens on.
pub fn check_request(headers: &HeaderMap, bound: SocketAddr) -> Result<(), Rejection> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or(Rejection::BadHost)?;
    if !is_this_host(host, bound) {
        return Err(Rejection::BadHost);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| Rejection::CrossOrigin)?;
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host));
        if !same {
            return Err(Rejection::CrossOrigin);
        }
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // `none` is a typed URL or a bookmark; `same-origin` is our own page.
        if !matches!(site, "same-origin" | "none") {
            return Err(Rejection::CrossOrigin);
        }
    }
    Ok(())
}

/// Longest part of a refused URI written to the log.
const LOGGED_URI_CHARS: usize = 120;

/// Any web page can make the browser send refused requests in a loop; logging each one would
/// let it fill the disk. One line per [`RefusalLog::INTERVAL`] at most, counting the others.
pub struct RefusalLog {
    state: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

impl RefusalLog {
    pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

    pub const fn new() -> Self {
        RefusalLog {
            state: std::sync::Mutex::new((None, 0)),
        }
    }

    /// Whether this refusal gets a log line; if so, how many went unlogged since the last one.
    pub fn admit(&self, now: std::time::Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, skipped) = &mut *state;
        match last {
            Some(t) if now.duration_since(*t) < Self::INTERVAL => {
                *skipped += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(skipped))
            }
        }
    }
}

impl Default for RefusalLog {
    fn default() -> Self {
        Self::new()
    }
}

static REFUSALS: RefusalLog = RefusalLog::new();

/// The first `max` characters of `s`, marked when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}… ({} bytes)", &s[..i], s.len()),
        None => s.to_owned(),
    }
}

/// Axum middleware applying [`check_request`] and a few response headers that deny framing
/// and content sniffing.
pub async fn guard(State(bound): State<SocketAddr>, req: Request, next: Next) -> Response {
    if let Err(why) = check_request(req.headers(), bound) {
        if let Some(earlier) = REFUSALS.admit(std::time::Instant::now()) {
            let uri = req.uri().to_string();
            tracing::warn!(
                ?why,
                uri = clip(&uri, LOGGED_URI_CHARS),
                "rejected request ({earlier} more refused since the last such line)"
            );
        }
        return ApiError::from(why).into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("frame-ancestors 'none'; base-uri 'self'; object-src 'none'"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count() {
        let log = RefusalLog::new();
        let t0 = std::time::Instant::now();
        assert_eq!(log.admit(t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(log.admit(t0 + std::time::Duration::from_millis(i)), None);
        }
        assert_eq!(log.admit(t0 + RefusalLog::INTERVAL), Some(1000));
        assert_eq!(log.admit(t0 + RefusalLog::INTERVAL), None);
    }

    #[test]
    fn long_uris_are_cut_for_the_log() {
        let long = format!("/{}", "A".repeat(8000));
        let cut = clip(&long, LOGGED_URI_CHARS);
        assert!(cut.len() < 200, "{cut}");
        assert!(cut.ends_with("… (8001 bytes)"), "{cut}");
        assert_eq!(clip("/api", LOGGED_URI_CHARS), "/api");
        assert_eq!(clip("/ベンチマーク", 3), "/ベン… (19 bytes)");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const BOUND: &str = "127.0.0.1:3000";

    fn bound() -> SocketAddr {
        BOUND.parse().unwrap()
    }

    #[test]
    fn only_this_host_and_port_pass() {
        for ok in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST:3000"] {
            assert!(is_this_host(ok, bound()), "{ok}");
        }
        let v6: SocketAddr = "[::1]:3000".parse().unwrap();
        assert!(is_this_host("[::1]:3000", v6));
        assert!(is_this_host("localhost:3000", v6));
        for bad in [
            "evil.example:3000",
            "192.168.1.2:3000",
            "localhost.evil.example",
            "localhost.evil.example:3000",
            "[::2]:1",
            "",
            // Loopback, but not this server: another port, no port, another address.
            "127.0.0.1:3001",
            "localhost:8080",
            "127.0.0.1",
            "LOCALHOST",
            "127.0.0.2:3000",
            "[::1]:3000",
            // Malformed.
            "[::1]junk",
            "[::1]junk:3000",
            "127.0.0.1:+3000",
            "127.0.0.1:3000x",
            "127.0.0.1:",
            "::1:3000",
        ] {
            assert!(!is_this_host(bad, bound()), "{bad}");
        }
    }

    #[test]
    fn dns_rebinding_and_cross_origin_are_rejected() {
        assert_eq!(
            check_request(&headers(&[("host", "127.0.0.1:3000")]), bound()),
            Ok(())
        );
        assert_eq!(
            check_request(&headers(&[("host", "attacker.example:3000")]), bound()),
            Err(Rejection::BadHost)
        );
        assert_eq!(
            check_request(&headers(&[]), bound()),
            Err(Rejection::BadHost)
        );
        assert_eq!(
            check_request(
                &headers(&[
                    ("host", "127.0.0.1:3000"),
                    ("origin", "http://127.0.0.1:3000")
                ]),
                bound()
            ),
            Ok(())
        );
        assert_eq!(
            check_request(
                &headers(&[
                    ("host", "127.0.0.1:3000"),
                    ("origin", "https://evil.example")
                ]),
                bound()
            ),
            Err(Rejection::CrossOrigin)
        );
        // Another local port is another origin.
        assert_eq!(
            check_request(
                &headers(&[
                    ("host", "127.0.0.1:3000"),
                    ("origin", "http://127.0.0.1:8080")
                ]),
                bound()
            ),
            Err(Rejection::CrossOrigin)
        );
        assert_eq!(
            check_request(
                &headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")]),
                bound()
            ),
            Err(Rejection::CrossOrigin)
        );
    }

    #[test]
    fn only_loopback_binds() {
        assert!(check_bind("127.0.0.1:3000".parse().unwrap()).is_ok());
        assert!(check_bind("[::1]:3000".parse().unwrap()).is_ok());
        assert_eq!(
            check_bind("0.0.0.0:3000".parse().unwrap()),
            Err(BindError::NotLoopback("0.0.0.0:3000".parse().unwrap()))
        );
    }
}

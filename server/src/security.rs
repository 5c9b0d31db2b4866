//! Loopback-only, same-origin-only: the host answers the user's own browser tab and nothing else.
//!
//! Binding to 127.0.0.1 keeps other machines out, but not other *web sites* open in the same
//! browser: a page on evil.example can point its own DNS name at 127.0.0.1 (DNS rebinding) or
//! send cross-origin requests to it. So every request must name a loopback `Host`, and a
//! request that carries an `Origin` (or `Sec-Fetch-Site`) must come from this very origin.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::Request,
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

/// Host part of a `Host` header or an origin's authority, without the port.
fn hostname(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

pub fn is_loopback_host(authority: &str) -> bool {
    let host = hostname(authority);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a request was turned away, for the log and the response body.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("this host only answers requests addressed to 127.0.0.1 or localhost")]
    BadHost,
    #[error("cross-origin requests are not allowed")]
    CrossOrigin,
}

pub fn check_request(headers: &HeaderMap) -> Result<(), Rejection> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or(Rejection::BadHost)?;
    if !is_loopback_host(host) {
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

/// Axum middleware applying [`check_request`] and a few response headers that deny framing
/// and content sniffing.
pub async fn guard(req: Request, next: Next) -> Response {
    if let Err(why) = check_request(req.headers()) {
        tracing::warn!(?why, uri = %req.uri(), "rejected request");
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

    #[test]
    fn loopback_hosts_pass_and_others_fail() {
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
            "127.0.0.1",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "192.168.1.2:3000",
            "localhost.evil.example",
            "[::2]:1",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn dns_rebinding_and_cross_origin_are_rejected() {
        assert_eq!(
            check_request(&headers(&[("host", "127.0.0.1:3000")])),
            Ok(())
        );
        assert_eq!(
            check_request(&headers(&[("host", "attacker.example:3000")])),
            Err(Rejection::BadHost)
        );
        assert_eq!(check_request(&headers(&[])), Err(Rejection::BadHost));
        assert_eq!(
            check_request(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ])),
            Ok(())
        );
        assert_eq!(
            check_request(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://evil.example")
            ])),
            Err(Rejection::CrossOrigin)
        );
        // Another local port is another origin.
        assert_eq!(
            check_request(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:8080")
            ])),
            Err(Rejection::CrossOrigin)
        );
        assert_eq!(
            check_request(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("sec-fetch-site", "cross-site")
            ])),
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

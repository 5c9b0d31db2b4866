//! Remote scraping, off by default: a second listener (`--remote-listen`) for Prometheus on
//! another machine. It serves `/metrics` — and with `--remote-read-api` the read-only
//! `/api/v1/status` and `/api/v1/history` — and nothing else: chat, the app and every other
//! route exist only on the loopback listener, whose Host/Origin guard is unchanged.
//!
//! There is no browser on this side, so a bearer token is the guard ([`token`]), checked in
//! constant time; a wrong or missing one gets a bare 401, and a client that keeps failing gets
//! 429 for the rest of the minute ([`limit`]). Refusals are logged once a minute with a count.
//! A request carrying `Origin` (or a cross-site `Sec-Fetch-Site`) comes from a web page, which
//! has no business here: 403, before the token is even looked at.

pub mod limit;
pub mod token;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use thiserror::Error;

use crate::routes::api;
use crate::security::RefusalLog;
use crate::state::AppState;
use limit::FailureLimiter;
use token::{TokenError, TokenFile};

/// The remote listener's settings (`--remote-listen`, `--remote-read-api`, `--token-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    pub addr: SocketAddr,
    /// Also serve `/api/v1/status` and `/api/v1/history`.
    pub read_api: bool,
    pub token_file: PathBuf,
}

#[derive(Debug, Error)]
pub enum RemoteError {
    #[error("--remote-listen {addr}: {ip} is not an address of this machine; give one of its own addresses (`ifconfig` lists them), or 0.0.0.0 for all of them", ip = addr.ip())]
    NotLocal { addr: SocketAddr },
    #[error("--remote-listen {addr} is already in use (by --addr, or another program)")]
    InUse { addr: SocketAddr },
    #[error("cannot listen on {addr} (--remote-listen): {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Binds the remote address: binding is how the OS says whether an IP is this machine's
/// (`EADDRNOTAVAIL` otherwise), which no interface listing can say better.
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, RemoteError> {
    let listener = std::net::TcpListener::bind(addr).map_err(|source| match source.kind() {
        std::io::ErrorKind::AddrNotAvailable => RemoteError::NotLocal { addr },
        std::io::ErrorKind::AddrInUse => RemoteError::InUse { addr },
        _ => RemoteError::Bind { addr, source },
    })?;
    if addr.ip().is_unspecified() {
        tracing::warn!(
            "--remote-listen {addr}: /metrics is reachable on every network this machine joins \
             (token required); name one address to limit it"
        );
    }
    listener
        .set_nonblocking(true)
        .map_err(|source| RemoteError::Bind { addr, source })?;
    Ok(listener)
}

/// What the remote listener checks each request against.
pub struct RemoteGuard {
    token: TokenFile,
    failures: Mutex<FailureLimiter>,
    log: RefusalLog,
}

impl std::fmt::Debug for RemoteGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteGuard")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl RemoteGuard {
    pub fn new(token: TokenFile) -> Self {
        Self {
            token,
            failures: Mutex::new(FailureLimiter::default()),
            log: RefusalLog::new(),
        }
    }

    pub fn token_file(&self) -> &std::path::Path {
        self.token.path()
    }
}

/// The bound listener and its guard, ready for [`router`]: the address is checked first, then
/// the token file is read (created on first use).
pub fn prepare(
    cfg: &RemoteConfig,
) -> Result<(std::net::TcpListener, Arc<RemoteGuard>), RemoteError> {
    let listener = bind(cfg.addr)?;
    let token = TokenFile::open(&cfg.token_file)?;
    Ok((listener, Arc::new(RemoteGuard::new(token))))
}

/// The remote listener's whole surface: `/metrics` (and the read API if chosen), behind
/// [`guard`]. Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so failures
/// are counted per client.
pub fn router(state: AppState, guard: Arc<RemoteGuard>, read_api: bool) -> Router {
    let mut routes = Router::new().route("/metrics", get(api::prometheus));
    if read_api {
        routes = routes
            .route("/api/v1/status", get(api::status))
            .route("/api/v1/history", get(api::history));
    }
    routes
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024))
        .layer(middleware::from_fn_with_state(guard, self::guard))
        .with_state(state)
}

/// A response with no body (nothing to learn from a refusal).
fn bare(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(req: &Request) -> Option<&[u8]> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| token.trim_ascii())
}

/// Whether a web page sent this (an `Origin`, or a `Sec-Fetch-Site` other than a typed URL).
fn from_a_web_page(req: &Request) -> bool {
    req.headers().contains_key(header::ORIGIN)
        || req
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() != b"none")
}

/// Origin refusal, then the per-client block, then the token.
pub async fn guard(State(guard): State<Arc<RemoteGuard>>, req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let now = Instant::now();
    if from_a_web_page(&req) {
        guard.note(
            client,
            "a web page's request (Origin or Sec-Fetch-Site)",
            now,
        );
        return bare(StatusCode::FORBIDDEN);
    }
    let blocked = guard
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .check(client, now);
    if let Err(retry_after) = blocked {
        let mut res = bare(StatusCode::TOO_MANY_REQUESTS);
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after.as_secs().max(1)),
        );
        return res;
    }
    let ok = bearer(&req).is_some_and(|t| guard.token.verify(t));
    if !ok {
        guard
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed(client, now);
        guard.note(client, "a missing or wrong token", now);
        let mut res = bare(StatusCode::UNAUTHORIZED);
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    }
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

impl RemoteGuard {
    /// One log line per interval at most, however many clients fail.
    fn note(&self, client: IpAddr, why: &str, now: Instant) {
        if let Some(earlier) = self.log.admit(now) {
            tracing::warn!(
                %client,
                "remote listener refused {why} ({earlier} more refused since the last such line)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: Option<&str>) -> Request {
        let mut b = Request::builder().uri("/metrics");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_a_bearer_header_yields_a_token() {
        assert_eq!(bearer(&req(Some("Bearer abc"))), Some(&b"abc"[..]));
        assert_eq!(bearer(&req(Some("bearer  abc "))), Some(&b"abc"[..]));
        assert_eq!(bearer(&req(Some("Basic abc"))), None);
        assert_eq!(bearer(&req(Some("Bearer"))), None);
        assert_eq!(bearer(&req(None)), None);
    }

    #[test]
    fn a_non_local_address_is_refused_with_a_clear_error() {
        // TEST-NET-3: documentation only, never an address of this machine.
        let addr: SocketAddr = "203.0.113.7:0".parse().unwrap();
        let err = bind(addr).unwrap_err();
        assert!(matches!(err, RemoteError::NotLocal { .. }), "{err:?}");
        assert!(
            err.to_string().contains("not an address of this machine"),
            "{err}"
        );
        assert!(bind("127.0.0.1:0".parse().unwrap()).is_ok());
    }
}

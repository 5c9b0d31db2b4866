//! The HTTP surface: JSON API and SSE for scripts and the live page, server functions and
//! server-rendered pages for the app, static files, all behind the loopback/same-origin guard.

pub mod api;

use app::{shell, App};
use axum::{
    handler::Handler,
    http::{header, HeaderValue},
    middleware,
    routing::{get, post},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{limit::RequestBodyLimitLayer, services::ServeDir, set_header::SetResponseHeader};

use crate::pwa;
use crate::security;
use crate::state::AppState;

/// Largest request body accepted anywhere (questions are short; nothing uploads files).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let backend = state.backend();
    let context = move || provide_context(backend.clone());
    let api = Router::new()
        .route("/status", get(api::status))
        .route("/history", get(api::history))
        .route("/stream", get(api::stream))
        .route("/chat", post(api::chat))
        .route("/profile", get(api::profile))
        .route("/alerts", get(api::alerts))
        .fallback(api::not_found);

    // The built site (WASM, JS, CSS, public assets), precompressed files preferred (brotli,
    // then gzip, as `cargo leptos build --precompress` writes them); anything else renders
    // the app's 404 page. Names are not content-hashed, so browsers revalidate (cheap 304s)
    // and the service worker serves the shell offline.
    let not_found =
        leptos_axum::file_and_error_handler_with_context::<AppState, _>(context.clone(), shell)
            .with_state(state.clone());
    let static_files = SetResponseHeader::if_not_present(
        ServeDir::new(&*state.leptos_options.site_root)
            .precompressed_br()
            .precompressed_gzip()
            .fallback(not_found),
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );

    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::prometheus))
        .route("/sw.js", get(pwa::service_worker))
        .route("/icons/{name}", get(pwa::icon))
        .nest("/api/v1", api)
        // MCP for agents: inside every layer below (guard, body limit), like the API.
        .merge(crate::mcp::router(state.clone()))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback_service(static_files)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pwa::tag_build,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(crate::error::json_body_limit))
        .layer(middleware::from_fn_with_state(
            state.leptos_options.site_addr,
            security::guard,
        ))
        .with_state(state)
}

//! The HTTP surface: JSON API and SSE for scripts and the live page, server functions and
//! server-rendered pages for the app, static files, all behind the loopback/same-origin guard.

pub mod api;

use app::{shell, App};
use axum::{
    middleware,
    routing::{get, post},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;

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
        .fallback(api::not_found);

    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::prometheus))
        .nest("/api/v1", api)
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(security::guard))
        .with_state(state)
}

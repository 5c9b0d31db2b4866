//! The HTTP surface: JSON API and SSE for scripts and the live page, server functions and
//! server-rendered pages for the app, static files, all behind the loopback/same-origin guard.

pub mod api;

use app::{shell, App};
use axum::{
    extract::Request,
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
use crate::site::Site;
use crate::state::AppState;

/// Largest request body accepted anywhere (questions are short; nothing uploads files).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let backend = state.backend();
    // The names the page loads its JS, WASM and CSS by (content-hashed when embedded).
    let files = state.site.files();
    let context = move || {
        provide_context(backend.clone());
        provide_context(files.clone());
    };
    let api = Router::new()
        .route("/status", get(api::status))
        .route("/history", get(api::history))
        .route("/stream", get(api::stream))
        .route("/chat", post(api::chat))
        .route("/profile", get(api::profile))
        .route("/alerts", get(api::alerts))
        .fallback(api::not_found);

    // Anything else: a file of the built site, or the app's 404 page.
    let site_files = match &state.site {
        // Embedded: hashed names cached for a year, the rest revalidated, always compressed
        // (see `site::Embedded`). No folder is looked at, whatever the working directory.
        Site::Embedded(site) => {
            let site = *site;
            let options = state.leptos_options.clone();
            let not_found =
                leptos_axum::render_app_to_stream_with_context(context.clone(), move || {
                    shell(options.clone())
                });
            Router::new().fallback(move |req: Request| {
                let not_found = not_found.clone();
                async move {
                    match site.respond(req.method(), req.uri().path(), req.headers()) {
                        Some(res) => res,
                        None => not_found(req).await,
                    }
                }
            })
        }
        // A folder (`--site-root`): as it is, precompressed files preferred (brotli, then gzip,
        // as the xtask writes them). Names are not content-hashed, so browsers revalidate
        // (cheap 304s) and the service worker serves the shell offline. leptos' handler,
        // reached for a missing file, looks in the same folder and renders the 404 page.
        Site::Disk(root) => {
            let not_found = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
                context.clone(),
                shell,
            )
            .with_state(state.clone());
            Router::new().fallback_service(SetResponseHeader::if_not_present(
                ServeDir::new(root)
                    .precompressed_br()
                    .precompressed_gzip()
                    .fallback(not_found),
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            ))
        }
    };

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
        .fallback_service(site_files)
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

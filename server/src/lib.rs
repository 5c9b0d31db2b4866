#![recursion_limit = "512"]
//! Mac Status host: collector → snapshot/history → API/stream, and question → intent → facts → diagnosis → prompt → engine → tokens (`chat`).
//!
//! The binary (`main.rs`) is a thin CLI edge; everything testable lives here so integration tests
//! can build the real router and drive it with `tower::ServiceExt::oneshot`.

pub mod alerts;
pub mod chat;
pub mod cli;
pub mod dirs;
pub mod engine;
pub mod error;
pub mod exporter;
pub mod faults;
pub mod hardware;
pub mod logging;
pub mod mcp;
pub mod metrics;
pub mod models;
pub mod platform;
pub mod pwa;
pub mod remote;
pub mod routes;
pub mod security;
pub mod service;
pub mod site;
pub mod state;
pub mod store;
pub mod telemetry;

use leptos::config::LeptosOptions;

use crate::site::Site;

/// Leptos options from our own configuration, so the binary runs from anywhere (a LaunchAgent
/// has no cargo-leptos environment). The site root matters only for a site on disk (leptos'
/// file handler); the embedded one is served by `site::Embedded`.
pub fn leptos_options(site: &Site, addr: std::net::SocketAddr) -> LeptosOptions {
    let options = LeptosOptions::builder()
        .output_name(app::NAME)
        .site_pkg_dir("pkg")
        .site_addr(addr);
    match site {
        Site::Disk(root) => options
            .site_root(root.to_string_lossy().into_owned())
            .build(),
        Site::Embedded(_) => options.build(),
    }
}

//! Mac Status UI. `ssr` renders it on the host; `hydrate` compiles it to the WASM that takes the
//! page over in the browser (same components, one source of truth).

#![recursion_limit = "512"]

pub mod alert;
pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod browser;
pub mod chat;
pub mod components;
pub mod error;
pub mod format;
pub mod history;
pub mod i18n;
pub mod live;
pub mod model;
pub mod numbers;
pub mod pages;
pub mod profile;
pub mod ranges;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

use pages::dashboard::DashboardPage;

/// The build's output name: cargo-leptos writes `/pkg/{NAME}.js|wasm|css` (`output-name` in
/// the workspace `Cargo.toml`, which a host test checks against this). Local-storage keys and
/// the service worker's cache are named after it too.
pub const NAME: &str = "mac-status";

/// The HTML document around the app (SSR only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="theme-color" media="(prefers-color-scheme: light)" content="#f5f5f7"/>
                <meta name="theme-color" media="(prefers-color-scheme: dark)" content="#111114"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <meta name="mobile-web-app-capable" content="yes"/>
                <meta name="apple-mobile-web-app-capable" content="yes"/>
                <meta name="apple-mobile-web-app-title" content="Mac Status"/>
                <meta name="apple-mobile-web-app-status-bar-style" content="default"/>
                <script type="module" src="/pwa.js"></script>
                <AutoReload options=options.clone()/>
                // Hydrate when the browser is idle: the server-rendered numbers paint first, the WASM
                // (the largest download) stays off the critical path.
                <HydrationScripts options defer=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href=format!("/pkg/{NAME}.css")/>
        <Title text="Mac Status"/>
        <Meta name="description" content="Live, private status of this Mac, with a local assistant."/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=StaticSegment("") view=DashboardPage/>
            </Routes>
        </Router>
    }
}

/// Unknown pages answer 404, not a 200 with an error text.
#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="not-found">
            <h1>"404"</h1>
            <p>"Page not found — ページが見つかりません。"</p>
            <a href="/">"Mac Status"</a>
        </main>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}

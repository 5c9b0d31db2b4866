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
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

use pages::dashboard::DashboardPage;

/// The build's output name: cargo-leptos writes `/pkg/{NAME}.js|wasm|css` (`output-name` in
/// the workspace `Cargo.toml`, which a host test checks against this). Local-storage keys and
/// the service worker's cache are named after it too.
pub const NAME: &str = "mac-status";

/// The built site's files the page loads: content-hashed names where the host serves its
/// embedded site (`/pkg/mac-status.1a2b3c4d5e6f.wasm`, cached for a year), the plain names
/// cargo-leptos writes under `cargo leptos watch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteFiles {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

impl SiteFiles {
    /// `/pkg/{NAME}.js|wasm|css`, as cargo-leptos names them.
    pub fn plain() -> Self {
        Self {
            js: format!("/pkg/{NAME}.js"),
            wasm: format!("/pkg/{NAME}.wasm"),
            css: format!("/pkg/{NAME}.css"),
        }
    }
}

/// Loads the WASM and hydrates the server-rendered page, as leptos' `HydrationScripts` does,
/// but from the names in `files` (leptos reads hashed names from a file beside the binary,
/// which an installed binary does not have).
///
/// `defer` (a phone's first load, Lighthouse's mobile preset): nothing of the app's JS or
/// WASM is fetched before the page has loaded and painted: no `preload`, whose early, large
/// download would sit on the largest paint's critical path on a slow link. Once the browser is
/// idle after `load`, the glue and the WASM download in parallel (the WASM's fetch is handed to
/// the glue, which compiles it as it streams in, `application/wasm`), and `hydrate()` runs in
/// a task of its own, not in the one that finishes the instantiation.
#[component]
fn Hydration(files: SiteFiles, defer: bool) -> impl IntoView {
    let script = format!(
        "(() => {{ const go = () => {{ const wasm = fetch({wasm:?}); \
         import({js:?}).then(m => m.default({{ module_or_path: wasm }}).then(() => setTimeout(() => m.hydrate()))); }}; \
         if (!{defer}) return go(); \
         const idle = () => 'requestIdleCallback' in window ? requestIdleCallback(go, {{ timeout: 2000 }}) : setTimeout(go, 1); \
         if (document.readyState === 'complete') idle(); else addEventListener('load', idle, {{ once: true }}); }})();",
        js = files.js,
        wasm = files.wasm,
    );
    let preload = (!defer).then(|| {
        view! {
            <link rel="modulepreload" href=files.js.clone()/>
            <link rel="preload" href=files.wasm.clone() r#as="fetch" r#type="application/wasm" crossorigin=""/>
        }
    });
    view! {
        {preload}
        <script type="module">{script}</script>
    }
}

/// The HTML document around the app (SSR only). The host provides the [`SiteFiles`] it serves
/// as context; without them, the plain names.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let files = use_context::<SiteFiles>().unwrap_or_else(SiteFiles::plain);
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
                // Hydrate when the browser is idle after `load`: the server-rendered numbers paint
                // first, the WASM (the largest download) stays off the critical path.
                <link rel="stylesheet" id="leptos" href=files.css.clone()/>
                <Hydration files defer=true/>
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
    held_back::during(|| leptos::mount::hydrate_body(App));
}

/// Leptos' executor on wasm-bindgen-futures, as `hydrate_body` sets it, except that the tasks
/// the hydration spawns (every effect's first run) start in the browser task after it, not in
/// its microtasks: the long task that blocks input on a phone is only the hydration itself.
#[cfg(feature = "hydrate")]
mod held_back {
    use std::cell::{Cell, RefCell};
    use std::time::Duration;

    use any_spawner::{CustomExecutor, Executor, PinnedFuture, PinnedLocalFuture};

    thread_local! {
        static HOLDING: Cell<bool> = const { Cell::new(false) };
        static HELD: RefCell<Vec<PinnedLocalFuture<()>>> = const { RefCell::new(Vec::new()) };
    }

    struct Spawner;

    impl CustomExecutor for Spawner {
        fn spawn(&self, fut: PinnedFuture<()>) {
            self.spawn_local(fut);
        }

        fn spawn_local(&self, fut: PinnedLocalFuture<()>) {
            if HOLDING.get() {
                HELD.with_borrow_mut(|held| held.push(fut));
            } else {
                wasm_bindgen_futures::spawn_local(fut);
            }
        }

        fn poll_local(&self) {}
    }

    pub fn during(hydrate: impl FnOnce()) {
        // `hydrate_body` then finds an executor set and keeps it.
        let ours = Executor::init_local_custom_executor(Spawner).is_ok();
        HOLDING.set(ours);
        hydrate();
        HOLDING.set(false);
        let held = HELD.take();
        if !held.is_empty() {
            leptos::prelude::set_timeout(
                move || held.into_iter().for_each(wasm_bindgen_futures::spawn_local),
                Duration::ZERO,
            );
        }
    }
}

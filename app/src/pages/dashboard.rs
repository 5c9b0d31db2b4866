//! The dashboard page: the first-paint data, the live stream's start-up, the header (title,
//! connection state, language switch) and the grid of cards.

use leptos::prelude::*;

use crate::api::{get_dashboard, CHART_MINUTES};
use crate::browser;
use crate::components::alerts::AlertsCard;
use crate::components::cards::{CpuCard, DiskCard, HostCard, MemoryCard, NetworkCard, SensorsCard};
use crate::components::chat::ChatPanel;
use crate::components::processes::ProcessTable;
use crate::components::profile::ProfileCard;
use crate::format;
use crate::i18n::{t, Key, Lang};
use crate::live::{self, Conn, LiveState};

const WINDOW_MS: u64 = CHART_MINUTES as u64 * 60_000;
/// The local-storage item (see `browser::storage_key`) that keeps the reader's language.
const LANG_ITEM: &str = "lang";
/// The local-storage item that keeps whether the user turned notifications on.
pub const NOTIFY_ITEM: &str = "notify";

#[component]
pub fn DashboardPage() -> impl IntoView {
    let live = LiveState::new();
    provide_context(live);
    let initial = Resource::new(|| (), |_| get_dashboard());

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                initial
                    .get()
                    .map(|res| match res {
                        Ok(data) => {
                            live.lang.set(data.lang);
                            live.history.set(data.history);
                            live.snapshot.set(Some(data.snapshot));
                            live.alerts.set(data.alerts);
                            provide_context(data.assistant);
                            provide_context(data.profile);
                            start_live(live);
                            view! { <Dashboard/> }.into_any()
                        }
                        Err(e) => {
                            view! { <p class="error" role="alert">{format!("The host could not answer: {e}")}</p> }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
    .into_any()
}

/// Once hydrated (effects never run on the host): the saved language choice, the stored
/// live state, then the live stream. In a task after the hydration's own (a phone's first
/// load: reading and parsing the stored state and opening the stream would lengthen the one
/// long task that blocks input).
fn start_live(live: LiveState) {
    Effect::new(move |prev: Option<()>| {
        if prev.is_some() {
            return;
        }
        let owner = Owner::current();
        set_timeout(
            move || {
                let run = move || {
                    if let Some(l) =
                        browser::load::<String>(LANG_ITEM).and_then(|c| Lang::from_code(&c))
                    {
                        live.lang.set(l);
                    }
                    live.restore();
                    live.ranges.restore();
                    live.ranges.start();
                    live.notify.set(
                        browser::load::<bool>(NOTIFY_ITEM).unwrap_or(false)
                            && browser::notify_permission() == browser::NotifyPermission::Granted,
                    );
                    live::connect(live, WINDOW_MS);
                };
                match owner {
                    Some(owner) => owner.with(run),
                    None => run(),
                }
            },
            std::time::Duration::ZERO,
        );
    });
}

#[component]
fn Dashboard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let tr = move |k: Key| t(lang.get(), k);

    Effect::new(move |_| browser::set_document_lang(lang.get().code()));

    let toggle = move |_| {
        let next = lang.get().other();
        lang.set(next);
        browser::save(LANG_ITEM, &next.code());
    };

    // Short, fixed-width states: the pill never reflows the header (the offline banner below
    // carries the details).
    let conn_text = move || match live.conn.get() {
        Conn::Live => tr(Key::Live),
        Conn::Stale => tr(Key::Stale),
        Conn::Connecting => tr(Key::Connecting),
        Conn::Offline => tr(Key::Offline),
    };
    let conn_class = move || match live.conn.get() {
        Conn::Live => "conn live",
        Conn::Stale => "conn stale",
        Conn::Connecting => "conn connecting",
        Conn::Offline => "conn offline",
    };

    view! {
        <header class="top">
            <div class="brand">
                <h1>{move || tr(Key::AppName)}</h1>
                <p class="tagline">{move || tr(Key::Tagline)}</p>
            </div>
            <div class="top-actions">
                <span class=conn_class id="conn" role="status" aria-live="polite">
                    {conn_text}
                </span>
                <button id="lang-toggle" class="lang" on:click=toggle lang=move || lang.get().other().code()>
                    {move || tr(Key::SwitchLanguage)}
                </button>
            </div>
        </header>
        <Show when=move || live.conn.get() == Conn::Offline>
            <div class="offline-banner" id="offline-banner" role="status">
                {move || {
                    let at = live.snapshot.with(|s| s.as_ref().map(|s| s.taken_at_ms)).unwrap_or(0);
                    format!(
                        "{} — {} {}",
                        tr(Key::Offline),
                        tr(Key::LastUpdated),
                        format::clock(at, browser::utc_offset_min()),
                    )
                }}
            </div>
        </Show>
        <main class="grid">
            <ChatPanel/>
            <HostCard/>
            <CpuCard/>
            <MemoryCard/>
            <DiskCard/>
            <NetworkCard/>
            <SensorsCard/>
            <AlertsCard/>
            <ProfileCard/>
            <section class="card wide" aria-labelledby="processes-title">
                <h2 id="processes-title">
                    {move || tr(Key::Processes)}
                    <small class="muted">
                        {move || {
                            live.snapshot
                                .with(|s| s.as_ref().map(|s| s.processes.count))
                                .map(|n| format!(" · {n} {}", tr(Key::ProcessCount)))
                        }}
                    </small>
                </h2>
                <ProcessTable/>
            </section>
        </main>
    }
    .into_any()
}

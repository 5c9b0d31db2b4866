//! The dashboard page: status cards, per-core bars, charts and the process table.

use leptos::prelude::*;

use crate::api::get_dashboard;
#[cfg(feature = "hydrate")]
use crate::api::CHART_MINUTES;
use crate::components::chart::LineChart;
use crate::components::chat::ChatPanel;
use crate::components::processes::ProcessTable;
use crate::components::profile::ProfileCard;
use crate::format;
use crate::i18n::{battery_state_text, level_text, t, Key, Lang};
use crate::live::{Conn, LiveState};
use crate::model::{Level, Snapshot, Thresholds};

#[cfg(feature = "hydrate")]
const WINDOW_MS: u64 = CHART_MINUTES as u64 * 60_000;
const LANG_STORAGE_KEY: &str = "mac-status.lang";

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

/// Browser only: saved language choice, then the live stream.
fn start_live(live: LiveState) {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        Effect::new(move |prev: Option<()>| {
            if prev.is_some() {
                return;
            }
            if let Ok(code) = gloo_storage::LocalStorage::get::<String>(LANG_STORAGE_KEY) {
                if let Some(l) = Lang::from_code(&code) {
                    live.lang.set(l);
                }
            }
            live.restore();
            crate::live::connect(live, WINDOW_MS);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (live, LANG_STORAGE_KEY);
}

#[component]
fn Dashboard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let tr = move |k: Key| t(lang.get(), k);

    // Keep <html lang> right for screen readers and fonts.
    Effect::new(move |_| {
        let code = lang.get().code();
        #[cfg(feature = "hydrate")]
        if let Some(el) = document().document_element() {
            let _ = el.set_attribute("lang", code);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = code;
    });

    let toggle = move |_| {
        let next = lang.get().other();
        lang.set(next);
        #[cfg(feature = "hydrate")]
        {
            use gloo_storage::Storage;
            let _ = gloo_storage::LocalStorage::set(LANG_STORAGE_KEY, next.code());
        }
    };

    // Short, fixed-width states: the pill never reflows the header (the offline banner below
    // carries the details).
    let conn_text = move || match live.conn.get() {
        Conn::Live => tr(Key::Live),
        Conn::Connecting => tr(Key::Connecting),
        Conn::Offline => tr(Key::Offline),
    };
    let conn_class = move || match live.conn.get() {
        Conn::Live => "conn live",
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
                        format::clock(at, utc_offset_min()),
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

/// Reads a value from the latest snapshot; the snapshot is always present once rendered.
fn with_snap<T: Default>(live: LiveState, f: impl Fn(&Snapshot) -> T) -> T {
    live.snapshot
        .with(|s| s.as_ref().map(&f).unwrap_or_default())
}

fn utc_offset_min() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        -(js_sys::Date::new_0().get_timezone_offset() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    0
}

#[component]
fn LevelBadge(#[prop(into)] level: Signal<Level>) -> impl IntoView {
    let lang = expect_context::<LiveState>().lang;
    let class = move || format!("badge level-{:?}", level.get()).to_lowercase();
    view! { <span class=class data-level=move || format!("{:?}", level.get()).to_lowercase()>{move || level_text(lang.get(), level.get())}</span> }
}

#[component]
fn Meter(
    #[prop(into)] pct: Signal<f32>,
    #[prop(into)] level: Signal<Level>,
    #[prop(into)] label: Signal<String>,
) -> impl IntoView {
    view! {
        <div
            class=move || format!("meter level-{:?}", level.get()).to_lowercase()
            role="meter"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.0}", pct.get())
            aria-label=move || label.get()
        >
            <div class="fill" style=move || format!("width:{:.1}%", pct.get().clamp(0.0, 100.0))></div>
        </div>
    }
    .into_any()
}

#[component]
fn Row(
    #[prop(into)] label: Signal<&'static str>,
    #[prop(into)] value: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="row">
            <dt>{move || label.get()}</dt>
            <dd>{move || value.get()}</dd>
        </div>
    }
    .into_any()
}

fn na(lang: Lang, v: Option<String>) -> String {
    v.unwrap_or_else(|| t(lang, Key::NotAvailable).to_string())
}

#[component]
fn HostCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let host = move || with_snap(live, |s| s.host.clone());
    view! {
        <section class="card" id="card-host" aria-labelledby="host-title">
            <h2 id="host-title">{move || t(lang.get(), Key::Host)}</h2>
            <dl>
                <Row label=Signal::derive(move || t(lang.get(), Key::Name)) value=Signal::derive(move || na(lang.get(), host().hostname))/>
                <Row label=Signal::derive(|| "OS") value=Signal::derive(move || {
                    let h = host();
                    na(lang.get(), h.os_name.map(|n| format!("{n} {}", h.os_version.unwrap_or_default())))
                })/>
                <Row label=Signal::derive(|| "Kernel") value=Signal::derive(move || na(lang.get(), host().kernel))/>
                <Row label=Signal::derive(move || t(lang.get(), Key::Uptime)) value=Signal::derive(move || format::duration(host().uptime_s))/>
                <Row label=Signal::derive(|| "CPU") value=Signal::derive(move || na(lang.get(), host().cpu_brand))/>
                <Row label=Signal::derive(move || t(lang.get(), Key::Cores)) value=Signal::derive(move || {
                    let h = host();
                    match h.physical_cores {
                        Some(p) => format!("{p} / {}", h.logical_cores),
                        None => h.logical_cores.to_string(),
                    }
                })/>
                {move || with_snap(live, |s| s.apple.clone()).map(|a| view! {
                    <Row label=Signal::derive(move || t(lang.get(), Key::PerfCores)) value=Signal::derive(move || na(lang.get(), a.performance_cores.map(|c| c.to_string())))/>
                    <Row label=Signal::derive(move || t(lang.get(), Key::EffCores)) value=Signal::derive(move || na(lang.get(), a.efficiency_cores.map(|c| c.to_string())))/>
                })}
            </dl>
        </section>
    }
    .into_any()
}

#[component]
fn CpuCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let total = Signal::derive(move || with_snap(live, |s| s.cpu.total_pct));
    let level = Signal::derive(move || Thresholds::CPU.level(total.get()));
    let series = Signal::derive(move || {
        live.history
            .with(|h| h.iter().map(|p| (p.t_ms, p.cpu_pct as f64)).collect())
    });
    let cores = move || {
        with_snap(live, |s| s.cpu.per_core_pct.clone())
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let lvl = Thresholds::CPU.level(p);
                view! {
                    <li class=format!("core level-{lvl:?}").to_lowercase() title=format!("#{i}: {p:.0}%")>
                        <span class="core-fill" style=format!("transform:scaleY({:.2})", p.clamp(0.0, 100.0) / 100.0)></span>
                        <span class="sr-only">{format!("core {i}: {p:.0}%")}</span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" id="card-cpu" aria-labelledby="cpu-title">
            <h2 id="cpu-title">{move || t(lang.get(), Key::Cpu)} <LevelBadge level/></h2>
            <p class="big" id="cpu-total">{move || format::pct(total.get())}</p>
            <Meter pct=total level label=Signal::derive(move || t(lang.get(), Key::Cpu).to_string())/>
            <h3 class="sub">{move || t(lang.get(), Key::PerCore)}</h3>
            <ul class="cores" id="cpu-cores">{cores}</ul>
            <dl>
                <Row label=Signal::derive(move || t(lang.get(), Key::LoadAverage)) value=Signal::derive(move || {
                    na(lang.get(), with_snap(live, |s| s.cpu.load_avg).map(|l| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])))
                })/>
                <Row label=Signal::derive(move || t(lang.get(), Key::Frequency)) value=Signal::derive(move || {
                    na(lang.get(), with_snap(live, |s| s.cpu.frequency_mhz).map(|f| format!("{f} MHz")))
                })/>
            </dl>
            <LineChart
                id="chart-cpu"
                title=Signal::derive(move || t(lang.get(), Key::ChartCpu).to_string())
                current=Signal::derive(move || format::pct(total.get()))
                series
                max=100.0
            />
        </section>
    }
    .into_any()
}

#[component]
fn MemoryCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let mem = move || with_snap(live, |s| s.memory.clone());
    let used = Signal::derive(move || mem().used_pct());
    let level = Signal::derive(move || Thresholds::MEMORY.level(used.get()));
    let series = Signal::derive(move || {
        live.history
            .with(|h| h.iter().map(|p| (p.t_ms, p.mem_pct as f64)).collect())
    });
    view! {
        <section class="card" id="card-memory" aria-labelledby="memory-title">
            <h2 id="memory-title">{move || t(lang.get(), Key::Memory)} <LevelBadge level/></h2>
            <p class="big" id="memory-used">{move || format::pct(used.get())}</p>
            <Meter pct=used level label=Signal::derive(move || t(lang.get(), Key::Memory).to_string())/>
            <dl>
                <Row label=Signal::derive(move || t(lang.get(), Key::Used)) value=Signal::derive(move || format!("{} / {}", format::bytes(mem().used_bytes), format::bytes(mem().total_bytes)))/>
                <Row label=Signal::derive(move || t(lang.get(), Key::Available)) value=Signal::derive(move || format::bytes(mem().available_bytes))/>
                <Row label=Signal::derive(move || t(lang.get(), Key::Swap)) value=Signal::derive(move || format!("{} / {}", format::bytes(mem().swap_used_bytes), format::bytes(mem().swap_total_bytes)))/>
                {move || with_snap(live, |s| s.apple.as_ref().and_then(|a| a.memory_pressure_pct)).map(|p| view! {
                    <Row label=Signal::derive(move || t(lang.get(), Key::MemoryPressure)) value=Signal::derive(move || format::pct(p))/>
                })}
            </dl>
            <LineChart
                id="chart-memory"
                title=Signal::derive(move || t(lang.get(), Key::ChartMemory).to_string())
                current=Signal::derive(move || format::pct(used.get()))
                series
                max=100.0
            />
        </section>
    }
    .into_any()
}

#[component]
fn DiskCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let disks = move || {
        with_snap(live, |s| s.disks.clone())
            .into_iter()
            .map(|d| {
                let used = d.used_pct();
                let level = Thresholds::DISK.level(used);
                let io = format!(
                    "{} {} · {} {}",
                    t(lang.get(), Key::Read),
                    na(lang.get(), format::rate(d.read_bps)),
                    t(lang.get(), Key::Write),
                    na(lang.get(), format::rate(d.write_bps)),
                );
                view! {
                    <li class="disk">
                        <div class="disk-head">
                            <strong>{d.mount.clone()}</strong>
                            <span class="muted">{d.file_system.clone()}</span>
                            <LevelBadge level=Signal::derive(move || level)/>
                        </div>
                        <Meter pct=Signal::derive(move || used) level=Signal::derive(move || level) label=Signal::derive({ let m = d.mount.clone(); move || m.clone() })/>
                        <p class="muted">
                            {format!("{} {} / {} · {}", format::pct(used), t(lang.get(), Key::Used), format::bytes(d.total_bytes), io)}
                        </p>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" id="card-disk" aria-labelledby="disk-title">
            <h2 id="disk-title">{move || t(lang.get(), Key::Disk)}</h2>
            <ul class="disks">{disks}</ul>
        </section>
    }
    .into_any()
}

#[component]
fn NetworkCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let rx = Signal::derive(move || {
        live.history
            .with(|h| h.iter().map(|p| (p.t_ms, p.net_rx_bps)).collect())
    });
    let tx = Signal::derive(move || {
        live.history
            .with(|h| h.iter().map(|p| (p.t_ms, p.net_tx_bps)).collect())
    });
    let now = move || {
        live.history.with(|h| {
            h.last()
                .map(|p| (p.net_rx_bps, p.net_tx_bps))
                .unwrap_or_default()
        })
    };
    let ifaces = move || {
        with_snap(live, |s| s.networks.clone())
            .into_iter()
            .map(|n| {
                view! {
                    <tr>
                        <td>{n.interface}</td>
                        <td class="num">{na(lang.get(), format::rate(n.rx_bps))}</td>
                        <td class="num">{na(lang.get(), format::rate(n.tx_bps))}</td>
                        <td class="num">{format!("{} / {}", format::bytes(n.rx_total_bytes), format::bytes(n.tx_total_bytes))}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" id="card-network" aria-labelledby="network-title">
            <h2 id="network-title">{move || t(lang.get(), Key::Network)}</h2>
            <p class="big" id="net-rates">
                {move || format!("↓ {}  ↑ {}", format::bytes(now().0 as u64), format::bytes(now().1 as u64))}
                <small>"/s"</small>
            </p>
            <LineChart
                id="chart-network"
                title=Signal::derive(move || t(lang.get(), Key::ChartNetwork).to_string())
                current=Signal::derive(move || format!("{} / {}", t(lang.get(), Key::Received), t(lang.get(), Key::Sent)))
                series=rx
                second=tx
            />
            <div class="table-wrap">
                <table class="ifaces">
                    <thead>
                        <tr>
                            <th scope="col">"Interface"</th>
                            <th scope="col" class="num">{move || t(lang.get(), Key::Received)}</th>
                            <th scope="col" class="num">{move || t(lang.get(), Key::Sent)}</th>
                            <th scope="col" class="num">{move || t(lang.get(), Key::Total)}</th>
                        </tr>
                    </thead>
                    <tbody>{ifaces}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn SensorsCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let temps = move || {
        match with_snap(live, |s| s.temperatures.clone()) {
        None => view! { <p class="na" id="temps-na">{t(lang.get(), Key::NotAvailable)}</p> }.into_any(),
        Some(list) => view! {
            <dl>
                {list.into_iter().map(|r| view! {
                    <div class="row"><dt>{r.label}</dt><dd>{format!("{:.0} °C", r.celsius)}</dd></div>
                }).collect_view()}
            </dl>
        }.into_any(),
    }
    };
    let battery = move || match with_snap(live, |s| s.battery.clone()) {
        None => view! { <p class="na" id="battery-na">{t(lang.get(), Key::NotAvailable)}</p> }
            .into_any(),
        Some(b) => view! {
            <p class="big">{format!("{:.0}%", b.percent)}</p>
            <p class="muted">
                {battery_state_text(lang.get(), b.state)}
                {b.minutes_remaining.map(|m| format!(" · {}h {:02}m", m / 60, m % 60))}
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="card" id="card-sensors" aria-labelledby="sensors-title">
            <h2 id="sensors-title">{move || t(lang.get(), Key::Sensors)}</h2>
            {temps}
            <h2>{move || t(lang.get(), Key::Battery)}</h2>
            {battery}
        </section>
    }
    .into_any()
}

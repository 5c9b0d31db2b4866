//! The host card: name, OS, kernel, uptime and cores.

use leptos::prelude::*;

use crate::components::widgets::{na, with_snap, Row};
use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;

#[component]
pub fn HostCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let host = move || with_snap(live, |s| s.host.clone());
    view! {
        <section class="card" id="card-host" aria-labelledby="host-title">
            <h2 id="host-title">{move || t(lang.get(), Key::Host)}</h2>
            <dl>
                <Row label=Key::Name value=Signal::derive(move || na(lang.get(), host().hostname))/>
                <Row label=Key::Os value=Signal::derive(move || {
                    let h = host();
                    na(lang.get(), h.os_name.map(|n| format!("{n} {}", h.os_version.unwrap_or_default())))
                })/>
                <Row label=Key::Kernel value=Signal::derive(move || na(lang.get(), host().kernel))/>
                <Row label=Key::Uptime value=Signal::derive(move || format::duration(host().uptime_s))/>
                <Row label=Key::Cpu value=Signal::derive(move || na(lang.get(), host().cpu_brand))/>
                <Row label=Key::Cores value=Signal::derive(move || {
                    let h = host();
                    match h.physical_cores {
                        Some(p) => format!("{p} / {}", h.logical_cores),
                        None => h.logical_cores.to_string(),
                    }
                })/>
                {move || with_snap(live, |s| s.apple.clone()).map(|a| view! {
                    <Row label=Key::PerfCores value=Signal::derive(move || na(lang.get(), a.performance_cores.map(|c| c.to_string())))/>
                    <Row label=Key::EffCores value=Signal::derive(move || na(lang.get(), a.efficiency_cores.map(|c| c.to_string())))/>
                })}
            </dl>
        </section>
    }
    .into_any()
}

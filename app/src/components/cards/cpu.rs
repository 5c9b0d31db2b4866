//! The CPU card: total load with its level, per-core bars, load average, frequency and chart.

use leptos::prelude::*;

use crate::components::chart::{LineChart, Metric};
use crate::components::widgets::{na, with_snap, LevelBadge, Meter, Row};
use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;
use crate::model::Thresholds;
use crate::wire;

#[component]
pub fn CpuCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let total = Signal::derive(move || with_snap(live, |s| s.cpu.total_pct));
    let level = Signal::derive(move || Thresholds::CPU.level(total.get()));
    let cores = move || {
        with_snap(live, |s| s.cpu.per_core_pct.clone())
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let lvl = wire::name(&Thresholds::CPU.level(p));
                view! {
                    <li class=format!("core level-{lvl}") title=format!("#{i}: {p:.0}%")>
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
                <Row label=Key::LoadAverage value=Signal::derive(move || {
                    na(lang.get(), with_snap(live, |s| s.cpu.load_avg).map(|l| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])))
                })/>
                <Row label=Key::Frequency value=Signal::derive(move || {
                    na(lang.get(), with_snap(live, |s| s.cpu.frequency_mhz).map(|f| format!("{f} MHz")))
                })/>
            </dl>
            <LineChart
                id="chart-cpu"
                title=Signal::derive(move || t(lang.get(), Key::ChartCpu).to_string())
                current=Signal::derive(move || format::pct(total.get()))
                metric=Metric { live: |p| f64::from(p.cpu_pct), bucket: |b| b.cpu_pct }
                max=100.0
                value=|v| format::pct(v as f32)
            />
        </section>
    }
    .into_any()
}

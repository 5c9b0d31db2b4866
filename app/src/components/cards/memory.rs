//! The memory card: share in use with its level, swap, pressure (Apple) and chart.

use leptos::prelude::*;

use crate::components::chart::{LineChart, Metric};
use crate::components::widgets::{with_snap, LevelBadge, Meter, Row};
use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;
use crate::model::Thresholds;

#[component]
pub fn MemoryCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let mem = move || with_snap(live, |s| s.memory.clone());
    let used = Signal::derive(move || mem().used_pct());
    let level = Signal::derive(move || Thresholds::MEMORY.level(used.get()));
    view! {
        <section class="card" id="card-memory" aria-labelledby="memory-title">
            <h2 id="memory-title">{move || t(lang.get(), Key::Memory)} <LevelBadge level/></h2>
            <p class="big" id="memory-used">{move || format::pct(used.get())}</p>
            <Meter pct=used level label=Signal::derive(move || t(lang.get(), Key::Memory).to_string())/>
            <dl>
                <Row label=Key::Used value=Signal::derive(move || format!("{} / {}", format::bytes(mem().used_bytes), format::bytes(mem().total_bytes)))/>
                <Row label=Key::Available value=Signal::derive(move || format::bytes(mem().available_bytes))/>
                <Row label=Key::Swap value=Signal::derive(move || format!("{} / {}", format::bytes(mem().swap_used_bytes), format::bytes(mem().swap_total_bytes)))/>
                {move || with_snap(live, |s| s.apple.as_ref().and_then(|a| a.memory_pressure_pct)).map(|p| view! {
                    <Row label=Key::MemoryPressure value=Signal::derive(move || format::pct(p))/>
                })}
            </dl>
            <LineChart
                id="chart-memory"
                title=Signal::derive(move || t(lang.get(), Key::ChartMemory).to_string())
                current=Signal::derive(move || format::pct(used.get()))
                metric=Metric { live: |p| f64::from(p.mem_pct), bucket: |b| b.mem_pct }
                max=100.0
                value=|v| format::pct(v as f32)
            />
        </section>
    }
    .into_any()
}

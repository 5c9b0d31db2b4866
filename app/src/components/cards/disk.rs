//! The disk card: one bar per volume, with its level and I/O rates.

use leptos::prelude::*;

use crate::components::widgets::{na, with_snap, LevelBadge, Meter};
use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;
use crate::model::Thresholds;

#[component]
pub fn DiskCard() -> impl IntoView {
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

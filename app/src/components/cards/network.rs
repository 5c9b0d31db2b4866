//! The network card: current rates, the rx/tx chart and the per-interface table.

use leptos::prelude::*;

use crate::components::chart::{LineChart, Metric};
use crate::components::widgets::{na, with_snap};
use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;

#[component]
pub fn NetworkCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
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
                metric=Metric { live: |p| p.net_rx_bps, bucket: |b| b.net_rx_bps }
                second=Metric { live: |p| p.net_tx_bps, bucket: |b| b.net_tx_bps }
                value=|v| format!("{}/s", format::bytes(v.max(0.0) as u64))
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

//! The sensors card: temperatures and battery, or "not available" where the platform has none.

use leptos::prelude::*;

use crate::components::widgets::with_snap;
use crate::i18n::{battery_state_text, t, Key};
use crate::live::LiveState;

#[component]
pub fn SensorsCard() -> impl IntoView {
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

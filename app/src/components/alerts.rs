//! The alerts panel: every alert since the host started, open ones first, with its start and
//! end; live from the stream's `alert` events. Its button turns system notifications on: the
//! browser's permission is asked only then, on the user's click, never on load.

use leptos::prelude::*;

use crate::alert::{Alert, Resource};
use crate::browser::{self, NotifyPermission};
use crate::format;
use crate::history::Range;
use crate::i18n::{level_text, t, Key, Lang};
use crate::live::LiveState;
use crate::pages::dashboard::NOTIFY_ITEM;
use crate::wire;

/// An alert's subject in `lang`: "Memory", "Disk /Volumes/Data".
pub fn subject(lang: Lang, a: &Alert) -> String {
    let what = t(
        lang,
        match a.resource {
            Resource::Cpu => Key::Cpu,
            Resource::Memory => Key::Memory,
            Resource::Disk => Key::Disk,
        },
    );
    match &a.subject {
        Some(s) => format!("{what} {s}"),
        None => what.to_string(),
    }
}

/// When an alert began and ended: the time of day, with the date once it is a day old.
pub fn span(lang: Lang, a: &Alert, now_ms: u64, utc_offset_min: i64) -> String {
    let at = |t_ms: u64| {
        let range = if now_ms.saturating_sub(t_ms) > 20 * 3_600_000 {
            Range::Week
        } else {
            Range::Hour
        };
        format::when(t_ms, utc_offset_min, range)
    };
    let end = a
        .ended_at_ms
        .map_or_else(|| t(lang, Key::Ongoing).to_string(), at);
    format!("{} – {end}", at(a.started_at_ms))
}

#[component]
pub fn AlertsCard() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    // Unknown while rendering on the host; the browser's answer after hydration.
    let perm = RwSignal::new(None::<NotifyPermission>);
    Effect::new(move |_| perm.set(Some(browser::notify_permission())));

    let toggle = move |_| {
        if live.notify.get_untracked() {
            live.notify.set(false);
            browser::save(NOTIFY_ITEM, &false);
            return;
        }
        browser::ask_notify_permission(move |p| {
            perm.set(Some(p));
            let on = p == NotifyPermission::Granted;
            live.notify.set(on);
            browser::save(NOTIFY_ITEM, &on);
        });
    };
    let button_text = move || {
        let l = lang.get();
        if live.notify.get() {
            t(l, Key::NotifyOn)
        } else if perm.get() == Some(NotifyPermission::Granted) {
            t(l, Key::NotifyOff)
        } else {
            t(l, Key::NotifyAsk)
        }
    };
    let blocked = move || match perm.get() {
        Some(NotifyPermission::Denied) => Some(Key::NotifyDenied),
        Some(NotifyPermission::Unsupported) => Some(Key::NotifyUnsupported),
        _ => None,
    };

    let items = move || {
        let l = lang.get();
        let now = browser::now_ms() as u64;
        let offset = browser::utc_offset_min();
        live.alerts
            .get()
            .into_iter()
            .map(|a| {
                let level = wire::name(&a.level);
                let open = a.ended_at_ms.is_none();
                view! {
                    <li
                        class=format!("alert level-{level}")
                        data-resource=wire::name(&a.resource)
                        data-open=open.to_string()
                    >
                        <span class=format!("badge level-{level}")>{level_text(l, a.level)}</span>
                        <span class="alert-what">{subject(l, &a)}</span>
                        <span class="alert-value">{format!("{:.0}%", a.value_pct)}</span>
                        <span class="alert-when">{span(l, &a, now, offset)}</span>
                    </li>
                }
            })
            .collect_view()
    };

    view! {
        <section class="card" id="card-alerts" aria-labelledby="alerts-title">
            <h2 id="alerts-title">
                {move || t(lang.get(), Key::Alerts)}
                <small class="muted">
                    {move || {
                        let open = live.alerts.with(|a| a.iter().filter(|a| a.ended_at_ms.is_none()).count());
                        (open > 0).then(|| format!(" · {open} {}", t(lang.get(), Key::Ongoing)))
                    }}
                </small>
            </h2>
            <button
                type="button"
                id="notify-toggle"
                class="notify"
                aria-pressed=move || live.notify.get().to_string()
                disabled=move || blocked().is_some()
                on:click=toggle
            >
                {button_text}
            </button>
            {move || blocked().map(|k| view! { <p class="muted notify-note">{t(lang.get(), k)}</p> })}
            <Show
                when=move || live.alerts.with(|a| !a.is_empty())
                fallback=move || view! { <p class="muted" id="alerts-empty">{move || t(lang.get(), Key::NoAlerts)}</p> }
            >
                <ol class="alerts" id="alerts-list">{items}</ol>
            </Show>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    #[test]
    fn alerts_read_with_their_subject_and_span() {
        let a = Alert {
            id: 1,
            resource: Resource::Disk,
            subject: Some("/Volumes/Data".into()),
            level: Level::Critical,
            value_pct: 97.0,
            // 2024-02-29 23:30:05 UTC
            started_at_ms: 1_709_249_405_000,
            ended_at_ms: None,
        };
        assert_eq!(subject(Lang::En, &a), "Disk /Volumes/Data");
        assert_eq!(subject(Lang::Ja, &a), "ディスク /Volumes/Data");
        let now = a.started_at_ms + 60_000;
        assert_eq!(span(Lang::En, &a, now, 0), "23:30:05 – ongoing");
        assert_eq!(span(Lang::Ja, &a, now, 0), "23:30:05 – 継続中");
        let ended = Alert {
            ended_at_ms: Some(a.started_at_ms + 90_000),
            ..a.clone()
        };
        assert_eq!(span(Lang::En, &ended, now, 0), "23:30:05 – 23:31:35");
        // Two days later the date is needed.
        assert_eq!(
            span(Lang::En, &ended, now + 2 * 86_400_000, 0),
            "2/29 23:30 – 2/29 23:31"
        );
    }
}

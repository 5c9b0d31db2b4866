//! Small pieces the cards share: the level badge, the meter bar, a label/value row, the
//! "not available" text and the snapshot reader.

use leptos::prelude::*;

use crate::i18n::{level_text, t, Key, Lang};
use crate::live::LiveState;
use crate::model::{Level, Snapshot};
use crate::wire;

/// Reads a value from the latest snapshot; the snapshot is always present once rendered.
pub fn with_snap<T: Default>(live: LiveState, f: impl Fn(&Snapshot) -> T) -> T {
    live.snapshot
        .with(|s| s.as_ref().map(&f).unwrap_or_default())
}

/// `v`, or "not available" in `lang`: a missing reading is never shown as zero.
pub fn na(lang: Lang, v: Option<String>) -> String {
    v.unwrap_or_else(|| t(lang, Key::NotAvailable).to_string())
}

/// The level's text in the reader's language, coloured by its `level-*` class.
#[component]
pub fn LevelBadge(#[prop(into)] level: Signal<Level>) -> impl IntoView {
    let lang = expect_context::<LiveState>().lang;
    let class = move || format!("badge level-{}", wire::name(&level.get()));
    view! { <span class=class data-level=move || wire::name(&level.get())>{move || level_text(lang.get(), level.get())}</span> }
}

/// A horizontal bar for a percentage, coloured by its level.
#[component]
pub fn Meter(
    #[prop(into)] pct: Signal<f32>,
    #[prop(into)] level: Signal<Level>,
    #[prop(into)] label: Signal<String>,
) -> impl IntoView {
    view! {
        <div
            class=move || format!("meter level-{}", wire::name(&level.get()))
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

/// One `<dt>`/`<dd>` pair of a card's list; the label follows the reader's language.
#[component]
pub fn Row(label: Key, #[prop(into)] value: Signal<String>) -> impl IntoView {
    let lang = expect_context::<LiveState>().lang;
    view! {
        <div class="row">
            <dt>{move || t(lang.get(), label)}</dt>
            <dd>{move || value.get()}</dd>
        </div>
    }
    .into_any()
}

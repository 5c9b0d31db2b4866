//! The hardware profile card: what the model runs with on this machine, and why.

use leptos::prelude::*;

use crate::chat::AssistantStatus;
use crate::format;
use crate::i18n::Lang;
use crate::live::LiveState;
use crate::profile::{field, ProfileReport};

fn text(lang: Lang, en: &'static str, ja: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

#[component]
pub fn ProfileCard() -> impl IntoView {
    let lang = expect_context::<LiveState>().lang;
    let report = expect_context::<ProfileReport>();
    let status = expect_context::<AssistantStatus>();
    let hw = report.hardware.clone();
    let p = report.profile.clone();
    let mark = |name: &str| {
        if report.is_overridden(name) {
            " ✎"
        } else {
            ""
        }
    };
    let rows: Vec<(&'static str, &'static str, String)> = vec![
        (
            "Model",
            "モデル",
            status.model.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "Chip",
            "チップ",
            hw.chip.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "Cores (P/E)",
            "コア (高性能/高効率)",
            match (hw.performance_cores, hw.efficiency_cores) {
                (Some(pc), Some(e)) => format!("{pc} / {e}"),
                _ => hw
                    .physical_cores
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| hw.logical_cores.to_string()),
            },
        ),
        ("Memory", "メモリ", format::bytes(hw.memory_bytes)),
        (
            "Accelerator",
            "アクセラレータ",
            p.accelerator.label().to_string(),
        ),
        (
            "GPU layers",
            "GPU レイヤー",
            format!("{}{}", p.gpu_layers_label(), mark(field::GPU_LAYERS)),
        ),
        (
            "Threads",
            "スレッド",
            format!("{}{}", p.threads, mark(field::THREADS)),
        ),
        (
            "Context",
            "コンテキスト",
            format!("{}{}", p.n_ctx, mark(field::N_CTX)),
        ),
        (
            "Batch",
            "バッチ",
            format!("{}{}", p.n_batch, mark(field::N_BATCH)),
        ),
        (
            "mmap / mlock",
            "mmap / mlock",
            format!(
                "{}{} / {}{}",
                on_off(p.use_mmap),
                mark(field::USE_MMAP),
                on_off(p.use_mlock),
                mark(field::USE_MLOCK)
            ),
        ),
    ];
    let reasons = report.reasons.clone();
    view! {
        <section class="card" id="card-profile" aria-labelledby="profile-title">
            <h2 id="profile-title">{move || text(lang.get(), "Assistant profile", "アシスタント設定")}</h2>
            <dl>
                {rows.into_iter().map(|(en, ja, v)| view! {
                    <div class="row"><dt>{move || text(lang.get(), en, ja)}</dt><dd>{v}</dd></div>
                }).collect_view()}
            </dl>
            <details class="reasons">
                <summary>{move || text(lang.get(), "Why these settings", "この設定の理由")}</summary>
                <ul>{reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
            </details>
        </section>
    }
    .into_any()
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

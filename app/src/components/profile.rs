//! The hardware profile card: what the model runs with on this machine, and why.

use leptos::prelude::*;

use crate::chat::AssistantStatus;
use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;
use crate::profile::{ProfileField, ProfileReport};

#[component]
pub fn ProfileCard() -> impl IntoView {
    let lang = expect_context::<LiveState>().lang;
    let report = expect_context::<ProfileReport>();
    let status = expect_context::<AssistantStatus>();
    let hw = report.hardware.clone();
    let p = report.profile.clone();
    let mark = |field: ProfileField| {
        if report.is_overridden(field) {
            " ✎"
        } else {
            ""
        }
    };
    let rows: Vec<(Key, String)> = vec![
        (
            Key::Model,
            status.model.clone().unwrap_or_else(|| "—".into()),
        ),
        (Key::Chip, hw.chip.clone().unwrap_or_else(|| "—".into())),
        (
            Key::CoresPE,
            match (hw.performance_cores, hw.efficiency_cores) {
                (Some(pc), Some(e)) => format!("{pc} / {e}"),
                _ => hw
                    .physical_cores
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| hw.logical_cores.to_string()),
            },
        ),
        (Key::Memory, format::bytes(hw.memory_bytes)),
        (Key::Accelerator, p.accelerator.label().to_string()),
        (Key::Device, device_row(&report)),
        (
            Key::GpuLayers,
            format!("{}{}", p.gpu_layers_label(), mark(ProfileField::GpuLayers)),
        ),
        (
            Key::Threads,
            format!("{}{}", p.threads, mark(ProfileField::Threads)),
        ),
        (
            Key::Context,
            format!("{}{}", p.n_ctx, mark(ProfileField::NCtx)),
        ),
        (
            Key::Batch,
            format!("{}{}", p.n_batch, mark(ProfileField::NBatch)),
        ),
        (
            Key::MmapMlock,
            format!(
                "{}{} / {}{}",
                on_off(p.use_mmap),
                mark(ProfileField::UseMmap),
                on_off(p.use_mlock),
                mark(ProfileField::UseMlock)
            ),
        ),
    ];
    let reasons = report.reasons.clone();
    view! {
        <section class="card" id="card-profile" aria-labelledby="profile-title">
            <h2 id="profile-title">{move || t(lang.get(), Key::ProfileTitle)}</h2>
            <dl>
                {rows.into_iter().map(|(key, v)| view! {
                    <div class="row"><dt>{move || t(lang.get(), key)}</dt><dd>{v}</dd></div>
                }).collect_view()}
            </dl>
            <details class="reasons">
                <summary>{move || t(lang.get(), Key::ProfileReasons)}</summary>
                <ul>{reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
            </details>
        </section>
    }
    .into_any()
}

/// "NVIDIA H100 80GB HBM3 (CUDA0), 79.1 GiB free of 79.6 GiB"; "CPU" when llama.cpp listed no
/// GPU; "—" when no llama.cpp ran (dashboard only).
fn device_row(report: &ProfileReport) -> String {
    match &report.offload {
        None => "—".into(),
        Some(o) => match &o.device {
            None => "CPU".into(),
            Some(d) => format!(
                "{} ({}), {} free of {}",
                d.description,
                d.name,
                format::bytes(d.memory_free_bytes),
                format::bytes(d.memory_total_bytes)
            ),
        },
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

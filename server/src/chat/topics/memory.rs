//! Memory: how full it is, how much has spilled to swap, and whether swap is growing now (the
//! sign that the Mac is short of memory, more than any percentage).

use app::chat::Topic;
use app::format;
use app::i18n::{self, Key};
use app::model::{Level, Thresholds};

use super::Context;
use crate::chat::cache::{level_bucket, log2_bucket, pct_bucket, Bucket, State};
use crate::chat::diagnosis::{pct, Findings};
use crate::chat::facts::Facts;
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &["memory", "ram", "swap", "swapping", "mem"],
    phrases: &[],
    ja: &["メモリ", "スワップ", "メモリー"],
    adds: &[Intent::About(Topic::Memory)],
};

const BUCKET_PCT: f32 = 5.0;
const PRESSURE_BUCKET_PCT: f32 = 10.0;
const MIB: u64 = 1024 * 1024;
/// Swap growth over the last minute worth mentioning, and the levels it raises.
const GROWTH_NOTABLE: u64 = 64 * MIB;
const GROWTH_CAREFUL: u64 = 256 * MIB;
const GROWTH_WARNING: u64 = 1024 * MIB;

/// Bytes swap grew by over the last minute (0 when it shrank), when there is enough history.
fn swap_growth(cx: &Context) -> Option<u64> {
    let points = cx.last_minute()?;
    let first = points.first()?.swap_used_bytes;
    Some(cx.snapshot.memory.swap_used_bytes.saturating_sub(first))
}

fn used_fact(f: &mut Facts, cx: &Context) {
    let m = &cx.snapshot.memory;
    let label = f.tr("Memory used", "メモリ使用量");
    if m.total_bytes == 0 {
        return f.not_available("memory.used", label);
    }
    let (pct, used, total) = (
        format::pct(m.used_pct()),
        format::bytes(m.used_bytes),
        format::bytes(m.total_bytes),
    );
    let value = match f.lang {
        app::i18n::Lang::En => format!("{pct} ({used} of {total})"),
        app::i18n::Lang::Ja => format!("{pct}（{total}中 {used}）"),
    };
    f.push("memory.used", label, value);
}

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    used_fact(f, cx);
    let m = &cx.snapshot.memory;
    let used = format::bytes(m.swap_used_bytes);
    let value = if m.swap_total_bytes == 0 {
        used
    } else {
        let total = format::bytes(m.swap_total_bytes);
        match f.lang {
            app::i18n::Lang::En => format!("{used} of {total}"),
            app::i18n::Lang::Ja => format!("{total}中 {used}"),
        }
    };
    let label = f.tr("Swap used", "スワップ使用量");
    f.push("memory.swap", label, value);
    if let Some(g) = swap_growth(cx) {
        let label = f.tr("Swap growth, last minute", "スワップの増加（直近1分）");
        f.push("memory.swap_growth", label, format::bytes(g));
    }
    if let Some(p) = cx
        .snapshot
        .apple
        .as_ref()
        .and_then(|a| a.memory_pressure_pct)
    {
        let label = i18n::t(f.lang, Key::MemoryPressure);
        f.push("memory.pressure", label, format::pct(p));
    }
}

/// The memory finding (the overall diagnosis reuses it).
pub(crate) fn finding(out: &mut Findings, cx: &Context) {
    let m = &cx.snapshot.memory;
    if m.total_bytes == 0 {
        return out.not_measured(
            Topic::Memory,
            &["memory.used"],
            "Memory is not measured on this Mac.",
            "このMacではメモリを計測できません。",
        );
    }
    let (u, used, total) = (
        pct(m.used_pct()),
        format::bytes(m.used_bytes),
        format::bytes(m.total_bytes),
    );
    let mut level = Thresholds::MEMORY.level(m.used_pct());
    let mut en = format!("Memory is {u} % used ({used} of {total}).");
    let mut ja = format!("メモリ使用率は{u}%です（{total}中{used}）。");
    let mut keys = vec!["memory.used"];
    let swap = format::bytes(m.swap_used_bytes);
    let growth = swap_growth(cx).filter(|g| *g >= GROWTH_NOTABLE);
    if let Some(g) = growth {
        level = level.max(if g >= GROWTH_WARNING {
            Level::Warning
        } else if g >= GROWTH_CAREFUL {
            Level::Careful
        } else {
            Level::Normal
        });
        let g = format::bytes(g);
        en += &format!(
            " Swap holds {swap} and grew by {g} in the last minute: the Mac is short of memory."
        );
        ja += &format!("スワップは{swap}で、直近一分で{g}増えました。メモリが足りていません。");
        keys.extend(["memory.swap", "memory.swap_growth"]);
    } else if m.swap_used_bytes > 0 {
        en += &format!(" Swap holds {swap} and is not growing.");
        ja += &format!("スワップは{swap}で、増えてはいません。");
        keys.push("memory.swap");
    } else {
        en += " No swap is in use.";
        ja += "スワップは使われていません。";
        keys.push("memory.swap");
    }
    if let Some(p) = cx
        .snapshot
        .apple
        .as_ref()
        .and_then(|a| a.memory_pressure_pct)
    {
        en += &format!(" Memory pressure is {} %.", pct(p));
        ja += &format!("メモリプレッシャーは{}%です。", pct(p));
        keys.push("memory.pressure");
    }
    out.push(Topic::Memory, level, &keys, en, ja);
    if level > Level::Normal {
        match cx.snapshot.processes.by_memory.first() {
            Some(p) => {
                let n = crate::chat::facts::quoted_name(&p.name);
                out.advise(
                    format!("Quit the apps you are not using, starting with the largest ({n})."),
                    format!("使っていないアプリを終了してください（まずは最も大きい{n}）。"),
                );
            }
            None => out.advise(
                "Quit the apps you are not using.",
                "使っていないアプリを終了してください。",
            ),
        }
    }
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    finding(out, cx);
}

/// The headline buckets (the overall answer uses them too).
pub(crate) fn headline_buckets(state: &mut State) {
    let used = state.snapshot().memory.used_pct();
    state.push("memory", pct_bucket(used, BUCKET_PCT));
    state.push("memory.level", level_bucket(Thresholds::MEMORY.level(used)));
}

pub(super) fn buckets(state: &mut State) {
    headline_buckets(state);
    let s = state.snapshot();
    let swap = s.memory.swap_used_bytes as f64;
    let pressure = s.apple.as_ref().and_then(|a| a.memory_pressure_pct);
    state.push("memory.swap", log2_bucket(Some(swap)));
    let bucket = pressure.map_or(Bucket::Missing, |p| pct_bucket(p, PRESSURE_BUCKET_PCT));
    state.push("memory.pressure", bucket);
}

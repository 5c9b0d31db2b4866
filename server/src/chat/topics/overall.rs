//! Overall health: CPU, memory and the fullest disk (and the battery or temperatures when they
//! are not normal), the worst first, with an explicit "nothing unusual" when all is normal.

use app::chat::{Advice, Finding, Topic};
use app::i18n::{self, Key};
use app::model::{Level, Thresholds};

use super::{battery, cpu, disk, memory, temperature, Context};
use crate::chat::cache::State;
use crate::chat::diagnosis::{pct, Findings};
use crate::chat::facts::{real_disks, Facts};
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &["overall", "everything", "summary", "summarize", "summarise"],
    phrases: &[],
    ja: &["全体", "全般", "総合", "まとめ", "概要"],
    adds: &[Intent::About(Topic::Overall)],
};

/// The worst of CPU, memory and the fullest disk, with what reached it.
fn headline_level(cx: &Context) -> (Level, Vec<Key>) {
    let s = cx.snapshot;
    let mut levels = vec![
        (Thresholds::CPU.level(s.cpu.total_pct), Key::Cpu),
        (Thresholds::MEMORY.level(s.memory.used_pct()), Key::Memory),
    ];
    if let Some(d) = real_disks(s).first() {
        levels.push((Thresholds::DISK.level(d.used_pct()), Key::Disk));
    }
    let worst = levels.iter().map(|(l, _)| *l).max().unwrap_or_default();
    let causes = levels
        .into_iter()
        .filter(|(l, _)| *l == worst)
        .map(|(_, k)| k);
    (worst, causes.collect())
}

fn battery_matters(cx: &Context) -> bool {
    battery::finding(cx).is_some_and(|(level, ..)| level > Level::Normal)
}

fn temperature_matters(cx: &Context) -> bool {
    temperature::finding(cx).is_some_and(|(level, ..)| level > Level::Normal)
}

/// The facts of every finding the overall answer reuses, then the overall level.
pub(super) fn facts(f: &mut Facts, cx: &Context) {
    cpu::facts(f, cx);
    memory::facts(f, cx);
    if let Some(d) = real_disks(cx.snapshot).first() {
        disk::volume_fact(f, d);
    }
    let (worst, causes) = headline_level(cx);
    let mut value = i18n::level_text(f.lang, worst).to_owned();
    if worst != Level::Normal {
        let causes: Vec<&str> = causes.iter().map(|k| i18n::t(f.lang, *k)).collect();
        value += &match f.lang {
            app::i18n::Lang::En => format!(" ({})", causes.join(", ")),
            app::i18n::Lang::Ja => format!("（{}）", causes.join("、")),
        };
    }
    f.push("overall.level", f.tr("Overall level", "総合レベル"), value);
    if battery_matters(cx) {
        super::battery::facts(f, cx);
    }
    if temperature_matters(cx) {
        super::temperature::facts(f, cx);
    }
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    cpu::finding(out, cx);
    memory::finding(out, cx);
    disk::fullest_finding(out, cx);
    if battery_matters(cx) {
        battery::findings(out, cx);
    }
    if temperature_matters(cx) {
        temperature::findings(out, cx);
    }
}

/// The opening line of an all-normal overall answer, with the headline numbers.
pub(crate) fn nothing_unusual(cx: &Context) -> Finding {
    let s = cx.snapshot;
    let (t, m) = (pct(s.cpu.total_pct), pct(s.memory.used_pct()));
    let mut keys = vec!["cpu.total".to_owned(), "memory.used".to_owned()];
    let (en, ja) = match real_disks(s).first() {
        Some(d) => {
            keys.push(disk::key(d));
            let p = pct(d.used_pct());
            (
                format!("Nothing unusual: CPU ({t} %), memory ({m} %) and the fullest disk ({p} %) are all in the normal range."),
                format!("特に問題はありません。CPU（{t}%）、メモリ（{m}%）、最も使われているディスク（{p}%）はいずれも正常範囲です。"),
            )
        }
        None => (
            format!("Nothing unusual: CPU ({t} %) and memory ({m} %) are in the normal range."),
            format!("特に問題はありません。CPU（{t}%）とメモリ（{m}%）は正常範囲です。"),
        ),
    };
    Finding {
        topic: Topic::Overall,
        level: Level::Normal,
        facts: keys,
        en,
        ja,
        not_measured: false,
        advice: Some(Advice {
            en: "No action is needed.".into(),
            ja: "対処は不要です。".into(),
        }),
    }
}

pub(super) fn buckets(state: &mut State) {
    cpu::headline_buckets(state);
    memory::headline_buckets(state);
    disk::fullest_buckets(state);
}

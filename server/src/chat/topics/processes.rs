//! Processes: which programs use the most CPU and memory, as shares of the whole machine.
//! Names only: the snapshot never holds command lines, and names are cut short and quoted as
//! data ([`quoted_name`]).

use app::chat::Topic;
use app::format;
use app::i18n::Lang;
use app::model::{Level, Thresholds};

use super::Context;
use crate::chat::cache::{Bucket, State};
use crate::chat::diagnosis::{pct, share_of_cores, Findings};
use crate::chat::facts::{quoted_name, Facts};
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &[
        "process",
        "app",
        "application",
        "program",
        "task",
        "hog",
        "hogging",
        "culprit",
    ],
    phrases: &[
        "which program",
        "what is using",
        "what s using",
        "using the most",
    ],
    ja: &["プロセス", "アプリ", "ソフト", "プログラム", "タスク"],
    adds: &[Intent::About(Topic::Processes)],
};

const TOP: usize = 3;
const CPU_KEYS: [&str; TOP] = ["process.cpu.1", "process.cpu.2", "process.cpu.3"];
const MEMORY_KEYS: [&str; TOP] = ["process.memory.1", "process.memory.2", "process.memory.3"];

/// Up to `n` of the busiest processes with at least `min_share` % of the machine:
/// `(fact key, name, share of all cores in %)`.
pub(crate) fn busiest(cx: &Context, n: usize, min_share: f32) -> Vec<(&'static str, String, f32)> {
    cx.snapshot
        .processes
        .by_cpu
        .iter()
        .take(n.min(TOP))
        .zip(CPU_KEYS)
        .map(|(p, key)| {
            (
                key,
                quoted_name(&p.name),
                share_of_cores(p.cpu_pct, cx.cores()),
            )
        })
        .filter(|(_, _, share)| *share >= min_share)
        .collect()
}

/// When the CPU is busy but its busiest process accounts for little of it: `(fact key, busiest
/// name, its share %)`. Then no program is the cause to name: the load comes from many
/// programs, or from ones too new to have been measured (a process's share needs two samples
/// a few seconds apart) — a build's short-lived compilers — and a reader must not be told
/// that the top entry is behind it.
pub(crate) fn unexplained(cx: &Context) -> Option<(&'static str, String, f32)> {
    let total = cx.snapshot.cpu.total_pct;
    if total < Thresholds::CPU.careful {
        return None;
    }
    let (key, name, share) = busiest(cx, 1, f32::NEG_INFINITY).into_iter().next()?;
    (share < total * UNEXPLAINED_FRACTION).then_some((key, name, share))
}

/// Below this share of all cores no program is named as "using the most CPU".
const IDLE_SHARE_PCT: f32 = 1.0;

/// A process share this far above the CPU total now was measured while the CPU was busier.
const STALE_MARGIN_PCT: f32 = 5.0;

/// The busiest process explains a busy CPU only if it uses at least this fraction of it.
const UNEXPLAINED_FRACTION: f32 = 0.25;

/// The busiest process worth telling the user to quit: not this host (its CPU is the answer
/// being written), at least `min_share` % of the machine.
pub(crate) fn quittable(cx: &Context, min_share: f32) -> Option<String> {
    let own = std::process::id();
    cx.snapshot
        .processes
        .by_cpu
        .iter()
        .filter(|p| p.pid != own)
        .find(|p| share_of_cores(p.cpu_pct, cx.cores()) >= min_share)
        .map(|p| quoted_name(&p.name))
}

/// How to stop a process the user may not need.
pub(crate) fn quit_advice_en(name: &str) -> String {
    format!("If you do not need {name}, quit it (Activity Monitor: select it, then Quit).")
}

pub(crate) fn quit_advice_ja(name: &str) -> String {
    format!("{name}が不要なら終了してください（アクティビティモニタで選んで「終了」）。")
}

fn memory_share(cx: &Context, bytes: u64) -> f32 {
    let total = cx.snapshot.memory.total_bytes;
    if total == 0 {
        0.0
    } else {
        (bytes as f64 * 100.0 / total as f64) as f32
    }
}

pub(crate) fn top_cpu_facts(f: &mut Facts, cx: &Context) {
    for (n, (key, name, share)) in busiest(cx, TOP, f32::NEG_INFINITY).into_iter().enumerate() {
        let n = n + 1;
        let label = match f.lang {
            Lang::En => format!("Top CPU process #{n} (share of all cores)"),
            Lang::Ja => format!("CPU使用率 {n}位（全コアに対する割合）"),
        };
        f.push(key, label, format!("{name} {}", format::pct(share)));
    }
}

fn top_memory_facts(f: &mut Facts, cx: &Context) {
    let procs = cx.snapshot.processes.by_memory.iter().take(TOP);
    for (n, (p, key)) in procs.zip(MEMORY_KEYS).enumerate() {
        let n = n + 1;
        let label = match f.lang {
            Lang::En => format!("Top memory process #{n}"),
            Lang::Ja => format!("メモリ使用量 {n}位"),
        };
        let share = format::pct(memory_share(cx, p.memory_bytes));
        let bytes = format::bytes(p.memory_bytes);
        let value = match f.lang {
            Lang::En => format!("{} {bytes} ({share} of memory)", quoted_name(&p.name)),
            Lang::Ja => format!("{} {bytes}（メモリの{share}）", quoted_name(&p.name)),
        };
        f.push(key, label, value);
    }
}

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    // The total is what a process's share is weighed against (see [`unexplained`]).
    super::cpu::total_fact(f, cx);
    top_cpu_facts(f, cx);
    top_memory_facts(f, cx);
    if cx.snapshot.processes.count > 0 {
        let label = f.tr("Processes running", "実行中のプロセス数");
        f.push(
            "process.count",
            label,
            cx.snapshot.processes.count.to_string(),
        );
    }
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    let cpu = busiest(cx, 2, f32::NEG_INFINITY);
    match cpu.as_slice() {
        [] => out.push(
            Topic::Processes,
            Level::Normal,
            &[],
            "Processes are not measured yet.",
            "プロセスはまだ計測されていません。",
        ),
        [(key, top, share), ..] if unexplained(cx).is_some() => {
            let t = pct(cx.snapshot.cpu.total_pct);
            let s = pct(*share);
            out.push(
                Topic::Processes,
                Thresholds::CPU.level(cx.snapshot.cpu.total_pct),
                &["cpu.total", key],
                format!(
                    "No single program explains the load: the CPU is {t} % busy, but the busiest \
                     program measured, {top}, uses only {s} % of all cores. Programs that started \
                     in the last few seconds, or many short-lived ones such as a build or an \
                     update, are likely behind it."
                ),
                format!(
                    "特定のプログラムが原因ではありません。CPU使用率は{t}%ですが、計測できた中で最も\
                     使っている{top}でも全コアの{s}%です。数秒以内に始まったプログラム、または\
                     ビルドやアップデートのような短時間で終わる多数のプログラムが負荷の原因と\
                     考えられます。"
                ),
            );
            out.advise(
                "Activity Monitor's CPU tab, sorted by % CPU, shows such programs while they run.",
                "アクティビティモニタの「CPU」タブを「% CPU」順に並べると、実行中のものを確認できます。",
            );
        }
        // An idle machine: the "busiest" program is noise, not news.
        [(key, top, share), ..] if *share < IDLE_SHARE_PCT => {
            let s = pct(*share);
            out.push(
                Topic::Processes,
                Level::Normal,
                &[key],
                format!(
                    "No program is using much CPU: the busiest, {top}, uses {s} % of all cores."
                ),
                format!(
                    "CPUを多く使っているプログラムはありません（最も多い{top}でも全コアの{s}%）。"
                ),
            );
        }
        [(key, top, share), rest @ ..] => {
            let mut en = format!("{top} uses the most CPU: {} % of all cores", pct(*share));
            let mut ja = format!("CPUを最も使っているのは{top}（全コアの{}%）", pct(*share));
            let mut keys = vec![*key];
            if let Some((key2, second, share2)) = rest.first() {
                en += &format!(", then {second} ({} %)", pct(*share2));
                ja += &format!("、次に{second}（{}%）", pct(*share2));
                keys.push(key2);
            }
            en.push('.');
            ja.push_str("です。");
            // Process shares cover the last process sample (a few seconds), the total only the
            // last tick: a program that was busy a moment ago can outweigh an idle CPU now.
            // Say so, or the two figures read as a contradiction.
            let now = cx.snapshot.cpu.total_pct;
            if *share > now + STALE_MARGIN_PCT {
                let t = pct(now);
                en += &format!(" That was over the last few seconds; the CPU is {t} % busy now.");
                ja += &format!("これは直前数秒間の値で、現在のCPU使用率は{t}%です。");
                keys.push("cpu.total");
            }
            let level = Thresholds::CPU.level(*share);
            out.push(Topic::Processes, level, &keys, en, ja);
            if level > Level::Normal {
                if let Some(q) = quittable(cx, Thresholds::CPU.careful) {
                    out.advise(quit_advice_en(&q), quit_advice_ja(&q));
                }
            }
        }
    }
    let mem: Vec<_> = cx.snapshot.processes.by_memory.iter().take(2).collect();
    if let Some(top) = mem.first() {
        let share = memory_share(cx, top.memory_bytes);
        let bytes = format::bytes(top.memory_bytes);
        let n = quoted_name(&top.name);
        let mut en = format!(
            "{n} uses the most memory: {bytes} ({} % of memory)",
            pct(share)
        );
        let mut ja = format!(
            "メモリを最も使っているのは{n}（{bytes}、メモリの{}%）",
            pct(share)
        );
        let mut keys = vec![MEMORY_KEYS[0]];
        if let Some(second) = mem.get(1) {
            let b2 = format::bytes(second.memory_bytes);
            let n2 = quoted_name(&second.name);
            en += &format!(", then {n2} ({b2})");
            ja += &format!("、次に{n2}（{b2}）");
            keys.push(MEMORY_KEYS[1]);
        }
        en.push('.');
        ja.push_str("です。");
        let level = Thresholds::MEMORY.level(share);
        out.push(Topic::Processes, level, &keys, en, ja);
        if level > Level::Normal {
            out.advise(quit_advice_en(&n), quit_advice_ja(&n));
        }
    }
}

pub(super) fn buckets(state: &mut State) {
    let s = state.snapshot();
    let top_cpu = s
        .processes
        .by_cpu
        .first()
        .map_or(Bucket::Missing, |p| Bucket::Name(p.name.clone()));
    let top_memory = s
        .processes
        .by_memory
        .first()
        .map_or(Bucket::Missing, |p| Bucket::Name(p.name.clone()));
    state.push("process.cpu", top_cpu);
    state.push("process.memory", top_memory);
    // Whether the top program explains the load depends on the total too.
    super::cpu::headline_buckets(state);
}

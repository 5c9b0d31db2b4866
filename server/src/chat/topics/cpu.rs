//! CPU: how busy the whole processor is now and over the last minute (a sustained load is a
//! cause, a short spike rarely is), and which processes make it busy.

use app::chat::Topic;
use app::format;
use app::model::{Level, Thresholds};

use super::{mean, processes, Context};
use crate::chat::cache::{level_bucket, pct_bucket, Bucket, State};
use crate::chat::diagnosis::{list, pct, Findings};
use crate::chat::facts::Facts;
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &["cpu", "processor", "load", "core", "busy"],
    phrases: &[],
    ja: &["処理", "負荷", "プロセッサ", "コア"],
    adds: &[Intent::About(Topic::Cpu)],
};

/// Cache buckets: CPU in 10 % steps (an answer that says 23 % is still right at 27 %).
const BUCKET_PCT: f32 = 10.0;
/// A CPU answer names the busiest process only when it is this busy (% of one core); below
/// it, idle processes trade places every sample and would make CPU questions never hit.
const NOTABLE_PROCESS_CPU_PCT: f32 = 10.0;
/// Processes under this share of the machine are not worth naming as a cause.
const NAMED_SHARE_PCT: f32 = 1.0;
/// The CPU is busy enough, now, for the processes behind it to be named.
const NAME_CAUSE_AT_PCT: f32 = 25.0;
/// A process this busy (share of the machine) is worth suggesting to quit.
const QUIT_SHARE_PCT: f32 = 10.0;

/// Mean and peak CPU over the last minute, when there is enough history.
fn last_minute(cx: &Context) -> Option<(f32, f32)> {
    let points = cx.last_minute()?;
    let avg = mean(points, |p| f64::from(p.cpu_pct))? as f32;
    let peak = points.iter().map(|p| p.cpu_pct).fold(0.0, f32::max);
    Some((avg, peak))
}

pub(crate) fn total_fact(f: &mut Facts, cx: &Context) {
    let label = f.tr("CPU total", "CPU使用率（全体）");
    f.push("cpu.total", label, format::pct(cx.snapshot.cpu.total_pct));
}

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    total_fact(f, cx);
    if let Some((avg, peak)) = last_minute(cx) {
        let label = f.tr(
            "CPU, last minute (mean / peak)",
            "CPU使用率（直近1分の平均／最大）",
        );
        f.push(
            "cpu.last_minute",
            label,
            format!("{} / {}", format::pct(avg), format::pct(peak)),
        );
    }
    if let Some([one, five, fifteen]) = cx.snapshot.cpu.load_avg {
        let label = f.tr("Load average (1/5/15 min)", "ロードアベレージ（1/5/15分）");
        f.push(
            "cpu.load",
            label,
            format!("{one:.2} / {five:.2} / {fifteen:.2}"),
        );
    }
    if cx.snapshot.host.logical_cores > 0 {
        let label = f.tr("Logical cores", "論理コア数");
        f.push(
            "cpu.cores",
            label,
            cx.snapshot.host.logical_cores.to_string(),
        );
    }
    processes::top_cpu_facts(f, cx);
}

/// The CPU finding alone (the overall diagnosis reuses it).
pub(crate) fn finding(out: &mut Findings, cx: &Context) {
    let now = cx.snapshot.cpu.total_pct;
    let t = pct(now);
    let minute = last_minute(cx);
    let sustained = minute.is_some_and(|(avg, _)| avg >= Thresholds::CPU.careful);
    let (level, mut en, mut ja, mut keys) = match minute {
        Some((avg, _)) if sustained => (
            Thresholds::CPU.level(avg),
            format!(
                "CPU has been busy for the last minute: {} % on average, {t} % now",
                pct(avg)
            ),
            format!("直近一分間、CPUの高い負荷が続いています（平均{}%、現在{t}%）。", pct(avg)),
            vec!["cpu.last_minute", "cpu.total"],
        ),
        Some((avg, _)) if now >= Thresholds::CPU.careful => (
            Level::Careful,
            format!(
                "CPU is {t} % busy right now, but averaged {} % over the last minute: a short spike",
                pct(avg)
            ),
            format!(
                "CPU使用率は現在{t}%ですが、直近一分の平均は{}%で、一時的な上昇です。",
                pct(avg)
            ),
            vec!["cpu.total", "cpu.last_minute"],
        ),
        Some((avg, _)) => (
            Level::Normal,
            format!(
                "CPU is {t} % busy ({} % on average over the last minute)",
                pct(avg)
            ),
            format!("CPU使用率は{t}%です（直近一分の平均{}%）。", pct(avg)),
            vec!["cpu.total", "cpu.last_minute"],
        ),
        None => (
            Thresholds::CPU.level(now),
            format!("CPU is {t} % busy"),
            format!("CPU使用率は{t}%です。"),
            vec!["cpu.total"],
        ),
    };
    // Name the busiest processes when the CPU is busy enough for a cause to matter, unless the
    // processes topic will. (Process shares are sampled every few seconds: on an idle CPU a
    // stale share would read as a contradiction.)
    let top = if cx.intents.contains(Intent::About(Topic::Processes)) || now < NAME_CAUSE_AT_PCT {
        Vec::new()
    } else {
        processes::busiest(cx, 2, NAMED_SHARE_PCT)
    };
    let unexplained =
        if cx.intents.contains(Intent::About(Topic::Processes)) || now < NAME_CAUSE_AT_PCT {
            None
        } else {
            processes::unexplained(cx)
        };
    if let Some((key, name, share)) = unexplained {
        // The top entry is not the cause: say so rather than name it as one.
        let s = pct(share);
        en += &format!(
            "; no single program explains it: the busiest measured, {name}, uses only {s} % of all cores."
        );
        ja += &format!(
            "特定のプログラムが原因ではありません（計測できた中で最も使っている{name}でも全コアの{s}%）。"
        );
        keys.push(key);
    } else if top.is_empty() {
        en.push('.');
    } else {
        let names = |lang| {
            let items: Vec<String> = top
                .iter()
                .map(|(_, name, share)| match lang {
                    app::i18n::Lang::En => format!("{name} ({} %)", pct(*share)),
                    app::i18n::Lang::Ja => format!("{name}（{}%）", pct(*share)),
                })
                .collect();
            list(&items, lang)
        };
        let verb = if top.len() == 1 { "uses" } else { "use" };
        en += &format!("; {} {verb} the most.", names(app::i18n::Lang::En));
        ja += &format!("{}が多く使っています。", names(app::i18n::Lang::Ja));
        keys.extend(top.iter().map(|(key, _, _)| *key));
    }
    let watched = minute.is_some();
    out.push(Topic::Cpu, level, &keys, en, ja);
    if level == Level::Normal {
        return;
    }
    if !watched {
        out.advise(
            "The host has watched for less than a minute, so this may be a spike: ask again in a minute.",
            "計測を始めてまだ一分たっていないため、一時的な上昇かもしれません。一分後にもう一度確認してください。",
        );
    } else if !sustained {
        out.advise(
            "A short spike needs nothing from you; ask again if it lasts.",
            "一時的なものなので対処は不要です。続くようなら、もう一度確認してください。",
        );
    } else if let Some(top) = processes::quittable(cx, QUIT_SHARE_PCT) {
        out.advise(
            processes::quit_advice_en(&top),
            processes::quit_advice_ja(&top),
        );
    } else {
        out.advise(
            "Quit the apps you are not using.",
            "使っていないアプリを終了してください。",
        );
    }
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    finding(out, cx);
}

/// The headline buckets (the overall answer uses them too).
pub(crate) fn headline_buckets(state: &mut State) {
    let total = state.snapshot().cpu.total_pct;
    state.push("cpu", pct_bucket(total, BUCKET_PCT));
    state.push("cpu.level", level_bucket(Thresholds::CPU.level(total)));
}

pub(super) fn buckets(state: &mut State) {
    headline_buckets(state);
    let top = state.snapshot().processes.by_cpu.first();
    let bucket = match top {
        Some(p) if p.cpu_pct >= NOTABLE_PROCESS_CPU_PCT => Bucket::Name(p.name.clone()),
        _ => Bucket::Missing,
    };
    state.push("process.cpu", bucket);
}

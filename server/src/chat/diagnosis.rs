//! The diagnosis: the snapshot, the last minute of history and the question's intents → an
//! ordered list of findings, each one sentence in English and Japanese with the exact numbers.
//! Computed, never generated: it is what the user can trust whatever model is loaded, it is
//! streamed before any model token, and it is the whole answer when no model can explain it.
//!
//! Order: the worst level first (stable, so topics keep the intent order within a level). An
//! overall question with nothing above normal starts with an explicit "nothing unusual"; an
//! urgent question gets one line, the worst finding.

use app::chat::{Advice, Finding, Topic};
use app::i18n::Lang;
use app::model::Level;

use super::topics::{self, Context};

/// Findings as the topic rules write them.
#[derive(Default)]
pub struct Findings {
    out: Vec<Finding>,
}

impl Findings {
    pub fn push(
        &mut self,
        topic: Topic,
        level: Level,
        facts: &[&str],
        en: impl Into<String>,
        ja: impl Into<String>,
    ) {
        self.out.push(Finding {
            topic,
            level,
            facts: facts.iter().map(|k| (*k).to_owned()).collect(),
            en: en.into(),
            ja: ja.into(),
            not_measured: false,
            advice: None,
        });
    }

    /// A finding that says this part of the Mac is not measured: never a guess.
    pub fn not_measured(
        &mut self,
        topic: Topic,
        facts: &[&str],
        en: impl Into<String>,
        ja: impl Into<String>,
    ) {
        self.push(topic, Level::Normal, facts, en, ja);
        if let Some(f) = self.out.last_mut() {
            f.not_measured = true;
        }
    }

    /// Attaches what to do to the finding pushed last.
    pub fn advise(&mut self, en: impl Into<String>, ja: impl Into<String>) {
        if let Some(f) = self.out.last_mut() {
            f.advice = Some(Advice {
                en: en.into(),
                ja: ja.into(),
            });
        }
    }

    fn worst(&self) -> Level {
        self.out.iter().map(|f| f.level).max().unwrap_or_default()
    }
}

/// The findings for the question in `cx` (see the module docs for the order).
pub fn diagnose(cx: &Context) -> Vec<Finding> {
    let mut found = Findings::default();
    for topic in cx.intents.topics() {
        topics::findings(topic, &mut found, cx);
    }
    let topic_count = cx.intents.topics().count();
    if found.worst() == Level::Normal {
        if cx.intents.topics().any(|t| t == Topic::Overall) {
            let summary = topics::overall::nothing_unusual(cx);
            found.out.insert(0, summary);
        } else if topic_count > 1 {
            found.push(
                Topic::Overall,
                Level::Normal,
                &[],
                "Nothing unusual stands out in these measurements.",
                "計測値に特に異常は見られません。",
            );
        }
    }
    let mut out = found.out;
    // Overall repeats the headline findings of topics that may also have been asked for.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.en.clone()));
    // Stable: equal levels keep the topic order.
    out.sort_by_key(|f| std::cmp::Reverse(f.level));
    if cx.intents.is_urgent() {
        out.truncate(1);
    }
    out
}

/// The findings as one text in `lang`, a finding (and its advice) a line: the answer when no
/// model explains.
pub fn render(findings: &[Finding], lang: Lang) -> String {
    findings
        .iter()
        .map(|f| line(f, lang))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One finding and its advice, as one line.
pub fn line(f: &Finding, lang: Lang) -> String {
    match (f.advice_text(lang), lang) {
        (Some(a), Lang::En) => format!("{} {a}", f.text(lang)),
        (Some(a), Lang::Ja) => format!("{}{a}", f.text(lang)),
        (None, _) => f.text(lang).to_owned(),
    }
}

/// A percentage as findings write it: a whole number, because "82 %" reads better than
/// "81.6 %" and the facts card beside it has the decimal.
pub fn pct(v: f32) -> String {
    format!("{:.0}", v.max(0.0))
}

/// Machine-share percentage of a process whose `cpu_pct` counts one core as 100.
pub fn share_of_cores(cpu_pct: f32, cores: f32) -> f32 {
    cpu_pct / cores
}

/// Joins names the way each language lists them: "a", "a and b", "a, b and c" / 「aとbとc」.
pub fn list(items: &[String], lang: Lang) -> String {
    match (lang, items) {
        (_, []) => String::new(),
        (_, [one]) => one.clone(),
        (Lang::En, [init @ .., last]) => format!("{} and {last}", init.join(", ")),
        (Lang::Ja, _) => items.join("と"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::check::{unverified, Known};
    use crate::chat::facts;
    use crate::chat::intent::{detect, detect_language, Intent, IntentSet};
    use app::chat::Fact;
    use app::model::{Battery, BatteryState, HistoryPoint, SensorReading, Snapshot};

    /// Recorded from a real host (`/api/v1/status` and `/api/v1/history?minutes=1`) on the
    /// 2-core Linux build machine: idle, and while two runaway processes kept both cores busy
    /// (see the fixtures' README).
    const IDLE: &str = include_str!("../../tests/fixtures/snapshots/idle.json");
    const IDLE_HISTORY: &str = include_str!("../../tests/fixtures/snapshots/idle-history.json");
    const BUSY: &str = include_str!("../../tests/fixtures/snapshots/busy.json");
    const BUSY_HISTORY: &str = include_str!("../../tests/fixtures/snapshots/busy-history.json");
    const SHORTLIVED: &str = include_str!("../../tests/fixtures/snapshots/shortlived.json");
    const SHORTLIVED_HISTORY: &str =
        include_str!("../../tests/fixtures/snapshots/shortlived-history.json");

    const MIB: u64 = 1024 * 1024;

    fn load(snapshot: &str, history: &str) -> (Snapshot, Vec<HistoryPoint>) {
        let s: Snapshot = serde_json::from_str(snapshot).expect("snapshot fixture");
        let h: Vec<HistoryPoint> = serde_json::from_str(history).expect("history fixture");
        (s, h)
    }

    fn idle() -> (Snapshot, Vec<HistoryPoint>) {
        load(IDLE, IDLE_HISTORY)
    }

    fn busy() -> (Snapshot, Vec<HistoryPoint>) {
        load(BUSY, BUSY_HISTORY)
    }

    /// Both cores busy with programs too short-lived to be sampled (like a build).
    fn shortlived() -> (Snapshot, Vec<HistoryPoint>) {
        load(SHORTLIVED, SHORTLIVED_HISTORY)
    }

    fn run(s: &Snapshot, h: &[HistoryPoint], q: &str) -> (Vec<Fact>, Vec<Finding>) {
        let cx = Context {
            snapshot: s,
            recent: h,
            intents: detect(q),
            lang: detect_language(q),
        };
        (facts::collect(&cx), diagnose(&cx))
    }

    fn with(intents: &[Intent], s: &Snapshot, h: &[HistoryPoint]) -> Vec<Finding> {
        let cx = Context {
            snapshot: s,
            recent: h,
            intents: intents.iter().copied().collect::<IntentSet>(),
            lang: Lang::En,
        };
        diagnose(&cx)
    }

    #[test]
    fn the_fixtures_are_what_they_say() {
        let (s, h) = busy();
        assert!(h.len() >= 20, "a minute of history: {}", h.len());
        let avg = h.iter().map(|p| p.cpu_pct).sum::<f32>() / h.len() as f32;
        assert!(avg > 85.0, "busy fixture averages {avg} %");
        assert!(!s.processes.by_cpu.is_empty());
        let (s, h) = idle();
        let avg = h.iter().map(|p| p.cpu_pct).sum::<f32>() / h.len() as f32;
        assert!(avg < 40.0, "idle fixture averages {avg} %");
        assert!(s.battery.is_none() && s.temperatures.is_none());
    }

    #[test]
    fn a_sustained_load_is_the_first_finding_with_its_cause() {
        let (s, h) = busy();
        let (_, found) = run(&s, &h, "Why is my Mac slow?");
        let cpu = &found[0];
        assert_eq!(cpu.topic, Topic::Cpu);
        assert!(cpu.level >= Level::Warning, "{cpu:?}");
        let avg = h.iter().map(|p| f64::from(p.cpu_pct)).sum::<f64>() / h.len() as f64;
        assert!(
            cpu.en.starts_with(&format!(
                "CPU has been busy for the last minute: {} % on average, {} % now",
                pct(avg as f32),
                pct(s.cpu.total_pct)
            )),
            "{}",
            cpu.en
        );
        assert!(
            cpu.ja.contains(&format!("平均{}%", pct(avg as f32))),
            "{}",
            cpu.ja
        );
        // The processes topic names the busiest process, quoted, with its share of all cores.
        let top = &s.processes.by_cpu[0];
        let share = pct(top.cpu_pct / s.host.logical_cores as f32);
        let procs = found
            .iter()
            .find(|f| f.topic == Topic::Processes)
            .expect("a processes finding");
        assert!(
            procs.en.contains(&format!(
                "\"{}\" uses the most CPU: {share} % of all cores",
                top.name
            )),
            "{}",
            procs.en
        );
        assert!(procs
            .ja
            .contains(&format!("\"{}\"（全コアの{share}%）", top.name)));
        // The worst come first.
        assert!(found.windows(2).all(|w| w[0].level >= w[1].level));
    }

    #[test]
    fn a_short_spike_is_told_apart_from_a_sustained_load() {
        let (mut s, h) = idle();
        s.cpu.total_pct = 90.0;
        let found = with(&[Intent::About(Topic::Cpu)], &s, &h);
        assert_eq!(found[0].level, Level::Careful);
        assert!(found[0]
            .en
            .contains("CPU is 90 % busy right now, but averaged"));
        assert!(found[0].en.contains("a short spike"), "{}", found[0].en);
        assert!(found[0].ja.contains("一時的な上昇"));
        // Without enough history, only "now" can be said, at the dashboard's level.
        let found = with(&[Intent::About(Topic::Cpu)], &s, &h[..3]);
        assert_eq!(found[0].level, Level::Critical);
        assert!(found[0].en.starts_with("CPU is 90 % busy"));
        assert!(!found[0].en.contains("average"));
        let advice = found[0].advice.as_ref().expect("advice");
        assert!(advice.en.contains("less than a minute"), "{}", advice.en);
    }

    #[test]
    fn growing_swap_is_a_memory_finding() {
        let (mut s, mut h) = idle();
        for (i, p) in h.iter_mut().enumerate() {
            p.swap_used_bytes = i as u64 * 8 * MIB;
        }
        s.memory.swap_used_bytes = 600 * MIB;
        s.memory.swap_total_bytes = 2048 * MIB;
        let found = with(&[Intent::About(Topic::Memory)], &s, &h);
        assert_eq!(found[0].topic, Topic::Memory);
        assert!(found[0].level >= Level::Careful);
        assert!(
            found[0]
                .en
                .contains("Swap holds 600.0 MiB and grew by 600.0 MiB in the last minute"),
            "{}",
            found[0].en
        );
        assert!(found[0].ja.contains("直近一分で600.0 MiB増えました"));
        // Steady swap is said to be steady, at the memory level alone.
        h.iter_mut().for_each(|p| p.swap_used_bytes = 600 * MIB);
        let found = with(&[Intent::About(Topic::Memory)], &s, &h);
        assert!(found[0].en.contains("is not growing"), "{}", found[0].en);
    }

    #[test]
    fn the_fullest_volume_leads_the_disk_findings() {
        let (mut s, h) = idle();
        let mut full = s.disks[0].clone();
        full.mount = "/Volumes/Backup".into();
        full.total_bytes = 1000 * 1024 * MIB;
        full.available_bytes = 30 * 1024 * MIB;
        s.disks.push(full);
        let found = with(&[Intent::About(Topic::Disk)], &s, &h);
        assert_eq!(found[0].level, Level::Critical);
        assert_eq!(
            found[0].en,
            "The fullest volume, /Volumes/Backup, is 97 % full with 30.0 GiB free."
        );
        assert_eq!(
            found[0].ja,
            "最も使われているボリューム /Volumes/Backup は使用率97%、空きは30.0 GiBです。"
        );
    }

    #[test]
    fn a_large_upload_is_found_from_the_last_minute() {
        let (s, mut h) = idle();
        let (_, found) = run(&s, &h, "Am I uploading anything big right now?");
        assert!(found.iter().all(|f| f.topic == Topic::Network));
        assert!(
            found
                .iter()
                .any(|f| f.en.starts_with("No large upload or download")),
            "{found:?}"
        );
        h.iter_mut().for_each(|p| p.net_tx_bps = 5.0 * MIB as f64);
        let (_, found) = run(&s, &h, "Am I uploading anything big right now?");
        assert_eq!(found[0].level, Level::Careful);
        assert_eq!(
            found[0].en,
            "A large upload is running: 5.0 MiB/s on average over the last minute."
        );
        assert_eq!(
            found[0].ja,
            "大きなアップロードが続いています（直近一分の平均5.0 MiB/s）。"
        );
    }

    #[test]
    fn what_is_not_measured_is_said_never_guessed() {
        let (mut s, h) = idle();
        let (_, found) = run(&s, &h, "How is my battery?");
        assert_eq!(found.len(), 1);
        assert!(found[0].not_measured);
        assert_eq!(found[0].en, "The battery is not measured on this Mac.");
        let (_, found) = run(&s, &h, "温度を教えて");
        assert_eq!(found[0].ja, "このMacでは温度を計測できません。");
        s.battery = Some(Battery {
            percent: 14.0,
            state: BatteryState::Discharging,
            minutes_remaining: Some(25),
            source: None,
        });
        s.temperatures = Some(vec![SensorReading {
            label: "CPU die".into(),
            celsius: 96.5,
            critical_celsius: Some(105.0),
        }]);
        let found = with(
            &[
                Intent::About(Topic::Battery),
                Intent::About(Topic::Temperature),
            ],
            &s,
            &h,
        );
        assert!(found.iter().all(|f| !f.not_measured));
        assert_eq!(
            found[0].en,
            "The battery is at 14 %, discharging (25m remaining)."
        );
        assert_eq!(found[0].level, Level::Warning);
        assert_eq!(
            found[1].en,
            "The hottest sensor, CPU die, reads 96.5 °C (critical at 105 °C)."
        );
        // The overall answer brings them in only because they are not normal.
        let found = with(&[Intent::About(Topic::Overall)], &s, &h);
        assert!(found.iter().any(|f| f.topic == Topic::Battery));
        assert!(found.iter().any(|f| f.topic == Topic::Temperature));
    }

    #[test]
    fn an_all_normal_overall_answer_says_nothing_unusual_first() {
        let (mut s, h) = idle();
        s.cpu.total_pct = 12.0;
        s.memory.used_bytes = s.memory.total_bytes / 4;
        let (_, found) = run(&s, &h, "システムの状態を教えて");
        assert!(found.iter().all(|f| f.level == Level::Normal) || found[0].level > Level::Normal);
        if found.iter().all(|f| f.level == Level::Normal) {
            assert!(
                found[0]
                    .en
                    .starts_with("Nothing unusual: CPU (12 %), memory (25 %)"),
                "{}",
                found[0].en
            );
            assert!(found[0]
                .ja
                .starts_with("特に問題はありません。CPU（12%）、メモリ（25%）"));
        }
        // A critical disk goes first instead.
        s.disks[0].available_bytes = s.disks[0].total_bytes / 50;
        let (_, found) = run(&s, &h, "システムの状態を教えて");
        assert_eq!(
            (found[0].topic, found[0].level),
            (Topic::Disk, Level::Critical)
        );
        assert!(!found.iter().any(|f| f.en.starts_with("Nothing unusual")));
    }

    #[test]
    fn an_urgent_question_gets_the_worst_finding_in_one_line() {
        let (mut s, h) = idle();
        s.disks[0].available_bytes = s.disks[0].total_bytes / 50;
        let (_, found) = run(&s, &h, "緊急：システムに問題はありませんか？");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].topic, found[0].level),
            (Topic::Disk, Level::Critical)
        );
        assert!(!found[0].en.contains('\n'));
    }

    /// Every number a finding states is a measured fact of the same question, and every key
    /// it names is in the facts: the diagnosis can be checked like the model's words.
    #[test]
    fn findings_state_only_facts_and_cite_real_keys() {
        let questions = [
            "Why is my Mac slow?",
            "Macが重いです。原因を教えてください。",
            "システムの状態を教えて",
            "CPUとメモリの詳細な分析をお願いします",
            "現在実行中のプロセスで最もリソースを使用しているものを教えて",
            "ディスクの容量と使用率について詳しく教えてください",
            "Am I uploading anything big right now?",
            "How is my battery? Is it hot?",
            "緊急：システムに問題はありませんか？",
        ];
        let (mut hot, h) = idle();
        hot.temperatures = Some(vec![SensorReading {
            label: "SOC".into(),
            celsius: 88.0,
            critical_celsius: None,
        }]);
        for (s, h) in [idle(), busy(), shortlived(), (hot, h)] {
            for q in questions {
                let (facts, found) = run(&s, &h, q);
                assert!(!found.is_empty(), "{q}");
                let known = Known::new(&facts, &[], "");
                for f in &found {
                    for key in &f.facts {
                        assert!(
                            facts.iter().any(|x| &x.key == key),
                            "{q}: {key} not in facts"
                        );
                    }
                    let advice = f.advice.iter().flat_map(|a| [&a.en, &a.ja]);
                    for text in [&f.en, &f.ja].into_iter().chain(advice) {
                        assert_eq!(
                            unverified(text, &known),
                            Vec::<String>::new(),
                            "{q}: {text}"
                        );
                    }
                }
            }
        }
    }

    /// A busy CPU whose busiest program uses almost none of it: no program is named as the
    /// cause or suggested to quit, in either topic or language (a build's short-lived
    /// compilers once made the answer blame "process_api" at 0.3 %).
    #[test]
    fn a_load_no_program_explains_names_no_culprit() {
        let (s, h) = shortlived();
        let top = &s.processes.by_cpu[0];
        let share = top.cpu_pct / s.host.logical_cores as f32;
        assert!(
            s.cpu.total_pct >= 90.0 && share < 1.0,
            "the fixture: {share} %"
        );
        let quoted = format!("\"{}\"", top.name);
        for q in [
            "What is using the most CPU?",
            "現在実行中のプロセスで最もリソースを使用しているものを教えて",
        ] {
            let (_, found) = run(&s, &h, q);
            let procs = found
                .iter()
                .find(|f| f.topic == Topic::Processes && f.facts.contains(&"cpu.total".into()))
                .expect("a processes finding about the CPU");
            assert!(
                procs.en.starts_with("No single program explains the load")
                    && procs.en.contains(&format!(
                        "the busiest program measured, {quoted}, uses only"
                    )),
                "{q}: {}",
                procs.en
            );
            assert!(
                procs.ja.starts_with("特定のプログラムが原因ではありません"),
                "{}",
                procs.ja
            );
            assert!(
                !found.iter().any(|f| f.en.contains("uses the most CPU")),
                "{found:#?}"
            );
        }
        // Slowness asks about processes too: that finding says it, and no advice names one.
        for q in [
            "Why is my Mac slow?",
            "Macが重いです。原因を教えてください。",
        ] {
            let (_, found) = run(&s, &h, q);
            assert!(
                found.iter().any(|f| f.en.starts_with("No single program")),
                "{found:#?}"
            );
            let advice = found.iter().flat_map(|f| &f.advice);
            for a in advice {
                assert!(!a.en.contains(&quoted) && !a.ja.contains(&quoted), "{a:?}");
            }
        }
        // The CPU topic alone says it in its own finding.
        let found = with(&[Intent::About(Topic::Cpu)], &s, &h);
        assert!(
            found[0].en.contains("no single program explains it"),
            "{}",
            found[0].en
        );
        assert!(
            found[0].ja.contains("特定のプログラムが原因ではありません"),
            "{}",
            found[0].ja
        );
        let advice = found[0]
            .advice
            .as_ref()
            .expect("a sustained load gets advice");
        assert!(!advice.en.contains(&quoted), "{}", advice.en);
        // A program that does explain the load is still named (the `busy` fixture's).
        let (s, h) = busy();
        let (_, found) = run(&s, &h, "What is using the most CPU?");
        assert!(
            found.iter().any(|f| f.en.contains("uses the most CPU")),
            "{found:#?}"
        );
        assert!(!found.iter().any(|f| f.en.contains("No single program")));
    }

    /// Right after a busy moment the process sample (seconds) still shows a busy program while
    /// the CPU tick is idle: the finding says which is which instead of contradicting itself.
    #[test]
    fn a_process_share_above_the_cpu_now_says_it_was_a_moment_ago() {
        let (mut s, h) = busy();
        let share = s.processes.by_cpu[0].cpu_pct / s.host.logical_cores as f32;
        s.cpu.total_pct = 3.0;
        assert!(share > 10.0, "the fixture's top program is busy: {share}");
        let found = with(&[Intent::About(Topic::Processes)], &s, &h);
        let procs = &found[0];
        assert!(
            procs
                .en
                .ends_with("That was over the last few seconds; the CPU is 3 % busy now."),
            "{}",
            procs.en
        );
        assert!(
            procs.ja.ends_with("現在のCPU使用率は3%です。"),
            "{}",
            procs.ja
        );
        assert!(procs.facts.contains(&"cpu.total".to_string()));
        // Idle: no program is news, in either language.
        let (mut s, h) = idle();
        for p in &mut s.processes.by_cpu {
            p.cpu_pct = p.cpu_pct.min(0.5);
        }
        let found = with(&[Intent::About(Topic::Processes)], &s, &h);
        assert!(
            found[0].en.starts_with("No program is using much CPU"),
            "{}",
            found[0].en
        );
        assert!(
            found[0]
                .ja
                .starts_with("CPUを多く使っているプログラムはありません"),
            "{}",
            found[0].ja
        );
        // A CPU as busy as its top program: nothing to explain.
        let (s, h) = busy();
        let found = with(&[Intent::About(Topic::Processes)], &s, &h);
        assert!(!found[0].en.contains("last few seconds"), "{}", found[0].en);
    }

    #[test]
    fn advice_follows_what_is_wrong_and_only_that() {
        let (s, h) = busy();
        let found = with(&[Intent::About(Topic::Cpu)], &s, &h);
        let top = &s.processes.by_cpu[0].name;
        let advice = found[0]
            .advice
            .as_ref()
            .expect("advice for a sustained load");
        assert!(
            advice
                .en
                .contains(&format!("If you do not need \"{top}\", quit it")),
            "{}",
            advice.en
        );
        assert!(advice
            .ja
            .contains(&format!("\"{top}\"が不要なら終了してください")));
        // A spike needs nothing; a normal CPU gets no advice at all.
        let (mut s, h) = idle();
        s.cpu.total_pct = 90.0;
        let found = with(&[Intent::About(Topic::Cpu)], &s, &h);
        assert!(found[0]
            .advice
            .as_ref()
            .unwrap()
            .en
            .starts_with("A short spike needs nothing"));
        s.cpu.total_pct = 5.0;
        assert_eq!(with(&[Intent::About(Topic::Cpu)], &s, &h)[0].advice, None);
        // A nearly full disk says how to free space; the rendered answer carries it.
        s.disks[0].available_bytes = s.disks[0].total_bytes / 50;
        let found = with(&[Intent::About(Topic::Disk)], &s, &h);
        assert!(found[0]
            .advice
            .as_ref()
            .unwrap()
            .en
            .contains("empty the Trash"));
        let text = render(&found[..1], Lang::Ja);
        assert!(
            text.contains("使用率98%") && text.contains("ゴミ箱を空にし"),
            "{text}"
        );
    }

    #[test]
    fn a_finding_is_said_once_and_this_host_is_never_the_one_to_quit() {
        let (mut s, h) = busy();
        let q = "Explain everything about my CPU, memory, disks and network in detail.";
        let (_, found) = run(&s, &h, q);
        let mut texts: Vec<&str> = found.iter().map(|f| f.en.as_str()).collect();
        let n = texts.len();
        texts.dedup();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), n, "{found:#?}");
        // The busiest process is this host (it was writing an answer): advice names the next.
        s.processes.by_cpu[0].pid = std::process::id();
        let next = s.processes.by_cpu[1].name.clone();
        let found = with(&[Intent::About(Topic::Cpu)], &s, &h);
        let advice = &found[0].advice.as_ref().expect("advice").en;
        assert!(
            advice.contains(&format!("If you do not need \"{next}\"")),
            "{advice}"
        );
    }

    #[test]
    fn render_joins_findings_in_the_questions_language() {
        let (s, h) = busy();
        let (_, found) = run(&s, &h, "Macが重い");
        let text = render(&found, Lang::Ja);
        assert_eq!(text.lines().count(), found.len());
        assert!(text.contains("CPU"));
        assert!(!text.contains("CPU has been"));
    }

    #[test]
    fn lists_read_naturally() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&v(&["a"]), Lang::En), "a");
        assert_eq!(list(&v(&["a", "b"]), Lang::En), "a and b");
        assert_eq!(list(&v(&["a", "b", "c"]), Lang::En), "a, b and c");
        assert_eq!(list(&v(&["a", "b"]), Lang::Ja), "aとb");
    }
}
